//! Work that recurses over syntax trees runs on threads with the stack the
//! front end asks for ([`orch_lang::ANALYSIS_STACK_SIZE`]), inside
//! `catch_unwind`, so that neither a deep tree nor a bug takes the server
//! down.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Why work on another thread did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The work panicked; the message says where.
    Panicked(String),
    /// The thread could not be started or went away.
    Unavailable(String),
    /// No answer within the time limit.
    TimedOut,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Panicked(message) => write!(f, "internal error: {message}"),
            Failure::Unavailable(message) => write!(f, "the analysis is not available: {message}"),
            Failure::TimedOut => write!(f, "the analysis did not answer in time"),
        }
    }
}

/// Runs `work`, turning a panic into [`Failure::Panicked`].
pub(crate) fn catching<T>(work: impl FnOnce() -> T) -> Result<T, Failure> {
    catch_unwind(AssertUnwindSafe(work)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string());
        Failure::Panicked(message)
    })
}

/// Runs `work` on a new thread with the analysis stack size.
pub(crate) async fn on_big_stack<T, F>(name: &str, work: F) -> Result<T, Failure>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_string())
        .stack_size(orch_lang::ANALYSIS_STACK_SIZE)
        .spawn(move || {
            let _ = sender.send(catching(work));
        })
        .map_err(|error| Failure::Unavailable(error.to_string()))?;
    receiver.await.map_err(|_| Failure::Unavailable("the worker thread stopped".to_string()))?
}
