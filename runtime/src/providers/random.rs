//! The `random` provider: `random.password`, generated once from the
//! operating system's random source and kept in state. Every input forces
//! replacement, so the password changes only when the object is replaced.

use async_trait::async_trait;
use orch_stdlib::Value;
use rand::TryRngCore;
use rand::rngs::OsRng;

use crate::provider::{Change, OpContext, Provider, ProviderError, field, inputs_of};

/// The characters of every password.
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// The punctuation added when `special` is set (the schema documents it).
const SPECIAL: &[u8] = b"!#$%&*()-_=+[]{}<>:?";
/// The longest password generated: anything longer is surely a mistake.
const MAX_LENGTH: i64 = 4096;

#[derive(Debug, Default)]
pub struct RandomProvider;

#[async_trait]
impl Provider for RandomProvider {
    fn name(&self) -> &'static str {
        "random"
    }

    fn validate(&self, kind: &str, config: &Value) -> Vec<String> {
        if kind != "random.password" {
            return Vec::new();
        }
        match field(config, "length").as_int() {
            Some(length) if !(1..=MAX_LENGTH).contains(&length) => {
                vec![format!("`length` must be between 1 and {MAX_LENGTH}, not {length}")]
            }
            _ => Vec::new(),
        }
    }

    /// A password exists only in state: creating one again leaves nothing
    /// behind.
    fn create_is_idempotent(&self, _kind: &str) -> bool {
        true
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        kind: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        check_kind(kind)?;
        // The password exists only in state.
        Ok(Some(prior.clone()))
    }

    async fn apply(
        &self,
        _ctx: &OpContext,
        kind: &str,
        change: Change<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        check_kind(kind)?;
        let (config, result) = match change {
            Change::Create { config } => (config, Value::secret(Value::string(generate(config)?))),
            // Every input forces replacement, so an update only records
            // the configuration again; the password stays.
            Change::Update { prior, config } => match field(prior, "result") {
                Value::None | Value::Unknown => {
                    (config, Value::secret(Value::string(generate(config)?)))
                }
                result => (config, Value::secret(result.clone())),
            },
            Change::Delete { .. } => return Ok(None),
        };
        let mut entries = match inputs_of(self.schema(kind), config) {
            Value::Map(entries) => (*entries).clone(),
            _ => Default::default(),
        };
        entries.insert("result".into(), result);
        Ok(Some(Value::map(entries)))
    }
}

fn check_kind(kind: &str) -> Result<(), ProviderError> {
    if kind == "random.password" {
        Ok(())
    } else {
        Err(ProviderError::new(format!("the random provider has no kind {kind}")))
    }
}

/// A new password for `config`: `length` characters drawn uniformly from
/// the alphabet, each from the OS random source.
fn generate(config: &Value) -> Result<String, ProviderError> {
    let length = field(config, "length").as_int().unwrap_or(24);
    if !(1..=MAX_LENGTH).contains(&length) {
        return Err(ProviderError::new(format!(
            "`length` must be between 1 and {MAX_LENGTH}, not {length}"
        )));
    }
    let special = field(config, "special").as_bool().unwrap_or(true);
    let alphabet: Vec<u8> = if special {
        ALPHANUMERIC.iter().chain(SPECIAL).copied().collect()
    } else {
        ALPHANUMERIC.to_vec()
    };
    // Rejection sampling keeps every character equally likely: a byte is
    // used only below the largest multiple of the alphabet's size.
    let limit = 256 - 256 % alphabet.len();
    let wanted = usize::try_from(length).unwrap_or(0);
    let mut password = String::with_capacity(wanted);
    let mut buffer = [0u8; 64];
    while password.len() < wanted {
        OsRng.try_fill_bytes(&mut buffer).map_err(|error| {
            ProviderError::transient(format!(
                "cannot read the operating system's random source: {error}"
            ))
        })?;
        for &byte in &buffer {
            if password.len() == wanted {
                break;
            }
            if usize::from(byte) < limit {
                password.push(char::from(alphabet[usize::from(byte) % alphabet.len()]));
            }
        }
    }
    Ok(password)
}
