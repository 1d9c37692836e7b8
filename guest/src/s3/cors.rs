//! A bucket's CORS rules checked before they are sent, so a mistake gets a reason rather than S3's bare
//! `MalformedXML`: at most 100 rules, each with an origin and a method, methods S3 knows, at most one `*` in an
//! origin, and header names and origins that are printable text. Pure.

use crate::s3::xml::CorsRule;

/// The most rules a bucket may hold (S3's limit).
pub(crate) const MAX_RULES: usize = 100;

/// The methods a CORS rule may allow.
pub(crate) const METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "HEAD"];

/// Why `rules` cannot be a bucket's CORS configuration, if they cannot.
pub(crate) fn validate(rules: &[CorsRule]) -> Result<(), String> {
    if rules.is_empty() {
        return Err("no CORS rules given (to remove the configuration, delete it)".into());
    }
    if rules.len() > MAX_RULES {
        return Err(format!("{} CORS rules; a bucket may hold at most {MAX_RULES}", rules.len()));
    }
    for (i, r) in rules.iter().enumerate() {
        let n = i + 1;
        if r.allowed_origins.is_empty() || r.allowed_methods.is_empty() {
            return Err(format!("CORS rule {n} needs at least one allowed origin and one allowed method"));
        }
        if let Some(m) = r.allowed_methods.iter().find(|m| !METHODS.contains(&m.as_str())) {
            return Err(format!("CORS rule {n}: method {m:?} is not one of {}", METHODS.join(", ")));
        }
        if let Some(o) = r.allowed_origins.iter().find(|o| o.matches('*').count() > 1) {
            return Err(format!("CORS rule {n}: origin {o:?} has more than one wildcard"));
        }
        let texts = r.allowed_origins.iter().chain(&r.allowed_headers).chain(&r.expose_headers);
        if let Some(t) = texts.into_iter().find(|t| t.is_empty() || !t.bytes().all(|b| (0x21..0x7f).contains(&b))) {
            return Err(format!("CORS rule {n}: {t:?} is not a printable origin or header name"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(origins: &[&str], methods: &[&str]) -> CorsRule {
        CorsRule {
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            allowed_methods: methods.iter().map(|s| s.to_string()).collect(),
            ..CorsRule::default()
        }
    }

    #[test]
    fn what_s3_would_refuse_is_refused_with_a_reason() {
        assert!(validate(&[rule(&["https://a.example", "*"], &["GET", "PUT"])]).is_ok());
        assert!(validate(&[]).is_err_and(|e| e.contains("no CORS rules")));
        assert!(validate(&[rule(&[], &["GET"])]).is_err_and(|e| e.contains("rule 1 needs")));
        assert!(validate(&[rule(&["*"], &["GET"]), rule(&["*"], &["PATCH"])]).is_err_and(|e| e.contains("rule 2")));
        assert!(validate(&[rule(&["https://*.*.example"], &["GET"])]).is_err_and(|e| e.contains("wildcard")));
        assert!(validate(&[rule(&["https://a b"], &["GET"])]).is_err_and(|e| e.contains("printable")));
        let mut with_header = rule(&["*"], &["GET"]);
        with_header.allowed_headers = vec![String::new()];
        assert!(validate(&[with_header]).is_err());
        assert!(validate(&vec![rule(&["*"], &["GET"]); MAX_RULES + 1]).is_err_and(|e| e.contains("at most 100")));
    }
}
