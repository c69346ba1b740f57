//! The one place that lists the built-in providers (`core`, `env`, `exec`,
//! `fs`, `http`, `mysql`, `nats`, `pg`, `rabbitmq`, `random` and `redis`,
//! one crate each under `providers/`), and the registry of kinds that the
//! checker, the language server and the runtime read: the built-in kinds
//! and those of the installed plugin schemas ([`plugins`]), served alike.
//!
//! Adding a built-in provider is one folder, `providers/<name>/`, exposing
//! its [`Builtin`] descriptor, plus its line in [`BUILTIN`].

pub mod plugins;

use std::sync::OnceLock;

use orch_provider::{Builtin, Provider};
use orch_stdlib::kinds::KindSchema;

pub use orch_provider_core as core;
pub use orch_provider_env as env;
pub use orch_provider_exec as exec;
pub use orch_provider_fs as fs;
pub use orch_provider_http as http;
pub use orch_provider_mysql as mysql;
pub use orch_provider_nats as nats;
pub use orch_provider_pg as pg;
pub use orch_provider_rabbitmq as rabbitmq;
pub use orch_provider_random as random;
pub use orch_provider_redis as redis;

/// The built-in providers, sorted by name.
pub const BUILTIN: &[Builtin] = &[
    core::PROVIDER,
    env::PROVIDER,
    exec::PROVIDER,
    fs::PROVIDER,
    http::PROVIDER,
    mysql::PROVIDER,
    nats::PROVIDER,
    pg::PROVIDER,
    rabbitmq::PROVIDER,
    random::PROVIDER,
    redis::PROVIDER,
];

/// The names of the built-in providers, sorted.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|provider| provider.name)
}

/// A new, not yet configured instance of the built-in provider `name`.
pub fn builtin(name: &str) -> Option<Box<dyn Provider>> {
    BUILTIN.iter().find(|provider| provider.name == name).map(|provider| (provider.new)())
}

/// Every built-in kind, sorted by name.
pub fn kinds() -> &'static [&'static KindSchema] {
    static KINDS: OnceLock<Vec<&'static KindSchema>> = OnceLock::new();
    KINDS.get_or_init(|| {
        let mut kinds: Vec<&'static KindSchema> =
            BUILTIN.iter().flat_map(|provider| provider.kinds.all()).collect();
        kinds.sort_by_key(|kind| kind.name);
        kinds
    })
}

/// Every kind, built-in or of an installed plugin schema, sorted by name.
pub fn all_kinds() -> Vec<&'static KindSchema> {
    let mut all: Vec<&'static KindSchema> =
        kinds().iter().copied().chain(plugins::plugin_kinds()).collect();
    all.sort_by_key(|kind| kind.name);
    all
}

/// The kind `name`: a built-in one, or one of an installed plugin schema
/// ([`plugins`]).
pub fn lookup_kind(name: &str) -> Option<&'static KindSchema> {
    let builtin = kinds();
    match builtin.binary_search_by(|kind| kind.name.cmp(name)) {
        Ok(at) => Some(builtin[at]),
        Err(_) => plugins::lookup_plugin_kind(name),
    }
}

#[cfg(test)]
mod tests;
