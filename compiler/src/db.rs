//! Sources reach the compiler through [`SourceDb`]; the compiler keeps every
//! file it loaded, parsed once, in [`Files`]. A [`ParseCache`] hands the
//! parses of an earlier analysis to the next one, for the files that did
//! not change (the language server analyses the workspace on every edit).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use orch_lang::{FileId, Parsed, parse};

/// Where the compiler gets file contents. The command line reads the file
/// system; the language server serves open documents first.
pub trait SourceDb {
    /// The text of the file at `path` (as produced by [`join_path`]).
    fn read(&self, path: &str) -> Result<String, String>;

    /// The names of the files directly in the folder `path` (not of its
    /// subfolders), in any order; `None` when `path` is not a folder (a
    /// file, or nothing: [`SourceDb::read`] says which), `Some(Err(..))`
    /// when the folder cannot be listed. The compiler picks the module's
    /// files from them ([`module_file_names`]).
    fn list_folder(&self, path: &str) -> Option<Result<Vec<String>, String>>;
}

/// Whether `name` is a file of a folder module: `*.orch`, and not a test
/// file (`*.test.orch`).
pub fn is_module_file_name(name: &str) -> bool {
    name.ends_with(".orch") && !name.ends_with(".test.orch") && name != ".orch"
}

/// Whether `path` names a test file (`*.test.orch`).
pub fn is_test_file_name(path: &str) -> bool {
    path.ends_with(".test.orch")
}

/// The test files among `names` (of the folder `folder`), as paths, sorted.
pub fn test_file_names(folder: &str, names: &[String]) -> Vec<String> {
    let mut paths: Vec<String> = names
        .iter()
        .filter(|name| is_test_file_name(name))
        .map(|name| join_child(folder, name))
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// The folder of the module a test file tests: its own folder, or the
/// folder above when it stands in a `tests/` folder.
pub fn tested_folder(path: &str) -> String {
    let folder = parent_folder(path);
    if Path::new(&folder).file_name().is_some_and(|name| name == "tests") {
        return parent_folder(&folder);
    }
    folder
}

/// The files of the folder module at `folder` among `names` (what
/// [`SourceDb::list_folder`] gave), as paths, sorted.
pub fn module_file_names(folder: &str, names: &[String]) -> Vec<String> {
    let mut paths: Vec<String> = names
        .iter()
        .filter(|name| is_module_file_name(name))
        .map(|name| join_child(folder, name))
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// `folder/name`, normalised like [`join_path`] (`./a` + `b.orch` is
/// `a/b.orch`, `.` + `b.orch` is `b.orch`).
pub fn join_child(folder: &str, name: &str) -> String {
    let joined = Path::new(folder).join(name);
    join_path("", &joined.to_string_lossy())
}

/// The folder of the file at `path`, as the compiler names folders (`.`
/// for a file in the current folder).
pub fn parent_folder(path: &str) -> String {
    match Path::new(path).parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_string_lossy().into_owned(),
        _ => ".".to_string(),
    }
}

/// The modules a set of discovered files form, for commands that take a
/// tree (`orchc check DIR`, the language server's workspace): each folder
/// holding module files is one module, named by its folder, in the order
/// of its first file; a test file (`*.test.orch`) and a file given on its
/// own stay single files. Each file comes with whether it was found by
/// walking a folder.
pub fn tree_modules(files: &[(String, bool)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (path, from_folder) in files {
        let name = Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned());
        let module = match name {
            Some(name) if *from_folder && is_module_file_name(&name) => parent_folder(path),
            _ => path.clone(),
        };
        if !out.contains(&module) {
            out.push(module);
        }
    }
    out
}

/// The names of the files directly in `folder`, from the paths a memory
/// source database holds: what an in-memory [`SourceDb`] answers to
/// [`SourceDb::list_folder`]. A folder exists when some path is below it.
pub fn list_memory_folder<'a>(
    paths: impl IntoIterator<Item = &'a str>,
    folder: &str,
) -> Option<Result<Vec<String>, String>> {
    let folder = join_path("", folder);
    let current = folder.is_empty() || folder == ".";
    let mut names = Vec::new();
    let mut exists = false;
    for path in paths {
        let path = join_path("", path);
        if path == folder {
            return None;
        }
        let below = if current {
            !Path::new(&path).is_absolute()
        } else {
            path.starts_with(&format!("{folder}/"))
        };
        if !below {
            continue;
        }
        exists = true;
        let parent = parent_folder(&path);
        if (parent == folder || (current && parent == "."))
            && let Some(name) = Path::new(&path).file_name()
        {
            names.push(name.to_string_lossy().into_owned());
        }
    }
    exists.then_some(Ok(names))
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

/// Every file of a compilation, indexed by [`FileId`], and the module each
/// belongs to.
///
/// A module is named by a file: a file module by itself, a folder module
/// (every `*.orch` file directly in a folder) by its first file in sorted
/// order, its *representative*. Everything keyed by module (the model's
/// modules, evaluation contexts, `module` targets) uses that id.
#[derive(Debug, Default)]
pub struct Files {
    files: Vec<SourceFile>,
    /// The representative of each file's module, by file.
    module_of: Vec<FileId>,
    /// The folder of each folder module, by representative.
    folders: HashMap<FileId, String>,
}

impl Files {
    /// The module `id` belongs to (its representative file).
    pub fn module_of(&self, id: FileId) -> FileId {
        self.module_of.get(id.0 as usize).copied().unwrap_or(id)
    }

    /// The folder of the module `module`, when it is a folder module.
    pub fn folder_of_module(&self, module: FileId) -> Option<&str> {
        self.folders.get(&self.module_of(module)).map(String::as_str)
    }

    /// How users name the module of `id`: its folder, or its file.
    pub fn module_path(&self, id: FileId) -> &str {
        let module = self.module_of(id);
        match self.folders.get(&module) {
            Some(folder) => folder,
            None => &self.get(module).path,
        }
    }

    /// The files of the module `module`, in loading order.
    pub fn module_files(&self, module: FileId) -> Vec<FileId> {
        let module = self.module_of(module);
        self.files.iter().map(|f| f.id).filter(|&id| self.module_of(id) == module).collect()
    }

    /// What [`SourceDb::list_folder`] answered for `folder` when it was
    /// loaded as a folder module: the names of its module files (`None`
    /// when no folder module of that folder was loaded).
    pub fn folder_listing(&self, folder: &str) -> Option<Vec<String>> {
        let (&module, _) = self.folders.iter().find(|(_, f)| f.as_str() == folder)?;
        let names = self
            .module_files(module)
            .into_iter()
            .filter_map(|id| Path::new(&self.get(id).path).file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .collect();
        Some(names)
    }

    /// Makes `files` one folder module of `folder`, named by its first
    /// file.
    pub fn set_folder_module(&mut self, folder: String, files: &[FileId]) {
        let Some(&first) = files.first() else { return };
        for &id in files {
            self.module_of[id.0 as usize] = first;
        }
        self.folders.insert(first, folder);
    }

    /// Makes every file of the folder module `module` a module of its own.
    pub fn split_folder_module(&mut self, module: FileId) {
        for id in self.module_files(module) {
            self.module_of[id.0 as usize] = id;
        }
        self.folders.remove(&module);
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn find(&self, path: &str) -> Option<FileId> {
        self.files.iter().find(|f| f.path == path).map(|f| f.id)
    }

    /// The module at `path`: a folder module by its folder, or a file.
    pub fn find_module(&self, path: &str) -> Option<FileId> {
        match self.folders.iter().find(|(_, folder)| folder.as_str() == path) {
            Some((&module, _)) => Some(module),
            None => self.find(path).map(|id| self.module_of(id)),
        }
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
        self.module_of.push(id);
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
    fn memory_folders_list_the_files_directly_in_them() {
        let paths = ["main.orch", "app/a.orch", "app/b.orch", "app/sub/c.orch", "/abs/x.orch"];
        let list = |folder: &str| list_memory_folder(paths, folder).map(|r| r.unwrap());
        assert_eq!(list("app"), Some(vec!["a.orch".to_string(), "b.orch".to_string()]));
        assert_eq!(list("./app/"), list("app"));
        assert_eq!(list("app/sub"), Some(vec!["c.orch".to_string()]));
        assert_eq!(list("."), Some(vec!["main.orch".to_string()]));
        assert_eq!(list("/abs"), Some(vec!["x.orch".to_string()]));
        assert_eq!(list("main.orch"), None);
        assert_eq!(list("nowhere"), None);
    }

    #[test]
    fn module_files_are_orch_files_but_not_tests() {
        let names = ["b.orch", "a.orch", "a.test.orch", "notes.md", ".orch"].map(String::from);
        assert_eq!(module_file_names("app", &names), ["app/a.orch", "app/b.orch"]);
        assert_eq!(module_file_names(".", &names), ["a.orch", "b.orch"]);
    }

    #[test]
    fn a_walk_gives_one_module_per_folder() {
        let files = [
            ("a/main.orch", true),
            ("a/params.orch", true),
            ("a/main.test.orch", true),
            ("b/x.orch", true),
            ("top.orch", true),
            ("named.orch", false),
        ]
        .map(|(p, w)| (p.to_string(), w));
        assert_eq!(tree_modules(&files), ["a", "a/main.test.orch", "b", ".", "named.orch"]);
    }

    #[test]
    fn paths_join_relative_to_the_importing_file() {
        assert_eq!(join_path("main.orch", "./modules/db.orch"), "modules/db.orch");
        assert_eq!(join_path("a/b/main.orch", "../c.orch"), "a/c.orch");
        assert_eq!(join_path("/srv/x/main.orch", "./m.orch"), "/srv/x/m.orch");
    }
}
