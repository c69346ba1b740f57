//! The registry of diagnostic codes: one entry per code, each with a stable
//! kebab-case name and its documentation page from `docs/diagnostics/`.
//!
//! Code ranges: `E00xx` lexical and syntax errors, `E01xx` names, `E02xx`
//! types, `E03xx` resource schemas and fields, `E04xx` phases, `E05xx` the
//! dependency graph, `E06xx` evaluation, `E07xx` modules and imports, `E08xx`
//! assertions and policies, `E09xx` the runtime (plan and apply), `E10xx`
//! lifecycle blocks (`moved`, `import`, `removed`); warnings use the `W` prefix with the same ranges.

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
    E0101 = "E0101" "undefined-name" Error;
    E0102 = "E0102" "duplicate-name" Error;
    E0103 = "E0103" "unknown-kind" Error;
    E0104 = "E0104" "unknown-type" Error;
    E0105 = "E0105" "unknown-function" Error;
    E0106 = "E0106" "unknown-decorator" Error;
    E0107 = "E0107" "misplaced-declaration" Error;
    E0201 = "E0201" "type-mismatch" Error;
    E0202 = "E0202" "invalid-call" Error;
    E0203 = "E0203" "invalid-operands" Error;
    E0204 = "E0204" "optional-value-used" Error;
    E0205 = "E0205" "secret-leak" Error;
    E0206 = "E0206" "no-such-field" Error;
    E0207 = "E0207" "invalid-index" Error;
    E0208 = "E0208" "invalid-decorator" Error;
    E0209 = "E0209" "invalid-iteration" Error;
    E0210 = "E0210" "not-a-literal" Error;
    E0301 = "E0301" "unknown-field" Error;
    E0302 = "E0302" "missing-field" Error;
    E0303 = "E0303" "output-field-assigned" Error;
    E0310 = "E0310" "plugin-schema-unavailable" Error;
    E0401 = "E0401" "apply-time-value" Error;
    E0501 = "E0501" "dependency-cycle" Error;
    E0601 = "E0601" "evaluation-error" Error;
    E0602 = "E0602" "duplicate-instance-key" Error;
    E0603 = "E0603" "invalid-param-value" Error;
    E0604 = "E0604" "conflicting-grants" Error;
    E0610 = "E0610" "unknown-param" Error;
    E0701 = "E0701" "module-not-found" Error;
    E0702 = "E0702" "module-cycle" Error;
    E0703 = "E0703" "import-with-resources" Error;
    E0710 = "E0710" "file-of-folder-module" Error;
    E0801 = "E0801" "assertion-failed" Error;
    E0802 = "E0802" "policy-violation" Error;
    E0901 = "E0901" "operation-failed" Error;
    E0902 = "E0902" "protected-object" Error;
    E0903 = "E0903" "read-failed" Error;
    E0904 = "E0904" "provider-configuration-failed" Error;
    E0905 = "E0905" "move-onto-recorded-instance" Error;
    E0906 = "E0906" "identity-conflict" Error;
    E0907 = "E0907" "invalid-import" Error;
    E0908 = "E0908" "import-not-found" Error;
    E0909 = "E0909" "import-not-supported" Error;
    E1001 = "E1001" "invalid-lifecycle-block" Error;
    E1002 = "E1002" "unknown-lifecycle-target" Error;
    E1003 = "E1003" "removed-still-declared" Error;
    E1004 = "E1004" "conflicting-moves" Error;
    E1005 = "E1005" "import-address-keys" Error;
    E1101 = "E1101" "invalid-test" Error;
    E1102 = "E1102" "invalid-mock" Error;
    W0101 = "W0101" "unused-param" Warning;
    W0102 = "W0102" "unused-let" Warning;
    W0401 = "W0401" "unstable-instance-key" Warning;
    W0801 = "W0801" "warning-failed" Warning;
}

/// Finds a code by its code (`E0001`) or its name (`unexpected-token`),
/// ignoring ASCII case.
pub fn lookup_code(query: &str) -> Option<&'static Code> {
    CODES
        .iter()
        .copied()
        .find(|code| code.code.eq_ignore_ascii_case(query) || code.name.eq_ignore_ascii_case(query))
}
