//! Client-side encryption on the object streams, in the age format (`crate::age`). An upload's body is sealed as it
//! is read (the upload loop reads through the sealer), a download's is opened as it is written, a chunk at a time
//! either way. A decrypting download first reads the object's first 128 KiB: the age header there — not the
//! metadata, so objects other tools encrypted open too — says whether the object is encrypted, opens the file key
//! before anything is written, and turns a range of the plaintext into a range of whole chunks on the wire. An
//! object that fits in that first read costs no second request.

use crate::age::{self, header, stream, Lock, Refusal, Unlock};
use crate::base::http::{self, Body, SpliceEnd};
use crate::base::invalid;
use crate::host::progress;
use crate::s3::client::{self, Client, Conditions, Download};
use crate::s3::headers;
use crate::spaces::storage::types::Error;
use crate::wasi::io::streams::OutputStream;
use std::rc::Rc;
use zeroize::Zeroizing;

/// Metadata of an encrypted object: the format (never the key), and the plaintext's content type.
const ENCRYPTION_META: &str = "spaces-encryption";
const CONTENT_TYPE_META: &str = "spaces-content-type";
/// What an encrypted object's stored `Content-Type` is.
pub(crate) const SEALED_CONTENT_TYPE: &str = "application/octet-stream";
/// The first read of a decrypting download: room for the largest header, its nonce, and a small object whole.
const PROBE: u64 = 2 * header::MAX_HEADER as u64;

/// Fills `buf` from wasi:random.
fn fill_random(buf: &mut [u8]) {
    let bytes = Zeroizing::new(crate::wasi::random::random::get_random_bytes(buf.len() as u64));
    buf.copy_from_slice(&bytes);
}

/// A new identity and its recipient.
pub(crate) fn generate_identity() -> (String, String) {
    let mut secret = Zeroizing::new([0u8; 32]);
    fill_random(secret.as_mut());
    age::generate(*secret)
}

/// Encryption to these recipients (`age1…`).
pub(crate) fn lock_to(recipients: &[String]) -> Result<Lock, Error> {
    if recipients.is_empty() {
        return Err(invalid("encryption needs at least one recipient".into()));
    }
    let parsed = recipients.iter().map(|r| age::keys::parse_recipient(r)).collect::<Result<Vec<_>, _>>();
    Ok(Lock::To(parsed.map_err(invalid)?))
}

/// Encryption with a passphrase.
pub(crate) fn lock_with(passphrase: String) -> Result<Lock, Error> {
    match passphrase.is_empty() {
        true => Err(invalid("the passphrase is empty".into())),
        false => Ok(Lock::Passphrase(Zeroizing::new(passphrase))),
    }
}

/// Decryption with the identities of an identity file's text.
pub(crate) fn unlock_with_identities(text: &str) -> Result<Unlock, Error> {
    age::keys::parse_identities(text).map(Unlock::Identities).map_err(invalid)
}

/// Decryption with a passphrase.
pub(crate) fn unlock_with(passphrase: String) -> Unlock {
    Unlock::Passphrase(Zeroizing::new(passphrase))
}

/// How an upload's body is encrypted.
pub(crate) struct Sealing {
    /// The age header and payload nonce, sent first.
    pub lead: Vec<u8>,
    pub sealer: stream::Sealer,
    /// For an upload to recipients, what a resumed upload makes the same ciphertext from: the payload key, then
    /// the lead. (Not for a passphrase: a resumed upload with another passphrase would seal under the old one.)
    pub state: Option<Zeroizing<Vec<u8>>>,
}

/// The encryption of an upload to `lock`: the one `resumed` (a [`Sealing::state`] of an earlier run) describes,
/// if it is valid and for recipients, else a new header and key.
pub(crate) fn seal(lock: &Lock, resumed: Option<&[u8]>) -> Sealing {
    if let (Lock::To(_), Some(found)) = (lock, resumed.and_then(reseal)) {
        return found;
    }
    let (lead, key) = age::seal(lock, &mut fill_random);
    let state = matches!(lock, Lock::To(_)).then(|| Zeroizing::new([key.as_slice(), &lead].concat()));
    Sealing { sealer: stream::Sealer::new(&key), lead, state }
}

/// The sealing an earlier run's `state` describes, if it holds a key and a whole age header with its nonce.
fn reseal(state: &[u8]) -> Option<Sealing> {
    let (key, lead) = state.split_at_checked(32)?;
    match header::parse(lead) {
        Ok(header::Parsed::Header(h)) if h.len + stream::NONCE_LEN == lead.len() => {}
        _ => return None,
    }
    let key: [u8; 32] = key.try_into().ok()?;
    let state = Some(Zeroizing::new(state.to_vec()));
    Some(Sealing { sealer: stream::Sealer::new(&key), lead: lead.to_vec(), state })
}

/// Bytes stored for `plain` bytes of body after a header of `lead` bytes (nonce included).
pub(crate) fn sealed_size(lead: usize, plain: u64) -> u64 {
    (lead - stream::NONCE_LEN) as u64 + stream::sealed_len(plain)
}

/// Bytes stored for `plain` bytes of body encrypted as `lock` says, computed without encrypting.
pub(crate) fn encrypted_size(lock: &Lock, plain: u64) -> u64 {
    sealed_size(age::header_len(lock) + stream::NONCE_LEN, plain)
}

/// The metadata an encrypted object is stored with: the caller's, what it is, and the plaintext's type.
pub(crate) fn sealed_metadata(content_type: Option<&str>, metadata: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = metadata.to_vec();
    out.push((ENCRYPTION_META.into(), "age".into()));
    if let Some(t) = content_type {
        out.push((CONTENT_TYPE_META.into(), t.into()));
    }
    out
}

fn refused(key: &str, r: Refusal) -> Error {
    match r {
        Refusal::Locked(m) => Error::Undecryptable(format!("{key:?} is encrypted and cannot be opened: {m}")),
        Refusal::Corrupt(m) => Error::Integrity(format!("{key:?}: {m}")),
    }
}

impl Client {
    /// A download of `key` (or of `range` of its plaintext) that `unlock` decrypts if the object holds age
    /// ciphertext; an object that does not comes as it is.
    pub(crate) fn get_opened(
        self: &Rc<Self>,
        key: &str,
        range: Option<(u64, Option<u64>)>,
        conditions: Conditions,
        unlock: &Unlock,
    ) -> Result<Download, Error> {
        client::check_get(key, range, &conditions)?;
        let (answer, bytes) = match self.get_bytes(key, (0, Some(PROBE - 1)), conditions, PROBE as usize) {
            Ok(got) => got,
            // Only an empty object has no first byte: it is not encrypted.
            Err(Error::RangeNotSatisfiable(_)) => return self.get_object(key, range, conditions),
            Err(e) => return Err(e),
        };
        let mut meta = headers::object_meta(key, &answer)
            .ok_or_else(|| Error::Transport("GET answer lacks Content-Length or ETag".into()))?;
        let total = object_size(&answer).unwrap_or(meta.size);
        let marked = meta.metadata.iter().any(|(k, v)| k == ENCRYPTION_META && v == "age");
        let pinned = format!("\"{}\"", meta.etag);
        let pinned = Conditions { if_match: Some(&pinned), if_none_match: None, ..conditions };
        let h = match header::parse(&bytes) {
            Ok(header::Parsed::Header(h)) => h,
            Ok(header::Parsed::Incomplete) if (bytes.len() as u64) < total => {
                return Err(Error::Integrity(format!("{key:?}: its age header is larger than 64 KiB")))
            }
            Ok(_) if !marked => return self.get_object(key, range, pinned),
            Ok(_) => {
                return Err(Error::Integrity(format!(
                    "{key:?} is marked as age-encrypted but does not hold age ciphertext"
                )))
            }
            Err(m) => return Err(Error::Integrity(format!("{key:?}: its age header is malformed: {m}"))),
        };
        let payload_at = h.len + stream::NONCE_LEN;
        let nonce = bytes
            .get(h.len..payload_at)
            .ok_or_else(|| refused(key, Refusal::Corrupt("it ends inside its header".into())))?;
        let payload_key = age::open(&h, &bytes, nonce, unlock).map_err(|r| refused(key, r))?;
        let (plain, last) = stream::plain_len(total - h.len as u64).ok_or_else(|| {
            Error::Integrity(format!("{key:?}: its length is not that of an age payload (cut short?)"))
        })?;
        let (first, len) = match range {
            None => (0, plain),
            Some((first, _)) if first >= plain => {
                return Err(Error::RangeNotSatisfiable(format!(
                    "{key:?}: range starts at {first}, but the plaintext is {plain} bytes"
                )))
            }
            Some((first, end)) => (first, end.map_or(plain - 1, |e| e.min(plain - 1)) - first + 1),
        };
        // The chunks that hold the range (the one empty chunk, for an empty plaintext).
        let from = first / stream::CHUNK;
        let through = (first + len).saturating_sub(1) / stream::CHUNK;
        let start = payload_at as u64 + from * stream::SEALED_CHUNK;
        let end = (payload_at as u64 + (through + 1) * stream::SEALED_CHUNK).min(total);
        let mut opening = Opening {
            opener: Some(stream::Opener::new(&payload_key, from, through, last)),
            skip: first - from * stream::CHUNK,
            left: len,
            ready: Vec::new(),
            delivered: 0,
        };
        if marked {
            meta.content_type = meta.metadata.iter().find(|(k, _)| k == CONTENT_TYPE_META).map(|(_, v)| v.clone());
        }
        meta.size = len;
        let version_id = conditions.version_id;
        if end <= bytes.len() as u64 {
            opening.take(&bytes[start as usize..end as usize])?;
            return Ok(self.opened_download(meta, version_id, (start, end - start), None, opening));
        }
        let body =
            self.get_response(key, Some((start, Some(end - 1))), pinned)?.into_body().map_err(Error::Transport)?;
        Ok(self.opened_download(meta, version_id, (start, end - start), Some(body), opening))
    }
}

/// The object's whole size, from a ranged answer's `Content-Range: bytes A-B/SIZE`.
fn object_size(answer: &[(String, String)]) -> Option<u64> {
    let range = answer.iter().find(|(k, _)| k == "content-range")?;
    range.1.rsplit_once('/')?.1.trim().parse().ok()
}

/// A download being decrypted: chunks are opened as they arrive, and only the range asked for is written.
pub(crate) struct Opening {
    opener: Option<stream::Opener>,
    /// Plaintext before the range, in its first chunk.
    skip: u64,
    /// Plaintext of the range not opened yet.
    left: u64,
    /// Plaintext opened and not yet written.
    ready: Vec<u8>,
    /// Plaintext written.
    delivered: u64,
}

impl Opening {
    /// Takes sealed bytes; what they open waits in `ready`.
    fn take(&mut self, sealed: &[u8]) -> Result<(), Error> {
        let mut plain = Vec::new();
        if let Some(opener) = self.opener.as_mut() {
            opener.push(sealed, &mut plain).map_err(Error::Integrity)?;
        }
        self.keep(&plain);
        Ok(())
    }

    fn keep(&mut self, plain: &[u8]) {
        let skipped = (self.skip as usize).min(plain.len());
        self.skip -= skipped as u64;
        let rest = &plain[skipped..];
        let n = rest.len().min(self.left as usize);
        self.ready.extend_from_slice(&rest[..n]);
        self.left -= n as u64;
    }

    fn flush(&mut self, sink: &OutputStream) -> Result<(), String> {
        if !self.ready.is_empty() {
            http::write_all(sink, &self.ready)?;
            progress::advanced(self.ready.len() as u64);
            self.delivered += self.ready.len() as u64;
            self.ready.clear();
        }
        Ok(())
    }

    /// Moves the rest of `body` through the opener into `sink`, counting the sealed bytes in `received`. Chunks
    /// that fail authentication are an error; nothing of them is written.
    pub(crate) fn pump(&mut self, body: &Body, sink: &OutputStream, received: &mut u64) -> Result<SpliceEnd, Error> {
        loop {
            if let Err(m) = self.flush(sink) {
                return Ok(SpliceEnd::SinkBroke(m));
            }
            match body.next_chunk() {
                Ok(Some(sealed)) => {
                    *received += sealed.len() as u64;
                    self.take(&sealed)?;
                }
                Ok(None) => return Ok(SpliceEnd::Done),
                Err(m) => return Ok(SpliceEnd::SourceBroke(m)),
            }
        }
    }

    /// Every sealed byte has arrived: opens the last chunk and writes what is left. Returns the plaintext bytes
    /// written in all.
    pub(crate) fn finish(&mut self, sink: &OutputStream) -> Result<u64, Error> {
        if let Some(opener) = self.opener.take() {
            let mut plain = Vec::new();
            opener.finish(&mut plain).map_err(Error::Integrity)?;
            self.keep(&plain);
        }
        self.flush(sink).map_err(Error::Transport)?;
        sink.blocking_flush().map_err(|e| Error::Transport(format!("{e:?}")))?;
        Ok(self.delivered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_sealing_makes_the_same_ciphertext_and_a_broken_state_is_refused() {
        let lock = Lock::To(vec![age::keys::Identity::from_bytes([1; 32]).recipient()]);
        let mut n = 0u8;
        let (lead, key) = age::seal(&lock, &mut |buf: &mut [u8]| buf.iter_mut().for_each(|b| (*b, n) = (n, n ^ 0x5a)));
        let state = [key.as_slice(), &lead].concat();
        let sealed = |s: Sealing| {
            let mut out = s.lead.clone();
            let mut sealer = s.sealer;
            sealer.push(&[7; 100_000], &mut out);
            sealer.finish(&mut out);
            out
        };
        let first = sealed(reseal(&state).unwrap());
        assert!(first.starts_with(&lead));
        assert_eq!(sealed(seal(&lock, Some(&state))), first, "resumed: byte for byte the same");
        assert!(reseal(&state[..state.len() - 1]).is_none(), "a cut nonce");
        assert!(reseal(&state[..20]).is_none());
        let mut bad = state.clone();
        bad[32] = b'x';
        assert!(reseal(&bad).is_none(), "not an age header");
    }
}
