//! The `random` provider: values generated once and kept in state.

use orch_stdlib::Ty;
use orch_stdlib::Value;
use orch_stdlib::kinds::{FieldSchema, KindSchema, empty_map};

pub(super) fn kinds() -> Vec<KindSchema> {
    vec![password()]
}

fn password() -> KindSchema {
    KindSchema::resource(
        "random.password",
        "A random password, generated once from the operating system's secure random source \
         and kept (encrypted) in state. It changes only when the resource is replaced.",
        vec![
            FieldSchema::defaulted(
                "length",
                Ty::Int,
                Value::Int(24),
                "How many characters the password has. Changing it generates a new password.",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "special",
                Ty::Bool,
                Value::Bool(true),
                "Whether the password may contain punctuation (`!#$%&*()-_=+[]{}<>:?`) as well \
                 as letters and digits. Changing it generates a new password.",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "keepers",
                Ty::map(Ty::String),
                empty_map(),
                "Arbitrary values whose change generates a new password, for rotation.",
            )
            .forcing_replacement(),
            FieldSchema::output(
                "result",
                Ty::String,
                "The generated password. Sensitive: shown as `(secret)` everywhere.",
            )
            .marked_sensitive(),
        ],
    )
}
