//! Byte-level encodings S3 needs: SigV4/S3 percent-encoding, lower-case hex, and UTC timestamps. One place for each,
//! so signing, URL building and XML decoding agree on exactly the same rules.

/// Percent-encodes every byte outside `A-Za-z0-9-._~` with upper-case hex, as SigV4 and S3 require.
/// `/` is kept when `keep_slash` is set (object keys in paths) and encoded otherwise (query keys and values).
pub(crate) fn uri_encode(input: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(input.len() + 16);
    push_uri_encoded(&mut out, input, keep_slash);
    out
}

/// [`uri_encode`] appending to `out`.
pub(crate) fn push_uri_encoded(out: &mut String, input: &str, keep_slash: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let keep = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (keep_slash && b == b'/');
    let mut start = 0;
    // Runs of bytes that stay as they are are copied whole; keys are mostly such runs.
    for (i, &b) in input.as_bytes().iter().enumerate() {
        if !keep(b) {
            // A non-empty run is all ASCII, so both ends are character boundaries.
            if start < i {
                out.push_str(&input[start..i]);
            }
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
            start = i + 1;
        }
    }
    out.push_str(&input[start..]);
}

/// Reverses percent-encoding (as used by `encoding-type=url` listings); `+` stands for a space there.
/// Malformed escapes or non-UTF-8 results are errors, not guesses.
pub(crate) fn uri_decode(input: &str) -> Result<String, String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad percent-escape in {input:?}"))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| format!("percent-decoded {input:?} is not UTF-8"))
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    hex_into(bytes, &mut out);
    String::from_utf8(out).expect("hex digits are ASCII")
}

/// Writes `bytes` as lower-case hex into `out`, which holds exactly twice as many bytes.
pub(crate) fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[(b >> 4) as usize];
        pair[1] = HEX[(b & 0xf) as usize];
    }
}

/// Appends `n` as exactly `width` decimal digits (zero-padded; higher digits dropped). Every request formats
/// dates, so this avoids the general formatter.
fn push_digits(out: &mut String, n: u32, width: u32) {
    for i in (0..width).rev() {
        out.push(char::from(b'0' + (n / 10u32.pow(i) % 10) as u8));
    }
}

/// A UTC instant broken into calendar fields, from seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UtcTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl UtcTime {
    pub(crate) fn from_unix(secs: u64) -> Self {
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        // Civil-from-days (proleptic Gregorian), counting eras of 400 years from 0000-03-01.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        UtcTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem / 60 % 60) as u32,
            second: (rem % 60) as u32,
        }
    }

    /// `YYYYMMDD`, the credential-scope date.
    pub(crate) fn date_stamp(&self) -> String {
        let mut out = String::with_capacity(16);
        push_digits(&mut out, self.year.clamp(0, 9999) as u32, 4);
        push_digits(&mut out, self.month, 2);
        push_digits(&mut out, self.day, 2);
        out
    }

    /// `YYYYMMDDTHHMMSSZ`, the `x-amz-date` form.
    pub(crate) fn amz_date(&self) -> String {
        let mut out = self.date_stamp();
        out.push('T');
        push_digits(&mut out, self.hour, 2);
        push_digits(&mut out, self.minute, 2);
        push_digits(&mut out, self.second, 2);
        out.push('Z');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_everything_but_unreserved() {
        assert_eq!(uri_encode("a b+c%d~e=f&g/h", true), "a%20b%2Bc%25d~e%3Df%26g/h");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
        // Multi-byte characters next to each other, at the start and at the end.
        assert_eq!(uri_encode("éa€ü/ü", true), "%C3%A9a%E2%82%AC%C3%BC/%C3%BC");
        assert_eq!(uri_encode("é", true), "%C3%A9");
        assert_eq!(uri_encode("", true), "");
        assert_eq!(uri_encode("AZaz09-._~", false), "AZaz09-._~");
    }

    #[test]
    fn decode_reverses_encode() {
        for s in ["a b+c%d~e=f&g/h", "日本語/ключ", "", "100%"] {
            assert_eq!(uri_decode(&uri_encode(s, false)).unwrap(), s);
        }
        assert_eq!(uri_decode("a+b").unwrap(), "a b");
        assert!(uri_decode("%zz").is_err());
        assert!(uri_decode("%4").is_err());
        assert!(uri_decode("%ff").is_err());
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
    }

    #[test]
    fn calendar_fields() {
        let t = UtcTime::from_unix(1_369_353_600); // 2013-05-24T00:00:00Z, the S3 examples' instant
        assert_eq!(t.amz_date(), "20130524T000000Z");
        assert_eq!(UtcTime::from_unix(0).amz_date(), "19700101T000000Z");
        assert_eq!(UtcTime::from_unix(951_782_400).date_stamp(), "20000229"); // leap day of a century year
        assert_eq!(UtcTime::from_unix(1_440_938_160).amz_date(), "20150830T123600Z");
        assert_eq!(UtcTime::from_unix(4_102_444_799).amz_date(), "20991231T235959Z");
    }
}
