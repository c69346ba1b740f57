//! Programs held in memory for the unit tests of the editor queries.

use std::collections::HashMap;

use crate::{Analysis, Options, SourceDb, analyze};

pub(crate) struct Memory(pub(crate) HashMap<String, String>);

impl SourceDb for Memory {
    fn read(&self, path: &str) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| "no such file".to_string())
    }

    fn list_folder(&self, path: &str) -> Option<Result<Vec<String>, String>> {
        crate::db::list_memory_folder(self.0.keys().map(String::as_str), path)
    }
}

/// Analyses `files`; the first is the root and gets `FileId(0)`.
pub(crate) fn analyze_files(files: &[(&str, &str)]) -> Analysis {
    let sources = files.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect();
    analyze(&Memory(sources), &[files[0].0.to_string()], &Options::default())
}

/// Analyses one file, `main.orch`.
pub(crate) fn analyze_one(source: &str) -> Analysis {
    analyze_files(&[("main.orch", source)])
}
