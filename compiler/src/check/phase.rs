//! Phases: when a value becomes known. A value is known at check or plan
//! time unless it depends on a field a provider computes on apply; then it
//! carries the chain of references that makes it so, for messages.

use std::rc::Rc;

use orch_lang::Span;

/// One link of the chain that makes a value known only after apply.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseStep {
    pub span: Span,
    /// What happens at `span`, e.g. "`ids` uses `res.stdout`".
    pub message: String,
    pub cause: Option<Rc<PhaseStep>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Phase {
    /// Known at check or plan time.
    #[default]
    Known,
    /// Known only after apply, because of the chain.
    Apply(Rc<PhaseStep>),
}

impl Phase {
    pub fn is_known(&self) -> bool {
        matches!(self, Phase::Known)
    }

    /// The later of two phases (the first apply-time chain wins).
    pub fn join(self, other: &Phase) -> Phase {
        match self {
            Phase::Known => other.clone(),
            apply => apply,
        }
    }

    /// Extends the chain with a step at `span`.
    pub fn through(&self, span: Span, message: impl FnOnce() -> String) -> Phase {
        match self {
            Phase::Known => Phase::Known,
            Phase::Apply(step) => Phase::Apply(Rc::new(PhaseStep {
                span,
                message: message(),
                cause: Some(step.clone()),
            })),
        }
    }

    /// The steps of the chain, outermost first.
    pub fn steps(&self) -> Vec<&PhaseStep> {
        let mut out = Vec::new();
        let mut current = match self {
            Phase::Known => None,
            Phase::Apply(step) => Some(step.as_ref()),
        };
        while let Some(step) = current {
            out.push(step);
            current = step.cause.as_deref();
        }
        out
    }
}
