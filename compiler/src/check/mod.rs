//! Names, types, phases and secrets, in one walk over each module.
//!
//! Every expression gets a [`Typed`]: its type, its phase (known at plan
//! time, or only after apply and why) and, for secrets, where the secret
//! came from. Declaration types are computed on demand and memoised, so
//! declarations may be used above their definition. Results go to side
//! tables ([`Checked`]); the syntax tree is not changed.

mod decls;
mod decorators;
mod exprs;
pub mod phase;
mod plugins;
pub mod testing;
mod types;

use std::sync::Arc;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use orch_lang::ast::{Expr, ExprId};
use orch_lang::diagnostic::codes;
use orch_lang::{Diagnostic, FileId, Span};
use orch_stdlib::{RecordTy, Ty};
use smol_str::SmolStr;

use crate::db::Files;
use crate::model::{DeclId, DeclKind, Model, Resolution, ScopeId, ScopeKind};
pub use phase::{Phase, PhaseStep};

/// Where a secret came from, for the message when it leaks.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretSource {
    pub span: Span,
    pub description: String,
}

/// What the checker knows about a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Typed {
    pub ty: Ty,
    pub phase: Phase,
    /// Where a secret in the value comes from: set when `ty` is or holds a
    /// secret (and possibly, harmlessly, on values computed next to one).
    pub secret: Option<SecretSource>,
    /// The resource, data or module declaration whose instance(s) this
    /// value is, so that field accesses know their phase.
    pub origin: Option<DeclId>,
}

impl Typed {
    pub fn new(ty: Ty) -> Typed {
        Typed { ty, phase: Phase::Known, secret: None, origin: None }
    }

    pub fn error() -> Typed {
        Typed::new(Ty::Error)
    }

    pub fn with_phase(mut self, phase: Phase) -> Typed {
        self.phase = phase;
        self
    }
}

/// A reference from one declaration to another, an edge of the IR graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// The declaration whose expression holds the reference.
    pub from: DeclId,
    pub to: DeclId,
    /// The referring expression (`b.sha256`, not only `b`).
    pub span: Span,
    /// From `@depends_on` rather than from a value.
    pub explicit: bool,
    /// The body field (of a resource, data or module) whose value holds
    /// the reference, for messages: "`a.content` uses `b.sha256`".
    pub field: Option<SmolStr>,
}

/// How a `for` block keys its instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// String keys: declarations in the block are `map<T>` outside it.
    String,
    /// Integer keys: declarations in the block are `list<T>` outside it.
    Int,
}

/// The variables a `for` block binds, with their types.
#[derive(Debug, Clone)]
pub struct LoopInfo {
    pub key_kind: KeyKind,
    pub bindings: Vec<(SmolStr, Typed)>,
}

/// The results of checking.
#[derive(Debug, Default)]
pub struct Checked {
    pub decl_types: HashMap<DeclId, Typed>,
    pub expr_types: HashMap<(FileId, ExprId), Ty>,
    pub references: Vec<Reference>,
    pub loops: HashMap<ScopeId, LoopInfo>,
    /// The module file each `module` declaration instantiates, and the file
    /// each `import` names.
    pub targets: HashMap<DeclId, FileId>,
    /// Phases of resource and data body fields, for field access.
    pub field_phases: HashMap<(DeclId, SmolStr), Phase>,
    /// References made by the header of an `if` or `for` block (its
    /// condition, collection or key): every declaration inside depends on
    /// them.
    pub block_refs: HashMap<ScopeId, Vec<(DeclId, Span)>>,
    /// The declaration each resolved name refers to, keyed by the span of
    /// the name (an identifier, or `NAME` in `alias.NAME` of an import):
    /// for the language server's hover and go-to-definition. Also the
    /// alias of `alias.Type` in type expressions, and the first name of
    /// each `@depends_on` argument.
    pub resolutions: HashMap<Span, DeclId>,
    /// The type alias each type name refers to, keyed by the span of the
    /// name (`Service`, or `Service` in `common.Service`): the file that
    /// declares it and its name. For find-references and rename.
    pub type_resolutions: HashMap<Span, (FileId, SmolStr)>,
    /// `NAME` in `instance.NAME` where the base is a module instance (an
    /// output of the module's file), or in `@depends_on(instance.NAME)` (any
    /// declaration of it): that declaration.
    pub member_resolutions: HashMap<Span, DeclId>,
    /// Each use of a field of a named record type (an alias or a kind),
    /// keyed by the span of the field name (`NAME` in `value.NAME`, the key
    /// of an object literal checked against the record) or of the string
    /// literal in `value["NAME"]`: the record type it belongs to.
    pub field_uses: HashMap<Span, Arc<RecordTy>>,
    /// Every type alias, resolved, by file and name.
    pub aliases: HashMap<(FileId, SmolStr), Ty>,
}

pub struct Checker<'m, 'a> {
    pub(crate) files: &'a Files,
    pub(crate) model: &'m Model<'a>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) out: Checked,
    /// Declarations whose type is being computed, to break cycles.
    in_progress: HashSet<DeclId>,
    /// Declarations fully checked.
    done: HashSet<DeclId>,
    used: HashSet<DeclId>,
    /// The declaration being checked, the source of references.
    current: Vec<DeclId>,
    /// The body field being checked, if any (see [`Reference::field`]).
    pub(crate) current_field: Option<SmolStr>,
    /// Comprehension variables, innermost last.
    locals: Vec<(SmolStr, Typed)>,
    loops_in_progress: HashSet<ScopeId>,
    /// The block whose header is being checked, if any.
    headers: Vec<ScopeId>,
    /// Type aliases already resolved, by file and name.
    pub(crate) alias_types: HashMap<(FileId, SmolStr), Ty>,
    /// `if` blocks whose condition has been checked.
    if_headers_done: HashSet<ScopeId>,
    /// For each module file, the params that decide its blocks (see
    /// `decls::params_deciding_blocks`).
    pub(crate) block_params: HashMap<FileId, HashMap<DeclId, Span>>,
}

impl<'m, 'a> Checker<'m, 'a> {
    pub fn new(
        files: &'a Files,
        model: &'m Model<'a>,
        targets: HashMap<DeclId, FileId>,
    ) -> Checker<'m, 'a> {
        Checker {
            files,
            model,
            diagnostics: Vec::new(),
            out: Checked { targets, ..Checked::default() },
            in_progress: HashSet::default(),
            done: HashSet::default(),
            used: HashSet::default(),
            current: Vec::new(),
            current_field: None,
            locals: Vec::new(),
            loops_in_progress: HashSet::default(),
            headers: Vec::new(),
            alias_types: HashMap::default(),
            if_headers_done: HashSet::default(),
            block_params: HashMap::default(),
        }
    }

    /// Checks every declaration of every module, then reports unused
    /// params and lets.
    pub fn run(mut self) -> (Checked, Vec<Diagnostic>) {
        for decl in &self.model.decls {
            self.check_decl(decl.id);
        }
        self.check_provider_blocks();
        self.check_import_blocks();
        self.check_tests();
        types::check_aliases(&mut self);
        let mut scopes: Vec<ScopeId> = self.model.scopes.iter().map(|s| s.id).collect();
        scopes.sort();
        for scope in scopes {
            if matches!(self.model.scope(scope).kind, ScopeKind::For(_) | ScopeKind::If { .. }) {
                self.check_block_header(scope);
            }
        }
        self.report_unused();
        self.out.aliases = std::mem::take(&mut self.alias_types);
        (self.out, self.diagnostics)
    }

    /// Checks the values of every `provider` block: their names resolve
    /// (and count as uses) and their types are computed like any other
    /// expression's. Each provider validates its own configuration, which
    /// may hold secrets (a password), when it is configured.
    fn check_provider_blocks(&mut self) {
        let model = self.model;
        let files = self.files;
        for source in files.iter() {
            let file = source.id;
            let Some(&scope) = model.module_scope.get(&file) else { continue };
            for item in &source.parsed.file.items {
                let orch_lang::ast::ItemKind::Provider(provider) = &item.kind else { continue };
                if plugins::check_block(self, file, scope, item, provider) {
                    continue;
                }
                for field in &provider.body.fields {
                    self.expr(file, &field.value, scope, None);
                }
            }
        }
    }

    /// Checks the expressions of every `import` block: the `id` is a
    /// string known at plan time and not secret (plans show it), and the
    /// keys of its `to` (`dir[name]`) are known at plan time too.
    fn check_import_blocks(&mut self) {
        let model = self.model;
        let mut modules: Vec<_> = model.modules.iter().collect();
        modules.sort_by_key(|(file, _)| **file);
        for (_, module) in modules {
            for &(block, scope) in &module.lifecycle {
                let Ok(crate::lifecycle::Block::Import { to_expr, id, .. }) =
                    crate::lifecycle::decode(block)
                else {
                    continue;
                };
                let file = model.scope(scope).file;
                let typed = self.expr(file, id, scope, Some(&Ty::String));
                if !typed.ty.reveal().assignable_to(&Ty::String) {
                    self.expect_type(id, &typed, &Ty::String, "the `id` of an `import` block");
                } else if typed.ty.is_secret() {
                    self.secret_leak(id.span, &typed, "the `id` of an `import` block");
                } else {
                    self.require_plan_time(id.span, &typed.phase, "the `id` of an `import` block");
                }
                let mut current = to_expr;
                loop {
                    match &current.kind {
                        orch_lang::ast::ExprKind::Index { base, index } => {
                            let typed = self.expr(file, index, scope, None);
                            self.require_plan_time(
                                index.span,
                                &typed.phase,
                                "a key of an `import` address",
                            );
                            current = base;
                        }
                        orch_lang::ast::ExprKind::Field { base, .. } => current = base,
                        orch_lang::ast::ExprKind::Paren(inner) => current = inner,
                        _ => break,
                    }
                }
            }
        }
    }

    pub(crate) fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub(crate) fn record(&mut self, file: FileId, expr: &Expr, ty: &Ty) {
        self.out.expr_types.insert((file, expr.id), ty.clone());
    }

    /// Records a use of `to` from the declaration being checked.
    pub(crate) fn reference(&mut self, to: DeclId, span: Span, explicit: bool) -> Option<usize> {
        self.used.insert(to);
        if let Some(&block) = self.headers.last() {
            self.out.block_refs.entry(block).or_default().push((to, span));
            return None;
        }
        let from = *self.current.last()?;
        self.out.references.push(Reference {
            from,
            to,
            span,
            explicit,
            field: self.current_field.clone(),
        });
        Some(self.out.references.len() - 1)
    }

    /// Widens the span of a recorded reference to the whole access path.
    pub(crate) fn widen_reference(&mut self, index: Option<usize>, span: Span) {
        if let Some(reference) = index.and_then(|i| self.out.references.get_mut(i)) {
            reference.span = reference.span.to(span);
        }
    }

    /// Checks a declaration once; returns its type as seen in its own scope.
    pub(crate) fn check_decl(&mut self, id: DeclId) -> Typed {
        if let Some(typed) = self.out.decl_types.get(&id) {
            return typed.clone();
        }
        if self.in_progress.contains(&id) || self.done.contains(&id) {
            // A cycle; the IR graph reports it once, with every step.
            return Typed::error();
        }
        self.in_progress.insert(id);
        self.current.push(id);
        let field = self.current_field.take();
        let typed = decls::check(self, id);
        self.current_field = field;
        self.current.pop();
        self.in_progress.remove(&id);
        self.done.insert(id);
        self.out.decl_types.insert(id, typed.clone());
        typed
    }

    /// The type of declaration `id` seen from `scope`: wrapped in `map<T>`,
    /// `list<T>` or `T?` for each block around the declaration that does
    /// not also surround the use.
    pub(crate) fn decl_type_from(&mut self, id: DeclId, scope: ScopeId) -> Typed {
        let mut typed = self.check_decl(id);
        let decl_scope = self.model.decl(id).scope;
        let use_chain = self.model.scope_chain(scope);
        let mut decl_chain = self.model.scope_chain(decl_scope);
        decl_chain.pop(); // The module scope.
        for block in decl_chain {
            if use_chain.contains(&block) || self.proven_by(block, &use_chain) {
                continue;
            }
            typed.ty = match &self.model.scope(block).kind {
                ScopeKind::For(_) => match self.loop_info(block).key_kind {
                    KeyKind::String => Ty::map(typed.ty),
                    KeyKind::Int => Ty::list(typed.ty),
                },
                ScopeKind::If { .. } => Ty::optional(typed.ty),
                ScopeKind::Module | ScopeKind::Policy(_) => typed.ty,
            };
        }
        typed
    }

    /// Whether a use inside `use_chain` is inside an `if` whose condition is
    /// the same expression as that of `block` (an `if` branch), which proves
    /// the declaration present.
    fn proven_by(&self, block: ScopeId, use_chain: &[ScopeId]) -> bool {
        let ScopeKind::If { decl, branch } = &self.model.scope(block).kind else { return false };
        let Some(condition) = decl.branches.get(*branch).map(|(c, _)| c) else { return false };
        let wanted = orch_lang::dump::dump_expr(condition);
        use_chain.iter().any(|&scope| match &self.model.scope(scope).kind {
            ScopeKind::If { decl: other, branch: other_branch } => {
                other.branches.get(*other_branch).is_some_and(|(c, _)| {
                    *other_branch == 0 && *branch == 0 && orch_lang::dump::dump_expr(c) == wanted
                })
            }
            _ => false,
        })
    }

    /// The bindings of a `for` scope (computed once).
    pub(crate) fn loop_info(&mut self, scope: ScopeId) -> LoopInfo {
        if let Some(info) = self.out.loops.get(&scope) {
            return info.clone();
        }
        let ScopeKind::For(decl) = &self.model.scope(scope).kind else {
            return LoopInfo { key_kind: KeyKind::String, bindings: Vec::new() };
        };
        if !self.loops_in_progress.insert(scope) {
            return LoopInfo { key_kind: KeyKind::String, bindings: Vec::new() };
        }
        let parent = self.model.scope(scope).parent.unwrap_or(scope);
        let file = self.model.scope(scope).file;
        self.headers.push(scope);
        let info = exprs::for_header(self, file, decl, parent, scope);
        self.headers.pop();
        self.loops_in_progress.remove(&scope);
        self.out.loops.insert(scope, info.clone());
        info
    }

    /// Checks the condition of `if` blocks and the header of `for` blocks:
    /// they must be known at plan time.
    pub(crate) fn check_block_header(&mut self, scope: ScopeId) {
        let file = self.model.scope(scope).file;
        match &self.model.scope(scope).kind {
            ScopeKind::For(_) => {
                self.loop_info(scope);
            }
            ScopeKind::If { decl, branch } => {
                let Some((condition, _)) = decl.branches.get(*branch) else { return };
                // A module instance checks its module's conditions early.
                if !self.if_headers_done.insert(scope) {
                    return;
                }
                let parent = self.model.scope(scope).parent.unwrap_or(scope);
                self.headers.push(scope);
                let typed = self.expr(file, condition, parent, Some(&Ty::Bool));
                self.headers.pop();
                self.expect_type(condition, &typed, &Ty::Bool, "an `if` condition");
                self.require_plan_time(condition.span, &typed.phase, "the condition of an `if`");
            }
            _ => {}
        }
    }

    /// Reports a value that must be known at plan time but is not, with
    /// the chain of references that makes it so.
    pub(crate) fn require_plan_time(&mut self, span: Span, phase: &Phase, what: &str) {
        if let Some(diagnostic) = plan_time_diagnostic(span, phase, what) {
            self.error(diagnostic);
        }
    }

    /// Checks that `typed` may be used where `expected` is wanted; reports a
    /// type mismatch or a leaked secret.
    pub(crate) fn expect_type(
        &mut self,
        expr: &Expr,
        typed: &Typed,
        expected: &Ty,
        what: &str,
    ) -> bool {
        if !self.expect_assignable(expr, typed, expected, what) {
            return false;
        }
        if leaks_secret(&typed.ty, expected) {
            self.secret_leak(expr.span, typed, what);
            return false;
        }
        true
    }

    /// Checks that `typed` may be used where `expected` is wanted, ignoring
    /// secrecy (the caller decides where a secret may go).
    pub(crate) fn expect_assignable(
        &mut self,
        expr: &Expr,
        typed: &Typed,
        expected: &Ty,
        what: &str,
    ) -> bool {
        if typed.ty.assignable_to(expected) {
            return true;
        }
        // A `T?` where a `T` is wanted: the fix is a default, not a new type.
        if typed.ty.is_optional() && typed.ty.unwrap_optional().assignable_to(expected) {
            self.error(
                Diagnostic::new(
                    &codes::E0204,
                    expr.span,
                    format!("{what} must be `{expected}`, but this may be none (`{}`)", typed.ty),
                )
                .with_primary_message("this value may be none")
                .with_help("give a default with `??`, for example `value ?? \"\"`"),
            );
            return false;
        }
        self.error(
            Diagnostic::new(
                &codes::E0201,
                expr.span,
                format!("{what} must be `{expected}`, but this is `{}`", typed.ty),
            )
            .with_primary_message(format!("expected `{expected}`, found `{}`", typed.ty)),
        );
        false
    }

    pub(crate) fn secret_leak(&mut self, span: Span, typed: &Typed, what: &str) {
        let mut diagnostic = Diagnostic::new(&codes::E0205, span, format!("a secret flows into {what}"))
            .with_primary_message("this value is secret")
            .with_help(
                "secrets may flow only into sensitive fields, `secret<T>` params and outputs, or other secrets; \
                 wrap the value in `reveal(...)` to show it on purpose",
            );
        if let Some(source) = &typed.secret {
            diagnostic = diagnostic
                .with_label(source.span, format!("the secret comes from {}", source.description));
        }
        self.error(diagnostic);
    }

    /// Looks a name up from `scope`: comprehension variables, loop
    /// variables and block lets outwards, then module-level names.
    pub(crate) fn lookup(&mut self, file: FileId, name: &str, scope: ScopeId) -> Option<Resolved> {
        if let Some((_, typed)) = self.locals.iter().rev().find(|(n, _)| n == name) {
            return Some(Resolved::Local(typed.clone()));
        }
        match self.model.resolve(file, scope, name)? {
            Resolution::LoopVar { scope, index } => {
                let info = self.loop_info(scope);
                info.bindings.get(index).map(|(_, typed)| Resolved::Local(typed.clone()))
            }
            Resolution::Decl(id) => Some(Resolved::Decl(id)),
        }
    }

    /// Every name visible from `scope`, for suggestions.
    pub(crate) fn visible_names(&mut self, file: FileId, scope: ScopeId) -> Vec<SmolStr> {
        let mut names: Vec<SmolStr> = self.locals.iter().map(|(n, _)| n.clone()).collect();
        for scope_id in self.model.scope_chain(scope) {
            if let Some(info) = self.out.loops.get(&scope_id) {
                names.extend(info.bindings.iter().map(|(n, _)| n.clone()));
            }
            names.extend(self.model.scope(scope_id).lets.keys().cloned());
        }
        if let Some(module) = self.model.modules.get(&file) {
            names.extend(module.names.keys().cloned());
        }
        names
    }

    pub(crate) fn mark_used(&mut self, id: DeclId) {
        self.used.insert(id);
    }

    pub(crate) fn push_local(&mut self, name: SmolStr, typed: Typed) {
        self.locals.push((name, typed));
    }

    pub(crate) fn pop_locals(&mut self, count: usize) {
        let keep = self.locals.len().saturating_sub(count);
        self.locals.truncate(keep);
    }

    fn report_unused(&mut self) {
        let imported: HashSet<FileId> = self
            .model
            .decls
            .iter()
            .filter(|d| d.kind == DeclKind::Import)
            .filter_map(|d| self.out.targets.get(&d.id).copied())
            .collect();
        for decl in &self.model.decls {
            if self.used.contains(&decl.id) {
                continue;
            }
            // A file with syntax errors may have lost the uses.
            if self.files.get(decl.file).parsed.has_errors() {
                continue;
            }
            let Some(name) = decl.name else { continue };
            if name.name.starts_with('_') || !self.is_registered(decl.id) {
                continue;
            }
            let (code, what) = match decl.kind {
                DeclKind::Param => (&codes::W0101, "param"),
                // Top-level lets of an imported file are its exports.
                DeclKind::Let if imported.contains(&decl.file) && decl.policy.is_none() => continue,
                DeclKind::Let => (&codes::W0102, "let"),
                _ => continue,
            };
            self.diagnostics.push(
                Diagnostic::new(
                    code,
                    name.span,
                    format!("the {what} `{}` is never used", name.name),
                )
                .with_help(format!(
                    "remove it, or start its name with `_` to keep it: `_{}`",
                    name.name
                )),
            );
        }
    }
}

impl Checker<'_, '_> {
    /// Whether `id` is the declaration its name refers to; a duplicate
    /// (already reported) is not, and is never used.
    fn is_registered(&self, id: DeclId) -> bool {
        let decl = self.model.decl(id);
        let Some(name) = decl.name else { return true };
        let scope = self.model.scope(decl.scope);
        let names = if decl.kind == DeclKind::Let && scope.parent.is_some() {
            &scope.lets
        } else {
            match self.model.modules.get(&decl.file) {
                Some(module) => &module.names,
                None => return true,
            }
        };
        names.get(&name.name) == Some(&id)
    }
}

/// The diagnostic for a value that must be known at plan time but is not
/// (`None` when `phase` is known), with the chain of references that makes
/// it so.
pub(crate) fn plan_time_diagnostic(span: Span, phase: &Phase, what: &str) -> Option<Diagnostic> {
    let steps = phase.steps();
    let last = steps.last()?;
    let mut diagnostic = Diagnostic::new(
        &codes::E0401,
        span,
        format!("{what} must be known at plan time, but it depends on a value computed on apply"),
    )
    .with_primary_message(format!("{what} is only known after apply"));
    for step in &steps {
        diagnostic = diagnostic.with_label(step.span, step.message.clone());
    }
    let origin = last.message.clone();
    Some(diagnostic.with_help(format!(
        "{origin}; Orch expands loops and conditions when it plans, before any provider runs. \
         Use a param or a value known in advance instead"
    )))
}

/// Whether a value of type `value` holds a secret where `expected` does
/// not allow one: at the top, or in an element or field that `expected`
/// does not mark `secret<T>` (a record with a secret field assigned to a
/// record type whose field is a plain `string`).
pub(crate) fn leaks_secret(value: &Ty, expected: &Ty) -> bool {
    if expected.is_secret() {
        return false;
    }
    if value.is_secret() {
        return true;
    }
    match (value, expected) {
        (Ty::List(a), Ty::List(b))
        | (Ty::Map(a), Ty::Map(b))
        | (Ty::Optional(a), Ty::Optional(b)) => leaks_secret(a, b),
        (Ty::Record(a), Ty::Record(b)) => a.fields.iter().any(|f| match b.field(&f.name) {
            Some(want) => leaks_secret(&f.ty, &want.ty),
            None => exprs::contains_secret(&f.ty),
        }),
        (Ty::Record(a), Ty::Map(b)) => a.fields.iter().any(|f| leaks_secret(&f.ty, b)),
        (value, Ty::Optional(b)) => leaks_secret(value, b),
        (value, Ty::Any) => exprs::contains_secret(value),
        _ => false,
    }
}

/// What a name refers to.
#[derive(Debug, Clone)]
pub(crate) enum Resolved {
    Decl(DeclId),
    Local(Typed),
}
