//! The age header as text: the version line, one stanza per recipient (`-> TYPE ARGS` and a base64 body wrapped at
//! 64 columns, its last line shorter than 64), and `--- MAC`, the HMAC-SHA256 of everything before the MAC's space.
//! Parsing is strict, as the format asks (canonical base64, no padding, no stray lines), and tells "not age at all"
//! apart from "age, but malformed" so a reader can pass other bytes through.

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;

/// The first line of every age file.
pub(crate) const VERSION_LINE: &[u8] = b"age-encryption.org/v1\n";

/// A header larger than this is refused (it would take hundreds of recipients).
pub(crate) const MAX_HEADER: usize = 64 * 1024;

/// Base64 characters in each full line of a stanza body.
const COLUMNS: usize = 64;

/// One recipient stanza.
pub(crate) struct Stanza {
    pub kind: String,
    pub args: Vec<String>,
    pub body: Vec<u8>,
}

/// A parsed header.
pub(crate) struct Header {
    pub stanzas: Vec<Stanza>,
    /// Bytes of the header the MAC covers (through `---`).
    pub mac_input: usize,
    pub mac: [u8; 32],
    /// Bytes of the whole header, through the MAC line's newline.
    pub len: usize,
}

/// What the start of a body is.
pub(crate) enum Parsed {
    /// Too few bytes yet to tell.
    Incomplete,
    /// Not age: the bytes do not start with the version line.
    NotAge,
    Header(Header),
}

/// The header's text through `---`, for `stanzas`: the MAC is computed over it and appended by [`finish`].
pub(crate) fn write(stanzas: &[Stanza]) -> Vec<u8> {
    let mut out = VERSION_LINE.to_vec();
    for s in stanzas {
        out.extend_from_slice(b"->");
        for word in std::iter::once(&s.kind).chain(&s.args) {
            out.push(b' ');
            out.extend_from_slice(word.as_bytes());
        }
        out.push(b'\n');
        let text = B64.encode(&s.body);
        let mut lines = text.as_bytes().chunks(COLUMNS).peekable();
        let mut last_full = true;
        while let Some(line) = lines.next() {
            out.extend_from_slice(line);
            out.push(b'\n');
            last_full = lines.peek().is_none() && line.len() == COLUMNS;
        }
        if last_full {
            // A body whose text fills its last line (or is empty) ends with an empty line.
            out.push(b'\n');
        }
    }
    out.extend_from_slice(b"---");
    out
}

/// Appends ` MAC\n` to the text [`write`] made.
pub(crate) fn finish(mut text: Vec<u8>, mac: &[u8; 32]) -> Vec<u8> {
    text.push(b' ');
    text.extend_from_slice(B64.encode(mac).as_bytes());
    text.push(b'\n');
    text
}

/// Parses the header at the start of `buf`.
pub(crate) fn parse(buf: &[u8]) -> Result<Parsed, String> {
    let head = &buf[..buf.len().min(VERSION_LINE.len())];
    if !VERSION_LINE.starts_with(head) {
        return Ok(Parsed::NotAge);
    }
    if head.len() < VERSION_LINE.len() {
        return Ok(Parsed::Incomplete);
    }
    let mut pos = VERSION_LINE.len();
    let mut stanzas = Vec::new();
    loop {
        let Some(line) = next_line(buf, pos)? else { return Ok(Parsed::Incomplete) };
        if let Some(rest) = line.strip_prefix(b"--- ") {
            let mac = decode(rest).filter(|m| m.len() == 32).ok_or("the header's MAC line is malformed")?;
            let mut fixed = [0u8; 32];
            fixed.copy_from_slice(&mac);
            let len = pos + line.len() + 1;
            return Ok(Parsed::Header(Header { stanzas, mac_input: pos + 3, mac: fixed, len }));
        }
        let Some(words) = line.strip_prefix(b"-> ") else { return Err("the header holds a stray line".into()) };
        let words = std::str::from_utf8(words).map_err(|_| "a stanza line is not text")?;
        let mut args: Vec<String> = Vec::new();
        for w in words.split(' ') {
            if w.is_empty() || !w.bytes().all(|b| b.is_ascii_graphic()) {
                return Err("a stanza line has an empty or non-printable argument".into());
            }
            args.push(w.to_string());
        }
        pos += line.len() + 1;
        let mut text = Vec::new();
        loop {
            let Some(line) = next_line(buf, pos)? else { return Ok(Parsed::Incomplete) };
            if line.len() > COLUMNS {
                return Err("a stanza body line is longer than 64 columns".into());
            }
            text.extend_from_slice(line);
            pos += line.len() + 1;
            if line.len() < COLUMNS {
                break;
            }
        }
        let body = decode(&text).ok_or("a stanza body is not canonical base64")?;
        let kind = args.remove(0);
        stanzas.push(Stanza { kind, args, body });
    }
}

/// The line starting at `pos`, without its newline; `None` when it has not all arrived.
fn next_line(buf: &[u8], pos: usize) -> Result<Option<&[u8]>, String> {
    match buf[pos..].iter().position(|&b| b == b'\n') {
        Some(n) => Ok(Some(&buf[pos..pos + n])),
        None if buf.len() > MAX_HEADER => Err(format!("the age header is larger than {MAX_HEADER} bytes")),
        None => Ok(None),
    }
}

/// Canonical unpadded base64.
pub(crate) fn decode(text: &[u8]) -> Option<Vec<u8>> {
    B64.decode(text).ok()
}

/// Unpadded base64, as header arguments carry binary values.
pub(crate) fn encode(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stanza(kind: &str, args: &[&str], body: Vec<u8>) -> Stanza {
        Stanza { kind: kind.into(), args: args.iter().map(|a| a.to_string()).collect(), body }
    }

    #[test]
    fn a_written_header_parses_back_with_every_body_length() {
        for n in [0usize, 1, 32, 47, 48, 49, 96, 200] {
            let body: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let text =
                finish(write(&[stanza("X25519", &["abc"], body.clone()), stanza("grease", &[], vec![1])]), &[5; 32]);
            let Parsed::Header(h) = parse(&text).unwrap() else { panic!("length {n}: not parsed") };
            assert_eq!(h.len, text.len());
            assert_eq!(&text[h.mac_input - 3..h.mac_input], b"---");
            assert_eq!(h.mac, [5; 32]);
            assert_eq!(h.stanzas[0].kind, "X25519");
            assert_eq!(h.stanzas[0].args, ["abc"]);
            assert_eq!(h.stanzas[0].body, body, "length {n}");
            assert_eq!(h.stanzas[1].body, [1]);
            // Every prefix is incomplete, never an error or "not age".
            for cut in 0..text.len() {
                assert!(matches!(parse(&text[..cut]), Ok(Parsed::Incomplete)), "length {n}, cut {cut}");
            }
        }
    }

    #[test]
    fn other_bytes_are_not_age_and_malformed_headers_are_errors() {
        assert!(matches!(parse(b"%PDF-1.7"), Ok(Parsed::NotAge)));
        assert!(matches!(parse(b""), Ok(Parsed::Incomplete)));
        let good = finish(write(&[stanza("X25519", &["abc"], vec![0; 32])]), &[1; 32]);
        let text = String::from_utf8(good).unwrap();
        for bad in [
            text.replace("-> X25519 abc", "-> X25519  abc"),
            text.replace("-> X25519", "-> "),
            text.replace("---", "-- "),
            text.replacen('\n', "\nstray\n", 1),
            text.replace("AAAA", "AAA="),
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?} parsed");
        }
    }
}
