//! The files of the workspace: which `.orch` files a folder holds, how the
//! compiler's paths map to URIs, and the source database that serves open
//! documents first and the file system otherwise.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use tower_lsp_server::ls_types::Uri;

/// At most this many files are taken from a workspace folder, so that
/// opening a home folder does not analyse everything below it.
pub(crate) const MAX_WORKSPACE_FILES: usize = 2_000;

/// Files larger than this are not read from disk (open documents of any
/// size are still analysed).
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The path the compiler knows a document by: the file path of a `file:`
/// URI, normalised like the paths the compiler joins; the URI itself for
/// other schemes (unsaved buffers).
pub(crate) fn path_of(uri: &Uri) -> String {
    if uri.scheme().as_str().eq_ignore_ascii_case("file")
        && let Some(path) = uri.to_file_path()
    {
        return orch_compiler::join_path("", &path.to_string_lossy());
    }
    uri.as_str().to_string()
}

/// The URI of a file the compiler loaded from disk.
pub(crate) fn uri_of(path: &str) -> Option<Uri> {
    if !Path::new(path).is_absolute() {
        return path.parse().ok().filter(|uri: &Uri| uri.scheme().as_str() != "file");
    }
    Uri::from_file_path(path)
}

/// The `*.orch` files below `folder`, sorted, skipping hidden folders and
/// `target`, at most [`MAX_WORKSPACE_FILES`].
pub(crate) fn discover(folder: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(file_type) = entry.file_type() else { continue };
            let path = entry.path();
            if file_type.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    pending.push(path);
                }
            } else if file_type.is_file() && path.extension().is_some_and(|e| e == "orch") {
                found.push(orch_compiler::join_path("", &path.to_string_lossy()));
                if found.len() >= MAX_WORKSPACE_FILES {
                    found.sort();
                    return found;
                }
            }
        }
    }
    found.sort();
    found
}

/// Sources for one analysis: the open documents as they were when the
/// analysis was asked for, then the file system.
pub(crate) struct Sources {
    pub(crate) documents: HashMap<String, Arc<str>>,
}

impl orch_compiler::SourceDb for Sources {
    fn read(&self, path: &str) -> Result<String, String> {
        if let Some(text) = self.documents.get(path) {
            return Ok(text.to_string());
        }
        let metadata = std::fs::metadata(path).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ => error.to_string(),
        })?;
        if !metadata.is_file() {
            return Err("not a file".to_string());
        }
        if metadata.len() > MAX_FILE_BYTES {
            return Err("the file is too large".to_string());
        }
        let bytes = std::fs::read(path).map_err(|error| error.to_string())?;
        String::from_utf8(bytes).map_err(|_| "the file is not valid UTF-8".to_string())
    }
}
