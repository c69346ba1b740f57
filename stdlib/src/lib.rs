//! The Orch standard library, one source of truth for three readers: the
//! checker (types of functions and resource fields), the language server
//! (documentation for hovers and completion) and the runtime (function
//! implementations, defaults, which fields force replacement or are
//! sensitive).
//!
//! **Architecture invariant:** nothing here does IO except through the
//! [`functions::Host`] the caller passes in (for `file` and `template`).

pub mod fields;
pub mod functions;
pub mod kinds;
pub mod ty;
pub mod value;

pub use fields::Fields;
pub use functions::{BuiltinError, Function, Host, lookup_function};
pub use kinds::{FieldSchema, KindSchema};
pub use ty::{FieldTy, RecordTy, Ty};
pub use value::Value;
