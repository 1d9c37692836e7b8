//! The age file format (age-encryption.org/v1), written from its specification: a random 16-byte file key, wrapped
//! once per recipient (X25519) or with a passphrase (scrypt), a header MAC under a key derived from it, then the
//! STREAM payload. age's own Rust crate is not used: it does not build for the component's core target (getrandom
//! has no source there) and, built for wasm32-wasip2, adds 475 KB — half the component's budget — for localised
//! messages, plugins and post-quantum keys this needs none of. Randomness comes in from the caller, so everything
//! here is pure and tested natively; the `age` CLI checks the result both ways in the end-to-end tests.

pub(crate) mod header;
pub(crate) mod keys;
pub(crate) mod stream;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;
use header::{Header, Stanza};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use keys::{Identity, Recipient};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// scrypt's work factor (log2 N) for a new passphrase stanza: age's own default, about a second of CPU.
const WORK_FACTOR: u8 = 18;
/// The largest work factor accepted when decrypting: 2^20 needs 1 GiB of the component's memory.
const MAX_WORK_FACTOR: u8 = 20;
const X25519_LABEL: &[u8] = b"age-encryption.org/v1/X25519";
const SCRYPT_LABEL: &[u8] = b"age-encryption.org/v1/scrypt";

/// The file key: what every stanza wraps and every key is derived from.
type FileKey = Zeroizing<[u8; 16]>;

/// What an object is encrypted to.
pub(crate) enum Lock {
    To(Vec<Recipient>),
    Passphrase(Zeroizing<String>),
}

/// What may decrypt an object.
pub(crate) enum Unlock {
    Identities(Vec<Identity>),
    Passphrase(Zeroizing<String>),
}

/// Why a header could not be opened.
pub(crate) enum Refusal {
    /// Nothing given opens it (wrong identity, wrong passphrase, or the wrong kind of key).
    Locked(String),
    /// It is not a well-formed, untampered age header.
    Corrupt(String),
}

/// A new header (and the payload nonce after it) for `lock`, and the key the payload is sealed with
/// ([`stream::Sealer::new`]). `random` fills buffers with fresh random bytes.
pub(crate) fn seal(lock: &Lock, random: &mut dyn FnMut(&mut [u8])) -> (Vec<u8>, Zeroizing<[u8; 32]>) {
    let mut file_key: FileKey = Zeroizing::new([0; 16]);
    random(file_key.as_mut());
    let stanzas: Vec<Stanza> = match lock {
        Lock::To(recipients) => recipients
            .iter()
            .map(|r| {
                let mut ephemeral = Zeroizing::new([0u8; 32]);
                random(ephemeral.as_mut());
                wrap_x25519(r, &file_key, &ephemeral)
            })
            .collect(),
        Lock::Passphrase(pass) => {
            let mut salt = [0u8; 16];
            random(&mut salt);
            vec![wrap_scrypt(pass, &file_key, &salt, WORK_FACTOR)]
        }
    };
    let text = header::write(&stanzas);
    let mut out = header::finish(text.clone(), &header_hmac(&file_key, &text).finalize().into_bytes().into());
    let mut nonce = [0u8; stream::NONCE_LEN];
    random(&mut nonce);
    out.extend_from_slice(&nonce);
    (out, Zeroizing::new(payload_key(&file_key, &nonce)))
}

/// The payload key of the object whose header is `h` (parsed from `bytes`) and whose payload nonce is `nonce`,
/// once `unlock` has opened a stanza and the header's MAC holds.
pub(crate) fn open(h: &Header, bytes: &[u8], nonce: &[u8], unlock: &Unlock) -> Result<[u8; 32], Refusal> {
    let corrupt = |m: &str| Refusal::Corrupt(m.to_string());
    let scrypt = h.stanzas.iter().any(|s| s.kind == "scrypt");
    if scrypt && h.stanzas.len() > 1 {
        return Err(corrupt("a passphrase stanza must be the header's only stanza"));
    }
    let file_key = match unlock {
        Unlock::Identities(_) if scrypt => {
            return Err(Refusal::Locked("it was encrypted with a passphrase, not to a recipient".into()))
        }
        Unlock::Passphrase(_) if !scrypt => {
            return Err(Refusal::Locked("it was encrypted to recipients, not with a passphrase".into()))
        }
        Unlock::Passphrase(pass) => unwrap_scrypt(pass, &h.stanzas[0])?,
        Unlock::Identities(ids) => {
            let mut found = None;
            for s in h.stanzas.iter().filter(|s| s.kind == "X25519") {
                for id in ids {
                    if let Some(k) = unwrap_x25519(id, s)? {
                        found = Some(k);
                    }
                }
            }
            found
        }
    };
    let file_key = file_key.ok_or_else(|| match unlock {
        Unlock::Identities(_) => Refusal::Locked("none of the identities given is one of its recipients".into()),
        Unlock::Passphrase(_) => Refusal::Locked("the passphrase is wrong".into()),
    })?;
    header_hmac(&file_key, &bytes[..h.mac_input])
        .verify_slice(&h.mac)
        .map_err(|_| corrupt("the header's MAC does not match: it was altered"))?;
    Ok(payload_key(&file_key, nonce))
}

/// Bytes of the header (through the MAC line) that [`seal`] writes for `lock`: the stanzas' shapes are fixed, so
/// this needs neither keys nor scrypt.
pub(crate) fn header_len(lock: &Lock) -> usize {
    let arg = |n: usize| header::encode(&vec![0; n]);
    let stanza = |kind: &str, args: Vec<String>| Stanza { kind: kind.into(), args, body: vec![0; 32] };
    let stanzas: Vec<Stanza> = match lock {
        Lock::To(recipients) => recipients.iter().map(|_| stanza("X25519", vec![arg(32)])).collect(),
        Lock::Passphrase(_) => vec![stanza("scrypt", vec![arg(16), WORK_FACTOR.to_string()])],
    };
    header::finish(header::write(&stanzas), &[0; 32]).len()
}

/// A new identity from 32 random bytes, and its recipient: `(AGE-SECRET-KEY-1…, age1…)`.
pub(crate) fn generate(secret: [u8; 32]) -> (String, String) {
    let id = Identity::from_bytes(secret);
    (id.encode(), id.recipient().encode())
}

fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, out.as_mut()).expect("32 bytes is a valid HKDF length");
    out
}

/// The HMAC of the header's `text` (through `---`), ready to finalise or verify.
fn header_hmac(file_key: &FileKey, text: &[u8]) -> Hmac<Sha256> {
    let key = hkdf(&[], file_key.as_ref(), b"header");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_ref()).expect("HMAC takes any key length");
    mac.update(text);
    mac
}

fn payload_key(file_key: &FileKey, nonce: &[u8]) -> [u8; 32] {
    *hkdf(nonce, file_key.as_ref(), b"payload")
}

/// ChaCha20-Poly1305 with a zero nonce: each wrapping key is used once.
fn wrap(key: &[u8; 32], file_key: &FileKey) -> Vec<u8> {
    ChaCha20Poly1305::new(key.into()).encrypt(&[0u8; 12].into(), file_key.as_ref()).expect("16 bytes encrypt")
}

fn unwrap(key: &[u8; 32], body: &[u8]) -> Option<FileKey> {
    let opened = Zeroizing::new(ChaCha20Poly1305::new(key.into()).decrypt(&[0u8; 12].into(), body).ok()?);
    let mut k: FileKey = Zeroizing::new([0; 16]);
    k.copy_from_slice(&opened);
    Some(k)
}

fn wrap_x25519(to: &Recipient, file_key: &FileKey, ephemeral: &[u8; 32]) -> Stanza {
    let secret = StaticSecret::from(*ephemeral);
    let share = PublicKey::from(&secret);
    let shared = secret.diffie_hellman(&to.0);
    let salt = [share.as_bytes().as_slice(), to.0.as_bytes()].concat();
    let key = hkdf(&salt, shared.as_bytes(), X25519_LABEL);
    Stanza { kind: "X25519".into(), args: vec![header::encode(share.as_bytes())], body: wrap(&key, file_key) }
}

/// The file key if the stanza is for `id`; an error if the stanza is malformed.
fn unwrap_x25519(id: &Identity, s: &Stanza) -> Result<Option<FileKey>, Refusal> {
    let share: [u8; 32] = match (&s.args[..], s.body.len()) {
        ([share], 32) => header::decode(share.as_bytes()).and_then(|b| b.try_into().ok()),
        _ => None,
    }
    .ok_or_else(|| Refusal::Corrupt("an X25519 stanza is malformed".into()))?;
    let shared = id.0.diffie_hellman(&PublicKey::from(share));
    if !shared.was_contributory() {
        return Err(Refusal::Corrupt("an X25519 stanza's share is a low-order point".into()));
    }
    let salt = [share.as_slice(), id.recipient().0.as_bytes()].concat();
    Ok(unwrap(&hkdf(&salt, shared.as_bytes(), X25519_LABEL), &s.body))
}

fn scrypt_key(pass: &str, salt: &[u8], work: u8) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    let params = scrypt::Params::new(work, 8, 1, 32).expect("work factors up to 20 are valid");
    let salt = [SCRYPT_LABEL, salt].concat();
    scrypt::scrypt(pass.as_bytes(), &salt, &params, key.as_mut()).expect("32 bytes is a valid scrypt length");
    key
}

fn wrap_scrypt(pass: &str, file_key: &FileKey, salt: &[u8; 16], work: u8) -> Stanza {
    let key = scrypt_key(pass, salt, work);
    Stanza { kind: "scrypt".into(), args: vec![header::encode(salt), work.to_string()], body: wrap(&key, file_key) }
}

fn unwrap_scrypt(pass: &str, s: &Stanza) -> Result<Option<FileKey>, Refusal> {
    let malformed = || Refusal::Corrupt("the passphrase stanza is malformed".into());
    let ([salt, work], 32) = (&s.args[..], s.body.len()) else { return Err(malformed()) };
    let salt = header::decode(salt.as_bytes()).filter(|b| b.len() == 16).ok_or_else(malformed)?;
    if work.starts_with('0') || !work.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    let work: u8 = work.parse().map_err(|_| malformed())?;
    if work == 0 || work > MAX_WORK_FACTOR {
        return Err(Refusal::Locked(format!(
            "its passphrase work factor 2^{work} is above the 2^{MAX_WORK_FACTOR} this tool accepts"
        )));
    }
    Ok(unwrap(&scrypt_key(pass, &salt, work), &s.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic stand-in for wasi:random.
    fn counter(seed: u8) -> impl FnMut(&mut [u8]) {
        let mut n = seed;
        move |buf: &mut [u8]| {
            for b in buf {
                n = n.wrapping_mul(31).wrapping_add(7);
                *b = n;
            }
        }
    }

    fn encrypt(lock: &Lock, plain: &[u8]) -> Vec<u8> {
        let (mut out, key) = seal(lock, &mut counter(1));
        let mut sealer = stream::Sealer::new(&key);
        sealer.push(plain, &mut out);
        sealer.finish(&mut out);
        out
    }

    fn decrypt(bytes: &[u8], unlock: &Unlock) -> Result<Vec<u8>, Refusal> {
        let header::Parsed::Header(h) = header::parse(bytes).map_err(Refusal::Corrupt)? else {
            return Err(Refusal::Corrupt("not a header".into()));
        };
        let nonce = &bytes[h.len..h.len + stream::NONCE_LEN];
        let key = open(&h, bytes, nonce, unlock)?;
        let payload = &bytes[h.len..];
        let (_, last) = stream::plain_len(payload.len() as u64).unwrap();
        let mut opener = stream::Opener::new(&key, 0, last, last);
        let mut out = Vec::new();
        opener.push(&payload[stream::NONCE_LEN..], &mut out).map_err(Refusal::Corrupt)?;
        opener.finish(&mut out).map_err(Refusal::Corrupt)?;
        Ok(out)
    }

    fn reason(r: Result<Vec<u8>, Refusal>) -> String {
        match r {
            Ok(_) => "opened".into(),
            Err(Refusal::Locked(m)) => format!("locked: {m}"),
            Err(Refusal::Corrupt(m)) => format!("corrupt: {m}"),
        }
    }

    #[test]
    fn any_recipients_identity_opens_and_others_do_not() {
        let alice = Identity::from_bytes([1; 32]);
        let bob = Identity::from_bytes([2; 32]);
        let eve = Identity::from_bytes([3; 32]);
        let plain = b"quarterly numbers".repeat(5000);
        let sealed = encrypt(&Lock::To(vec![alice.recipient(), bob.recipient()]), &plain);
        assert!(sealed.starts_with(header::VERSION_LINE));
        assert_eq!(decrypt(&sealed, &Unlock::Identities(vec![bob])).ok().unwrap(), plain);
        assert_eq!(decrypt(&sealed, &Unlock::Identities(vec![eve, alice])).ok().unwrap(), plain);
        let eve = Identity::from_bytes([3; 32]);
        assert!(reason(decrypt(&sealed, &Unlock::Identities(vec![eve]))).starts_with("locked: none"));
        let pass = Unlock::Passphrase(Zeroizing::new("x".into()));
        assert!(reason(decrypt(&sealed, &pass)).contains("not with a passphrase"));
    }

    #[test]
    fn an_altered_header_or_payload_is_corrupt() {
        let alice = Identity::from_bytes([1; 32]);
        let sealed = encrypt(&Lock::To(vec![alice.recipient()]), &[7u8; 100_000]);
        let text = String::from_utf8_lossy(&sealed[..40]).into_owned();
        assert!(text.starts_with("age-encryption.org/v1\n-> X25519 "), "{text}");
        let h = match header::parse(&sealed) {
            Ok(header::Parsed::Header(h)) => h,
            _ => panic!("no header"),
        };
        let unlock = || Unlock::Identities(vec![Identity::from_bytes([1; 32])]);
        // An altered wrapped key (byte 80 is in the stanza's body line) locks it; an altered MAC, nonce or chunk
        // is corruption.
        for (at, expect) in
            [(80, "locked"), (h.len - 5, "corrupt"), (h.len + 3, "corrupt"), (sealed.len() - 1, "corrupt")]
        {
            let mut bad = sealed.clone();
            bad[at] = if at < h.len {
                if bad[at] == b'A' {
                    b'B'
                } else {
                    b'A'
                }
            } else {
                bad[at] ^ 0x02
            };
            let got = reason(decrypt(&bad, &unlock()));
            assert!(got.starts_with(expect), "byte {at}: {got}");
        }
        assert_eq!(decrypt(&sealed, &unlock()).ok().unwrap(), vec![7u8; 100_000]);
    }

    #[test]
    fn a_passphrase_opens_what_it_sealed_and_nothing_else_does() {
        let file_key: FileKey = Zeroizing::new([9; 16]);
        let s = wrap_scrypt("correct horse", &file_key, &[4; 16], 10);
        assert_eq!(s.args[1], "10");
        assert_eq!(*unwrap_scrypt("correct horse", &s).ok().unwrap().unwrap(), [9; 16]);
        assert!(unwrap_scrypt("wrong horse", &s).ok().unwrap().is_none());
        let too_hard =
            Stanza { kind: "scrypt".into(), args: vec![s.args[0].clone(), "21".into()], body: s.body.clone() };
        assert!(matches!(unwrap_scrypt("correct horse", &too_hard), Err(Refusal::Locked(_))));
        let padded = Stanza { kind: "scrypt".into(), args: vec![s.args[0].clone(), "010".into()], body: s.body };
        assert!(matches!(unwrap_scrypt("correct horse", &padded), Err(Refusal::Corrupt(_))));
    }

    #[test]
    fn the_header_length_is_known_before_sealing() {
        let to = |n: u8| Lock::To((1..=n).map(|i| Identity::from_bytes([i; 32]).recipient()).collect());
        for lock in [to(1), to(3), Lock::Passphrase(Zeroizing::new("p".into()))] {
            let (lead, _) = seal(&lock, &mut counter(2));
            assert_eq!(header_len(&lock), lead.len() - stream::NONCE_LEN);
        }
        assert_eq!(header_len(&to(1)), 168, "age's one-recipient header");
    }

    #[test]
    fn a_generated_identity_decrypts_for_its_recipient() {
        let (secret, public) = generate([42; 32]);
        let ids = keys::parse_identities(&secret).ok().unwrap();
        let sealed = encrypt(&Lock::To(vec![keys::parse_recipient(&public).ok().unwrap()]), b"");
        assert_eq!(decrypt(&sealed, &Unlock::Identities(ids)).ok().unwrap(), b"");
    }
}
