//! Dates on a fixed clock, Go durations, and Helm's duration helpers.
#![expect(
    clippy::many_single_char_names,
    reason = "short names mirror the Go originals"
)]

use std::sync::Arc;

use crate::funcs::conv::want_str;
use crate::funcs::{Ctx, FResult, FuncError, Registry, ex};
use crate::value::{Object, Value};

mod goduration;
mod layout;

pub(crate) use goduration::{dur_string, parse_duration};

/// A `time.Time` in UTC (the only zone a sandbox has).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Time {
    pub(crate) secs: i64,
    pub(crate) nanos: u32,
}

impl Object for Time {
    fn type_name(&self) -> &'static str {
        "time.Time"
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    fn call(&self, method: &str, args: &[Value]) -> Option<Result<Value, String>> {
        Some(Ok(match method {
            "Unix" => Value::Int(self.secs),
            "UnixNano" => {
                Value::Int(self.secs.saturating_mul(1_000_000_000) + i64::from(self.nanos))
            }
            "Year" => Value::Int(layout::civil(self.secs).0),
            "Format" => match args.first() {
                Some(Value::String(f)) => Value::String(layout::format(self, f)),
                _ => return Some(Err("wrong type for value; expected string".into())),
            },
            "String" => Value::String(self.display()),
            _ => return None,
        }))
    }

    fn display(&self) -> String {
        layout::format(self, "2006-01-02 15:04:05.999999999 -0700 MST")
    }
}

/// A `time.Duration` (nanoseconds), printed as Go prints it (`1m30s`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Duration(pub(crate) i64);

impl Object for Duration {
    fn type_name(&self) -> &'static str {
        "time.Duration"
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    #[expect(
        clippy::cast_precision_loss,
        reason = "Go's Duration methods convert the same way"
    )]
    fn call(&self, method: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        let d = self.0;
        Some(Ok(match method {
            "Seconds" => Value::Float(d as f64 / 1e9),
            "Minutes" => Value::Float(d as f64 / 6e10),
            "Hours" => Value::Float(d as f64 / 3.6e12),
            "Milliseconds" => Value::Int(d / 1_000_000),
            "Nanoseconds" => Value::Int(d),
            "String" => Value::String(dur_string(d)),
            _ => return None,
        }))
    }

    fn truthy(&self) -> bool {
        self.0 != 0
    }

    fn display(&self) -> String {
        dur_string(self.0)
    }
}

fn time_of(v: &Value, now: i64) -> Time {
    match v {
        Value::Int(i) | Value::Int64(i) => Time { secs: *i, nanos: 0 },
        Value::Object(o) if o.type_name() == "time.Time" => {
            let n = o.call("UnixNano", &[]).and_then(Result::ok);
            match n {
                Some(Value::Int(n)) => Time {
                    secs: n.div_euclid(1_000_000_000),
                    nanos: u32::try_from(n.rem_euclid(1_000_000_000)).unwrap_or(0),
                },
                _ => Time {
                    secs: now,
                    nanos: 0,
                },
            }
        }
        _ => Time {
            secs: now,
            nanos: 0,
        },
    }
}

fn obj<T: Object + 'static>(t: T) -> Value {
    Value::Object(Arc::new(t))
}

/// Helm's `asDuration`.
fn as_duration(v: &Value) -> Result<i64, String> {
    const NS: f64 = 1e9;
    let from_secs_f = |f: f64| -> Result<i64, String> {
        if !f.is_finite() {
            return Err(format!("invalid duration seconds: {f}"));
        }
        let n = f * NS;
        if n.abs() >= 9.2e18 {
            return Err(format!("duration seconds overflow: {f}"));
        }
        #[expect(clippy::cast_possible_truncation, reason = "range checked above")]
        Ok(n as i64)
    };
    match v {
        Value::Object(o) if o.type_name() == "time.Duration" => parse_duration(&o.display()),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Err("empty duration".into());
            }
            if let Ok(d) = parse_duration(t) {
                return Ok(d);
            }
            match t.parse::<f64>() {
                Ok(f) => from_secs_f(f),
                Err(_) => Err(format!("could not parse duration {s:?}")),
            }
        }
        Value::Nil => Err("invalid duration".into()),
        Value::Int(i) | Value::Int64(i) => i
            .checked_mul(1_000_000_000)
            .ok_or_else(|| format!("duration seconds overflow: {i}")),
        Value::Float(f) => from_secs_f(*f),
        other => Err(format!("unsupported duration type {}", other.type_name())),
    }
}

#[expect(
    clippy::cast_precision_loss,
    reason = "Go's Duration methods convert the same way"
)]
#[expect(
    clippy::unnecessary_wraps,
    reason = "matches the function table's result type"
)]
fn dur_f(a: &[Value], div: f64) -> FResult {
    Ok(Value::Float(
        as_duration(&a[0]).map_or(0.0, |d| d as f64 / div),
    ))
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "matches the function table's result type"
)]
fn dur_i(a: &[Value], div: i64) -> FResult {
    Ok(Value::Int(as_duration(&a[0]).map_or(0, |d| d / div)))
}

fn round_to(d: i64, m: i64) -> i64 {
    if m <= 0 {
        return d;
    }
    let mut r = d % m;
    if d < 0 {
        r = -r;
        if r + r < m {
            return d + r;
        }
        return d.checked_sub(m - r).unwrap_or(i64::MIN);
    }
    if r + r < m {
        return d - r;
    }
    d.checked_add(m - r).unwrap_or(i64::MAX)
}

pub(crate) fn register(r: &mut Registry) {
    r.add("now", ex(0), |c, _| {
        Ok(obj(Time {
            secs: c.now(),
            nanos: 0,
        }))
    });
    r.add("date", ex(2), |c, a| {
        Ok(Value::String(layout::format(
            &time_of(&a[1], c.now()),
            &want_str(&a, 0)?,
        )))
    });
    r.add("dateInZone", ex(3), date_in_zone);
    r.add("date_in_zone", ex(3), date_in_zone);
    r.add("htmlDate", ex(1), |c, a| {
        Ok(Value::String(layout::format(
            &time_of(&a[0], c.now()),
            "2006-01-02",
        )))
    });
    r.add("htmlDateInZone", ex(2), |c, a| {
        Ok(Value::String(layout::format(
            &time_of(&a[0], c.now()),
            "2006-01-02",
        )))
    });
    r.add("unixEpoch", ex(1), |c, a| {
        Ok(Value::String(time_of(&a[0], c.now()).secs.to_string()))
    });
    r.add("dateModify", ex(2), |c, a| date_modify(c, &a, false));
    r.add("mustDateModify", ex(2), |c, a| date_modify(c, &a, true));
    r.add("date_modify", ex(2), |c, a| date_modify(c, &a, false));
    r.add("must_date_modify", ex(2), |c, a| date_modify(c, &a, true));
    r.add("toDate", ex(2), |_, a| {
        Ok(
            layout::parse(&want_str(&a, 0)?, &want_str(&a, 1)?).map_or_else(
                |_| {
                    obj(Time {
                        secs: -62_135_596_800,
                        nanos: 0,
                    })
                },
                obj,
            ),
        )
    });
    r.add("mustToDate", ex(2), |_, a| {
        layout::parse(&want_str(&a, 0)?, &want_str(&a, 1)?)
            .map(obj)
            .map_err(FuncError::Call)
    });
    r.add("ago", ex(1), |c, a| {
        let t = time_of(&a[0], c.now());
        let d = (c.now() - t.secs).saturating_mul(1_000_000_000);
        Ok(Value::String(dur_string(round_to(d, 1_000_000_000))))
    });
    // Sprig's `duration` takes seconds as a string or an int64 only: any other
    // type (a template's int constant, a float from values) counts as 0.
    r.add("duration", ex(1), |_, a| {
        let secs = match &a[0] {
            Value::String(s) => s.parse::<i64>().unwrap_or(0),
            Value::Int64(i) => *i,
            _ => 0,
        };
        Ok(Value::String(dur_string(
            secs.saturating_mul(1_000_000_000),
        )))
    });
    r.add("durationRound", ex(1), |c, a| {
        let d = match &a[0] {
            Value::String(s) => parse_duration(s).unwrap_or(0),
            Value::Int(i) | Value::Int64(i) => *i,
            v @ Value::Object(_) => {
                (c.now() - time_of(v, c.now()).secs).saturating_mul(1_000_000_000)
            }
            _ => 0,
        };
        Ok(Value::String(duration_round(d)))
    });
    r.add("mustToDuration", ex(1), |_, a| {
        Ok(obj(Duration(as_duration(&a[0])?)))
    });
    r.add("durationSeconds", ex(1), |_, a| dur_f(&a, 1e9));
    r.add("durationMilliseconds", ex(1), |_, a| dur_i(&a, 1_000_000));
    r.add("durationMicroseconds", ex(1), |_, a| dur_i(&a, 1_000));
    r.add("durationNanoseconds", ex(1), |_, a| dur_i(&a, 1));
    r.add("durationMinutes", ex(1), |_, a| dur_f(&a, 6e10));
    r.add("durationHours", ex(1), |_, a| dur_f(&a, 3.6e12));
    r.add("durationDays", ex(1), |_, a| dur_f(&a, 8.64e13));
    r.add("durationWeeks", ex(1), |_, a| dur_f(&a, 6.048e14));
    r.add("durationRoundTo", ex(2), |_, a| {
        Ok(obj(Duration(match as_duration(&a[0]) {
            Err(_) => 0,
            Ok(d) => as_duration(&a[1]).map_or(d, |m| round_to(d, m)),
        })))
    });
    r.add("durationTruncateTo", ex(2), |_, a| {
        Ok(obj(Duration(match as_duration(&a[0]) {
            Err(_) => 0,
            Ok(d) => as_duration(&a[1]).map_or(d, |m| if m <= 0 { d } else { d - d % m }),
        })))
    });
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "the function table passes arguments by value"
)]
fn date_in_zone(c: &Ctx<'_>, a: Vec<Value>) -> FResult {
    let f = want_str(&a, 0)?;
    let _zone = want_str(&a, 2)?;
    Ok(Value::String(layout::format(&time_of(&a[1], c.now()), &f)))
}

fn date_modify(c: &Ctx<'_>, a: &[Value], must: bool) -> FResult {
    let m = want_str(a, 0)?;
    let t = time_of(&a[1], c.now());
    match parse_duration(&m) {
        Ok(d) => {
            let total = i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos) + i128::from(d);
            let secs = i64::try_from(total.div_euclid(1_000_000_000)).unwrap_or(0);
            let nanos = u32::try_from(total.rem_euclid(1_000_000_000)).unwrap_or(0);
            Ok(obj(Time { secs, nanos }))
        }
        Err(e) if must => Err(FuncError::Call(e)),
        Err(_) => Ok(obj(t)),
    }
}

fn duration_round(d: i64) -> String {
    let u = d.unsigned_abs();
    let hour: u64 = 3_600_000_000_000;
    let (year, month, day, minute, second) = (
        hour * 24 * 365,
        hour * 24 * 30,
        hour * 24,
        60_000_000_000,
        1_000_000_000,
    );
    if u > year {
        format!("{}y", u / year)
    } else if u > month {
        format!("{}mo", u / month)
    } else if u > day {
        format!("{}d", u / day)
    } else if u > hour {
        format!("{}h", u / hour)
    } else if u > minute {
        format!("{}m", u / minute)
    } else if u > second {
        format!("{}s", u / second)
    } else {
        "0s".into()
    }
}
