//! Orch semantic analysis: loading modules and imports, names, types,
//! phases and secrets, and the IR dependency graph.
//!
//! **Architecture invariant:** the compiler does no IO. Files arrive through
//! [`SourceDb`]; nothing here reads the file system, the environment or the
//! clock (`clippy.toml` enforces it).

pub mod check;
pub mod db;
pub mod decorator;
pub mod eval;
pub mod ide;
pub mod ir;
pub mod lifecycle;
pub mod loops;
pub mod model;
pub mod plugin;
pub mod suggest;

use std::collections::HashMap;
use std::sync::Arc;

use orch_lang::ast::{self, ExprKind, ItemKind};
use orch_lang::diagnostic::{codes, sort_diagnostics};
use orch_lang::visit::{self, Visitor};
use orch_lang::{Diagnostic, FileId, LineIndex, Parsed, Span};
use yoke::Yoke;

pub use check::{Checked, Typed};
pub use db::{Files, ParseCache, SourceDb, join_path};
use model::{DeclKind, Model};

/// What to analyze beyond the files themselves.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Param values, already merged by priority (`--var` over `--var-file`
    /// over `ORCH_VAR_*`).
    pub params: HashMap<String, eval::ParamInput>,
    /// Where each of `params` came from. A name given here that no root
    /// configuration declares as a param is an error (`E0610`).
    pub param_origins: HashMap<String, eval::ParamOrigin>,
    /// Extra files whose policies apply to every evaluated configuration.
    pub policy_files: Vec<String>,
    /// Expand and evaluate each root configuration when the files have no
    /// errors.
    pub evaluate: bool,
    /// Load the test files of every folder module with it (`*.test.orch`
    /// in the folder and in its `tests/` folder), so that their `mock` and
    /// `test` blocks are checked against the module; a test file given as
    /// a root loads the module it tests. `check`, the language server and
    /// `orchc test` set it; `plan` and `apply` do not.
    pub tests: bool,
}

/// Everything the compiler found out about a set of files.
pub struct Analysis {
    pub files: Files,
    /// The modules given by the caller, in order (a folder module by its
    /// representative file).
    pub roots: Vec<FileId>,
    /// The roots that are configurations: not reached from another root
    /// by `module` or `import`, and not policy files.
    pub configurations: Vec<FileId>,
    pub diagnostics: Vec<Diagnostic>,
    pub checked: Checked,
    pub graph: ir::Graph,
    /// The evaluation of each root configuration (a root that no other
    /// file instantiates or imports).
    pub evaluations: Vec<(FileId, eval::Evaluation)>,
    /// Remarks that are not diagnostics, such as a skipped evaluation.
    pub notes: Vec<eval::EvalNote>,
    /// Every declaration, indexed by [`model::DeclId`]: where it is and
    /// what it is called, for the language server.
    pub decls: Vec<model::DeclInfo>,
    /// The files given as policy files.
    pub policy_files: Vec<FileId>,
    /// Built once here, so that the runtime's repeated evaluations do not
    /// collect the declarations again.
    model: OwnedModel,
}

impl Analysis {
    /// The declarations and scopes of every file, built once by the
    /// analysis.
    pub fn model(&self) -> &Model<'_> {
        self.model.get()
    }

    /// Evaluates the root configuration `root` again, asking `resolver`
    /// what each resource and data instance is: the runtime's evaluation
    /// against recorded state and applied objects. Only meaningful when the
    /// analysis has no errors.
    pub fn evaluate(
        &self,
        db: &dyn SourceDb,
        root: FileId,
        params: &HashMap<String, eval::ParamInput>,
        resolver: &mut dyn eval::Resolver,
    ) -> eval::Evaluation {
        eval::evaluate(
            &self.files,
            self.model(),
            &self.checked,
            &self.graph,
            db,
            root,
            params,
            &self.policy_files,
            resolver,
        )
    }
}

impl Analysis {
    /// The parts of the analysis an evaluation reads.
    pub fn parts<'e>(&'e self, db: &'e dyn SourceDb) -> eval::Parts<'e, 'e> {
        eval::Parts {
            files: &self.files,
            model: self.model(),
            checked: &self.checked,
            graph: &self.graph,
            db,
        }
    }

    /// Whether two files belong to one module (the same file, or two files
    /// of one folder module).
    pub fn same_module(&self, a: FileId, b: FileId) -> bool {
        self.files.module_of(a) == self.files.module_of(b)
    }

    /// Evaluates only the instances `targets` of the root configuration
    /// `root` (see [`eval::evaluate_instances`]).
    pub fn evaluate_instances(
        &self,
        db: &dyn SourceDb,
        root: FileId,
        params: &HashMap<String, eval::ParamInput>,
        resolver: &mut dyn eval::Resolver,
        targets: &[eval::InstanceRef],
    ) -> eval::Evaluation {
        eval::evaluate_instances(
            &self.files,
            self.model(),
            &self.checked,
            db,
            root,
            params,
            resolver,
            targets,
        )
    }
}

/// A [`Model`] together with the syntax trees it borrows: the parses of
/// every file, shared with [`Files`] (so that an analysis's files may still
/// be handed to a [`ParseCache`] while the model lives).
pub type OwnedModel = Yoke<Model<'static>, Vec<Arc<Parsed>>>;

/// Collects the declarations and scopes of every file of `files`, once.
fn build_model(files: &Files, diagnostics: &mut Vec<Diagnostic>) -> OwnedModel {
    let trees: Vec<Arc<Parsed>> = files.iter().map(|file| file.parsed.clone()).collect();
    let ids: Vec<FileId> = files.iter().map(|file| file.id).collect();
    Yoke::attach_to_cart(trees, |trees: &[Arc<Parsed>]| {
        let mut model = Model::default();
        for (&id, tree) in ids.iter().zip(trees) {
            model.add_file(id, files.module_of(id), &tree.file, diagnostics);
        }
        model
    })
}

/// A `module` or `import` item and the module it names.
struct Link {
    from: FileId,
    item_span: Span,
    path_span: Span,
    /// The module named (a file, or a folder module's representative).
    target: Option<FileId>,
    is_import: bool,
    /// Whether the path names a single file (not a folder).
    names_file: bool,
}

/// What a path loaded as.
#[derive(Debug, Clone, Copy)]
enum Loaded {
    File(FileId),
    /// A folder module, by its representative.
    Folder(FileId),
}

impl Loaded {
    fn id(self) -> FileId {
        match self {
            Loaded::File(id) | Loaded::Folder(id) => id,
        }
    }
}

/// Reads modules through a [`SourceDb`]: a path is a folder (its module
/// files) or a file.
struct Loader<'a> {
    db: &'a dyn SourceDb,
    cache: &'a mut ParseCache,
    files: Files,
    diagnostics: Vec<Diagnostic>,
    /// Files loaded and not yet searched for `module` and `import`.
    queue: Vec<FileId>,
    /// Folder modules by folder path.
    folders: HashMap<String, FileId>,
    /// See [`Options::tests`].
    tests: bool,
}

impl Loader<'_> {
    /// Loads the module at `path`; `Err` says why it cannot be read.
    fn load(&mut self, path: &str) -> Result<Loaded, String> {
        if self.tests && db::is_test_file_name(path) {
            let folder = db::tested_folder(path);
            return match self.load(&folder)? {
                Loaded::File(_) => Err(format!("`{folder}` is not a folder")),
                loaded => {
                    if self.files.find(path).is_none() {
                        return Err(format!("`{folder}` has no test file `{path}`"));
                    }
                    Ok(loaded)
                }
            };
        }
        if let Some(&module) = self.folders.get(path) {
            return Ok(Loaded::Folder(module));
        }
        if let Some(id) = self.files.find(path) {
            return Ok(Loaded::File(id));
        }
        match self.db.list_folder(path) {
            Some(Err(message)) => Err(message),
            Some(Ok(names)) => {
                let mut members = db::module_file_names(path, &names);
                if members.is_empty() {
                    return Err("the folder holds no `.orch` files".to_string());
                }
                if self.tests {
                    members.extend(db::test_file_names(path, &names));
                    let tests = db::join_child(path, "tests");
                    if let Some(Ok(names)) = self.db.list_folder(&tests) {
                        members.extend(db::test_file_names(&tests, &names));
                    }
                }
                let mut ids = Vec::new();
                for member in members {
                    if let Some(id) = self.files.find(&member) {
                        ids.push(id);
                        continue;
                    }
                    match self.db.read(&member) {
                        Ok(text) => ids.push(self.add(member, text)),
                        Err(message) => self.diagnostics.push(Diagnostic::detached(
                            &codes::E0701,
                            format!("cannot read `{member}`: {message}"),
                            member.clone(),
                        )),
                    }
                }
                let Some(&first) = ids.first() else {
                    return Err("none of its `.orch` files can be read".to_string());
                };
                self.files.set_folder_module(path.to_string(), &ids);
                self.folders.insert(path.to_string(), first);
                Ok(Loaded::Folder(first))
            }
            None => {
                let text = self.db.read(path)?;
                Ok(Loaded::File(self.add(path.to_string(), text)))
            }
        }
    }

    fn add(&mut self, path: String, text: String) -> FileId {
        let id = self.files.add_cached(path, Arc::from(text), self.cache);
        self.queue.push(id);
        id
    }
}

/// Loads `roots` and every file they reach through `module` and `import`,
/// then checks them all. A root or a `module` path may be a folder: its
/// `*.orch` files form one module.
pub fn analyze(db: &dyn SourceDb, roots: &[String], options: &Options) -> Analysis {
    analyze_with_cache(db, roots, options, &mut ParseCache::default())
}

/// [`analyze`], taking the parse of every file whose text did not change
/// from `cache` (made from the files of an earlier analysis) instead of
/// parsing it again. The result is the same as `analyze`'s; the language
/// server, which analyses the workspace on every edit, parses only the
/// edited files. What the analysis did not use stays in `cache`, for the
/// caller to free when it suits it.
pub fn analyze_with_cache(
    db: &dyn SourceDb,
    roots: &[String],
    options: &Options,
    cache: &mut ParseCache,
) -> Analysis {
    let mut loader = Loader {
        db,
        cache,
        files: Files::default(),
        diagnostics: Vec::new(),
        queue: Vec::new(),
        folders: HashMap::new(),
        tests: options.tests,
    };
    let mut links: Vec<Link> = Vec::new();
    let mut root_ids: Vec<Loaded> = Vec::new();
    let mut policy_ids = Vec::new();
    for (index, root) in roots.iter().chain(&options.policy_files).enumerate() {
        let is_policy = index >= roots.len();
        // `./app/` is `app`, `.` stays `.`.
        let normalised = join_path("", root);
        let root = if normalised.is_empty() { "." } else { normalised.as_str() };
        match loader.load(root) {
            Ok(loaded) if is_policy => policy_ids.push(loaded.id()),
            Ok(loaded) => root_ids.push(loaded),
            Err(message) => loader.diagnostics.push(Diagnostic::new(
                &codes::E0701,
                Span::default(),
                format!("cannot read `{root}`: {message}"),
            )),
        }
    }
    while let Some(file) = loader.queue.pop() {
        let mut found = Vec::new();
        collect_links(&loader.files.get(file).parsed.file.items, &mut found);
        let found: Vec<(Span, Span, Option<String>, bool)> = found
            .into_iter()
            .map(|(item_span, source, is_import)| {
                let path = match &source.kind {
                    ExprKind::Str(lit) => lit.as_plain(),
                    _ => None,
                };
                (item_span, source.span, path, is_import)
            })
            .collect();
        for (item_span, path_span, relative, is_import) in found {
            let Some(relative) = relative else { continue };
            let path = join_path(&loader.files.get(file).path, &relative);
            let (target, names_file) = match loader.load(&path) {
                Ok(Loaded::Folder(_)) if is_import => {
                    loader.diagnostics.push(
                        Diagnostic::new(
                            &codes::E0701,
                            path_span,
                            format!("cannot import `{path}`: it is a folder"),
                        )
                        .with_help("`import` takes one file of types and lets; a folder is a module: `module NAME: \"PATH\" { ... }`"),
                    );
                    (None, false)
                }
                Ok(loaded) => (Some(loaded.id()), matches!(loaded, Loaded::File(_))),
                Err(message) => {
                    loader.diagnostics.push(
                        Diagnostic::new(
                            &codes::E0701,
                            path_span,
                            format!("cannot read `{path}`: {message}"),
                        )
                        .with_help(
                            "module and import paths are relative to the file that names them",
                        ),
                    );
                    (None, false)
                }
            };
            links.push(Link { from: file, item_span, path_span, target, is_import, names_file });
        }
    }
    let Loader { mut files, mut diagnostics, .. } = loader;
    let root_ids = settle_folder_modules(&mut files, root_ids, &mut links, &mut diagnostics);
    for file in files.iter() {
        diagnostics.extend(file.parsed.diagnostics.iter().cloned());
    }
    report_module_cycles(&files, &mut links, &mut diagnostics);

    let reached: Vec<FileId> = links.iter().filter_map(|l| l.target).collect();
    let configurations: Vec<FileId> = root_ids
        .iter()
        .copied()
        .filter(|root| !reached.contains(root) && !policy_ids.contains(root))
        .collect();
    let mut notes = Vec::new();
    let mut evaluations = Vec::new();
    let owned_model = build_model(&files, &mut diagnostics);
    let (checked, graph, mut semantic, decls) = {
        let model = owned_model.get();
        let decls = model.decl_infos();
        let mut targets = rustc_hash::FxHashMap::default();
        for decl in &model.decls {
            if !matches!(decl.kind, DeclKind::Module | DeclKind::Import) {
                continue;
            }
            if let Some(link) =
                links.iter().find(|l| l.from == decl.file && l.item_span == decl.item.span)
                && let Some(target) = link.target
            {
                targets.insert(decl.id, target);
            }
        }
        for link in &links {
            let Some(target) = link.target else { continue };
            if link.is_import && model.modules.get(&target).is_some_and(|m| m.has_instances) {
                diagnostics.push(
                    Diagnostic::new(
                        &codes::E0703,
                        link.path_span,
                        format!("`{}` declares resources, params or outputs and cannot be imported", files.module_path(target)),
                    )
                    .with_help("`import` shares types and lets; instantiate a file with resources with `module NAME: \"PATH\" { ... }`"),
                );
            }
        }
        let mut lifecycle_errors = Vec::new();
        lifecycle::check(model, &targets, &mut lifecycle_errors);
        let checker = check::Checker::new(&files, model, targets);
        let (checked, mut semantic) = checker.run();
        semantic.extend(lifecycle_errors);
        let graph = ir::Graph::build(model, &checked);
        let has_errors = diagnostics.iter().chain(&semantic).any(Diagnostic::is_error);
        if options.evaluate && !has_errors {
            let mut evaluated = Vec::new();
            for &root in &configurations {
                // Whatever a root holds (instances, or only lets and
                // asserts), what is known at check time is evaluated, once
                // per module.
                let module = model.modules.representative(root);
                if model.modules.get(&root).is_none() || evaluated.contains(&module) {
                    continue;
                }
                evaluated.push(module);
                let evaluation = eval::evaluate(
                    &files,
                    model,
                    &checked,
                    &graph,
                    db,
                    root,
                    &options.params,
                    &policy_ids,
                    &mut eval::ConfigOnly,
                );
                notes.extend(evaluation.notes.iter().cloned());
                evaluations.push((root, evaluation));
            }
        }
        diagnostics.extend(unknown_params(&files, model, &configurations, &options.param_origins));
        (checked, graph, semantic, decls)
    };
    for (_, evaluation) in &evaluations {
        diagnostics.extend(evaluation.diagnostics.iter().cloned());
    }
    diagnostics.append(&mut semantic);
    let text =
        |span: Span| files.get(span.file).source.get(span.range()).unwrap_or_default().to_string();
    let location = |span: Span| {
        let file = files.get(span.file);
        let at = LineIndex::new(&file.source).line_col(&file.source, span.start);
        format!("{}:{}:{}", file.path, at.line, at.column)
    };
    diagnostics.extend(graph.cycles(&text, &location));
    sort_diagnostics(&mut diagnostics);
    Analysis {
        files,
        roots: root_ids,
        configurations,
        diagnostics,
        checked,
        graph,
        evaluations,
        notes,
        decls,
        policy_files: policy_ids,
        model: owned_model,
    }
}

/// Settles the folder modules whose files are also named on their own (by
/// a `module` or `import` path, or as a root of their own): a folder given
/// as a root (`orchc check DIR`) becomes a folder of single-file modules,
/// as it was written; a folder that a `module` path names keeps its files
/// together, and a path naming one of them alone is an error (`E0710`).
/// Returns the roots, by module.
fn settle_folder_modules(
    files: &mut Files,
    roots: Vec<Loaded>,
    links: &mut [Link],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<FileId> {
    let named_by_folder: Vec<FileId> =
        links.iter().filter(|l| !l.names_file).filter_map(|l| l.target).collect();
    let named_alone: Vec<FileId> = links
        .iter()
        .filter(|l| l.names_file)
        .filter_map(|l| l.target)
        .chain(roots.iter().filter_map(|r| match r {
            Loaded::File(id) => Some(*id),
            Loaded::Folder(_) => None,
        }))
        .collect();
    let mut split: Vec<(FileId, Vec<FileId>)> = Vec::new();
    for id in named_alone {
        let module = files.module_of(id);
        if files.folder_of_module(module).is_none() || split.iter().any(|(m, _)| *m == module) {
            continue;
        }
        let root_folder = roots.iter().any(|r| matches!(r, Loaded::Folder(m) if *m == module));
        if root_folder && !named_by_folder.contains(&module) {
            split.push((module, files.module_files(module)));
        }
    }
    for (module, _) in &split {
        files.split_folder_module(*module);
    }
    for link in links.iter_mut().filter(|l| l.names_file) {
        let Some(target) = link.target else { continue };
        let Some(folder) = files.folder_of_module(target) else { continue };
        diagnostics.push(
            Diagnostic::new(
                &codes::E0710,
                link.path_span,
                format!(
                    "`{}` is a file of the folder module `{folder}` and cannot be used on its own",
                    files.get(target).path
                ),
            )
            .with_help(
                "the `*.orch` files of a folder form one module: use the folder as the module, or move the file out of it",
            ),
        );
        link.target = None;
    }
    let mut out = Vec::new();
    for root in roots {
        let ids = match root {
            Loaded::Folder(module) => match split.iter().find(|(m, _)| *m == module) {
                Some((_, members)) => members.clone(),
                None => vec![module],
            },
            Loaded::File(id) => vec![files.module_of(id)],
        };
        for id in ids {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

/// A value given from outside (`--var`, a var file, `ORCH_VAR_*`) for a
/// name that no configuration among `configurations` declares as a param:
/// an error, at the closest param when there is one (a likely typo),
/// detached otherwise. Sorted by name, so the order is stable.
fn unknown_params(
    files: &Files,
    model: &Model<'_>,
    configurations: &[FileId],
    given: &HashMap<String, eval::ParamOrigin>,
) -> Vec<Diagnostic> {
    if configurations.is_empty() {
        return Vec::new();
    }
    let params: Vec<&model::Decl<'_>> = configurations
        .iter()
        .filter_map(|root| model.modules.get(root))
        .flat_map(|module| module.decls.iter().map(|&id| model.decl(id)))
        .filter(|decl| decl.kind == DeclKind::Param)
        .collect();
    let mut names: Vec<(&String, &eval::ParamOrigin)> = given.iter().collect();
    names.sort_by(|a, b| a.0.cmp(b.0));
    let place =
        configurations.iter().map(|&root| files.module_path(root)).collect::<Vec<_>>().join("`, `");
    let mut out = Vec::new();
    for (name, origin) in names {
        if params.iter().any(|decl| decl.name_str() == name) {
            continue;
        }
        let message = if configurations.len() == 1 {
            format!("{} names no param of the root module", origin.describe(name))
        } else {
            format!("{} names no param of any configuration checked", origin.describe(name))
        };
        let closest = suggest::closest(name, params.iter().map(|decl| decl.name_str()));
        let diagnostic = match closest.and_then(|c| params.iter().find(|d| d.name_str() == c)) {
            Some(param) => Diagnostic::new(&codes::E0610, param.name_span(), message)
                .with_primary_message("the closest param")
                .with_help(format!("did you mean `{}`?", param.name_str())),
            None => {
                let declared: Vec<String> =
                    params.iter().map(|d| format!("`{}`", d.name_str())).collect();
                let help = if declared.is_empty() {
                    "the root module declares no params".to_string()
                } else {
                    format!("its params are {}", declared.join(", "))
                };
                Diagnostic::detached(&codes::E0610, message, place.clone()).with_help(help)
            }
        };
        out.push(diagnostic);
    }
    out
}

/// Every `module` and `import` item, wherever it is written (a `policy`
/// may hold neither; the model reports them there, and they are not
/// loaded).
fn collect_links<'a>(items: &'a [ast::Item], out: &mut Vec<(Span, &'a ast::Expr, bool)>) {
    struct Links<'l, 'a>(&'l mut Vec<(Span, &'a ast::Expr, bool)>);
    impl<'a> Visitor<'a> for Links<'_, 'a> {
        fn visit_item(&mut self, item: &'a ast::Item) {
            match &item.kind {
                ItemKind::Module(module) => self.0.push((item.span, &module.source, false)),
                ItemKind::Import(import) => self.0.push((item.span, &import.source, true)),
                ItemKind::Policy(_) => return,
                _ => {}
            }
            visit::walk_item(self, item);
        }
        // Paths are items' own expressions; nothing below them links.
        fn visit_expr(&mut self, _: &'a ast::Expr) {}
    }
    visit::walk_items(&mut Links(out), items);
}

/// Reports a module that reaches itself through `module` or `import`, and
/// cuts the link so that checking terminates.
fn report_module_cycles(files: &Files, links: &mut [Link], diagnostics: &mut Vec<Diagnostic>) {
    loop {
        let mut cut = None;
        'search: for (index, link) in links.iter().enumerate() {
            let Some(target) = link.target else { continue };
            // Is `link.from` reachable from `target`?
            let from = files.module_of(link.from);
            let mut stack = vec![target];
            let mut seen = vec![target];
            while let Some(module) = stack.pop() {
                if module == from {
                    cut = Some(index);
                    break 'search;
                }
                let out = links.iter().filter(|l| files.module_of(l.from) == module);
                for next in out.filter_map(|l| l.target) {
                    if !seen.contains(&next) {
                        seen.push(next);
                        stack.push(next);
                    }
                }
            }
        }
        let Some(index) = cut else { return };
        let link = &mut links[index];
        let target =
            link.target.take().map(|t| files.module_path(t).to_string()).unwrap_or_default();
        diagnostics.push(
            Diagnostic::new(
                &codes::E0702,
                link.path_span,
                format!(
                    "`{}` reaches itself: `{target}` leads back to it",
                    files.module_path(link.from)
                ),
            )
            .with_help(
                "modules and imports must form a tree; move what both need into a third file",
            ),
        );
    }
}
