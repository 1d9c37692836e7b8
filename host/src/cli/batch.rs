//! `put -r` and `get -r`: a directory tree to keys under a prefix and back, several files at a time. Each worker
//! owns a component instance (a store runs one call at a time) and all share the HTTP pool; one progress bar
//! counts the bytes of every file; a failed file is reported by name without stopping the others; Ctrl-C stops
//! handing out files and interrupts the transfers in flight, which clean up after themselves.

use super::encryption::DecryptArgs;
use super::progress::Meter;
use super::{interruptible, transfer, DEFAULT_CONCURRENCY};
use crate::error::{Failure, Outcome};
use crate::output::{rate, say};
use crate::runtime::bindings::storage::{Encryption, GetOptions, ListRequest, PutOptions};
use crate::runtime::bindings::types::Config;
use crate::runtime::session::Session;
use crate::runtime::Runtime;
use crate::views::{plain_get, put_options};
use http_api::headers::PutHeaders;
use indicatif::HumanBytes;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One file to move.
enum Job {
    Upload { path: PathBuf, key: String, size: u64, opts: PutOptions },
    Download { key: String, path: PathBuf, size: u64, how: Arc<(GetOptions, DecryptArgs)> },
}

impl Job {
    fn size(&self) -> u64 {
        match self {
            Job::Upload { size, .. } | Job::Download { size, .. } => *size,
        }
    }

    /// How a failure names the file.
    fn name(&self) -> String {
        match self {
            Job::Upload { path, .. } => path.display().to_string(),
            Job::Download { key, .. } => key.clone(),
        }
    }
}

/// What the workers got done.
#[derive(Default)]
struct Tally {
    files: u64,
    bytes: u64,
    failures: Vec<(String, Failure)>,
}

/// Uploads every file under `dir` as `prefix/RELATIVE/PATH`, each with `upload`'s options (the content type
/// guessed per file unless given) and encrypted as `encrypt` says.
pub(super) async fn put_tree(
    runtime: &Runtime,
    cfg: Config,
    workers: u32,
    (dir, prefix): (&Path, &str),
    (upload, encrypt): (&PutHeaders, Option<Encryption>),
    how: &transfer::Resuming,
) -> Outcome<()> {
    if !dir.is_dir() {
        let dir = dir.display();
        return Err(Failure::usage(format!("{dir} is not a directory (put -r uploads a directory tree)")));
    }
    let mut jobs = Vec::new();
    walk(dir, &key_prefix(prefix), upload, &mut jobs)?;
    for job in &mut jobs {
        if let Job::Upload { opts, .. } = job {
            opts.encrypt.clone_from(&encrypt);
        }
    }
    run(runtime, cfg, workers, jobs, Vec::new(), how, "uploaded").await
}

/// Downloads every object under `prefix` into `dir`, decrypted as `decrypt` says.
pub(super) async fn get_tree(
    runtime: &Runtime,
    cfg: Config,
    workers: u32,
    prefix: &str,
    dir: &Path,
    decrypt: &DecryptArgs,
) -> Outcome<()> {
    let how = Arc::new((GetOptions { decrypt: decrypt.decryption()?, ..plain_get(None) }, decrypt.clone()));
    let prefix = key_prefix(prefix);
    let mut s = Session::open(runtime, &cfg).await?;
    let mut objects = Vec::new();
    let req = ListRequest { prefix: Some(prefix.clone()), delimiter: None, continuation: None, max_keys: None };
    s.list_pages(req, |page| objects.extend(page.objects)).await?;
    drop(s);
    let (mut jobs, mut refused) = (Vec::new(), Vec::new());
    for o in objects {
        // A zero-length key ending in "/" is a folder marker, not a file.
        if o.key.ends_with('/') && o.size == 0 {
            continue;
        }
        // A key that cannot be a local path (`..`, say) is reported and skipped; the others still download.
        match transfer::local_path(dir, &prefix, &o.key) {
            Ok(path) => jobs.push(Job::Download { key: o.key, path, size: o.size, how: Arc::clone(&how) }),
            Err(e) => refused.push((o.key, e)),
        }
    }
    let how = transfer::Resuming::new(&cfg, false, false);
    run(runtime, cfg, workers, jobs, refused, &how, "downloaded").await
}

/// Moves every job with `workers` component instances and prints the summary; `refused` are the files that
/// failed before any transfer (reported with the others).
async fn run(
    runtime: &Runtime,
    mut cfg: Config,
    workers: u32,
    jobs: Vec<Job>,
    refused: Vec<(String, Failure)>,
    how: &transfer::Resuming,
    verb: &str,
) -> Outcome<()> {
    let count = (jobs.len() + refused.len()) as u64;
    let total: u64 = jobs.iter().map(Job::size).sum();
    // Files × parts in flight stays near the default: many files at once each send one part at a time.
    cfg.concurrency = Some((DEFAULT_CONCURRENCY / workers).max(1));
    let started = Instant::now();
    let meter = Meter::new(Some(total), &format!("{count} files"));
    let queue = Arc::new(Mutex::new(VecDeque::from(jobs)));
    let mut sessions = Vec::new();
    for _ in 0..u64::from(workers).min(count) {
        let mut s = Session::open(runtime, &cfg).await?;
        s.set_progress(Some(meter.sink()));
        sessions.push(s);
    }
    let interrupts: Vec<_> = sessions.iter().map(Session::interrupt).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for s in sessions {
        tasks.spawn(worker(s, Arc::clone(&queue), how.clone()));
    }
    let all = async {
        let mut sum = Tally { failures: refused, ..Tally::default() };
        while let Some(joined) = tasks.join_next().await {
            let t = joined.map_err(|e| Failure::caused("a transfer task", e))?;
            sum.files += t.files;
            sum.bytes += t.bytes;
            sum.failures.extend(t.failures);
        }
        Ok(sum)
    };
    let outcome = interruptible(&interrupts, all).await;
    meter.finish();
    let sum = outcome?;
    if interrupts.iter().any(|i| i.triggered()) {
        return Err(Failure::Interrupted);
    }
    for (name, failure) in &sum.failures {
        eprintln!("spaces: {name}: {failure}");
    }
    let secs = started.elapsed().as_secs_f64().max(1e-6);
    say!(
        "{verb} {} of {count} files ({}) in {}, {:.0} files/s",
        sum.files,
        HumanBytes(sum.bytes),
        rate(sum.bytes, started.elapsed()),
        sum.files as f64 / secs
    );
    match sum.failures.len() {
        0 => Ok(()),
        n => Err(Failure::host(format!("{n} of {count} files failed"))),
    }
}

/// Takes files from the queue until it is empty or the session is interrupted.
async fn worker(mut s: Session, queue: Arc<Mutex<VecDeque<Job>>>, how: transfer::Resuming) -> Tally {
    let interrupt = s.interrupt();
    let mut tally = Tally::default();
    loop {
        if interrupt.triggered() {
            break;
        }
        let Some(job) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front() else { break };
        let result = match &job {
            Job::Upload { path, key, opts, .. } => {
                transfer::upload_file(&mut s, path, key, opts, &how).await.map(|r| r.size)
            }
            Job::Download { key, path, how, .. } => {
                let (opts, decrypt) = how.as_ref();
                transfer::download_file(&mut s, key, opts, decrypt, path, &interrupt, &|_| {}).await.map(|(_, n)| n)
            }
        };
        match result {
            Ok(bytes) => {
                tally.files += 1;
                tally.bytes += bytes;
            }
            Err(e) => tally.failures.push((job.name(), e)),
        }
    }
    tally
}

/// "" stays empty; any other prefix ends in one slash.
pub(super) fn key_prefix(prefix: &str) -> String {
    if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_string()
    } else {
        format!("{prefix}/")
    }
}

/// Every regular file under `dir` (following links to files, not to directories, so a loop cannot trap us),
/// in name order, keyed `prefix` + its path relative to the tree with `/` separators.
fn walk(dir: &Path, prefix: &str, upload: &PutHeaders, out: &mut Vec<Job>) -> Outcome<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .and_then(|rd| rd.collect::<Result<Vec<_>, _>>())
        .map_err(|e| Failure::usage(format!("cannot list {}: {e}", dir.display())))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().into_string().map_err(|n| {
            Failure::usage(format!("{}: file names must be UTF-8 to become keys ({n:?})", dir.display()))
        })?;
        let kind = entry.file_type().map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
        if kind.is_dir() {
            walk(&path, &format!("{prefix}{name}/"), upload, out)?;
            continue;
        }
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        if meta.is_file() {
            let key = format!("{prefix}{name}");
            out.push(Job::Upload { path, opts: put_options(upload, &key), key, size: meta.len() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_end_in_one_slash() {
        assert_eq!(key_prefix(""), "");
        assert_eq!(key_prefix("backup"), "backup/");
        assert_eq!(key_prefix("backup/"), "backup/");
    }

    #[test]
    fn walk_keys_files_by_relative_path_in_order() {
        let dir = std::env::temp_dir().join(format!("spaces-walk-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("b/c")).unwrap();
        std::fs::write(dir.join("z.txt"), "zz").unwrap();
        std::fs::write(dir.join("b/a.txt"), "a").unwrap();
        std::fs::write(dir.join("b/c/d.bin"), "ddd").unwrap();
        let mut jobs = Vec::new();
        walk(&dir, "p/", &PutHeaders::default(), &mut jobs).unwrap();
        let keys: Vec<_> = jobs
            .iter()
            .map(|j| match j {
                Job::Upload { key, size, opts, .. } => {
                    assert_eq!(opts.content_type.is_some(), key.ends_with(".txt"), "guessed per file");
                    (key.as_str(), *size)
                }
                Job::Download { .. } => unreachable!("walk makes uploads"),
            })
            .collect();
        assert_eq!(keys, [("p/b/a.txt", 1), ("p/b/c/d.bin", 3), ("p/z.txt", 2)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
