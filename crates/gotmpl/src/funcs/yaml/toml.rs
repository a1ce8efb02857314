//! A small TOML encoder (BurntSushi/toml layout) and decoder for `toToml` and `fromToml`.

use std::fmt::Write as _;

use crate::value::{Map, Value, object_value};

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        quote(k)
    }
}

fn inline(v: &Value) -> Result<String, String> {
    Ok(match v {
        Value::Nil => return Err("toml: cannot encode a nil value".into()),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        Value::Float(f) => {
            let s = crate::fmt::format_float(*f, 'f', None);
            if s.contains('.') { s } else { format!("{s}.0") }
        }
        Value::String(s) => quote(s),
        Value::List(l) => {
            if l.iter().any(Value::is_nil) {
                return Err("toml: cannot encode array with nil element".into());
            }
            let items: Result<Vec<String>, String> = l.iter().map(inline).collect();
            format!("[{}]", items?.join(", "))
        }
        Value::Map(_) | Value::Object(_) => match entries(v) {
            Some(m) => {
                let items: Result<Vec<String>, String> = m
                    .iter()
                    .map(|(k, v)| Ok(format!("{} = {}", key(k), inline(v)?)))
                    .collect();
                format!("{{{}}}", items?.join(", "))
            }
            None => match v {
                Value::Object(o) => inline(&object_value(o.as_ref()))?,
                _ => String::new(),
            },
        },
    })
}

/// The keys and values of a table: a map's in key order, a struct's in
/// declaration order (BurntSushi/toml writes both so); `None` for what is no
/// table.
fn entries(v: &Value) -> Option<Vec<(String, Value)>> {
    match v {
        Value::Map(m) => Some(m.entries()),
        Value::Object(o) => o.fields().or_else(|| match object_value(o.as_ref()) {
            Value::Map(m) => Some(m.entries()),
            _ => None,
        }),
        _ => None,
    }
}

fn is_table_list(v: &Value) -> bool {
    matches!(v, Value::List(l) if !l.is_empty() && l.iter().all(|e| entries(e).is_some()))
}

fn table(
    out: &mut String,
    path: &[String],
    m: &[(String, Value)],
    depth: usize,
) -> Result<(), String> {
    let ind = "  ".repeat(depth);
    for (k, v) in m {
        if entries(v).is_some() || is_table_list(v) || v.is_nil() {
            continue;
        }
        let _ = writeln!(out, "{ind}{} = {}", key(k), inline(v)?);
    }
    for (k, v) in m {
        let mut p = path.to_vec();
        p.push(key(k));
        let ind2 = "  ".repeat(depth);
        if let Some(sub) = entries(v) {
            if !out.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(out, "{ind2}[{}]", p.join("."));
            table(out, &p, &sub, depth + 1)?;
        } else if let Value::List(l) = v
            && is_table_list(v)
        {
            for sub in l.iter().filter_map(entries) {
                if !out.is_empty() {
                    out.push('\n');
                }
                let _ = writeln!(out, "{ind2}[[{}]]", p.join("."));
                table(out, &p, &sub, depth + 1)?;
            }
        }
    }
    Ok(())
}

/// Encodes a map or struct as TOML.
pub(crate) fn encode(v: &Value) -> Result<String, String> {
    let Some(m) = entries(v) else {
        return Err("toml: top-level values must be Go maps or structs".into());
    };
    let mut out = String::new();
    table(&mut out, &[], &m, 0)?;
    Ok(out)
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
    line: usize,
}

impl P<'_> {
    fn err<T>(&self, m: &str) -> Result<T, String> {
        Err(format!("toml: line {}: {m}", self.line))
    }
    fn ws(&mut self) {
        while self.i < self.s.len() && (self.s[self.i] == b' ' || self.s[self.i] == b'\t') {
            self.i += 1;
        }
    }
    fn ws_nl(&mut self) {
        loop {
            self.ws();
            match self.s.get(self.i) {
                Some(b'\n') => {
                    self.line += 1;
                    self.i += 1;
                }
                Some(b'\r') => self.i += 1,
                Some(b'#') => {
                    while self.i < self.s.len() && self.s[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                _ => return,
            }
        }
    }
    fn key(&mut self) -> Result<Vec<String>, String> {
        let mut parts = Vec::new();
        loop {
            self.ws();
            if let Some(b'"' | b'\'') = self.s.get(self.i) {
                match self.value()? {
                    Value::String(s) => parts.push(s),
                    _ => return self.err("bad key"),
                }
            } else {
                let st = self.i;
                while self.i < self.s.len()
                    && (self.s[self.i].is_ascii_alphanumeric() || b"_-".contains(&self.s[self.i]))
                {
                    self.i += 1;
                }
                if st == self.i {
                    return self.err("expected key");
                }
                parts.push(String::from_utf8_lossy(&self.s[st..self.i]).into_owned());
            }
            self.ws();
            if self.s.get(self.i) == Some(&b'.') {
                self.i += 1;
            } else {
                return Ok(parts);
            }
        }
    }
    fn value(&mut self) -> Result<Value, String> {
        self.ws();
        match self.s.get(self.i) {
            None => self.err("unexpected EOF; expected value"),
            Some(b'"') => {
                self.i += 1;
                let mut out = String::new();
                loop {
                    let Some(&c) = self.s.get(self.i) else {
                        return self.err("unexpected EOF");
                    };
                    self.i += 1;
                    match c {
                        b'"' => return Ok(Value::String(out)),
                        b'\\' => {
                            let e = self.s.get(self.i).copied().unwrap_or(b'\\');
                            self.i += 1;
                            out.push(match e {
                                b'n' => '\n',
                                b't' => '\t',
                                b'r' => '\r',
                                b'"' => '"',
                                _ => '\\',
                            });
                        }
                        _ => {
                            let st = self.i - 1;
                            let len = match c {
                                0..=0x7f => 1,
                                0xc0..=0xdf => 2,
                                0xe0..=0xef => 3,
                                _ => 4,
                            };
                            out.push_str(&String::from_utf8_lossy(
                                &self.s[st..(st + len).min(self.s.len())],
                            ));
                            self.i = st + len;
                        }
                    }
                }
            }
            Some(b'\'') => {
                self.i += 1;
                let st = self.i;
                while self.i < self.s.len() && self.s[self.i] != b'\'' {
                    self.i += 1;
                }
                let v = String::from_utf8_lossy(&self.s[st..self.i]).into_owned();
                self.i += 1;
                Ok(Value::String(v))
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws_nl();
                    if self.s.get(self.i) == Some(&b']') {
                        self.i += 1;
                        return Ok(Value::List(items));
                    }
                    items.push(self.value()?);
                    self.ws_nl();
                    if self.s.get(self.i) == Some(&b',') {
                        self.i += 1;
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let m = Map::new();
                loop {
                    self.ws();
                    if self.s.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        return Ok(Value::Map(m));
                    }
                    let k = self.key()?;
                    self.ws();
                    if self.s.get(self.i) != Some(&b'=') {
                        return self.err("expected '='");
                    }
                    self.i += 1;
                    let v = self.value()?;
                    insert(&m, &k, v);
                    self.ws();
                    if self.s.get(self.i) == Some(&b',') {
                        self.i += 1;
                    }
                }
            }
            Some(_) => {
                let st = self.i;
                while self.i < self.s.len() && !b",]}\n\r# \t".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                let t = String::from_utf8_lossy(&self.s[st..self.i]).replace('_', "");
                match t.as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    _ => t.parse::<i64>().map(Value::Int64).or_else(|_| {
                        t.parse::<f64>()
                            .map(Value::Float)
                            .or_else(|_| Ok(Value::String(t.clone())))
                    }),
                }
            }
        }
    }
}

fn insert(m: &Map, path: &[String], v: Value) {
    let mut cur = m.clone();
    for p in &path[..path.len() - 1] {
        cur = if let Some(Value::Map(n)) = cur.get(p) {
            n
        } else {
            let n = Map::new();
            cur.insert(p.clone(), Value::Map(n.clone()));
            n
        };
    }
    cur.insert(path[path.len() - 1].clone(), v);
}

fn table_at(m: &Map, path: &[String]) -> Map {
    let mut cur = m.clone();
    for p in path {
        cur = match cur.get(p) {
            Some(Value::List(mut l)) => {
                if let Some(Value::Map(n)) = l.last() {
                    n.clone()
                } else {
                    let n = Map::new();
                    l.push(Value::Map(n.clone()));
                    cur.insert(p.clone(), Value::List(l));
                    n
                }
            }
            Some(Value::Map(n)) => n,
            _ => {
                let n = Map::new();
                cur.insert(p.clone(), Value::Map(n.clone()));
                n
            }
        };
    }
    cur
}

/// Decodes TOML into a map.
pub(crate) fn decode(text: &str) -> Result<Value, String> {
    let mut p = P {
        s: text.as_bytes(),
        i: 0,
        line: 1,
    };
    let root = Map::new();
    let mut current: Vec<String> = Vec::new();
    loop {
        p.ws_nl();
        if p.i >= p.s.len() {
            return Ok(Value::Map(root));
        }
        if p.s[p.i] == b'[' {
            let array = p.s.get(p.i + 1) == Some(&b'[');
            p.i += if array { 2 } else { 1 };
            let k = p.key()?;
            p.i += if array { 2 } else { 1 };
            if array {
                let (last, parent) = k.split_last().expect("keys are never empty");
                let t = table_at(&root, parent);
                match t.get(last) {
                    Some(Value::List(mut l)) => {
                        l.push(Value::empty_map());
                        t.insert(last.clone(), Value::List(l));
                    }
                    None => {
                        t.insert(last.clone(), Value::List(vec![Value::empty_map()]));
                    }
                    Some(_) => {}
                }
            }
            current = k;
            continue;
        }
        let k = p.key()?;
        p.ws();
        if p.s.get(p.i) != Some(&b'=') {
            if p.i >= p.s.len() {
                return p.err("unexpected EOF; expected key separator '='");
            }
            return p.err("expected key separator '='");
        }
        p.i += 1;
        let v = p.value()?;
        insert(&table_at(&root, &current), &k, v);
    }
}
