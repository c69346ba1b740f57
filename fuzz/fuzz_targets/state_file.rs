//! Loading a local state whose `state.json` (first half of the input) and
//! `journal.jsonl` (second half) are any bytes: an error or a state,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orch_runtime::state::Backend;
use orch_runtime::state::local::{JOURNAL_FILE, LocalBackend, STATE_FILE};

fuzz_target!(|bytes: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (state, journal) = bytes.split_at(bytes.len() / 2);
    std::fs::write(dir.path().join(STATE_FILE), state).expect("write the state");
    std::fs::write(dir.path().join(JOURNAL_FILE), journal).expect("write the journal");
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    let mut backend = LocalBackend::new(dir.path().to_path_buf(), None);
    let _ = runtime.block_on(backend.load());
});
