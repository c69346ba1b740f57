//! Orch semantic analysis: loading modules and imports, names, types,
//! phases and secrets, and the IR dependency graph.
//!
//! **Architecture invariant:** the compiler does no IO. Files arrive through
//! [`SourceDb`]; nothing here reads the file system, the environment or the
//! clock (`clippy.toml` enforces it).

pub mod check;
pub mod db;
pub mod eval;
pub mod ide;
pub mod ir;
pub mod loops;
pub mod model;
pub mod suggest;

use std::collections::HashMap;
use std::sync::Arc;

use orch_lang::ast::{self, ExprKind, ItemKind};
use orch_lang::diagnostic::{codes, sort_diagnostics};
use orch_lang::visit::{self, Visitor};
use orch_lang::{Diagnostic, FileId, LineIndex, Span};

pub use check::{Checked, Typed};
pub use db::{Files, ParseCache, SourceDb, join_path};
use model::{DeclKind, Model};

/// What to analyze beyond the files themselves.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Param values, already merged by priority (`--var` over `--var-file`
    /// over `ORCH_VAR_*`).
    pub params: HashMap<String, eval::ParamInput>,
    /// Extra files whose policies apply to every evaluated configuration.
    pub policy_files: Vec<String>,
    /// Expand and evaluate each root configuration when the files have no
    /// errors.
    pub evaluate: bool,
}

/// Everything the compiler found out about a set of files.
pub struct Analysis {
    pub files: Files,
    /// The files given by the caller, in order.
    pub roots: Vec<FileId>,
    pub diagnostics: Vec<Diagnostic>,
    pub checked: Checked,
    pub graph: ir::Graph,
    /// The evaluation of each root configuration (a root that no other
    /// file instantiates or imports).
    pub evaluations: Vec<(FileId, eval::Evaluation)>,
    /// Remarks that are not diagnostics, such as a skipped evaluation.
    pub notes: Vec<String>,
    /// Every declaration, indexed by [`model::DeclId`]: where it is and
    /// what it is called, for the language server.
    pub decls: Vec<model::DeclInfo>,
    /// The files given as policy files.
    pub policy_files: Vec<FileId>,
}

impl Analysis {
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
        let model = self.model();
        eval::evaluate(
            &self.files,
            &model,
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
    /// The declarations and scopes of every file, for evaluation.
    fn model(&self) -> Model<'_> {
        let mut model = Model::default();
        let mut ignored = Vec::new();
        for file in self.files.iter() {
            model.add_file(file.id, &file.parsed.file, &mut ignored);
        }
        model
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
        let model = self.model();
        eval::evaluate_instances(
            &self.files,
            &model,
            &self.checked,
            db,
            root,
            params,
            resolver,
            targets,
        )
    }
}

/// A `module` or `import` item and the file it names.
struct Link {
    from: FileId,
    item_span: Span,
    path_span: Span,
    target: Option<FileId>,
    is_import: bool,
}

/// Loads `roots` and every file they reach through `module` and `import`,
/// then checks them all.
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
    let mut files = Files::default();
    let mut diagnostics = Vec::new();
    let mut links: Vec<Link> = Vec::new();
    let mut root_ids = Vec::new();
    let mut queue: Vec<FileId> = Vec::new();
    let mut policy_ids = Vec::new();
    for (index, root) in roots.iter().chain(&options.policy_files).enumerate() {
        let is_policy = index >= roots.len();
        if let Some(existing) = files.find(root) {
            if is_policy {
                policy_ids.push(existing)
            } else {
                root_ids.push(existing)
            }
            continue;
        }
        match db.read(root) {
            Ok(text) => {
                let id = files.add_cached(root.clone(), Arc::from(text), cache);
                if is_policy {
                    policy_ids.push(id)
                } else {
                    root_ids.push(id)
                }
                queue.push(id);
            }
            Err(message) => diagnostics.push(Diagnostic::new(
                &codes::E0701,
                Span::default(),
                format!("cannot read `{root}`: {message}"),
            )),
        }
    }
    while let Some(file) = queue.pop() {
        let mut found = Vec::new();
        collect_links(&files.get(file).parsed.file.items, &mut found);
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
        for (item_span, source_span, relative, is_import) in found {
            let Some(relative) = relative else { continue };
            let path = join_path(&files.get(file).path, &relative);
            let target = match files.find(&path) {
                Some(id) => Some(id),
                None => {
                    match db.read(&path) {
                        Ok(text) => {
                            let id = files.add_cached(path.clone(), Arc::from(text), cache);
                            queue.push(id);
                            Some(id)
                        }
                        Err(message) => {
                            diagnostics.push(
                            Diagnostic::new(&codes::E0701, source_span, format!("cannot read `{path}`: {message}"))
                                .with_help("module and import paths are relative to the file that names them"),
                        );
                            None
                        }
                    }
                }
            };
            links.push(Link { from: file, item_span, path_span: source_span, target, is_import });
        }
    }
    for file in files.iter() {
        diagnostics.extend(file.parsed.diagnostics.iter().cloned());
    }
    report_module_cycles(&files, &mut links, &mut diagnostics);

    let mut notes = Vec::new();
    let mut evaluations = Vec::new();
    let (checked, graph, mut semantic, decls) = {
        let mut model = Model::default();
        for file in files.iter() {
            model.add_file(file.id, &file.parsed.file, &mut diagnostics);
        }
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
                        format!("`{}` declares resources, params or outputs and cannot be imported", files.get(target).path),
                    )
                    .with_help("`import` shares types and lets; instantiate a file with resources with `module NAME: \"PATH\" { ... }`"),
                );
            }
        }
        let checker = check::Checker::new(&files, &model, targets);
        let (checked, semantic) = checker.run();
        let graph = ir::Graph::build(&model, &checked);
        let has_errors = diagnostics.iter().chain(&semantic).any(Diagnostic::is_error);
        if options.evaluate && !has_errors {
            let reached: Vec<FileId> = links.iter().filter_map(|l| l.target).collect();
            for &root in &root_ids {
                if reached.contains(&root) || policy_ids.contains(&root) {
                    continue;
                }
                if !model
                    .modules
                    .get(&root)
                    .is_some_and(|m| m.has_instances || !m.policies.is_empty())
                {
                    continue;
                }
                let evaluation = eval::evaluate(
                    &files,
                    &model,
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
        diagnostics,
        checked,
        graph,
        evaluations,
        notes,
        decls,
        policy_files: policy_ids,
    }
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
            let mut stack = vec![target];
            let mut seen = vec![target];
            while let Some(file) = stack.pop() {
                if file == link.from {
                    cut = Some(index);
                    break 'search;
                }
                for next in links.iter().filter(|l| l.from == file).filter_map(|l| l.target) {
                    if !seen.contains(&next) {
                        seen.push(next);
                        stack.push(next);
                    }
                }
            }
        }
        let Some(index) = cut else { return };
        let link = &mut links[index];
        let target = link.target.take().map(|t| files.get(t).path.clone()).unwrap_or_default();
        diagnostics.push(
            Diagnostic::new(
                &codes::E0702,
                link.path_span,
                format!(
                    "`{}` reaches itself: `{target}` leads back to it",
                    files.get(link.from).path
                ),
            )
            .with_help(
                "modules and imports must form a tree; move what both need into a third file",
            ),
        );
    }
}
