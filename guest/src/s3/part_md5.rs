//! The MD5s of a multipart upload's parts, computed while the parts are on the wire: up to four parts at once in
//! SIMD lanes (`md5_lanes`), a slice at a time between polls of the network. Sending a part does not wait for its
//! MD5; the server's ETag for the part is checked against it once both are known, before the upload completes.
//! Parts start one by one as others finish, so hashing each as it starts would leave the lanes nearly empty: the
//! upload waits until as many parts are pending as lanes can take, unless one is needed now.

use crate::base::http::Payload;
use md5_lanes::{Md5, LANES};

/// Bytes of each part hashed per step: about a quarter of a millisecond for four lanes, so the parts on the wire
/// are polled often.
const STEP: usize = 128 << 10;

/// A part's MD5: being computed, or known.
pub(crate) enum PartMd5 {
    /// The bytes before `at` are hashed.
    Hashing {
        md5: Md5,
        at: usize,
    },
    Known([u8; 16]),
}

impl PartMd5 {
    pub(crate) fn new() -> Self {
        PartMd5::Hashing { md5: Md5::new(), at: 0 }
    }

    /// The MD5 of the part's `len` bytes, once they are all hashed.
    pub(crate) fn digest(&mut self, len: usize) -> Option<[u8; 16]> {
        match self {
            PartMd5::Known(d) => Some(*d),
            PartMd5::Hashing { md5, at } if *at == len => {
                let d = std::mem::take(md5).finalize();
                *self = PartMd5::Known(d);
                Some(d)
            }
            PartMd5::Hashing { .. } => None,
        }
    }
}

/// The MD5 of a whole payload, in one lane.
pub(crate) fn of(payload: &Payload) -> [u8; 16] {
    let mut md5 = Md5::new();
    for c in payload.chunks() {
        md5.update(c);
    }
    md5.finalize()
}

/// Hashes the next slice of the first [`LANES`] parts whose MD5 is still being computed, all slices as long as the
/// shortest so the lanes stay full — if at least `wanted` parts are pending; returns whether it hashed anything.
pub(crate) fn step<'s, 'p>(parts: impl Iterator<Item = (&'s mut PartMd5, &'p Payload)>, wanted: usize) -> bool {
    let mut pending: Vec<(&'s mut Md5, &'s mut usize, &'p [u8])> = Vec::with_capacity(LANES);
    for (state, body) in parts {
        if let PartMd5::Hashing { md5, at } = state {
            let piece = body.piece(*at, STEP);
            if !piece.is_empty() {
                pending.push((md5, at, piece));
                if pending.len() == LANES {
                    break;
                }
            }
        }
    }
    if pending.is_empty() || pending.len() < wanted {
        return false;
    }
    let n = pending.iter().map(|(_, _, piece)| piece.len()).min().unwrap_or_default();
    let mut streams = Vec::with_capacity(pending.len());
    let mut pieces = Vec::with_capacity(pending.len());
    for (md5, at, piece) in pending {
        *at += n;
        streams.push(md5);
        pieces.push(&piece[..n]);
    }
    md5_lanes::update_lanes(&mut streams, &pieces);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Digest;

    fn payload(data: &[u8], cuts: &[usize]) -> Payload {
        let mut p = Payload::default();
        let mut last = 0;
        for &c in cuts.iter().chain([&data.len()]) {
            p.push(data[last..c].to_vec());
            last = c;
        }
        p
    }

    /// Parts of different lengths, read in chunks that end anywhere, hashed step by step as the upload does —
    /// more parts than lanes, and one already known — each end with the MD5 of its bytes.
    #[test]
    fn steps_hash_every_part_whole() {
        let data: Vec<u8> = (0..700_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let shapes: [(usize, &[usize]); 6] = [
            (700_000, &[1, 65, 200_000, 200_001]),
            (300_000, &[]),
            (131_072, &[131_000]),
            (0, &[]),
            (64, &[3]),
            (500_123, &[262_144, 393_216]),
        ];
        let bodies: Vec<(Payload, [u8; 16])> =
            shapes.iter().map(|(n, cuts)| (payload(&data[..*n], cuts), md5::Md5::digest(&data[..*n]).into())).collect();
        let mut states: Vec<PartMd5> = (0..bodies.len()).map(|_| PartMd5::new()).collect();
        states[4] = PartMd5::Known(bodies[4].1);
        let bodies_of = || bodies.iter().map(|(p, _)| p);
        assert!(!step(states.iter_mut().zip(bodies_of()), 6), "five parts are pending, not six");
        let mut steps = 0;
        while step(states.iter_mut().zip(bodies_of()), 1) {
            steps += 1;
            assert!(steps < 1000, "steps must finish");
        }
        for (state, (body, expected)) in states.iter_mut().zip(&bodies) {
            assert_eq!(state.digest(body.len()), Some(*expected));
            assert_eq!(state.digest(body.len()), Some(*expected), "a known digest stays known");
        }
        let mut unfinished = PartMd5::new();
        assert_eq!(unfinished.digest(1), None, "no digest before every byte is hashed");
    }
}
