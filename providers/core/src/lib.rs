//! The `core` provider: `core.value`, a value kept in state with no side
//! effect. Its `output` is its `input` as of the last apply.

use async_trait::async_trait;
use orch_stdlib::Value;

use orch_provider::{
    Change, OpContext, Planned, Provider, ProviderError, default_plan, field, inputs_of,
    same_inputs,
};

mod kinds;

use orch_provider::{Builtin, KindTable};
use orch_stdlib::kinds::KindSchema;

/// The `core` provider, as the registry (`orch-providers`) lists it.
pub const PROVIDER: Builtin =
    Builtin { name: "core", kinds: &KINDS, new: || Box::new(CoreProvider) };

/// The kinds of the `core` provider ([`kinds`]).
static KINDS: KindTable = KindTable::new(kinds::kinds);

#[derive(Debug, Default)]
pub struct CoreProvider;

#[async_trait]
impl Provider for CoreProvider {
    fn name(&self) -> &'static str {
        "core"
    }

    fn schema(&self, kind: &str) -> Option<&'static KindSchema> {
        KINDS.get(kind)
    }

    fn import_refusal(&self, kind: &str) -> Option<String> {
        Some(format!(
            "a {kind} holds a value of the configuration and exists only in the state: there \
             is no object outside Orch to adopt"
        ))
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        kind: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        self.check_kind(kind)?;
        // Nothing exists outside the state, so there is nothing to drift.
        Ok(Some(prior.clone()))
    }

    fn plan(&self, kind: &str, prior: Option<&Value>, config: &Value) -> Planned {
        let schema = self.schema(kind);
        let mut planned = default_plan(schema, prior, config);
        let unchanged = prior.is_some_and(|prior| same_inputs(schema, prior, config));
        if kind == "core.value" && !unchanged {
            // The output is the input, known as soon as the input is.
            planned.value = with_output(&planned.value, field(config, "input").clone());
        }
        planned
    }

    async fn apply(
        &self,
        _ctx: &OpContext,
        kind: &str,
        change: Change<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        self.check_kind(kind)?;
        let config = match change {
            Change::Create { config } | Change::Update { config, .. } => config,
            Change::Delete { .. } => return Ok(None),
        };
        let inputs = inputs_of(self.schema(kind), config);
        Ok(Some(with_output(&inputs, field(config, "input").clone())))
    }

    /// A value has no side effect, so making it twice is harmless.
    fn create_is_idempotent(&self, _kind: &str) -> bool {
        true
    }
}

impl CoreProvider {
    fn check_kind(&self, kind: &str) -> Result<(), ProviderError> {
        if kind == "core.value" {
            Ok(())
        } else {
            Err(ProviderError::new(format!("the core provider has no kind {kind}")))
        }
    }
}

/// `object` with its `output` field set to `output`.
fn with_output(object: &Value, output: Value) -> Value {
    let mut entries = match object {
        Value::Map(entries) => entries.to_map(),
        _ => Default::default(),
    };
    entries.insert("output".into(), output);
    Value::map(entries)
}
