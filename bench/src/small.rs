//! The small-object section: `spaces put -r` / `get -r` of many small files against aws-sdk-s3 at the same
//! concurrency. The two differ by less than a run varies on a shared machine, so the rounds interleave (spaces
//! then the SDK, the SDK then spaces, …), the figures are medians, the worst round's ratio is printed beside them,
//! and so is each client's CPU per object, which neither RGW's share of the two cores nor the noise distorts.

use super::{fan_out, in_process, measured, sdk_get, write_random_file, Cost, Result, Row, Settings};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use std::path::Path;

/// One transfer of every small file: by spaces (a child process) or by the SDK (in this process).
#[derive(Clone, Copy, PartialEq)]
enum Verb {
    Put,
    Get,
}

pub(super) async fn small(s: &Settings, sdk: &Client, rows: &mut Vec<Row>) -> Result<()> {
    eprintln!(
        "bench: {} objects of {} bytes at concurrency {}, {} interleaved rounds",
        s.small_count, s.small_bytes, s.small_concurrency, s.runs
    );
    let dir = s.work.join("small");
    let back = s.work.join("small.back");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    for i in 0..s.small_count {
        write_random_file(&dir.join(format!("f{i:05}")), s.small_bytes as u64, i as u64 + 1)?;
    }
    // Untimed: both clients' objects exist before the first round, so no round pays for a fresh bucket index.
    by_spaces(s, Verb::Put, &dir, &back)?;
    by_sdk(s, sdk, Verb::Put, &dir, &back).await?;
    for verb in [Verb::Put, Verb::Get] {
        let mut rounds: Vec<(Cost, Cost)> = Vec::with_capacity(s.runs);
        for round in 0..s.runs {
            // Each client gets an empty destination; who goes first alternates.
            let fresh = || std::fs::remove_dir_all(&back).or(Ok(())).and_then(|()| std::fs::create_dir_all(&back));
            let (o, a) = if round % 2 == 0 {
                fresh()?;
                let o = by_spaces(s, verb, &dir, &back)?;
                fresh()?;
                (o, by_sdk(s, sdk, verb, &dir, &back).await?)
            } else {
                fresh()?;
                let a = by_sdk(s, sdk, verb, &dir, &back).await?;
                fresh()?;
                (by_spaces(s, verb, &dir, &back)?, a)
            };
            eprintln!(
                "bench:   round {}: spaces {:.2} s, sdk {:.2} s",
                round + 1,
                o.wall.as_secs_f64(),
                a.wall.as_secs_f64()
            );
            rounds.push((o, a));
        }
        report(s, verb, &rounds, rows);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&back);
    Ok(())
}

fn by_spaces(s: &Settings, verb: Verb, dir: &Path, back: &Path) -> Result<Cost> {
    let j = s.small_concurrency.to_string();
    let (dir, back) = (dir.to_str().ok_or("work dir must be UTF-8")?, back.to_str().ok_or("work dir must be UTF-8")?);
    match verb {
        Verb::Put => measured(&mut s.spaces(&["put", "-r", dir, "small/spaces", "-j", &j])),
        Verb::Get => measured(&mut s.spaces(&["get", "-r", "small/spaces", back, "-j", &j])),
    }
}

async fn by_sdk(s: &Settings, sdk: &Client, verb: Verb, dir: &Path, back: &Path) -> Result<Cost> {
    in_process(fan_out(s.small_count, s.small_concurrency, |i| {
        let (c, bucket, name) = (sdk.clone(), s.bucket.clone(), format!("f{i:05}"));
        let (from, to) = (dir.join(&name), back.join(&name));
        let key = format!("small/sdk/{name}");
        async move {
            match verb {
                Verb::Put => {
                    let body = ByteStream::from_path(&from).await?;
                    c.put_object().bucket(bucket).key(key).body(body).send().await?;
                }
                Verb::Get => {
                    sdk_get(&c, &bucket, &key, Some(&to)).await?;
                }
            }
            Ok(())
        }
    }))
    .await
}

/// Rows for one verb: the median rate of each client, the worst round's ratio, and CPU per object.
fn report(s: &Settings, verb: Verb, rounds: &[(Cost, Cost)], rows: &mut Vec<Row>) {
    let name = if verb == Verb::Put { "PUT" } else { "GET" };
    let per_s = |c: &Cost| s.small_count as f64 / c.wall.as_secs_f64();
    let us_per_object = |c: &Cost| c.cpu * 1e6 / s.small_count as f64;
    let median = |f: &dyn Fn(&(Cost, Cost)) -> f64| {
        let mut v: Vec<f64> = rounds.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let figure = format!("{}×{} B {name}", s.small_count, s.small_bytes);
    rows.push(Row {
        figure: format!("{figure} (obj/s, median)"),
        ours: median(&|(o, _)| per_s(o)),
        unit: "obj/s",
        anchors: vec![("aws-sdk-s3", median(&|(_, a)| per_s(a)))],
        lower_is_better: false,
    });
    let worst = rounds
        .iter()
        .min_by(|x, y| (per_s(&x.0) / per_s(&x.1)).total_cmp(&(per_s(&y.0) / per_s(&y.1))))
        .expect("a round");
    rows.push(Row {
        figure: format!("{figure} (obj/s, worst round)"),
        ours: per_s(&worst.0),
        unit: "obj/s",
        anchors: vec![("aws-sdk-s3", per_s(&worst.1))],
        lower_is_better: false,
    });
    rows.push(Row {
        figure: format!("{figure} client CPU (median)"),
        ours: median(&|(o, _)| us_per_object(o)),
        unit: "µs/obj",
        anchors: vec![("aws-sdk-s3", median(&|(_, a)| us_per_object(a)))],
        lower_is_better: true,
    });
}
