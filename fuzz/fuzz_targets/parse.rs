//! The lexer and parser on any text: no panic, and every diagnostic's span
//! lies within the text, on character boundaries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orch_lang::FileId;

fuzz_target!(|text: &str| {
    let parsed = orch_lang::parse(FileId(0), text);
    for diagnostic in &parsed.diagnostics {
        let span = diagnostic.primary.span;
        assert!(span.start <= span.end && span.end as usize <= text.len(), "{span:?}");
        assert!(text.is_char_boundary(span.start as usize), "{span:?}");
        assert!(text.is_char_boundary(span.end as usize), "{span:?}");
    }
});
