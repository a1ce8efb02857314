//! Go's `strconv.FormatFloat` for the `e`, `f` and `g` formats.

/// Decimal digits and decimal-point position of `f` (`0.d1d2... * 10^dp`), shortest
/// round-trip form, or rounded to `sig` significant digits.
fn digits(f: f64, sig: Option<usize>) -> (String, i32) {
    let s = match sig {
        None => format!("{:e}", f.abs()),
        Some(p) => format!("{:.*e}", p.saturating_sub(1), f.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: String = mant.chars().filter(char::is_ascii_digit).collect();
    while d.len() > 1 && d.ends_with('0') {
        d.pop();
    }
    if d == "0" {
        return (d, 1);
    }
    (d, exp + 1)
}

fn fmt_e(neg: bool, d: &str, dp: i32, prec: usize) -> String {
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    let b = d.as_bytes();
    s.push(char::from(b[0]));
    if prec > 0 {
        s.push('.');
        for i in 1..=prec {
            s.push(b.get(i).map_or('0', |c| char::from(*c)));
        }
    }
    let exp = if d == "0" { 0 } else { dp - 1 };
    s.push('e');
    s.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        s.push('0');
    }
    s.push_str(&e.to_string());
    s
}

fn fmt_f(neg: bool, d: &str, dp: i32, prec: usize) -> String {
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    let b = d.as_bytes();
    if dp > 0 {
        for i in 0..dp {
            let i = usize::try_from(i).unwrap_or(0);
            s.push(b.get(i).map_or('0', |c| char::from(*c)));
        }
    } else {
        s.push('0');
    }
    if prec > 0 {
        s.push('.');
        for i in 0..prec {
            let j = i64::from(dp) + i64::try_from(i).unwrap_or(0);
            let c = usize::try_from(j)
                .ok()
                .and_then(|j| b.get(j))
                .map_or('0', |c| char::from(*c));
            s.push(c);
        }
    }
    s
}

/// Go's `strconv.FormatFloat(f, fmt, prec, 64)` for fmt `e`, `f`, `g`; `None` = shortest.
pub(crate) fn format_float(f: f64, fmt: char, prec: Option<usize>) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let neg = f.is_sign_negative();
    match fmt {
        'e' => {
            let (d, dp) = match prec {
                Some(p) => digits(f, Some(p + 1)),
                None => digits(f, None),
            };
            let p = prec.unwrap_or(d.len() - 1);
            fmt_e(neg, &d, dp, p)
        }
        'f' => {
            if let Some(p) = prec {
                let s = format!("{:.*}", p, f.abs());
                if neg { format!("-{s}") } else { s }
            } else {
                let (d, dp) = digits(f, None);
                let p =
                    usize::try_from((i32::try_from(d.len()).unwrap_or(0) - dp).max(0)).unwrap_or(0);
                fmt_f(neg, &d, dp, p)
            }
        }
        _ => {
            let shortest = prec.is_none();
            let mut p = prec.unwrap_or(0);
            if p == 0 && !shortest {
                p = 1;
            }
            let (d, dp) = if shortest {
                digits(f, None)
            } else {
                digits(f, Some(p))
            };
            let nd = d.len();
            if shortest {
                p = nd;
            }
            let mut eprec = p;
            let ndi = i32::try_from(nd).unwrap_or(0);
            if eprec > nd && ndi >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= i32::try_from(eprec).unwrap_or(i32::MAX) {
                let p = p.min(nd);
                return fmt_e(neg, &d, dp, p.saturating_sub(1));
            }
            let p = if i32::try_from(p).unwrap_or(0) > dp {
                nd
            } else {
                p
            };
            let fp = usize::try_from((i32::try_from(p).unwrap_or(0) - dp).max(0)).unwrap_or(0);
            fmt_f(neg, &d, dp, fp)
        }
    }
}
