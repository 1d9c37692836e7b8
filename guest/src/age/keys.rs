//! age's key encodings: X25519 identities (`AGE-SECRET-KEY-1…`) and recipients (`age1…`), both Bech32 of 32
//! bytes; the text of an identity file (one identity a line, `#` comments); new identities made from 32 random
//! bytes. Nothing here prints a secret: errors name a line number, never its text, and no type derives `Debug`.

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Hrp};
use x25519_dalek::{PublicKey, StaticSecret};

const RECIPIENT_HRP: &str = "age";
const IDENTITY_HRP: &str = "age-secret-key-";

/// An X25519 secret key: what decrypts.
pub(crate) struct Identity(pub(super) StaticSecret);

/// An X25519 public key: whom to encrypt to.
pub(crate) struct Recipient(pub(super) PublicKey);

impl Identity {
    /// The identity whose secret is these 32 bytes (clamped when used, as X25519 says).
    pub(crate) fn from_bytes(secret: [u8; 32]) -> Self {
        Identity(StaticSecret::from(secret))
    }

    /// The recipient that this identity decrypts for.
    pub(crate) fn recipient(&self) -> Recipient {
        Recipient(PublicKey::from(&self.0))
    }

    /// `AGE-SECRET-KEY-1…`, as identity files hold it.
    pub(crate) fn encode(&self) -> String {
        let hrp = Hrp::parse_unchecked(IDENTITY_HRP);
        bech32::encode_upper::<Bech32>(hrp, self.0.as_bytes()).expect("32 bytes always fit Bech32")
    }
}

impl Recipient {
    /// `age1…`.
    pub(crate) fn encode(&self) -> String {
        let hrp = Hrp::parse_unchecked(RECIPIENT_HRP);
        bech32::encode_lower::<Bech32>(hrp, self.0.as_bytes()).expect("32 bytes always fit Bech32")
    }
}

/// The 32 bytes of a Bech32 string with human-readable part `hrp`, or `None`.
fn decode(text: &str, hrp: &str) -> Option<[u8; 32]> {
    let checked = CheckedHrpstring::new::<Bech32>(text).ok()?;
    if !checked.hrp().as_str().eq_ignore_ascii_case(hrp) {
        return None;
    }
    checked.byte_iter().collect::<Vec<u8>>().try_into().ok()
}

/// One recipient, `age1…`.
pub(crate) fn parse_recipient(text: &str) -> Result<Recipient, String> {
    let text = text.trim();
    if text.starts_with("ssh-") {
        return Err("SSH keys are not supported as recipients: use an age1… key (`spaces keygen` makes one)".into());
    }
    match decode(text, RECIPIENT_HRP) {
        Some(bytes) if text.starts_with("age1") => Ok(Recipient(PublicKey::from(bytes))),
        _ => Err(format!("{text:?} is not an age recipient (age1… followed by 58 Bech32 characters)")),
    }
}

/// Every identity in the text of an identity file; blank lines and `#` comments are skipped. A line that is not
/// an identity is an error naming its number (its text may be a secret); so is a file with none.
pub(crate) fn parse_identities(text: &str) -> Result<Vec<Identity>, String> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match decode(line, IDENTITY_HRP) {
            Some(bytes) if line.starts_with("AGE-SECRET-KEY-1") => found.push(Identity::from_bytes(bytes)),
            _ => {
                return Err(format!(
                    "line {} of the identity file is not an age identity (AGE-SECRET-KEY-1…); SSH and plugin \
                     identities are not supported",
                    n + 1
                ))
            }
        }
    }
    if found.is_empty() {
        return Err("the identity file holds no identity (AGE-SECRET-KEY-1… lines)".into());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_and_its_recipient_survive_encoding() {
        let id = Identity::from_bytes([7; 32]);
        let text = id.encode();
        assert!(text.starts_with("AGE-SECRET-KEY-1") && text.len() == 74, "{text}");
        let recipient = id.recipient().encode();
        assert!(recipient.starts_with("age1") && recipient.len() == 62, "{recipient}");
        let again = parse_identities(&format!("# created: now\n# public key: {recipient}\n\n{text}\n")).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].recipient().encode(), recipient);
        assert_eq!(parse_recipient(&recipient).ok().unwrap().encode(), recipient);
    }

    #[test]
    fn keys_of_the_wrong_kind_or_with_a_bad_checksum_are_refused() {
        let id = Identity::from_bytes([9; 32]);
        let recipient = id.recipient().encode();
        let mut broken = recipient.clone();
        broken.replace_range(10..11, if &recipient[10..11] == "q" { "p" } else { "q" });
        assert!(parse_recipient(&broken).is_err());
        assert!(parse_recipient(&id.encode()).is_err(), "an identity is not a recipient");
        assert!(parse_recipient("ssh-ed25519 AAAA…").err().unwrap().contains("SSH"));
        let err = parse_identities(&format!("{}\n{recipient}\n", id.encode())).err().unwrap();
        assert!(err.contains("line 2") && !err.contains(&recipient), "{err}");
        assert!(parse_identities("# nothing\n").is_err());
    }
}
