//! Per-call resource limits.

use std::time::Duration;

/// Bounds on one plugin call.
///
/// Defaults: 512 MiB of linear memory, 30 s of run time, 64 MiB of output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest linear memory a plugin may grow to, in bytes.
    pub memory: usize,
    /// Wall-clock time a call may run before it is interrupted.
    pub time: Duration,
    /// Largest total size of the resources a call may return, in bytes.
    pub output: usize,
}

impl Limits {
    /// Default memory cap: 512 MiB.
    pub const DEFAULT_MEMORY: usize = 512 << 20;
    /// Default time bound: 30 s.
    pub const DEFAULT_TIME: Duration = Duration::from_secs(30);
    /// Default output cap: 64 MiB.
    pub const DEFAULT_OUTPUT: usize = 64 << 20;
    /// The longest time bound a duration may give: one day. Longer ones are
    /// refused rather than wrapped or clamped.
    pub const MAX_TIME: Duration = Duration::from_hours(24);
    /// The most resources one call may return (each costs the host far more
    /// memory than its bytes).
    pub const MAX_RESOURCES: usize = 100_000;
    /// The most diagnostics one call may report; the rest are dropped with a
    /// note.
    pub const MAX_DIAGNOSTICS: usize = 1_000;
    /// The most text (log lines, diagnostics, error messages) one call may
    /// hand the host for display; the rest is dropped with a note.
    pub const MAX_TEXT: usize = 1 << 20;
    /// The longest single message (log line, diagnostic, error) kept.
    pub const MAX_MESSAGE: usize = 8 << 10;

    /// The most JSON values (objects, arrays, strings, numbers, ...) one
    /// call's resources may hold together: a value of two bytes (`0,`)
    /// takes the host tens of bytes once parsed, so the output cap alone
    /// would let 64 MiB of output take gigabytes. At least 4 million
    /// (about what 64 MiB of real manifests holds), more when the output
    /// cap is raised (one per 16 bytes of it).
    pub fn max_values(&self) -> usize {
        (self.output / 16).max(4_000_000)
    }
}

/// How many JSON values `doc`, a JSON text, holds at most: one, plus one
/// per `,`, `[` and `{` outside strings. Counted on the bytes, without
/// parsing.
pub(crate) fn json_values(doc: &str) -> usize {
    let mut count = 1usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in doc.as_bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else {
            match b {
                b'"' => in_string = true,
                b',' | b'[' | b'{' => count += 1,
                _ => {}
            }
        }
    }
    count
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory: Self::DEFAULT_MEMORY,
            time: Self::DEFAULT_TIME,
            output: Self::DEFAULT_OUTPUT,
        }
    }
}

/// Parses a size like `512MiB`, `64M`, `1GiB`, `4096` (bytes).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("`{text}` is not a size (e.g. 512MiB)"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit (use KiB, MiB or GiB)"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// Parses a duration like `30s`, `500ms`, `2m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let too_long = || {
        format!(
            "`{text}` is longer than the maximum of {}h",
            Limits::MAX_TIME.as_secs() / 3600
        )
    };
    if num.is_empty() {
        return Err(format!("`{text}` is not a duration (e.g. 30s)"));
    }
    // A number too large for u64 is too long, not malformed.
    let n: u64 = num.parse().map_err(|_| too_long())?;
    let duration = match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" | "" => Some(Duration::from_secs(n)),
        "m" => n.checked_mul(60).map(Duration::from_secs),
        _ => return Err(format!("`{text}` has an unknown unit (use ms, s or m)")),
    };
    match duration {
        Some(Duration::ZERO) => Err(format!(
            "`{text}` is no time at all; give a duration above zero (e.g. 30s)"
        )),
        Some(d) if d <= Limits::MAX_TIME => Ok(d),
        _ => Err(too_long()),
    }
}

/// The epoch deadline, in ticks of `tick`, of a call bounded by `time`: at
/// least one tick, and never so many that adding it to the engine's epoch
/// could overflow.
pub(super) fn epoch_ticks(time: Duration, tick: Duration) -> u64 {
    let ticks = time.as_micros().div_ceil(tick.as_micros().max(1)).max(1);
    u64::try_from(ticks).unwrap_or(u64::MAX).min(u64::MAX / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_are_counted_outside_strings() {
        assert_eq!(json_values(r#"{"a":[0,0,0]}"#), 5);
        assert_eq!(json_values(r#"{"a":"x,[{\",y"}"#), 2);
        assert_eq!(json_values("{}"), 2);
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("12 parsecs").is_err());
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_mins(2)));
        assert!(parse_duration("soon").is_err());
    }

    /// Regression test for issue #12: `307445734561825861m` wrapped to 44 s.
    #[test]
    fn huge_numbers_fail_instead_of_wrapping() {
        for text in [
            "307445734561825861m",
            "18446744073709551615m",
            "18446744073709551616s",
            "99999999999999999999999ms",
            "86401s",
        ] {
            let err = parse_duration(text).expect_err(text);
            assert!(err.contains("longer than the maximum"), "{text}: {err}");
        }
        assert_eq!(parse_duration("1440m"), Ok(Limits::MAX_TIME));
        // Nothing a call could finish in, and what a typo makes of a number.
        for text in [
            "0s", "0", "0ms", "00m", "-1s", "+5s", "1e309", "1.5s", "30S", "1s1s", "", " ",
        ] {
            assert!(parse_duration(text).is_err(), "{text}");
        }
        assert!(parse_duration("0s").unwrap_err().contains("above zero"));
        assert!(parse_size("18446744073709551616").is_err());
        assert!(parse_size("17179869184GiB").is_err());
        let tick = Duration::from_millis(5);
        assert_eq!(epoch_ticks(Duration::MAX, tick), u64::MAX / 2);
        assert_eq!(epoch_ticks(Duration::ZERO, tick), 1);
        assert_eq!(epoch_ticks(Duration::from_secs(1), tick), 200);
    }
}
