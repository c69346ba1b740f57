//! The whole analysis (load, check, evaluate) of any text as a root file,
//! importing modules that do not exist: no panic.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use orch_compiler::{Options, analyze};
use orch_runtime::project::Sources;

fuzz_target!(|text: &str| {
    let sources = Sources::memory(BTreeMap::from([("main.orch".to_string(), text.to_string())]));
    let options = Options { evaluate: true, ..Options::default() };
    let analysis = analyze(&sources, &["main.orch".to_string()], &options);
    std::hint::black_box(analysis.diagnostics.len());
});
