//! The program as the checker sees it: every module's declarations and the
//! scopes of its blocks, collected from the syntax trees.
//!
//! Declarations are order-independent within a module. Resources, data,
//! modules and outputs declared inside `if`/`for` blocks are module-level
//! names (their type outside the block is wrapped: `map<T>`, `list<T>`,
//! `T?`); `let`s inside a block are local to the block.

use rustc_hash::FxHashMap as HashMap;

use orch_lang::ast::{self, Ident, Item, ItemKind};
use orch_lang::diagnostic::codes;
use orch_lang::{Diagnostic, FileId, Span};
use smol_str::SmolStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeclId(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopeId(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeclKind {
    Param,
    Let,
    Resource,
    Data,
    Output,
    Module,
    Import,
    Assert,
    Warn,
}

impl DeclKind {
    pub fn describe(self) -> &'static str {
        match self {
            DeclKind::Param => "param",
            DeclKind::Let => "let",
            DeclKind::Resource => "resource",
            DeclKind::Data => "data",
            DeclKind::Output => "output",
            DeclKind::Module => "module",
            DeclKind::Import => "import",
            DeclKind::Assert => "assert",
            DeclKind::Warn => "warn",
        }
    }
}

/// A declaration that can be referred to or must be checked.
#[derive(Debug)]
pub struct Decl<'a> {
    pub id: DeclId,
    pub file: FileId,
    pub kind: DeclKind,
    /// `None` for `assert` and `warn`.
    pub name: Option<&'a Ident>,
    pub item: &'a Item,
    /// The scope the declaration is written in.
    pub scope: ScopeId,
    /// The policy it belongs to, for asserts inside `policy` blocks.
    pub policy: Option<&'a ast::Policy>,
}

impl Decl<'_> {
    pub fn name_str(&self) -> &str {
        self.name.map_or("", |n| n.name.as_str())
    }

    /// The span that names the declaration (its name, or the whole item).
    pub fn name_span(&self) -> Span {
        self.name.map_or(self.item.span, |n| n.span)
    }
}

/// What a name refers to ([`Model::resolve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Variable `index` (0 for the first, 1 for the second of `for k, v`)
    /// of the `for` block whose scope is `scope`.
    LoopVar { scope: ScopeId, index: usize },
    /// A declaration: a block `let` or a module-level name.
    Decl(DeclId),
}

/// A declaration as plain data that does not borrow the syntax trees, kept
/// in [`crate::Analysis`] for the language server.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclInfo {
    pub id: DeclId,
    pub file: FileId,
    pub kind: DeclKind,
    /// `None` for `assert` and `warn`.
    pub name: Option<SmolStr>,
    /// The name, or the whole item when it has none.
    pub name_span: Span,
    /// The whole declaration, decorators included.
    pub item_span: Span,
    /// The text of its `///` comments.
    pub docs: Option<String>,
    /// For a `let` declared inside an `if`, `for` or `policy` block, the
    /// block: the name is visible only there. `None` for module-level
    /// names.
    pub block: Option<Span>,
}

#[derive(Debug)]
pub enum ScopeKind<'a> {
    Module,
    For(&'a ast::For),
    /// Branch `branch` of an `if` (its index in `branches`), or the `else`
    /// block when `branch == branches.len()`.
    If {
        decl: &'a ast::If,
        branch: usize,
    },
    Policy(&'a ast::Policy),
}

#[derive(Debug)]
pub struct Scope<'a> {
    pub id: ScopeId,
    pub file: FileId,
    pub parent: Option<ScopeId>,
    pub kind: ScopeKind<'a>,
    /// `let`s declared directly in this block (module-level lets for the
    /// module scope).
    pub lets: HashMap<SmolStr, DeclId>,
}

/// One module: a file, or the files of a folder.
#[derive(Debug, Default)]
pub struct ModuleInfo<'a> {
    /// Module-level value names: params, top-level lets, resources, data,
    /// modules, outputs and imports (wherever declared in the file, apart
    /// from block `let`s).
    pub names: HashMap<SmolStr, DeclId>,
    pub types: HashMap<SmolStr, &'a ast::TypeAlias>,
    pub decls: Vec<DeclId>,
    /// Whether the module declares resources, data, params, modules or
    /// outputs (an importable file declares none).
    pub has_instances: bool,
    pub policies: Vec<&'a ast::Policy>,
    pub providers: Vec<&'a ast::Provider>,
    /// `moved`, `import` and `removed` blocks, in source order, with the
    /// scope each is written in (an `import` may stand in a `for`).
    pub lifecycle: Vec<(&'a ast::Lifecycle, ScopeId)>,
    /// The `mock` blocks of the module's test files, with their file.
    pub mocks: Vec<(FileId, &'a ast::Mock)>,
    /// The `test` blocks of the module's test files, with their file, in
    /// source order. Their assertions are not declarations: they run only
    /// under `orchc test`.
    pub tests: Vec<(FileId, &'a ast::Test)>,
}

/// The modules of the program, looked up by any of their files: a folder
/// module's files all lead to the one [`ModuleInfo`], kept under its
/// representative (see [`crate::Files`]).
#[derive(Debug, Default)]
pub struct Modules<'a> {
    infos: HashMap<FileId, ModuleInfo<'a>>,
    module_of: HashMap<FileId, FileId>,
}

impl<'a> Modules<'a> {
    /// The module of `file` (any of its files).
    pub fn get(&self, file: &FileId) -> Option<&ModuleInfo<'a>> {
        self.infos.get(&self.representative(*file))
    }

    pub fn get_mut(&mut self, file: &FileId) -> Option<&mut ModuleInfo<'a>> {
        let module = self.representative(*file);
        self.infos.get_mut(&module)
    }

    /// The representative file of the module of `file`.
    pub fn representative(&self, file: FileId) -> FileId {
        self.module_of.get(&file).copied().unwrap_or(file)
    }

    /// Every module, by representative.
    pub fn iter(&self) -> impl Iterator<Item = (&FileId, &ModuleInfo<'a>)> {
        self.infos.iter()
    }
}

impl<'m, 'a> IntoIterator for &'m Modules<'a> {
    type Item = (&'m FileId, &'m ModuleInfo<'a>);
    type IntoIter = std::collections::hash_map::Iter<'m, FileId, ModuleInfo<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        self.infos.iter()
    }
}

/// Every module of the program. An [`crate::Analysis`] builds it once and
/// keeps it, together with the syntax trees it borrows (see
/// [`crate::OwnedModel`]).
#[derive(Debug, Default, yoke::Yokeable)]
pub struct Model<'a> {
    pub decls: Vec<Decl<'a>>,
    pub scopes: Vec<Scope<'a>>,
    pub modules: Modules<'a>,
    /// The module scope of each file (the files of a folder module share
    /// one).
    pub module_scope: HashMap<FileId, ScopeId>,
}

impl<'a> Model<'a> {
    pub fn decl(&self, id: DeclId) -> &Decl<'a> {
        &self.decls[id.0 as usize]
    }

    pub fn scope(&self, id: ScopeId) -> &Scope<'a> {
        &self.scopes[id.0 as usize]
    }

    /// The chain of scopes from `id` outwards, innermost first.
    pub fn scope_chain(&self, id: ScopeId) -> Vec<ScopeId> {
        let mut chain = vec![id];
        let mut current = id;
        while let Some(parent) = self.scope(current).parent {
            chain.push(parent);
            current = parent;
        }
        chain
    }

    /// What `name`, written in `scope` of `file`, refers to: the variables
    /// of the `for` blocks and the `let`s of the blocks around it, from
    /// the innermost block outwards, then the module-level names. This is
    /// the one resolution order of the language; the checker and the
    /// evaluator both ask it (after the comprehension variables around
    /// the use, which only they hold while walking an expression), and
    /// the editors' span-based [`crate::loops::LoopScopes`] keeps the same
    /// rule.
    pub fn resolve(&self, file: FileId, scope: ScopeId, name: &str) -> Option<Resolution> {
        for scope_id in self.scope_chain(scope) {
            let scope = self.scope(scope_id);
            if let ScopeKind::For(decl) = &scope.kind {
                let binding = &decl.binding;
                let names = std::iter::once(&binding.first).chain(&binding.second);
                if let Some(index) = names.into_iter().position(|ident| ident.name == name) {
                    return Some(Resolution::LoopVar { scope: scope_id, index });
                }
            }
            if let Some(&id) = scope.lets.get(name) {
                return Some(Resolution::Decl(id));
            }
        }
        self.modules.get(&file)?.names.get(name).map(|&id| Resolution::Decl(id))
    }

    /// Every declaration as plain data, indexed by [`DeclId`].
    pub fn decl_infos(&self) -> Vec<DeclInfo> {
        self.decls
            .iter()
            .map(|decl| {
                let block = match (&self.scope(decl.scope).kind, decl.kind) {
                    (ScopeKind::Module, _) => None,
                    (_, kind) if kind != DeclKind::Let => None,
                    (ScopeKind::For(block), _) => Some(block.block.span),
                    (ScopeKind::If { decl, branch }, _) => match decl.branches.get(*branch) {
                        Some((_, block)) => Some(block.span),
                        None => decl.else_block.as_ref().map(|block| block.span),
                    },
                    (ScopeKind::Policy(policy), _) => Some(policy.block.span),
                };
                DeclInfo {
                    id: decl.id,
                    file: decl.file,
                    kind: decl.kind,
                    name: decl.name.map(|n| n.name.clone()),
                    name_span: decl.name_span(),
                    item_span: decl.item.span,
                    docs: decl.item.docs.clone(),
                    block,
                }
            })
            .collect()
    }

    /// Collects the declarations and scopes of `file`, a file of the
    /// module `module` (its representative: `file` itself for a file
    /// module). The files of a folder module share one namespace.
    pub fn add_file(
        &mut self,
        file: FileId,
        module: FileId,
        ast: &'a ast::SourceFile,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        let scope = match self.module_scope.get(&module) {
            Some(&scope) => scope,
            None => {
                let scope = self.new_scope(module, None, ScopeKind::Module);
                self.module_scope.insert(module, scope);
                self.modules.infos.insert(module, ModuleInfo::default());
                scope
            }
        };
        self.module_scope.insert(file, scope);
        self.modules.module_of.insert(file, module);
        for item in &ast.items {
            self.collect(file, item, scope, None, diagnostics);
        }
    }

    fn new_scope(&mut self, file: FileId, parent: Option<ScopeId>, kind: ScopeKind<'a>) -> ScopeId {
        let id = ScopeId(self.scopes.len() as u32);
        self.scopes.push(Scope { id, file, parent, kind, lets: HashMap::default() });
        id
    }

    fn add_decl(
        &mut self,
        file: FileId,
        kind: DeclKind,
        name: Option<&'a Ident>,
        item: &'a Item,
        scope: ScopeId,
        policy: Option<&'a ast::Policy>,
    ) -> DeclId {
        let id = DeclId(self.decls.len() as u32);
        self.decls.push(Decl { id, file, kind, name, item, scope, policy });
        if let Some(module) = self.modules.get_mut(&file) {
            module.decls.push(id);
        }
        id
    }

    /// Registers a module-level name, reporting a duplicate.
    fn register_name(&mut self, file: FileId, id: DeclId, diagnostics: &mut Vec<Diagnostic>) {
        let Some(ident) = self.decl(id).name else { return };
        let existing = self.modules.get(&file).and_then(|m| m.names.get(&ident.name).copied());
        if let Some(existing) = existing {
            diagnostics.push(duplicate(
                ident,
                self.decl(existing).name_span(),
                self.decl(existing).kind,
            ));
            return;
        }
        // A block `let` of the same name elsewhere is reported when the
        // block is collected; module names only clash with module names.
        if let Some(module) = self.modules.get_mut(&file) {
            module.names.insert(ident.name.clone(), id);
        }
    }

    fn collect(
        &mut self,
        file: FileId,
        item: &'a Item,
        scope: ScopeId,
        policy: Option<&'a ast::Policy>,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        let in_block = self.scope(scope).parent.is_some();
        let in_policy = policy.is_some();
        let misplaced = |what: &str, span: Span, diagnostics: &mut Vec<Diagnostic>| {
            let place = if in_policy { "a `policy`" } else { "an `if` or `for` block" };
            diagnostics.push(
                Diagnostic::new(
                    &codes::E0107,
                    span,
                    format!("{what} cannot be declared inside {place}"),
                )
                .with_help("move the declaration to the top level of the file"),
            );
        };
        // A top-level-only declaration written in a block is reported, then
        // collected as if it stood at the top level, so that its uses do
        // not report it missing as well.
        let top = self.module_scope.get(&file).copied().unwrap_or(scope);
        match &item.kind {
            ItemKind::Param(param) => {
                if in_block {
                    misplaced("a `param`", param.name.span, diagnostics);
                }
                let id = self.add_decl(file, DeclKind::Param, Some(&param.name), item, top, None);
                self.mark_instances(file);
                self.register_name(file, id, diagnostics);
            }
            ItemKind::Let(decl) => {
                let id = self.add_decl(file, DeclKind::Let, Some(&decl.name), item, scope, policy);
                if in_block {
                    let lets = &mut self.scopes[scope.0 as usize].lets;
                    if let Some(&existing) = lets.get(&decl.name.name) {
                        let span = self.decl(existing).name_span();
                        diagnostics.push(duplicate(&decl.name, span, DeclKind::Let));
                    } else {
                        lets.insert(decl.name.name.clone(), id);
                    }
                } else {
                    self.register_name(file, id, diagnostics);
                }
            }
            ItemKind::TypeAlias(alias) => {
                if in_block {
                    misplaced("a `type`", alias.name.span, diagnostics);
                }
                let Some(module) = self.modules.get_mut(&file) else { return };
                if let Some(existing) = module.types.get(&alias.name.name) {
                    diagnostics.push(
                        Diagnostic::new(
                            &codes::E0102,
                            alias.name.span,
                            format!("the type `{}` is declared twice", alias.name.name),
                        )
                        .with_label(existing.name.span, "first declared here"),
                    );
                } else {
                    module.types.insert(alias.name.name.clone(), alias);
                }
            }
            ItemKind::Resource(resource) | ItemKind::Data(resource) => {
                if in_policy {
                    return misplaced("a resource", resource.name.span, diagnostics);
                }
                let kind = if matches!(item.kind, ItemKind::Resource(_)) {
                    DeclKind::Resource
                } else {
                    DeclKind::Data
                };
                let id = self.add_decl(file, kind, Some(&resource.name), item, scope, None);
                self.mark_instances(file);
                self.register_name(file, id, diagnostics);
            }
            ItemKind::Output(output) => {
                if in_policy {
                    return misplaced("an `output`", output.name.span, diagnostics);
                }
                let id =
                    self.add_decl(file, DeclKind::Output, Some(&output.name), item, scope, None);
                self.mark_instances(file);
                self.register_name(file, id, diagnostics);
            }
            ItemKind::Module(module) => {
                if in_policy {
                    return misplaced("a `module`", module.name.span, diagnostics);
                }
                let id =
                    self.add_decl(file, DeclKind::Module, Some(&module.name), item, scope, None);
                self.mark_instances(file);
                self.register_name(file, id, diagnostics);
            }
            ItemKind::Import(import) => {
                if in_block {
                    misplaced("an `import`", import.alias.span, diagnostics);
                }
                let id =
                    self.add_decl(file, DeclKind::Import, Some(&import.alias), item, top, None);
                self.register_name(file, id, diagnostics);
            }
            ItemKind::Provider(provider) => {
                if in_block {
                    misplaced("a `provider`", provider.name.span, diagnostics);
                }
                if let Some(module) = self.modules.get_mut(&file) {
                    module.providers.push(provider);
                }
            }
            ItemKind::Assert(_) => {
                self.add_decl(file, DeclKind::Assert, None, item, scope, policy);
            }
            ItemKind::Warn(_) => {
                self.add_decl(file, DeclKind::Warn, None, item, scope, policy);
            }
            ItemKind::Policy(decl) => {
                if in_block {
                    misplaced("a `policy`", decl.name.span, diagnostics);
                }
                if let Some(module) = self.modules.get_mut(&file) {
                    module.policies.push(decl);
                }
                let inner = self.new_scope(file, Some(top), ScopeKind::Policy(decl));
                for item in &decl.block.items {
                    self.collect(file, item, inner, Some(decl), diagnostics);
                }
            }
            ItemKind::If(decl) => {
                for (branch, (_, block)) in decl.branches.iter().enumerate() {
                    let inner = self.new_scope(file, Some(scope), ScopeKind::If { decl, branch });
                    for item in &block.items {
                        self.collect(file, item, inner, policy, diagnostics);
                    }
                }
                if let Some(block) = &decl.else_block {
                    let inner = self.new_scope(
                        file,
                        Some(scope),
                        ScopeKind::If { decl, branch: decl.branches.len() },
                    );
                    for item in &block.items {
                        self.collect(file, item, inner, policy, diagnostics);
                    }
                }
            }
            ItemKind::For(decl) => {
                let inner = self.new_scope(file, Some(scope), ScopeKind::For(decl));
                for item in &decl.block.items {
                    self.collect(file, item, inner, policy, diagnostics);
                }
            }
            ItemKind::Lifecycle(block) => {
                // `import` may stand in a `for` (one adoption per
                // instance); `moved` and `removed` name addresses and
                // belong at the top level.
                let allowed = !in_policy
                    && (!in_block
                        || block.kind == ast::LifecycleKind::Import
                            && matches!(self.scope(scope).kind, ScopeKind::For(_)));
                if !allowed {
                    let what = format!("a `{}` block", block.kind.keyword());
                    misplaced(&what, block.keyword, diagnostics);
                    return;
                }
                self.mark_instances(file);
                if let Some(module) = self.modules.get_mut(&file) {
                    module.lifecycle.push((block, scope));
                }
            }
            ItemKind::Mock(mock) => {
                if in_block {
                    return misplaced("a `mock`", mock.keyword, diagnostics);
                }
                if let Some(module) = self.modules.get_mut(&file) {
                    module.mocks.push((file, mock));
                }
            }
            ItemKind::Test(test) => {
                if in_block {
                    return misplaced("a `test`", test.keyword, diagnostics);
                }
                if let Some(module) = self.modules.get_mut(&file) {
                    module.tests.push((file, test));
                }
            }
            // Only a `test` block holds settings; the checker reads them.
            ItemKind::Setting(_) | ItemKind::Error => {}
        }
    }

    fn mark_instances(&mut self, file: FileId) {
        if let Some(module) = self.modules.get_mut(&file) {
            module.has_instances = true;
        }
    }
}

fn duplicate(ident: &Ident, first: Span, first_kind: DeclKind) -> Diagnostic {
    Diagnostic::new(&codes::E0102, ident.span, format!("the name `{}` is declared twice", ident.name))
        .with_primary_message("declared again here")
        .with_label(first, format!("first declared here (as a {})", first_kind.describe()))
        .with_help("names are unique within a module across params, lets, resources, data, modules, outputs and imports")
}
