//! The `exec` provider. (Being written.)

use async_trait::async_trait;
use orch_stdlib::Value;

use crate::provider::{Change, OpContext, Provider, ProviderError};

#[derive(Debug, Default)]
pub struct ExecProvider;

#[async_trait]
impl Provider for ExecProvider {
    fn name(&self) -> &'static str {
        "exec"
    }

    async fn read(&self, _ctx: &OpContext, kind: &str, _prior: &Value) -> Result<Option<Value>, ProviderError> {
        Err(ProviderError::new(format!("{kind} is not available yet")))
    }

    async fn apply(&self, _ctx: &OpContext, kind: &str, _change: Change<'_>) -> Result<Option<Value>, ProviderError> {
        Err(ProviderError::new(format!("{kind} is not available yet")))
    }
}
