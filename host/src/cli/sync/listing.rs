//! The two listings a sync merges, each produced by its own task into a small channel so that listing, planning
//! and transferring overlap: a local directory walked in S3's key order (names compared as UTF-8 bytes, a
//! directory as its name plus `/`, so `a.txt` comes before `a/b`), or the objects under a prefix, page by page.

use super::plan::Item;
use crate::error::Failure;
use crate::runtime::bindings::storage::ListRequest;
use crate::runtime::session::Session;
use std::path::{Path, PathBuf};
use times::iso8601_seconds;
use tokio::sync::mpsc;

/// What a listing yields: an item, or a path it could not list (reported, and the sync goes on without it).
pub(super) type Listed = Result<Item, (String, Failure)>;

/// A listing being read, with the head the merge looks at.
pub(super) struct Listing {
    rx: mpsc::Receiver<Listed>,
    head: Option<Item>,
    /// Paths that could not be listed, in the order met.
    pub problems: Vec<(String, Failure)>,
    /// A problem may have hidden items: deleting "what the source lacks" is then unsafe.
    pub incomplete: bool,
    /// The listing itself failed (a bucket's listing ends at its first error): nothing after it is known.
    pub broken: bool,
    /// Does a problem end the listing (a bucket's), or only skip a path (a local walk's)?
    ends_at_problem: bool,
}

impl Listing {
    fn new(rx: mpsc::Receiver<Listed>, ends_at_problem: bool) -> Listing {
        Listing { rx, head: None, problems: Vec::new(), incomplete: false, broken: false, ends_at_problem }
    }

    /// The next item, without consuming it.
    pub(super) async fn peek(&mut self) -> Option<&Item> {
        while self.head.is_none() {
            match self.rx.recv().await? {
                Ok(item) => self.head = Some(item),
                Err(problem) => {
                    self.incomplete = true;
                    self.broken |= self.ends_at_problem;
                    self.problems.push(problem);
                }
            }
        }
        self.head.as_ref()
    }

    /// Consumes the head.
    pub(super) fn advance(&mut self) -> Option<Item> {
        self.head.take()
    }
}

/// Items listed ahead of the merge.
const AHEAD: usize = 2048;

/// The regular files under `root` (links to files followed, links to directories not, so a loop cannot trap us);
/// none if `root` does not exist yet (a destination the sync creates).
pub(super) fn local(root: PathBuf) -> Listing {
    let (tx, rx) = mpsc::channel(AHEAD);
    tokio::task::spawn_blocking(move || root.exists() && walk(&root, "", &tx));
    Listing::new(rx, false)
}

/// Walks `dir` (relative path `rel`) depth first in key order; false once the merge stopped listening.
fn walk(dir: &Path, rel: &str, tx: &mpsc::Sender<Listed>) -> bool {
    let read = std::fs::read_dir(dir).and_then(|rd| rd.collect::<Result<Vec<_>, _>>());
    let entries = match read {
        Ok(e) => e,
        Err(e) => return tx.blocking_send(Err((dir.display().to_string(), Failure::usage(e.to_string())))).is_ok(),
    };
    let mut named = Vec::with_capacity(entries.len());
    for entry in entries {
        let path = entry.path();
        let Ok(name) = entry.file_name().into_string() else {
            let why = Failure::usage("file names must be UTF-8 to become keys".to_string());
            if tx.blocking_send(Err((path.display().to_string(), why))).is_err() {
                return false;
            }
            continue;
        };
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let order = if is_dir { format!("{name}/") } else { name.clone() };
        named.push((order, name, is_dir, path));
    }
    named.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (_, name, is_dir, path) in named {
        let rel = format!("{rel}{name}");
        if is_dir {
            if !walk(&path, &format!("{rel}/"), tx) {
                return false;
            }
            continue;
        }
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        if !meta.is_file() {
            continue;
        }
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs() as i64);
        if tx.blocking_send(Ok(Item { rel, size: meta.len(), modified, etag: None })).is_err() {
            return false;
        }
    }
    true
}

/// The objects under `prefix` (which is "" or ends in `/`), keyed relative to it; folder markers (empty keys
/// ending in `/`) are not files and are left out.
pub(super) fn remote(mut s: Session, prefix: String, label: String) -> Listing {
    let (tx, rx) = mpsc::channel(AHEAD);
    tokio::spawn(async move {
        let mut req = ListRequest { prefix: Some(prefix.clone()), delimiter: None, continuation: None, max_keys: None };
        loop {
            let page = match s.list(&req).await {
                Ok(p) => p,
                Err(e) => {
                    let _ = tx.send(Err((label, e))).await;
                    return;
                }
            };
            for o in page.objects {
                if o.key.ends_with('/') && o.size == 0 {
                    continue;
                }
                let Some(rel) = o.key.strip_prefix(prefix.as_str()) else { continue };
                let modified = iso8601_seconds(&o.last_modified).unwrap_or(0);
                let item = Item { rel: rel.to_string(), size: o.size, modified, etag: Some(o.etag) };
                if tx.send(Ok(item)).await.is_err() {
                    return;
                }
            }
            match page.next_continuation {
                Some(c) => req.continuation = Some(c),
                None => return,
            }
        }
    });
    Listing::new(rx, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_walk_is_in_key_order() {
        let dir = std::env::temp_dir().join(format!("spaces-sync-walk-{}", std::process::id()));
        for d in ["a", "a/c", "b"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        for f in ["a.txt", "a/b", "a/c/d", "a0", "b/é", "b/z"] {
            std::fs::write(dir.join(f), f).unwrap();
        }
        let mut listing = local(dir.clone());
        let mut rels = Vec::new();
        while listing.peek().await.is_some() {
            let item = listing.advance().unwrap();
            assert_eq!(item.size, item.rel.len() as u64);
            rels.push(item.rel);
        }
        assert_eq!(rels, ["a.txt", "a/b", "a/c/d", "a0", "b/z", "b/é"]);
        let mut sorted = rels.clone();
        sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        assert_eq!(rels, sorted, "the order S3 lists keys in");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
