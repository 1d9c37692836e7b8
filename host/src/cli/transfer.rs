//! One object to or from a file: the rules single commands and batches share. An upload reads the file through
//! the component, which aborts its own multipart upload on failure; a download goes to a hidden partial file
//! beside the destination and is renamed into place only when complete, so a failed or interrupted download
//! never leaves a partial file under the final name (a device or a FIFO is written as it is). An upload of a file
//! goes on with the multipart upload an earlier run of it left (the journal knows), unless the file changed since.

use super::encryption::DecryptArgs;
use crate::error::{Failure, Outcome};
use crate::journal::{Fingerprint, Journal, Site};
use crate::runtime::bindings::storage::{GetOptions, PutOptions, PutResult, ResumeFrom};
use crate::runtime::bindings::types::{Config, ObjectMeta};
use crate::runtime::interrupt::Interrupt;
use crate::runtime::session::Session;
use crate::runtime::streams::Body;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How uploads treat the incomplete upload an earlier run left for the same key, and themselves if they fail.
#[derive(Clone)]
pub(super) struct Resuming {
    journal: Option<Arc<Journal>>,
    site: Site,
    /// Start afresh even when the earlier upload is of the same file (it is aborted).
    fresh: bool,
    /// Leave a failed (or interrupted) multipart upload in place, to be resumed.
    keep_partial: bool,
}

impl Resuming {
    pub(super) fn new(cfg: &Config, fresh: bool, keep_partial: bool) -> Resuming {
        let endpoint = cfg.endpoint.as_deref().unwrap_or(&cfg.region);
        Resuming { journal: Journal::open().map(Arc::new), site: Site::new(endpoint, &cfg.bucket), fresh, keep_partial }
    }

    /// The upload `upload_id` of `key` was aborted: nothing is left to resume.
    pub(super) fn forget(&self, key: &str, upload_id: &str) {
        if let Some(j) = &self.journal {
            j.forget(&self.site, key, upload_id);
        }
    }

    /// Records the uploads of a stream (stdin) to `key` until `s` is told otherwise: one that cannot be aborted
    /// is then cleaned up by the next upload to the key, or by `spaces uploads abort`.
    pub(super) fn watch_stream(&self, s: &mut Session, key: &str) {
        s.watch_uploads(self.journal.as_ref().map(|j| j.watch(&self.site, key, None)));
    }
}

/// Files up to this size are read whole once opened: one read from the page cache instead of a hop through
/// tokio's blocking pool per read, which is what costs most when thousands of small files are sent or hashed.
const READ_WHOLE: u64 = 256 << 10;

/// A file opened for reading, as the body of an upload or a hash.
pub(super) struct Opened {
    pub body: Body,
    pub meta: std::fs::Metadata,
}

/// Opens `path` and reads it whole when it is small, in one trip to the blocking pool (where a FIFO's open waits
/// for its writer, not on the runtime).
async fn open(path: &Path) -> Outcome<Opened> {
    open_many(vec![path.to_path_buf()]).await.pop().unwrap_or_else(|| Err(Failure::host("opening a file")))
}

/// Opens every file of `paths` as [`open`] does, all in one trip to the blocking pool: for many small files,
/// the trips cost more than the reads.
pub(super) async fn open_many(paths: Vec<PathBuf>) -> Vec<Outcome<Opened>> {
    let count = paths.len();
    let opened = tokio::task::spawn_blocking(move || {
        paths
            .into_iter()
            .map(|path| open_now(&path).map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display()))))
            .collect()
    });
    match opened.await {
        Ok(opened) => opened,
        Err(e) => (0..count).map(|_| Err(Failure::host(format!("opening files in the blocking pool: {e}")))).collect(),
    }
}

/// Opens `path` on this thread, reading it whole when it is small.
fn open_now(path: &Path) -> std::io::Result<Opened> {
    let mut f = std::fs::File::open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Ok(Opened { body: Body::reader(tokio::fs::File::from_std(f)), meta });
    }
    if meta.len() > READ_WHOLE {
        return Ok(Opened { body: Body::File(f), meta });
    }
    let mut whole = Vec::with_capacity(meta.len() as usize + 1);
    std::io::Read::read_to_end(&mut f, &mut whole)?;
    Ok(Opened { body: Body::Whole(whole.into()), meta })
}

/// Uploads the file at `path` as `key`, resuming the upload an earlier run of the same file left.
pub(super) async fn upload_file(
    s: &mut Session,
    path: &Path,
    key: &str,
    opts: &PutOptions,
    how: &Resuming,
) -> Outcome<PutResult> {
    let Opened { body, meta } = open(path).await?;
    // A FIFO, a character device or a socket has no size of its own: like stdin, it is a stream of unknown length.
    let size = meta.is_file().then_some(meta.len());
    let source = size.map(|_| Fingerprint::of(path, &meta).encrypted(opts.encrypt.as_ref()));
    let mut opts = opts.clone();
    opts.keep_partial = how.keep_partial;
    if let Some(journal) = &how.journal {
        // From here on the journal hears of every upload of this key that starts or ends, the stale one included.
        s.watch_uploads(Some(journal.watch(&how.site, key, source.clone())));
        if let Some(earlier) = journal.find(&how.site, key) {
            if !how.fresh && source.is_some() && earlier.source == source {
                tracing::info!(%key, upload_id = %earlier.upload_id, "resuming the upload an earlier run left");
                let sealing = earlier.sealing.map(|s| s.0);
                opts.resume = Some(ResumeFrom { upload_id: earlier.upload_id, part_size: earlier.part_size, sealing });
            } else if let Err(e) = s.abort_upload(key, &earlier.upload_id).await {
                // Another file, or asked to start afresh: the parts an earlier run stored are of no use.
                eprintln!("spaces: could not abort the earlier upload {} of {key}: {e}", earlier.upload_id);
            }
        }
    }
    let result = s.put(key, body, size, &opts).await;
    s.watch_uploads(None);
    result
}

/// Downloads `key` (or a range of it) to `dest`, creating its directory — refused, before the file is made, for an
/// encrypted object that is not being decrypted unless `how` asks for its ciphertext; `sized` learns the length once
/// the answer arrives. `interrupt` stops it and removes the partial file. Returns the object's metadata and the
/// bytes written.
pub(super) async fn download_file(
    s: &mut Session,
    key: &str,
    opts: &GetOptions,
    how: &DecryptArgs,
    dest: &Path,
    interrupt: &Interrupt,
    sized: &(dyn Fn(u64) + Send + Sync),
) -> Outcome<(ObjectMeta, u64)> {
    let interrupted = interrupt.next();
    if interrupt.triggered() {
        return Err(Failure::Interrupted);
    }
    // A partial file renamed over the destination when complete, or, for what is not a file, the destination.
    let renamed = match replaceable(dest) {
        Some(file) => Some((partial_beside(&file).await?, file)),
        None => None,
    };
    let (meta, download) = s.get(key, opts).await?;
    how.check(&meta, opts.decrypt.is_some())?;
    sized(meta.size);
    let Some((partial, dest)) = renamed else {
        // Nothing is left to remove when this fails.
        let written = tokio::select! {
            r = async { s.write_to_file(download, open_in_place(dest).await?).await } => r,
            () = interrupted => Err(Failure::Interrupted),
        }?;
        return Ok((meta, written));
    };
    let out = std::fs::File::create(&partial)
        .map_err(|e| Failure::usage(format!("cannot write {}: {e}", partial.display())))?;
    let outcome = tokio::select! {
        r = s.write_to_file(download, out) => r,
        () = interrupted => Err(Failure::Interrupted),
    };
    let written = match outcome {
        Ok(n) => n,
        Err(e) => {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(e);
        }
    };
    if let Err(e) = tokio::fs::rename(&partial, &dest).await {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(Failure::caused(format!("moving the download to {}", dest.display()), e));
    }
    Ok((meta, written))
}

/// The file a download into `dest` replaces when complete — through a symbolic link, the file it points to, so
/// the link stays — or `None` when `dest` is something that exists but is not a file, a directory or a dangling
/// link: a device such as /dev/null, a FIFO, a socket. Renaming over those would put a regular file in their place,
/// so they are written as they are.
fn replaceable(dest: &Path) -> Option<PathBuf> {
    match std::fs::metadata(dest) {
        Ok(m) if !m.is_file() && !m.is_dir() => None,
        _ if dest.is_symlink() => Some(std::fs::canonicalize(dest).unwrap_or_else(|_| dest.into())),
        _ => Some(dest.into()),
    }
}

/// A hidden partial file's path beside `file`, whose directory is made if it is missing.
async fn partial_beside(file: &Path) -> Outcome<PathBuf> {
    let dir = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "download".into());
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| Failure::usage(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir.join(format!(".{name}.spaces-partial-{}", std::process::id())))
}

/// `dest`, which is not a regular file ([`replaceable`]), opened to be written as it is. A FIFO's open waits for
/// its reader, so it happens off this thread, where an interrupt can leave it.
async fn open_in_place(dest: &Path) -> Outcome<std::fs::File> {
    let out = tokio::fs::OpenOptions::new()
        .write(true)
        .open(dest)
        .await
        .map_err(|e| Failure::usage(format!("cannot write {}: {e}", dest.display())))?;
    Ok(out.into_std().await)
}

/// Where a key under `prefix` goes below `dir`: its path after the prefix, refused if any segment could step
/// outside `dir` (`..`, `.`, empty, or a backslash) — keys come from the bucket and are not trusted.
pub(super) fn local_path(dir: &Path, prefix: &str, key: &str) -> Result<std::path::PathBuf, Failure> {
    let relative = key.strip_prefix(prefix).unwrap_or(key);
    let unsafe_segment = |seg: &str| seg.is_empty() || seg == "." || seg == ".." || seg.contains('\\');
    if relative.split('/').any(unsafe_segment) || relative.contains('\0') {
        return Err(Failure::usage(format!(
            "key {key:?} cannot be a local file name safely (empty, '.', '..' or '\\' in its path)"
        )));
    }
    Ok(relative.split('/').fold(dir.to_path_buf(), |p, seg| p.join(seg)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_below_the_directory_and_never_outside_it() {
        let dir = Path::new("/d");
        assert_eq!(local_path(dir, "p/", "p/a/b.txt").unwrap(), Path::new("/d/a/b.txt"));
        assert_eq!(local_path(dir, "", "x").unwrap(), Path::new("/d/x"));
        for bad in ["p/../etc/passwd", "p/a//b", "p/./a", "p/a\\..\\b", "p/", "p/dir/"] {
            assert!(local_path(dir, "p/", bad).is_err(), "{bad}");
        }
    }
}
