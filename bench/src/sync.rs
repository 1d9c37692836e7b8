//! The sync section: a tree of many small files synced to a prefix by `spaces sync`, `aws s3 sync` (awscli from
//! the bench virtualenv) and `rclone sync`, each into its own prefix at the same concurrency — the first sync,
//! a second with nothing changed, one with 1 % of the files changed, and (spaces and rclone) `--checksum` with
//! nothing changed; then a 1 GiB upload killed (SIGKILL) once half its parts are stored, and resumed. Medians.

use super::{timed, warm, write_random_file, Result, Row, Settings, MIB};
use aws_sdk_s3::Client;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Syncer {
    Spaces,
    Aws,
    Rclone,
}

const SYNCERS: [Syncer; 3] = [Syncer::Spaces, Syncer::Aws, Syncer::Rclone];

impl Syncer {
    fn name(self) -> &'static str {
        match self {
            Syncer::Spaces => "spaces",
            Syncer::Aws => "aws s3 sync",
            Syncer::Rclone => "rclone",
        }
    }
}

/// The sync knobs: BENCH_SYNC_FILES (10000), BENCH_SYNC_JOBS (16), BENCH_RESUME_MIB (1024), BENCH_AWS (the `aws`
/// of the bench virtualenv).
struct Knobs {
    files: usize,
    jobs: String,
    resume_bytes: u64,
    aws: PathBuf,
}

fn knobs() -> Knobs {
    Knobs {
        files: super::env_num("BENCH_SYNC_FILES", 10_000) as usize,
        jobs: super::env_num("BENCH_SYNC_JOBS", 16).to_string(),
        resume_bytes: super::env_num("BENCH_RESUME_MIB", 1024) * MIB,
        aws: PathBuf::from(super::env("BENCH_AWS", "aws")),
    }
}

/// One `syncer` run of `tree` to its prefix (with `--checksum` when `checksum`).
fn command(s: &Settings, k: &Knobs, syncer: Syncer, tree: &str, checksum: bool) -> Command {
    let prefix = format!("sync/{}", syncer.name().split(' ').next().unwrap_or("x"));
    match syncer {
        Syncer::Spaces => {
            let dst = format!("spaces://{}/{prefix}", s.bucket);
            let mut c = s.spaces(&["sync", tree, &dst, "-j", &k.jobs]);
            if checksum {
                c.arg("--checksum");
            }
            c
        }
        Syncer::Aws => {
            let mut c = Command::new(&k.aws);
            c.args(["s3", "sync", tree, &format!("s3://{}/{prefix}", s.bucket), "--endpoint-url", &s.endpoint])
                .args(["--only-show-errors", "--no-progress"])
                .env("AWS_ACCESS_KEY_ID", &s.access_key)
                .env("AWS_SECRET_ACCESS_KEY", &s.secret_key)
                .env("AWS_DEFAULT_REGION", "us-east-1")
                .env("AWS_CONFIG_FILE", s.work.join("aws-config"))
                .env_remove("AWS_CA_BUNDLE");
            c
        }
        Syncer::Rclone => {
            let mut c = s.rclone_doing(&["sync", tree, &s.remote(&prefix)]);
            c.args(["--transfers", &k.jobs, "--checkers", &k.jobs]);
            if checksum {
                c.arg("--checksum");
            }
            c
        }
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Files of 1-64 KiB in 100 directories.
fn make_tree(dir: &Path, files: usize) -> Result<u64> {
    let _ = std::fs::remove_dir_all(dir);
    let mut total = 0;
    for i in 0..files {
        let sub = dir.join(format!("d{:02}", i % 100));
        std::fs::create_dir_all(&sub)?;
        let len = 1024 + (i as u64 * 7919) % (63 * 1024);
        write_random_file(&sub.join(format!("f{i:05}.bin")), len, i as u64 + 1)?;
        total += len;
    }
    Ok(total)
}

/// Every object under `prefix`, counted.
async fn count(sdk: &Client, bucket: &str, prefix: &str) -> Result<usize> {
    let mut pages = sdk.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
    let mut n = 0;
    while let Some(page) = pages.next().await {
        n += page?.contents().len();
    }
    Ok(n)
}

pub(super) async fn syncing(s: &Settings, sdk: &Client, rows: &mut Vec<Row>) -> Result<()> {
    let k = knobs();
    std::fs::write(
        s.work.join("aws-config"),
        format!("[default]\ns3 =\n  max_concurrent_requests = {}\n  addressing_style = path\n", k.jobs),
    )?;
    let tree = s.work.join("sync-tree");
    let bytes = make_tree(&tree, k.files)?;
    let tree_str = tree.to_str().ok_or("work dir must be UTF-8")?.to_string();
    eprintln!("bench: sync of {} files ({:.0} MiB) at -j {}", k.files, bytes as f64 / MIB as f64, k.jobs);
    let mut figures: Vec<(String, Vec<(Syncer, Duration)>)> = Vec::new();
    let mut first = Vec::new();
    for syncer in SYNCERS {
        first.push((syncer, timed(&mut command(s, &k, syncer, &tree_str, false))?));
        let prefix = format!("sync/{}/", syncer.name().split(' ').next().unwrap_or("x"));
        let n = count(sdk, &s.bucket, &prefix).await?;
        if n != k.files {
            return Err(format!("{} synced {n} of {} files", syncer.name(), k.files).into());
        }
    }
    figures.push(("first sync, one run".into(), first));
    let mut unchanged: Vec<(Syncer, Vec<Duration>)> = SYNCERS.iter().map(|t| (*t, Vec::new())).collect();
    let mut changed: Vec<(Syncer, Vec<Duration>)> = SYNCERS.iter().map(|t| (*t, Vec::new())).collect();
    let mut checksum: Vec<(Syncer, Vec<Duration>)> =
        [Syncer::Spaces, Syncer::Rclone].iter().map(|t| (*t, Vec::new())).collect();
    for run in 0..s.runs {
        // Interleaved rounds: the machine's noise falls on every tool alike.
        for (syncer, times) in &mut unchanged {
            times.push(timed(&mut command(s, &k, *syncer, &tree_str, false))?);
        }
        for (syncer, times) in &mut checksum {
            warm(&tree)?; // every tool hashes the tree from memory
            times.push(timed(&mut command(s, &k, *syncer, &tree_str, true))?);
        }
        // 1 % of the files get new content (and so a new time and, mostly, a new size).
        for i in (0..k.files).filter(|i| i % 100 == run % 100) {
            let path = tree.join(format!("d{:02}", i % 100)).join(format!("f{i:05}.bin"));
            write_random_file(&path, 2048 + (i as u64 * 31 + run as u64) % 4096, (run * k.files + i) as u64 + 7)?;
        }
        std::thread::sleep(Duration::from_secs(1)); // past the second the listings' times are kept in
        for (syncer, times) in &mut changed {
            times.push(timed(&mut command(s, &k, *syncer, &tree_str, false))?);
        }
    }
    let medians =
        [("unchanged, median", unchanged), ("1 % changed, median", changed), ("--checksum, median", checksum)];
    for (name, runs) in medians {
        figures.push((name.into(), runs.into_iter().map(|(t, d)| (t, median(d))).collect()));
    }
    for (figure, times) in figures {
        let ours = times.iter().find(|(t, _)| *t == Syncer::Spaces).map(|(_, d)| d.as_secs_f64()).unwrap_or(0.0);
        let anchors = times.iter().filter(|(t, _)| *t != Syncer::Spaces).map(|(t, d)| (t.name(), d.as_secs_f64()));
        rows.push(Row {
            figure: format!("sync {} files, {figure} (s)", k.files),
            ours,
            unit: "s",
            anchors: anchors.collect(),
            lower_is_better: true,
        });
    }
    let _ = std::fs::remove_dir_all(&tree);
    resumed(s, sdk, &k, rows).await
}

/// Parts the incomplete upload of `key` has stored so far (0 before it exists).
async fn stored_parts(s: &Settings, sdk: &Client, key: &str) -> Result<usize> {
    let uploads = sdk.list_multipart_uploads().bucket(&s.bucket).prefix(key).send().await?;
    let Some(id) = uploads.uploads().iter().find(|u| u.key() == Some(key)).and_then(|u| u.upload_id()) else {
        return Ok(0);
    };
    let parts = sdk.list_parts().bucket(&s.bucket).key(key).upload_id(id).send().await?;
    Ok(parts.parts().len())
}

/// A fresh upload of a large file, then the same upload killed once half its parts are stored and resumed: the
/// resumed run's time against the fresh one.
async fn resumed(s: &Settings, sdk: &Client, k: &Knobs, rows: &mut Vec<Row>) -> Result<()> {
    let big = s.work.join("resume.bin");
    write_random_file(&big, k.resume_bytes, 99)?;
    let big_str = big.to_str().ok_or("work dir must be UTF-8")?.to_string();
    let put = |key: &str| s.spaces(&["put", &big_str, key]);
    let mut fresh = Vec::new();
    let mut again = Vec::new();
    for run in 0..s.runs {
        // RGW's store is bounded (rgw.sh) and its writes slow as it fills: each object is deleted and collected
        // before the next upload, so the fresh and the resumed upload meet the same store.
        let fresh_key = format!("resume/fresh-{run}");
        fresh.push(timed(&mut put(&fresh_key))?);
        let _ = sdk.delete_object().bucket(&s.bucket).key(fresh_key).send().await;
        tokio::time::sleep(s.settle).await;
        let key = format!("resume/cut-{run}");
        let mut child = put(&key).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn()?;
        let half = k.resume_bytes.div_ceil(s.part_bytes) as usize / 2;
        while stored_parts(s, sdk, &key).await? < half {
            if child.try_wait()?.is_some() {
                return Err("the upload to interrupt finished before half its parts were stored".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill()?;
        child.wait()?;
        again.push(timed(&mut put(&key))?);
        let _ = sdk.delete_object().bucket(&s.bucket).key(key).send().await;
        tokio::time::sleep(s.settle).await;
    }
    let (fresh, again) = (median(fresh), median(again));
    rows.push(Row {
        figure: format!("{} MiB put resumed at 50 % (s, median)", k.resume_bytes / MIB),
        ours: again.as_secs_f64(),
        unit: "s",
        anchors: vec![("fresh put", fresh.as_secs_f64())],
        lower_is_better: true,
    });
    let _ = std::fs::remove_file(&big);
    Ok(())
}
