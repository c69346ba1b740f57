//! The formatter on any text that parses: its output parses to the same
//! tree, keeps every comment, and formatting it again changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orch_lang::FileId;

fuzz_target!(|text: &str| {
    let Ok(formatted) = orch_lang::fmt::format(text) else { return };
    let before = orch_lang::parse(FileId(0), text);
    let after = orch_lang::parse(FileId(0), &formatted);
    assert!(after.diagnostics.is_empty(), "the formatted text does not parse:\n{formatted}");
    assert_eq!(
        orch_lang::dump::dump(&before.file),
        orch_lang::dump::dump(&after.file),
        "formatting changed the tree:\n{formatted}"
    );
    assert_eq!(before.comments.len(), after.comments.len(), "a comment was lost:\n{formatted}");
    let again = orch_lang::fmt::format(&formatted).expect("formatted text formats");
    assert_eq!(formatted, again, "formatting is not idempotent");
});
