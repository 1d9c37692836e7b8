//! The command line: parsing (clap) and one handler per command. Handlers talk to the component through a
//! [`Session`]; what they print is for people on stdout, diagnostics on stderr, and exit codes say what happened.

use crate::batch;
use crate::bindings::storage::{ByteRange, GetOptions, ListRequest, PutOptions};
use crate::bindings::types::Acl;
use crate::config::Connection;
use crate::content_type;
use crate::interrupt::Interrupt;
use crate::progress::Meter;
use crate::session::{Failure, Outcome, Session};
use crate::transfer;
use crate::views::{presign_request, Listed, Method, ObjectView, DEFAULT_EXPIRES};
use clap::{Parser, Subcommand};
use indicatif::HumanBytes;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Files of `put -r`/`get -r` in flight when --concurrency is not given; also the requests in flight a batch
/// shares among its files' parts.
pub const DEFAULT_CONCURRENCY: u32 = 4;

const AFTER_HELP: &str = "\
Configuration comes from flags or the environment: SPACES_ENDPOINT, SPACES_REGION, SPACES_BUCKET,
SPACES_PATH_STYLE=1, and credentials from SPACES_ACCESS_KEY_ID / SPACES_SECRET_ACCESS_KEY (or the AWS_*
equivalents, or a .env file in the working directory).

Exit codes: 0 success, 1 failure, 2 usage or invalid argument, 3 not found, 4 access denied or bad
credentials, 130 interrupted (Ctrl-C).";

#[derive(Parser, Debug)]
#[command(name = "spaces", version, about = "DigitalOcean Spaces (and any S3-compatible store) from the command line", after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub conn: Connection,
    /// Print the Prometheus metrics of this run to stderr when done
    #[arg(long, global = true)]
    pub print_metrics: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Upload FILE (or - for stdin) as KEY, or with -r every file under a directory; large bodies go multipart
    Put {
        /// File to upload, - for standard input, or with -r a directory
        file: PathBuf,
        /// Object key, or with -r the prefix the directory's files go under (PREFIX/RELATIVE/PATH)
        key: String,
        /// Upload the directory tree FILE, --concurrency files at a time
        #[arg(short, long)]
        recursive: bool,
        /// Content type [default: guessed from the file name]
        #[arg(long)]
        content_type: Option<String>,
        /// Cache-Control header to store with the object
        #[arg(long)]
        cache_control: Option<String>,
        /// Make the object publicly readable (ACL public-read)
        #[arg(long)]
        public: bool,
        /// User metadata NAME=VALUE (repeatable)
        #[arg(long = "meta", value_name = "NAME=VALUE", value_parser = parse_meta)]
        meta: Vec<(String, String)>,
    },
    /// Download KEY to FILE (default: the key's last path segment) or stdout (-), or with -r every object under a
    /// prefix into a directory
    Get {
        /// Object key, or with -r a key prefix (the tree `put -r DIR PREFIX` made)
        key: String,
        /// Destination file, - for standard output, or with -r a directory [default: . with -r]
        file: Option<PathBuf>,
        /// Only bytes FIRST-LAST (inclusive; LAST may be omitted)
        #[arg(long, value_parser = parse_range, conflicts_with = "recursive")]
        range: Option<ByteRange>,
        /// Download every object under the prefix KEY to DIR/RELATIVE/PATH, --concurrency at a time
        #[arg(short, long)]
        recursive: bool,
    },
    /// Print an object's metadata as JSON
    Head { key: String },
    /// Delete an object (succeeds if it does not exist), or with -r every object under a prefix
    Rm {
        /// Object key, or with -r a key prefix ("" for the whole bucket)
        key: String,
        /// Delete every object whose key starts with KEY (batched DeleteObjects)
        #[arg(short, long)]
        recursive: bool,
        /// Confirm a recursive delete; without it, -r only says what it would delete
        #[arg(long, requires = "recursive")]
        yes: bool,
    },
    /// Exit 0 if the object exists, 3 if it does not
    Exists { key: String },
    /// List objects under PREFIX, following pages to the end
    Ls {
        prefix: Option<String>,
        /// Group keys by this delimiter (e.g. /) into common prefixes
        #[arg(long)]
        delimiter: Option<String>,
        /// Print one JSON document instead of a table
        #[arg(long)]
        json: bool,
        /// Keys fetched per request (1-1000)
        #[arg(long, default_value_t = 1000)]
        page_size: u32,
    },
    /// Copy SRC to DST inside the bucket (server-side)
    Cp { src: String, dst: String },
    /// Print the object's URL (public endpoint, or --cdn)
    Url {
        key: String,
        #[arg(long)]
        cdn: bool,
    },
    /// Print a presigned URL that grants temporary access without credentials
    Presign {
        /// One or more keys; each gets a URL on its own line
        #[arg(required = true)]
        keys: Vec<String>,
        #[arg(long, value_enum, default_value_t = Method::Get)]
        method: Method,
        /// Lifetime in seconds (1 to 604800 = 7 days)
        #[arg(long, default_value_t = DEFAULT_EXPIRES)]
        expires: u32,
        /// Content type a PUT must be sent with (signed into the URL)
        #[arg(long)]
        content_type: Option<String>,
    },
    /// Manage DigitalOcean CDN endpoints (list, show, create, update, rm) and purge cached files; needs
    /// DIGITALOCEAN_TOKEN
    Cdn {
        #[command(subcommand)]
        action: crate::cdn::Action,
        /// Print JSON instead of a table
        #[arg(long, global = true)]
        json: bool,
    },
    /// Manage Spaces access keys (list, show, create with grants, rename, rm, rotate); needs DIGITALOCEAN_TOKEN
    Keys {
        #[command(subcommand)]
        action: crate::keys::Action,
        /// Print JSON instead of a table
        #[arg(long, global = true)]
        json: bool,
    },
    /// Run the storage service: a JSON API under /v1 (bearer token), /healthz, /readyz, /metrics and
    /// /openapi.json. With no endpoint configured it stores into an embedded S3 store under --data-dir
    /// (bucket "spaces" unless --bucket says otherwise).
    Serve(crate::serve::ServeArgs),
    /// Serve the Model Context Protocol on stdin/stdout, for AI assistants: tools to list, read, write and
    /// delete objects, make URLs, purge the CDN and manage access keys, and objects as spaces://BUCKET/KEY
    /// resources. Register it with an MCP client as the command `spaces mcp --bucket NAME`.
    Mcp(crate::mcp::McpArgs),
    /// Serve a wasi:http/proxy component over HTTP as an edge platform would: by default the edge build of spaces
    /// (the object routes of `serve`, configured from this command's settings and SPACES_TOKEN), or any proxy
    /// component given with --component
    Edge(crate::edge::EdgeArgs),
    /// Time presigning inside the component: COUNT URLs in one call, then one call per URL (for bench/)
    #[command(hide = true)]
    BenchPresign {
        #[arg(long, default_value_t = 10_000)]
        count: u32,
    },
}

fn parse_meta(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or_else(|| format!("metadata {s:?} must be NAME=VALUE"))?;
    if k.is_empty() {
        return Err(format!("metadata {s:?} has an empty name"));
    }
    Ok((k.to_string(), v.to_string()))
}

fn parse_range(s: &str) -> Result<ByteRange, String> {
    let (a, b) = s.split_once('-').ok_or("range must be FIRST-LAST or FIRST-")?;
    let first = a.parse().map_err(|_| format!("bad range start {a:?}"))?;
    let last = if b.is_empty() { None } else { Some(b.parse().map_err(|_| format!("bad range end {b:?}"))?) };
    Ok(ByteRange { first, last })
}

pub fn usage(m: impl Into<String>) -> Failure {
    Failure::Storage(crate::bindings::types::Error::InvalidArgument(m.into()))
}

pub fn host(m: impl std::fmt::Display) -> Failure {
    Failure::Host(m.to_string())
}

/// Prints `value` as indented JSON on stdout (the `--json` form of a command).
pub fn print_json(value: &impl serde::Serialize) -> Outcome<()> {
    println!("{}", serde_json::to_string_pretty(value).map_err(host)?);
    Ok(())
}

/// Runs the parsed command.
pub async fn run(cli: &Cli) -> Outcome<()> {
    match &cli.command {
        Command::Serve(args) => return crate::serve::run(&cli.conn, args).await,
        Command::Mcp(args) => return crate::mcp::run(&cli.conn, args).await,
        Command::Edge(args) => return crate::edge::run(&cli.conn, args).await,
        Command::Cdn { action, json } => {
            let runtime = cli.conn.runtime(2, None).map_err(host)?;
            let result = crate::cdn::run(&runtime, &cli.conn, action, *json).await;
            return with_metrics(cli, &runtime, result);
        }
        Command::Keys { action, json } => {
            let runtime = cli.conn.runtime(2, None).map_err(host)?;
            let result = crate::keys::run(&runtime, &cli.conn, action, *json).await;
            return with_metrics(cli, &runtime, result);
        }
        _ => {}
    }
    let cfg = cli.conn.storage_config().map_err(usage)?;
    let workers = match &cli.command {
        Command::Put { recursive: true, .. } | Command::Get { recursive: true, .. } => {
            cli.conn.concurrency.unwrap_or(DEFAULT_CONCURRENCY)
        }
        _ => 1,
    };
    let runtime = Arc::new(cli.conn.runtime(workers + 1, None).map_err(host)?);
    let result = match &cli.command {
        Command::Put { file, key, recursive: true, content_type, cache_control, public, meta } => {
            let template = PutOptions {
                content_type: content_type.clone(),
                cache_control: cache_control.clone(),
                acl: if *public { Acl::PublicRead } else { Acl::Private },
                metadata: meta.clone(),
            };
            batch::put_tree(&runtime, cfg, workers, file, key, &template).await
        }
        Command::Get { key, file, recursive: true, .. } => {
            let dir = file.clone().unwrap_or_else(|| PathBuf::from("."));
            batch::get_tree(&runtime, cfg, workers, key, &dir).await
        }
        Command::Url { key, cdn: true } => {
            let mut cfg = cfg;
            crate::cdn::use_served_host(&runtime, &cli.conn.api_config(None), &mut cfg).await;
            let mut s = Session::open(&runtime, &cfg).await?;
            println!("{}", s.cdn_url(key).await?);
            Ok(())
        }
        command => match Session::open(&runtime, &cfg).await {
            Ok(mut s) => execute(&mut s, command).await,
            Err(e) => Err(e),
        },
    };
    with_metrics(cli, &runtime, result)
}

/// With --print-metrics, the run's metrics go to stderr whatever the outcome.
fn with_metrics(cli: &Cli, runtime: &crate::runtime::Runtime, result: Outcome<()>) -> Outcome<()> {
    if cli.print_metrics {
        eprint!("{}", runtime.shared().metrics.render());
    }
    result
}

async fn execute(s: &mut Session, command: &Command) -> Outcome<()> {
    match command {
        Command::Put { file, key, recursive: _, content_type, cache_control, public, meta } => {
            let opts = PutOptions {
                content_type: content_type.clone().or_else(|| content_type::guess(key).map(String::from)),
                cache_control: cache_control.clone(),
                acl: if *public { Acl::PublicRead } else { Acl::Private },
                metadata: meta.clone(),
            };
            put(s, file, key, &opts).await?;
        }
        Command::Get { key, file, range, recursive: _ } => get(s, key, file.as_deref(), *range).await?,
        Command::Head { key } => {
            print_json(&ObjectView::from(s.head(key).await?))?;
        }
        Command::Rm { key, recursive: false, .. } => {
            s.delete(key).await?;
            println!("deleted {key}");
        }
        Command::Rm { key, recursive: true, yes } => remove_prefix(s, key, *yes).await?,
        Command::Exists { key } => {
            if !s.exists(key).await? {
                println!("false");
                return Err(Failure::Storage(crate::bindings::types::Error::NotFound(format!(
                    "{key:?} does not exist"
                ))));
            }
            println!("true");
        }
        Command::Ls { prefix, delimiter, json, page_size } => {
            ls(s, prefix.clone(), delimiter.clone(), *json, *page_size).await?
        }
        Command::Cp { src, dst } => {
            let etag = s.copy(src, dst).await?;
            println!("copied {src} to {dst} (etag {etag})");
        }
        Command::Url { key, cdn } => {
            let url = if *cdn { s.cdn_url(key).await? } else { s.public_url(key).await? };
            println!("{url}");
        }
        Command::Presign { keys, method, expires, content_type } => {
            let reqs: Vec<_> = keys
                .iter()
                .map(|k| presign_request(k.clone(), *method, Some(*expires), content_type.clone()))
                .collect();
            if let [req] = reqs.as_slice() {
                println!("{}", s.presign(req).await?.url);
                return Ok(());
            }
            let mut failed = 0;
            for (key, result) in keys.iter().zip(s.presign_many(&reqs).await?) {
                match result {
                    Ok(p) => println!("{}", p.url),
                    Err(e) => {
                        failed += 1;
                        eprintln!("spaces: {key:?}: {}", Failure::Storage(e));
                    }
                }
            }
            if failed > 0 {
                return Err(usage(format!("{failed} of {} keys could not be presigned", keys.len())));
            }
        }
        Command::BenchPresign { count } => bench_presign(s, *count).await?,
        Command::Serve(_) | Command::Mcp(_) | Command::Edge(_) | Command::Cdn { .. } | Command::Keys { .. } => {
            return Err(host("serve, mcp, edge, cdn and keys are handled before a storage session is opened"))
        }
    }
    Ok(())
}

/// Uploads one file or stdin with a progress bar; Ctrl-C aborts the upload cleanly.
async fn put(s: &mut Session, file: &Path, key: &str, opts: &PutOptions) -> Outcome<()> {
    let started = Instant::now();
    let interrupt = [s.interrupt()];
    let stdin = file.as_os_str() == "-";
    let size = if stdin {
        None
    } else {
        let meta = std::fs::metadata(file).map_err(|e| usage(format!("cannot read {}: {e}", file.display())))?;
        if meta.is_dir() {
            return Err(usage(format!("{} is a directory; `put -r DIR PREFIX` uploads a tree", file.display())));
        }
        Some(meta.len())
    };
    let meter = Meter::new(size, key);
    s.set_progress(Some(meter.sink()));
    let r = if stdin {
        interruptible(&interrupt, s.put(key, tokio::io::stdin(), None, opts)).await
    } else {
        interruptible(&interrupt, transfer::upload_file(s, file, key, opts)).await
    };
    meter.finish();
    let r = r?;
    let how = if r.parts > 0 { format!(", {} parts", r.parts) } else { String::new() };
    println!("uploaded {key} ({} bytes{how}, etag {}) in {}", r.size, r.etag, rate(r.size, started.elapsed()));
    Ok(())
}

/// Runs a transfer. The first Ctrl-C interrupts it through the component, which fails it its own way (aborting
/// a multipart upload, so nothing is left behind); a second Ctrl-C gives up at once.
pub async fn interruptible<T>(
    interrupts: &[Interrupt],
    transfer: impl std::future::Future<Output = Outcome<T>>,
) -> Outcome<T> {
    tokio::pin!(transfer);
    tokio::select! {
        r = &mut transfer => return r,
        _ = tokio::signal::ctrl_c() => {}
    }
    eprintln!("spaces: interrupted; cancelling the transfer (Ctrl-C again to quit at once)");
    for i in interrupts {
        i.trigger();
    }
    tokio::select! {
        r = &mut transfer => r.map_err(|e| {
            tracing::debug!(error = %e, "transfer ended after the interrupt");
            Failure::Interrupted
        }),
        _ = tokio::signal::ctrl_c() => Err(Failure::Interrupted),
    }
}

/// "1.23 s, 45.6 MiB/s".
pub fn rate(bytes: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-6);
    format!("{secs:.2} s, {}/s", HumanBytes((bytes as f64 / secs) as u64))
}

/// Prints, as JSON, nanoseconds per presigned URL when `count` come from one `presign-many` call (the signing
/// inside the component) and when each is its own `presign` call (plus one WIT round trip each). Best of three.
async fn bench_presign(s: &mut Session, count: u32) -> Outcome<()> {
    let reqs: Vec<_> =
        (0..count).map(|i| presign_request(format!("bench/object-{i:06}.bin"), Method::Get, None, None)).collect();
    let per_url = |d: Duration| d.as_nanos() as f64 / f64::from(count.max(1));
    let (mut batch, mut single) = (f64::MAX, f64::MAX);
    for _ in 0..3 {
        let started = Instant::now();
        for r in s.presign_many(&reqs).await? {
            r.map_err(Failure::Storage)?;
        }
        batch = batch.min(per_url(started.elapsed()));
        let started = Instant::now();
        for r in &reqs {
            s.presign(r).await?;
        }
        single = single.min(per_url(started.elapsed()));
    }
    println!("{}", serde_json::json!({"count": count, "batch_ns_per_url": batch, "call_ns_per_url": single}));
    Ok(())
}

/// Downloads to a file (through a partial file renamed into place when complete) or to stdout.
async fn get(s: &mut Session, key: &str, file: Option<&Path>, range: Option<ByteRange>) -> Outcome<()> {
    let started = Instant::now();
    if file.is_some_and(|f| f.as_os_str() == "-") {
        let (meta, download) = s.get(key, &GetOptions { range, if_match: None, if_none_match: None }).await?;
        let meter = Meter::new(Some(meta.size), key);
        s.set_progress(Some(meter.sink()));
        // Standard output unbuffered: the body arrives in large chunks, and Rust's stdout would flush per line.
        let stdout = std::io::stdout().as_fd().try_clone_to_owned().map_err(host)?;
        let written = s.write_to_file(download, std::fs::File::from(stdout)).await;
        meter.finish();
        written?;
        return Ok(());
    }
    let name = key.rsplit('/').find(|p| !p.is_empty()).unwrap_or("download");
    let dest = match file {
        Some(f) if f.is_dir() => f.join(name),
        Some(f) => f.to_path_buf(),
        None => PathBuf::from(name),
    };
    let meter = Meter::new(None, key);
    s.set_progress(Some(meter.sink()));
    let interrupt = s.interrupt();
    let sized = |n| meter.set_total(n);
    let download = transfer::download_file(s, key, range, &dest, &interrupt, &sized);
    let outcome = interruptible(std::slice::from_ref(&interrupt), download).await;
    meter.finish();
    let (meta, written) = outcome?;
    eprintln!(
        "downloaded {key} to {} ({written} bytes, etag {}) in {}",
        dest.display(),
        meta.etag,
        rate(written, started.elapsed())
    );
    Ok(())
}

/// Deletes everything under `prefix` in DeleteObjects batches, reporting each key that could not be deleted.
async fn remove_prefix(s: &mut Session, prefix: &str, confirmed: bool) -> Outcome<()> {
    let mut keys = Vec::new();
    let mut continuation = None;
    loop {
        let req = ListRequest { prefix: Some(prefix.to_string()), delimiter: None, continuation, max_keys: None };
        let page = s.list(&req).await?;
        keys.extend(page.objects.into_iter().map(|o| o.key));
        continuation = page.next_continuation;
        if continuation.is_none() {
            break;
        }
    }
    if !confirmed {
        return Err(usage(format!("would delete {} objects under {prefix:?}; pass --yes to delete them", keys.len())));
    }
    let failures = s.delete_many(&keys).await?;
    for f in &failures {
        eprintln!("spaces: could not delete {:?}: {} {}", f.key, f.code, f.message);
    }
    println!("deleted {} of {} objects under {prefix:?}", keys.len() - failures.len(), keys.len());
    if failures.is_empty() {
        Ok(())
    } else {
        Err(host(format!("{} objects could not be deleted", failures.len())))
    }
}

async fn ls(
    s: &mut Session,
    prefix: Option<String>,
    delimiter: Option<String>,
    json: bool,
    page_size: u32,
) -> Outcome<()> {
    let mut objects = Vec::new();
    let mut prefixes = Vec::new();
    let mut continuation = None;
    loop {
        let page = s
            .list(&ListRequest {
                prefix: prefix.clone(),
                delimiter: delimiter.clone(),
                continuation,
                max_keys: Some(page_size),
            })
            .await?;
        if !json {
            for p in &page.common_prefixes {
                println!("{:>24}  {:>12}  {p}", "", "PRE");
            }
            for o in &page.objects {
                println!("{:>24}  {:>12}  {}", o.last_modified, o.size, o.key);
            }
        }
        objects.extend(page.objects);
        prefixes.extend(page.common_prefixes);
        continuation = page.next_continuation;
        if continuation.is_none() {
            break;
        }
    }
    if json {
        let objects: Vec<_> = objects.into_iter().map(Listed::from).collect();
        println!("{}", serde_json::json!({"objects": objects, "prefixes": prefixes}));
    }
    Ok(())
}
