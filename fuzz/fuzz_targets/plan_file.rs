//! Reading a saved plan from any bytes: it is refused or read, never a
//! panic; its integrity check runs on whatever parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orch_runtime::planfile::{self, PlanFile};

fuzz_target!(|bytes: &[u8]| {
    let Ok(file) = serde_json::from_slice::<PlanFile>(bytes) else { return };
    let _ = file.verify(None);
    let _ = planfile::load(&file, None);
});
