//! Helm's engine functions (`include`, `tpl`, `required`, `lookup`) and Sprig's path helpers.

use std::rc::Rc;

use crate::exec;
use crate::funcs::conv::want_str;
use crate::funcs::{Ctx, FResult, FuncError, Registry, ex};
use crate::templates::ROOT_NAME;
use crate::value::Value;

/// Helm's limit on nested `include`s of one name.
const MAX_INCLUDE: usize = 1000;

pub(crate) fn register(r: &mut Registry) {
    // The executor calls `include` and `tpl` directly (they share data without copying).
    r.add("include", ex(2), |_, _| {
        Err(FuncError::Call("include is run by the executor".into()))
    });
    r.add("tpl", ex(2), |_, _| {
        Err(FuncError::Call("tpl is run by the executor".into()))
    });
    r.add("required", ex(2), |_, a| {
        let msg = want_str(&a, 0)?;
        match &a[1] {
            Value::Nil => Err(FuncError::Fail(msg)),
            Value::String(s) if s.is_empty() => Err(FuncError::Fail(msg)),
            v => Ok(v.clone()),
        }
    });
    r.add("lookup", ex(4), |_, a| {
        for i in 0..4 {
            want_str(&a, i)?;
        }
        Ok(Value::empty_map())
    });
    r.add("getHostByName", ex(1), |_, _| {
        Ok(Value::String(String::new()))
    });
    // Paths inside the sandbox are `/`-separated, so Sprig's `os*` forms
    // behave exactly like the plain ones.
    let paths: [(&'static str, &'static str, super::FuncImpl); 5] = [
        ("base", "osBase", |_, a| {
            Ok(Value::String(base(&want_str(&a, 0)?)))
        }),
        ("dir", "osDir", |_, a| {
            Ok(Value::String(dir(&want_str(&a, 0)?)))
        }),
        ("clean", "osClean", |_, a| {
            Ok(Value::String(clean(&want_str(&a, 0)?)))
        }),
        ("ext", "osExt", |_, a| {
            Ok(Value::String(ext(&want_str(&a, 0)?)))
        }),
        ("isAbs", "osIsAbs", |_, a| {
            Ok(Value::Bool(want_str(&a, 0)?.starts_with('/')))
        }),
    ];
    for (name, os_name, f) in paths {
        r.add(name, ex(1), f);
        r.add(os_name, ex(1), f);
    }
}

/// Helm's `include`: the output of template `name` with `data`.
pub(crate) fn include(c: &Ctx<'_>, name: &Value, data: &Rc<Value>) -> FResult {
    let name = want_str(std::slice::from_ref(name), 0)?;
    {
        let mut inc = c.shared.included.borrow_mut();
        let n = inc.entry(name.clone()).or_insert(0);
        if *n > MAX_INCLUDE {
            return Err(FuncError::Call(format!(
                "rendering template has a nested reference name: {name}: unable to execute template"
            )));
        }
        *n += 1;
    }
    let depth = *c.shared.depth.borrow();
    if depth >= exec::MAX_DEPTH {
        return Err(FuncError::Call(format!(
            "rendering template has a nested reference name: {name}: unable to execute template (more than {} nested templates)",
            exec::MAX_DEPTH
        )));
    }
    *c.shared.depth.borrow_mut() += 1;
    let mut out = String::new();
    let r = exec::run(c.set, c.shared, &name, data, &mut out);
    *c.shared.depth.borrow_mut() -= 1;
    if let Some(n) = c.shared.included.borrow_mut().get_mut(&name) {
        *n = n.saturating_sub(1);
    }
    r.map_err(|e| FuncError::Nested(String::new(), e))?;
    // Helm's `include` gives the text as it is: only a rendered file (and
    // `tpl`) drops "<no value>", so a digest of an include still sees it.
    Ok(Value::String(out))
}

/// Helm's `tpl`: `text` parsed as template `gotpl` in a copy of the set, run with `data`.
pub(crate) fn tpl(c: &Ctx<'_>, text: &Value, data: &Rc<Value>) -> FResult {
    let text = want_str(std::slice::from_ref(text), 0)?;
    let mut set = c.set.clone();
    // Helm parses the text into a fresh template of the root name, so an empty text
    // runs as an empty template (it never falls back to an earlier `gotpl`).
    set.defs.remove(ROOT_NAME);
    set.add(ROOT_NAME, &text)
        .map_err(|e| FuncError::Call(format!("cannot parse template {text:?}: {e}")))?;
    let depth = *c.shared.depth.borrow();
    if depth >= exec::MAX_DEPTH {
        return Err(FuncError::Call(format!(
            "exceeded maximum template depth ({})",
            exec::MAX_DEPTH
        )));
    }
    *c.shared.depth.borrow_mut() += 1;
    let mut out = String::new();
    let r = exec::run(&set, c.shared, ROOT_NAME, data, &mut out);
    *c.shared.depth.borrow_mut() -= 1;
    r.map_err(|e| {
        FuncError::Nested(
            format!("error during tpl function execution for {text:?}: "),
            e,
        )
    })?;
    Ok(Value::String(out.replace("<no value>", "")))
}

fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

/// The extension of the last path element, dot included (Go's `path.Ext`).
fn ext(p: &str) -> String {
    let tail = p.rsplit('/').next().unwrap_or("");
    tail.rfind('.')
        .map(|i| tail[i..].to_string())
        .unwrap_or_default()
}

fn dir(p: &str) -> String {
    let d = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    clean(d)
}

/// Go's `path.Clean`.
pub(crate) fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}
