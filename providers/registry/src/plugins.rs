//! The kinds of plugin providers (PROVIDERS.md): schemas a plugin sent,
//! handed in by the driver (the command line, the language server) from the
//! schema cache before an analysis, so that the checker, the evaluator and
//! the runtime look plugin kinds up exactly like built-in ones.
//!
//! This module does no IO: callers read the cache and install what they
//! read. Names of plugin kinds and fields are interned once for the whole
//! process (kind schemas hold `&'static str`s), so installing the same
//! schema again costs nothing more.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};

use orch_stdlib::kinds::KindSchema;

/// What the driver knows about one plugin provider's schema.
#[derive(Debug, Clone)]
pub enum PluginSchema {
    /// Read from a cache entry that matches the plugin file.
    Loaded(Arc<LoadedSchema>),
    /// No usable schema: no cache entry, a stale one (the plugin file
    /// changed), an unreadable one, or a plugin file that cannot be found.
    /// The reason is said in the checker's diagnostic.
    Unavailable(SchemaProblem),
}

/// Why a plugin's schema is not available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaProblem {
    /// Nothing cached for this provider.
    NotCached,
    /// The cache was written for another version of the plugin file.
    Stale,
    /// The cache entry or the plugin file cannot be read: the detail.
    Unreadable(String),
}

/// A plugin's schema, converted: its provider configuration as a kind
/// named after the provider, and its resource and data kinds.
#[derive(Debug, Clone)]
pub struct LoadedSchema {
    pub provider: KindSchema,
    pub kinds: Vec<KindSchema>,
}

#[derive(Debug, Default)]
struct Registry {
    plugins: BTreeMap<String, PluginSchema>,
    /// The kinds of the loaded schemas, by name, as handed out.
    kinds: BTreeMap<&'static str, &'static KindSchema>,
}

impl Registry {
    fn index(&mut self) {
        self.kinds = self
            .plugins
            .values()
            .filter_map(|p| match p {
                PluginSchema::Loaded(schema) => Some(schema),
                PluginSchema::Unavailable(_) => None,
            })
            .flat_map(|schema| schema.kinds.iter().map(leak_kind))
            .map(|kind| (kind.name, kind))
            .collect();
    }
}

static REGISTRY: RwLock<Registry> =
    RwLock::new(Registry { plugins: BTreeMap::new(), kinds: BTreeMap::new() });
static INTERNED: RwLock<Option<HashSet<&'static str>>> = RwLock::new(None);

/// `text` as a string that lives for the whole process, the same one for
/// equal texts.
pub fn intern(text: &str) -> &'static str {
    if let Some(found) =
        INTERNED.read().unwrap_or_else(PoisonError::into_inner).as_ref().and_then(|s| s.get(text))
    {
        return found;
    }
    let mut set = INTERNED.write().unwrap_or_else(PoisonError::into_inner);
    let set = set.get_or_insert_with(HashSet::new);
    if let Some(found) = set.get(text) {
        return found;
    }
    let leaked: &'static str = Box::leak(text.to_string().into_boxed_str());
    set.insert(leaked);
    leaked
}

/// Replaces every installed plugin schema with `plugins` (by provider
/// name).
pub fn install_plugins(plugins: BTreeMap<String, PluginSchema>) {
    let mut registry = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    registry.plugins = plugins;
    registry.index();
}

/// Adds or replaces the schema of one plugin provider.
pub fn install_plugin(name: &str, schema: PluginSchema) {
    let mut registry = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    registry.plugins.insert(name.to_string(), schema);
    registry.index();
}

/// What is installed for the plugin provider `name`, if anything.
pub fn plugin_schema(name: &str) -> Option<PluginSchema> {
    REGISTRY.read().unwrap_or_else(PoisonError::into_inner).plugins.get(name).cloned()
}

/// The kind `name` of an installed plugin schema.
pub fn lookup_plugin_kind(name: &str) -> Option<&'static KindSchema> {
    REGISTRY.read().unwrap_or_else(PoisonError::into_inner).kinds.get(name).copied()
}

/// Every kind of the installed plugin schemas, sorted by name.
pub fn plugin_kinds() -> Vec<&'static KindSchema> {
    REGISTRY.read().unwrap_or_else(PoisonError::into_inner).kinds.values().copied().collect()
}

/// Kind schemas handed out as `&'static`, one allocation per distinct
/// schema (by name and content) for the whole process.
static LEAKED: RwLock<Vec<&'static KindSchema>> = RwLock::new(Vec::new());

fn leak_kind(kind: &KindSchema) -> &'static KindSchema {
    let same = |k: &&&'static KindSchema| k.name == kind.name && same_schema(k, kind);
    if let Some(found) = LEAKED.read().unwrap_or_else(PoisonError::into_inner).iter().find(same) {
        return found;
    }
    let mut leaked = LEAKED.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = leaked.iter().find(same) {
        return found;
    }
    let kind: &'static KindSchema = Box::leak(Box::new(kind.clone()));
    leaked.push(kind);
    kind
}

fn same_schema(a: &KindSchema, b: &KindSchema) -> bool {
    a.data == b.data
        && a.doc == b.doc
        && a.identity == b.identity
        && a.fields.len() == b.fields.len()
        && a.fields.iter().zip(&b.fields).all(|(x, y)| {
            x.name == y.name
                && x.ty == y.ty
                && x.doc == y.doc
                && x.required == y.required
                && x.default == y.default
                && x.output == y.output
                && x.forces_replacement == y.forces_replacement
                && x.sensitive == y.sensitive
        })
}
