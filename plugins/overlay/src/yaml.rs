//! YAML parsing as kustomize reads files: YAML 1.2 booleans (`yes`, `y`,
//! `on` stay strings), legacy octal integers, and a repeated mapping key
//! keeping its last value instead of failing.

use kiln_sdk::yaml::Error;
use serde_json::Value;

use crate::alias::Seg;

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

/// Whether some line of `text` may hold a mapping key with no value at all
/// (`key:` at the end of a line, followed by nothing nested), the only case
/// [`empty_values`] finds; a quick test before parsing events.
fn may_have_empty_values(text: &str) -> bool {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let content = |l: &&str| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with('#')
    };
    let mut lines = text.lines().filter(content).peekable();
    while let Some(line) = lines.next() {
        let body = line.split(" #").next().unwrap_or(line).trim_end();
        if !body.ends_with(':') {
            continue;
        }
        match lines.peek() {
            None => return true,
            Some(next) => {
                let (a, b) = (indent(line), indent(next));
                if b < a || (b == a && !next.trim_start().starts_with('-')) {
                    return true;
                }
            }
        }
    }
    false
}

/// The fields of each non-null document of `text` that hold no value at all
/// (`key:` with nothing after it, as opposed to a written `null` or `~`),
/// as paths from the document's root. kustomize's strategic merge drops such
/// fields from the resource it patches and keeps written nulls. `None` when
/// the text has none, or a shape these paths cannot follow (merge keys,
/// complex keys); an unparsable text is reported by [`stream`], not here.
pub(crate) fn empty_values(text: &str) -> Option<Vec<Vec<Vec<Seg>>>> {
    use granit_parser::{Event, Parser, ScalarStyle};
    enum Frame {
        Map(Option<String>),
        Seq(usize),
    }
    fn path(stack: &[Frame]) -> Vec<Seg> {
        stack
            .iter()
            .filter_map(|f| match f {
                Frame::Map(k) => k.clone().map(Seg::Key),
                Frame::Seq(i) => Some(Seg::Index(*i)),
            })
            .collect()
    }
    fn advance(stack: &mut [Frame]) {
        match stack.last_mut() {
            Some(Frame::Map(k)) => *k = None,
            Some(Frame::Seq(i)) => *i += 1,
            None => {}
        }
    }
    if !may_have_empty_values(text) {
        return None;
    }
    let mut docs: Vec<Vec<Vec<Seg>>> = Vec::new();
    let mut found = false;
    let mut stack: Vec<Frame> = Vec::new();
    let mut current: Vec<Vec<Seg>> = Vec::new();
    // Whether the document's root is a mapping or sequence (a scalar root is
    // a null or invalid document, which `stream` drops or refuses).
    let mut root_kept = false;
    for ev in Parser::new_from_str(text) {
        let (ev, span) = ev.ok()?;
        let node = matches!(
            ev,
            Event::Scalar(..)
                | Event::MappingStart(..)
                | Event::SequenceStart(..)
                | Event::Alias(_)
        );
        if node && let Some(Frame::Map(key @ None)) = stack.last_mut() {
            // A key: only plain string keys can be followed.
            let Event::Scalar(k, ..) = &ev else {
                return None;
            };
            if k == "<<" {
                return None;
            }
            *key = Some(k.to_string());
            continue;
        }
        match ev {
            Event::DocumentStart(..) => {
                stack.clear();
                current = Vec::new();
                root_kept = false;
            }
            Event::DocumentEnd if root_kept => docs.push(std::mem::take(&mut current)),
            Event::MappingStart(..) => {
                root_kept |= stack.is_empty();
                stack.push(Frame::Map(None));
            }
            Event::SequenceStart(..) => {
                root_kept |= stack.is_empty();
                stack.push(Frame::Seq(0));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                advance(&mut stack);
            }
            Event::Scalar(v, style, _, tag) => {
                // The parser gives an empty value as `~`, spanning nothing.
                if (v.is_empty() || v == "~")
                    && span.start.index() == span.end.index()
                    && style == ScalarStyle::Plain
                    && tag.is_none()
                    && matches!(stack.last(), Some(Frame::Map(Some(_))))
                {
                    current.push(path(&stack));
                    found = true;
                }
                advance(&mut stack);
            }
            Event::Alias(_) => advance(&mut stack),
            _ => {}
        }
    }
    found.then_some(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_told_from_written_nulls() {
        let text = "a: 1\n---\n---\nkind: K\nx:\ny: null\nz: ~\nm:\n  n:\n  o: ''\nl:\n- k:\n  v: 1\n- q:\n";
        let docs = empty_values(text).expect("some");
        let k = |s: &str| Seg::Key(s.to_owned());
        assert_eq!(
            docs,
            vec![
                vec![],
                vec![
                    vec![k("x")],
                    vec![k("m"), k("n")],
                    vec![k("l"), Seg::Index(0), k("k")],
                    vec![k("l"), Seg::Index(1), k("q")],
                ]
            ]
        );
        assert_eq!(empty_values("a: 1\nb:\n  c: null\nl:\n- x\n"), None);
    }

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
