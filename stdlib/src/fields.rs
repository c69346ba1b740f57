//! The fields of a map value.

use std::collections::BTreeMap;
use std::fmt;

use smol_str::SmolStr;

use crate::value::Value;

/// The entries of a [`Value::Map`], in key order, each key once, looked up
/// by binary search. Most maps are small (a resource's inputs, an object
/// literal, a recorded object): a sorted slice holds them in one
/// allocation of their size, where a B-tree takes a node of eleven slots
/// (about 640 bytes) for even one entry. A map is built whole, from a
/// `BTreeMap` or by collecting; there is no `insert`, so that a loop of
/// insertions cannot turn quadratic: change a map by building a new one
/// (`to_map`, then [`Value::map`]).
#[derive(Clone, PartialEq, Default)]
pub struct Fields {
    entries: Box<[(SmolStr, Value)]>,
}

impl Fields {
    pub fn new() -> Fields {
        Fields::default()
    }

    /// The fields of `entries` in any order; the last of a repeated key
    /// wins, as when inserting them into a `BTreeMap` one by one.
    pub fn from_entries(mut entries: Vec<(SmolStr, Value)>) -> Fields {
        // A stable sort keeps repeated keys in their order.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut kept: Vec<(SmolStr, Value)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match kept.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => kept.push(entry),
            }
        }
        Fields { entries: kept.into_boxed_slice() }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|index| &self.entries[index].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The entries in key order.
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (&SmolStr, &Value)> + ExactSizeIterator + Clone {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &SmolStr> + ExactSizeIterator + Clone {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator + Clone {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The entries as a `BTreeMap`, to build a changed map from.
    pub fn to_map(&self) -> BTreeMap<SmolStr, Value> {
        self.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

impl From<BTreeMap<SmolStr, Value>> for Fields {
    fn from(map: BTreeMap<SmolStr, Value>) -> Fields {
        Fields { entries: map.into_iter().collect() }
    }
}

/// Collected as into a `BTreeMap`: sorted, and the last of a repeated key
/// wins.
impl FromIterator<(SmolStr, Value)> for Fields {
    fn from_iter<I: IntoIterator<Item = (SmolStr, Value)>>(iter: I) -> Fields {
        Fields::from_entries(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = (&'a SmolStr, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (SmolStr, Value)>,
        fn(&'a (SmolStr, Value)) -> (&'a SmolStr, &'a Value),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

/// `fields["name"]`, as a `BTreeMap` indexes: a missing key panics.
impl std::ops::Index<&str> for Fields {
    type Output = Value;

    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or_else(|| panic!("no field `{key}` in the map"))
    }
}

/// As a `BTreeMap` shows itself: `{"a": Int(1)}`.
impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_behave_as_the_btree_map_they_are_built_from() {
        let pairs = [("b", 2), ("a", 1), ("c", 3), ("a", 4), ("", 0), ("ab", 5)];
        let map: BTreeMap<SmolStr, Value> =
            pairs.iter().map(|(k, v)| (SmolStr::new(k), Value::Int(*v))).collect();
        let fields: Fields = pairs.iter().map(|(k, v)| (SmolStr::new(k), Value::Int(*v))).collect();
        assert_eq!(fields, Fields::from(map.clone()));
        let unsorted: Vec<(SmolStr, Value)> =
            pairs.iter().map(|(k, v)| (SmolStr::new(k), Value::Int(*v))).collect();
        assert_eq!(Fields::from_entries(unsorted), fields);
        assert_eq!(fields.len(), map.len());
        assert_eq!(fields.to_map(), map);
        assert!(fields.iter().eq(map.iter()));
        assert!(fields.keys().eq(map.keys()));
        assert!(fields.values().eq(map.values()));
        for key in ["", "a", "ab", "b", "c", "d", "aa", "B"] {
            assert_eq!(fields.get(key), map.get(key), "{key}");
            assert_eq!(fields.contains_key(key), map.contains_key(key), "{key}");
        }
        assert_eq!(fields.get("a"), Some(&Value::Int(4)), "the last of a repeated key wins");
        assert_eq!(format!("{fields:?}"), format!("{map:?}"));
        assert!(Fields::new().is_empty());
        assert_eq!(Fields::new().get("a"), None);
    }
}
