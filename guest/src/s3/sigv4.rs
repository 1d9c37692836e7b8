//! AWS Signature Version 4 with S3's canonicalisation rules: header auth and presigned (query) auth.
//! Pure: the caller passes the time and credentials in; the derived signing key is cached per
//! (date, region, service, secret) because deriving it costs four HMACs per request.

use crate::base::encode::{hex, hex_into, push_uri_encoded, UtcTime};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The payload hash that tells the server the body is not part of the signature.
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Credentials to sign with. Deliberately no `Debug`: the secret must never be printed.
pub(crate) struct Credentials<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
}

/// Where and when a signature is valid.
#[derive(Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub time: UtcTime,
    pub region: &'a str,
    pub service: &'a str,
}

impl Scope<'_> {
    pub(crate) fn credential_scope(&self) -> String {
        [self.time.date_stamp().as_str(), self.region, self.service, "aws4_request"].join("/")
    }
}

/// The parts of an HTTP request that SigV4 covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SignableRequest {
    pub method: String,
    /// Host header value, with the port when it is not the scheme's default.
    pub host: String,
    /// The request path, already encoded by [`crate::base::encode::uri_encode`] (S3 does not normalise or double-encode
    /// it).
    pub path: String,
    /// Query parameters, not encoded.
    pub query: Vec<(String, String)>,
    /// Headers to send and sign, names lower-case, `host` excluded.
    pub headers: Vec<(String, String)>,
}

/// SHA-256 of `data` as lower-case hex: the signed payload hash.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// The query string exactly as SigV4 canonicalises it: each name and value encoded, sorted, `&`-joined.
/// Requests are sent with this same string so that what is signed is what is sent.
pub(crate) fn canonical_query(query: &[(String, String)]) -> String {
    // Every name and value is encoded into one buffer; the pairs are sorted as spans of it.
    let mut buf = String::new();
    let mut spans = Vec::with_capacity(query.len());
    for (k, v) in query {
        let start = buf.len();
        push_uri_encoded(&mut buf, k, false);
        let mid = buf.len();
        push_uri_encoded(&mut buf, v, false);
        spans.push((start, mid, buf.len()));
    }
    let pair = |&(a, b, c): &(usize, usize, usize)| (&buf[a..b], &buf[b..c]);
    spans.sort_by(|x, y| pair(x).cmp(&pair(y)));
    let mut out = String::with_capacity(buf.len() + 2 * spans.len());
    for (i, span) in spans.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        let (k, v) = pair(span);
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Canonical headers block and the `;`-joined signed header names. `headers` must include `host`.
pub(crate) fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut normalised: Vec<(String, String)> =
        headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), trim_all(v))).collect();
    // By name only, and stably: the values of a repeated header join in the order they were given.
    normalised.sort_by(|a, b| a.0.cmp(&b.0));
    let mut block = String::new();
    let mut names: Vec<&str> = Vec::with_capacity(normalised.len());
    for (k, v) in &normalised {
        if names.last() == Some(&k.as_str()) {
            // Repeated header: values join with commas on one line.
            block.pop();
            block.push(',');
        } else {
            block.push_str(k);
            block.push(':');
            names.push(k);
        }
        block.push_str(v);
        block.push('\n');
    }
    (block, names.join(";"))
}

/// A header value with leading and trailing whitespace removed and inner runs squeezed to one space. Whitespace
/// is HTTP's: space and tab. A non-breaking space, or any other Unicode space, is part of the value — the server
/// reads the bytes as sent and keeps it, so trimming it here would sign a string the server never builds.
pub(crate) fn trim_all(v: &str) -> String {
    let http_space = |c: char| c == ' ' || c == '\t';
    let tidy = !v.starts_with(http_space) && !v.ends_with(http_space) && !v.contains("  ") && !v.contains('\t');
    if tidy {
        v.to_string()
    } else {
        v.split(http_space).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
    }
}

/// The request's headers plus `host`: everything SigV4 signs.
fn with_host(req: &SignableRequest) -> Vec<(String, String)> {
    let mut all = Vec::with_capacity(req.headers.len() + 1);
    all.extend(req.headers.iter().cloned());
    all.push(("host".into(), req.host.clone()));
    all
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The derived signing key for one day, region, service and secret, kept as an HMAC already keyed with it
/// (cloning that saves hashing the key pads for every signature).
struct CachedKey {
    day: (i64, u32, u32),
    region: String,
    service: String,
    /// Which secret the key came from (a SipHash of it: the secret itself is not kept).
    secret_fingerprint: u64,
    mac: Hmac<Sha256>,
}

/// What a signature covers besides the method and path, already canonical.
struct Canonical<'a> {
    query: &'a str,
    header_block: String,
    signed: String,
    payload_hash: &'a str,
}

/// The `x-amz-date` value and the credential scope, formatted once per signature.
struct Stamp {
    amz_date: String,
    scope: String,
}

impl Stamp {
    fn new(scope: &Scope) -> Self {
        Stamp { amz_date: scope.time.amz_date(), scope: scope.credential_scope() }
    }
}

/// Signs requests; keeps the last derived signing key. No `Debug`: it holds that key.
#[derive(Default)]
pub(crate) struct Signer {
    cached: Option<CachedKey>,
}

impl Signer {
    fn signing_mac(&mut self, secret: &str, scope: &Scope) -> Hmac<Sha256> {
        let day = (scope.time.year, scope.time.month, scope.time.day);
        let secret_fingerprint = {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            std::hash::Hash::hash(secret, &mut h);
            std::hash::Hasher::finish(&h)
        };
        if let Some(c) = &self.cached {
            if c.day == day
                && c.region == scope.region
                && c.service == scope.service
                && c.secret_fingerprint == secret_fingerprint
            {
                return c.mac.clone();
            }
        }
        let k_date = hmac(format!("AWS4{secret}").as_bytes(), scope.time.date_stamp().as_bytes());
        let k_region = hmac(&k_date, scope.region.as_bytes());
        let k_service = hmac(&k_region, scope.service.as_bytes());
        let key = hmac(&k_service, b"aws4_request");
        let mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC accepts keys of any length");
        self.cached = Some(CachedKey {
            day,
            region: scope.region.to_string(),
            service: scope.service.to_string(),
            secret_fingerprint,
            mac: mac.clone(),
        });
        mac
    }

    /// The signature over `req`'s method and path and what `c` holds, at `stamp`'s time and scope.
    fn signature(
        &mut self,
        creds: &Credentials,
        scope: &Scope,
        req: &SignableRequest,
        c: &Canonical,
        stamp: &Stamp,
    ) -> String {
        // The canonical request and the string to sign are hashed piece by piece, never joined into strings:
        // presigning is a hot loop (a URL per key), and in the component every allocation counts.
        let mut canonical = Sha256::new();
        for (i, part) in [req.method.as_str(), &req.path, c.query, &c.header_block, &c.signed, c.payload_hash]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                canonical.update(b"\n");
            }
            canonical.update(part.as_bytes());
        }
        let mut canonical_hex = [0u8; 64];
        hex_into(&canonical.finalize(), &mut canonical_hex);
        let mut mac = self.signing_mac(creds.secret_access_key, scope);
        for part in [ALGORITHM.as_bytes(), b"\n", stamp.amz_date.as_bytes(), b"\n", stamp.scope.as_bytes(), b"\n"] {
            mac.update(part);
        }
        mac.update(&canonical_hex);
        hex(&mac.finalize().into_bytes())
    }

    /// Header auth: adds `x-amz-date`, `x-amz-content-sha256` and (with a session token) `x-amz-security-token`
    /// to `req.headers`, then the `authorization` header that signs them all. Returns the canonical query string,
    /// which is what the request must be sent with.
    pub(crate) fn sign_headers(
        &mut self,
        creds: &Credentials,
        scope: &Scope,
        req: &mut SignableRequest,
        payload_hash: &str,
    ) -> String {
        let stamp = Stamp::new(scope);
        req.headers.push(("x-amz-date".into(), stamp.amz_date.clone()));
        req.headers.push(("x-amz-content-sha256".into(), payload_hash.into()));
        if let Some(token) = creds.session_token {
            req.headers.push(("x-amz-security-token".into(), token.into()));
        }
        let query = canonical_query(&req.query);
        let (header_block, signed) = canonical_headers(&with_host(req));
        let c = Canonical { query: &query, header_block, signed, payload_hash };
        let signature = self.signature(creds, scope, req, &c, &stamp);
        let value = format!(
            "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={signature}",
            creds.access_key_id, stamp.scope, c.signed
        );
        req.headers.push(("authorization".into(), value));
        query
    }

    /// The signature of a POST policy (already base64-encoded, as the form carries it): the policy itself is the
    /// string to sign.
    #[cfg(not(any(feature = "edge", feature = "blobstore")))]
    pub(crate) fn sign_policy(&mut self, creds: &Credentials, scope: &Scope, policy_b64: &str) -> String {
        let mut mac = self.signing_mac(creds.secret_access_key, scope);
        mac.update(policy_b64.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// Query auth: returns the URL's query string — `req.query` with the `X-Amz-*` parameters, canonical, the
    /// signature last. The headers in `req.headers` (plus `host`) are signed and must be sent unchanged by whoever
    /// uses the URL.
    pub(crate) fn presign(
        &mut self,
        creds: &Credentials,
        scope: &Scope,
        req: &SignableRequest,
        expires_seconds: u32,
    ) -> String {
        let stamp = Stamp::new(scope);
        // Most URLs sign the host alone: its block needs no sorting or folding.
        let (header_block, signed) = if req.headers.is_empty() {
            (format!("host:{}\n", trim_all(&req.host)), "host".to_string())
        } else {
            canonical_headers(&with_host(req))
        };
        let credential = [creds.access_key_id, &stamp.scope].join("/");
        let expires = expires_seconds.to_string();
        // In canonical order: Algorithm, Credential, Date, Expires, Security-Token, SignedHeaders.
        let params = [
            ("X-Amz-Algorithm", Some(ALGORITHM)),
            ("X-Amz-Credential", Some(credential.as_str())),
            ("X-Amz-Date", Some(stamp.amz_date.as_str())),
            ("X-Amz-Expires", Some(expires.as_str())),
            ("X-Amz-Security-Token", creds.session_token),
            ("X-Amz-SignedHeaders", Some(signed.as_str())),
        ];
        let params = params.iter().filter_map(|(k, v)| v.map(|v| (*k, v)));
        // Alone, they are encoded in place with no sort; with parameters of the caller's, the general
        // canonicalisation sorts them all.
        let mut query = if req.query.is_empty() {
            let mut out = String::with_capacity(384);
            for (i, (k, v)) in params.enumerate() {
                if i > 0 {
                    out.push('&');
                }
                push_uri_encoded(&mut out, k, false);
                out.push('=');
                push_uri_encoded(&mut out, v, false);
            }
            out
        } else {
            let mut all = req.query.clone();
            all.extend(params.map(|(k, v)| (k.to_string(), v.to_string())));
            canonical_query(&all)
        };
        let c = Canonical { query: &query, header_block, signed, payload_hash: UNSIGNED_PAYLOAD };
        let signature = self.signature(creds, scope, req, &c, &stamp);
        query.push_str("&X-Amz-Signature=");
        query.push_str(&signature);
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S3_CREDS: Credentials = Credentials {
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        session_token: None,
    };
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const S3_HOST: &str = "examplebucket.s3.amazonaws.com";

    fn s3_scope() -> Scope<'static> {
        Scope { time: UtcTime::from_unix(1_369_353_600), region: "us-east-1", service: "s3" }
    }

    fn req(path: &str, query: &[(&str, &str)], headers: &[(&str, &str)]) -> SignableRequest {
        SignableRequest {
            method: "GET".into(),
            host: S3_HOST.into(),
            path: path.into(),
            query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    fn signature_of(r: &SignableRequest) -> String {
        let auth = &r.headers.iter().find(|(k, _)| k == "authorization").unwrap().1;
        auth.rsplit("Signature=").next().unwrap().to_string()
    }

    #[test]
    fn aws_s3_get_object_with_range() {
        let mut r = req("/test.txt", &[], &[("range", "bytes=0-9")]);
        Signer::default().sign_headers(&S3_CREDS, &s3_scope(), &mut r, EMPTY);
        assert_eq!(signature_of(&r), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
        let auth = &r.headers.last().unwrap().1;
        assert!(auth.contains("Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"));
        assert!(auth.contains("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"));
    }

    #[test]
    fn aws_s3_get_bucket_lifecycle() {
        let mut r = req("/", &[("lifecycle", "")], &[]);
        Signer::default().sign_headers(&S3_CREDS, &s3_scope(), &mut r, EMPTY);
        assert_eq!(signature_of(&r), "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    }

    #[test]
    fn aws_s3_list_objects() {
        let mut r = req("/", &[("max-keys", "2"), ("prefix", "J")], &[]);
        Signer::default().sign_headers(&S3_CREDS, &s3_scope(), &mut r, EMPTY);
        assert_eq!(signature_of(&r), "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    }

    #[test]
    fn aws_s3_presigned_get() {
        let r = req("/test.txt", &[], &[]);
        let query = Signer::default().presign(&S3_CREDS, &s3_scope(), &r, 86_400);
        let (rest, sig) = query.rsplit_once("&X-Amz-Signature=").unwrap();
        assert_eq!(sig, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
        assert!(rest.ends_with("X-Amz-SignedHeaders=host"));
        // With a parameter of the caller's, everything is sorted together and signed so.
        let with = req("/test.txt", &[("response-content-type", "text/plain")], &[]);
        let query = Signer::default().presign(&S3_CREDS, &s3_scope(), &with, 86_400);
        let (rest, _) = query.rsplit_once("&X-Amz-Signature=").unwrap();
        assert!(rest.ends_with("X-Amz-SignedHeaders=host&response-content-type=text%2Fplain"), "{rest}");
    }

    #[test]
    fn aws_generic_get_vanilla() {
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            session_token: None,
        };
        let scope = Scope { time: UtcTime::from_unix(1_440_938_160), region: "us-east-1", service: "service" };
        let headers = vec![
            ("host".to_string(), "example.amazonaws.com".to_string()),
            ("x-amz-date".to_string(), "20150830T123600Z".to_string()),
        ];
        let req = SignableRequest { method: "GET".into(), path: "/".into(), ..SignableRequest::default() };
        let (header_block, signed) = canonical_headers(&headers);
        let c = Canonical { query: "", header_block, signed, payload_hash: EMPTY };
        let sig = Signer::default().signature(&creds, &scope, &req, &c, &Stamp::new(&scope));
        let signed = c.signed;
        assert_eq!(sig, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
        assert_eq!(signed, "host;x-amz-date");
    }

    #[test]
    fn query_values_with_reserved_characters_are_encoded_once_and_sorted() {
        let q = vec![
            ("prefix".to_string(), "a b&c=d+e/~%".to_string()),
            ("delimiter".to_string(), "/".to_string()),
            ("empty".to_string(), String::new()),
            ("a".to_string(), "2".to_string()),
            ("a".to_string(), "1".to_string()),
        ];
        assert_eq!(canonical_query(&q), "a=1&a=2&delimiter=%2F&empty=&prefix=a%20b%26c%3Dd%2Be%2F~%25");
    }

    #[test]
    fn headers_are_trimmed_folded_and_repeated_ones_joined() {
        let h = vec![
            ("X-Amz-Meta-B".to_string(), "  two   words ".to_string()),
            ("host".to_string(), "h".to_string()),
            ("x-amz-meta-a".to_string(), "1".to_string()),
            ("x-amz-meta-a".to_string(), "2".to_string()),
        ];
        let (block, signed) = canonical_headers(&h);
        assert_eq!(block, "host:h\nx-amz-meta-a:1,2\nx-amz-meta-b:two words\n");
        assert_eq!(signed, "host;x-amz-meta-a;x-amz-meta-b");
    }

    #[test]
    fn session_token_is_sent_and_signed() {
        let creds = Credentials { session_token: Some("TOKEN/+="), ..S3_CREDS };
        let mut with = req("/k", &[], &[]);
        Signer::default().sign_headers(&creds, &s3_scope(), &mut with, EMPTY);
        assert!(with.headers.iter().any(|(k, v)| k == "x-amz-security-token" && v == "TOKEN/+="));
        assert!(with.headers.last().unwrap().1.contains("x-amz-date;x-amz-security-token,"));
        let mut without = req("/k", &[], &[]);
        Signer::default().sign_headers(&S3_CREDS, &s3_scope(), &mut without, EMPTY);
        assert_ne!(signature_of(&with), signature_of(&without));

        let url_query = Signer::default().presign(&creds, &s3_scope(), &req("/k", &[], &[]), 60);
        assert!(url_query.contains("X-Amz-Security-Token=TOKEN%2F%2B%3D"));
        // The unsorted fast path gives exactly the canonical order.
        let (signed, _) = url_query.rsplit_once("&X-Amz-Signature=").unwrap();
        let pairs: Vec<(String, String)> = signed
            .split('&')
            .map(|p| p.split_once('=').unwrap())
            .map(|(k, v)| (k.to_string(), crate::base::encode::uri_decode(v).unwrap()))
            .collect();
        assert_eq!(signed, canonical_query(&pairs));
    }

    #[test]
    fn awkward_keys_change_the_signature_and_cache_follows_the_secret() {
        let mut signer = Signer::default();
        let mut sigs = Vec::new();
        for key in ["/a%20b", "/a%2Bb", "/%E6%97%A5%E6%9C%AC", "/a~b", "/a%3Db%26c"] {
            let mut r = req(key, &[], &[]);
            signer.sign_headers(&S3_CREDS, &s3_scope(), &mut r, UNSIGNED_PAYLOAD);
            sigs.push(signature_of(&r));
        }
        sigs.dedup();
        assert_eq!(sigs.len(), 5);

        let other = Credentials { secret_access_key: "another-secret", ..S3_CREDS };
        let mut a = req("/k", &[], &[]);
        let mut b = req("/k", &[], &[]);
        signer.sign_headers(&S3_CREDS, &s3_scope(), &mut a, EMPTY);
        signer.sign_headers(&other, &s3_scope(), &mut b, EMPTY);
        assert_ne!(signature_of(&a), signature_of(&b), "a cached key must not outlive its secret");
    }

    #[test]
    fn repeated_headers_keep_their_order_and_only_http_spaces_are_trimmed() {
        // The generic suite's get-header-key-duplicate: values join in the order given, not sorted.
        let headers = [
            ("My-Header1".to_string(), "value2".to_string()),
            ("My-Header1".to_string(), "value2".to_string()),
            ("My-Header1".to_string(), "value1".to_string()),
            ("host".to_string(), "example.amazonaws.com".to_string()),
        ];
        let (block, names) = canonical_headers(&headers);
        assert_eq!(block, "host:example.amazonaws.com\nmy-header1:value2,value2,value1\n");
        assert_eq!(names, "host;my-header1");
        assert_eq!(trim_all("  a \t  b  "), "a b");
        assert_eq!(trim_all("a\u{a0}b\u{a0}"), "a\u{a0}b\u{a0}", "a non-breaking space is part of the value");
        assert_eq!(trim_all("tidy value"), "tidy value");
    }
}
