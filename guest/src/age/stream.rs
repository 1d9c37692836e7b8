//! age's payload: a 16-byte nonce, then the plaintext in 64 KiB chunks, each sealed with ChaCha20-Poly1305 under
//! a key derived from the file key and the nonce; a chunk's nonce is its 11-byte big-endian index and a byte that
//! is 1 only on the last chunk, so chunks can be neither reordered nor cut off. Sealing and opening take bytes in
//! whatever pieces they arrive and keep at most one chunk back; chunk arithmetic lets a reader fetch only the
//! chunks that cover a range.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};

/// Plaintext bytes in every chunk but the last.
pub(crate) const CHUNK: u64 = 64 * 1024;
/// The Poly1305 tag after each chunk.
const TAG: u64 = 16;
/// A full chunk on the wire.
pub(crate) const SEALED_CHUNK: u64 = CHUNK + TAG;
/// The payload's leading nonce.
pub(crate) const NONCE_LEN: usize = 16;

/// Bytes of a payload (nonce included) that holds `plain` bytes.
pub(crate) fn sealed_len(plain: u64) -> u64 {
    let chunks = plain.div_ceil(CHUNK).max(1);
    NONCE_LEN as u64 + plain + chunks * TAG
}

/// Plaintext bytes of a payload of `sealed` bytes (nonce included), and the index of its last chunk; `None` when
/// no payload has that length.
pub(crate) fn plain_len(sealed: u64) -> Option<(u64, u64)> {
    let chunked = sealed.checked_sub(NONCE_LEN as u64)?;
    let chunks = chunked.div_ceil(SEALED_CHUNK).max(1);
    let plain = chunked.checked_sub(chunks * TAG)?;
    // Only a payload with no plaintext at all ends in an empty chunk.
    (chunks == 1 || plain > (chunks - 1) * CHUNK).then_some((plain, chunks - 1))
}

fn chunk_nonce(index: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n.into()
}

/// Seals plaintext as it comes.
pub(crate) struct Sealer {
    aead: ChaCha20Poly1305,
    index: u64,
    /// Plaintext not sealed yet: a full chunk is sealed only once more follows, since the last one is marked.
    pending: Vec<u8>,
}

impl Sealer {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        Sealer { aead: ChaCha20Poly1305::new(key.into()), index: 0, pending: Vec::new() }
    }

    /// Takes `data`; appends to `out` every chunk it can seal already.
    pub(crate) fn push(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        while !data.is_empty() {
            let room = CHUNK as usize - self.pending.len();
            if room == 0 {
                self.seal(false, out);
                continue;
            }
            let n = room.min(data.len());
            self.pending.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
    }

    /// Seals the last chunk (empty only if nothing came at all).
    pub(crate) fn finish(mut self, out: &mut Vec<u8>) {
        self.seal(true, out);
    }

    fn seal(&mut self, last: bool, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.pending);
        let tag = self
            .aead
            .encrypt_in_place_detached(&chunk_nonce(self.index, last), b"", &mut out[start..])
            .expect("a chunk is far below ChaCha20's limit");
        out.extend_from_slice(&tag);
        self.pending.clear();
        self.index += 1;
    }
}

/// Opens sealed chunks as they come, chunks `first` through `through`.
pub(crate) struct Opener {
    aead: ChaCha20Poly1305,
    index: u64,
    through: u64,
    /// Index of the payload's last chunk, which is marked so.
    last: u64,
    pending: Vec<u8>,
}

impl Opener {
    pub(crate) fn new(key: &[u8; 32], first: u64, through: u64, last: u64) -> Self {
        Opener { aead: ChaCha20Poly1305::new(key.into()), index: first, through, last, pending: Vec::new() }
    }

    /// Takes sealed bytes; appends to `out` the plaintext of every chunk complete so far.
    pub(crate) fn push(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        while !data.is_empty() {
            let room = SEALED_CHUNK as usize - self.pending.len();
            let n = room.min(data.len());
            self.pending.extend_from_slice(&data[..n]);
            data = &data[n..];
            // The last chunk may be full too: it is opened by `finish`, when no more can follow.
            if self.pending.len() == SEALED_CHUNK as usize && self.index < self.last {
                self.open(false, out)?;
            }
        }
        Ok(())
    }

    /// The sealed bytes have ended: opens what is left, which must be the payload's last chunk, or nothing when
    /// the chunks asked for end before it.
    pub(crate) fn finish(mut self, out: &mut Vec<u8>) -> Result<(), String> {
        if self.index != self.last {
            return match self.pending.is_empty() && self.index == self.through + 1 {
                true => Ok(()),
                false => Err("the encrypted payload ends early (truncated?)".into()),
            };
        }
        if self.pending.len() == TAG as usize && self.index > 0 {
            return Err("the encrypted payload ends with an empty chunk, which age never writes".into());
        }
        self.open(true, out)
    }

    fn open(&mut self, last: bool, out: &mut Vec<u8>) -> Result<(), String> {
        let Some(body_len) = self.pending.len().checked_sub(TAG as usize) else {
            return Err("the encrypted payload ends inside a chunk's tag (truncated?)".into());
        };
        let tag = Tag::clone_from_slice(&self.pending[body_len..]);
        let start = out.len();
        out.extend_from_slice(&self.pending[..body_len]);
        let opened = self.aead.decrypt_in_place_detached(&chunk_nonce(self.index, last), b"", &mut out[start..], &tag);
        if opened.is_err() {
            out.truncate(start);
            return Err(format!(
                "chunk {} of the encrypted payload fails authentication (altered or corrupt)",
                self.index
            ));
        }
        self.pending.clear();
        self.index += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(key: &[u8; 32], plain: &[u8], piece: usize) -> Vec<u8> {
        let mut s = Sealer::new(key);
        let mut out = Vec::new();
        for p in plain.chunks(piece.max(1)) {
            s.push(p, &mut out);
        }
        s.finish(&mut out);
        out
    }

    fn open(key: &[u8; 32], sealed: &[u8], first: u64, last: u64, piece: usize) -> Result<Vec<u8>, String> {
        let through = first + (sealed.len() as u64).div_ceil(SEALED_CHUNK) - 1;
        let mut o = Opener::new(key, first, through.min(last), last);
        let mut out = Vec::new();
        for p in sealed.chunks(piece.max(1)) {
            o.push(p, &mut out)?;
        }
        o.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn every_length_round_trips_in_any_pieces_and_the_arithmetic_agrees() {
        let key = [3u8; 32];
        let c = CHUNK as usize;
        for n in [0, 1, c - 1, c, c + 1, 2 * c, 2 * c + 17, 3 * c - 1] {
            let plain: Vec<u8> = (0..n).map(|i| (i * 7 + 1) as u8).collect();
            for piece in [1000, 4096, c, c + 5] {
                let sealed = seal(&key, &plain, piece);
                assert_eq!(sealed_len(n as u64), sealed.len() as u64 + NONCE_LEN as u64, "length {n}");
                let (plain_n, last) = plain_len(sealed.len() as u64 + NONCE_LEN as u64).unwrap();
                assert_eq!(plain_n, n as u64);
                assert_eq!(open(&key, &sealed, 0, last, piece).unwrap(), plain, "length {n}, pieces of {piece}");
            }
        }
    }

    #[test]
    fn chunks_can_be_opened_from_the_middle() {
        let key = [4u8; 32];
        let c = CHUNK as usize;
        let plain: Vec<u8> = (0..3 * c + 10).map(|i| (i % 251) as u8).collect();
        let sealed = seal(&key, &plain, c);
        let s = SEALED_CHUNK as usize;
        // Chunk 1 alone (not the last), then chunks 2..=3 (the last).
        assert_eq!(open(&key, &sealed[s..2 * s], 1, 3, 999).unwrap(), &plain[c..2 * c]);
        assert_eq!(open(&key, &sealed[2 * s..], 2, 3, 999).unwrap(), &plain[2 * c..]);
    }

    #[test]
    fn altered_reordered_or_cut_payloads_are_refused() {
        let key = [5u8; 32];
        let c = CHUNK as usize;
        let plain = vec![9u8; 2 * c + 3];
        let sealed = seal(&key, &plain, c);
        let last = plain_len(sealed.len() as u64 + 16).unwrap().1;
        let mut flipped = sealed.clone();
        flipped[c + 40] ^= 1;
        assert!(open(&key, &flipped, 0, last, c).unwrap_err().contains("chunk 1"));
        // Cut after a full chunk: the chunk is not marked last.
        let s = SEALED_CHUNK as usize;
        assert!(open(&key, &sealed[..2 * s], 0, 1, c).is_err());
        let mut cut = Opener::new(&key, 0, last, last);
        cut.push(&sealed[..2 * s], &mut Vec::new()).unwrap();
        assert!(cut.finish(&mut Vec::new()).unwrap_err().contains("truncated"));
        assert!(open(&[6u8; 32], &sealed, 0, last, c).is_err());
        // Two chunks swapped.
        let mut swapped = sealed[s..2 * s].to_vec();
        swapped.extend_from_slice(&sealed[..s]);
        swapped.extend_from_slice(&sealed[2 * s..]);
        assert!(open(&key, &swapped, 0, last, c).is_err());
        assert_eq!(plain_len(16 + 16 + SEALED_CHUNK), None, "an empty chunk after a full one");
        assert_eq!(plain_len(15), None);
    }
}
