//! The bearer token every `/v1` request carries: one check, in time that depends on neither the token nor how
//! much of it matched, and one refusal.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a refused request is told.
pub const UNAUTHORIZED: &str = "missing or wrong bearer token: send `Authorization: Bearer TOKEN` with the token \
                                from SPACES_TOKEN or the token file";
/// The `WWW-Authenticate` header of a 401.
pub const CHALLENGE: &str = "Bearer realm=\"spaces\"";

/// The configured token, kept only as its SHA-256 digest.
#[derive(Clone)]
pub struct Token {
    digest: [u8; 32],
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    /// The token `secret`.
    pub fn new(secret: &str) -> Self {
        Token { digest: Sha256::digest(secret.as_bytes()).into() }
    }

    /// A name for the token that does not reveal it: the first 8 hex digits of its SHA-256, for audit lines.
    pub fn id(&self) -> String {
        self.digest[..4].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Does this `Authorization` header value carry the token (`Bearer`, any case)? Comparing digests keeps the
    /// comparison the same length and constant-time whatever the caller sent.
    pub fn accepts(&self, authorization: Option<&[u8]>) -> bool {
        let Some(value) = authorization else { return false };
        let Some(scheme) = value.get(..7) else { return false };
        if !scheme.eq_ignore_ascii_case(b"bearer ") {
            return false;
        }
        let presented: [u8; 32] = Sha256::digest(value[7..].trim_ascii()).into();
        presented.ct_eq(&self.digest).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_the_bearer_token() {
        let t = Token::new("s3cret-token");
        assert!(t.accepts(Some(b"Bearer s3cret-token")));
        assert!(t.accepts(Some(b"bearer s3cret-token ")));
        for bad in [&b"Bearer s3cret-toke"[..], b"Bearer s3cret-token2", b"Basic s3cret-token", b"Bearer", b"s3cret"] {
            assert!(!t.accepts(Some(bad)), "{bad:?}");
        }
        assert!(!t.accepts(None));
        assert!(!format!("{t:?}").contains("s3cret"));
        assert_eq!(t.id().len(), 8);
    }
}
