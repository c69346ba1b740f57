//! The Orch runtime: the configuration evaluated against recorded state,
//! plans, the tokio executor that applies them in dependency order, state
//! backends, and the built-in providers.
//!
//! See `docs/runtime.md` for the semantics and `ARCHITECTURE.md` for where
//! each part lives.

pub mod apply;
pub mod children;
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
pub mod provider;
pub mod providers;
pub mod secrets;
pub mod session;
pub mod state;
pub mod targeting;
pub mod testing;
