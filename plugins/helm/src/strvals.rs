//! The `--set` family: Helm's `strvals` syntax (`a.b=c`, `a[0].b=c`,
//! `a={x,y}`, `\` escapes) parsed into a values map.

use serde_json::{Map, Value};

/// A `--set` line that could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub(crate) struct StrvalsError(pub String);

/// How the right-hand side of `=` is turned into a value.
pub(crate) enum Reader<'a> {
    /// `--set`: `true`, `false`, `null`, integers are typed.
    Typed,
    /// `--set-string`: always a string.
    String,
    /// `--set-file`: the value names a file whose text is the value.
    File(&'a dyn Fn(&str) -> Result<String, String>),
    /// `--set-json`: the value is JSON.
    Json,
}

const MAX_INDEX: usize = 65536;
const MAX_NESTED: usize = 30;

struct Parser<'a> {
    s: Vec<char>,
    pos: usize,
    reader: Reader<'a>,
}

enum Stop {
    Eof,
    At(char),
}

/// Parses one `--set`-style line into `dest`.
pub(crate) fn parse_into(
    line: &str,
    dest: &mut Map<String, Value>,
    reader: Reader<'_>,
) -> Result<(), StrvalsError> {
    let mut p = Parser {
        s: line.chars().collect(),
        pos: 0,
        reader,
    };
    loop {
        match p.key(dest, 0) {
            Ok(()) => {}
            Err(None) => return Ok(()),
            Err(Some(e)) => return Err(StrvalsError(e)),
        }
    }
}

/// `Err(None)` is the end of input; `Err(Some(msg))` a real error.
type Res<T> = Result<T, Option<String>>;

fn err<T>(msg: impl Into<String>) -> Res<T> {
    Err(Some(msg.into()))
}

impl Parser<'_> {
    fn until(&mut self, stop: &[char]) -> (String, Stop) {
        let mut v = String::new();
        while let Some(&c) = self.s.get(self.pos) {
            self.pos += 1;
            if stop.contains(&c) {
                return (v, Stop::At(c));
            }
            if c == '\\' {
                match self.s.get(self.pos) {
                    Some(&n) => {
                        self.pos += 1;
                        v.push(n);
                    }
                    None => return (v, Stop::Eof),
                }
            } else {
                v.push(c);
            }
        }
        (v, Stop::Eof)
    }

    fn read_value(&self, rs: &str) -> Res<Value> {
        match &self.reader {
            Reader::String => Ok(Value::String(rs.to_owned())),
            Reader::File(f) => f(rs).map(Value::String).map_err(Some),
            Reader::Typed | Reader::Json => Ok(typed(rs)),
        }
    }

    fn key(&mut self, data: &mut Map<String, Value>, nested: usize) -> Res<()> {
        let (k, stop) = self.until(&['=', '[', ',', '.']);
        match stop {
            Stop::Eof => {
                if k.is_empty() {
                    return Err(None);
                }
                err(format!("key \"{k}\" has no value"))
            }
            Stop::At('[') => {
                let i = self.key_index()?;
                let list = match data.get(&k) {
                    Some(Value::Array(l)) => l.clone(),
                    Some(_) => {
                        return err(format!(
                            "unable to parse key: interface conversion: value at \"{k}\" is not a list"
                        ));
                    }
                    None => Vec::new(),
                };
                // Like Helm, the key is set even when the item fails
                // (`noval[0]` gives an empty list).
                match self.list_item(list.clone(), i, nested) {
                    Ok(l) => {
                        set(data, &k, Value::Array(l));
                        Ok(())
                    }
                    Err(e) => {
                        set(data, &k, Value::Array(list));
                        Err(e)
                    }
                }
            }
            Stop::At('=') => {
                let v = self.value()?;
                if let Some(v) = v {
                    set(data, &k, v);
                    Ok(())
                } else {
                    set(data, &k, Value::String(String::new()));
                    Err(None)
                }
            }
            Stop::At(',') => {
                set(data, &k, Value::String(String::new()));
                err(format!("key \"{k}\" has no value (cannot end with ,)"))
            }
            Stop::At(_) => {
                let nested = nested + 1;
                if nested > MAX_NESTED {
                    return err(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED}"
                    ));
                }
                let mut inner = match data.get(&k) {
                    Some(Value::Object(m)) => m.clone(),
                    Some(_) => {
                        return err(format!(
                            "unable to parse key: interface conversion: value at \"{k}\" is not a map"
                        ));
                    }
                    None => Map::new(),
                };
                let e = self.key(&mut inner, nested);
                if e.is_ok() && inner.is_empty() {
                    return err(format!("key map \"{k}\" has no value"));
                }
                if !inner.is_empty() {
                    set(data, &k, Value::Object(inner));
                }
                e
            }
        }
    }

    /// The value after `=`; `None` when the input ended right there.
    fn value(&mut self) -> Res<Option<Value>> {
        if matches!(self.reader, Reader::Json) {
            if self.empty_val() {
                return Ok(Some(Value::Null));
            }
            let rest: String = self.s[self.pos..].iter().collect();
            let mut stream = serde_json::Deserializer::from_str(&rest).into_iter::<Value>();
            let v = match stream.next() {
                Some(Ok(v)) => v,
                Some(Err(e)) => return err(e.to_string()),
                None => return err("unexpected end of JSON input"),
            };
            let used = rest[..stream.byte_offset()].chars().count();
            self.pos += used;
            self.empty_val();
            return Ok(Some(crate::values::floats_everywhere(v)));
        }
        match self.s.get(self.pos) {
            None => Ok(None),
            Some('{') => {
                self.pos += 1;
                let mut list = Vec::new();
                loop {
                    let (rs, stop) = self.until(&[',', '}']);
                    match stop {
                        Stop::Eof => return err("list must terminate with '}'"),
                        Stop::At('}') => {
                            if self.s.get(self.pos) == Some(&',') {
                                self.pos += 1;
                            }
                            list.push(self.read_value(&rs)?);
                            return Ok(Some(Value::Array(list)));
                        }
                        Stop::At(_) => list.push(self.read_value(&rs)?),
                    }
                }
            }
            Some(_) => {
                let (rs, _) = self.until(&[',']);
                self.read_value(&rs).map(Some)
            }
        }
    }

    fn empty_val(&mut self) -> bool {
        while let Some(&c) = self.s.get(self.pos) {
            if c == ',' {
                self.pos += 1;
                return true;
            }
            if !c.is_whitespace() {
                return false;
            }
            self.pos += 1;
        }
        true
    }

    fn key_index(&mut self) -> Res<usize> {
        let (v, last) = self.until(&[']']);
        if matches!(last, Stop::Eof) {
            return Err(None);
        }
        match v.parse::<i64>() {
            Ok(i) if i < 0 => err(format!("negative {i} index not allowed")),
            Ok(i) => usize::try_from(i).map_err(|e| Some(e.to_string())),
            Err(_) => err(format!(
                "error parsing index: strconv.Atoi: parsing \"{v}\": invalid syntax"
            )),
        }
    }

    fn list_item(&mut self, mut list: Vec<Value>, i: usize, nested: usize) -> Res<Vec<Value>> {
        let (k, stop) = self.until(&['[', '.', '=']);
        if !k.is_empty() {
            return err(format!("unexpected data at end of array index: \"{k}\""));
        }
        match stop {
            Stop::Eof => Err(None),
            Stop::At('=') => {
                let v = self.value()?.unwrap_or(Value::String(String::new()));
                set_index(list, i, v)
            }
            Stop::At('[') => {
                let next = self.key_index()?;
                let cur = match list.get(i) {
                    Some(Value::Array(l)) => l.clone(),
                    _ => Vec::new(),
                };
                let inner = self.list_item(cur, next, nested)?;
                set_index(list, i, Value::Array(inner))
            }
            Stop::At(_) => {
                let mut inner = match list.get(i) {
                    Some(Value::Object(m)) => m.clone(),
                    _ => Map::new(),
                };
                if list.len() > i && !list[i].is_object() {
                    list[i] = Value::Object(Map::new());
                }
                self.key(&mut inner, nested)?;
                set_index(list, i, Value::Object(inner))
            }
        }
    }
}

fn set(data: &mut Map<String, Value>, key: &str, v: Value) {
    if !key.is_empty() {
        data.insert(key.to_owned(), v);
    }
}

fn set_index(mut list: Vec<Value>, i: usize, v: Value) -> Res<Vec<Value>> {
    if i > MAX_INDEX {
        return err(format!(
            "index of {i} is greater than maximum supported index of {MAX_INDEX}"
        ));
    }
    if list.len() <= i {
        list.resize(i + 1, Value::Null);
    }
    list[i] = v;
    Ok(list)
}

/// `--set` typing: booleans, `null`, integers (not starting with `0`).
fn typed(val: &str) -> Value {
    if val.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if val.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if val.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if val == "0" {
        return Value::from(0_i64);
    }
    if !val.is_empty() && !val.starts_with('0') {
        let digits = val.strip_prefix(['+', '-']).unwrap_or(val);
        if !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && let Ok(i) = val.parse::<i64>()
        {
            return Value::from(i);
        }
    }
    Value::String(val.to_owned())
}

#[cfg(test)]
#[path = "strvals_tests.rs"]
mod tests;
