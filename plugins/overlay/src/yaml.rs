//! YAML parsing as kustomize reads files: YAML 1.2 booleans (`yes`, `y`,
//! `on` stay strings), legacy octal integers, and a repeated mapping key
//! keeping its last value instead of failing.

use kiln_sdk::yaml::Error;
use serde_json::Value;

fn options(lenient: bool) -> serde_saphyr::Options {
    let duplicates = if lenient {
        serde_saphyr::options::DuplicateKeyPolicy::LastWins
    } else {
        serde_saphyr::options::DuplicateKeyPolicy::Error
    };
    serde_saphyr::options! {
        duplicate_keys: duplicates,
        strict_booleans: true,
        legacy_octal_numbers: true,
    }
}

fn error(e: &serde_saphyr::Error, file: &str) -> Error {
    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    let full = e.without_snippet().to_string();
    let mut message = full
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_owned();
    // kustomize words a repeated key as its YAML library does.
    if let Some(rest) = message.split("duplicate mapping key: ").nth(1) {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        message = format!("mapping key \"{key}\" already defined");
    }
    Error {
        file: file.to_owned(),
        line,
        column,
        message,
    }
}

/// Parses a stream; empty and `null` documents are dropped. A repeated
/// key is an error, as kustomize reads resources.
pub(crate) fn stream(text: &str, file: &str) -> Result<Vec<Value>, Error> {
    let mut docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options(false))
        .map_err(|e| error(&e, file))?;
    if let Some(last) = docs.last_mut() {
        kiln_sdk::yaml::unterminated_block_end(text, last);
    }
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Parses one document (an empty text gives `null`); a repeated key keeps
/// its last value, as kustomize reads kustomization and config files.
pub(crate) fn one(text: &str, file: &str) -> Result<Value, Error> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    let mut doc =
        serde_saphyr::from_str_with_options(text, options(true)).map_err(|e| error(&e, file))?;
    kiln_sdk::yaml::unterminated_block_end(text, &mut doc);
    Ok(doc)
}

/// How `text` reads back as a plain (unquoted) scalar: a number, a boolean
/// or null; `None` when it reads as a string, or not as a single scalar.
pub(crate) fn parse_plain_scalar(text: &str) -> Option<Value> {
    if text.trim().is_empty() {
        return Some(Value::Null);
    }
    if text.contains('\n') {
        return None;
    }
    match serde_saphyr::from_str_with_options::<Value>(text, options(true)) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_booleans_stay_strings_and_last_duplicate_wins() {
        let v = one("a: y\nb: yes\nc: true\nd: 1\nd: 2\n", "t").expect("valid");
        let e = stream("a: 1\na: 2\n", "t").expect_err("duplicate");
        assert!(
            e.message.contains("mapping key \"a\" already defined"),
            "{e:?}"
        );
        assert_eq!(v["a"], "y");
        assert_eq!(v["b"], "yes");
        assert_eq!(v["c"], true);
        assert_eq!(v["d"], 2);
    }
}
