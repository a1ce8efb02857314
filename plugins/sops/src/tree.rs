//! The decrypted document model, shaped like sops' own tree: ordered mappings whose items may be
//! comments, sequences, and typed scalars.

/// A comment line kept in the tree (without its `#`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comment {
    pub(crate) value: String,
    /// Whether the comment followed a value on the same line.
    pub(crate) inline: bool,
}

/// A mapping key: a string or a comment standing among the items.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Key {
    Str(String),
    Comment(Comment),
}

/// One item of a mapping; comment items carry [`Value::Null`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub(crate) key: Key,
    pub(crate) value: Value,
}

impl Item {
    pub(crate) fn new(key: impl Into<String>, value: Value) -> Self {
        Self {
            key: Key::Str(key.into()),
            value,
        }
    }

    pub(crate) fn comment(value: impl Into<String>, inline: bool) -> Self {
        Self {
            key: Key::Comment(Comment {
                value: value.into(),
                inline,
            }),
            value: Value::Null,
        }
    }

    pub(crate) fn key_str(&self) -> Option<&str> {
        match &self.key {
            Key::Str(s) => Some(s),
            Key::Comment(_) => None,
        }
    }
}

/// A value of the tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A timestamp, kept as its RFC 3339 text.
    Time(String),
    Bytes(Vec<u8>),
    /// A comment inside a sequence.
    Comment(Comment),
    Map(Vec<Item>),
    Seq(Vec<Value>),
}

/// The bytes sops feeds into the MAC for a scalar (`ToBytes`).
pub(crate) fn mac_bytes(value: &Value) -> Option<Vec<u8>> {
    Some(match value {
        Value::Str(s) | Value::Time(s) => s.as_bytes().to_vec(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Float(f) => format_float_f(*f).into_bytes(),
        Value::Bool(b) => if *b { "True" } else { "False" }.as_bytes().to_vec(),
        Value::Bytes(b) => b.clone(),
        Value::Comment(c) => c.value.as_bytes().to_vec(),
        Value::Null | Value::Map(_) | Value::Seq(_) => return None,
    })
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits, never an exponent.
pub(crate) fn format_float_f(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let (neg, digits, exp) = shortest_digits(f);
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    // value = 0.digits * 10^exp
    if exp <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', exp.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let exp = usize::try_from(exp).expect("positive exponent");
        if digits.len() <= exp {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', exp - digits.len()));
        } else {
            out.push_str(&digits[..exp]);
            out.push('.');
            out.push_str(&digits[exp..]);
        }
    }
    if digits == "0" {
        return if neg { "-0" } else { "0" }.to_owned();
    }
    out
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` (yaml.v3's float style).
pub(crate) fn format_float_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let (neg, digits, exp) = shortest_digits(f);
    if digits == "0" {
        return if neg { "-0" } else { "0" }.to_owned();
    }
    // strconv's shortest 'g' switches to an exponent below 1e-4 and from 1e6 (precision 6)
    let x = exp - 1;
    if !(-4..6).contains(&x) {
        return exp_form(neg, &digits, x);
    }
    format_float_f(f)
}

fn exp_form(neg: bool, digits: &str, x: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('e');
    out.push(if x < 0 { '-' } else { '+' });
    let ax = x.unsigned_abs();
    if ax < 10 {
        out.push('0');
    }
    out.push_str(&ax.to_string());
    out
}

/// Shortest round-trip decimal digits of `f` and the exponent `e` such that `f = 0.d1d2... * 10^e`.
fn shortest_digits(f: f64) -> (bool, String, i32) {
    // Rust's `{:e}` prints the shortest round-trip representation: d.ddddde<exp>
    let s = format!("{:e}", f.abs());
    let (mantissa, exp) = s.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    (f.is_sign_negative(), digits.to_owned(), exp + 1)
}
