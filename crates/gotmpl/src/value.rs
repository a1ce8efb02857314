//! Template values with Go's dynamic typing rules.

use std::cell::{Ref, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

/// A value flowing through a template, modelled on the Go values text/template sees.
///
/// `Int` and `Float` stay distinct as Go's `int` and `float64` do: they print
/// differently (`1` against `1e+06`) and comparing one with the other is an error.
/// `Map` iterates in sorted key order, as Go's `range` and `fmt` do, and is a
/// reference like a Go map: copies of a value share the map, so a change made
/// through one (`set`, `unset`, `merge`) is seen through every other.
#[derive(Debug, Clone, Default)]
pub enum Value {
    /// Go's untyped `nil` (a missing map key, an absent value).
    #[default]
    Nil,
    /// A `bool`.
    Bool(bool),
    /// An `int` (64-bit).
    Int(i64),
    /// An `int64`: what Sprig's integer arithmetic and Helm's `--set` give.
    /// It prints, compares and converts as `Int` does; `typeOf`, `deepEqual`
    /// and parameters of type `int` tell them apart.
    Int64(i64),
    /// A `float64`.
    Float(f64),
    /// A `string`.
    String(String),
    /// A `[]interface{}`.
    List(Vec<Value>),
    /// A `map[string]interface{}` (shared, see [`Map`]).
    Map(Map),
    /// A host object with fields and methods.
    Object(Arc<dyn Object>),
}

/// A Go `map[string]interface{}`: a shared, mutable reference. Cloning a `Map`
/// (or a [`Value`] holding one) gives another handle to the same entries.
///
/// A handle may instead have Helm's named map type `common.Values` (what `.Values`
/// is): the same entries, plus the methods `AsMap`, `YAML` and `Table`, which a
/// field chain finds before the keys, and a type that Sprig's `dig` rejects.
#[derive(Clone, Default)]
pub struct Map(Rc<RefCell<BTreeMap<String, Value>>>, bool);

impl Map {
    /// A new empty map.
    pub fn new() -> Map {
        Map::default()
    }

    /// The value at `key` (a handle, when it is itself a map).
    pub fn get(&self, key: &str) -> Option<Value> {
        self.0.borrow().get(key).cloned()
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.borrow().contains_key(key)
    }

    /// Sets `key`, as Go's `m[key] = v` does: seen through every handle.
    pub fn insert(&self, key: String, v: Value) -> Option<Value> {
        self.0.borrow_mut().insert(key, v)
    }

    /// Deletes `key`, as Go's `delete(m, key)` does.
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.0.borrow_mut().remove(key)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    /// The keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.0.borrow().keys().cloned().collect()
    }

    /// The values, in key order.
    pub fn values(&self) -> Vec<Value> {
        self.0.borrow().values().cloned().collect()
    }

    /// The entries, in key order (a snapshot: later changes are not seen).
    pub fn entries(&self) -> Vec<(String, Value)> {
        self.0
            .borrow()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Read access to the entries. Do not hold it across code that may change
    /// the map.
    pub fn borrow(&self) -> Ref<'_, BTreeMap<String, Value>> {
        self.0.borrow()
    }

    /// The entries as a new (unshared) `BTreeMap`; nested maps stay shared.
    pub fn to_btree(&self) -> BTreeMap<String, Value> {
        self.0.borrow().clone()
    }

    /// A new map with the same entries (nested maps stay shared): Go's map copy loop.
    #[must_use]
    pub fn shallow_copy(&self) -> Map {
        Map::from(self.to_btree())
    }

    /// Whether both handles are the same Go map.
    pub fn ptr_eq(&self, other: &Map) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// This map as Helm's `common.Values` (a handle to the same entries).
    #[must_use]
    pub fn as_helm_values(&self) -> Map {
        Map(Rc::clone(&self.0), true)
    }

    /// This map as a plain `map[string]interface {}` (a handle to the same
    /// entries): what `common.Values`' `AsMap` returns.
    #[must_use]
    pub fn as_plain(&self) -> Map {
        Map(Rc::clone(&self.0), false)
    }

    /// Whether this handle has Helm's `common.Values` type.
    pub fn is_helm_values(&self) -> bool {
        self.1
    }
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.try_borrow() {
            Ok(m) => m.fmt(f),
            Err(_) => f.write_str("{<borrowed>}"),
        }
    }
}

impl From<BTreeMap<String, Value>> for Map {
    fn from(m: BTreeMap<String, Value>) -> Self {
        Map(Rc::new(RefCell::new(m)), false)
    }
}

impl FromIterator<(String, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Map::from(iter.into_iter().collect::<BTreeMap<_, _>>())
    }
}

/// A host object seen by templates, such as Helm's `.Files` or `.Capabilities`.
pub trait Object: Send + Sync + fmt::Debug {
    /// The Go type name shown by `printf "%T"` and in error messages.
    fn type_name(&self) -> &str;
    /// The value of field `name` (`.Foo`), or `None` when there is no such field.
    fn field(&self, name: &str) -> Option<Value>;
    /// Calls method `method` (`.Foo "x"`); `None` means there is no such method.
    fn call(&self, method: &str, args: &[Value]) -> Option<Result<Value, String>>;
    /// The Go reflect kind `kindOf` reports: `ptr` for a pointer to a struct
    /// (the default), `struct` for a struct held by value.
    fn kind_name(&self) -> &'static str {
        "ptr"
    }
    /// Whether the object counts as true in `if`; structs always do.
    fn truthy(&self) -> bool {
        true
    }
    /// How `%v` prints the object (Go's `String()` method, if it has one); defaults
    /// to the type name in braces.
    fn display(&self) -> String {
        format!("{{{}}}", self.type_name())
    }
    /// How an action (`{{ .X }}`) prints the object when that differs from
    /// `%v` (`None`, the default): text/template first dereferences a pointer,
    /// and calls a `String` method declared on the pointer type when the value
    /// is addressable (a field reached through a pointer), which `%v` of the
    /// same value does not.
    fn print(&self) -> Option<String> {
        None
    }
    /// The elements, when the object is a Go slice (such as Helm's
    /// `.Capabilities.APIVersions`): `range`, `len`, `index`, `toJson` and `toYaml` use them.
    fn list(&self) -> Option<Vec<Value>> {
        None
    }
    /// The number of elements, when the object is a Go slice or map (`len`,
    /// Sprig's `empty`); by default, that of [`Object::list`].
    fn elements(&self) -> Option<usize> {
        self.list().map(|l| l.len())
    }
    /// The object as a template value: the map `range` walks over (a Go map type
    /// with methods, such as Helm's `.Files`) and, unless [`Object::encoded`] says
    /// otherwise, what encoders see.
    fn to_value(&self) -> Option<Value> {
        None
    }
    /// The exported fields of a Go struct, in declaration order, each under the
    /// name encoders give it (its `json` tag, else its Go name). `toJson` and
    /// `toToml` write them in this order; `toYaml` sorts them, as
    /// sigs.k8s.io/yaml does by going through a map. `None` for what is no struct.
    fn fields(&self) -> Option<Vec<(String, Value)>> {
        None
    }
    /// What encoders (`toJson`, `toYaml`, `toToml`) see of an object that is no
    /// struct; by default [`Object::to_value`]. `None` encodes it as a list (when
    /// [`Object::list`] gives one) or else as its [`Object::display`] text.
    fn encoded(&self) -> Option<Value> {
        self.to_value()
    }
    /// `index OBJ KEY`, when the object is a Go map (such as Helm's `.Files`):
    /// the element, or the element type's zero value when the key is absent.
    /// `None` means the object cannot be indexed.
    fn index(&self, _key: &str) -> Option<Value> {
        None
    }
}

impl Value {
    /// Builds a value from JSON, turning every number into a `Float` as Go's
    /// `encoding/json` (and so Helm's values decoding) does.
    pub fn from_json_floats(v: serde_json::Value) -> Value {
        match v {
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::Array(a) => {
                Value::List(a.into_iter().map(Value::from_json_floats).collect())
            }
            serde_json::Value::Object(o) => Value::Map(
                o.into_iter()
                    .map(|(k, v)| (k, Value::from_json_floats(v)))
                    .collect(),
            ),
            other => Value::from(other),
        }
    }

    /// Converts to JSON; objects become their encoded form ([`Object::fields`],
    /// [`Object::encoded`], [`Object::list`] or their `%v` text), non-finite
    /// floats `null`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Nil => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) | Value::Int64(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(l) => serde_json::Value::Array(l.iter().map(Value::to_json).collect()),
            Value::Map(m) => serde_json::Value::Object(
                m.borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            Value::Object(o) => object_value(o.as_ref()).to_json(),
        }
    }

    /// The value with every object replaced by its encoded form (for encoders);
    /// borrowed when there is no object inside.
    pub(crate) fn flatten_objects(&self) -> std::borrow::Cow<'_, Value> {
        fn has_object(v: &Value) -> bool {
            match v {
                Value::Object(_) => true,
                Value::List(l) => l.iter().any(has_object),
                Value::Map(m) => m.borrow().values().any(has_object),
                _ => false,
            }
        }
        fn flatten(v: &Value) -> Value {
            match v {
                Value::Object(o) => flatten(&object_value(o.as_ref())),
                Value::List(l) => Value::List(l.iter().map(flatten).collect()),
                Value::Map(m) => Value::Map(
                    m.borrow()
                        .iter()
                        .map(|(k, v)| (k.clone(), flatten(v)))
                        .collect(),
                ),
                other => other.clone(),
            }
        }
        if has_object(self) {
            std::borrow::Cow::Owned(flatten(self))
        } else {
            std::borrow::Cow::Borrowed(self)
        }
    }

    /// Go's truth: false, 0, "", empty collections and nil are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Object(o) => o.list().map_or_else(|| o.truthy(), |l| !l.is_empty()),
        }
    }

    /// Whether this is a map handle of Helm's `common.Values` type.
    pub fn is_helm_values(&self) -> bool {
        matches!(self, Value::Map(m) if m.is_helm_values())
    }

    /// The Go type name (`int`, `float64`, `[]interface {}`, ...).
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Int64(_) => "int64".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::List(_) => "[]interface {}".into(),
            Value::Map(m) if m.is_helm_values() => "common.Values".into(),
            Value::Map(_) => "map[string]interface {}".into(),
            Value::Object(o) => o.type_name().to_string(),
        }
    }

    /// The Go reflect kind name (`int`, `slice`, `map`, `ptr`, ...).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(o) => o.kind_name(),
        }
    }

    /// The string inside a `String`, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is `Nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::List(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::Map(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<Vec<Value>> for Value {
    fn from(l: Vec<Value>) -> Self {
        Value::List(l)
    }
}

impl From<BTreeMap<String, Value>> for Value {
    fn from(m: BTreeMap<String, Value>) -> Self {
        Value::Map(Map::from(m))
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Map(m)
    }
}

impl Value {
    /// A new empty map value.
    pub fn empty_map() -> Value {
        Value::Map(Map::new())
    }

    /// A copy sharing nothing with `self`: maps (at every depth) are new maps,
    /// as Sprig's `deepCopy` makes them.
    #[must_use]
    pub fn deep_copy(&self) -> Value {
        match self {
            Value::Map(m) => {
                let copy: Map = m
                    .borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.deep_copy()))
                    .collect();
                // A deep copy keeps the map's type, as copystructure does.
                Value::Map(if m.is_helm_values() {
                    copy.as_helm_values()
                } else {
                    copy
                })
            }
            Value::List(l) => Value::List(l.iter().map(Value::deep_copy).collect()),
            other => other.clone(),
        }
    }
}

/// How encoders see an object: its fields (as a map), its value, its
/// elements, or its text.
pub(crate) fn object_value(o: &dyn Object) -> Value {
    if let Some(fields) = o.fields() {
        return Value::from(fields.into_iter().collect::<BTreeMap<String, Value>>());
    }
    if let Some(v) = o.encoded() {
        return v;
    }
    match o.list() {
        Some(l) => Value::List(l),
        None => Value::String(o.display()),
    }
}

/// Go's `reflect.DeepEqual` over template values (an int never equals a float).
pub(crate) fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        #[expect(clippy::float_cmp, reason = "Go compares floats exactly")]
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            if x.ptr_eq(y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Value::Object(x), Value::Object(y)) => Arc::ptr_eq(x, y),
        _ => false,
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        deep_equal(self, other)
    }
}

/// The first code point of the range that stands for bytes `0x80..=0xFF`
/// which are not UTF-8 (see [`string_from_go_bytes`]).
const RAW_BYTE_BASE: u32 = 0x0010_FF00;

/// A Go string made from bytes that need not be UTF-8 (`string(data)` of a
/// chart file): valid UTF-8 is kept, and each byte that is not becomes a code
/// point at the end of the last private-use plane, so that functions which
/// see the string as bytes again (`b64enc`, `sha256sum`, ...) get the
/// original bytes back through [`go_string_bytes`].
pub fn string_from_go_bytes(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len());
    for chunk in data.utf8_chunks() {
        out.push_str(chunk.valid());
        for &b in chunk.invalid() {
            out.push(char::from_u32(RAW_BYTE_BASE + u32::from(b)).unwrap_or('\u{FFFD}'));
        }
    }
    out
}

/// The bytes of a Go string made by [`string_from_go_bytes`].
pub fn go_string_bytes(s: &str) -> std::borrow::Cow<'_, [u8]> {
    let raw = |c: char| (RAW_BYTE_BASE + 0x80..=RAW_BYTE_BASE + 0xFF).contains(&u32::from(c));
    if !s.chars().any(raw) {
        return std::borrow::Cow::Borrowed(s.as_bytes());
    }
    let mut out = Vec::with_capacity(s.len());
    let mut buf = [0u8; 4];
    for c in s.chars() {
        if raw(c) {
            out.push(u8::try_from(u32::from(c) - RAW_BYTE_BASE).unwrap_or(b'?'));
        } else {
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    std::borrow::Cow::Owned(out)
}
