//! The `env` provider: `env.var`, a variable of the `orchc` process's
//! environment, read as data.

use async_trait::async_trait;
use orch_stdlib::Value;

use orch_provider::{Change, OpContext, Provider, ProviderError, field};

mod kinds;

use orch_provider::{Builtin, KindTable};
use orch_stdlib::kinds::KindSchema;

/// The `env` provider, as the registry (`orch-providers`) lists it.
pub const PROVIDER: Builtin = Builtin { name: "env", kinds: &KINDS, new: || Box::new(EnvProvider) };

/// The kinds of the `env` provider ([`kinds`]).
static KINDS: KindTable = KindTable::new(kinds::kinds);

#[derive(Debug, Default)]
pub struct EnvProvider;

#[async_trait]
impl Provider for EnvProvider {
    fn name(&self) -> &'static str {
        "env"
    }

    fn schema(&self, kind: &str) -> Option<&'static KindSchema> {
        KINDS.get(kind)
    }

    fn validate(&self, kind: &str, config: &Value) -> Vec<String> {
        if kind != "env.var" {
            return Vec::new();
        }
        match field(config, "name").as_str() {
            Some("") => vec!["`name` must not be empty".to_string()],
            Some(name) if name.contains(['=', '\0']) => {
                vec![format!("`name` cannot hold `=` or a NUL character: {name:?}")]
            }
            _ => Vec::new(),
        }
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        kind: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        if kind != "env.var" {
            return Err(ProviderError::new(format!("the env provider has no kind {kind}")));
        }
        let name = field(prior, "name")
            .as_str()
            .ok_or_else(|| ProviderError::new("env.var needs a `name`"))?;
        // `var_os` rather than `var`: a value that is not UTF-8 is still
        // set, and reads as text with replacement characters.
        // A name that cannot be set (empty, or holding `=`) is never set.
        let settable = !name.is_empty() && !name.contains(['=', '\0']);
        let value = match settable.then(|| std::env::var_os(name)).flatten() {
            Some(value) => Value::string(value.to_string_lossy()),
            None => Value::None,
        };
        let mut entries = match prior {
            Value::Map(entries) => entries.to_map(),
            _ => Default::default(),
        };
        entries.insert("value".into(), value);
        Ok(Some(Value::map(entries)))
    }

    async fn apply(
        &self,
        _ctx: &OpContext,
        kind: &str,
        _change: Change<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        Err(ProviderError::new(format!("{kind} is data: it is read, never created or changed")))
    }
}
