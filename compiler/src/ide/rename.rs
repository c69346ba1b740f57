//! Rename: every place that find-references reports, given a new name,
//! after checking that the program would mean the same thing.
//!
//! A rename is refused, with a message for the user, when the new name is
//! not an identifier, when it is already declared where names must be
//! unique (params, lets, resources, data, modules, outputs and imports of
//! a module; the types of a module; the fields of a record; the arguments
//! of a module body), when another binding of the new name would capture a
//! use of the renamed one, or when the renamed one would capture a use of
//! another. Standard-library functions, kinds and their fields are not
//! renamed. Last, the renamed program is checked again, and a rename that
//! would add an error is refused too.

use std::collections::HashMap;

use orch_lang::ast::{FieldKey, Ident, TypeExpr, TypeExprKind};
use orch_lang::token::Token;
use orch_lang::visit::{self, Visitor};
use orch_lang::{FileId, Span, lex};
use orch_stdlib::Ty;
use smol_str::SmolStr;

use super::bindings::{FileNames, Meaning, file_names};
use super::references::{
    BUILTIN_TYPES, Named, Occurrence, Target, module_bodies, occurrences, place, record_fields,
    target_at,
};
use super::scope::{decl, module_alias, target_file};
use crate::model::{DeclInfo, DeclKind};
use crate::{Analysis, SourceDb};

/// The name at `offset` that a rename would change, or why it cannot be
/// renamed.
pub fn prepare_rename(analysis: &Analysis, file: FileId, offset: u32) -> Result<Span, String> {
    let named = target_at(analysis, file, offset)?;
    if let Some(problem) = occurrences(analysis, &named.target).problems.into_iter().next() {
        return Err(problem);
    }
    Ok(named.span)
}

/// The spans to replace with `new_name` to rename what is at `offset`, in
/// every file, or why the rename is refused.
pub fn rename(
    analysis: &Analysis,
    file: FileId,
    offset: u32,
    new_name: &str,
) -> Result<Vec<Span>, String> {
    let named = target_at(analysis, file, offset)?;
    check_identifier(new_name)?;
    let found = occurrences(analysis, &named.target);
    if let Some(problem) = found.problems.into_iter().next() {
        return Err(problem);
    }
    if named.name == new_name {
        return Ok(Vec::new());
    }
    let rename = Rename { analysis, named: &named, new: new_name, occurrences: &found.list };
    match &named.target {
        Target::Decl(id) => {
            let info = decl(analysis, *id).ok_or("the declaration is gone")?;
            rename.declaration(info)?;
        }
        Target::Alias { file, .. } => rename.alias(*file)?,
        Target::Field { file, alias, .. } => rename.field(*file, alias)?,
        Target::Local { file, binder } => rename.local(*file, *binder)?,
    }
    let spans: Vec<Span> = found.list.iter().map(|occurrence| occurrence.span).collect();
    verify(analysis, &spans, new_name)?;
    Ok(spans)
}

/// Checks the renamed program again and refuses the rename if it has an
/// error the program did not have: a safety net under the checks above,
/// for uses the side tables cannot see (a record literal written without
/// its type and assigned to the record later).
fn verify(analysis: &Analysis, spans: &[Span], new_name: &str) -> Result<(), String> {
    let mut edited: HashMap<String, String> = HashMap::new();
    let mut sorted = spans.to_vec();
    sorted.sort_by_key(|span| (span.file, std::cmp::Reverse(span.start)));
    for span in sorted {
        let file = analysis.files.get(span.file);
        let text = edited.entry(file.path.clone()).or_insert_with(|| file.source.to_string());
        if text.get(span.range()).is_none() {
            return Err("the rename does not fit the text".to_string());
        }
        text.replace_range(span.range(), new_name);
    }
    let db = Edited { analysis, edited };
    let roots: Vec<String> =
        analysis.roots.iter().map(|&root| analysis.files.module_path(root).to_string()).collect();
    let after = crate::analyze(&db, &roots, &crate::Options::default());
    let mut before: HashMap<&str, usize> = HashMap::new();
    for diagnostic in analysis.diagnostics.iter().filter(|d| d.is_error()) {
        *before.entry(diagnostic.code.code).or_default() += 1;
    }
    let mut counted: HashMap<&str, usize> = HashMap::new();
    for diagnostic in after.diagnostics.iter().filter(|d| d.is_error()) {
        let count = counted.entry(diagnostic.code.code).or_default();
        *count += 1;
        if *count > before.get(diagnostic.code.code).copied().unwrap_or_default() {
            return Err(format!(
                "the rename would break the program: {} ({})",
                diagnostic.message,
                place(&after, diagnostic.span())
            ));
        }
    }
    Ok(())
}

/// The sources with the rename applied.
struct Edited<'a> {
    analysis: &'a Analysis,
    edited: HashMap<String, String>,
}

impl SourceDb for Edited<'_> {
    fn read(&self, path: &str) -> Result<String, String> {
        if let Some(text) = self.edited.get(path) {
            return Ok(text.clone());
        }
        let file = self.analysis.files.find(path).ok_or("no such file")?;
        Ok(self.analysis.files.get(file).source.to_string())
    }

    fn list_folder(&self, path: &str) -> Option<Result<Vec<String>, String>> {
        self.analysis.files.folder_listing(path).map(Ok)
    }
}

/// Whether `name` is written as one identifier (not a keyword).
fn check_identifier(name: &str) -> Result<(), String> {
    let lexed = lex(FileId(0), name);
    match lexed.tokens.as_slice() {
        [(Token::Ident(text), _)] if *text == name && lexed.diagnostics.is_empty() => Ok(()),
        [(token, _)] if token.keyword_text() == Some(name) => {
            Err(format!("`{name}` is a keyword and cannot be used as a name"))
        }
        _ if name.is_empty() => Err("the new name is empty".to_string()),
        _ => Err(format!(
            "`{name}` is not a valid name: names are letters, digits and `_`, not starting with a digit"
        )),
    }
}

/// A binding of the new name that already exists in a file.
struct Binding {
    /// Where uses see it.
    visible: Span,
    /// Its block, for nesting: a binding whose scope lies inside the
    /// renamed one's shadows it.
    scope: Span,
    what: String,
    at: Span,
}

struct Rename<'a> {
    analysis: &'a Analysis,
    named: &'a Named,
    new: &'a str,
    occurrences: &'a [Occurrence],
}

impl Rename<'_> {
    fn declaration(&self, info: &DeclInfo) -> Result<(), String> {
        let new = self.new;
        let clash = self.analysis.decls.iter().find(|other| {
            self.analysis.same_module(other.file, info.file)
                && other.block == info.block
                && other.name.as_deref() == Some(new)
                && !matches!(other.kind, DeclKind::Assert | DeclKind::Warn)
        });
        if let Some(other) = clash {
            let place_name = if info.block.is_some() { "block" } else { "module" };
            return Err(format!(
                "`{new}` is already declared in this {place_name}: the {} at {}",
                other.kind.describe(),
                place(self.analysis, other.name_span)
            ));
        }
        if info.kind == DeclKind::Param {
            for (module, body) in module_bodies(self.analysis, info.file) {
                let set = body
                    .fields
                    .iter()
                    .find(|f| matches!(&f.key, FieldKey::Name(key) if key.name == new));
                if let Some(field) = set {
                    return Err(format!(
                        "the module `{}` already sets `{new}`, at {}",
                        module.name.as_deref().unwrap_or_default(),
                        place(self.analysis, field.key.span())
                    ));
                }
            }
        }
        if let Some(block) = info.block {
            return self.captures(info.file, block, block);
        }
        // A module-level name is visible in every file of its module.
        for file in self.analysis.files.module_files(info.file) {
            let whole = self.whole_file(file);
            self.captures(file, whole, whole)?;
        }
        Ok(())
    }

    fn local(&self, file: FileId, binder: Span) -> Result<(), String> {
        let ast = &self.analysis.files.get(file).parsed.file;
        let names = file_names(self.analysis, ast);
        let Some(binder) = names.binder(binder).copied() else {
            return Err("the variable is gone".to_string());
        };
        if binder.sibling.is_some_and(|sibling| sibling.name == self.new) {
            return Err(format!("`{}` is the other variable of this loop", self.new));
        }
        let block_let = self.analysis.decls.iter().find(|decl| {
            decl.file == file
                && decl.block == Some(binder.scope)
                && decl.name.as_deref() == Some(self.new)
        });
        if let Some(block_let) = block_let {
            return Err(format!(
                "`{}` is already declared in this block: the let at {}",
                self.new,
                place(self.analysis, block_let.name_span)
            ));
        }
        self.captures(file, binder.visible, binder.scope)
    }

    fn alias(&self, file: FileId) -> Result<(), String> {
        let new = self.new;
        if BUILTIN_TYPES.contains(&new) {
            return Err(format!("`{new}` is a built-in type"));
        }
        if let Some((_, other)) = module_alias(self.analysis, file, new) {
            return Err(format!(
                "a type `{new}` is already declared in this module, at {}",
                place(self.analysis, other.name.span)
            ));
        }
        // A name written for a type that does not exist yet would come to
        // mean the renamed one.
        for source in self.analysis.files.iter() {
            for path in type_paths(&source.parsed.file.items) {
                let captured = match path.as_slice() {
                    [name] => self.analysis.same_module(source.id, file) && name.name == new,
                    [import, name] => {
                        name.name == new
                            && self
                                .analysis
                                .checked
                                .resolutions
                                .get(&import.span)
                                .is_some_and(|&id| target_file(self.analysis, id) == Some(file))
                    }
                    _ => false,
                };
                if let Some(name) = path.last().filter(|_| captured) {
                    return Err(format!(
                        "the type `{new}` is used at {} without being declared; \
                         it would come to mean the renamed type",
                        place(self.analysis, name.span)
                    ));
                }
            }
        }
        Ok(())
    }

    fn field(&self, file: FileId, alias: &SmolStr) -> Result<(), String> {
        let module = self.analysis.files.module_of(file);
        let existing = match self.analysis.checked.aliases.get(&(module, alias.clone())) {
            Some(Ty::Record(record)) => record.field(self.new).is_some(),
            _ => false,
        };
        let written = module_alias(self.analysis, file, alias)
            .and_then(|(_, decl)| record_fields(&decl.ty))
            .is_some_and(|fields| fields.iter().any(|f| f.name.name == self.new));
        if existing || written {
            return Err(format!("the type `{alias}` already has a field `{}`", self.new));
        }
        Ok(())
    }

    fn whole_file(&self, file: FileId) -> Span {
        Span::new(file, 0, self.analysis.files.get(file).source.len() as u32)
    }

    /// Refuses a rename that would change what a name means in `file`: a
    /// use of the renamed binding that another binding of the new name
    /// would capture, or a use of another binding (or of nothing) that
    /// the renamed one would capture. The renamed binding is visible in
    /// `visible` and declared in the block `scope`.
    fn captures(&self, file: FileId, visible: Span, scope: Span) -> Result<(), String> {
        let analysis = self.analysis;
        let ast = &analysis.files.get(file).parsed.file;
        let names = file_names(analysis, ast);
        let bindings = self.bindings_of_new(file, &names);
        let within =
            |inner: Span, outer: Span| outer.start <= inner.start && inner.end <= outer.end;
        for occurrence in self.occurrences.iter().filter(|o| o.bare && o.span.file == file) {
            let shadowing = bindings.iter().find(|binding| {
                binding.visible.contains(occurrence.span.start) && within(binding.scope, scope)
            });
            if let Some(binding) = shadowing {
                return Err(format!(
                    "`{}` at {} would then mean the {} `{}` declared at {}",
                    self.named.name,
                    place(analysis, occurrence.span),
                    binding.what,
                    self.new,
                    place(analysis, binding.at)
                ));
            }
        }
        for name in names.uses.iter().filter(|name| name.ident.name == self.new) {
            if !visible.contains(name.ident.span.start) {
                continue;
            }
            let inner = match name.meaning {
                Meaning::Decl(id) => decl(analysis, id)
                    .and_then(|info| info.block)
                    .is_some_and(|block| within(block, scope) && block != scope),
                Meaning::Local(binder) => {
                    names.binder(binder).is_some_and(|binder| within(binder.scope, scope))
                }
                Meaning::Unresolved => false,
            };
            if !inner {
                let now = match name.meaning {
                    Meaning::Unresolved => "is not declared there now",
                    _ => "means something else",
                };
                return Err(format!(
                    "`{}` at {} {now}; after the rename it would mean the renamed `{}`",
                    self.new,
                    place(analysis, name.ident.span),
                    self.named.name
                ));
            }
        }
        Ok(())
    }

    /// Every binding of the new name in `file`: module-level names, block
    /// `let`s and loop variables.
    fn bindings_of_new(&self, file: FileId, names: &FileNames<'_>) -> Vec<Binding> {
        let whole = self.whole_file(file);
        let mut out = Vec::new();
        for info in &self.analysis.decls {
            if info.file != file || info.name.as_deref() != Some(self.new) {
                continue;
            }
            let region = info.block.unwrap_or(whole);
            out.push(Binding {
                visible: region,
                scope: region,
                what: info.kind.describe().to_string(),
                at: info.name_span,
            });
        }
        for binder in names.binders().iter().filter(|binder| binder.ident.name == self.new) {
            out.push(Binding {
                visible: binder.visible,
                scope: binder.scope,
                what: "loop variable".to_string(),
                at: binder.ident.span,
            });
        }
        out
    }
}

/// The names of every type expression of `items` (`Service`,
/// `common.Service`), as paths.
fn type_paths(items: &[orch_lang::ast::Item]) -> Vec<Vec<&Ident>> {
    struct Paths<'a>(Vec<Vec<&'a Ident>>);
    impl<'a> Visitor<'a> for Paths<'a> {
        fn visit_type(&mut self, ty: &'a TypeExpr) {
            if let TypeExprKind::Named(path) = &ty.kind {
                self.0.push(path.segments.iter().collect());
            }
            visit::walk_type(self, ty);
        }
        // No type is written inside an expression.
        fn visit_expr(&mut self, _: &'a orch_lang::ast::Expr) {}
    }
    let mut paths = Paths(Vec::new());
    visit::walk_items(&mut paths, items);
    paths.0
}
