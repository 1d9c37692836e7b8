//! Browser upload forms: S3's POST Object with a SigV4 policy. The policy is a JSON document of what the form may
//! do — the bucket, the key or its prefix, the size range, the content type, the signing fields — and when it
//! expires; the form carries it base64-encoded beside its signature, and the service checks every field of the
//! upload against it. Pure: the caller signs the encoded policy (`Signer::sign_policy`).

use crate::base::encode::UtcTime;
use crate::s3::multipart::MIB;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

/// The most one POST may carry (S3's limit).
pub(crate) const MAX_POST_BYTES: u64 = 5 * 1024 * MIB;

/// What the form allows, and the signing fields it must carry.
pub(crate) struct PolicyRequest<'a> {
    pub bucket: &'a str,
    /// The key, or with `key_is_prefix` the prefix every key must start with.
    pub key: &'a str,
    pub key_is_prefix: bool,
    pub max_size: Option<u64>,
    pub content_type: Option<&'a str>,
    pub expiration: UtcTime,
    /// `x-amz-date`, `YYYYMMDDTHHMMSSZ`.
    pub amz_date: &'a str,
    /// `x-amz-credential`: the access key id and the credential scope.
    pub credential: &'a str,
    pub session_token: Option<&'a str>,
}

/// The encoded policy and the form fields that go with it (all but the signature, which signs the policy).
pub(crate) struct Form {
    pub policy_b64: String,
    pub fields: Vec<(String, String)>,
}

/// The policy and fields for `r`, or why the request cannot be a form.
pub(crate) fn form(r: &PolicyRequest) -> Result<Form, String> {
    if !r.key_is_prefix {
        crate::s3::addressing::validate_key(r.key)?;
    } else if r.key.len() > crate::s3::addressing::MAX_KEY_BYTES {
        return Err(format!("the key prefix is {} bytes; keys may have at most 1024", r.key.len()));
    }
    let max = r.max_size.unwrap_or(MAX_POST_BYTES);
    if max > MAX_POST_BYTES {
        return Err(format!("--max-size {max} exceeds the {MAX_POST_BYTES} bytes one POST may carry"));
    }
    if let Some(t) = r.content_type {
        if t.is_empty() || !t.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(format!("content type {t:?} is not printable ASCII"));
        }
    }
    // The form's key field: `${filename}` is the one variable S3 fills in, from the uploaded file's name.
    let key_field = if r.key_is_prefix { format!("{}${{filename}}", r.key) } else { r.key.to_string() };
    let mut fields = vec![
        ("key".to_string(), key_field),
        ("x-amz-algorithm".to_string(), crate::s3::sigv4::ALGORITHM.to_string()),
        ("x-amz-credential".to_string(), r.credential.to_string()),
        ("x-amz-date".to_string(), r.amz_date.to_string()),
    ];
    let mut conditions: Vec<Value> = vec![
        json!({ "bucket": r.bucket }),
        if r.key_is_prefix { json!(["starts-with", "$key", r.key]) } else { json!({ "key": r.key }) },
        json!({ "x-amz-algorithm": crate::s3::sigv4::ALGORITHM }),
        json!({ "x-amz-credential": r.credential }),
        json!({ "x-amz-date": r.amz_date }),
        json!(["content-length-range", 0, max]),
    ];
    if let Some(t) = r.content_type {
        conditions.push(json!({ "Content-Type": t }));
        fields.push(("Content-Type".to_string(), t.to_string()));
    }
    if let Some(token) = r.session_token {
        conditions.push(json!({ "x-amz-security-token": token }));
        fields.push(("x-amz-security-token".to_string(), token.to_string()));
    }
    let policy = json!({ "expiration": iso8601(&r.expiration), "conditions": conditions });
    let policy_b64 = B64.encode(policy.to_string());
    fields.push(("policy".to_string(), policy_b64.clone()));
    Ok(Form { policy_b64, fields })
}

/// `2026-12-02T12:00:00.000Z`, as S3 writes policy expirations.
fn iso8601(t: &UtcTime) -> String {
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(key: &'a str, key_is_prefix: bool) -> PolicyRequest<'a> {
        PolicyRequest {
            bucket: "uploads",
            key,
            key_is_prefix,
            max_size: Some(10 * MIB),
            content_type: Some("image/png"),
            expiration: UtcTime::from_unix(1_796_176_800),
            amz_date: "20261202T010000Z",
            credential: "AKID/20261202/nyc3/s3/aws4_request",
            session_token: None,
        }
    }

    fn decoded(f: &Form) -> Value {
        serde_json::from_slice(&B64.decode(&f.policy_b64).unwrap()).unwrap()
    }

    #[test]
    fn a_prefix_form_lets_the_service_name_the_key_within_it() {
        let f = form(&request("user/42/", true)).unwrap();
        let p = decoded(&f);
        assert_eq!(p["expiration"], "2026-12-02T02:00:00.000Z");
        let conditions = p["conditions"].as_array().unwrap();
        assert!(conditions.contains(&json!(["starts-with", "$key", "user/42/"])));
        assert!(conditions.contains(&json!(["content-length-range", 0, 10 * MIB])));
        assert!(conditions.contains(&json!({ "bucket": "uploads" })));
        assert!(conditions.contains(&json!({ "Content-Type": "image/png" })));
        let field = |name: &str| f.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(field("key"), Some("user/42/${filename}"));
        assert_eq!(field("policy"), Some(f.policy_b64.as_str()));
        assert_eq!(field("x-amz-credential"), Some("AKID/20261202/nyc3/s3/aws4_request"));
        // Every field but the policy (and the key, matched by its condition) is pinned by an exact condition.
        for (name, value) in &f.fields {
            if name != "policy" && name != "key" {
                assert!(conditions.contains(&json!({ name.as_str(): value })), "{name} is in the policy");
            }
        }
    }

    #[test]
    fn an_exact_key_form_and_what_is_refused() {
        let mut r = request("docs/a.pdf", false);
        r.content_type = None;
        r.max_size = None;
        r.session_token = Some("token");
        let f = form(&r).unwrap();
        let conditions = decoded(&f)["conditions"].as_array().unwrap().clone();
        assert!(conditions.contains(&json!({ "key": "docs/a.pdf" })));
        assert!(conditions.contains(&json!(["content-length-range", 0, MAX_POST_BYTES])));
        assert!(conditions.contains(&json!({ "x-amz-security-token": "token" })));
        assert!(!f.fields.iter().any(|(n, _)| n == "Content-Type"));

        assert!(form(&request("", false)).is_err(), "an exact key must not be empty");
        assert!(form(&request("", true)).is_ok(), "an empty prefix allows any key");
        let mut big = request("k", false);
        big.max_size = Some(MAX_POST_BYTES + 1);
        assert!(form(&big).is_err_and(|e| e.contains("one POST")));
        let mut bad = request("k", false);
        bad.content_type = Some("text/plain\n");
        assert!(form(&bad).is_err());
    }
}
