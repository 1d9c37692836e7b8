//! The MD5 block function (RFC 1321), written once over a [`Word`] that is either one `u32` (one stream) or four
//! lanes of them (four streams at once, [`crate::lanes`]).

/// The state before the first block.
pub(crate) const INIT: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

/// The 64 additive constants, ⌊|sin(i + 1)| · 2³²⌋.
pub(crate) const K: [u32; 64] = [
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
    /// `self & o`
    fn and(self, o: Self) -> Self;
    /// `self & !o`
    fn and_not(self, o: Self) -> Self;
}

#[inline(always)]
fn ff<W: Word>(b: W, c: W, d: W) -> W {
    W::select(b, c, d)
}

#[inline(always)]
fn hh<W: Word>(b: W, c: W, d: W) -> W {
    b.xor(c).xor(d)
}

#[inline(always)]
fn ii<W: Word>(b: W, c: W, d: W) -> W {
    c.xor(b.or_not(d))
}

/// One step. A step waits for the one before it only through `b` (and `f`, which is computed from `b`), so
/// everything else is summed first: the constant, the message word and `a` are added while `b` is being computed.
#[inline(always)]
fn step<W: Word>(a: W, b: W, f: W, m: W, k: W, s: u32) -> W {
    b.add(m.add(k).add(a).add(f).rotl(s))
}

/// A step of the second round. G's two terms have no bit in common, so they can be added one at a time, and the
/// one without the newest word `b` is added before `b` is known.
#[inline(always)]
fn step_g<W: Word>(a: W, b: W, c: W, d: W, m: W, k: W, s: u32) -> W {
    b.add(m.add(k).add(a).add(c.and_not(d)).add(b.and(d)).rotl(s))
}

/// Hashes one 64-byte block, given as its sixteen little-endian words, into `state`; `k` is [`K`] as words.
#[inline(always)]
pub(crate) fn compress<W: Word>(state: &mut [W; 4], m: &[W; 16], k: &[W; 64]) {
    let [mut a, mut b, mut c, mut d] = *state;
    a = step(a, b, ff(b, c, d), m[0], k[0], 7);
    d = step(d, a, ff(a, b, c), m[1], k[1], 12);
    c = step(c, d, ff(d, a, b), m[2], k[2], 17);
    b = step(b, c, ff(c, d, a), m[3], k[3], 22);
    a = step(a, b, ff(b, c, d), m[4], k[4], 7);
    d = step(d, a, ff(a, b, c), m[5], k[5], 12);
    c = step(c, d, ff(d, a, b), m[6], k[6], 17);
    b = step(b, c, ff(c, d, a), m[7], k[7], 22);
    a = step(a, b, ff(b, c, d), m[8], k[8], 7);
    d = step(d, a, ff(a, b, c), m[9], k[9], 12);
    c = step(c, d, ff(d, a, b), m[10], k[10], 17);
    b = step(b, c, ff(c, d, a), m[11], k[11], 22);
    a = step(a, b, ff(b, c, d), m[12], k[12], 7);
    d = step(d, a, ff(a, b, c), m[13], k[13], 12);
    c = step(c, d, ff(d, a, b), m[14], k[14], 17);
    b = step(b, c, ff(c, d, a), m[15], k[15], 22);

    a = step_g(a, b, c, d, m[1], k[16], 5);
    d = step_g(d, a, b, c, m[6], k[17], 9);
    c = step_g(c, d, a, b, m[11], k[18], 14);
    b = step_g(b, c, d, a, m[0], k[19], 20);
    a = step_g(a, b, c, d, m[5], k[20], 5);
    d = step_g(d, a, b, c, m[10], k[21], 9);
    c = step_g(c, d, a, b, m[15], k[22], 14);
    b = step_g(b, c, d, a, m[4], k[23], 20);
    a = step_g(a, b, c, d, m[9], k[24], 5);
    d = step_g(d, a, b, c, m[14], k[25], 9);
    c = step_g(c, d, a, b, m[3], k[26], 14);
    b = step_g(b, c, d, a, m[8], k[27], 20);
    a = step_g(a, b, c, d, m[13], k[28], 5);
    d = step_g(d, a, b, c, m[2], k[29], 9);
    c = step_g(c, d, a, b, m[7], k[30], 14);
    b = step_g(b, c, d, a, m[12], k[31], 20);

    a = step(a, b, hh(b, c, d), m[5], k[32], 4);
    d = step(d, a, hh(a, b, c), m[8], k[33], 11);
    c = step(c, d, hh(d, a, b), m[11], k[34], 16);
    b = step(b, c, hh(c, d, a), m[14], k[35], 23);
    a = step(a, b, hh(b, c, d), m[1], k[36], 4);
    d = step(d, a, hh(a, b, c), m[4], k[37], 11);
    c = step(c, d, hh(d, a, b), m[7], k[38], 16);
    b = step(b, c, hh(c, d, a), m[10], k[39], 23);
    a = step(a, b, hh(b, c, d), m[13], k[40], 4);
    d = step(d, a, hh(a, b, c), m[0], k[41], 11);
    c = step(c, d, hh(d, a, b), m[3], k[42], 16);
    b = step(b, c, hh(c, d, a), m[6], k[43], 23);
    a = step(a, b, hh(b, c, d), m[9], k[44], 4);
    d = step(d, a, hh(a, b, c), m[12], k[45], 11);
    c = step(c, d, hh(d, a, b), m[15], k[46], 16);
    b = step(b, c, hh(c, d, a), m[2], k[47], 23);

    a = step(a, b, ii(b, c, d), m[0], k[48], 6);
    d = step(d, a, ii(a, b, c), m[7], k[49], 10);
    c = step(c, d, ii(d, a, b), m[14], k[50], 15);
    b = step(b, c, ii(c, d, a), m[5], k[51], 21);
    a = step(a, b, ii(b, c, d), m[12], k[52], 6);
    d = step(d, a, ii(a, b, c), m[3], k[53], 10);
    c = step(c, d, ii(d, a, b), m[10], k[54], 15);
    b = step(b, c, ii(c, d, a), m[1], k[55], 21);
    a = step(a, b, ii(b, c, d), m[8], k[56], 6);
    d = step(d, a, ii(a, b, c), m[15], k[57], 10);
    c = step(c, d, ii(d, a, b), m[6], k[58], 15);
    b = step(b, c, ii(c, d, a), m[13], k[59], 21);
    a = step(a, b, ii(b, c, d), m[4], k[60], 6);
    d = step(d, a, ii(a, b, c), m[11], k[61], 10);
    c = step(c, d, ii(d, a, b), m[2], k[62], 15);
    b = step(b, c, ii(c, d, a), m[9], k[63], 21);

    state[0] = state[0].add(a);
    state[1] = state[1].add(b);
    state[2] = state[2].add(c);
    state[3] = state[3].add(d);
}
