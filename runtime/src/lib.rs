//! The Orch runtime: the configuration evaluated against recorded state,
//! plans, the tokio executor that applies them in dependency order, and
//! state backends. The providers it drives are the crates under
//! `providers/`, re-exported here as [`provider`] (the API) and
//! [`providers`] (the registry and each built-in provider).
//!
//! See `docs/runtime.md` for the semantics and `ARCHITECTURE.md` for where
//! each part lives.

pub use orch_provider as provider;
pub use orch_provider::children;
pub use orch_providers as providers;

pub mod apply;
pub mod codec;
pub mod engine;
pub mod error;
pub mod events;
pub mod keys;
pub mod location;
pub mod plan;
pub mod planfile;
pub mod plugin;
pub mod project;
pub mod secrets;
pub mod session;
pub mod state;
pub mod targeting;
pub mod testing;
