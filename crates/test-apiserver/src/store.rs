//! The object store: objects by group, resource, namespace and name, a global resource-version
//! counter, a history of change events (for watch), and owner-reference garbage collection.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Where an object lives. The version is not part of it: every version of a type shares objects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    pub(crate) group: String,
    pub(crate) plural: String,
    /// Empty for cluster-scoped objects.
    pub(crate) namespace: String,
    pub(crate) name: String,
}

impl Key {
    pub(crate) fn of(group: &str, plural: &str, namespace: &str, name: &str) -> Key {
        Key {
            group: group.to_owned(),
            plural: plural.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }
}

/// One change, as a watch reports it.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) rv: u64,
    pub(crate) kind: &'static str,
    pub(crate) key: Key,
    pub(crate) object: Value,
    /// The object before a MODIFIED change.
    pub(crate) previous: Option<Value>,
}

/// How a delete treats the objects that name the deleted one as owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Propagation {
    Background,
    Foreground,
    Orphan,
}

#[derive(Debug)]
pub(crate) struct Store {
    rv: u64,
    uids: u64,
    objects: BTreeMap<Key, Value>,
    events: Vec<Event>,
    /// Objects actually created, changed or removed (no-op writes do not count).
    pub(crate) writes: u64,
    changed: tokio::sync::watch::Sender<u64>,
}

impl Default for Store {
    fn default() -> Store {
        Store {
            rv: 1,
            uids: 0,
            objects: BTreeMap::new(),
            events: Vec::new(),
            writes: 0,
            changed: tokio::sync::watch::channel(1).0,
        }
    }
}

impl Store {
    /// The resource version of the latest change.
    pub(crate) fn resource_version(&self) -> u64 {
        self.rv
    }

    /// A receiver that wakes up after each change.
    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Events after `rv`, oldest first.
    pub(crate) fn events_since(&self, rv: u64) -> Vec<Event> {
        let start = self.events.partition_point(|e| e.rv <= rv);
        self.events[start..].to_vec()
    }

    /// A new unique id, shaped like a UUID.
    pub(crate) fn new_uid(&mut self) -> String {
        self.uids += 1;
        format!("6b696c6e-0000-4000-8000-{:012x}", self.uids)
    }

    pub(crate) fn get(&self, key: &Key) -> Option<&Value> {
        self.objects.get(key)
    }

    /// The objects of one type, in one namespace or all, sorted by namespace and name.
    pub(crate) fn list(
        &self,
        group: &str,
        plural: &str,
        namespace: Option<&str>,
    ) -> Vec<(&Key, &Value)> {
        self.objects
            .iter()
            .filter(|(k, _)| {
                k.group == group
                    && k.plural == plural
                    && namespace.is_none_or(|ns| k.namespace == ns)
            })
            .collect()
    }

    fn record(&mut self, kind: &'static str, key: &Key, object: Value, previous: Option<Value>) {
        self.writes += 1;
        self.events.push(Event {
            rv: self.rv,
            kind,
            key: key.clone(),
            object,
            previous,
        });
        self.changed.send_replace(self.rv);
    }

    /// Stores `obj` under `key` with a fresh resource version; returns the stored object.
    pub(crate) fn put(&mut self, key: &Key, mut obj: Value) -> Value {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let previous = self.objects.insert(key.clone(), obj.clone());
        let kind = if previous.is_some() {
            "MODIFIED"
        } else {
            "ADDED"
        };
        self.record(kind, key, obj.clone(), previous);
        obj
    }

    /// Like [`Store::put`], for changes the server makes itself (not counted in `writes`).
    pub(crate) fn put_uncounted(&mut self, key: &Key, obj: Value) -> Value {
        let stored = self.put(key, obj);
        self.writes -= 1;
        stored
    }

    /// Removes the object under `key` now, whatever its finalizers.
    pub(crate) fn remove(&mut self, key: &Key) -> Option<Value> {
        let mut obj = self.objects.remove(key)?;
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.record("DELETED", key, obj.clone(), None);
        Some(obj)
    }

    /// Keys of all objects for which `pred` holds.
    pub(crate) fn keys_where(&self, pred: impl Fn(&Key, &Value) -> bool) -> Vec<Key> {
        self.objects
            .iter()
            .filter(|(k, v)| pred(k, v))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Deletes an object honouring finalizers (it then only gets a `deletionTimestamp`) and
    /// propagates to its dependents. Returns the object as it was last seen.
    pub(crate) fn delete(
        &mut self,
        key: &Key,
        propagation: Propagation,
        now: &str,
    ) -> Option<Value> {
        let obj = self.objects.get(key)?.clone();
        let uid = obj["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let dependents = self.keys_where(|_, v| {
            v["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|refs| refs.iter().any(|r| r["uid"].as_str() == Some(uid.as_str())))
        });
        for dep in dependents {
            if propagation == Propagation::Orphan {
                let Some(mut d) = self.objects.get(&dep).cloned() else {
                    continue;
                };
                if let Some(refs) = d["metadata"]["ownerReferences"].as_array_mut() {
                    refs.retain(|r| r["uid"].as_str() != Some(uid.as_str()));
                    if refs.is_empty()
                        && let Some(meta) = d["metadata"].as_object_mut()
                    {
                        meta.shift_remove("ownerReferences");
                    }
                }
                self.put(&dep, d);
            } else {
                self.delete(&dep, Propagation::Background, now);
            }
        }
        let has_finalizers = obj["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        if has_finalizers {
            if obj["metadata"]["deletionTimestamp"].is_string() {
                return Some(obj);
            }
            let mut marked = obj;
            marked["metadata"]["deletionTimestamp"] = json!(now);
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            return Some(self.put(key, marked));
        }
        self.remove(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(name: &str, owner_uid: &str) -> Value {
        json!({"metadata": {"name": name, "uid": name, "ownerReferences": [{"uid": owner_uid, "name": "o"}]}})
    }

    #[test]
    fn background_deletes_dependents_and_orphan_keeps_them() {
        let mut store = Store::default();
        let owner = Key::of("apps", "deployments", "default", "o");
        let rs = Key::of("apps", "replicasets", "default", "rs");
        let pod = Key::of("", "pods", "default", "pod");
        store.put(&owner, json!({"metadata": {"name": "o", "uid": "u-o"}}));
        store.put(&rs, owned("rs", "u-o"));
        store.put(&pod, owned("pod", "rs"));
        assert!(store.delete(&owner, Propagation::Background, "t").is_some());
        assert!(store.get(&rs).is_none() && store.get(&pod).is_none());

        store.put(&owner, json!({"metadata": {"name": "o", "uid": "u-o"}}));
        store.put(&rs, owned("rs", "u-o"));
        store.delete(&owner, Propagation::Orphan, "t");
        let left = store.get(&rs).expect("orphan kept");
        assert!(left["metadata"]["ownerReferences"].is_null());
    }

    #[test]
    fn finalizers_hold_the_object_and_versions_grow() {
        let mut store = Store::default();
        let key = Key::of("", "configmaps", "default", "c");
        let first = store.put(
            &key,
            json!({"metadata": {"name": "c", "finalizers": ["x"]}}),
        );
        let marked = store
            .delete(&key, Propagation::Background, "2026-01-01T00:00:00Z")
            .expect("present");
        assert_eq!(
            marked["metadata"]["deletionTimestamp"],
            "2026-01-01T00:00:00Z"
        );
        assert!(store.get(&key).is_some());
        let rv = |v: &Value| {
            v["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|s| s.parse::<u64>().ok())
        };
        assert!(rv(&marked) > rv(&first));
        assert_eq!(store.events_since(0).len(), 2);
    }
}
