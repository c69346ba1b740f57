//! The files of the workspace: which `.orch` files a folder holds, how the
//! compiler's paths map to URIs, and the source database that serves open
//! documents first and the file system otherwise (from a cache while the
//! files do not change).

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use tower_lsp_server::ls_types::Uri;

/// At most this many files are taken from a workspace folder, so that
/// opening a home folder does not analyse everything below it.
pub(crate) const MAX_WORKSPACE_FILES: usize = 2_000;

/// Files larger than this are not read from disk (open documents of any
/// size the framing accepts are still analysed).
const MAX_FILE_BYTES: u64 = orch_lang::MAX_SOURCE_BYTES;

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

/// A file read from disk, with what identified its version.
#[derive(Debug)]
pub(crate) struct DiskFile {
    len: u64,
    modified: Option<SystemTime>,
    text: Arc<str>,
}

/// The files one analysis read from disk, by path, for the next one.
pub(crate) type DiskCache = HashMap<String, DiskFile>;

/// Sources for one analysis: the open documents as they were when the
/// analysis was asked for, then the file system.
///
/// Files on disk are read again only when their size or modification time
/// changed since the previous analysis (`earlier`, the cache it left);
/// otherwise their text comes from the cache, which is what lets the
/// compiler reuse their parse as well. Files no analysis reads any more
/// drop out of the cache.
pub(crate) struct Sources {
    pub(crate) documents: HashMap<String, Arc<str>>,
    earlier: RefCell<DiskCache>,
    read: RefCell<DiskCache>,
}

impl Sources {
    pub(crate) fn new(documents: HashMap<String, Arc<str>>, earlier: DiskCache) -> Sources {
        Sources { documents, earlier: RefCell::new(earlier), read: RefCell::default() }
    }

    /// The files this analysis read from disk, for the next one.
    pub(crate) fn into_cache(self) -> DiskCache {
        self.read.into_inner()
    }
}

impl orch_compiler::SourceDb for Sources {
    fn read(&self, path: &str) -> Result<String, String> {
        if let Some(text) = self.documents.get(path) {
            return Ok(text.to_string());
        }
        if let Some(file) = self.read.borrow().get(path) {
            return Ok(file.text.to_string());
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
        let modified = metadata.modified().ok();
        let earlier = self.earlier.borrow_mut().remove(path);
        let file = match earlier {
            Some(file)
                if file.len == metadata.len()
                    && file.modified == modified
                    && modified.is_some() =>
            {
                file
            }
            _ => {
                let bytes = std::fs::read(path).map_err(|error| error.to_string())?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| "the file is not valid UTF-8".to_string())?;
                DiskFile { len: metadata.len(), modified, text: Arc::from(text) }
            }
        };
        let text = file.text.to_string();
        self.read.borrow_mut().insert(path.to_string(), file);
        Ok(text)
    }

    /// The files of the folder on disk, and the open documents in it (a
    /// new file not saved yet is part of its folder's module).
    fn list_folder(&self, path: &str) -> Option<Result<Vec<String>, String>> {
        let mut names: Vec<String> = self
            .documents
            .keys()
            .filter(|document| orch_compiler::db::parent_folder(document) == path)
            .filter_map(|document| Path::new(document).file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .collect();
        let on_disk = std::fs::metadata(path).is_ok_and(|m| m.is_dir());
        if !on_disk {
            return if names.is_empty() { None } else { Some(Ok(names)) };
        }
        let entries = match std::fs::read_dir(path) {
            Ok(entries) => entries,
            Err(error) => return Some(Err(error.to_string())),
        };
        for entry in entries.flatten() {
            if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file()) {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        Some(Ok(names))
    }
}

#[cfg(test)]
mod tests {
    use orch_compiler::SourceDb;

    use super::*;

    #[test]
    fn disk_files_are_read_again_only_when_they_change() {
        let folder = std::env::temp_dir().join(format!("orch-lsp-disk-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join("a.orch");
        let path = path.to_string_lossy().into_owned();
        std::fs::write(&path, "let a = 1\n").unwrap();

        let sources = Sources::new(HashMap::new(), DiskCache::new());
        assert_eq!(sources.read(&path).unwrap(), "let a = 1\n");
        let cache = sources.into_cache();
        assert_eq!(cache.len(), 1);

        // Unchanged: served from the cache (the same shared text).
        let before = cache[&path].text.clone();
        let sources = Sources::new(HashMap::new(), cache);
        assert_eq!(sources.read(&path).unwrap(), "let a = 1\n");
        let cache = sources.into_cache();
        assert!(Arc::ptr_eq(&cache[&path].text, &before));

        // A different size: read again.
        std::fs::write(&path, "let a = 12\n").unwrap();
        let sources = Sources::new(HashMap::new(), cache);
        assert_eq!(sources.read(&path).unwrap(), "let a = 12\n");
        let cache = sources.into_cache();

        // An open document wins; a file not read drops out of the cache.
        let documents = HashMap::from([(path.clone(), Arc::from("let a = 3\n"))]);
        let sources = Sources::new(documents, cache);
        assert_eq!(sources.read(&path).unwrap(), "let a = 3\n");
        assert!(sources.into_cache().is_empty());
        std::fs::remove_dir_all(&folder).unwrap();
    }
}
