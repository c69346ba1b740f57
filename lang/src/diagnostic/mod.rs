//! Diagnostics as plain data.
//!
//! Every pass pushes [`Diagnostic`]s into a list instead of stopping at the
//! first problem; renderers (ariadne in the CLI, the protocol in the language
//! server, JSON and SARIF) live at the edges and only read this data.

pub mod codes;

pub use codes::{CODES, Code, lookup_code};

use crate::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A message attached to a span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

impl Label {
    pub fn new(span: Span, message: impl Into<String>) -> Label {
        Label { span, message: message.into() }
    }
}

/// A machine-applicable fix: replace the text at `span` with
/// `replacement`. Editors offer it as a quick fix; renderers for the
/// command line do not show it (the primary label already says it in
/// words, such as "did you mean `path`?").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub span: Span,
    pub replacement: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static Code,
    pub severity: Severity,
    /// What is wrong, in the user's terms.
    pub message: String,
    /// The exact place; its message may be empty.
    pub primary: Label,
    /// Secondary places that explain the primary one.
    pub labels: Vec<Label>,
    /// How to fix it, when a fix is likely.
    pub help: Option<String>,
    /// The same fix as data, when it is one replacement (a did-you-mean).
    pub suggestion: Option<Suggestion>,
    /// For a diagnostic about an object that is no longer in the
    /// configuration (found in state): the place its declaration had when
    /// it was recorded (`main.orch:3:10`), or else its address. The primary
    /// span is then in no loaded file, and renderers show this instead.
    pub detached: Option<String>,
}

impl Diagnostic {
    /// A diagnostic of `code`, with the code's default severity.
    pub fn new(code: &'static Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity,
            message: message.into(),
            primary: Label::new(span, ""),
            labels: Vec::new(),
            help: None,
            suggestion: None,
            detached: None,
        }
    }

    /// A diagnostic with no source span: about an object known only from
    /// the state, at `place` (its recorded location or its address).
    pub fn detached(
        code: &'static Code,
        message: impl Into<String>,
        place: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            detached: Some(place.into()),
            ..Diagnostic::new(code, Span::default(), message)
        }
    }

    /// At `span` when there is one, else detached at `place`.
    pub fn at_or_detached(
        code: &'static Code,
        span: Option<Span>,
        message: impl Into<String>,
        place: impl Into<String>,
    ) -> Diagnostic {
        match span {
            Some(span) => Diagnostic::new(code, span, message),
            None => Diagnostic::detached(code, message, place),
        }
    }

    /// Sets the message shown at the primary span.
    pub fn with_primary_message(mut self, message: impl Into<String>) -> Diagnostic {
        self.primary.message = message.into();
        self
    }

    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label::new(span, message));
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Records a machine-applicable replacement of `span`.
    pub fn with_suggestion(mut self, span: Span, replacement: impl Into<String>) -> Diagnostic {
        self.suggestion = Some(Suggestion { span, replacement: replacement.into() });
        self
    }

    pub fn span(&self) -> Span {
        self.primary.span
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sorts diagnostics by file and position, so that output reads top to bottom
/// whatever order the passes found them in.
pub fn sort_diagnostics(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.primary.span.file, a.primary.span.start, a.primary.span.end, a.code.code).cmp(&(
            b.primary.span.file,
            b.primary.span.start,
            b.primary.span.end,
            b.code.code,
        ))
    });
}
