//! The `core` provider: values with no side effect.

use orch_stdlib::Ty;
use orch_stdlib::kinds::{FieldSchema, KindSchema, empty_map};

pub(super) fn kinds() -> Vec<KindSchema> {
    vec![value()]
}

fn value() -> KindSchema {
    KindSchema::resource(
        "core.value",
        "Stores a value in state, with no side effect: its `output` is its `input` as of the \
         last apply. Useful for tests, for wiring values through the graph, and for keeping a \
         value until its `triggers` change.",
        vec![
            FieldSchema::required("input", Ty::Any, "The value to store; any type."),
            FieldSchema::defaulted(
                "triggers",
                Ty::map(Ty::String),
                empty_map(),
                "Arbitrary values whose change replaces the resource.",
            )
            .forcing_replacement(),
            FieldSchema::output(
                "output",
                Ty::Any,
                "The stored value: `input` as of the last apply.",
            ),
        ],
    )
}
