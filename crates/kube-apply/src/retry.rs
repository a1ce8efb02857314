//! Retrying transient API failures with exponential backoff.

use std::time::Duration;

/// How transient failures (429, 5xx, dropped connections, timeouts) are retried.
///
/// Defaults: 6 attempts in all, backoff starting at 200ms and doubling up to 5s, a `Retry-After`
/// from the server honoured up to 30s, each request abandoned after 30s.
#[derive(Debug, Clone)]
pub struct RetryOptions {
    /// Attempts per request, the first included; at least 1.
    pub attempts: u32,
    /// Delay before the first retry; doubled after each one.
    pub initial_backoff: Duration,
    /// Cap of the doubling backoff.
    pub max_backoff: Duration,
    /// Cap of a server's `Retry-After`.
    pub max_retry_after: Duration,
    /// Time limit of one request (a slower answer counts as a transient failure).
    pub request_timeout: Duration,
}

impl Default for RetryOptions {
    fn default() -> Self {
        RetryOptions {
            attempts: 6,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryOptions {
    /// The delay before retry number `retry` (1-based), or the server's `Retry-After` if it gave one.
    pub(crate) fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_retry_after);
        }
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Whether an HTTP status is worth retrying: throttling and server-side trouble.
pub(crate) fn transient_status(code: u16) -> bool {
    matches!(code, 429 | 500 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_retry_after_wins() {
        let r = RetryOptions::default();
        assert_eq!(r.delay(1, None), Duration::from_millis(200));
        assert_eq!(r.delay(2, None), Duration::from_millis(400));
        assert_eq!(r.delay(10, None), Duration::from_secs(5));
        assert_eq!(
            r.delay(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            r.delay(1, Some(Duration::from_secs(999))),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn only_throttling_and_server_errors_are_transient() {
        for code in [429, 500, 502, 503, 504] {
            assert!(transient_status(code), "{code}");
        }
        for code in [400, 403, 404, 409, 415, 422] {
            assert!(!transient_status(code), "{code}");
        }
    }
}
