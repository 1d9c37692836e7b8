//! A bucket's lifecycle rules checked before they are sent: at most 1000, each with a unique name of at most 255
//! characters and at least one action (expiring objects, aborting incomplete multipart uploads), every count of
//! days at least 1. Pure.

use crate::s3::xml::LifecycleRule;

/// The most rules a bucket may hold (S3's limit).
pub(crate) const MAX_RULES: usize = 1000;

/// Why `rules` cannot be a bucket's lifecycle configuration, if they cannot.
pub(crate) fn validate(rules: &[LifecycleRule]) -> Result<(), String> {
    if rules.is_empty() {
        return Err("no lifecycle rules given (to remove the configuration, delete it)".into());
    }
    if rules.len() > MAX_RULES {
        return Err(format!("{} lifecycle rules; a bucket may hold at most {MAX_RULES}", rules.len()));
    }
    for (i, r) in rules.iter().enumerate() {
        let n = i + 1;
        if r.id.is_empty() || r.id.chars().count() > 255 {
            return Err(format!("lifecycle rule {n} needs a name of 1 to 255 characters"));
        }
        if rules[..i].iter().any(|earlier| earlier.id == r.id) {
            return Err(format!("lifecycle rule {n}: the name {:?} is used twice", r.id));
        }
        if r.expire_days.is_none() && r.abort_incomplete_days.is_none() {
            return Err(format!("lifecycle rule {:?} does nothing: give it expiry days, abort days, or both", r.id));
        }
        if r.expire_days == Some(0) || r.abort_incomplete_days == Some(0) {
            return Err(format!("lifecycle rule {:?}: days must be at least 1", r.id));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, expire: Option<u32>, abort: Option<u32>) -> LifecycleRule {
        LifecycleRule {
            id: id.into(),
            enabled: true,
            expire_days: expire,
            abort_incomplete_days: abort,
            ..Default::default()
        }
    }

    #[test]
    fn rules_that_do_nothing_or_clash_are_refused() {
        assert!(validate(&[rule("a", Some(30), None), rule("b", None, Some(1))]).is_ok());
        assert!(validate(&[]).is_err());
        assert!(validate(&[rule("", Some(1), None)]).is_err_and(|e| e.contains("name")));
        assert!(validate(&[rule("a", Some(1), None), rule("a", None, Some(2))]).is_err_and(|e| e.contains("twice")));
        assert!(validate(&[rule("a", None, None)]).is_err_and(|e| e.contains("does nothing")));
        assert!(validate(&[rule("a", Some(0), None)]).is_err_and(|e| e.contains("at least 1")));
        assert!(validate(&[rule(&"x".repeat(256), Some(1), None)]).is_err());
    }
}
