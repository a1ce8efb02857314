//! Fault injection: latency, error statuses (429 with `Retry-After`, 5xx) and dropped connections,
//! selected by verb or path, for the first N matching requests or every Nth.

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a fault does to a request it selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Delay the request, then serve it normally.
    Latency(Duration),
    /// Answer with this status code and a `metav1.Status` body (429 carries `Retry-After`).
    Status(u16),
    /// Close the connection without a response.
    Drop,
}

/// One fault rule. Built with [`Fault::latency`], [`Fault::status`] or [`Fault::drop`], narrowed
/// with the setters, or parsed from the CLI form with [`Fault::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub action: Action,
    /// An HTTP method (`PATCH`, upper case) or a Kubernetes verb (`apply`, `patch`, `list`,
    /// lower case); any when `None`.
    pub verb: Option<String>,
    /// A substring of the request path; any when `None`.
    pub path: Option<String>,
    /// Fire for at most this many matching requests.
    pub count: Option<u64>,
    /// Fire on every Nth matching request only.
    pub every: Option<u64>,
    /// Seconds for the `Retry-After` header of a 429 (default 1).
    pub retry_after: u64,
}

/// Why a `--fault` spec was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error(
        "fault {spec:?}: unknown action {action:?}: use latency=DURATION, drop, or an HTTP status like 429 or 503"
    )]
    Action { spec: String, action: String },
    #[error(
        "fault {spec:?}: bad option {option:?}: use count=N, every=N, verb=METHOD, path=SUBSTRING or retry-after=SECONDS"
    )]
    Option { spec: String, option: String },
    #[error("fault {spec:?}: bad duration {value:?}: use a number with ms or s, like 200ms")]
    Duration { spec: String, value: String },
}

fn parse_duration(s: &str) -> Option<Duration> {
    if let Some(ms) = s.strip_suffix("ms") {
        ms.parse().ok().map(Duration::from_millis)
    } else if let Some(secs) = s.strip_suffix('s') {
        secs.parse::<f64>()
            .ok()
            .filter(|v| *v >= 0.0)
            .map(Duration::from_secs_f64)
    } else {
        None
    }
}

impl Fault {
    fn new(action: Action) -> Fault {
        Fault {
            action,
            verb: None,
            path: None,
            count: None,
            every: None,
            retry_after: 1,
        }
    }

    pub fn latency(delay: Duration) -> Fault {
        Fault::new(Action::Latency(delay))
    }

    pub fn status(code: u16) -> Fault {
        Fault::new(Action::Status(code))
    }

    pub fn drop_connection() -> Fault {
        Fault::new(Action::Drop)
    }

    #[must_use]
    pub fn verb(mut self, verb: &str) -> Fault {
        self.verb = Some(verb.to_owned());
        self
    }

    #[must_use]
    pub fn path(mut self, path: &str) -> Fault {
        self.path = Some(path.to_owned());
        self
    }

    #[must_use]
    pub fn count(mut self, n: u64) -> Fault {
        self.count = Some(n);
        self
    }

    #[must_use]
    pub fn every(mut self, n: u64) -> Fault {
        self.every = Some(n.max(1));
        self
    }

    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Fault {
        self.retry_after = seconds;
        self
    }

    /// Parses `latency=200ms`, `429:every=3`, `503:count=2:verb=PATCH`, `drop:count=1`,
    /// `500:path=/api/v1/namespaces/default/configmaps`.
    pub fn parse(spec: &str) -> Result<Fault, Error> {
        let mut parts = spec.split(':');
        let action = parts.next().unwrap_or_default();
        let mut fault = if let Some(d) = action.strip_prefix("latency=") {
            let delay = parse_duration(d).ok_or_else(|| Error::Duration {
                spec: spec.to_owned(),
                value: d.to_owned(),
            })?;
            Fault::latency(delay)
        } else if action == "drop" {
            Fault::drop_connection()
        } else if let Ok(code @ 400..=599) = action.parse::<u16>() {
            Fault::status(code)
        } else {
            return Err(Error::Action {
                spec: spec.to_owned(),
                action: action.to_owned(),
            });
        };
        for option in parts {
            let bad = || Error::Option {
                spec: spec.to_owned(),
                option: option.to_owned(),
            };
            let (key, value) = option.split_once('=').ok_or_else(bad)?;
            match key {
                "count" => fault.count = Some(value.parse().map_err(|_| bad())?),
                "every" => fault.every = Some(value.parse::<u64>().map_err(|_| bad())?.max(1)),
                "verb" => fault.verb = Some(value.to_owned()),
                "path" => fault.path = Some(value.to_owned()),
                "retry-after" => fault.retry_after = value.parse().map_err(|_| bad())?,
                _ => return Err(bad()),
            }
        }
        Ok(fault)
    }

    fn selects(&self, method: &str, verb: &str, path: &str) -> bool {
        let verb_ok = self
            .verb
            .as_deref()
            .is_none_or(|v| v == method || v == verb);
        verb_ok && self.path.as_deref().is_none_or(|p| path.contains(p))
    }
}

#[derive(Debug)]
struct Rule {
    fault: Fault,
    seen: u64,
    fired: u64,
}

/// What the faults decided for one request.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decision {
    pub delay: Duration,
    /// `Some(Action::Status(..))` or `Some(Action::Drop)` replaces the normal answer.
    pub outcome: Option<Action>,
    pub retry_after: u64,
}

/// The live set of fault rules of a server; cheap to clone, changes apply to the next request.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Mutex<Vec<Rule>>>);

impl Faults {
    /// Adds a rule.
    pub fn add(&self, fault: Fault) {
        self.lock().push(Rule {
            fault,
            seen: 0,
            fired: 0,
        });
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// How many times the rules fired, in the order they were added.
    pub fn fired(&self) -> Vec<u64> {
        self.lock().iter().map(|r| r.fired).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Rule>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Decides the fate of a request (`method` is the HTTP method, `verb` the Kubernetes verb).
    pub fn decide(&self, method: &str, verb: &str, path: &str) -> Decision {
        let mut decision = Decision::default();
        for rule in self.lock().iter_mut() {
            if !rule.fault.selects(method, verb, path) {
                continue;
            }
            rule.seen += 1;
            let on_turn = rule.fault.every.is_none_or(|n| rule.seen % n == 0);
            let left = rule.fault.count.is_none_or(|n| rule.fired < n);
            let blocked =
                decision.outcome.is_some() && !matches!(rule.fault.action, Action::Latency(_));
            if !(on_turn && left) || blocked {
                continue;
            }
            rule.fired += 1;
            match &rule.fault.action {
                Action::Latency(d) => decision.delay += *d,
                other => {
                    decision.outcome = Some(other.clone());
                    decision.retry_after = rule.fault.retry_after;
                }
            }
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cli_specs() {
        assert_eq!(
            Fault::parse("latency=200ms"),
            Ok(Fault::latency(Duration::from_millis(200)))
        );
        assert_eq!(Fault::parse("429:every=3"), Ok(Fault::status(429).every(3)));
        assert_eq!(
            Fault::parse("503:count=2:verb=PATCH"),
            Ok(Fault::status(503).count(2).verb("PATCH"))
        );
        assert_eq!(
            Fault::parse("drop:count=1"),
            Ok(Fault::drop_connection().count(1))
        );
        assert!(matches!(Fault::parse("teapot"), Err(Error::Action { .. })));
        assert!(matches!(
            Fault::parse("503:often"),
            Err(Error::Option { .. })
        ));
        assert!(matches!(
            Fault::parse("latency=2h"),
            Err(Error::Duration { .. })
        ));
    }

    #[test]
    fn count_and_every_select_requests() {
        let faults = Faults::default();
        faults.add(Fault::status(503).count(2).verb("PATCH"));
        faults.add(Fault::status(429).every(3));
        let outcomes: Vec<Option<Action>> = (0..6)
            .map(|_| faults.decide("PATCH", "patch", "/x").outcome)
            .collect();
        assert_eq!(outcomes[0], Some(Action::Status(503)));
        assert_eq!(outcomes[1], Some(Action::Status(503)));
        assert_eq!(outcomes[2], Some(Action::Status(429)));
        assert_eq!(outcomes[3], None);
        assert_eq!(outcomes[4], None);
        assert_eq!(outcomes[5], Some(Action::Status(429)));
        assert_eq!(faults.decide("GET", "get", "/x").outcome, None);
        let by_verb = Faults::default();
        by_verb.add(Fault::status(500).verb("patch"));
        assert_eq!(by_verb.decide("PATCH", "apply", "/x").outcome, None);
        assert_eq!(
            by_verb.decide("PATCH", "patch", "/x").outcome,
            Some(Action::Status(500))
        );
        assert_eq!(faults.fired(), vec![2, 2]);
    }
}
