//! The sync plan: one step of a merge of two listings in key order (a sorted local walk, or ListObjectsV2, which
//! is sorted), deciding for each relative path what to do from what the listings already say. Memory stays
//! constant in the number of keys because each step looks only at the two heads. Pure.

use std::cmp::Ordering;

/// A file or object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    /// Path relative to the synced root, `/`-separated (the key without the prefix).
    pub rel: String,
    pub size: u64,
    /// Last modification, in seconds since the Unix epoch (S3 lists whole seconds).
    pub modified: i64,
    /// The ETag, for an object; a local file has none until it is hashed.
    pub etag: Option<String>,
}

/// What makes two sides count as the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compare {
    /// Same size, and the source is not newer than the destination.
    SizeAndTime,
    /// Same size.
    SizeOnly,
    /// Same size and same content by ETag (MD5 or multipart ETag).
    Checksum,
    /// The source is not newer: for decrypting downloads, whose stored size is the ciphertext's.
    TimeOnly,
}

/// Why a path is transferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The destination does not have it.
    New,
    /// The sizes differ.
    Size,
    /// The source was modified after the destination.
    Newer,
    /// The ETags differ.
    Content,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Reason::New => "new",
            Reason::Size => "size differs",
            Reason::Newer => "source is newer",
            Reason::Content => "content differs",
        })
    }
}

/// What to do about one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Copy the source item over.
    Transfer { src: Item, reason: Reason },
    /// Sizes agree and content decides, but one side has no ETag yet: hash it, then transfer if they differ.
    Check { src: Item, dst: Item },
    /// Nothing to do.
    Same,
    /// The destination has it and the source does not (only with `--delete`).
    Delete { dst: Item },
}

/// Which heads a step consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Advance {
    Src,
    Dst,
    Both,
}

/// One step of the merge: given the heads of the two listings, what to do and which heads it used. `None` when
/// both listings are done.
pub(crate) fn step(
    src: Option<&Item>,
    dst: Option<&Item>,
    compare: Compare,
    delete: bool,
) -> Option<(Advance, Action)> {
    let order = match (src, dst) {
        (None, None) => return None,
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(s), Some(d)) => s.rel.as_bytes().cmp(d.rel.as_bytes()),
    };
    Some(match (order, src, dst) {
        (Ordering::Less, Some(s), _) => (Advance::Src, Action::Transfer { src: s.clone(), reason: Reason::New }),
        (Ordering::Greater, _, Some(d)) if delete => (Advance::Dst, Action::Delete { dst: d.clone() }),
        (Ordering::Greater, _, Some(_)) => (Advance::Dst, Action::Same),
        (_, Some(s), Some(d)) => (Advance::Both, compare_pair(s, d, compare)),
        _ => unreachable!("an ordering names only heads that exist"),
    })
}

/// Both sides have the path: transfer it, or not, or hash first.
fn compare_pair(s: &Item, d: &Item, compare: Compare) -> Action {
    let transfer = |reason| Action::Transfer { src: s.clone(), reason };
    if s.size != d.size && compare != Compare::TimeOnly {
        return transfer(Reason::Size);
    }
    match compare {
        Compare::SizeOnly => Action::Same,
        Compare::SizeAndTime | Compare::TimeOnly if s.modified > d.modified => transfer(Reason::Newer),
        Compare::SizeAndTime | Compare::TimeOnly => Action::Same,
        Compare::Checksum => match (&s.etag, &d.etag) {
            (Some(a), Some(b)) if a == b => Action::Same,
            (Some(_), Some(_)) => transfer(Reason::Content),
            _ => Action::Check { src: s.clone(), dst: d.clone() },
        },
    }
}

/// The part sizes a multipart object of `size` bytes in `parts` parts was probably uploaded with, most likely
/// first: the common defaults of S3 tools that fit (8 MiB: aws-cli, boto3 and us; 5, 15, 16, 64 MiB: rclone,
/// s3cmd and others), then the smallest whole number of MiB that fits. At most three.
pub(crate) fn likely_part_sizes(size: u64, parts: u64) -> Vec<u64> {
    const MIB: u64 = 1 << 20;
    let fits = |p: u64| parts > 0 && size.div_ceil(p) == parts;
    let mut out: Vec<u64> = [8, 5, 16, 15, 64].iter().map(|m| m * MIB).filter(|p| fits(*p)).collect();
    if parts > 0 {
        let smallest = size.div_ceil(parts).div_ceil(MIB) * MIB;
        if fits(smallest) && !out.contains(&smallest) {
            out.push(smallest);
        }
    }
    out.truncate(3);
    out
}

/// The number of parts a multipart ETag (`HEX-N`) names; `None` for a single-part ETag.
pub(crate) fn etag_parts(etag: &str) -> Option<u64> {
    etag.rsplit_once('-').and_then(|(_, n)| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(rel: &str, size: u64, modified: i64, etag: Option<&str>) -> Item {
        Item { rel: rel.into(), size, modified, etag: etag.map(String::from) }
    }

    /// Runs the whole merge over two sorted listings.
    fn plan(src: &[Item], dst: &[Item], compare: Compare, delete: bool) -> Vec<(String, Action)> {
        let (mut i, mut j, mut out) = (0, 0, Vec::new());
        while let Some((adv, action)) = step(src.get(i), dst.get(j), compare, delete) {
            let rel = if adv == Advance::Dst { dst[j].rel.clone() } else { src[i].rel.clone() };
            match adv {
                Advance::Src => i += 1,
                Advance::Dst => j += 1,
                Advance::Both => (i, j) = (i + 1, j + 1),
            }
            out.push((rel, action));
        }
        out
    }

    #[test]
    fn merge_transfers_what_is_new_changed_or_newer_and_deletes_only_when_asked() {
        let src = [item("a", 1, 10, None), item("b", 2, 10, None), item("c", 3, 20, None), item("e", 5, 10, None)];
        let dst = [item("b", 2, 15, None), item("c", 3, 15, None), item("d", 4, 15, None), item("e", 6, 15, None)];
        let got = plan(&src, &dst, Compare::SizeAndTime, true);
        let kinds: Vec<_> = got
            .iter()
            .map(|(rel, a)| match a {
                Action::Transfer { reason, .. } => format!("{rel}:{reason}"),
                Action::Same => format!("{rel}:same"),
                Action::Delete { .. } => format!("{rel}:delete"),
                Action::Check { .. } => format!("{rel}:check"),
            })
            .collect();
        assert_eq!(kinds, ["a:new", "b:same", "c:source is newer", "d:delete", "e:size differs"]);
        let kept = plan(&src, &dst, Compare::SizeAndTime, false);
        assert_eq!(kept[3], ("d".into(), Action::Same), "without --delete the extra object stays");
        let sizes = plan(&src, &dst, Compare::SizeOnly, false);
        assert_eq!(sizes[2], ("c".into(), Action::Same), "--size-only ignores times");
        let times = plan(&src, &dst, Compare::TimeOnly, false);
        assert_eq!(times[4], ("e".into(), Action::Same), "sizes are not compared by time alone");
        assert!(matches!(times[2].1, Action::Transfer { reason: Reason::Newer, .. }));
    }

    #[test]
    fn checksum_compares_etags_or_asks_for_a_hash() {
        let s = [item("x", 3, 9, Some("aa")), item("y", 3, 9, Some("bb")), item("z", 3, 9, None)];
        let d = [item("x", 3, 1, Some("aa")), item("y", 3, 1, Some("cc")), item("z", 3, 1, Some("dd"))];
        let got = plan(&s, &d, Compare::Checksum, false);
        assert_eq!(got[0].1, Action::Same, "same ETag, whatever the times");
        assert_eq!(got[1].1, Action::Transfer { src: s[1].clone(), reason: Reason::Content });
        assert_eq!(got[2].1, Action::Check { src: s[2].clone(), dst: d[2].clone() });
    }

    #[test]
    fn keys_compare_as_bytes_as_s3_sorts_them() {
        // '.' (0x2E) sorts before '/' (0x2F), and any non-ASCII byte after every ASCII one.
        let src = [item("a.txt", 1, 0, None), item("a/b", 1, 0, None), item("é", 1, 0, None)];
        let got = plan(&src, &[item("a/b", 1, 0, None), item("z", 1, 0, None)], Compare::SizeOnly, true);
        let rels: Vec<_> = got.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(rels, ["a.txt", "a/b", "z", "é"]);
    }

    #[test]
    fn part_sizes_are_guessed_from_size_and_count() {
        const MIB: u64 = 1 << 20;
        assert_eq!(likely_part_sizes(20 * MIB, 3), [8 * MIB, 7 * MIB]);
        assert_eq!(likely_part_sizes(20 * MIB, 4), [5 * MIB]);
        assert_eq!(likely_part_sizes(30 * MIB, 4), [8 * MIB]);
        assert_eq!(likely_part_sizes(100 * MIB, 2), [64 * MIB, 50 * MIB]);
        assert!(likely_part_sizes(10, 0).is_empty());
        assert_eq!(etag_parts("0123abcd-12"), Some(12));
        assert_eq!(etag_parts("0123abcd"), None);
    }
}
