//! Glob matching: Go's `filepath.Match` (for `.helmignore` and
//! `--show-only`) and the `/`-aware globs of `.Files.Glob` (`**`, `{a,b}`).

/// Matches `name` against `pattern` as Go's `filepath.Match` does with `/`
/// as separator: `*` is any run of non-`/` characters, `?` one non-`/`
/// character, `[...]` a class (`^` or `!` negates, ranges `a-z`), `\` escapes.
/// A malformed pattern matches nothing.
pub(crate) fn path_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    matches(&p, &n, false)
}

/// Matches like `.Files.Glob`: as [`path_match`], plus `**` (any run,
/// `/` included) and `{a,b}` alternatives.
pub(crate) fn files_glob(pattern: &str, name: &str) -> bool {
    expand_braces(pattern).iter().any(|p| {
        let p: Vec<char> = p.chars().collect();
        let n: Vec<char> = name.chars().collect();
        matches(&p, &n, true)
    })
}

fn expand_braces(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_owned()];
    };
    let mut depth = 0;
    let mut close = None;
    let mut parts = Vec::new();
    let mut start = open + 1;
    for (i, c) in pattern[open..].char_indices() {
        let i = i + open;
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    parts.push(&pattern[start..i]);
                    close = Some(i);
                    break;
                }
            }
            ',' if depth == 1 => {
                parts.push(&pattern[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_owned()];
    };
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    parts
        .into_iter()
        .flat_map(|alt| expand_braces(&format!("{head}{alt}{tail}")))
        .collect()
}

fn matches(p: &[char], n: &[char], double_star: bool) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => {
            if double_star && p.get(1) == Some(&'*') {
                let rest = &p[2..];
                return (0..=n.len()).any(|i| matches(rest, &n[i..], double_star));
            }
            let rest = &p[1..];
            let mut i = 0;
            loop {
                if matches(rest, &n[i..], double_star) {
                    return true;
                }
                if i >= n.len() || n[i] == '/' {
                    return false;
                }
                i += 1;
            }
        }
        Some('?') => n.first().is_some_and(|&c| c != '/') && matches(&p[1..], &n[1..], double_star),
        Some('[') => {
            let Some(&c) = n.first() else { return false };
            match class(&p[1..], c) {
                Some((ok, used)) => ok && c != '/' && matches(&p[1 + used..], &n[1..], double_star),
                None => false,
            }
        }
        Some('\\') => match p.get(1) {
            Some(&e) => n.first() == Some(&e) && matches(&p[2..], &n[1..], double_star),
            None => false,
        },
        Some(&c) => n.first() == Some(&c) && matches(&p[1..], &n[1..], double_star),
    }
}

/// Evaluates a character class starting after `[`; gives whether `c` is in
/// it and how many pattern characters it used (including `]`).
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 0;
    let negate = matches!(p.first(), Some('^' | '!'));
    if negate {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && !first {
            return Some((found != negate, i + 1));
        }
        first = false;
        let lo = if ch == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            ch
        };
        i += 1;
        let mut hi = lo;
        if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&x| x != ']') {
            hi = if p[i + 1] == '\\' {
                i += 1;
                *p.get(i + 1)?
            } else {
                p[i + 1]
            };
            i += 2;
        }
        if lo <= c && c <= hi {
            found = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_match_follows_go() {
        assert!(path_match(
            "templates/subdir/role*",
            "templates/subdir/role.yaml"
        ));
        assert!(path_match(
            "templates/subdir/role*",
            "templates/subdir/rolebinding.yaml"
        ));
        assert!(!path_match("templates/*", "templates/subdir/role.yaml"));
        assert!(path_match("a?c", "abc"));
        assert!(path_match("[a-c]x", "bx"));
        assert!(!path_match("[^a-c]x", "bx"));
        assert!(path_match("\\*", "*"));
    }

    #[test]
    fn files_glob_has_double_star_and_braces() {
        assert!(files_glob("files/**", "files/a/b.txt"));
        assert!(!files_glob("files/*", "files/a/b.txt"));
        assert!(files_glob("{foo,bar}/*.txt", "bar/x.txt"));
        assert!(!files_glob("{foo,bar}/*.txt", "baz/x.txt"));
    }
}
