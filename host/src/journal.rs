//! The uploads journal: a small file per multipart upload in flight, written when the component says one started
//! and removed when it says it ended, so that an upload a crash, `kill -9` or a lost network cut short can be
//! found again — resumed by the next `put` of the same file to the same key, or aborted (`spaces uploads abort`)
//! if the file changed. S3 cannot say which file an incomplete upload was made from, so the journal keeps the
//! file's fingerprint (path, size, modification time, and what it is encrypted to) beside the upload's id and part
//! size — and, for an encrypted upload, the sealing that makes its ciphertext again, a secret that lives only as
//! long as the upload, in a file only its owner can read, and is never shown in Debug output.
//!
//! It lives in `$SPACES_STATE_DIR`, else `$XDG_STATE_HOME/spaces`, else `~/.local/state/spaces`, under
//! `uploads/`: one JSON file per endpoint, bucket and key, named by their hash, readable by its owner only.

use crate::runtime::bindings::storage::Encryption;
use crate::runtime::{UploadEvent, UploadWatch};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Which file an upload was made from: if any of it differs, the upload is of another file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Fingerprint {
    path: PathBuf,
    size: u64,
    modified_ns: i128,
    /// A hash of the recipients the upload is encrypted to, `passphrase`, or nothing for a plain upload.
    #[serde(default)]
    encryption: Option<String>,
}

impl Fingerprint {
    /// The fingerprint of the regular file at `path` with metadata `meta`.
    pub(crate) fn of(path: &Path, meta: &std::fs::Metadata) -> Fingerprint {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let modified_ns = meta.modified().ok().map_or(0, |t| match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        });
        Fingerprint { path, size: meta.len(), modified_ns, encryption: None }
    }

    /// The fingerprint of the same file uploaded encrypted as `encrypt` says: an upload to other recipients, or a
    /// plain one, is another upload.
    pub(crate) fn encrypted(mut self, encrypt: Option<&Encryption>) -> Fingerprint {
        self.encryption = encrypt.map(|e| match e {
            Encryption::Recipients(to) => {
                let mut h = Sha256::new();
                for r in to {
                    h.update(r.as_bytes());
                    h.update([0]);
                }
                h.finalize().iter().map(|b| format!("{b:02x}")).collect()
            }
            Encryption::Passphrase(_) => "passphrase".into(),
        });
        self
    }
}

/// What resumes an encrypted upload (WIT `upload-started`'s `sealing`): it opens the object, so it is never
/// shown.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Sealing(pub Vec<u8>);

impl std::fmt::Debug for Sealing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealing(…)")
    }
}

/// One recorded upload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// The endpoint (or region) and bucket, as [`Site`] names them.
    pub site: String,
    pub key: String,
    pub upload_id: String,
    pub part_size: u64,
    /// The file it is made from; `None` for a stream (stdin), which cannot be resumed, only cleaned up.
    pub source: Option<Fingerprint>,
    /// For an upload encrypted to recipients, what makes the same ciphertext again.
    #[serde(default)]
    pub sealing: Option<Sealing>,
}

/// Where uploads go: an endpoint and a bucket.
#[derive(Debug, Clone)]
pub(crate) struct Site(String);

impl Site {
    pub(crate) fn new(endpoint: &str, bucket: &str) -> Site {
        Site(format!("{endpoint} {bucket}"))
    }
}

/// The journal's directory.
#[derive(Debug, Clone)]
pub(crate) struct Journal {
    dir: PathBuf,
}

impl Journal {
    /// The journal in the state directory; `None` when there is no home to keep it in.
    pub(crate) fn open() -> Option<Journal> {
        let base = if let Some(d) = std::env::var_os("SPACES_STATE_DIR") {
            PathBuf::from(d)
        } else if let Some(d) = std::env::var_os("XDG_STATE_HOME") {
            Path::new(&d).join("spaces")
        } else {
            Path::new(&std::env::var_os("HOME")?).join(".local/state/spaces")
        };
        Some(Journal { dir: base.join("uploads") })
    }

    fn file(&self, site: &Site, key: &str) -> PathBuf {
        let mut h = Sha256::new();
        h.update(site.0.as_bytes());
        h.update([0]);
        h.update(key.as_bytes());
        let name: String = h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.json"))
    }

    /// The upload recorded for `key` at `site`, if any.
    pub(crate) fn find(&self, site: &Site, key: &str) -> Option<Entry> {
        let text = std::fs::read(self.file(site, key)).ok()?;
        serde_json::from_slice::<Entry>(&text).ok().filter(|e| e.site == site.0 && e.key == key)
    }

    /// Records `entry`, replacing what was recorded for its key (written whole, then renamed into place).
    pub(crate) fn record(&self, entry: &Entry) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.dir)?;
        let path = self.file(&Site(entry.site.clone()), &entry.key);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        f.write_all(&serde_json::to_vec(entry)?)?;
        std::fs::rename(&tmp, &path)
    }

    /// Forgets the upload `upload_id` of `key` (and nothing recorded since under another id).
    pub(crate) fn forget(&self, site: &Site, key: &str, upload_id: &str) {
        if self.find(site, key).is_some_and(|e| e.upload_id == upload_id) {
            let _ = std::fs::remove_file(self.file(site, key));
        }
    }

    /// Records the uploads a transfer of `source` to `key` at `site` starts, and forgets them as they end.
    pub(crate) fn watch(self: &Arc<Self>, site: &Site, key: &str, source: Option<Fingerprint>) -> UploadWatch {
        let (journal, site, key) = (Arc::clone(self), site.clone(), key.to_string());
        Arc::new(move |event| match event {
            UploadEvent::Started { upload_id, part_size, sealing } => {
                let entry = Entry {
                    site: site.0.clone(),
                    key: key.clone(),
                    upload_id: upload_id.to_string(),
                    part_size,
                    source: source.clone(),
                    sealing: sealing.map(|s| Sealing(s.to_vec())),
                };
                if let Err(e) = journal.record(&entry) {
                    let dir = journal.dir.display();
                    tracing::warn!(error = %e, %dir, "could not record the upload to resume it");
                }
            }
            UploadEvent::Ended { upload_id } => journal.forget(&site, &key, upload_id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_finds_and_forgets_by_site_key_and_id() {
        let dir = std::env::temp_dir().join(format!("spaces-journal-{}", std::process::id()));
        let journal = Arc::new(Journal { dir: dir.clone() });
        let site = Site::new("http://127.0.0.1:7480", "b");
        let watch = journal.watch(&site, "k", None);
        watch(UploadEvent::Started { upload_id: "u1", part_size: 8 << 20, sealing: Some(b"secret") });
        let e = journal.find(&site, "k").expect("recorded");
        assert_eq!((e.upload_id.as_str(), e.part_size), ("u1", 8 << 20));
        assert_eq!(e.sealing.as_ref().map(|s| s.0.as_slice()), Some(&b"secret"[..]));
        assert!(!format!("{e:?}").contains("115, 101, 99"), "the sealing is never shown: {e:?}");
        assert!(journal.find(&site, "other").is_none());
        assert!(journal.find(&Site::new("http://127.0.0.1:7480", "c"), "k").is_none(), "another bucket");
        watch(UploadEvent::Ended { upload_id: "u0" });
        assert!(journal.find(&site, "k").is_some(), "an older upload's end does not forget the newer one");
        watch(UploadEvent::Ended { upload_id: "u1" });
        assert!(journal.find(&site, "k").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_changed_file_has_another_fingerprint() {
        let path = std::env::temp_dir().join(format!("spaces-fingerprint-{}", std::process::id()));
        std::fs::write(&path, "one").unwrap();
        let first = Fingerprint::of(&path, &std::fs::metadata(&path).unwrap());
        assert_eq!(first, Fingerprint::of(&path, &std::fs::metadata(&path).unwrap()));
        let to = |r: &str| Encryption::Recipients(vec![r.into()]);
        let sealed = first.clone().encrypted(Some(&to("age1a")));
        assert_ne!(first, sealed, "a plain upload is not resumed encrypted");
        assert_eq!(sealed, first.clone().encrypted(Some(&to("age1a"))));
        assert_ne!(sealed, first.clone().encrypted(Some(&to("age1b"))), "nor one to other recipients");
        std::fs::write(&path, "two!").unwrap();
        assert_ne!(first, Fingerprint::of(&path, &std::fs::metadata(&path).unwrap()));
        std::fs::remove_file(&path).unwrap();
    }
}
