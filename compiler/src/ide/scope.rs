//! Names and declarations as editors look them up: by position, by the
//! span of a name, and across the files that modules and imports name.

use orch_lang::ast::{self, Ident};
use orch_lang::{FileId, Span};

use crate::Analysis;
use crate::loops::LoopScopes;
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
    LoopScopes::of(file).in_scope_at(offset).into_iter().map(|var| var.ident).collect()
}
