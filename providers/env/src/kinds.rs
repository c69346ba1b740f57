//! The `env` provider: the environment of the `orchc` process.

use orch_stdlib::Ty;
use orch_stdlib::kinds::{FieldSchema, KindSchema};

pub(super) fn kinds() -> Vec<KindSchema> {
    vec![var()]
}

fn var() -> KindSchema {
    KindSchema::data(
        "env.var",
        "Reads an environment variable of the `orchc` process.",
        vec![
            FieldSchema::required("name", Ty::String, "The name of the variable, such as `HOME`."),
            FieldSchema::output(
                "value",
                Ty::optional(Ty::String),
                "The variable's value, or `none` when it is not set (use `??` for a default).",
            ),
        ],
    )
}
