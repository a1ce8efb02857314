//! YAML read as Helm reads values files, `Chart.yaml` and `fromYaml`:
//! sigs.k8s.io/yaml decodes with yaml.v2 into `map[interface{}]interface{}`
//! and then turns every key into a JSON string. A plain key that YAML 1.1
//! resolves to something other than a string changes on the way: `y`, `yes`,
//! `on` become `"true"`, `n`, `no`, `off` become `"false"`, `0x1F` becomes
//! `"31"` and `1.50` becomes `"1.5"`; a quoted key stays as written.
//!
//! [`convert_keys`] re-reads a stream whose documents the caller has already
//! parsed (with its fast reader, keys as written) when the text has a key that
//! might change, and returns the documents with the converted keys.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The documents of `text` with their keys as sigs.k8s.io/yaml makes them,
/// when some key of `text` changes that way; `None` when no key changes (or
/// the text does not read back, which the caller has already reported).
#[must_use]
pub fn convert_keys(text: &str) -> Option<Vec<Value>> {
    if !has_candidate_key(text) {
        return None;
    }
    let mut options = serde_saphyr::Options::default();
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
    // yaml.v2 reads `010` as octal.
    options.legacy_octal_numbers = true;
    let docs: Vec<GoNode> = serde_saphyr::from_multiple_with_options(text, options).ok()?;
    Some(
        docs.into_iter()
            .map(|d| d.0)
            .filter(|d| !d.is_null())
            .collect(),
    )
}

/// Whether `text` might hold a plain key that resolves to a bool or a
/// number (a cheap scan for `WORD:` where WORD starts a line, after
/// indentation and `- `, or follows `{`, `,` or `?`), or a number with a
/// leading zero, which yaml.v2 reads as octal (`0644` is 420). False
/// positives only cost a re-read.
fn has_candidate_key(text: &str) -> bool {
    let b = text.as_bytes();
    // A scalar starts after a space, `[` or `,`, and may have a sign: a date
    // such as `2024-01-02` holds `-0` followed by a digit, but starts no number.
    let starts = |i: usize| i == 0 || matches!(b[i - 1], b' ' | b'[' | b',');
    if b.windows(2).enumerate().any(|(i, w)| {
        w[0] == b'0'
            && w[1].is_ascii_digit()
            && (starts(i) || (matches!(b[i - 1], b'-' | b'+') && starts(i - 1)))
    }) {
        return true;
    }
    let mut i = 0;
    while let Some(off) = memchr_colon(&b[i..]) {
        let colon = i + off;
        i = colon + 1;
        if b.get(colon + 1)
            .is_some_and(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        {
            continue;
        }
        let mut end = colon;
        while end > 0 && matches!(b[end - 1], b' ' | b'\t') {
            end -= 1;
        }
        let mut start = end;
        while start > 0
            && !matches!(
                b[start - 1],
                b' ' | b'\t' | b'\n' | b'{' | b',' | b'?' | b'['
            )
        {
            start -= 1;
        }
        if start == end {
            continue;
        }
        let word = &text[start..end];
        if key_changes(word) {
            return true;
        }
    }
    false
}

fn memchr_colon(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b':')
}

/// Whether a plain key with this text could read as something other than
/// the same string (a YAML 1.1 bool, a number, null).
fn key_changes(word: &str) -> bool {
    const WORDS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
        "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "~", "null", "Null", "NULL",
    ];
    if WORDS.contains(&word) {
        return true;
    }
    let t = word.strip_prefix(['-', '+']).unwrap_or(word);
    let t = t.strip_prefix('.').unwrap_or(t);
    // A number that is not already written as Go prints it.
    t.bytes().next().is_some_and(|c| c.is_ascii_digit())
        && !(word.bytes().all(|c| c.is_ascii_digit()) && (word == "0" || !word.starts_with('0')))
}

/// A YAML node read through `deserialize_any`, so map keys are resolved
/// like values before they are turned into strings.
struct GoNode(Value);

impl<'de> Deserialize<'de> for GoNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor).map(GoNode)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML node")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        GoNode::deserialize(d).map(|n| n.0)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(GoNode(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(GoKey(k)) = map.next_key()? {
            let GoNode(v) = map.next_value()?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// A map key as sigs.k8s.io/yaml writes it into JSON.
struct GoKey(String);

impl<'de> Deserialize<'de> for GoKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KeyVisitor).map(GoKey)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map key")
    }
    fn visit_bool<E>(self, v: bool) -> Result<String, E> {
        Ok(if v { "true" } else { "false" }.to_owned())
    }
    fn visit_i64<E>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "sigs.k8s.io/yaml formats float keys with 32-bit precision"
    )]
    fn visit_f64<E>(self, v: f64) -> Result<String, E> {
        Ok(float_key(v as f32))
    }
    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Err(E::custom("unsupported map key of type: <nil>"))
    }
    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        Err(E::custom("unsupported map key of type: <nil>"))
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 32)`, with YAML's spellings of the
/// non-finite values.
fn float_key(f: f32) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    // The shortest digits that read back as the same f32, as d.ddddeX.
    let e = format!("{f:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = mant.strip_prefix('-').map_or((false, mant), |m| (true, m));
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let sign = if neg { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.unsigned_abs());
    }
    let nd = i32::try_from(digits.len()).unwrap_or(1);
    let dp = exp + 1;
    let body = if dp <= 0 {
        format!(
            "0.{}{digits}",
            "0".repeat(usize::try_from(-dp).unwrap_or(0))
        )
    } else if dp >= nd {
        format!(
            "{digits}{}",
            "0".repeat(usize::try_from(dp - nd).unwrap_or(0))
        )
    } else {
        let (a, b) = digits.split_at(usize::try_from(dp).unwrap_or(0));
        format!("{a}.{b}")
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_bool_and_number_keys_become_go_strings() {
        let text = "y: 1\nn: 2\non: 3\nOff: 4\n\"yes\": 5\n'no': 6\nx: {y: 7, 0x1F: 8}\nl:\n- n: 9\n  1.50: a\n  010: b\n  1_000: c\n  7: d\n";
        let docs = convert_keys(text).expect("keys change");
        assert_eq!(
            docs,
            vec![serde_json::json!({
                "true": 3, "false": 4, "yes": 5, "no": 6,
                "x": {"true": 7, "31": 8},
                "l": [{"false": 9, "1.5": "a", "8": "b", "1000": "c", "7": "d"}]
            })]
        );
    }

    #[test]
    fn anchors_and_merge_keys_survive_the_re_read() {
        let text = "base: &b {p: 1, q: 2}\nd:\n  <<: *b\n  q: 3\n  y: 1\nlst: &l [1, 2]\nr: *l\n";
        assert_eq!(
            convert_keys(text).expect("keys change"),
            vec![serde_json::json!({
                "base": {"p": 1, "q": 2}, "d": {"p": 1, "q": 3, "true": 1},
                "lst": [1, 2], "r": [1, 2]
            })]
        );
    }

    #[test]
    fn texts_without_such_keys_are_left_to_the_caller() {
        assert!(convert_keys("a: 1\nyes_please: y\nlist:\n- 10: x\n").is_none());
        assert!(convert_keys("tag: 2024-01-02\nimage: app:v1.05-rc.07\n").is_none());
        assert!(convert_keys("url: http://y:80\nmsg: \"on: off\"\n").is_none());
        assert!(convert_keys("a: [y]\n").is_none());
    }

    #[test]
    fn float_keys_print_as_go_formats_32_bit_floats() {
        assert_eq!(float_key(1.5), "1.5");
        assert_eq!(float_key(0.1), "0.1");
        assert_eq!(float_key(1e6), "1e+06");
        assert_eq!(float_key(123_456.0), "123456");
        assert_eq!(float_key(0.000_01), "1e-05");
        assert_eq!(float_key(-2.25), "-2.25");
    }

    #[test]
    fn numbers_with_a_leading_zero_are_octal() {
        let docs = convert_keys(
            "mode: 0644
l: [010, -07]
d: 08
v: 1.05
",
        )
        .expect("octal");
        assert_eq!(
            docs,
            vec![serde_json::json!({"mode": 420, "l": [8, -7], "d": 8.0, "v": 1.05})]
        );
    }
}
