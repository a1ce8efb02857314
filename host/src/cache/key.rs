//! The step key: a blake3 hash of everything that can change a step's output.

use std::fmt;

use serde_json::Value;

/// Version of the key's layout; bump it when the inputs or their encoding change.
const KEY_SCHEMA: &[u8] = b"kiln-step-key-v0";

/// The cache key of one step, also the seed of the plugin's randomness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StepKey(blake3::Hash);

/// The digest of each input of a step key, kept so that `--explain` can say
/// which input changed since the last render.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyInputs {
    /// The WIT contract version.
    pub contract: String,
    /// The plugin's blake3 digest.
    pub plugin: String,
    /// blake3 of the canonical config.
    pub config: String,
    /// blake3 of the canonical render context.
    pub context: String,
    /// blake3 of the framed input resources.
    pub inputs: String,
    /// The digest of the source tree the plugin can read.
    pub tree: String,
}

impl KeyInputs {
    /// Digests each input of a step.
    pub fn new(
        plugin: &blake3::Hash,
        config: &Value,
        context: &Value,
        inputs: &[String],
        tree: &blake3::Hash,
    ) -> Self {
        let mut h = blake3::Hasher::new();
        h.update(&(inputs.len() as u64).to_le_bytes());
        for doc in inputs {
            field(&mut h, doc.as_bytes());
        }
        Self {
            contract: crate::CONTRACT_VERSION.to_owned(),
            plugin: plugin.to_hex().to_string(),
            config: blake3::hash(canonical(config).as_bytes())
                .to_hex()
                .to_string(),
            context: blake3::hash(canonical(context).as_bytes())
                .to_hex()
                .to_string(),
            inputs: h.finalize().to_hex().to_string(),
            tree: tree.to_hex().to_string(),
        }
    }

    /// The key these inputs make.
    pub fn key(&self) -> StepKey {
        let mut h = blake3::Hasher::new();
        field(&mut h, KEY_SCHEMA);
        for part in [
            &self.contract,
            &self.plugin,
            &self.config,
            &self.context,
            &self.inputs,
            &self.tree,
        ] {
            field(&mut h, part.as_bytes());
        }
        StepKey(h.finalize())
    }

    /// The names of the inputs that differ from `before` (`contract`,
    /// `plugin`, `config`, `context`, `inputs`, `source tree`).
    pub fn changed_since(&self, before: &Self) -> Vec<&'static str> {
        let pairs = [
            ("contract", &self.contract, &before.contract),
            ("plugin", &self.plugin, &before.plugin),
            ("config", &self.config, &before.config),
            ("context", &self.context, &before.context),
            ("inputs", &self.inputs, &before.inputs),
            ("source tree", &self.tree, &before.tree),
        ];
        pairs
            .into_iter()
            .filter(|(_, a, b)| a != b)
            .map(|(n, _, _)| n)
            .collect()
    }
}

impl StepKey {
    /// Hashes the contract version, the plugin's digest, the canonical
    /// config, the render context, the input resources and the digest of the
    /// source tree the plugin can read.
    pub fn compute(
        plugin: &blake3::Hash,
        config: &Value,
        context: &Value,
        inputs: &[String],
        tree: &blake3::Hash,
    ) -> Self {
        KeyInputs::new(plugin, config, context, inputs, tree).key()
    }

    /// The 32 key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
}

impl std::str::FromStr for StepKey {
    type Err = blake3::HexError;

    /// Parses the hex form [`fmt::Display`] writes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        blake3::Hash::from_hex(s).map(Self)
    }
}

impl fmt::Display for StepKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_hex())
    }
}

/// Length-prefixed, so that no two different field lists hash the same.
fn field(h: &mut blake3::Hasher, bytes: &[u8]) {
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// JSON with object keys sorted, so that key order does not change the key.
pub(crate) fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<_> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key(config: &Value, inputs: &[&str]) -> StepKey {
        let inputs: Vec<String> = inputs.iter().map(|s| (*s).to_owned()).collect();
        StepKey::compute(
            &blake3::hash(b"p"),
            config,
            &json!({"ns": "a"}),
            &inputs,
            &blake3::hash(b"t"),
        )
    }

    #[test]
    fn key_order_in_config_does_not_matter_but_values_do() {
        let a = key(&json!({"a": 1, "b": {"c": 2, "d": 3}}), &[]);
        let b = key(&json!({"b": {"d": 3, "c": 2}, "a": 1}), &[]);
        assert_eq!(a, b);
        assert_ne!(a, key(&json!({"a": 2, "b": {"c": 2, "d": 3}}), &[]));
    }

    #[test]
    fn inputs_are_framed() {
        assert_ne!(key(&json!({}), &["ab", "c"]), key(&json!({}), &["a", "bc"]));
        assert_ne!(key(&json!({}), &[]), key(&json!({}), &[""]));
    }

    #[test]
    fn changed_inputs_are_named() {
        let a = KeyInputs::new(
            &blake3::hash(b"p"),
            &json!({"a": 1}),
            &json!({}),
            &[],
            &blake3::hash(b"t"),
        );
        let b = KeyInputs::new(
            &blake3::hash(b"p"),
            &json!({"a": 2}),
            &json!({}),
            &[],
            &blake3::hash(b"u"),
        );
        assert_eq!(b.changed_since(&a), vec!["config", "source tree"]);
        assert!(a.changed_since(&a).is_empty());
    }
}
