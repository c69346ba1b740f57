//! Sources reach the compiler through [`SourceDb`]; the compiler keeps every
//! file it loaded, parsed once, in [`Files`].

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
    pub parsed: Parsed,
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
        let id = FileId(self.files.len() as u32);
        let parsed = parse(id, &source);
        self.files.push(SourceFile { id, path, source, parsed });
        id
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
    use super::join_path;

    #[test]
    fn paths_join_relative_to_the_importing_file() {
        assert_eq!(join_path("main.orch", "./modules/db.orch"), "modules/db.orch");
        assert_eq!(join_path("a/b/main.orch", "../c.orch"), "a/c.orch");
        assert_eq!(join_path("/srv/x/main.orch", "./m.orch"), "/srv/x/m.orch");
    }
}
