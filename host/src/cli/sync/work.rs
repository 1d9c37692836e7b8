//! The sync's transfers: each planned job goes to the first free worker, each worker owning a component instance
//! (a store runs one call at a time) on the shared HTTP pool. Uploads resume what an interrupted run left,
//! downloads land whole or not at all and take the object's time, copies stay server-side; a `--checksum`
//! comparison hashes the local file in the component before deciding. What each job did is tallied.

use super::plan::{self, Item};
use super::Side;
use crate::cli::encryption::DecryptArgs;
use crate::cli::progress::Meter;
use crate::cli::transfer::{self, Resuming};
use crate::error::{Failure, Outcome};
use crate::output::say;
use crate::runtime::bindings::storage::{Encryption, GetOptions, PutOptions};
use crate::runtime::bindings::types::Config;
use crate::runtime::interrupt::Interrupt;
use crate::runtime::session::{Session, ToHash};
use crate::runtime::{ProgressFn, Runtime};
use crate::views::plain_get;
use crate::views::put_options;
use http_api::headers::PutHeaders;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// The user metadata in which uploads record their part size (WIT `put-object`), for recomputing ETags.
const PART_SIZE_META: &str = "spaces-part-size";

/// What the sync did, or in a dry run would do.
#[derive(Default)]
pub(super) struct Tally {
    pub uploaded: u64,
    pub downloaded: u64,
    pub copied: u64,
    pub deleted: u64,
    pub unchanged: u64,
    pub failed: u64,
    pub bytes: u64,
}

impl Tally {
    /// `job` moved `bytes`.
    pub(super) fn count(&mut self, job: &Job, bytes: u64) {
        match job.done_as() {
            Job::Upload { .. } => self.uploaded += 1,
            Job::Download { .. } => self.downloaded += 1,
            Job::Copy { .. } => self.copied += 1,
            Job::Check { .. } => unreachable!("a check is done as the transfer it guards"),
        }
        self.bytes += bytes;
    }
}

/// How the sync's uploads are encrypted and its downloads decrypted.
pub(super) struct Crypt {
    pub encrypt: Option<Encryption>,
    /// Each download's options (the decryption among them), and what refuses ciphertext without a key.
    pub get: GetOptions,
    pub check: DecryptArgs,
}

impl Default for Crypt {
    fn default() -> Self {
        Crypt { encrypt: None, get: plain_get(None), check: DecryptArgs::default() }
    }
}

/// An encrypted upload is compared with what it would store, which the component computes without encrypting:
/// this instance asks it, for each file the local listing yields.
pub(super) struct Sizer(Option<(Session, Encryption)>);

impl Sizer {
    /// A sizer for `crypt`'s uploads; one that changes nothing when they are not encrypted.
    pub(super) async fn open(runtime: &Runtime, cfg: &Config, crypt: &Crypt) -> Outcome<Sizer> {
        Ok(Sizer(match &crypt.encrypt {
            Some(e) => Some((Session::open(runtime, cfg).await?, e.clone())),
            None => None,
        }))
    }

    /// Gives a local file the size it would have stored.
    pub(super) async fn size(&mut self, item: Option<&mut Item>) -> Outcome<()> {
        if let (Some(item), Some((session, encrypt))) = (item, self.0.as_mut()) {
            item.size = session.encrypted_size(encrypt, item.size).await?;
        }
        Ok(())
    }
}

/// What the workers share.
pub(super) struct Context {
    pub src: Side,
    pub dst: Side,
    pub dry_run: bool,
    pub resuming: Resuming,
    pub tally: Mutex<Tally>,
    /// The bar, labelled with files done of files planned.
    pub meter: Meter,
    pub planned: std::sync::atomic::AtomicU64,
    done: std::sync::atomic::AtomicU64,
    /// With `--purge`, the destination keys written or deleted so far.
    changed: Option<Mutex<Vec<String>>>,
    /// Encryption of uploads, decryption of downloads.
    pub crypt: Crypt,
}

impl Context {
    /// `purge`: keep the destination keys that change, for [`Context::changed`].
    pub(super) fn new(src: Side, dst: Side, dry_run: bool, resuming: Resuming, meter: Meter, purge: bool) -> Context {
        let tally = Mutex::new(Tally::default());
        let (planned, done) = (Default::default(), Default::default());
        let changed = purge.then(Mutex::default);
        Context { src, dst, dry_run, resuming, tally, meter, planned, done, changed, crypt: Crypt::default() }
    }

    /// `rel` was written in the destination, which may be a bucket.
    fn note_written(&self, rel: &str) {
        if matches!(self.dst, Side::Remote { .. }) {
            self.note_changed([key_of(&self.dst, rel)]);
        }
    }

    /// `keys` were written or deleted in the destination bucket (kept only with `--purge`).
    fn note_changed(&self, keys: impl IntoIterator<Item = String>) {
        if let Some(changed) = &self.changed {
            changed.lock().unwrap_or_else(|e| e.into_inner()).extend(keys);
        }
    }

    /// The destination keys written or deleted, with `--purge`.
    pub(super) fn changed(&self) -> Vec<String> {
        self.changed
            .as_ref()
            .map(|c| std::mem::take(&mut *c.lock().unwrap_or_else(|e| e.into_inner())))
            .unwrap_or_default()
    }

    /// One more planned job is over.
    fn job_done(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let done = self.done.fetch_add(1, Relaxed) + 1;
        self.meter.relabel(format!("sync {done}/{} files", self.planned.load(Relaxed)));
    }

    pub(super) fn count(&self, f: impl FnOnce(&mut Tally)) {
        f(&mut self.tally.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// In a dry run, the plan is printed, one line per action.
    pub(super) fn say_planned(&self, verb: &str, rel: &str, reason: Option<&str>) {
        if self.dry_run {
            match reason {
                Some(r) => say!("{verb} {rel} ({r})"),
                None => say!("{verb} {rel}"),
            }
        }
    }
}

/// One path to move.
pub(super) enum Job {
    Upload {
        item: Item,
    },
    Download {
        item: Item,
    },
    Copy {
        item: Item,
    },
    /// Hash the local file and compare with `etag`; run `then` if they differ.
    Check {
        local: Item,
        etag: String,
        then: Box<Job>,
    },
}

impl Job {
    /// The transfer that brings `item` from `src` to `dst`.
    pub(super) fn transfer(src: &Side, dst: &Side, item: Item) -> Job {
        match (src, dst) {
            (Side::Local(_), _) => Job::Upload { item },
            (_, Side::Local(_)) => Job::Download { item },
            _ => Job::Copy { item },
        }
    }

    /// A content comparison of `src_item` with `dst_item` (one of them local, so without an ETag), then the
    /// transfer if they differ.
    pub(super) fn check(src: &Side, dst: &Side, src_item: Item, dst_item: Item) -> Job {
        let (local, etag) = match src {
            Side::Local(_) => (src_item.clone(), dst_item.etag.clone().unwrap_or_default()),
            Side::Remote { .. } => (dst_item, src_item.etag.clone().unwrap_or_default()),
        };
        Job::Check { local, etag, then: Box::new(Job::transfer(src, dst, src_item)) }
    }

    fn is_check(&self) -> bool {
        matches!(self, Job::Check { .. })
    }

    /// The job whose kind counts it.
    fn done_as(&self) -> &Job {
        match self {
            Job::Check { then, .. } => then,
            other => other,
        }
    }

    pub(super) fn verb(&self) -> &'static str {
        match self.done_as() {
            Job::Upload { .. } => "upload",
            Job::Download { .. } => "download",
            _ => "copy",
        }
    }

    pub(super) fn rel(&self) -> &str {
        match self {
            Job::Upload { item } | Job::Download { item } | Job::Copy { item } => &item.rel,
            Job::Check { then, .. } => then.rel(),
        }
    }

    pub(super) fn size(&self) -> u64 {
        match self {
            Job::Upload { item } | Job::Download { item } | Job::Copy { item } => item.size,
            Job::Check { then, .. } => then.size(),
        }
    }
}

/// The workers, fed through one queue.
pub(super) struct Pool {
    tx: mpsc::Sender<Job>,
    tasks: tokio::task::JoinSet<()>,
    interrupts: Vec<Interrupt>,
}

impl Pool {
    /// `workers` component instances for the bucket `cfg` names, reporting progress to `meter`.
    pub(super) async fn start(
        runtime: &Runtime,
        cfg: &Config,
        workers: u32,
        meter: &Meter,
        ctx: Arc<Context>,
    ) -> Outcome<Pool> {
        let (tx, rx) = mpsc::channel(workers as usize * 2);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let (mut tasks, mut interrupts) = (tokio::task::JoinSet::new(), Vec::new());
        for _ in 0..workers {
            let mut s = Session::open(runtime, cfg).await?;
            let sink = meter.sink();
            s.set_progress(Some(Arc::clone(&sink)));
            interrupts.push(s.interrupt());
            tasks.spawn(worker(s, sink, Arc::clone(&rx), Arc::clone(&ctx)));
        }
        Ok(Pool { tx, tasks, interrupts })
    }

    pub(super) fn interrupts(&self) -> Vec<Interrupt> {
        self.interrupts.clone()
    }

    pub(super) async fn send(&self, ctx: &Context, job: Job) {
        ctx.planned.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // The workers only stop early when interrupted, and then the job has nowhere to go.
        let _ = self.tx.send(job).await;
    }

    /// Waits until every job sent is done.
    pub(super) async fn finish(self) -> Outcome<()> {
        let Pool { tx, mut tasks, .. } = self;
        drop(tx);
        while let Some(joined) = tasks.join_next().await {
            joined.map_err(|e| Failure::caused("a sync worker", e))?;
        }
        Ok(())
    }
}

async fn worker(mut s: Session, sink: ProgressFn, rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>, ctx: Arc<Context>) {
    let interrupt = s.interrupt();
    loop {
        let batch = next_jobs(&rx).await;
        if batch.is_empty() {
            break;
        }
        let verdicts = same_contents(&mut s, &ctx, &batch).await;
        for (job, known) in batch.iter().zip(verdicts) {
            if interrupt.triggered() {
                return;
            }
            match run(&mut s, &sink, &ctx, job, known, &interrupt).await {
                Ok(Some(bytes)) => {
                    ctx.count(|t| t.count(job, bytes));
                    ctx.note_written(job.rel());
                }
                Ok(None) => ctx.count(|t| t.unchanged += 1),
                Err(e) => {
                    eprintln!("spaces: {}: {e}", job.rel());
                    ctx.count(|t| t.failed += 1);
                }
            }
            ctx.job_done();
        }
    }
}

/// Files a worker hashes in one call: the component's MD5 lanes.
const HASHED_TOGETHER: usize = 4;

/// The next job; after a check, the checks queued behind it too (up to [`HASHED_TOGETHER`]
/// jobs, and at most one job of another kind), so that their files are hashed side by side. Empty when the
/// queue is closed.
async fn next_jobs(rx: &tokio::sync::Mutex<mpsc::Receiver<Job>>) -> Vec<Job> {
    let mut rx = rx.lock().await;
    let Some(first) = rx.recv().await else { return Vec::new() };
    let mut batch = vec![first];
    while batch.len() < HASHED_TOGETHER && batch.last().is_some_and(Job::is_check) {
        match rx.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    batch
}

/// For each job of `batch` that is a check, whether the local file holds what the object does; `None` for every
/// other job. All the files are hashed in one call, side by side — a file under a multipart ETag once per part size
/// its upload may have used.
async fn same_contents(s: &mut Session, ctx: &Context, batch: &[Job]) -> Vec<Option<Outcome<bool>>> {
    let mut verdicts: Vec<Option<Outcome<bool>>> = batch.iter().map(|_| None).collect();
    let (mut paths, mut hashed) = (Vec::new(), Vec::new());
    for (i, job) in batch.iter().enumerate() {
        let Job::Check { local, etag, .. } = job else { continue };
        let key = key_of(if ctx.src.is_local() { &ctx.dst } else { &ctx.src }, &local.rel);
        let candidates = match checked_path(ctx, &local.rel) {
            Ok(path) => part_sizes(s, &key, local.size, etag).await.map(|sizes| (path, sizes)),
            Err(e) => Err(e),
        };
        match candidates {
            Ok((path, sizes)) => {
                verdicts[i] = Some(Ok(false));
                for part_size in sizes {
                    paths.push(path.clone());
                    hashed.push((i, local.size, part_size, etag.as_str()));
                }
            }
            Err(e) => verdicts[i] = Some(Err(e)),
        }
    }
    let (mut bodies, mut ready) = (Vec::with_capacity(paths.len()), Vec::with_capacity(paths.len()));
    for ((i, size, part_size, etag), opened) in hashed.into_iter().zip(transfer::open_many(paths).await) {
        match opened {
            Ok(file) => {
                bodies.push(ToHash { body: file.body, size: Some(size), part_size });
                ready.push((i, etag));
            }
            Err(e) => verdicts[i] = Some(Err(e)),
        }
    }
    if bodies.is_empty() {
        return verdicts;
    }
    match s.content_etags(bodies).await {
        Ok(etags) => {
            for ((i, etag), got) in ready.into_iter().zip(etags) {
                // A check stays failed once one of its hashes failed, and the same once one of them matched.
                if let Some(Ok(same)) = &verdicts[i] {
                    verdicts[i] = Some(got.map(|got| *same || got == etag));
                }
            }
        }
        Err(Failure::Interrupted) => ready.iter().for_each(|(i, _)| verdicts[*i] = Some(Err(Failure::Interrupted))),
        Err(e) => ready.iter().for_each(|(i, _)| verdicts[*i] = Some(Err(Failure::host(format!("hashing: {e}"))))),
    }
    verdicts
}

/// The part sizes to hash a local file of `size` bytes with, to compare it with the object `key` whose ETag is
/// `etag`: none for a single PUT's ETag (its MD5); for a multipart one, the part size our upload stored in the
/// object's metadata, else the likely sizes.
async fn part_sizes(s: &mut Session, key: &str, size: u64, etag: &str) -> Outcome<Vec<Option<u64>>> {
    let Some(parts) = plan::etag_parts(etag) else { return Ok(vec![None]) };
    let meta = s.head(key).await?;
    let stored = meta.metadata.iter().find(|(k, _)| k == PART_SIZE_META).and_then(|(_, v)| v.parse().ok());
    Ok(match stored {
        Some(p) => vec![Some(p)],
        None => plan::likely_part_sizes(size, parts).into_iter().map(Some).collect(),
    })
}

/// Runs one job: the bytes it moved, or `None` when a check found the two sides the same.
async fn run(
    s: &mut Session,
    sink: &ProgressFn,
    ctx: &Context,
    job: &Job,
    known: Option<Outcome<bool>>,
    interrupt: &Interrupt,
) -> Outcome<Option<u64>> {
    match job {
        Job::Upload { item } => {
            let key = key_of(&ctx.dst, &item.rel);
            let opts = PutOptions { encrypt: ctx.crypt.encrypt.clone(), ..put_options(&PutHeaders::default(), &key) };
            let path = local_path(&ctx.src, &item.rel)?;
            Ok(Some(transfer::upload_file(s, &path, &key, &opts, &ctx.resuming).await?.size))
        }
        Job::Download { item } => {
            let path = local_path(&ctx.dst, &item.rel)?;
            let key = key_of(&ctx.src, &item.rel);
            let (opts, decrypt) = (&ctx.crypt.get, &ctx.crypt.check);
            let (_, written) = transfer::download_file(s, &key, opts, decrypt, &path, interrupt, &|_| {}).await?;
            let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(item.modified.max(0) as u64);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(when))
                .map_err(|e| Failure::caused(format!("setting the time of {}", path.display()), e))?;
            Ok(Some(written))
        }
        Job::Copy { item } => {
            let (src_key, dst_key) = (key_of(&ctx.src, &item.rel), key_of(&ctx.dst, &item.rel));
            match (ctx.src.bucket(), ctx.dst.bucket()) {
                (Some(a), Some(b)) if a != b => s.copy_from(a, &src_key, &dst_key).await?,
                _ => s.copy(&src_key, &dst_key).await?,
            };
            sink(item.size);
            Ok(Some(item.size))
        }
        Job::Check { then, .. } => {
            // Hashed beforehand with its batch; without a verdict the transfer runs, which loses nothing.
            let same = known.unwrap_or(Ok(false))?;
            if same {
                sink(then.size());
                return Ok(None);
            }
            if ctx.dry_run {
                ctx.say_planned(then.verb(), then.rel(), Some("content differs"));
                return Ok(Some(0));
            }
            Box::pin(run(s, sink, ctx, then, None, interrupt)).await
        }
    }
}

/// The local file a check of `rel` hashes, on whichever side is local.
fn checked_path(ctx: &Context, rel: &str) -> Outcome<PathBuf> {
    local_path(if ctx.src.is_local() { &ctx.src } else { &ctx.dst }, rel)
}

/// The object key of `rel` on a remote side.
fn key_of(side: &Side, rel: &str) -> String {
    match side {
        Side::Remote { prefix, .. } => format!("{prefix}{rel}"),
        Side::Local(_) => unreachable!("only remote sides have keys"),
    }
}

/// The file of `rel` on a local side; a relative path from the bucket that could step outside is refused.
fn local_path(side: &Side, rel: &str) -> Outcome<PathBuf> {
    match side {
        Side::Local(dir) => transfer::local_path(dir, "", rel),
        Side::Remote { .. } => unreachable!("only local sides have files"),
    }
}

/// Deletes what `dst` has and the source lacked, after every transfer is done.
pub(super) async fn delete(
    runtime: &Runtime,
    cfg: &Config,
    dst: &Side,
    rels: Vec<String>,
    ctx: &Context,
) -> Outcome<()> {
    match dst {
        Side::Remote { .. } => {
            let keys: Vec<String> = rels.iter().map(|r| key_of(dst, r)).collect();
            let mut s = Session::open(runtime, cfg).await?;
            let failures = s.delete_many(&keys).await?;
            for f in &failures {
                eprintln!("spaces: could not delete {:?}: {} {}", f.key, f.code, f.message);
            }
            let failed: std::collections::HashSet<&str> = failures.iter().map(|f| f.key.as_str()).collect();
            ctx.note_changed(keys.iter().filter(|k| !failed.contains(k.as_str())).cloned());
            let failed = failures.len() as u64;
            ctx.count(|t| {
                t.deleted += keys.len() as u64 - failed;
                t.failed += failed;
            });
        }
        Side::Local(_) => {
            for rel in rels {
                match local_path(dst, &rel).and_then(|p| {
                    std::fs::remove_file(&p).map_err(|e| Failure::caused(format!("deleting {}", p.display()), e))
                }) {
                    Ok(()) => ctx.count(|t| t.deleted += 1),
                    Err(e) => {
                        eprintln!("spaces: {rel}: {e}");
                        ctx.count(|t| t.failed += 1);
                    }
                }
            }
        }
    }
    Ok(())
}
