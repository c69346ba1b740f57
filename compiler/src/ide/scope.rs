//! Names and declarations as editors look them up: by position, by the
//! span of a name, and across the files that modules and imports name.

use orch_lang::ast::{self, Expr, ExprKind, Ident, Item, ItemKind};
use orch_lang::{FileId, Span};

use super::locate::children;
use crate::Analysis;
use crate::model::{DeclId, DeclInfo, DeclKind};

/// The declaration whose name is written at `span`.
pub(crate) fn decl_named_at(analysis: &Analysis, span: Span) -> Option<&DeclInfo> {
    analysis.decls.iter().find(|decl| decl.name.is_some() && decl.name_span == span)
}

pub(crate) fn decl(analysis: &Analysis, id: DeclId) -> Option<&DeclInfo> {
    analysis.decls.get(id.0 as usize)
}

/// The module-level declaration `name` of `file` (a param, top-level let,
/// resource, data, module, output or import).
pub(crate) fn module_decl<'a>(
    analysis: &'a Analysis,
    file: FileId,
    name: &str,
) -> Option<&'a DeclInfo> {
    analysis.decls.iter().find(|decl| {
        analysis.same_module(decl.file, file)
            && decl.block.is_none()
            && decl.name.as_deref() == Some(name)
    })
}

/// The type alias `name` of the module of `file`, written in any of its
/// files, with the file it is in.
pub(crate) fn module_alias<'a>(
    analysis: &'a Analysis,
    file: FileId,
    name: &str,
) -> Option<(FileId, &'a ast::TypeAlias)> {
    analysis.files.module_files(file).into_iter().find_map(|id| {
        super::references::alias_decl(&analysis.files.get(id).parsed.file.items, name)
            .map(|alias| (id, alias))
    })
}

/// The file a `module` or `import` declaration names, when it was loaded.
pub(crate) fn target_file(analysis: &Analysis, decl: DeclId) -> Option<FileId> {
    analysis.checked.targets.get(&decl).copied()
}

/// The declaration a name refers to, from the checker's resolutions.
pub(crate) fn resolved<'a>(analysis: &'a Analysis, name: &Ident) -> Option<&'a DeclInfo> {
    let id = analysis.checked.resolutions.get(&name.span)?;
    decl(analysis, *id)
}

/// Declarations visible at `offset` in `file`: the module-level names and
/// the `let`s of the blocks around it.
pub(crate) fn visible_decls(analysis: &Analysis, file: FileId, offset: u32) -> Vec<&DeclInfo> {
    analysis
        .decls
        .iter()
        .filter(|decl| analysis.same_module(decl.file, file) && decl.name.is_some())
        .filter(|decl| !matches!(decl.kind, DeclKind::Assert | DeclKind::Warn))
        .filter(|decl| decl.block.is_none_or(|block| block.file == file && block.contains(offset)))
        .collect()
}

/// Variables bound around `offset` by `for` blocks and comprehensions,
/// innermost last.
pub(crate) fn local_bindings(file: &ast::SourceFile, offset: u32) -> Vec<&Ident> {
    let mut out = Vec::new();
    items(&file.items, offset, &mut out);
    out
}

fn items<'a>(items: &'a [Item], offset: u32, out: &mut Vec<&'a Ident>) {
    for item in items.iter().filter(|item| item.span.contains(offset)) {
        match &item.kind {
            ItemKind::For(decl) => {
                if decl.block.span.contains(offset) {
                    out.push(&decl.binding.first);
                    out.extend(&decl.binding.second);
                    self::items(&decl.block.items, offset, out);
                } else {
                    exprs(&decl.collection, offset, out);
                }
            }
            ItemKind::If(decl) => {
                for (condition, block) in &decl.branches {
                    exprs(condition, offset, out);
                    self::items(&block.items, offset, out);
                }
                if let Some(block) = &decl.else_block {
                    self::items(&block.items, offset, out);
                }
            }
            ItemKind::Policy(policy) => self::items(&policy.block.items, offset, out),
            _ => {
                let mut values: Vec<&Expr> = Vec::new();
                match &item.kind {
                    ItemKind::Param(param) => values.extend(&param.default),
                    ItemKind::Let(decl) => values.push(&decl.value),
                    ItemKind::Output(output) => values.push(&output.value),
                    ItemKind::Resource(resource) | ItemKind::Data(resource) => {
                        values.extend(resource.body.fields.iter().map(|f| &f.value))
                    }
                    ItemKind::Module(module) => {
                        values.extend(module.body.fields.iter().map(|f| &f.value))
                    }
                    ItemKind::Provider(provider) => {
                        values.extend(provider.body.fields.iter().map(|f| &f.value))
                    }
                    ItemKind::Assert(assert) | ItemKind::Warn(assert) => {
                        values.push(&assert.condition);
                        values.push(&assert.message);
                    }
                    _ => {}
                }
                for value in values {
                    exprs(value, offset, out);
                }
            }
        }
    }
}

fn exprs<'a>(node: &'a Expr, offset: u32, out: &mut Vec<&'a Ident>) {
    if !node.span.contains(offset) {
        return;
    }
    if let ExprKind::ListComprehension(comprehension) | ExprKind::MapComprehension(comprehension) =
        &node.kind
        && !comprehension.collection.span.contains(offset)
    {
        out.push(&comprehension.binding.first);
        out.extend(&comprehension.binding.second);
    }
    for child in children(node) {
        exprs(child, offset, out);
    }
}
