//! Finding `.orch` files and holding their text.
//!
//! [`discover`] expands the PATH arguments into files; [`SourceDb`] maps the
//! [`FileId`] of every loaded file to its path, display name and text, which
//! is all the renderers need to turn byte spans into lines and columns.

use std::collections::HashSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

use miette::{Report, miette};
use orch_lang::{FileId, LineIndex};

use crate::errors;

/// The extension of Orch source files.
const EXTENSION: &str = "orch";

/// Folder names never searched: build output. Hidden folders (`.git`, the
/// `.orch/` state folder) are skipped as well.
const SKIPPED_FOLDERS: &[&str] = &["target"];

/// The files found for the PATH arguments, and the arguments that could not
/// be used. Discovery carries on past a bad argument so that one typo does
/// not hide the problems in the other files.
#[derive(Debug, Default)]
pub(crate) struct Discovery {
    pub(crate) files: Vec<PathBuf>,
    /// The files found by walking a folder (not named one by one).
    pub(crate) walked: HashSet<PathBuf>,
    pub(crate) errors: Vec<InputError>,
}

/// A PATH argument, or a folder below one, that could not be read.
#[derive(Debug)]
pub(crate) struct InputError {
    pub(crate) path: PathBuf,
    pub(crate) report: Report,
}

/// Expands `inputs` into files, in order, without duplicates. A file is
/// taken whatever its extension; a folder contributes every `*.orch` file
/// below it, sorted. No input means the current folder.
pub(crate) fn discover(inputs: &[PathBuf]) -> Discovery {
    let current = [PathBuf::from(".")];
    let inputs = if inputs.is_empty() { &current[..] } else { inputs };
    let mut discovery = Discovery::default();
    let mut seen = HashSet::new();
    for input in inputs {
        let metadata = match fs::metadata(input) {
            Ok(metadata) => metadata,
            Err(error) => {
                let report = errors::path_error("read", input, &error);
                discovery.errors.push(InputError { path: input.clone(), report });
                continue;
            }
        };
        let mut found = Vec::new();
        if metadata.is_dir() {
            walk(input, &mut found, &mut discovery.errors);
            found.sort();
        } else {
            found.push(input.clone());
        }
        for path in found {
            let path = without_leading_current_dir(&path);
            if metadata.is_dir() {
                discovery.walked.insert(path.clone());
            }
            if seen.insert(path.clone()) {
                discovery.files.push(path);
            }
        }
    }
    discovery
}

/// Collects the `*.orch` files below `dir`. Symbolic links to files are
/// followed; symbolic links to folders are not, so a link cycle cannot loop.
fn walk(dir: &Path, found: &mut Vec<PathBuf>, errors: &mut Vec<InputError>) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            let report = errors::path_error("read the folder", dir, &error);
            errors.push(InputError { path: dir.to_path_buf(), report });
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                let report = errors::path_error("read the folder", dir, &error);
                errors.push(InputError { path: dir.to_path_buf(), report });
                continue;
            }
        };
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else { continue };
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if file_type.is_dir() {
            if !name.starts_with('.') && !SKIPPED_FOLDERS.contains(&name.as_ref()) {
                walk(&path, found, errors);
            }
        } else if path.extension().is_some_and(|extension| extension == EXTENSION)
            && (file_type.is_file() || fs::metadata(&path).is_ok_and(|metadata| metadata.is_file()))
        {
            found.push(path);
        }
    }
}

/// `./a/b.orch` becomes `a/b.orch`, as a user would write it.
fn without_leading_current_dir(path: &Path) -> PathBuf {
    let mut components = path.components().peekable();
    while components.peek() == Some(&Component::CurDir) {
        components.next();
    }
    let rest: PathBuf = components.collect();
    if rest.as_os_str().is_empty() { PathBuf::from(".") } else { rest }
}

/// The modules of discovered files (see [`orch_compiler::db::tree_modules`]):
/// each folder of `*.orch` files found by walking is one module, named by
/// its folder; a file named on the command line stays a file.
pub(crate) fn modules(discovery: &Discovery) -> Vec<String> {
    let files: Vec<(String, bool)> = discovery
        .files
        .iter()
        .map(|path| (path.to_string_lossy().into_owned(), discovery.walked.contains(path)))
        .collect();
    orch_compiler::db::tree_modules(&files)
}

/// The root module a command names (`plan`, `apply`, `destroy`, `output`):
/// the path given, or the current folder.
pub(crate) fn root_or_current(root: Option<&Path>) -> PathBuf {
    root.map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Reads `path` as UTF-8 text. Only a regular file (or a link to one) is
/// read: a FIFO would wait for a writer forever, and a device has no end.
pub(crate) fn read_source(path: &Path) -> Result<String, Report> {
    let metadata = fs::metadata(path).map_err(|error| errors::path_error("read", path, &error))?;
    if !metadata.is_file() {
        return Err(miette!(
            code = "orchc::io",
            help = "name a `.orch` file or a folder of them",
            "cannot read `{}`: it is {}, not a regular file",
            path.display(),
            orch_runtime::project::file_kind(&metadata.file_type())
        ));
    }
    if metadata.len() > orch_lang::MAX_SOURCE_BYTES {
        return Err(miette!(
            code = "orchc::io",
            help = "split the configuration into modules; one source file may have at most 16 MiB",
            "cannot read `{}`: it has {} bytes, more than the limit of {} bytes",
            path.display(),
            metadata.len(),
            orch_lang::MAX_SOURCE_BYTES
        ));
    }
    let bytes = fs::read(path).map_err(|error| errors::path_error("read", path, &error))?;
    String::from_utf8(bytes).map_err(|error| {
        miette!(
            code = "orchc::encoding",
            help =
                "Orch source files are UTF-8; convert the file, for example with `iconv -t UTF-8`",
            "`{}` is not valid UTF-8 (invalid byte at offset {})",
            path.display(),
            error.utf8_error().valid_up_to()
        )
    })
}

/// One loaded source file.
#[derive(Debug)]
pub(crate) struct SourceFile {
    /// Where the file is on disk; `None` for standard input.
    pub(crate) path: Option<PathBuf>,
    /// The name shown to users: the path as given or discovered.
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) line_index: LineIndex,
}

/// The loaded sources of one run, by [`FileId`].
#[derive(Debug, Default)]
pub(crate) struct SourceDb {
    files: Vec<SourceFile>,
}

impl SourceDb {
    /// Adds a file read from disk.
    pub(crate) fn add_path(&mut self, path: PathBuf, text: String) -> FileId {
        let name = path.display().to_string();
        self.add(SourceFile { path: Some(path), name, line_index: LineIndex::new(&text), text })
    }

    /// Adds text that has no path, such as standard input.
    pub(crate) fn add_unnamed(&mut self, name: &str, text: String) -> FileId {
        self.add(SourceFile {
            path: None,
            name: name.to_string(),
            line_index: LineIndex::new(&text),
            text,
        })
    }

    fn add(&mut self, file: SourceFile) -> FileId {
        let id =
            FileId(u32::try_from(self.files.len()).expect("fewer than 4 billion files per run"));
        self.files.push(file);
        id
    }

    /// The file `id`. Ids come only from this database, so the lookup
    /// cannot miss.
    pub(crate) fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.files.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_current_dir_is_dropped() {
        assert_eq!(without_leading_current_dir(Path::new("./a/b.orch")), PathBuf::from("a/b.orch"));
        assert_eq!(without_leading_current_dir(Path::new("a/./b.orch")), PathBuf::from("a/b.orch"));
        assert_eq!(without_leading_current_dir(Path::new(".")), PathBuf::from("."));
        assert_eq!(without_leading_current_dir(Path::new("/x/y.orch")), PathBuf::from("/x/y.orch"));
    }
}
