//! Kubernetes label selectors in their string form (`tier in (web, db),!env`),
//! read as the Kubernetes selector parser kustomize uses reads them: a lexer of
//! identifiers and the operator symbols `= == != ! ( ) , > <`, keys checked as
//! qualified names, values as label values, `>` and `<` comparing integers.
//! kustomize reads `labelSelector` and `annotationSelector` alike.

use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    End,
    Ident,
    In,
    NotIn,
    Open,
    Close,
    Comma,
    Not,
    Eq,
    DoubleEq,
    NotEq,
    Gt,
    Lt,
}

fn symbol(s: &str) -> Option<Tok> {
    Some(match s {
        ")" => Tok::Close,
        "(" => Tok::Open,
        "," => Tok::Comma,
        "!" => Tok::Not,
        "==" => Tok::DoubleEq,
        "=" => Tok::Eq,
        "!=" => Tok::NotEq,
        ">" => Tok::Gt,
        "<" => Tok::Lt,
        "in" => Tok::In,
        "notin" => Tok::NotIn,
        _ => return None,
    })
}

fn special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

fn space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// The tokens of a selector; an error for a run of symbols that starts with
/// no known operator.
fn lex(s: &str) -> Result<Vec<(Tok, String)>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < chars.len() && space(chars[i]) {
            i += 1;
        }
        if i >= chars.len() || chars[i] == '\0' {
            out.push((Tok::End, String::new()));
            return Ok(out);
        }
        if special(chars[i]) {
            // The longest run of symbols that is still an operator.
            let mut buf = String::new();
            let mut last: Option<(Tok, String)> = None;
            while i < chars.len() && special(chars[i]) {
                buf.push(chars[i]);
                if let Some(t) = symbol(&buf) {
                    last = Some((t, buf.clone()));
                } else if last.is_some() {
                    break;
                }
                i += 1;
            }
            match last {
                Some(t) => out.push(t),
                None => return Err(format!("error expected: keyword found '{buf}'")),
            }
        } else {
            let mut buf = String::new();
            while i < chars.len() && chars[i] != '\0' && !special(chars[i]) && !space(chars[i]) {
                buf.push(chars[i]);
                i += 1;
            }
            let tok = match symbol(&buf) {
                Some(t @ (Tok::In | Tok::NotIn)) => t,
                _ => Tok::Ident,
            };
            out.push((tok, buf));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    In,
    NotIn,
    Exists,
    NotExists,
    Gt,
    Lt,
}

#[derive(Debug)]
struct Req {
    key: String,
    op: Op,
    values: Vec<String>,
}

/// A Kubernetes label selector in its string form.
#[derive(Debug)]
pub(crate) struct LabelSelector(Vec<Req>);

struct Parser {
    toks: Vec<(Tok, String)>,
    pos: usize,
}

impl Parser {
    /// The next token; `in` and `notin` read as identifiers where a value
    /// stands (`values`), as the Kubernetes parser does.
    fn peek(&self, values: bool) -> (Tok, String) {
        let (t, s) = self.toks[self.pos.min(self.toks.len() - 1)].clone();
        match t {
            Tok::In | Tok::NotIn if values => (Tok::Ident, s),
            _ => (t, s),
        }
    }

    fn next(&mut self, values: bool) -> (Tok, String) {
        let t = self.peek(values);
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn requirement(&mut self) -> Result<Req, String> {
        let (mut tok, mut key) = self.next(true);
        let mut negated = false;
        if tok == Tok::Not {
            negated = true;
            (tok, key) = self.next(true);
        }
        if tok != Tok::Ident {
            return Err(format!("found '{key}', expected: identifier"));
        }
        label_key(&key)?;
        let (after, _) = self.peek(true);
        if negated || matches!(after, Tok::End | Tok::Comma) {
            let op = if negated { Op::NotExists } else { Op::Exists };
            return Ok(Req {
                key,
                op,
                values: Vec::new(),
            });
        }
        let (tok, lit) = self.next(false);
        let (op, values) = match tok {
            Tok::In | Tok::NotIn => {
                let op = if tok == Tok::In { Op::In } else { Op::NotIn };
                (op, self.value_set()?)
            }
            Tok::Eq | Tok::DoubleEq => (Op::In, vec![self.exact_value()?]),
            Tok::NotEq => (Op::NotIn, vec![self.exact_value()?]),
            Tok::Gt | Tok::Lt => {
                let v = self.exact_value()?;
                (if tok == Tok::Gt { Op::Gt } else { Op::Lt }, vec![v])
            }
            _ => {
                return Err(format!(
                    "found '{lit}', expected: '=', '!=', '==', 'in', notin'"
                ));
            }
        };
        for v in &values {
            label_value(&key, v)?;
        }
        if matches!(op, Op::Gt | Op::Lt) && values[0].parse::<i64>().is_err() {
            return Err("for 'Gt', 'Lt' operators, the value must be an integer".into());
        }
        Ok(Req { key, op, values })
    }

    fn exact_value(&mut self) -> Result<String, String> {
        let (tok, _) = self.peek(true);
        if matches!(tok, Tok::End | Tok::Comma) {
            return Ok(String::new());
        }
        match self.next(true) {
            (Tok::Ident, v) => Ok(v),
            (_, lit) => Err(format!("found '{lit}', expected: identifier")),
        }
    }

    fn value_set(&mut self) -> Result<Vec<String>, String> {
        let (tok, lit) = self.next(true);
        if tok != Tok::Open {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (tok, lit) = self.peek(true);
        let mut set = Vec::new();
        match tok {
            Tok::Close => {
                self.next(true);
                set.push(String::new());
            }
            Tok::Ident | Tok::Comma => {
                self.value_list(&mut set)?;
                let (t, _) = self.next(true);
                if t != Tok::Close {
                    return Err(format!("found '{lit}', expected: ')'"));
                }
            }
            _ => return Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
        set.sort();
        set.dedup();
        Ok(set)
    }

    fn value_list(&mut self, set: &mut Vec<String>) -> Result<(), String> {
        loop {
            match self.next(true) {
                (Tok::Ident, v) => {
                    set.push(v);
                    match self.peek(true) {
                        (Tok::Comma, _) => {}
                        (Tok::Close, _) => return Ok(()),
                        (_, lit) => return Err(format!("found '{lit}', expected: ',' or ')'")),
                    }
                }
                (Tok::Comma, _) => {
                    if set.is_empty() {
                        set.push(String::new());
                    }
                    match self.peek(true).0 {
                        Tok::Close => {
                            set.push(String::new());
                            return Ok(());
                        }
                        Tok::Comma => {
                            self.next(true);
                            set.push(String::new());
                        }
                        _ => {}
                    }
                }
                (_, lit) => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }
}

const NAME_MESSAGE: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, or empty when `empty_ok`.
fn name_part_ok(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// A DNS-1123 subdomain: dot-separated lowercase labels, at most 253 bytes.
fn subdomain_ok(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && !b[0].is_ascii_uppercase()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && !b[b.len() - 1].is_ascii_uppercase()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

/// A label key: a qualified name, `[prefix/]name`.
fn label_key(k: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("invalid label key \"{k}\": {why}"));
    let parts: Vec<&str> = k.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                return bad("prefix part must be non-empty");
            }
            if !subdomain_ok(prefix) {
                return bad("prefix part must be a lowercase RFC 1123 subdomain");
            }
            *name
        }
        _ => return bad(&format!("a qualified name {NAME_MESSAGE}")),
    };
    if name.is_empty() {
        return bad("name part must be non-empty");
    }
    if name.len() > 63 {
        return bad("name part must be no more than 63 characters");
    }
    if !name_part_ok(name) {
        return bad(&format!("name part {NAME_MESSAGE}"));
    }
    Ok(())
}

/// A label value: empty, or a name part of at most 63 characters.
fn label_value(key: &str, v: &str) -> Result<(), String> {
    if v.len() > 63 {
        return Err(format!(
            "invalid label value: \"{v}\": at key: \"{key}\": must be no more than 63 characters"
        ));
    }
    if !v.is_empty() && !name_part_ok(v) {
        return Err(format!(
            "invalid label value: \"{v}\": at key: \"{key}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ));
    }
    Ok(())
}

impl LabelSelector {
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let toks = lex(s).map_err(|e| format!("unable to parse requirement: {e}"))?;
        let mut p = Parser { toks, pos: 0 };
        let mut reqs = Vec::new();
        loop {
            match p.peek(true) {
                (Tok::Ident | Tok::Not, _) => {
                    reqs.push(
                        p.requirement()
                            .map_err(|e| format!("unable to parse requirement: {e}"))?,
                    );
                    match p.next(true) {
                        (Tok::End, _) => break,
                        (Tok::Comma, _) => {
                            let (t, lit) = p.peek(true);
                            if !matches!(t, Tok::Ident | Tok::Not) {
                                return Err(format!(
                                    "found '{lit}', expected: identifier after ','"
                                ));
                            }
                        }
                        (_, lit) => {
                            return Err(format!("found '{lit}', expected: ',' or 'end of string'"));
                        }
                    }
                }
                (Tok::End, _) => break,
                (_, lit) => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
        Ok(Self(reqs))
    }

    /// Whether a resource's labels (or annotations) satisfy every requirement.
    pub(crate) fn matches(&self, labels: &Map<String, Value>) -> bool {
        let get = |k: &str| labels.get(k).and_then(crate::res::scalar_text);
        self.0.iter().all(|r| match r.op {
            Op::In => get(&r.key).is_some_and(|x| r.values.contains(&x)),
            Op::NotIn => get(&r.key).is_none_or(|x| !r.values.contains(&x)),
            Op::Exists => labels.contains_key(&r.key),
            Op::NotExists => !labels.contains_key(&r.key),
            Op::Gt | Op::Lt => {
                let Some(have) = get(&r.key).and_then(|x| x.parse::<i64>().ok()) else {
                    return false;
                };
                let want = r.values[0].parse::<i64>().unwrap_or_default();
                if r.op == Op::Gt {
                    have > want
                } else {
                    have < want
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::LabelSelector;
    use serde_json::json;

    fn sel(s: &str, labels: &serde_json::Value) -> Result<bool, String> {
        let map = labels.as_object().expect("an object").clone();
        LabelSelector::parse(s).map(|l| l.matches(&map))
    }

    #[test]
    fn operators_match_as_kubernetes_selectors_do() {
        let l = json!({"tier": "web", "env": "prod", "rank": "7"});
        let yes = [
            "tier in (web, db)",
            "!team",
            "env!=dev",
            "tier==web",
            " tier = web ",
            "tier notin (db)",
            "tier,env",
            "rank>3",
            "rank<10",
            "tier in (,web)",
            "tier in (web,,db)",
            "team notin ()",
            "team!=x",
            "a.b/c notin (x)",
        ];
        for s in yes {
            assert_eq!(sel(s, &l), Ok(true), "{s}");
        }
        let no = [
            "tier in ()",
            "tier=",
            "rank>7",
            "tier>1",
            "!tier",
            "team",
            "env in (dev)",
        ];
        for s in no {
            assert_eq!(sel(s, &l), Ok(false), "{s}");
        }
    }

    #[test]
    fn malformed_selectors_are_refused() {
        let l = json!({});
        for (s, want) in [
            ("tier=we b", "found 'b', expected: ',' or 'end of string'"),
            ("tier>a", "must be an integer"),
            ("tier>-1", "invalid label value"),
            ("-bad=1", "invalid label key \"-bad\""),
            ("a/b/c=1", "invalid label key"),
            ("tier=(x)", "found '(', expected: identifier"),
            ("tier in (web", "expected: ',' or ')'"),
            ("tier in web", "found 'web' expected: '('"),
            ("!tier=web", "found '=', expected: ',' or 'end of string'"),
            ("tier,", "expected: identifier after ','"),
            (",tier", "expected: !, identifier, or 'end of string'"),
            ("tier!", "found '!', expected: '='"),
            ("tier gt 1", "found 'gt'"),
            (
                "x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "no more than 63",
            ),
        ] {
            match sel(s, &l) {
                Err(e) => assert!(e.contains(want), "{s}: {e}"),
                Ok(m) => panic!("{s} parsed ({m})"),
            }
        }
    }
}
