//! The MD5 block function (RFC 1321), written once over a [`Word`] that is either one `u32` (one stream) or four
//! lanes of them (four streams at once, [`crate::lanes`]).

/// The state before the first block.
pub(crate) const INIT: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

/// The 64 additive constants, ⌊|sin(i + 1)| · 2³²⌋.
const K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501, 0x698098d8,
    0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
    0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87,
    0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
    0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039,
    0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
    0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
    0xeb86d391,
];

/// What the block function does to its 32-bit words; lanes do it to each lane.
pub(crate) trait Word: Copy {
    fn splat(x: u32) -> Self;
    fn add(self, o: Self) -> Self;
    fn xor(self, o: Self) -> Self;
    /// `self | !o`
    fn or_not(self, o: Self) -> Self;
    /// Bits of `a` where `mask` is set, of `b` elsewhere.
    fn select(mask: Self, a: Self, b: Self) -> Self;
    fn rotl(self, s: u32) -> Self;
}

#[inline(always)]
fn ff<W: Word>(b: W, c: W, d: W) -> W {
    W::select(b, c, d)
}

#[inline(always)]
fn gg<W: Word>(b: W, c: W, d: W) -> W {
    W::select(d, b, c)
}

#[inline(always)]
fn hh<W: Word>(b: W, c: W, d: W) -> W {
    b.xor(c).xor(d)
}

#[inline(always)]
fn ii<W: Word>(b: W, c: W, d: W) -> W {
    c.xor(b.or_not(d))
}

#[inline(always)]
fn step<W: Word>(a: W, b: W, f: W, m: W, k: u32, s: u32) -> W {
    b.add(a.add(f).add(m.add(W::splat(k))).rotl(s))
}

/// Hashes one 64-byte block, given as its sixteen little-endian words, into `state`.
#[inline(always)]
pub(crate) fn compress<W: Word>(state: &mut [W; 4], m: &[W; 16]) {
    let [mut a, mut b, mut c, mut d] = *state;
    a = step(a, b, ff(b, c, d), m[0], K[0], 7);
    d = step(d, a, ff(a, b, c), m[1], K[1], 12);
    c = step(c, d, ff(d, a, b), m[2], K[2], 17);
    b = step(b, c, ff(c, d, a), m[3], K[3], 22);
    a = step(a, b, ff(b, c, d), m[4], K[4], 7);
    d = step(d, a, ff(a, b, c), m[5], K[5], 12);
    c = step(c, d, ff(d, a, b), m[6], K[6], 17);
    b = step(b, c, ff(c, d, a), m[7], K[7], 22);
    a = step(a, b, ff(b, c, d), m[8], K[8], 7);
    d = step(d, a, ff(a, b, c), m[9], K[9], 12);
    c = step(c, d, ff(d, a, b), m[10], K[10], 17);
    b = step(b, c, ff(c, d, a), m[11], K[11], 22);
    a = step(a, b, ff(b, c, d), m[12], K[12], 7);
    d = step(d, a, ff(a, b, c), m[13], K[13], 12);
    c = step(c, d, ff(d, a, b), m[14], K[14], 17);
    b = step(b, c, ff(c, d, a), m[15], K[15], 22);

    a = step(a, b, gg(b, c, d), m[1], K[16], 5);
    d = step(d, a, gg(a, b, c), m[6], K[17], 9);
    c = step(c, d, gg(d, a, b), m[11], K[18], 14);
    b = step(b, c, gg(c, d, a), m[0], K[19], 20);
    a = step(a, b, gg(b, c, d), m[5], K[20], 5);
    d = step(d, a, gg(a, b, c), m[10], K[21], 9);
    c = step(c, d, gg(d, a, b), m[15], K[22], 14);
    b = step(b, c, gg(c, d, a), m[4], K[23], 20);
    a = step(a, b, gg(b, c, d), m[9], K[24], 5);
    d = step(d, a, gg(a, b, c), m[14], K[25], 9);
    c = step(c, d, gg(d, a, b), m[3], K[26], 14);
    b = step(b, c, gg(c, d, a), m[8], K[27], 20);
    a = step(a, b, gg(b, c, d), m[13], K[28], 5);
    d = step(d, a, gg(a, b, c), m[2], K[29], 9);
    c = step(c, d, gg(d, a, b), m[7], K[30], 14);
    b = step(b, c, gg(c, d, a), m[12], K[31], 20);

    a = step(a, b, hh(b, c, d), m[5], K[32], 4);
    d = step(d, a, hh(a, b, c), m[8], K[33], 11);
    c = step(c, d, hh(d, a, b), m[11], K[34], 16);
    b = step(b, c, hh(c, d, a), m[14], K[35], 23);
    a = step(a, b, hh(b, c, d), m[1], K[36], 4);
    d = step(d, a, hh(a, b, c), m[4], K[37], 11);
    c = step(c, d, hh(d, a, b), m[7], K[38], 16);
    b = step(b, c, hh(c, d, a), m[10], K[39], 23);
    a = step(a, b, hh(b, c, d), m[13], K[40], 4);
    d = step(d, a, hh(a, b, c), m[0], K[41], 11);
    c = step(c, d, hh(d, a, b), m[3], K[42], 16);
    b = step(b, c, hh(c, d, a), m[6], K[43], 23);
    a = step(a, b, hh(b, c, d), m[9], K[44], 4);
    d = step(d, a, hh(a, b, c), m[12], K[45], 11);
    c = step(c, d, hh(d, a, b), m[15], K[46], 16);
    b = step(b, c, hh(c, d, a), m[2], K[47], 23);

    a = step(a, b, ii(b, c, d), m[0], K[48], 6);
    d = step(d, a, ii(a, b, c), m[7], K[49], 10);
    c = step(c, d, ii(d, a, b), m[14], K[50], 15);
    b = step(b, c, ii(c, d, a), m[5], K[51], 21);
    a = step(a, b, ii(b, c, d), m[12], K[52], 6);
    d = step(d, a, ii(a, b, c), m[3], K[53], 10);
    c = step(c, d, ii(d, a, b), m[10], K[54], 15);
    b = step(b, c, ii(c, d, a), m[1], K[55], 21);
    a = step(a, b, ii(b, c, d), m[8], K[56], 6);
    d = step(d, a, ii(a, b, c), m[15], K[57], 10);
    c = step(c, d, ii(d, a, b), m[6], K[58], 15);
    b = step(b, c, ii(c, d, a), m[13], K[59], 21);
    a = step(a, b, ii(b, c, d), m[4], K[60], 6);
    d = step(d, a, ii(a, b, c), m[11], K[61], 10);
    c = step(c, d, ii(d, a, b), m[2], K[62], 15);
    b = step(b, c, ii(c, d, a), m[9], K[63], 21);

    state[0] = state[0].add(a);
    state[1] = state[1].add(b);
    state[2] = state[2].add(c);
    state[3] = state[3].add(d);
}
