//! A YAML writer with the layout and quoting of Go's yaml.v2 (as sigs.k8s.io/yaml uses it).
//!
//! Keys are sorted in yaml.v2's natural order, indentation is two spaces, sequences
//! under a key are not indented (unless `indent_seq`, yaml.v3's style for
//! `toYamlPretty`), strings that would read back as another type are double-quoted,
//! strings with indicators single-quoted, multi-line strings become literal blocks,
//! and long scalars are folded at column 80 as yaml.v2's emitter folds them.

#[cfg(test)]
mod tests;

use std::cmp::Ordering;

use crate::fmt::format_float;
use crate::value::Value;

mod scalar;

use scalar::{Style, analyze, resolves_plain_as_string};

const WIDTH: usize = 80;

/// Writer options.
#[derive(Clone, Copy, Default)]
pub(crate) struct Options {
    /// Indent sequences under mapping keys (yaml.v3 `SetIndent(2)` style).
    pub(crate) indent_seq: bool,
    /// Floats as Go's JSON round trip leaves them (integral floats become ints).
    pub(crate) json_numbers: bool,
    /// Never fold long scalars (yaml.v3 emits with an unlimited width).
    pub(crate) no_fold: bool,
}

/// sigs.k8s.io/yaml's marshalling (yaml.v2 through JSON): `toYaml`'s.
pub(crate) const V2: Options = Options {
    indent_seq: false,
    json_numbers: true,
    no_fold: false,
};

/// Marshals `v` to YAML text ending in a newline.
pub(crate) fn to_yaml(v: &Value, opts: Options) -> String {
    let v = &v.flatten_objects();
    let v: &Value = v;
    let mut w = Writer {
        out: String::new(),
        opts,
    };
    match v {
        Value::Map(m) if !m.is_empty() => w.map(v, 0),
        Value::List(l) if !l.is_empty() => w.list(v, 0),
        other => {
            // A document's root scalar continues (and a block scalar's content
            // sits) two columns in, as yaml.v2 and yaml.v3 emit it.
            let s = w.scalar(other, 2, false);
            w.out.push_str(&s);
            w.out.push('\n');
        }
    }
    w.out
}

/// yaml.v2's natural key order (digits compare numerically, non-letters first).
pub(crate) fn key_cmp(a: &str, b: &str) -> Ordering {
    let (ar, br): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let (al, bl) = (ar[i].is_alphabetic(), br[i].is_alphabetic());
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

struct Writer {
    out: String,
    opts: Options,
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Map(m) => !m.is_empty(),
        Value::List(l) => !l.is_empty(),
        _ => false,
    }
}

impl Writer {
    fn pad(&mut self, n: usize) {
        self.out.extend(std::iter::repeat_n(' ', n));
    }

    fn map(&mut self, v: &Value, indent: usize) {
        let Value::Map(m) = v else { return };
        let m = m.borrow();
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort_by(|a, b| key_cmp(a, b));
        for (i, k) in keys.into_iter().enumerate() {
            if i > 0 {
                self.pad(indent);
            }
            let key = self.scalar(&Value::String(k.clone()), indent, true);
            self.out.push_str(&key);
            self.out.push(':');
            let val = &m[k];
            self.value_after_key(val, indent);
        }
    }

    fn value_after_key(&mut self, val: &Value, indent: usize) {
        match val {
            Value::Map(_) if is_block(val) => {
                self.out.push('\n');
                self.pad(indent + 2);
                self.map(val, indent + 2);
            }
            Value::List(_) if is_block(val) => {
                self.out.push('\n');
                let ind = if self.opts.indent_seq {
                    indent + 2
                } else {
                    indent
                };
                self.pad(ind);
                self.list(val, ind);
            }
            _ => {
                self.out.push(' ');
                let s = self.scalar(val, indent + 2, false);
                self.out.push_str(&s);
                self.out.push('\n');
            }
        }
    }

    fn list(&mut self, v: &Value, indent: usize) {
        let Value::List(l) = v else { return };
        for (i, e) in l.iter().enumerate() {
            if i > 0 {
                self.pad(indent);
            }
            self.out.push_str("- ");
            match e {
                Value::Map(_) if is_block(e) => self.map(e, indent + 2),
                Value::List(_) if is_block(e) => self.list(e, indent + 2),
                _ => {
                    let s = self.scalar(e, indent + 2, false);
                    self.out.push_str(&s);
                    self.out.push('\n');
                }
            }
        }
    }

    /// A scalar (or empty collection) as it appears after `key: ` or `- `;
    /// `indent` is the indentation of continuation lines.
    fn scalar(&self, v: &Value, indent: usize, key: bool) -> String {
        match v {
            Value::Nil => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) | Value::Int64(i) => i.to_string(),
            Value::Float(f) => self.float(*f),
            Value::String(s) => self.string(s, indent, key),
            Value::List(_) => "[]".into(),
            Value::Map(_) => "{}".into(),
            Value::Object(o) => self.string(&o.display(), indent, key),
        }
    }

    fn float(&self, f: f64) -> String {
        if f.is_nan() {
            return ".nan".into();
        }
        if f.is_infinite() {
            return if f > 0.0 {
                ".inf".into()
            } else {
                "-.inf".into()
            };
        }
        if self.opts.json_numbers
            && let Ok(j) = crate::funcs::json_float(f)
            && !j.contains(['.', 'e', 'E'])
        {
            // yaml.v2 reads JSON's integer text back as an int, or as a uint64
            // when it is too large for an int64 (2^63 up to 2^64).
            if let Ok(i) = j.parse::<i64>() {
                return i.to_string();
            }
            if let Ok(u) = j.parse::<u64>() {
                return u.to_string();
            }
        }
        format_float(f, 'g', None)
    }

    fn string(&self, s: &str, indent: usize, key: bool) -> String {
        let a = analyze(s);
        let plain_ok = resolves_plain_as_string(s);
        let mut style = if s.contains('\n') {
            Style::Literal
        } else if plain_ok {
            Style::Plain
        } else {
            Style::Double
        };
        if style == Style::Plain && (!a.block_plain_allowed || (s.is_empty() && key)) {
            style = Style::Single;
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || key || (a.tabs && !self.opts.no_fold)) {
            style = Style::Double;
        }
        let col = self.out[self.out.rfind('\n').map_or(0, |i| i + 1)..]
            .chars()
            .count();
        let breaks = !key && !self.opts.no_fold;
        match style {
            Style::Plain => scalar::plain(s, col, indent, breaks, WIDTH),
            Style::Single => scalar::single(s, col, indent, breaks, WIDTH),
            Style::Double => scalar::double(s, col, indent, breaks, WIDTH),
            Style::Literal => scalar::literal(s, indent),
        }
    }
}
