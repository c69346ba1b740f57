//! The registry of diagnostic codes: one entry per code, each with a stable
//! kebab-case name and its documentation page from `docs/diagnostics/`.
//!
//! Code ranges: `E00xx` lexical and syntax errors, `E01xx` names, `E02xx`
//! types, `E03xx` resource schemas and fields, `E04xx` phases, `E05xx` the
//! dependency graph, `E06xx` evaluation, `E07xx` modules and imports, `E08xx`
//! assertions and policies; warnings use the `W` prefix with the same ranges.

use super::Severity;

/// A diagnostic code with its name and documentation page.
#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    /// The stable code, e.g. `E0001`.
    pub code: &'static str,
    /// The stable kebab-case name, e.g. `unexpected-token`.
    pub name: &'static str,
    pub severity: Severity,
    /// The Markdown page printed by `orchc explain`.
    pub doc: &'static str,
}

macro_rules! codes {
    ($($ident:ident = $code:literal $name:literal $severity:ident;)*) => {
        $(
            pub const $ident: Code = Code {
                code: $code,
                name: $name,
                severity: Severity::$severity,
                doc: include_str!(concat!("../../../docs/diagnostics/", $code, ".md")),
            };
        )*

        /// Every code, in code order.
        pub static CODES: &[&Code] = &[$(&$ident),*];
    };
}

codes! {
    E0001 = "E0001" "unexpected-token" Error;
    E0002 = "E0002" "unclosed-delimiter" Error;
    E0010 = "E0010" "unexpected-character" Error;
    E0011 = "E0011" "unterminated-string" Error;
    E0012 = "E0012" "invalid-escape" Error;
    E0013 = "E0013" "unterminated-comment" Error;
    E0014 = "E0014" "invalid-number" Error;
    E0015 = "E0015" "integer-too-large" Error;
    E0016 = "E0016" "text-after-multiline-string-opening" Error;
    E0017 = "E0017" "source-too-large" Error;
    E0018 = "E0018" "nesting-too-deep" Error;
}

/// Finds a code by its code (`E0001`) or its name (`unexpected-token`),
/// ignoring ASCII case.
pub fn lookup_code(query: &str) -> Option<&'static Code> {
    CODES
        .iter()
        .copied()
        .find(|code| code.code.eq_ignore_ascii_case(query) || code.name.eq_ignore_ascii_case(query))
}
