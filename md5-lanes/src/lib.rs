//! MD5 of up to four independent byte streams at once. MD5 is sequential within a stream, so one stream cannot use
//! more than one 32-bit ALU; but the parts of a multipart upload are independent streams, and wasm SIMD128's four
//! 32-bit lanes can run four of them in lockstep for about the price of one (the multi-buffer technique). Built for
//! `wasm32` with `+simd128` the lanes are `v128`; anywhere else they are `[u32; 4]`, the same code, which the tests
//! check against the `md-5` crate natively and, built for wasm32-wasip2, in wasmtime. Pure: no I/O, no allocation.

mod block;
mod lanes;

use block::{compress, Word, K};

/// Stream count of [`update_lanes`].
pub const LANES: usize = 4;

/// One MD5 stream: the state after its whole blocks, and the bytes of a block begun.
#[derive(Clone)]
pub struct Md5 {
    state: [u32; 4],
    /// Bytes hashed so far, the begun block's included.
    len: u64,
    tail: [u8; 64],
    tail_len: usize,
}

impl Default for Md5 {
    fn default() -> Self {
        Md5::new()
    }
}

impl Md5 {
    /// A stream with nothing hashed yet.
    pub fn new() -> Self {
        Md5 { state: block::INIT, len: 0, tail: [0; 64], tail_len: 0 }
    }

    /// Hashes `data` on its own (one lane).
    pub fn update(&mut self, data: &[u8]) {
        let rest = self.top_up(data);
        let mut blocks = rest.chunks_exact(64);
        for b in &mut blocks {
            compress(&mut self.state, &words(b), &K);
        }
        self.keep(blocks.remainder());
    }

    /// The digest of everything hashed.
    pub fn finalize(mut self) -> [u8; 16] {
        let bits = self.len.wrapping_mul(8);
        let mut pad = [0u8; 64];
        pad[0] = 0x80;
        let zeros = (119 - (self.len % 64) as usize) % 64;
        self.update(&pad[..1 + zeros]);
        self.update(&bits.to_le_bytes());
        debug_assert_eq!(self.tail_len, 0);
        let mut out = [0u8; 16];
        for (o, w) in out.chunks_exact_mut(4).zip(self.state) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Completes the begun block from the front of `data` if it can; returns what follows, whole blocks first.
    /// When anything follows, the begun block was completed and hashed.
    fn top_up<'d>(&mut self, data: &'d [u8]) -> &'d [u8] {
        self.len += data.len() as u64;
        if self.tail_len == 0 {
            return data;
        }
        let take = (64 - self.tail_len).min(data.len());
        self.tail[self.tail_len..self.tail_len + take].copy_from_slice(&data[..take]);
        self.tail_len += take;
        if self.tail_len == 64 {
            compress(&mut self.state, &words(&self.tail), &K);
            self.tail_len = 0;
        }
        &data[take..]
    }

    /// Keeps what follows the whole blocks as the begun block — unless a block is still begun, in which case
    /// [`Md5::top_up`] took everything and `rest` is empty.
    fn keep(&mut self, rest: &[u8]) {
        if self.tail_len == 0 {
            self.tail[..rest.len()].copy_from_slice(rest);
            self.tail_len = rest.len();
        }
    }
}

/// The MD5 of `data`.
pub fn digest(data: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(data);
    h.finalize()
}

/// Hashes `data[i]` into `streams[i]` for every `i` (at most [`LANES`] of each, the same number), the whole blocks
/// they have in common in SIMD lanes. Pieces of equal length make the most of the lanes; what one piece has beyond
/// the shortest is hashed on its own.
pub fn update_lanes(streams: &mut [&mut Md5], data: &[&[u8]]) {
    assert!(streams.len() == data.len() && data.len() <= LANES, "one piece per stream, at most {LANES}");
    let mut rest: [&[u8]; LANES] = [&[]; LANES];
    for (i, (s, d)) in streams.iter_mut().zip(data).enumerate() {
        rest[i] = s.top_up(d);
    }
    let n = streams.len();
    let common = rest[..n].iter().map(|r| r.len() / 64).min().unwrap_or(0);
    if n > 1 && common > 0 {
        let mut states = [block::INIT; LANES];
        for (st, s) in states.iter_mut().zip(streams.iter()) {
            *st = s.state;
        }
        // Lanes without a stream repeat the first stream's bytes and their result is dropped.
        let inputs: [&[u8]; LANES] = std::array::from_fn(|i| if i < n { rest[i] } else { rest[0] });
        lanes::compress_blocks(&mut states, inputs, common);
        for (s, st) in streams.iter_mut().zip(states) {
            s.state = st;
        }
    }
    let done = if n > 1 { common * 64 } else { 0 };
    for (s, r) in streams.iter_mut().zip(rest) {
        let r = &r[done..];
        let mut blocks = r.chunks_exact(64);
        for b in &mut blocks {
            compress(&mut s.state, &words(b), &K);
        }
        s.keep(blocks.remainder());
    }
}

/// A block's sixteen little-endian words.
fn words(block: &[u8]) -> [u32; 16] {
    std::array::from_fn(|i| u32::from_le_bytes(block[4 * i..4 * i + 4].try_into().unwrap()))
}

impl Word for u32 {
    fn splat(x: u32) -> Self {
        x
    }
    fn add(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    fn xor(self, o: Self) -> Self {
        self ^ o
    }
    fn or_not(self, o: Self) -> Self {
        self | !o
    }
    fn select(mask: Self, a: Self, b: Self) -> Self {
        (mask & a) | (!mask & b)
    }
    fn rotl(self, s: u32) -> Self {
        self.rotate_left(s)
    }
    fn and(self, o: Self) -> Self {
        self & o
    }
    fn and_not(self, o: Self) -> Self {
        self & !o
    }
}

#[cfg(test)]
mod tests;
