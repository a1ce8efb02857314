//! `semver` and `semverCompare` with Masterminds/semver v3 rules.
#![expect(
    clippy::many_single_char_names,
    reason = "short names mirror the Go originals"
)]

use std::cmp::Ordering;
use std::sync::Arc;

use crate::funcs::conv::want_str;
use crate::funcs::{FuncError, Registry, ex};
use crate::value::{Object, Value};

/// A parsed version, exposed to templates with Masterminds' methods.
#[derive(Debug, Clone)]
pub(crate) struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    meta: String,
    original: String,
}

fn num(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn ident_ok(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

impl Version {
    pub(crate) fn parse(v: &str) -> Result<Version, String> {
        let bad = || "Invalid Semantic Version".to_string();
        let body = v.strip_prefix('v').unwrap_or(v);
        let (body, meta) = body.split_once('+').unwrap_or((body, ""));
        let (core, pre) = body.split_once('-').unwrap_or((body, ""));
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return Err(bad());
        }
        let major = num(parts[0]).ok_or_else(bad)?;
        let minor = parts.get(1).map_or(Some(0), |p| num(p)).ok_or_else(bad)?;
        let patch = parts.get(2).map_or(Some(0), |p| num(p)).ok_or_else(bad)?;
        if (!pre.is_empty() || body.contains('-')) && !ident_ok(pre) {
            return Err(bad());
        }
        if (!meta.is_empty() || v.contains('+')) && !ident_ok(meta) {
            return Err(bad());
        }
        Ok(Version {
            major,
            minor,
            patch,
            pre: pre.to_string(),
            meta: meta.to_string(),
            original: v.to_string(),
        })
    }

    fn string(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.meta.is_empty() {
            s.push('+');
            s.push_str(&self.meta);
        }
        s
    }

    pub(crate) fn compare(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| compare_pre(&self.pre, &o.pre))
    }
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (x, y): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..x.len().max(y.len()) {
        let (Some(p), Some(q)) = (x.get(i), y.get(i)) else {
            return x.len().cmp(&y.len());
        };
        let o = match (num(p), num(q)) {
            (Some(m), Some(n)) => m.cmp(&n),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => p.cmp(q),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

impl Object for Version {
    fn type_name(&self) -> &'static str {
        "*semver.Version"
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    fn call(&self, method: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let to_i = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
        let other = || -> Result<Version, String> {
            match args.first() {
                Some(Value::Object(o)) => Version::parse(&o.display()),
                Some(v) => Err(format!(
                    "wrong type for value; expected *semver.Version; got {}",
                    v.type_name()
                )),
                None => Err("wrong number of args: want 1 got 0".into()),
            }
        };
        Some(Ok(match method {
            "Major" => to_i(self.major),
            "Minor" => to_i(self.minor),
            "Patch" => to_i(self.patch),
            "Prerelease" => Value::String(self.pre.clone()),
            "Metadata" => Value::String(self.meta.clone()),
            "Original" => Value::String(self.original.clone()),
            "String" => Value::String(self.string()),
            "Compare" => match other() {
                Ok(o) => Value::Int(match self.compare(&o) {
                    Ordering::Less => -1,
                    Ordering::Equal => 0,
                    Ordering::Greater => 1,
                }),
                Err(e) => return Some(Err(e)),
            },
            "LessThan" | "GreaterThan" | "Equal" => match other() {
                Ok(o) => {
                    let c = self.compare(&o);
                    Value::Bool(match method {
                        "LessThan" => c == Ordering::Less,
                        "GreaterThan" => c == Ordering::Greater,
                        _ => c == Ordering::Equal,
                    })
                }
                Err(e) => return Some(Err(e)),
            },
            _ => return None,
        }))
    }

    fn display(&self) -> String {
        self.string()
    }
}

struct Constraint {
    op: String,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_constraint(c: &str) -> Result<Constraint, String> {
    let c = c.trim();
    let op_len = c.find(|ch: char| !"=<>!~^".contains(ch)).unwrap_or(c.len());
    let (op, ver) = c.split_at(op_len);
    let ver = ver.trim();
    let ver = ver.strip_prefix('v').unwrap_or(ver);
    let (core, tail) = match ver.find(['-', '+']) {
        Some(i) => ver.split_at(i),
        None => (ver, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let text = if parts.is_empty() || is_x(parts[0]) || parts[0].is_empty() {
        dirty = true;
        minor_dirty = true;
        patch_dirty = true;
        "0.0.0".to_string()
    } else if parts.len() < 2 || is_x(parts[1]) {
        dirty = true;
        minor_dirty = true;
        patch_dirty = true;
        format!("{}.0.0{tail}", parts[0])
    } else if parts.get(2).is_some_and(|p| is_x(p)) {
        dirty = true;
        patch_dirty = true;
        format!("{}.{}.0{tail}", parts[0], parts[1])
    } else {
        format!("{core}{tail}")
    };
    let con = Version::parse(&text).map_err(|_| format!("improper constraint: {c}"))?;
    Ok(Constraint {
        op: op.to_string(),
        con,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

fn tilde(v: &Version, c: &Constraint) -> bool {
    if v.compare(&c.con) == Ordering::Less {
        return false;
    }
    if c.con.major == 0 && c.con.minor == 0 && c.con.patch == 0 && !c.minor_dirty && !c.patch_dirty
    {
        return true;
    }
    v.major == c.con.major && (v.minor == c.con.minor || c.minor_dirty)
}

fn check(v: &Version, c: &Constraint) -> bool {
    if !v.pre.is_empty() && c.con.pre.is_empty() {
        return false;
    }
    let cmp = v.compare(&c.con);
    match c.op.as_str() {
        "" | "=" => {
            if c.dirty {
                tilde(v, c)
            } else {
                cmp == Ordering::Equal
            }
        }
        "!=" => {
            if c.dirty {
                !tilde(v, c)
            } else {
                cmp != Ordering::Equal
            }
        }
        ">" => {
            if !c.dirty {
                return cmp == Ordering::Greater;
            }
            if v.major != c.con.major {
                return v.major > c.con.major;
            }
            if c.minor_dirty {
                return false;
            }
            if c.patch_dirty {
                return v.minor > c.con.minor;
            }
            cmp == Ordering::Greater
        }
        "<" => cmp == Ordering::Less,
        ">=" | "=>" => cmp != Ordering::Less,
        "<=" | "=<" => {
            if !c.dirty {
                return cmp != Ordering::Greater;
            }
            if v.major != c.con.major {
                return v.major < c.con.major;
            }
            if c.minor_dirty {
                return true;
            }
            if c.patch_dirty {
                return v.minor <= c.con.minor;
            }
            cmp != Ordering::Greater
        }
        "~" | "~>" => tilde(v, c),
        "^" => {
            if cmp == Ordering::Less {
                return false;
            }
            if c.con.major > 0 || c.minor_dirty {
                return v.major == c.con.major;
            }
            if v.major > 0 {
                return false;
            }
            if c.con.minor > 0 || c.patch_dirty {
                return v.minor == c.con.minor;
            }
            if v.minor > 0 {
                return false;
            }
            c.con.patch == v.patch
        }
        _ => false,
    }
}

/// Whether version `v` satisfies constraint text `c` (`||` alternatives of `,`/space conjunctions).
pub(crate) fn satisfies(c: &str, v: &Version) -> Result<bool, String> {
    for alt in c.split("||") {
        let alt = alt.trim();
        // Hyphen ranges: "1.2 - 1.4.5".
        let terms: Vec<String> = if let Some((lo, hi)) = alt.split_once(" - ") {
            vec![format!(">={}", lo.trim()), format!("<={}", hi.trim())]
        } else {
            let mut out: Vec<String> = Vec::new();
            let mut pending_op = String::new();
            for t in alt.split([',', ' ']).filter(|t| !t.is_empty()) {
                if t.chars().all(|ch| "=<>!~^".contains(ch)) {
                    pending_op = t.to_string();
                    continue;
                }
                out.push(format!("{pending_op}{t}"));
                pending_op.clear();
            }
            out
        };
        if terms.is_empty() {
            return Err(format!("improper constraint: {c}"));
        }
        let mut ok = true;
        for t in &terms {
            let con = parse_constraint(t).map_err(|_| format!("improper constraint: {c}"))?;
            if !check(v, &con) {
                ok = false;
                break;
            }
        }
        if ok {
            return Ok(true);
        }
    }
    Ok(false)
}

pub(crate) fn register(r: &mut Registry) {
    r.add("semver", ex(1), |_, a| {
        let v = Version::parse(&want_str(&a, 0)?).map_err(FuncError::Call)?;
        Ok(Value::Object(Arc::new(v)))
    });
    r.add("semverCompare", ex(2), |_, a| {
        let (c, v) = (want_str(&a, 0)?, want_str(&a, 1)?);
        let v = Version::parse(&v).map_err(FuncError::Call)?;
        Ok(Value::Bool(satisfies(&c, &v).map_err(FuncError::Call)?))
    });
}
