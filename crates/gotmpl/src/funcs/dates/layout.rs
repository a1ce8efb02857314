//! Go's reference-time layouts (`2006-01-02 15:04:05`) in UTC.
#![expect(
    clippy::many_single_char_names,
    reason = "short names mirror the Go originals"
)]

use super::Time;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// (year, month 1-12, day, hour, minute, second, weekday 0=Sunday, day of year).
pub(crate) fn civil(secs: i64) -> (i64, i64, i64, i64, i64, i64, usize, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy_mar = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy_mar + 2) / 153;
    let d = doy_mar - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let wd = usize::try_from((days + 4).rem_euclid(7)).unwrap_or(0);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let cum = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let yday = cum[usize::try_from(m - 1).unwrap_or(0)] + d + i64::from(leap && m > 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60, wd, yday)
}

/// Seconds since the epoch of a UTC civil date-time.
pub(crate) fn from_civil(y: i64, m: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + h * 3600 + mi * 60 + s
}

const TOKENS: [&str; 34] = [
    "January",
    "Jan",
    "Monday",
    "Mon",
    "MST",
    "2006",
    "-07:00:00",
    "-0700",
    "-07:00",
    "-07",
    "Z07:00:00",
    "Z0700",
    "Z07:00",
    "Z07",
    "002",
    "__2",
    "_2",
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "15",
    "PM",
    "pm",
    "1",
    "2",
    "3",
    "4",
    "5",
    ".000",
    ".999",
    ",000",
];

/// Formats `t` with a Go layout.
pub(crate) fn format(t: &Time, layout: &str) -> String {
    let (y, mo, d, h, mi, s, wd, yday) = civil(t.secs);
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        // Fractional seconds: .000000 / .999999999 of any length.
        for sep in ['.', ','] {
            if let Some(after) = rest.strip_prefix(sep) {
                let zeros = after.bytes().take_while(|b| *b == b'0').count();
                let nines = after.bytes().take_while(|b| *b == b'9').count();
                let n = zeros.max(nines);
                if n > 0 && !after[n..].starts_with(|c: char| c.is_ascii_digit()) {
                    let digits = format!("{:09}", t.nanos);
                    let mut f = digits[..n.min(9)].to_string();
                    if nines > 0 {
                        while f.ends_with('0') {
                            f.pop();
                        }
                        if !f.is_empty() {
                            out.push(sep);
                            out.push_str(&f);
                        }
                    } else {
                        out.push(sep);
                        out.push_str(&f);
                    }
                    rest = &after[n..];
                    continue 'outer;
                }
            }
        }
        for tok in TOKENS {
            if let Some(after) = rest.strip_prefix(tok) {
                if tok.starts_with('.') || tok.starts_with(',') {
                    continue;
                }
                let mon = usize::try_from(mo - 1).unwrap_or(0);
                let v = match tok {
                    "January" => MONTHS[mon].to_string(),
                    "Jan" => MONTHS[mon][..3].to_string(),
                    "Monday" => DAYS[wd].to_string(),
                    "Mon" => DAYS[wd][..3].to_string(),
                    "MST" => "UTC".into(),
                    "2006" => format!("{y:04}"),
                    "06" => format!("{:02}", y.rem_euclid(100)),
                    "-07:00:00" => "+00:00:00".into(),
                    "-0700" => "+0000".into(),
                    "-07:00" => "+00:00".into(),
                    "-07" => "+00".into(),
                    "Z07:00:00" | "Z0700" | "Z07:00" | "Z07" => "Z".into(),
                    "002" => format!("{yday:03}"),
                    "__2" => format!("{yday:>3}"),
                    "_2" => format!("{d:>2}"),
                    "01" => format!("{mo:02}"),
                    "02" => format!("{d:02}"),
                    "03" => format!("{:02}", if h % 12 == 0 { 12 } else { h % 12 }),
                    "04" => format!("{mi:02}"),
                    "05" => format!("{s:02}"),
                    "15" => format!("{h:02}"),
                    "PM" => (if h >= 12 { "PM" } else { "AM" }).into(),
                    "pm" => (if h >= 12 { "pm" } else { "am" }).into(),
                    "1" => mo.to_string(),
                    "2" => d.to_string(),
                    "3" => (if h % 12 == 0 { 12 } else { h % 12 }).to_string(),
                    "4" => mi.to_string(),
                    "5" => s.to_string(),
                    _ => tok.to_string(),
                };
                out.push_str(&v);
                rest = after;
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Parses `value` with a Go layout (numeric fields, month names, UTC offsets ignored).
pub(crate) fn parse(layout: &str, value: &str) -> Result<Time, String> {
    let bad =
        || format!("parsing time {value:?} as {layout:?}: cannot parse {value:?} as {layout:?}");
    let (mut y, mut mo, mut d, mut h, mut mi, mut s, mut pm) =
        (1i64, 1i64, 1i64, 0i64, 0i64, 0i64, None);
    let mut nanos = 0u32;
    let mut l = layout;
    let mut v = value;
    let num = |v: &mut &str, max: usize| -> Result<i64, String> {
        let n = v.bytes().take(max).take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(bad());
        }
        let r = v[..n].parse().map_err(|_| bad());
        *v = &v[n..];
        r
    };
    while !l.is_empty() {
        if let Some(tok) = TOKENS.iter().find(|t| l.starts_with(**t)) {
            l = &l[tok.len()..];
            match *tok {
                "2006" => y = num(&mut v, 4)?,
                "06" => y = 2000 + num(&mut v, 2)?,
                "01" | "1" => mo = num(&mut v, 2)?,
                "02" | "2" | "_2" => {
                    v = v.trim_start_matches(' ');
                    d = num(&mut v, 2)?;
                }
                "15" | "03" | "3" => h = num(&mut v, 2)?,
                "04" | "4" => mi = num(&mut v, 2)?,
                "05" | "5" => {
                    s = num(&mut v, 2)?;
                    if let Some(after) = v.strip_prefix('.') {
                        let n = after.bytes().take_while(u8::is_ascii_digit).count();
                        let f = format!("{:0<9}", &after[..n.min(9)]);
                        nanos = f.parse().unwrap_or(0);
                        v = &after[n..];
                    }
                }
                "Jan" | "January" => {
                    let i = MONTHS
                        .iter()
                        .position(|m| v.starts_with(if *tok == "Jan" { &m[..3] } else { m }))
                        .ok_or_else(bad)?;
                    v = &v[if *tok == "Jan" { 3 } else { MONTHS[i].len() }..];
                    mo = i64::try_from(i).unwrap_or(0) + 1;
                }
                "Mon" | "Monday" => {
                    let i = DAYS
                        .iter()
                        .position(|m| v.starts_with(if *tok == "Mon" { &m[..3] } else { m }))
                        .ok_or_else(bad)?;
                    v = &v[if *tok == "Mon" { 3 } else { DAYS[i].len() }..];
                }
                "PM" | "pm" => {
                    pm = Some(v.to_ascii_uppercase().starts_with("PM"));
                    v = v.get(2..).ok_or_else(bad)?;
                }
                "MST" => {
                    let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                    v = &v[n..];
                }
                t if t.starts_with('Z') && v.starts_with('Z') => v = &v[1..],
                t if t.starts_with('-') || t.starts_with('Z') => {
                    let n = v
                        .bytes()
                        .take_while(|b| {
                            b.is_ascii_digit() || *b == b'+' || *b == b'-' || *b == b':'
                        })
                        .count();
                    v = &v[n..];
                }
                _ => return Err(bad()),
            }
            continue;
        }
        let c = l.chars().next().unwrap_or(' ');
        if !v.starts_with(c) {
            return Err(bad());
        }
        l = &l[c.len_utf8()..];
        v = &v[c.len_utf8()..];
    }
    if !v.is_empty() {
        return Err(format!("parsing time {value:?}: extra text: {v:?}"));
    }
    if let Some(p) = pm {
        h = h % 12 + if p { 12 } else { 0 };
    }
    Ok(Time {
        secs: from_civil(y, mo, d, h, mi, s),
        nanos,
    })
}
