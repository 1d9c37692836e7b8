//! Against the `md-5` crate: every length around the block and padding boundaries, arbitrary piece boundaries,
//! and one to four streams of unequal lengths through the lanes. Run natively (the portable lanes) and for
//! wasm32-wasip2 with SIMD128 in wasmtime (`tests/run.sh`), where the `v128` lanes are the ones tested.

use super::*;
use md5::Digest;
use proptest::prelude::*;

fn reference(data: &[u8]) -> [u8; 16] {
    md5::Md5::digest(data).into()
}

fn hex(d: [u8; 16]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn rfc_1321_vectors() {
    let vectors = [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("a", "0cc175b9c0f1b6a831c399e269772661"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
        (
            "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
            "57edf4a22be3c955ac49da2e2107b67a",
        ),
    ];
    for (input, digest) in vectors {
        let mut h = Md5::new();
        h.update(input.as_bytes());
        assert_eq!(hex(h.finalize()), digest, "{input:?}");
    }
}

#[test]
fn every_length_through_three_blocks() {
    let data: Vec<u8> = (0..200u32).map(|i| (i.wrapping_mul(131) >> 3) as u8).collect();
    for n in 0..=data.len() {
        let mut one = Md5::new();
        one.update(&data[..n]);
        assert_eq!(one.finalize(), reference(&data[..n]), "length {n}");
        // The same length in four lanes, each stream a different slice.
        let slices: Vec<&[u8]> = (0..LANES).map(|l| &data[l..l + n.min(data.len() - l)]).collect();
        let mut streams: Vec<Md5> = vec![Md5::new(); LANES];
        let mut refs: Vec<&mut Md5> = streams.iter_mut().collect();
        update_lanes(&mut refs, &slices);
        for (s, d) in streams.into_iter().zip(&slices) {
            assert_eq!(s.finalize(), reference(d), "length {} in lanes", d.len());
        }
    }
}

#[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]
compile_error!("build the tests for wasm32 with -C target-feature=+simd128, so that they test the v128 lanes");

/// Splits `data` at the given fractions, in order.
fn pieces<'d>(data: &'d [u8], cuts: &[usize]) -> Vec<&'d [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    at.sort_unstable();
    let mut out = Vec::new();
    let mut last = 0;
    for a in at.into_iter().chain([data.len()]) {
        out.push(&data[last..a]);
        last = a;
    }
    out
}

proptest! {
    #[test]
    fn one_stream_in_any_pieces(data in proptest::collection::vec(any::<u8>(), 0..1500),
                                cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
        let mut h = Md5::new();
        for p in pieces(&data, &cuts) {
            h.update(p);
        }
        prop_assert_eq!(h.finalize(), reference(&data));
    }

    /// Up to four streams of different lengths, fed to the lanes in rounds of pieces of different lengths (empty
    /// ones included), with a lone `update` now and then between rounds.
    #[test]
    fn lanes_match_each_stream(streams in proptest::collection::vec(
                                   proptest::collection::vec(any::<u8>(), 0..3000), 1..=LANES),
                               rounds in proptest::collection::vec(
                                   proptest::collection::vec(0usize..700, LANES), 1..8),
                               lone in any::<u8>()) {
        let mut hashers: Vec<Md5> = vec![Md5::new(); streams.len()];
        let mut at = vec![0usize; streams.len()];
        for (r, lens) in rounds.iter().enumerate() {
            let mut refs: Vec<&mut Md5> = hashers.iter_mut().collect();
            let slices: Vec<&[u8]> = streams.iter().zip(&mut at).zip(lens).map(|((s, a), n)| {
                let end = (*a + n).min(s.len());
                let piece = &s[*a..end];
                *a = end;
                piece
            }).collect();
            update_lanes(&mut refs, &slices);
            let l = (lone as usize + r) % streams.len();
            if lone % 3 == 0 {
                let end = (at[l] + 5).min(streams[l].len());
                hashers[l].update(&streams[l][at[l]..end]);
                at[l] = end;
            }
        }
        for ((h, s), a) in hashers.into_iter().zip(&streams).zip(at) {
            let mut h = h;
            h.update(&s[a..]);
            prop_assert_eq!(h.finalize(), reference(s));
        }
    }
}
