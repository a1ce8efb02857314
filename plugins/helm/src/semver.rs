//! Semantic versions and the constraint ranges Helm accepts
//! (`^1.2`, `~1.2.3`, `>= 1.0, < 2`, `1.x`, `1 - 2`, `a || b`).

use std::cmp::Ordering;

/// A parsed version (a leading `v` and missing minor/patch allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    pub(crate) major: u64,
    pub(crate) minor: u64,
    pub(crate) patch: u64,
    pub(crate) pre: String,
}

impl Version {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let s = s.split_once('+').map_or(s, |(a, _)| a);
        let (core, pre) = s.split_once('-').unwrap_or((s, ""));
        let mut nums = core.split('.');
        let mut next = |required: bool| -> Option<u64> {
            match nums.next() {
                Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => n.parse().ok(),
                None if !required => Some(0),
                _ => None,
            }
        };
        let v = Self {
            major: next(true)?,
            minor: next(false)?,
            patch: next(false)?,
            pre: pre.to_owned(),
        };
        if nums.next().is_some() || (s.contains('-') && pre.is_empty()) {
            return None;
        }
        Some(v)
    }

    fn cmp_to(&self, o: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => cmp_pre(&self.pre, &o.pre),
            })
    }
}

fn cmp_pre(left: &str, right: &str) -> Ordering {
    let (mut ia, mut ib) = (left.split('.'), right.split('.'));
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(one), Some(two)) => {
                let order = match (one.parse::<u64>(), two.parse::<u64>()) {
                    (Ok(n1), Ok(n2)) => n1.cmp(&n2),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    _ => one.cmp(two),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// A version with wildcard parts (`1.x`, `1`, `*`).
struct Partial {
    v: Version,
    /// Number of parts given (0 = `*`).
    given: usize,
}

fn partial(s: &str) -> Option<Partial> {
    let s = s.trim();
    let s = s.strip_prefix('v').unwrap_or(s);
    if s.is_empty() || s == "*" || s == "x" || s == "X" {
        return Some(Partial {
            v: Version::parse("0.0.0")?,
            given: 0,
        });
    }
    let core_end = s.find(['-', '+']).unwrap_or(s.len());
    let parts: Vec<&str> = s[..core_end].split('.').collect();
    let given = parts
        .iter()
        .take_while(|p| !matches!(**p, "x" | "X" | "*"))
        .count();
    let fixed: Vec<&str> = (0..3)
        .map(|i| if i < given { parts[i] } else { "0" })
        .collect();
    let rest = if given == parts.len() && parts.len() == 3 {
        &s[core_end..]
    } else {
        ""
    };
    let v = Version::parse(&format!("{}{rest}", fixed.join(".")))?;
    Some(Partial {
        v,
        given: given.min(3),
    })
}

fn bump(v: &Version, part: usize) -> Version {
    match part {
        0 => Version {
            major: v.major + 1,
            minor: 0,
            patch: 0,
            pre: String::new(),
        },
        1 => Version {
            major: v.major,
            minor: v.minor + 1,
            patch: 0,
            pre: String::new(),
        },
        _ => Version {
            major: v.major,
            minor: v.minor,
            patch: v.patch + 1,
            pre: String::new(),
        },
    }
}

/// Checks one comparison (`>=1.2`, `^1`, `~1.2`, `1.x`).
fn check_one(c: &str, v: &Version) -> Option<bool> {
    let c = c.trim();
    let ops = [">=", "<=", "!=", "=>", "=<", ">", "<", "=", "~>", "~", "^"];
    let (op, rest) = ops
        .iter()
        .find_map(|op| c.strip_prefix(op).map(|r| (*op, r)))
        .unwrap_or(("", c));
    let p = partial(rest)?;
    let lo = p.v.clone();
    let hi_wild = if p.given == 0 {
        None
    } else {
        Some(bump(&lo, p.given - 1))
    };
    let ge = |x: &Version| v.cmp_to(x) != Ordering::Less;
    let lt = |x: &Version| v.cmp_to(x) == Ordering::Less;
    Some(match op {
        "" | "=" => match (&hi_wild, p.given) {
            (_, 3) => v.cmp_to(&lo) == Ordering::Equal,
            (Some(hi), _) => ge(&lo) && lt(hi),
            (None, _) => true,
        },
        "!=" => match (&hi_wild, p.given) {
            (_, 3) => v.cmp_to(&lo) != Ordering::Equal,
            (Some(hi), _) => !(ge(&lo) && lt(hi)),
            (None, _) => false,
        },
        ">" => match (&hi_wild, p.given) {
            (_, 3) => v.cmp_to(&lo) == Ordering::Greater,
            (Some(hi), _) => ge(hi),
            (None, _) => false,
        },
        ">=" | "=>" => ge(&lo),
        "<" => lt(&lo),
        "<=" | "=<" => match (&hi_wild, p.given) {
            (_, 3) => v.cmp_to(&lo) != Ordering::Greater,
            (Some(hi), _) => lt(hi),
            (None, _) => true,
        },
        "~" | "~>" => {
            let hi = bump(&lo, usize::from(p.given >= 2));
            ge(&lo) && (p.given == 0 || lt(&hi))
        }
        _ => {
            // ^: the leftmost non-zero part stays fixed.
            let part = if lo.major > 0 || p.given <= 1 {
                0
            } else if lo.minor > 0 || p.given == 2 {
                1
            } else {
                2
            };
            ge(&lo) && (p.given == 0 || lt(&bump(&lo, part)))
        }
    })
}

/// Whether `version` satisfies `constraint`; a malformed version or
/// constraint gives `false`, as Helm's `IsCompatibleRange`.
pub(crate) fn matches(constraint: &str, version: &str) -> bool {
    let Some(v) = Version::parse(version) else {
        return false;
    };
    if constraint.trim().is_empty() {
        return false;
    }
    constraint.split("||").any(|alt| {
        let alt = alt.trim();
        if let Some((a, b)) = alt.split_once(" - ") {
            return check_one(&format!(">={a}"), &v).unwrap_or(false)
                && check_one(&format!("<={b}"), &v).unwrap_or(false);
        }
        let mut terms: Vec<String> = Vec::new();
        for t in alt.split([',', ' ']).filter(|t| !t.is_empty()) {
            // "> 1.0" written with a space: glue the operator to its version.
            match terms.last_mut() {
                Some(last) if last.chars().all(|c| "<>=!~^".contains(c)) => last.push_str(t),
                _ => terms.push(t.to_owned()),
            }
        }
        let pre_ok = v.pre.is_empty()
            || terms.iter().any(|t| {
                let t = t.trim_start_matches(|c: char| "<>=!~^".contains(c));
                partial(t).is_some_and(|p| !p.v.pre.is_empty())
            });
        pre_ok && !terms.is_empty() && terms.iter().all(|t| check_one(t, &v).unwrap_or(false))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints() {
        assert!(matches("^1.2.0", "1.9.0"));
        assert!(!matches("^1.2.0", "2.0.0"));
        assert!(matches("~1.2.0", "1.2.9"));
        assert!(!matches("~1.2.0", "1.3.0"));
        assert!(matches(">=1.16.0-0", "v1.20.0"));
        assert!(matches(">= 1.0, < 2", "1.5.0"));
        assert!(matches("1.x", "1.4.2"));
        assert!(!matches("1.x", "2.0.0"));
        assert!(matches("0.1.0", "0.1.0"));
        assert!(matches("<1 || >=3", "3.1.0"));
        assert!(!matches(">=1.0.0", "1.5.0-beta"));
        assert!(!matches("", "1.0.0"));
        assert!(matches("*", "1.0.0"));
        assert!(Version::parse("1.2").is_some());
        assert!(Version::parse("abc").is_none());
    }
}
