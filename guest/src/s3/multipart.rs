//! Multipart planning: S3's size limits and the part size that keeps an object within 10,000 parts. Pure.

pub(crate) const MIB: u64 = 1 << 20;
/// Smallest part S3 accepts (the last part may be smaller).
pub(crate) const MIN_PART: u64 = 5 * MIB;
pub(crate) const MAX_PART: u64 = 5 * 1024 * MIB;
pub(crate) const MAX_PARTS: u64 = 10_000;
pub(crate) const MAX_OBJECT: u64 = 5 * 1024 * 1024 * MIB;
/// Default size above which uploads go multipart, and default part size.
pub(crate) const DEFAULT_THRESHOLD: u64 = 8 * MIB;
pub(crate) const DEFAULT_PART: u64 = 8 * MIB;

/// The part size for an object of `size` bytes (unknown for streams): at least `configured` and 5 MiB, rounded
/// up to whole MiB, large enough that the object needs at most 10,000 parts.
pub(crate) fn part_size(size: Option<u64>, configured: u64) -> Result<u64, String> {
    if let Some(s) = size {
        if s > MAX_OBJECT {
            return Err(format!("object of {s} bytes exceeds the 5 TiB limit"));
        }
    }
    let needed = size.map_or(0, |s| s.div_ceil(MAX_PARTS));
    let part = configured.max(MIN_PART).max(needed).div_ceil(MIB) * MIB;
    Ok(part.min(MAX_PART))
}

/// The ETag S3 gives a multipart object: hex MD5 of the concatenated part MD5s, a dash, and the part count.
pub(crate) fn multipart_etag(part_md5s: &[[u8; 16]]) -> String {
    let mut all = md5_lanes::Md5::new();
    for d in part_md5s {
        all.update(d);
    }
    format!("{}-{}", crate::base::encode::hex(&all.finalize()), part_md5s.len())
}

/// The user metadata (`x-amz-meta-…`) under which a multipart object records its part size, so that its ETag can
/// be recomputed from a local copy of its bytes.
pub(crate) const PART_SIZE_META: &str = "spaces-part-size";

/// The ETag an upload of some bytes gets, computed as they stream past: the MD5 of them all for one PUT, or the
/// multipart ETag of parts of `part_size` bytes.
#[cfg(not(any(feature = "edge", feature = "blobstore")))]
pub(crate) struct EtagHasher {
    part_size: Option<u64>,
    current: md5_lanes::Md5,
    filled: u64,
    parts: Vec<[u8; 16]>,
}

#[cfg(not(any(feature = "edge", feature = "blobstore")))]
impl EtagHasher {
    pub(crate) fn new(part_size: Option<u64>) -> Self {
        EtagHasher {
            part_size: part_size.filter(|p| *p > 0),
            current: md5_lanes::Md5::new(),
            filled: 0,
            parts: Vec::new(),
        }
    }

    /// Hashes `data[i]` into `hashers[i]` for every `i` (at most [`md5_lanes::LANES`] of each), the streams side
    /// by side in SIMD lanes; each is cut at its own part boundaries.
    pub(crate) fn update_lanes(hashers: &mut [&mut EtagHasher], data: &[&[u8]]) {
        let mut rest: [&[u8]; md5_lanes::LANES] = [&[]; md5_lanes::LANES];
        rest[..data.len()].copy_from_slice(data);
        while rest.iter().any(|r| !r.is_empty()) {
            let mut now: [&[u8]; md5_lanes::LANES] = [&[]; md5_lanes::LANES];
            for ((h, r), n) in hashers.iter().zip(&mut rest).zip(&mut now) {
                let room = h.part_size.map_or(r.len() as u64, |p| p - h.filled);
                (*n, *r) = r.split_at(room.min(r.len() as u64) as usize);
            }
            let n = hashers.len();
            let mut currents: Vec<&mut md5_lanes::Md5> = hashers.iter_mut().map(|h| &mut h.current).collect();
            md5_lanes::update_lanes(&mut currents, &now[..n]);
            for (h, n) in hashers.iter_mut().zip(now) {
                h.filled += n.len() as u64;
                if h.part_size == Some(h.filled) {
                    h.parts.push(std::mem::take(&mut h.current).finalize());
                    h.filled = 0;
                }
            }
        }
    }

    pub(crate) fn finish(mut self) -> String {
        if self.part_size.is_none() {
            return crate::base::encode::hex(&self.current.finalize());
        }
        if self.filled > 0 || self.parts.is_empty() {
            self.parts.push(self.current.finalize());
        }
        multipart_etag(&self.parts)
    }
}

/// Parts of one upload in flight at once by default, and the most allowed; memory grows with parts in flight.
pub(crate) const DEFAULT_CONCURRENCY: u32 = 4;
pub(crate) const MAX_CONCURRENCY: u32 = 64;

pub(crate) fn validate_concurrency(n: u32) -> Result<(), String> {
    if (1..=MAX_CONCURRENCY).contains(&n) {
        Ok(())
    } else {
        Err(format!("concurrency must be 1..={MAX_CONCURRENCY}, got {n}"))
    }
}

/// Validates a configured threshold or part size.
pub(crate) fn validate(name: &str, value: u64) -> Result<(), String> {
    if (MIN_PART..=MAX_PART).contains(&value) {
        Ok(())
    } else {
        Err(format!("{name} must be between 5 MiB and 5 GiB, got {value} bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_size_respects_limits() {
        assert_eq!(part_size(Some(100 * MIB), DEFAULT_PART).unwrap(), 8 * MIB);
        assert_eq!(part_size(None, MIN_PART).unwrap(), 5 * MIB);
        assert_eq!(part_size(Some(1), 1).unwrap(), MIN_PART, "never below 5 MiB");
        assert_eq!(part_size(Some(6 * MIB + 1), 6 * MIB + 1).unwrap(), 7 * MIB, "whole MiB");
        let big = 1024 * 1024 * MIB; // 1 TiB needs parts of at least 105 MiB to stay within 10,000
        let p = part_size(Some(big), DEFAULT_PART).unwrap();
        assert!(big.div_ceil(p) <= MAX_PARTS && p == 105 * MIB, "{p}");
        assert!(MAX_OBJECT.div_ceil(part_size(Some(MAX_OBJECT), DEFAULT_PART).unwrap()) <= MAX_PARTS);
        assert!(part_size(Some(MAX_OBJECT + 1), DEFAULT_PART).is_err());
    }

    #[test]
    fn multipart_etag_is_md5_of_md5s() {
        use md5::{Digest, Md5};
        let parts: Vec<[u8; 16]> = [&b"a"[..], b"b"].iter().map(|p| Md5::digest(p).into()).collect();
        // md5(md5("a") || md5("b")), computed independently with Python's hashlib.
        assert_eq!(multipart_etag(&parts), "96e024ba2074fe77e8e965ba43a704be-2");
    }

    #[cfg(not(any(feature = "edge", feature = "blobstore")))]
    #[test]
    fn etag_hasher_agrees_with_the_upload_rules() {
        use md5::{Digest, Md5};
        let data: Vec<u8> = (0..23u32).map(|i| (i * 7) as u8).collect();
        let whole = |chunks: &[&[u8]], part: Option<u64>| {
            let mut h = EtagHasher::new(part);
            chunks.iter().for_each(|c| EtagHasher::update_lanes(&mut [&mut h], &[c]));
            h.finish()
        };
        assert_eq!(whole(&[&data], None), crate::base::encode::hex(&Md5::digest(&data)));
        let parts: Vec<[u8; 16]> = data.chunks(10).map(|c| Md5::digest(c).into()).collect();
        let expected = multipart_etag(&parts);
        assert!(expected.ends_with("-3"));
        // However the bytes arrive, the parts are cut at the same offsets.
        assert_eq!(whole(&[&data], Some(10)), expected);
        assert_eq!(whole(&[&data[..3], &data[3..17], &data[17..]], Some(10)), expected);
        assert_eq!(whole(&[&data[..20], &data[20..]], Some(10)), expected);
        assert_eq!(whole(&[&data[..20]], Some(10)), multipart_etag(&parts[..2]), "no empty last part");
    }

    #[cfg(not(any(feature = "edge", feature = "blobstore")))]
    #[test]
    fn etag_hashers_in_lanes_agree_with_the_reference() {
        use md5::{Digest, Md5};
        // Four streams of different lengths and part sizes, fed in rounds of unequal pieces, some empty.
        let streams: Vec<(Vec<u8>, Option<u64>)> =
            [(5_000usize, None), (3_333, Some(1_000)), (0, None), (4_097, Some(64))]
                .iter()
                .enumerate()
                .map(|(s, &(len, part))| ((0..len).map(|i| (i * 31 + s * 7) as u8).collect(), part))
                .collect();
        let mut hashers: Vec<EtagHasher> = streams.iter().map(|(_, p)| EtagHasher::new(*p)).collect();
        let mut at = [0usize; 4];
        for round in 0..40 {
            let pieces: Vec<&[u8]> = streams
                .iter()
                .enumerate()
                .map(|(i, (d, _))| {
                    let end = (at[i] + (round * 37 + i * 101) % 400).min(d.len());
                    let piece = &d[at[i]..end];
                    at[i] = end;
                    piece
                })
                .collect();
            let mut refs: Vec<&mut EtagHasher> = hashers.iter_mut().collect();
            EtagHasher::update_lanes(&mut refs, &pieces);
        }
        for (i, ((data, part), h)) in streams.iter().zip(hashers).enumerate() {
            assert_eq!(at[i], data.len(), "stream {i} fed whole");
            let expected = match part {
                None => crate::base::encode::hex(&Md5::digest(data)),
                Some(p) => multipart_etag(&data.chunks(*p as usize).map(|c| Md5::digest(c).into()).collect::<Vec<_>>()),
            };
            assert_eq!(h.finish(), expected, "stream {i}");
        }
    }

    #[test]
    fn validation() {
        assert!(validate("part-size", 5 * MIB).is_ok());
        assert!(validate("part-size", 5 * MIB - 1).is_err());
        assert!(validate("part-size", MAX_PART + 1).is_err());
    }
}
