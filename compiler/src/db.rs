//! Sources reach the compiler through [`SourceDb`]; the compiler keeps every
//! file it loaded, parsed once, in [`Files`]. A [`ParseCache`] hands the
//! parses of an earlier analysis to the next one, for the files that did
//! not change (the language server analyses the workspace on every edit).

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use orch_lang::{FileId, Parsed, parse};

/// Where the compiler gets file contents. The command line reads the file
/// system; the language server serves open documents first.
pub trait SourceDb {
    /// The text of the file at `path` (as produced by [`join_path`]).
    fn read(&self, path: &str) -> Result<String, String>;
}

/// One loaded file.
#[derive(Debug)]
pub struct SourceFile {
    pub id: FileId,
    /// The path as given or as joined from an importing file's folder.
    pub path: String,
    pub source: Arc<str>,
    /// Shared with the analysis's [`crate::model::Model`], which borrows
    /// the syntax tree for as long as the analysis lives.
    pub parsed: Arc<Parsed>,
}

/// Every file of a compilation, indexed by [`FileId`].
#[derive(Debug, Default)]
pub struct Files {
    files: Vec<SourceFile>,
}

impl Files {
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn find(&self, path: &str) -> Option<FileId> {
        self.files.iter().find(|f| f.path == path).map(|f| f.id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.iter()
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Parses and adds a file.
    pub fn add(&mut self, path: String, source: Arc<str>) -> FileId {
        self.add_cached(path, source, &mut ParseCache::default())
    }

    /// Adds a file, taking its parse from `cache` when the cache holds the
    /// same text at the same path and id, and parsing it otherwise.
    pub fn add_cached(&mut self, path: String, source: Arc<str>, cache: &mut ParseCache) -> FileId {
        let id = FileId(self.files.len() as u32);
        let file = match cache.take(id, &path, &source) {
            Some(file) => file,
            None => SourceFile { id, parsed: Arc::new(parse(id, &source)), path, source },
        };
        self.files.push(file);
        id
    }
}

/// The files of an earlier analysis, whose parses a later analysis reuses
/// for the files it loads unchanged: same path, same text, and the same
/// [`FileId`] (spans carry the id, so a file that moved in the loading
/// order is parsed again). Each cached file is used at most once.
#[derive(Debug, Default)]
pub struct ParseCache {
    files: Vec<Option<SourceFile>>,
}

impl ParseCache {
    /// How many files the cache still holds.
    pub fn len(&self) -> usize {
        self.files.iter().flatten().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn take(&mut self, id: FileId, path: &str, source: &str) -> Option<SourceFile> {
        let slot = self.files.get_mut(id.0 as usize)?;
        let file = slot.as_ref()?;
        if file.path != path || *file.source != *source {
            return None;
        }
        slot.take()
    }
}

impl From<Files> for ParseCache {
    fn from(files: Files) -> ParseCache {
        ParseCache { files: files.files.into_iter().map(Some).collect() }
    }
}

/// Joins `relative` to the folder of `from` and normalises `.` and `..`
/// without touching the file system.
pub fn join_path(from: &str, relative: &str) -> String {
    let base = Path::new(from).parent().unwrap_or(Path::new(""));
    let joined = if Path::new(relative).is_absolute() {
        PathBuf::from(relative)
    } else {
        base.join(relative)
    };
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_gives_back_unchanged_files_at_the_same_id() {
        let mut files = Files::default();
        files.add("a.orch".to_string(), Arc::from("let a = 1\n"));
        files.add("b.orch".to_string(), Arc::from("let b = 2\n"));
        let a_text = files.get(FileId(0)).source.clone();
        let mut cache = ParseCache::from(files);
        assert_eq!(cache.len(), 2);

        let mut next = Files::default();
        // Same path, text and id: reused, text and all.
        next.add_cached("a.orch".to_string(), Arc::from("let a = 1\n"), &mut cache);
        assert!(Arc::ptr_eq(&next.get(FileId(0)).source, &a_text));
        // Changed text: parsed again.
        next.add_cached("b.orch".to_string(), Arc::from("let b = 3\n"), &mut cache);
        assert_eq!(&*next.get(FileId(1)).source, "let b = 3\n");
        // The old `b` stays unused; a file at another id is not taken.
        assert_eq!(cache.len(), 1);
        next.add_cached("b.orch".to_string(), Arc::from("let b = 2\n"), &mut cache);
        assert_eq!(cache.len(), 1);
        assert_eq!(next.get(FileId(2)).parsed.file.items[0].span.file, FileId(2));
    }

    #[test]
    fn paths_join_relative_to_the_importing_file() {
        assert_eq!(join_path("main.orch", "./modules/db.orch"), "modules/db.orch");
        assert_eq!(join_path("a/b/main.orch", "../c.orch"), "a/c.orch");
        assert_eq!(join_path("/srv/x/main.orch", "./m.orch"), "/srv/x/m.orch");
    }
}
