//! The retry policy: which failures are worth another attempt and how long to wait before it. Exponential backoff
//! with full jitter, capped per wait, in attempts and in total time; `Retry-After` is honoured as a floor.
//! Pure: the caller supplies the random number and the elapsed time, and does the sleeping.

/// Limits of retrying. See `retry-policy` in the WIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    pub max_elapsed_ms: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { max_attempts: 5, base_delay_ms: 100, max_delay_ms: 5_000, max_elapsed_ms: 30_000 }
    }
}

impl Policy {
    /// The caller's policy from the WIT config, or `default`; checked either way.
    pub(crate) fn from_config(
        given: Option<&crate::spaces::storage::types::RetryPolicy>,
        default: Policy,
    ) -> Result<Policy, String> {
        let policy = match given {
            Some(r) => Policy {
                max_attempts: r.max_attempts,
                base_delay_ms: r.base_delay_ms.into(),
                max_delay_ms: r.max_delay_ms.into(),
                max_elapsed_ms: r.max_elapsed_ms.into(),
            },
            None => default,
        };
        policy.validate()?;
        Ok(policy)
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.max_attempts == 0 || self.max_attempts > 100 {
            return Err(format!("retry max-attempts must be 1..=100, got {}", self.max_attempts));
        }
        if self.base_delay_ms > self.max_delay_ms {
            return Err("retry base-delay-ms must not exceed max-delay-ms".into());
        }
        Ok(())
    }

    /// How long to wait before attempt `attempts_made + 1`, or `None` to give up.
    /// `random` is any uniformly distributed number (wasi:random in the component).
    pub(crate) fn next_delay(
        &self,
        attempts_made: u32,
        elapsed_ms: u64,
        retry_after_ms: Option<u64>,
        random: u64,
    ) -> Option<u64> {
        if attempts_made >= self.max_attempts {
            return None;
        }
        let exp = attempts_made.saturating_sub(1).min(32);
        let ceiling = self.base_delay_ms.saturating_mul(1u64 << exp).min(self.max_delay_ms);
        let jittered = random % (ceiling + 1);
        let delay = jittered.max(retry_after_ms.unwrap_or(0));
        if elapsed_ms.saturating_add(delay) > self.max_elapsed_ms {
            return None;
        }
        Some(delay)
    }
}

/// Whether an HTTP answer is transient. Never 4xx other than 408 and 429, except S3's own transient codes.
pub(crate) fn is_retryable(status: u16, s3_code: Option<&str>) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
        || matches!(s3_code, Some("SlowDown" | "RequestTimeout" | "InternalError" | "ServiceUnavailable"))
}

/// `Retry-After` as delta-seconds, in milliseconds. An HTTP-date is not worth a clock comparison here.
pub(crate) fn parse_retry_after(value: &str) -> Option<u64> {
    value.trim().parse::<u64>().ok().map(|s| s.min(3_600) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_grows_exponentially_and_is_capped() {
        let p = Policy { max_attempts: 10, base_delay_ms: 100, max_delay_ms: 1_000, max_elapsed_ms: 60_000 };
        // The random number picks a wait in [0, ceiling]; ceilings run 100, 200, 400, 800, then the 1 s cap.
        assert_eq!(p.next_delay(1, 0, None, 100), Some(100));
        assert_eq!(p.next_delay(3, 0, None, 400), Some(400));
        assert_eq!(p.next_delay(3, 0, None, 401), Some(0), "full jitter wraps into [0, ceiling]");
        assert_eq!(p.next_delay(8, 0, None, 1_000), Some(1_000));
        assert_eq!(p.next_delay(1, 0, None, 0), Some(0));
    }

    #[test]
    fn gives_up_on_attempts_or_elapsed_time() {
        let p = Policy { max_attempts: 3, base_delay_ms: 100, max_delay_ms: 1_000, max_elapsed_ms: 500 };
        assert!(p.next_delay(2, 0, None, 7).is_some());
        assert_eq!(p.next_delay(3, 0, None, 7), None);
        assert_eq!(p.next_delay(1, 450, None, 99), None, "would pass max-elapsed");
        assert_eq!(p.next_delay(1, 0, Some(2_000), 0), None, "Retry-After beyond the budget");
    }

    #[test]
    fn retry_after_is_a_floor() {
        let p = Policy::default();
        assert_eq!(p.next_delay(1, 0, Some(3_000), 5), Some(3_000));
        assert_eq!(parse_retry_after(" 2 "), Some(2_000));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("999999"), Some(3_600_000));
    }

    #[test]
    fn which_answers_are_transient() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable(s, None), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 412, 416, 501] {
            assert!(!is_retryable(s, None), "{s}");
        }
        assert!(is_retryable(503, Some("SlowDown")));
        assert!(is_retryable(400, Some("RequestTimeout")));
        assert!(!is_retryable(400, Some("BadDigest")));
        assert!(!is_retryable(403, Some("SignatureDoesNotMatch")));
    }

    #[test]
    fn validation() {
        assert!(Policy::default().validate().is_ok());
        assert!(Policy { max_attempts: 0, ..Policy::default() }.validate().is_err());
        assert!(Policy { base_delay_ms: 10, max_delay_ms: 5, ..Policy::default() }.validate().is_err());
    }
}
