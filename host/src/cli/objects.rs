//! The object commands: put, get, head, rm, exists, ls, acl, url and presign, on the configured bucket or the one
//! their `spaces://BUCKET/KEY` arguments name. Each opens one component instance (`put -r` and `get -r` several, in
//! `batch`) and prints what people read on stdout.

use super::encryption::{DecryptArgs, EncryptArgs};
use super::progress::Meter;
use super::{batch, interruptible, transfer, DEFAULT_CONCURRENCY};
use crate::config::Connection;
use crate::error::{Failure, Outcome};
use crate::output::{print_json, rate, say};
use crate::runtime::bindings::storage::{ByteRange, GetOptions, ListRequest, PutOptions};
use crate::runtime::bindings::types::Config;
use crate::runtime::session::Session;
use crate::runtime::streams::Body;
use crate::runtime::Runtime;
use crate::views::{self, plain_get, presign_request, put_options, ObjectView};
use clap::Subcommand;
use http_api::bodies::{Listed, Method, DEFAULT_EXPIRES};
use http_api::bucket::{PresignPostBody, PresignedPost, Readers};
use http_api::headers::PutHeaders;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The commands that work on objects: of the configured bucket, or of the one a `spaces://BUCKET/KEY` argument
/// names.
#[derive(Subcommand, Debug, Clone)]
pub(super) enum ObjectCommand {
    /// Upload FILE (or - for stdin) as KEY, or with -r every file under a directory; large bodies go multipart
    Put(PutArgs),
    /// Download KEY to FILE (default: the key's last path segment) or stdout (-), or with -r every object under a
    /// prefix into a directory
    Get {
        /// Object key, or with -r a key prefix (the tree `put -r DIR PREFIX` made)
        key: String,
        /// Destination file, - for standard output, or a directory (one that exists, or a name ending in /, made
        /// if missing) to download into under the key's last path segment; with -r a directory [default: . with -r]
        file: Option<PathBuf>,
        /// Only bytes FIRST-LAST (inclusive; LAST may be omitted)
        #[arg(long, value_parser = parse_range, conflicts_with = "recursive")]
        range: Option<ByteRange>,
        /// Download every object under the prefix KEY to DIR/RELATIVE/PATH, --concurrency at a time
        #[arg(short, long)]
        recursive: bool,
        /// This version of the object (from `ls --versions`) instead of the current one
        // Version ids may begin with '-' (RGW's often do): the value is never read as a flag.
        #[arg(long, conflicts_with = "recursive", allow_hyphen_values = true)]
        version_id: Option<String>,
        #[command(flatten)]
        decrypt: DecryptArgs,
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
        /// Delete this version (or delete marker) for good, instead of the current object
        #[arg(long, conflicts_with = "recursive", allow_hyphen_values = true)]
        version_id: Option<String>,
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
        /// Every version and delete marker instead (a bucket with versioning), by key and newest first
        #[arg(long, conflicts_with_all = ["delimiter", "page_size"])]
        versions: bool,
    },
    /// Incomplete multipart uploads: list them, abort them (they cost storage until then)
    Uploads {
        #[command(subcommand)]
        action: super::uploads::Action,
    },
    /// Show who may read an object (owner, public or private, its grants), or set its canned ACL
    Acl {
        key: String,
        /// public (anyone may read it at its URL) or private (only the owner, and presigned URLs)
        #[arg(value_enum)]
        set: Option<Readers>,
        /// Print JSON instead of text
        #[arg(long, conflicts_with = "set")]
        json: bool,
    },
    /// The bucket's CORS rules, which browser uploads from a web page need: show, set, rm
    Cors {
        #[command(subcommand)]
        action: super::cors::Action,
    },
    /// Whether the bucket keeps the versions that overwrites and deletes replace: show, on, suspend
    Versioning {
        #[command(subcommand)]
        action: super::versioning::Action,
    },
    /// The bucket's lifecycle rules (expire objects, abort incomplete uploads): show, set, rm
    Lifecycle {
        #[command(subcommand)]
        action: super::lifecycle::Action,
    },
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
    /// Print a signed browser upload form as JSON ({url, fields, expires_at})
    ///
    /// POST it as multipart/form-data: the fields, then the file as the field `file`. A KEY ending in / is a
    /// prefix: the upload is stored as PREFIX + the file's own name.
    PresignPost {
        key: String,
        /// Largest body accepted, in bytes [default: 5 GiB, S3's limit for one POST]
        #[arg(long)]
        max_size: Option<u64>,
        /// Content-Type the upload must carry [default: any]
        #[arg(long)]
        content_type: Option<String>,
        /// Lifetime in seconds (1 to 604800 = 7 days)
        #[arg(long, default_value_t = DEFAULT_EXPIRES)]
        expires: u32,
    },
    /// Time presigning inside the component: COUNT URLs in one call, then one call per URL (for bench/)
    #[command(hide = true)]
    BenchPresign {
        #[arg(long, default_value_t = 10_000)]
        count: u32,
    },
}

/// `spaces put`.
#[derive(clap::Args, Debug, Clone)]
pub(super) struct PutArgs {
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
    /// Start afresh instead of resuming the multipart upload an earlier, interrupted run of the same file left
    /// (which is then aborted). By default an upload goes on where that run stopped, sending only missing parts
    #[arg(long)]
    no_resume: bool,
    /// If the upload fails or is interrupted (Ctrl-C), keep its multipart upload so that the next `put` of the
    /// same file resumes it, instead of aborting it
    #[arg(long)]
    keep_partial: bool,
    /// After the upload, purge KEY from the bucket's CDN endpoint so the CDN serves the new bytes (needs
    /// DIGITALOCEAN_TOKEN)
    #[arg(long, conflicts_with = "recursive")]
    purge: bool,
    #[command(flatten)]
    encrypt: EncryptArgs,
}

impl PutArgs {
    /// The upload options the flags ask for.
    fn headers(&self) -> PutHeaders {
        PutHeaders {
            content_type: self.content_type.clone(),
            cache_control: self.cache_control.clone(),
            public: self.public,
            metadata: self.meta.clone(),
        }
    }
}

impl ObjectCommand {
    /// Component instances the command works with at once.
    pub(super) fn workers(&self, conn: &Connection) -> u32 {
        match self {
            ObjectCommand::Put(PutArgs { recursive: true, .. }) | ObjectCommand::Get { recursive: true, .. } => {
                conn.concurrency.unwrap_or(DEFAULT_CONCURRENCY)
            }
            _ => 1,
        }
    }

    /// The arguments that name an object or a prefix, each of which may be `spaces://BUCKET/KEY`.
    fn addresses(&mut self) -> Vec<&mut String> {
        use ObjectCommand as C;
        match self {
            C::Put(PutArgs { key, .. })
            | C::Get { key, .. }
            | C::Head { key }
            | C::Rm { key, .. }
            | C::Exists { key }
            | C::Acl { key, .. }
            | C::Url { key, .. }
            | C::PresignPost { key, .. }
            | C::Ls { prefix: Some(key), .. } => vec![key],
            C::Presign { keys, .. } => keys.iter_mut().collect(),
            C::Ls { prefix: None, .. }
            | C::Uploads { .. }
            | C::Cors { .. }
            | C::Versioning { .. }
            | C::Lifecycle { .. }
            | C::BenchPresign { .. } => Vec::new(),
        }
    }
}

/// `command` with its addresses read as keys, and the configuration for the one bucket they name.
fn addressed(conn: &Connection, command: &ObjectCommand) -> Outcome<(Config, ObjectCommand)> {
    let mut command = command.clone();
    let mut bucket: Option<String> = None;
    for arg in command.addresses() {
        let (named, key) = super::locate(arg, conn)?;
        if bucket.as_ref().is_some_and(|b| *b != named) {
            return Err(Failure::usage("the keys of one command must all be in one bucket"));
        }
        bucket = Some(named);
        *arg = key;
    }
    let cfg = match bucket {
        Some(b) => conn.storage_config_for(b),
        None => conn.storage_config().map_err(Failure::usage)?,
    };
    Ok((cfg, command))
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

/// Runs one object command.
pub(super) async fn run(runtime: &Runtime, conn: &Connection, command: &ObjectCommand) -> Outcome<()> {
    let (mut cfg, command) = addressed(conn, command)?;
    let command = &command;
    let workers = command.workers(conn);
    match command {
        ObjectCommand::Put(a) if a.recursive => {
            let how = transfer::Resuming::new(&cfg, a.no_resume, a.keep_partial);
            let encrypt = a.encrypt.encryption()?;
            return batch::put_tree(runtime, cfg, workers, (&a.file, &a.key), (&a.headers(), encrypt), &how).await;
        }
        ObjectCommand::Get { key, file, recursive: true, decrypt, .. } => {
            let dir = file.clone().unwrap_or_else(|| PathBuf::from("."));
            return batch::get_tree(runtime, cfg, workers, key, &dir, decrypt).await;
        }
        ObjectCommand::Url { cdn: true, .. } => {
            crate::digitalocean::cdn::use_served_host(runtime, &conn.api_config(None), &mut cfg).await;
        }
        _ => {}
    }
    let mut s = Session::open(runtime, &cfg).await?;
    match command {
        ObjectCommand::Put(a) => {
            let how = transfer::Resuming::new(&cfg, a.no_resume, a.keep_partial);
            put(&mut s, a, &how).await?;
            if !a.purge {
                return Ok(());
            }
            super::cdn::purge_changed(runtime, conn, &cfg, std::slice::from_ref(&a.key), &format!("stored {}", a.key))
                .await
        }
        ObjectCommand::Get { key, file, range, version_id, decrypt, .. } => {
            let opts =
                GetOptions { version_id: version_id.clone(), decrypt: decrypt.decryption()?, ..plain_get(*range) };
            get(&mut s, key, file.as_deref(), &opts, decrypt).await
        }
        ObjectCommand::Head { key } => print_json(&ObjectView::from(s.head(key).await?)),
        ObjectCommand::Rm { key, recursive: false, version_id, .. } => remove(&mut s, key, version_id.as_deref()).await,
        ObjectCommand::Rm { key, recursive: true, yes, .. } => remove_prefix(&mut s, key, *yes).await,
        ObjectCommand::Exists { key } => {
            if !s.exists(key).await? {
                say!("false");
                return Err(Failure::not_found(format!("{key:?} does not exist")));
            }
            say!("true");
            Ok(())
        }
        ObjectCommand::Ls { prefix, json, versions: true, .. } => {
            super::versioning::list(&mut s, prefix.as_deref(), *json).await
        }
        ObjectCommand::Ls { prefix, delimiter, json, page_size, .. } => {
            ls(&mut s, prefix.clone(), delimiter.clone(), *json, *page_size).await
        }
        ObjectCommand::Uploads { action } => {
            super::uploads::run(&mut s, &transfer::Resuming::new(&cfg, false, false), action).await
        }
        ObjectCommand::Versioning { action } => super::versioning::run(&mut s, action).await,
        ObjectCommand::Lifecycle { action } => super::lifecycle::run(&mut s, action).await,
        ObjectCommand::Cors { action } => super::cors::run(&mut s, action).await,
        ObjectCommand::Acl { key, set, json } => acl(&mut s, key, *set, *json).await,
        ObjectCommand::Url { key, cdn } => {
            let url = if *cdn { s.cdn_url(key).await? } else { s.public_url(key).await? };
            say!("{url}");
            Ok(())
        }
        ObjectCommand::Presign { keys, method, expires, content_type } => {
            presign(&mut s, keys, *method, *expires, content_type.clone()).await
        }
        ObjectCommand::PresignPost { key, max_size, content_type, expires } => {
            let body = PresignPostBody {
                key: key.clone(),
                max_size: *max_size,
                content_type: content_type.clone(),
                expires: Some(*expires),
            };
            print_json(&PresignedPost::from(s.presign_post(&views::post_request(body)).await?))
        }
        ObjectCommand::BenchPresign { count } => bench_presign(&mut s, *count).await,
    }
}

/// `rm KEY [--version-id ID]`.
async fn remove(s: &mut Session, key: &str, version_id: Option<&str>) -> Outcome<()> {
    match version_id {
        Some(id) => {
            s.delete_version(key, id).await?;
            say!("deleted version {id} of {key}");
        }
        None => {
            s.delete(key).await?;
            say!("deleted {key}");
        }
    }
    Ok(())
}

/// `spaces acl KEY [public|private]`: sets the canned ACL, or shows the object's.
async fn acl(s: &mut Session, key: &str, set: Option<Readers>, json: bool) -> Outcome<()> {
    if let Some(readers) = set {
        s.set_access(key, views::acl(readers)).await?;
        say!("{key} is now {}", readers.word());
        return Ok(());
    }
    let access = views::access(key.to_string(), s.get_access(key).await?);
    if json {
        return print_json(&access);
    }
    say!("{key}: {} (owner {})", access.acl.word(), access.owner);
    access.grants.iter().for_each(|g| say!("  {g}"));
    Ok(())
}

/// Uploads one file or stdin with a progress bar; Ctrl-C aborts the upload cleanly.
async fn put(s: &mut Session, a: &PutArgs, how: &transfer::Resuming) -> Outcome<()> {
    let started = Instant::now();
    let (file, key) = (a.file.as_path(), a.key.as_str());
    let opts = &PutOptions { encrypt: a.encrypt.encryption()?, ..put_options(&a.headers(), key) };
    let interrupt = [s.interrupt()];
    let stdin = file.as_os_str() == "-";
    let size = if stdin {
        None
    } else {
        let meta =
            std::fs::metadata(file).map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))?;
        if meta.is_dir() {
            let dir = file.display();
            return Err(Failure::usage(format!("{dir} is a directory; `put -r DIR PREFIX` uploads a tree")));
        }
        meta.is_file().then_some(meta.len())
    };
    let meter = Meter::new(size, key);
    s.set_progress(Some(meter.sink()));
    let r = if stdin {
        how.watch_stream(s, key);
        interruptible(&interrupt, s.put(key, Body::reader(tokio::io::stdin()), None, opts)).await
    } else {
        interruptible(&interrupt, transfer::upload_file(s, file, key, opts, how)).await
    };
    meter.finish();
    let r = r?;
    let how = if r.parts > 0 { format!(", {} parts", r.parts) } else { String::new() };
    say!("uploaded {key} ({} bytes{how}, etag {}) in {}", r.size, r.etag, rate(r.size, started.elapsed()));
    Ok(())
}

/// One presigned URL per key, each on its own line; keys that cannot be presigned are reported by name.
async fn presign(
    s: &mut Session,
    keys: &[String],
    method: Method,
    expires: u32,
    content_type: Option<String>,
) -> Outcome<()> {
    let reqs: Vec<_> =
        keys.iter().map(|k| presign_request(k.clone(), method, Some(expires), content_type.clone())).collect();
    if let [req] = reqs.as_slice() {
        say!("{}", s.presign(req).await?.url);
        return Ok(());
    }
    let mut failed = 0;
    for (key, result) in keys.iter().zip(s.presign_many(&reqs).await?) {
        match result {
            Ok(p) => say!("{}", p.url),
            Err(e) => {
                failed += 1;
                eprintln!("spaces: {key:?}: {}", Failure::Storage(e));
            }
        }
    }
    if failed > 0 {
        return Err(Failure::usage(format!("{failed} of {} keys could not be presigned", keys.len())));
    }
    Ok(())
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
    say!("{}", serde_json::json!({"count": count, "batch_ns_per_url": batch, "call_ns_per_url": single}));
    Ok(())
}

/// Downloads to a file (through a partial file renamed into place when complete) or to standard output.
async fn get(s: &mut Session, key: &str, file: Option<&Path>, opts: &GetOptions, how: &DecryptArgs) -> Outcome<()> {
    let started = Instant::now();
    let stream = match file {
        Some(f) if f.as_os_str() == "-" => Some(standard(std::io::stdout().as_fd())?),
        Some(f) => standard_stream(f),
        None => None,
    };
    if let Some(stream) = stream {
        let (meta, download) = s.get(key, opts).await?;
        how.check(&meta, opts.decrypt.is_some())?;
        let meter = Meter::new(Some(meta.size), key);
        s.set_progress(Some(meter.sink()));
        let written = s.write_to_file(download, stream).await;
        meter.finish();
        // A reader that took what it wanted and left (`| head`) is not a failure, as `cat` would not call it one.
        return match written {
            Err(_) if crate::output::reader_gone() => Ok(()),
            other => other.map(drop),
        };
    }
    let name = key.rsplit('/').find(|p| !p.is_empty()).unwrap_or("download");
    let dest = match file {
        // A trailing slash names a directory (as it does to `aws s3 cp`); download_file makes it if missing.
        Some(f) if f.is_dir() || f.as_os_str().as_encoded_bytes().ends_with(b"/") => f.join(name),
        Some(f) => f.to_path_buf(),
        None => PathBuf::from(name),
    };
    let meter = Meter::new(None, key);
    s.set_progress(Some(meter.sink()));
    let interrupt = s.interrupt();
    let sized = |n| meter.set_total(n);
    let download = transfer::download_file(s, key, opts, how, &dest, &interrupt, &sized);
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

/// Standard output or error, unbuffered: the body arrives in large chunks, and Rust's stdout would flush per line.
fn standard(fd: std::os::fd::BorrowedFd) -> Outcome<std::fs::File> {
    Ok(fd.try_clone_to_owned().map_err(|e| Failure::caused("standard output", e))?.into())
}

/// Standard output or error, when `path` names the file it writes to (`/dev/stdout`, `/proc/self/fd/2`, or the file
/// the shell redirected it to). Such a download is written through it as `-` is, so it lands where the command's
/// other output does, instead of replacing that file under the shell or writing over what it holds.
fn standard_stream(path: &Path) -> Option<std::fs::File> {
    use std::os::unix::fs::MetadataExt;
    let target = std::fs::metadata(path).ok()?;
    // A closed stream is not the destination; the download then goes to `path` as any file does.
    [std::io::stdout().as_fd(), std::io::stderr().as_fd()]
        .into_iter()
        .filter_map(|fd| standard(fd).ok())
        .find(|f| f.metadata().is_ok_and(|m| (m.dev(), m.ino()) == (target.dev(), target.ino())))
}

/// Deletes everything under `prefix` in DeleteObjects batches, reporting each key that could not be deleted.
async fn remove_prefix(s: &mut Session, prefix: &str, confirmed: bool) -> Outcome<()> {
    let mut keys = Vec::new();
    let req = ListRequest { prefix: Some(prefix.to_string()), delimiter: None, continuation: None, max_keys: None };
    s.list_pages(req, |page| keys.extend(page.objects.into_iter().map(|o| o.key))).await?;
    if !confirmed {
        let n = keys.len();
        return Err(Failure::usage(format!("would delete {n} objects under {prefix:?}; pass --yes to delete them")));
    }
    let failures = s.delete_many(&keys).await?;
    for f in &failures {
        eprintln!("spaces: could not delete {:?}: {} {}", f.key, f.code, f.message);
    }
    say!("deleted {} of {} objects under {prefix:?}", keys.len() - failures.len(), keys.len());
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::host(format!("{} objects could not be deleted", failures.len())))
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
    let req = ListRequest { prefix, delimiter, continuation: None, max_keys: Some(page_size) };
    s.list_pages(req, |page| {
        if !json {
            for p in &page.common_prefixes {
                say!("{:>24}  {:>12}  {p}", "", "PRE");
            }
            for o in &page.objects {
                say!("{:>24}  {:>12}  {}", o.last_modified, o.size, o.key);
            }
        }
        objects.extend(page.objects);
        prefixes.extend(page.common_prefixes);
    })
    .await?;
    if json {
        let objects: Vec<_> = objects.into_iter().map(Listed::from).collect();
        say!("{}", serde_json::json!({"objects": objects, "prefixes": prefixes}));
    }
    Ok(())
}
