//! Flattened metadata of dotenv and INI files (`pgp__list_0__map_fp`) rebuilt into a tree.

use crate::Error;
use crate::tree::{Item, Value};

/// Rebuilds nested metadata from flattened keys (`pgp__list_0__map_fp`), as dotenv and INI
/// files store it.
pub(crate) fn unflatten(items: Vec<Item>) -> Result<Vec<Item>, Error> {
    #[derive(Default)]
    struct Node {
        value: Option<Value>,
        keys: std::collections::BTreeMap<String, Node>,
        indices: std::collections::BTreeMap<usize, Node>,
    }
    enum Token {
        Map(String),
        List(usize),
    }
    fn tokenize(path: &str) -> Vec<Token> {
        let mut tokens = Vec::new();
        let mut state_list = false;
        let mut start = 0;
        let mut i = 0;
        let finish = |tokens: &mut Vec<Token>, text: &str, list: bool| {
            tokens.push(if list {
                Token::List(text.parse().unwrap_or(0))
            } else {
                Token::Map(text.to_owned())
            });
        };
        while i < path.len() {
            let rest = &path[i..];
            if rest.starts_with("__map_") || rest.starts_with("__list_") {
                finish(&mut tokens, &path[start..i], state_list);
                state_list = rest.starts_with("__list_");
                i += if state_list { 7 } else { 6 };
                start = i;
            } else {
                i += rest.chars().next().map_or(1, char::len_utf8);
            }
        }
        finish(&mut tokens, &path[start..], state_list);
        tokens
    }
    fn place(root: &mut Node, path: &str, value: Value) -> Result<(), Error> {
        let mut node = root;
        for token in tokenize(path) {
            node = match token {
                Token::List(i) => node.indices.entry(i).or_default(),
                Token::Map(k) => node.keys.entry(k).or_default(),
            };
        }
        if node.value.is_some() {
            return Err(Error::Metadata(format!(
                "duplicate flattened metadata key `{path}`"
            )));
        }
        node.value = Some(value);
        Ok(())
    }
    fn convert(node: Node) -> Result<Value, Error> {
        if let Some(v) = node.value {
            return Ok(v);
        }
        if !node.indices.is_empty() {
            let n = node.indices.len();
            if node.indices.keys().copied().ne(0..n) {
                return Err(Error::Metadata("incomplete flattened metadata list".into()));
            }
            return Ok(Value::Seq(
                node.indices
                    .into_values()
                    .map(convert)
                    .collect::<Result<_, _>>()?,
            ));
        }
        Ok(Value::Map(
            node.keys
                .into_iter()
                .map(|(k, v)| Ok(Item::new(k, convert(v)?)))
                .collect::<Result<_, Error>>()?,
        ))
    }
    let mut root = Node::default();
    for item in items {
        if let Some(k) = item.key_str() {
            let k = k.to_owned();
            place(&mut root, &k, item.value)?;
        }
    }
    match convert(root)? {
        Value::Map(m) => Ok(m),
        _ => Err(Error::Metadata(
            "flattened metadata has no root mapping".into(),
        )),
    }
}
