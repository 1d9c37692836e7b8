//! Four streams' blocks through the block function at once. A lane vector holds one 32-bit word of each stream:
//! wasm SIMD128's `v128` when the build enables it, else a `[u32; 4]` that runs the same steps one lane at a time.

use crate::block::{compress, Word, K};
use crate::LANES;

/// Hashes the first `blocks` 64-byte blocks of each `inputs[i]` into `states[i]`.
pub(crate) fn compress_blocks(states: &mut [[u32; 4]; LANES], inputs: [&[u8]; LANES], blocks: usize) {
    assert!(inputs.iter().all(|i| i.len() >= blocks * 64), "every lane holds the blocks asked for");
    let mut st: [V; 4] = std::array::from_fn(|w| V::gather(std::array::from_fn(|l| states[l][w])));
    // LLVM moves a constant to the end of a sum, which would put K's add back between one step and the next;
    // behind `black_box` the constants are values to it, summed first as `block::step` asks (wasmtime: the lanes
    // hash ~2.3 GB/s against ~1.9). Only speed depends on this.
    let k: [V; 64] = std::hint::black_box(std::array::from_fn(|i| V::splat(K[i])));
    for b in 0..blocks {
        let m = load_block(&inputs, b * 64);
        compress(&mut st, &m, &k);
    }
    for (w, v) in st.iter().enumerate() {
        for (l, x) in v.scatter().into_iter().enumerate() {
            states[l][w] = x;
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use simd::{load_block, V};

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use portable::{load_block, V};

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use crate::block::Word;
    use crate::LANES;
    use core::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub(crate) struct V(v128);

    impl V {
        pub(crate) fn gather(x: [u32; LANES]) -> Self {
            V(u32x4(x[0], x[1], x[2], x[3]))
        }

        pub(crate) fn scatter(self) -> [u32; LANES] {
            [
                u32x4_extract_lane::<0>(self.0),
                u32x4_extract_lane::<1>(self.0),
                u32x4_extract_lane::<2>(self.0),
                u32x4_extract_lane::<3>(self.0),
            ]
        }
    }

    impl Word for V {
        #[inline(always)]
        fn splat(x: u32) -> Self {
            V(u32x4_splat(x))
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            V(i32x4_add(self.0, o.0))
        }
        #[inline(always)]
        fn xor(self, o: Self) -> Self {
            V(v128_xor(self.0, o.0))
        }
        #[inline(always)]
        fn or_not(self, o: Self) -> Self {
            V(v128_or(self.0, v128_not(o.0)))
        }
        #[inline(always)]
        fn select(mask: Self, a: Self, b: Self) -> Self {
            V(v128_bitselect(a.0, b.0, mask.0))
        }
        #[inline(always)]
        fn rotl(self, s: u32) -> Self {
            V(v128_or(i32x4_shl(self.0, s), u32x4_shr(self.0, 32 - s)))
        }
        #[inline(always)]
        fn and(self, o: Self) -> Self {
            V(v128_and(self.0, o.0))
        }
        #[inline(always)]
        fn and_not(self, o: Self) -> Self {
            V(v128_andnot(self.0, o.0))
        }
    }

    /// The sixteen words of each lane's block at `at`, word-major: `m[w]` holds word `w` of every lane. Four
    /// 16-byte loads per lane, then a 4×4 transpose of each quarter.
    #[inline(always)]
    pub(crate) fn load_block(inputs: &[&[u8]; LANES], at: usize) -> [V; 16] {
        let mut m = [V(u32x4_splat(0)); 16];
        for q in 0..4 {
            // SAFETY: compress_blocks checked that every input holds `at + 64` bytes; v128_load needs no alignment.
            let r: [v128; LANES] =
                std::array::from_fn(|l| unsafe { v128_load(inputs[l][at + 16 * q..].as_ptr().cast()) });
            let t0 = i32x4_shuffle::<0, 4, 1, 5>(r[0], r[1]);
            let t1 = i32x4_shuffle::<2, 6, 3, 7>(r[0], r[1]);
            let t2 = i32x4_shuffle::<0, 4, 1, 5>(r[2], r[3]);
            let t3 = i32x4_shuffle::<2, 6, 3, 7>(r[2], r[3]);
            m[4 * q] = V(i32x4_shuffle::<0, 1, 4, 5>(t0, t2));
            m[4 * q + 1] = V(i32x4_shuffle::<2, 3, 6, 7>(t0, t2));
            m[4 * q + 2] = V(i32x4_shuffle::<0, 1, 4, 5>(t1, t3));
            m[4 * q + 3] = V(i32x4_shuffle::<2, 3, 6, 7>(t1, t3));
        }
        m
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod portable {
    use crate::block::Word;
    use crate::LANES;

    #[derive(Clone, Copy)]
    pub(crate) struct V([u32; LANES]);

    impl V {
        pub(crate) fn gather(x: [u32; LANES]) -> Self {
            V(x)
        }

        pub(crate) fn scatter(self) -> [u32; LANES] {
            self.0
        }

        #[inline(always)]
        fn zip(self, o: Self, f: impl Fn(u32, u32) -> u32) -> Self {
            V(std::array::from_fn(|l| f(self.0[l], o.0[l])))
        }
    }

    impl Word for V {
        #[inline(always)]
        fn splat(x: u32) -> Self {
            V([x; LANES])
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            self.zip(o, u32::wrapping_add)
        }
        #[inline(always)]
        fn xor(self, o: Self) -> Self {
            self.zip(o, |a, b| a ^ b)
        }
        #[inline(always)]
        fn or_not(self, o: Self) -> Self {
            self.zip(o, |a, b| a | !b)
        }
        #[inline(always)]
        fn select(mask: Self, a: Self, b: Self) -> Self {
            V(std::array::from_fn(|l| u32::select(mask.0[l], a.0[l], b.0[l])))
        }
        #[inline(always)]
        fn rotl(self, s: u32) -> Self {
            V(self.0.map(|x| x.rotate_left(s)))
        }
        #[inline(always)]
        fn and(self, o: Self) -> Self {
            self.zip(o, |a, b| a & b)
        }
        #[inline(always)]
        fn and_not(self, o: Self) -> Self {
            self.zip(o, |a, b| a & !b)
        }
    }

    /// The sixteen words of each lane's block at `at`, word-major: `m[w]` holds word `w` of every lane.
    #[inline(always)]
    pub(crate) fn load_block(inputs: &[&[u8]; LANES], at: usize) -> [V; 16] {
        let words: [[u32; 16]; LANES] = std::array::from_fn(|l| crate::words(&inputs[l][at..at + 64]));
        std::array::from_fn(|w| V(std::array::from_fn(|l| words[l][w])))
    }
}
