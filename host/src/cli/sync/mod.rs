//! `spaces sync SRC DST`: a local directory to a prefix, a prefix to a local directory, or a prefix to a prefix
//! (server-side copies, across buckets too). Two listings in key order are merged step by step (`plan`), so
//! memory stays flat however many keys there are, and each transfer is handed to a worker (one component
//! instance each) as soon as it is planned. Deletes (`--delete`) run only after every transfer, and not at all
//! if either listing was incomplete. Failures are reported by name; the rest still sync.

mod listing;
mod plan;
mod work;

use super::encryption::{DecryptArgs, EncryptArgs};
use super::interruptible;
use super::progress::Meter;
use super::transfer::Resuming;
use crate::config::Connection;
use crate::error::{Failure, Outcome};
use crate::output::{rate, say};
use crate::runtime::bindings::types::Config;
use crate::runtime::session::Session;
use crate::runtime::Runtime;
use globset::{Glob, GlobSet, GlobSetBuilder};
use indicatif::HumanBytes;
use plan::{Action, Advance, Compare};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use work::Job;

/// Files in flight when -j is not given.
const DEFAULT_JOBS: u32 = 8;

/// `spaces sync`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
By default a file counts as unchanged when the sizes match and the source is not newer than the destination,
as the listings say (no request per file; a download sets the file's time to the object's, so the next run
compares like with like). --size-only trusts the size alone. --checksum trusts content: it hashes each local
file whose size matches and compares it with the object's ETag (the MD5, or for a multipart object the
multipart ETag recomputed with the part size the upload stored, or else guessed from size and part count),
downloading nothing; between two prefixes it compares the ETags the listings give.

--exclude and --include take globs matched against the path relative to SRC and DST (* also matches /); a path
matching any --exclude is skipped on both sides unless it also matches an --include.

Exit codes: 0 in sync, 1 if any file failed (each is named), 2 usage, 130 interrupted.")]
pub(crate) struct SyncArgs {
    /// What to copy from: a local directory, or spaces://BUCKET/PREFIX (also s3://BUCKET/PREFIX)
    src: String,
    /// Where to copy to: a local directory, or spaces://BUCKET/PREFIX (also s3://BUCKET/PREFIX)
    dst: String,
    /// Compare content by ETag instead of times (see below)
    #[arg(long, conflicts_with = "size_only")]
    checksum: bool,
    /// Compare sizes only
    #[arg(long)]
    size_only: bool,
    /// Delete what DST has and SRC does not, after everything else is copied
    #[arg(long)]
    delete: bool,
    /// Print what would be done, one line per action with its reason, and change nothing
    #[arg(long)]
    dry_run: bool,
    /// Skip paths matching this glob (repeatable)
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Keep paths matching this glob even if an --exclude matches (repeatable)
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
    /// Start interrupted uploads afresh instead of resuming them
    #[arg(long)]
    no_resume: bool,
    /// Then purge every key this sync wrote or deleted from the CDN endpoint whose origin is the destination
    /// bucket, 50 per request, paced to DigitalOcean's limit (needs DIGITALOCEAN_TOKEN)
    #[arg(long)]
    purge: bool,
    /// Encrypt uploads in age format to RECIPIENT (age1…) or the recipients in FILE (repeatable). Sizes are then
    /// compared with the ciphertext's size; content cannot be (no --checksum)
    #[arg(long = "encrypt-to", value_name = "RECIPIENT|FILE", conflicts_with = "checksum")]
    encrypt_to: Vec<String>,
    /// Decrypt downloads with the age identities in FILE (repeatable). A ciphertext's size is not its
    /// plaintext's, so files are then compared by time alone (no --checksum or --size-only)
    #[arg(long, short = 'i', value_name = "FILE", conflicts_with_all = ["checksum", "size_only"])]
    identity: Vec<PathBuf>,
    /// Encrypt uploads, or decrypt downloads, with a passphrase: SPACES_PASSPHRASE, or asked for on the terminal
    #[arg(long, conflicts_with_all = ["encrypt_to", "identity", "checksum"])]
    passphrase: bool,
}

impl SyncArgs {
    /// Component instances a sync runs at once: the workers, the two listings, and the sizer of encrypted uploads.
    pub(super) fn instances(conn: &Connection) -> u32 {
        conn.concurrency.unwrap_or(DEFAULT_JOBS) + 3
    }

    fn compare(&self, crypt: &work::Crypt) -> Compare {
        match (self.checksum, self.size_only) {
            _ if crypt.get.decrypt.is_some() => Compare::TimeOnly,
            (true, _) => Compare::Checksum,
            (_, true) => Compare::SizeOnly,
            _ => Compare::SizeAndTime,
        }
    }

    /// What the workers share for a sync from `src` to `dst`.
    fn context(&self, src: &Side, dst: &Side, cfg: &Config, meter: &Meter) -> Outcome<work::Context> {
        let resuming = Resuming::new(cfg, self.no_resume, false);
        let purge = self.purge && !self.dry_run;
        let mut ctx = work::Context::new(src.clone(), dst.clone(), self.dry_run, resuming, meter.clone(), purge);
        ctx.crypt = self.crypt(src, dst)?;
        Ok(ctx)
    }

    /// What the encryption flags ask of this direction: uploads encrypt, downloads decrypt, and server-side
    /// copies, which move stored bytes as they are, take neither.
    fn crypt(&self, src: &Side, dst: &Side) -> Outcome<work::Crypt> {
        let (encrypting, decrypting) = (!self.encrypt_to.is_empty(), !self.identity.is_empty());
        let mut crypt = work::Crypt::default();
        match (src, dst) {
            (Side::Local(_), _) if decrypting => {
                Err(Failure::usage("--identity decrypts downloads; this sync uploads"))
            }
            (Side::Local(_), _) => {
                crypt.encrypt = EncryptArgs::new(self.encrypt_to.clone(), self.passphrase).encryption()?;
                Ok(crypt)
            }
            (_, Side::Local(_)) if encrypting => {
                Err(Failure::usage("--encrypt-to encrypts uploads; this sync downloads"))
            }
            (_, Side::Local(_)) => {
                crypt.check = DecryptArgs::new(self.identity.clone(), self.passphrase);
                crypt.get.decrypt = crypt.check.decryption()?;
                Ok(crypt)
            }
            _ if encrypting || decrypting || self.passphrase => Err(Failure::usage(
                "a sync between prefixes copies stored bytes server-side: encryption flags do not apply",
            )),
            _ => Ok(crypt),
        }
    }
}

/// One end of a sync.
#[derive(Debug, Clone)]
pub(super) enum Side {
    Local(PathBuf),
    Remote { bucket: String, prefix: String },
}

impl Side {
    pub(super) fn is_local(&self) -> bool {
        matches!(self, Side::Local(_))
    }

    fn parse(arg: &str) -> Result<Side, Failure> {
        match object_keys::location(arg) {
            Some(Ok((bucket, key))) => Ok(Side::Remote { bucket, prefix: super::batch::key_prefix(&key) }),
            Some(Err(e)) => Err(Failure::usage(e)),
            None => Ok(Side::Local(PathBuf::from(arg))),
        }
    }

    fn bucket(&self) -> Option<&str> {
        match self {
            Side::Remote { bucket, .. } => Some(bucket),
            Side::Local(_) => None,
        }
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Side::Local(p) => write!(f, "{}", p.display()),
            Side::Remote { bucket, prefix } => write!(f, "spaces://{bucket}/{prefix}"),
        }
    }
}

/// Which paths take part: those no --exclude matches, or that an --include matches.
struct Filter {
    exclude: GlobSet,
    include: GlobSet,
}

impl Filter {
    fn new(exclude: &[String], include: &[String]) -> Result<Filter, Failure> {
        let set = |globs: &[String]| {
            let mut b = GlobSetBuilder::new();
            for g in globs {
                b.add(Glob::new(g).map_err(|e| Failure::usage(format!("bad glob {g:?}: {e}")))?);
            }
            b.build().map_err(|e| Failure::usage(e.to_string()))
        };
        Ok(Filter { exclude: set(exclude)?, include: set(include)? })
    }

    fn admits(&self, rel: &str) -> bool {
        !self.exclude.is_match(rel) || self.include.is_match(rel)
    }
}

/// Runs `spaces sync`.
pub(super) async fn run(runtime: &Runtime, conn: &Connection, a: &SyncArgs) -> Outcome<()> {
    let (src, dst) = (Side::parse(&a.src)?, Side::parse(&a.dst)?);
    if a.purge && dst.bucket().is_none() {
        return Err(Failure::usage("--purge purges the destination bucket's CDN: DST must be spaces://BUCKET/PREFIX"));
    }
    let cfg = conn.storage_config_for(transfer_bucket(&src, &dst)?);
    let filter = Filter::new(&a.exclude, &a.include)?;
    let workers = conn.concurrency.unwrap_or(DEFAULT_JOBS);
    let mut src_list = open_listing(runtime, &src, &cfg).await?;
    let mut dst_list = open_listing(runtime, &dst, &cfg).await?;
    let started = Instant::now();
    let meter = Meter::new(Some(0), "sync");
    let ctx = Arc::new(a.context(&src, &dst, &cfg, &meter)?);
    let (mut sizer, compare) = (work::Sizer::open(runtime, &cfg, &ctx.crypt).await?, a.compare(&ctx.crypt));
    let pool = work::Pool::start(runtime, &cfg, workers, &meter, Arc::clone(&ctx)).await?;
    let interrupts = pool.interrupts();
    let merge = async {
        let mut deletes = Vec::new();
        loop {
            let (mut s, d) = (src_list.peek().await.cloned(), dst_list.peek().await.cloned());
            if src_list.broken || dst_list.broken {
                // Whatever the failed listing did not say, the plan would guess wrong: stop planning.
                break;
            }
            sizer.size(s.as_mut()).await?;
            let Some((advance, action)) = plan::step(s.as_ref(), d.as_ref(), compare, a.delete) else { break };
            match advance {
                Advance::Src => drop(src_list.advance()),
                Advance::Dst => drop(dst_list.advance()),
                Advance::Both => drop((src_list.advance(), dst_list.advance())),
            }
            if !filter.admits(rel_of(&action, s.as_ref().or(d.as_ref()))) {
                continue;
            }
            match action {
                Action::Same if advance == Advance::Both => ctx.count(|t| t.unchanged += 1),
                Action::Same => {}
                Action::Delete { dst } => {
                    ctx.say_planned("delete", &dst.rel, None);
                    deletes.push(dst.rel);
                }
                Action::Transfer { src: item, reason } => {
                    let job = Job::transfer(&ctx.src, &ctx.dst, item);
                    ctx.say_planned(job.verb(), job.rel(), Some(&reason.to_string()));
                    if !a.dry_run {
                        meter.grow(job.size());
                        pool.send(&ctx, job).await;
                    } else {
                        ctx.count(|t| t.count(&job, 0));
                    }
                }
                Action::Check { src: item, dst: other } => {
                    let job = Job::check(&ctx.src, &ctx.dst, item, other);
                    meter.grow(job.size());
                    pool.send(&ctx, job).await;
                }
            }
        }
        pool.finish().await?;
        Ok::<_, Failure>(deletes)
    };
    let outcome = interruptible(&interrupts, merge).await;
    meter.finish();
    let deletes = outcome?;
    if interrupts.iter().any(|i| i.triggered()) {
        return Err(Failure::Interrupted);
    }
    let incomplete = report_listings(&src_list, &dst_list, &ctx);
    if !deletes.is_empty() {
        if incomplete {
            eprintln!("spaces: not deleting {} paths: a listing was incomplete", deletes.len());
        } else if !a.dry_run {
            work::delete(runtime, &cfg, &dst, deletes, &ctx).await?;
        } else {
            ctx.count(|t| t.deleted += deletes.len() as u64);
        }
    }
    let synced = summary(&ctx, a.dry_run, started);
    purge(runtime, conn, &cfg, &ctx).await?;
    synced
}

/// `--purge`: what this sync wrote or deleted in the destination bucket, purged from the bucket's CDN endpoint.
async fn purge(runtime: &Runtime, conn: &Connection, cfg: &Config, ctx: &work::Context) -> Outcome<()> {
    let changed = ctx.changed();
    if changed.is_empty() {
        return Ok(());
    }
    let done = format!("synced {} changed keys", changed.len());
    super::cdn::purge_changed(runtime, conn, cfg, &changed, &done).await
}

/// Reports what the listings could not list, each as a failure; true if either may have left paths out.
fn report_listings(src: &listing::Listing, dst: &listing::Listing, ctx: &work::Context) -> bool {
    if src.broken || dst.broken {
        eprintln!("spaces: a listing failed, so the sync stopped there; what was already planned is done");
    }
    for (name, failure) in src.problems.iter().chain(&dst.problems) {
        eprintln!("spaces: {name}: {failure}");
        ctx.count(|t| t.failed += 1);
    }
    src.incomplete || dst.incomplete
}

/// The bucket the transfers run in (the destination's, or the source's for a download); refuses two local sides,
/// a missing source directory, and two overlapping prefixes of one bucket.
fn transfer_bucket(src: &Side, dst: &Side) -> Outcome<String> {
    Ok(match (src, dst) {
        (Side::Local(_), Side::Local(_)) => {
            return Err(Failure::usage("one side must be remote: write it spaces://BUCKET/PREFIX"))
        }
        (Side::Local(dir), _) | (_, Side::Local(dir)) if dir.exists() && !dir.is_dir() => {
            return Err(Failure::usage(format!("{} is not a directory", dir.display())));
        }
        (Side::Local(dir), _) if !dir.is_dir() => {
            return Err(Failure::usage(format!("{} does not exist", dir.display())));
        }
        (Side::Remote { bucket: sb, prefix: sp }, Side::Remote { bucket: db, prefix: dp }) => {
            if sb == db && (dp.starts_with(sp.as_str()) || sp.starts_with(dp.as_str())) {
                return Err(Failure::usage(format!("{src} and {dst} overlap; sync one into the other is unsafe")));
            }
            db.clone()
        }
        (_, Side::Remote { bucket, .. }) | (Side::Remote { bucket, .. }, _) => bucket.clone(),
    })
}

/// The relative path an action is about (`head`: the listings' first head, for `Same`).
fn rel_of<'a>(action: &'a Action, head: Option<&'a plan::Item>) -> &'a str {
    match action {
        Action::Transfer { src, .. } | Action::Check { src, .. } => &src.rel,
        Action::Delete { dst } => &dst.rel,
        Action::Same => head.map_or("", |i| i.rel.as_str()),
    }
}

/// Starts listing one side.
async fn open_listing(runtime: &Runtime, side: &Side, base: &Config) -> Outcome<listing::Listing> {
    Ok(match side {
        Side::Local(dir) => listing::local(dir.clone()),
        Side::Remote { bucket, prefix } => {
            let s = Session::open(runtime, &Config { bucket: bucket.clone(), ..base.clone() }).await?;
            listing::remote(s, prefix.clone(), side.to_string())
        }
    })
}

/// Was the ISO 8601 time `iso` (as S3 lists it) at or before `cutoff`, in Unix seconds? An unreadable time is not.
pub(super) fn started_before(iso: &str, cutoff: i64) -> bool {
    times::iso8601_seconds(iso).is_some_and(|t| t <= cutoff)
}

/// Prints the summary line; fails if any path failed.
fn summary(ctx: &work::Context, dry_run: bool, started: Instant) -> Outcome<()> {
    let t = ctx.tally.lock().unwrap_or_else(|e| e.into_inner());
    let verb = if dry_run { "would sync" } else { "synced" };
    say!(
        "{verb}: {} uploaded, {} downloaded, {} copied, {} deleted, {} unchanged, {} failed ({}{})",
        t.uploaded,
        t.downloaded,
        t.copied,
        t.deleted,
        t.unchanged,
        t.failed,
        HumanBytes(t.bytes),
        if dry_run { String::new() } else { format!(" in {}", rate(t.bytes, started.elapsed())) },
    );
    match t.failed {
        0 => Ok(()),
        n => Err(Failure::host(format!("{n} paths failed to sync"))),
    }
}
