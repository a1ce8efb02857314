//! A set of named templates sharing `define`s, like Go's `*template.Template`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::ast::Node;
use crate::error::Error;
use crate::exec::{self, Shared};
use crate::funcs::Registry;
use crate::lex;
use crate::parse;
use crate::value::Value;

/// The name Helm gives its root template; Go names it in "no template" errors.
pub(crate) const ROOT_NAME: &str = "gotpl";

/// One parsed template: its node list and the text it came from (for positions).
#[derive(Debug)]
pub(crate) struct Def {
    pub(crate) list: Vec<Node>,
    pub(crate) parse_name: String,
    pub(crate) text: Arc<str>,
}

/// A set of named templates sharing `define`s, like Go's `*template.Template`.
///
/// Functions are Go's builtins, Sprig v3 and Helm's (`include`, `tpl`, `toYaml`, ...).
/// Missing map keys evaluate to nil (`missingkey=zero`, as Helm sets it) unless
/// [`Templates::set_strict`] is on.
#[derive(Debug, Clone)]
pub struct Templates {
    pub(crate) defs: HashMap<String, Arc<Def>>,
    pub(crate) funcs: Arc<Registry>,
    pub(crate) seed: [u8; 32],
    pub(crate) now: i64,
    pub(crate) strict: bool,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    /// An empty set with Go's builtins, Sprig's and Helm's functions, seed 0, clock at
    /// the Unix epoch and `missingkey=zero`.
    pub fn new() -> Self {
        Templates {
            defs: HashMap::new(),
            funcs: Arc::new(Registry::standard()),
            seed: [0; 32],
            now: 0,
            strict: false,
        }
    }

    /// Parses `text` as template `name`, adding it and every template it defines.
    ///
    /// A later definition of a name replaces an earlier one, except that an empty
    /// (whitespace-only) body never replaces an existing template, as in Go.
    pub fn add(&mut self, name: &str, text: &str) -> Result<(), Error> {
        let funcs = Arc::clone(&self.funcs);
        let has = move |f: &str| funcs.has(f);
        let parsed = parse::parse(text, &has)
            .map_err(|e| Error::parse(name, lex::line_of(text, e.pos), e.msg))?;
        let text: Arc<str> = Arc::from(text);
        for (n, list) in parsed.defines {
            self.associate(n, list, name, &text);
        }
        self.associate(name.to_string(), parsed.root, name, &text);
        Ok(())
    }

    fn associate(&mut self, name: String, list: Vec<Node>, parse_name: &str, text: &Arc<str>) {
        let empty = list
            .iter()
            .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()));
        if empty && self.defs.contains_key(&name) {
            return;
        }
        self.defs.insert(
            name,
            Arc::new(Def {
                list,
                parse_name: parse_name.to_string(),
                text: Arc::clone(text),
            }),
        );
    }

    /// Executes template `name` with `data` as dot and returns the output.
    ///
    /// The output is Go's: a missing value prints `<no value>`. Helm deletes that text
    /// from every rendered file; callers rendering charts should do the same
    /// (`include` and `tpl` results already have it removed).
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, Error> {
        let shared = Shared::new(self.seed, fnv(name));
        let mut out = String::new();
        exec::run(
            self,
            &shared,
            name,
            &std::rc::Rc::new(data.clone()),
            &mut out,
        )?;
        Ok(out)
    }

    /// Executes template `name` as Helm renders a chart file: like
    /// [`Templates::execute`], then with every `<no value>` removed.
    pub fn render(&self, name: &str, data: &Value) -> Result<String, Error> {
        Ok(self.execute(name, data)?.replace("<no value>", ""))
    }

    /// Whether a template (a file or a `define`) named `name` exists.
    pub fn has(&self, name: &str) -> bool {
        self.defs.contains_key(name)
    }

    /// The names of all templates, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.defs.keys().cloned().collect();
        v.sort();
        v
    }

    /// Seeds randomness (`randAlphaNum`, `uuidv4`, `shuffle`, keys, ...) so output
    /// is deterministic; each `execute` draws from the seed's stream named by the
    /// template. Whoever knows the seed knows every password and key a render
    /// makes: derive it from a secret, not from the inputs alone.
    pub fn set_seed(&mut self, seed: [u8; 32]) {
        self.seed = seed;
    }

    /// Fixes the clock `now`, `date` and friends see, in Unix seconds (UTC).
    pub fn set_now(&mut self, unix_seconds: i64) {
        self.now = unix_seconds;
    }

    /// `missingkey=error` when true: a missing map key is an execution error.
    pub fn set_strict(&mut self, strict: bool) {
        self.strict = strict;
    }
}

/// FNV-1a, to name a template's stream of the seed.
pub(crate) fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
