//! sops' dotenv store: `KEY=value` lines, `#` comments, `\n` escapes.

use crate::Error;
use crate::tree::{Item, Key, Value};

/// Parses dotenv lines into one branch.
pub(crate) fn parse(bytes: &[u8]) -> Result<Vec<Item>, Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| Error::Parse {
        format: "dotenv",
        message: "the file is not UTF-8".into(),
    })?;
    let mut items = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            items.push(Item::comment(comment, false));
        } else {
            let (k, v) = line.split_once('=').ok_or_else(|| Error::Parse {
                format: "dotenv",
                message: format!("line {} has no `=`", n + 1),
            })?;
            items.push(Item::new(k, Value::Str(v.replace("\\n", "\n"))));
        }
    }
    Ok(items)
}

/// Emits the branch as `sops --decrypt` prints dotenv files.
pub(crate) fn emit(items: &[Item]) -> Result<Vec<u8>, Error> {
    let mut out = String::new();
    for item in items {
        match &item.key {
            Key::Comment(c) => {
                out.push('#');
                out.push_str(&c.value);
            }
            Key::Str(k) => {
                if matches!(item.value, Value::Map(_) | Value::Seq(_)) {
                    return Err(Error::Output(format!(
                        "cannot use a complex value in a dotenv file (key `{k}`)"
                    )));
                }
                out.push_str(k);
                out.push('=');
                match &item.value {
                    Value::Str(s) => out.push_str(&s.replace('\n', "\\n")),
                    v => out.push_str(&val_to_string(v)),
                }
            }
        }
        out.push('\n');
    }
    Ok(out.into_bytes())
}

/// sops' `ValToString` for scalar values of flat formats.
pub(crate) fn val_to_string(v: &Value) -> String {
    match v {
        Value::Float(f) => {
            let g = crate::tree::format_float_g(*f).to_uppercase();
            if g.contains('.') || g.contains('E') || g.contains("INF") || g.contains("NAN") {
                g
            } else {
                format!("{g}.0")
            }
        }
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) | Value::Time(s) => s.clone(),
        Value::Bytes(b) => format!("{b:?}"),
        Value::Null => "<nil>".to_owned(),
        Value::Comment(c) => c.value.clone(),
        Value::Map(_) | Value::Seq(_) => String::new(),
    }
}
