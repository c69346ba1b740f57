//! A root module loaded for `plan`, `apply` and `destroy`: its sources
//! (from disk, or from a saved plan), its analysis, and its param values.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use orch_compiler::eval::{ConfigOnly, Evaluation, ParamInput, ParamOrigin};
use orch_compiler::{Analysis, SourceDb};
use orch_lang::{Diagnostic, FileId};

use crate::engine::Config;
use crate::error::RunError;

/// Sources served from memory (a plan file, or files the command read
/// already), then the file system: the one source database of the command
/// line (`check`, `graph`, `plan`, `apply`, ...).
#[derive(Debug, Default)]
pub struct Sources {
    memory: HashMap<String, String>,
    /// Only what is in memory: a saved plan is applied with exactly the
    /// sources it was made from.
    memory_only: bool,
}

impl Sources {
    /// Sources read from disk.
    pub fn disk() -> Sources {
        Sources::default()
    }

    /// Exactly `files`, by path.
    pub fn memory(files: BTreeMap<String, String>) -> Sources {
        Sources { memory: files.into_iter().collect(), memory_only: true }
    }

    /// Keeps `text` as the content of `path`.
    pub fn preload(&mut self, path: &str, text: String) {
        self.memory.insert(path.to_string(), text);
    }
}

/// What a file that is not a regular file is, for messages: "a folder",
/// "a FIFO (named pipe)", ...
pub fn file_kind(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

impl SourceDb for Sources {
    fn read(&self, path: &str) -> Result<String, String> {
        if let Some(text) = self.memory.get(path) {
            return Ok(text.clone());
        }
        if self.memory_only {
            return Err("the saved plan does not hold this file".into());
        }
        // Only a regular file is read: a FIFO would wait for a writer
        // forever, and a device has no end.
        match std::fs::metadata(path) {
            Ok(metadata) if !metadata.is_file() => {
                return Err(format!(
                    "it is {}, not a regular file",
                    file_kind(&metadata.file_type())
                ));
            }
            Ok(metadata) if metadata.len() > orch_lang::MAX_SOURCE_BYTES => {
                return Err(format!(
                    "it has {} bytes, more than the limit of {} bytes for a source file",
                    metadata.len(),
                    orch_lang::MAX_SOURCE_BYTES
                ));
            }
            _ => {}
        }
        match std::fs::read(path) {
            Ok(bytes) => {
                String::from_utf8(bytes).map_err(|_| "the file is not valid UTF-8".to_string())
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                Err("no such file".to_string())
            }
            Err(error) => Err(error.to_string()),
        }
    }

    fn list_folder(&self, path: &str) -> Option<Result<Vec<String>, String>> {
        if self.memory_only {
            return orch_compiler::db::list_memory_folder(
                self.memory.keys().map(String::as_str),
                path,
            );
        }
        let folder = if path.is_empty() { "." } else { path };
        match std::fs::metadata(folder) {
            Ok(metadata) if metadata.is_dir() => {}
            _ => return None,
        }
        let entries = match std::fs::read_dir(folder) {
            Ok(entries) => entries,
            Err(error) => return Some(Err(error.to_string())),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => return Some(Err(error.to_string())),
            };
            // Files, and symbolic links to files; not folders.
            if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file()) {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        Some(Ok(names))
    }
}

/// The root module's folder, absolute: a folder root itself, a file root
/// the folder it is in. Relative `fs.*` paths resolve against it, and the
/// default state (`.orch/`) is in it.
pub fn root_folder(root: &Path) -> PathBuf {
    match std::path::absolute(root) {
        Ok(path) if root.is_dir() => path,
        Ok(path) => path.parent().map(Path::to_path_buf).unwrap_or(path),
        Err(_) => PathBuf::from("."),
    }
}

/// Where the schemas of plugin providers come from when loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PluginSchemas {
    /// The cache; a plugin whose schema is missing or stale is started
    /// and asked (and the cache written).
    Fetch,
    /// The cache only.
    CacheOnly,
}

/// How a project is loaded besides its request: where plugin schemas come
/// from, and whether test files are loaded with their modules.
#[derive(Debug, Clone, Copy)]
struct Loading {
    plugins: PluginSchemas,
    /// See `orch_compiler::Options::tests`.
    tests: bool,
}

/// What to load.
#[derive(Debug, Clone, Default)]
pub struct LoadRequest {
    /// The root module, as the user named it: a file, or a folder whose
    /// `*.orch` files form one module.
    pub root: PathBuf,
    pub params: HashMap<String, ParamInput>,
    /// Where each param value came from: a value for a name that is no
    /// param of the root module is an error (`E0610`).
    pub param_origins: HashMap<String, ParamOrigin>,
    /// Policy files from outside the configuration (`--policy`).
    pub policy_files: Vec<String>,
}

/// A root module, analysed.
pub struct Project {
    pub sources: Sources,
    pub analysis: Analysis,
    pub root: FileId,
    /// The root module's path as the compiler names it.
    pub root_path: String,
    /// The root module's folder, absolute: relative paths of `fs.*` and
    /// `exec.run` resolve against it, and the default state is in it.
    pub base_dir: PathBuf,
    pub params: HashMap<String, ParamInput>,
}

impl Project {
    /// Reads and analyses the root module and everything it reaches.
    /// Diagnostics are in [`Project::errors`]; only a root that cannot be
    /// read at all is an error here.
    pub fn load(request: LoadRequest, sources: Sources) -> Result<Project, RunError> {
        Project::load_with(
            request,
            sources,
            Loading { plugins: PluginSchemas::Fetch, tests: false },
        )
    }

    /// Like [`Project::load`], but plugin schemas come from the cache only:
    /// no plugin is started.
    pub fn load_offline(request: LoadRequest, sources: Sources) -> Result<Project, RunError> {
        Project::load_with(
            request,
            sources,
            Loading { plugins: PluginSchemas::CacheOnly, tests: false },
        )
    }

    /// [`Project::load`] with the test files of the root module (see
    /// `orch_compiler::Options::tests`): what `orchc test` runs.
    pub fn load_with_tests(request: LoadRequest, sources: Sources) -> Result<Project, RunError> {
        Project::load_with(request, sources, Loading { plugins: PluginSchemas::Fetch, tests: true })
    }

    fn load_with(
        request: LoadRequest,
        sources: Sources,
        loading: Loading,
    ) -> Result<Project, RunError> {
        let root_path = request.root.to_string_lossy().into_owned();
        let base_dir = root_folder(&request.root);
        Project::analyse(
            sources,
            root_path,
            base_dir,
            request.params,
            request.param_origins,
            request.policy_files,
            loading,
        )
    }

    /// The configuration a saved plan carries: exactly its sources, its
    /// params and policy files, and its root's folder.
    pub fn from_saved(
        root: String,
        base_dir: PathBuf,
        files: BTreeMap<String, String>,
        params: HashMap<String, ParamInput>,
        policy_files: Vec<String>,
    ) -> Result<Project, RunError> {
        // A saved plan's params were checked when it was made.
        let origins = HashMap::new();
        Project::analyse(
            Sources::memory(files),
            root,
            base_dir,
            params,
            origins,
            policy_files,
            Loading { plugins: PluginSchemas::Fetch, tests: false },
        )
    }

    fn analyse(
        sources: Sources,
        root_path: String,
        base_dir: PathBuf,
        params: HashMap<String, ParamInput>,
        param_origins: HashMap<String, ParamOrigin>,
        policy_files: Vec<String>,
        loading: Loading,
    ) -> Result<Project, RunError> {
        let options = orch_compiler::Options {
            params: params.clone(),
            param_origins,
            policy_files,
            evaluate: false,
            tests: loading.tests,
        };
        let mut analysis =
            orch_compiler::analyze(&sources, std::slice::from_ref(&root_path), &options);
        // Plugin kinds: the cached schemas, fetched from the plugins when
        // missing or stale; analysed again when that changed anything.
        let changed = match loading.plugins {
            PluginSchemas::Fetch => crate::plugin::prepare(&analysis, &base_dir),
            PluginSchemas::CacheOnly => crate::plugin::install_cached(&analysis, &base_dir),
        };
        if changed {
            analysis = orch_compiler::analyze(&sources, std::slice::from_ref(&root_path), &options);
        }
        let root = match analysis.configurations.as_slice() {
            [root] => *root,
            [] => match analysis.roots.first() {
                Some(&root) => root,
                None => return Err(RunError::Diagnostics(analysis.diagnostics.clone())),
            },
            several => {
                let files = several.iter().map(|&id| analysis.files.get(id).path.clone()).collect();
                return Err(RunError::SeveralConfigurations { folder: root_path, files });
            }
        };
        Ok(Project { sources, analysis, root, root_path, base_dir, params })
    }

    /// The errors of the configuration (analysis only).
    pub fn errors(&self) -> Vec<Diagnostic> {
        self.analysis.diagnostics.iter().filter(|d| d.is_error()).cloned().collect()
    }

    /// The configuration to plan and apply.
    pub fn config(&self) -> Config<'_> {
        Config::new(
            &self.analysis,
            &self.sources,
            self.root,
            self.params.clone(),
            self.base_dir.clone(),
        )
    }

    /// Every source file, by path (for plan files).
    pub fn source_map(&self) -> BTreeMap<String, String> {
        self.analysis.files.iter().map(|f| (f.path.clone(), f.source.to_string())).collect()
    }

    /// The paths of the policy files given from outside.
    pub fn policy_paths(&self) -> Vec<String> {
        self.analysis
            .policy_files
            .iter()
            .map(|f| self.analysis.files.get(*f).path.clone())
            .collect()
    }

    /// Evaluates the configuration on its own (no state): its provider
    /// blocks, and what stops planning (configuration errors, evaluation
    /// errors, a missing required param). Warnings come back with it.
    pub fn preflight(&self) -> Result<Preflight, RunError> {
        let errors = self.errors();
        if !errors.is_empty() {
            return Err(RunError::Diagnostics(errors));
        }
        let evaluation = self.config().evaluate(&mut ConfigOnly);
        if !evaluation.missing_params.is_empty() {
            let names = evaluation.missing_params.clone();
            return Err(RunError::MissingParams { file: self.root_path.clone(), names });
        }
        let errors: Vec<Diagnostic> =
            evaluation.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
        if !errors.is_empty() {
            return Err(RunError::Diagnostics(errors));
        }
        let warnings = evaluation.diagnostics.iter().filter(|d| !d.is_error()).cloned().collect();
        Ok(Preflight { evaluation, warnings })
    }
}

/// The configuration evaluated on its own.
pub struct Preflight {
    pub evaluation: Evaluation,
    /// Warnings of the evaluation (`warn`, W-codes), for the user.
    pub warnings: Vec<Diagnostic>,
}
