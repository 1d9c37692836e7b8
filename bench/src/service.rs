//! The service benchmark: 16 KiB PUT, GET and HEAD through `spaces serve` (on RGW) at a fixed concurrency, beside
//! aws-sdk-s3 calling RGW directly, with requests/s and p50/p99 latency. The service's overhead is the gap.

use crate::{Result, Settings};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client as Sdk;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-token-0123456789";

/// Requests/s and latency percentiles of one load run.
pub struct Load {
    pub per_s: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// Runs `job(i)` for i in 0..count with `concurrency` workers; each request's latency is recorded.
async fn load<F, Fut>(count: usize, concurrency: usize, job: F) -> Result<Load>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (job, next) = (Arc::clone(&job), Arc::clone(&next));
        workers.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, crate::Error>(latencies);
                }
                let t = Instant::now();
                job(i).await?;
                latencies.push(t.elapsed());
            }
        });
    }
    let mut all = Vec::with_capacity(count);
    while let Some(done) = workers.join_next().await {
        all.extend(done??);
    }
    let elapsed = started.elapsed();
    all.sort();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Ok(Load { per_s: count as f64 / elapsed.as_secs_f64(), p50: at(0.50), p99: at(0.99) })
}

struct Service {
    child: Child,
    base: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(s: &Settings) -> Result<Service> {
    let mut child = s
        .spaces(&["serve", "--listen", "127.0.0.1:0"])
        .env("SPACES_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines.next().ok_or("spaces serve ended before listening")??;
        if let Some(rest) = line.strip_prefix("spaces: serving ") {
            break rest.split_whitespace().next().unwrap_or_default().to_string();
        }
    };
    // Keep draining stderr (audit lines) so the service never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Ok(Service { child, base })
}

type Http = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn call(http: &Http, method: &str, url: String, body: Bytes) -> Result<()> {
    let req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Full::new(body))?;
    let resp = http.request(req).await?;
    let status = resp.status();
    resp.into_body().collect().await?;
    if !status.is_success() {
        return Err(format!("{method} answered {status}").into());
    }
    Ok(())
}

/// (operation, through the service, aws-sdk-s3 direct) for PUT, GET and HEAD, best of `s.runs` by requests/s.
pub async fn run(s: &Settings, sdk: &Sdk, count: usize, concurrency: usize) -> Result<Vec<(&'static str, Load, Load)>> {
    let service = start(s)?;
    let http: Http = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(concurrency).build_http();
    let body = Bytes::from(vec![0x5a; s.small_bytes]);
    let key = |i: usize| format!("svc/o{i:05}");
    let mut results = Vec::new();
    for op in ["PUT", "GET", "HEAD"] {
        let (mut ours, mut theirs): (Option<Load>, Option<Load>) = (None, None);
        for _ in 0..s.runs {
            let (http, base, payload) = (http.clone(), service.base.clone(), body.clone());
            let ours_now = load(count, concurrency, move |i| {
                let (http, body) = (http.clone(), if op == "PUT" { payload.clone() } else { Bytes::new() });
                let url = format!("{base}/v1/objects/{}", key(i));
                async move { call(&http, op, url, body).await }
            })
            .await?;
            let (c, bucket, body) = (sdk.clone(), s.bucket.clone(), body.clone());
            let theirs_now = load(count, concurrency, move |i| {
                let (c, bucket, body, k) = (c.clone(), bucket.clone(), body.clone(), key(i));
                async move {
                    match op {
                        "PUT" => drop(c.put_object().bucket(bucket).key(k).body(ByteStream::from(body)).send().await?),
                        "GET" => drop(c.get_object().bucket(bucket).key(k).send().await?.body.collect().await?),
                        _ => drop(c.head_object().bucket(bucket).key(k).send().await?),
                    }
                    Ok(())
                }
            })
            .await?;
            if ours.as_ref().is_none_or(|o| ours_now.per_s > o.per_s) {
                ours = Some(ours_now);
            }
            if theirs.as_ref().is_none_or(|t| theirs_now.per_s > t.per_s) {
                theirs = Some(theirs_now);
            }
        }
        results.push((op, ours.ok_or("no run")?, theirs.ok_or("no run")?));
    }
    drop(service);
    Ok(results)
}
