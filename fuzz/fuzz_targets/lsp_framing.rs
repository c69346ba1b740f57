//! The language server's framing on any byte stream: every message is
//! passed on or answered with an error, the stream is read to its end, and
//! nothing panics or loops.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orch_lsp::framing::{Incoming, next_message};

fuzz_target!(|bytes: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    runtime.block_on(async {
        let mut input = bytes;
        // Each message consumes at least one byte, so this ends.
        for _ in 0..=bytes.len() {
            match next_message(&mut input).await.expect("reading a slice cannot fail") {
                Incoming::End => return,
                Incoming::Malformed(problem) => {
                    let response = problem.response();
                    serde_json::to_vec(&response).expect("a response serialises");
                }
                Incoming::Message(body) => assert!(std::str::from_utf8(&body).is_ok()),
            }
        }
        panic!("the framing did not reach the end of {} bytes", bytes.len());
    });
});
