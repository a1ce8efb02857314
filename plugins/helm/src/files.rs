//! `.Files`: the chart's non-template files with Helm's accessors.

use std::collections::BTreeMap;
use std::sync::Arc;

use kiln_gotmpl::{Object, Templates, Value, string_from_go_bytes};

use crate::glob::files_glob;

/// The files of a chart (path → bytes), as `.Files`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Files(pub Arc<BTreeMap<String, Vec<u8>>>);

impl Files {
    /// Files from `(name, data)` pairs.
    pub(crate) fn new(files: impl IntoIterator<Item = (String, Vec<u8>)>) -> Self {
        Self(Arc::new(files.into_iter().collect()))
    }

    fn get(&self, name: &str) -> String {
        self.0
            .get(name)
            .map(|d| string_from_go_bytes(d))
            .unwrap_or_default()
    }

    fn glob(&self, pattern: &str) -> Files {
        Files::new(
            self.0
                .iter()
                .filter(|(n, _)| files_glob(pattern, n))
                .map(|(n, d)| (n.clone(), d.clone())),
        )
    }

    fn lines(&self, name: &str) -> Value {
        let Some(data) = self.0.get(name).filter(|d| !d.is_empty()) else {
            return Value::List(Vec::new());
        };
        let text = String::from_utf8_lossy(data);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        Value::List(
            text.split('\n')
                .map(|l| Value::String(l.to_owned()))
                .collect(),
        )
    }

    /// Every path with its content as `text` gives it.
    fn contents(&self, text: fn(&[u8]) -> String) -> Value {
        Value::Map(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(text(v))))
                .collect(),
        )
    }

    fn as_map(&self, encode: fn(&[u8]) -> String) -> String {
        let m: BTreeMap<String, Value> = self
            .0
            .iter()
            .map(|(n, d)| {
                (
                    n.rsplit('/').next().unwrap_or(n).to_owned(),
                    Value::String(encode(d)),
                )
            })
            .collect();
        to_yaml(&Value::from(m))
    }
}

/// `toYaml` of the template engine, for `AsConfig`/`AsSecrets`.
pub(crate) fn to_yaml(v: &Value) -> String {
    let mut t = Templates::new();
    if t.add("toyaml", "{{ toYaml . }}").is_err() {
        return String::new();
    }
    t.execute("toyaml", v).unwrap_or_default()
}

/// Standard base64 with padding.
pub(crate) fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

const METHODS: &[&str] = &["Get", "GetBytes", "Glob", "Lines", "AsConfig", "AsSecrets"];

fn one_string<'a>(method: &str, args: &'a [Value]) -> Result<&'a str, String> {
    match args {
        [Value::String(s)] => Ok(s),
        [other] => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
        _ => Err(format!(
            "wrong number of args for {method}: want 1 got {}",
            args.len()
        )),
    }
}

impl Object for Files {
    fn type_name(&self) -> &'static str {
        "engine.files"
    }
    /// `.Files.NAME`: Go's map lookup (the file's content, or nil).
    fn field(&self, name: &str) -> Option<Value> {
        if METHODS.contains(&name) {
            return None;
        }
        Some(
            self.0
                .get(name)
                .map_or(Value::Nil, |d| Value::String(string_from_go_bytes(d))),
        )
    }
    fn call(&self, method: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let r = match method {
            "Get" => one_string(method, args).map(|n| Value::String(self.get(n))),
            "GetBytes" => one_string(method, args).map(|n| Value::String(self.get(n))),
            "Glob" => one_string(method, args).map(|p| Value::Object(Arc::new(self.glob(p)))),
            "Lines" => one_string(method, args).map(|n| self.lines(n)),
            "AsConfig" => Ok(Value::String(
                self.as_map(|d| String::from_utf8_lossy(d).into_owned()),
            )),
            "AsSecrets" => Ok(Value::String(self.as_map(base64))),
            _ => return None,
        };
        Some(r)
    }
    fn truthy(&self) -> bool {
        !self.0.is_empty()
    }
    fn elements(&self) -> Option<usize> {
        Some(self.0.len())
    }
    /// `index .Files NAME`: the content, or Go's nil `[]byte` (printed empty).
    fn index(&self, key: &str) -> Option<Value> {
        Some(Value::String(self.get(key)))
    }
    fn display(&self) -> String {
        let items: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}:{v:?}")).collect();
        format!("map[{}]", items.join(" "))
    }
    /// Go's `map[string][]byte`: `kindOf` says `map`.
    fn kind_name(&self) -> &'static str {
        "map"
    }
    /// Encoders write each content as base64, as Go marshals a `[]byte`.
    fn encoded(&self) -> Option<Value> {
        Some(self.contents(base64))
    }
    /// The map of paths to contents that `range` iterates over (Go's `map[string][]byte`).
    fn to_value(&self) -> Option<Value> {
        Some(self.contents(string_from_go_bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Files {
        Files::new([
            ("config/a.txt".to_owned(), b"one\ntwo\n".to_vec()),
            ("config/b.txt".to_owned(), b"x".to_vec()),
            ("other.md".to_owned(), b"md".to_vec()),
        ])
    }

    #[test]
    fn get_lines_and_glob() {
        let f = files();
        assert!(
            matches!(f.call("Get", &[Value::String("other.md".into())]), Some(Ok(Value::String(s))) if s == "md")
        );
        assert!(
            matches!(f.call("Get", &[Value::String("none".into())]), Some(Ok(Value::String(s))) if s.is_empty())
        );
        match f.lines("config/a.txt") {
            Value::List(l) => assert_eq!(l.len(), 2),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(f.glob("config/*").0.len(), 2);
        assert_eq!(f.glob("**.md").0.len(), 1);
        assert!(f.call("Nope", &[]).is_none());
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b""), "");
    }
}
