//! Go to definition: the declaration a name refers to, in the same file or
//! in a file named by `module` or `import`.

use orch_lang::ast::{ExprKind, FieldKey, ItemKind};
use orch_lang::{FileId, Span};

use super::locate::{Found, find};
use super::scope::{decl_named_at, module_decl, resolved, target_file};
use crate::Analysis;
use crate::loops::LoopScopes;
use crate::model::DeclKind;

/// Where the name at `offset` in `file` is declared: the span of the
/// declaration's name, or the start of a file for the path of a `module`
/// or `import`.
pub fn definition(analysis: &Analysis, file: FileId, offset: u32) -> Option<Span> {
    let ast = &analysis.files.get(file).parsed.file;
    match find(ast, offset)? {
        Found::DeclName { name, .. } => Some(name.span),
        Found::Kind { .. } | Found::Callee { .. } => None,
        Found::BodyField { owner, field } => {
            // `name = ...` in a module body sets the module's param `name`.
            let (ItemKind::Module(module), FieldKey::Name(key)) = (&owner.kind, &field.key) else {
                return None;
            };
            let module = decl_named_at(analysis, module.name.span)?;
            let target = target_file(analysis, module.id)?;
            let param = module_decl(analysis, target, &key.name)?;
            (param.kind == DeclKind::Param).then_some(param.name_span)
        }
        Found::Member { base, name, .. } => {
            if let Some(target) = resolved(analysis, name) {
                return Some(target.name_span);
            }
            // `module_name.output` names an output of the module's file.
            let ExprKind::Ident(ident) = &base.kind else { return None };
            let module = resolved(analysis, ident).filter(|decl| decl.kind == DeclKind::Module)?;
            let target = target_file(analysis, module.id)?;
            Some(module_decl(analysis, target, &name.name)?.name_span)
        }
        Found::Expr { item, expr } => match &expr.kind {
            ExprKind::Ident(ident) => {
                resolved(analysis, ident).map(|decl| decl.name_span).or_else(|| {
                    // A variable of a `for` block or comprehension.
                    LoopScopes::of(ast)
                        .binding_of(&ident.name, ident.span)
                        .map(|var| var.ident.span)
                })
            }
            ExprKind::Str(_) => {
                let name = match &item.kind {
                    ItemKind::Module(module) if module.source.span == expr.span => &module.name,
                    ItemKind::Import(import) if import.source.span == expr.span => &import.alias,
                    _ => return None,
                };
                let decl = decl_named_at(analysis, name.span)?;
                let target = target_file(analysis, decl.id)?;
                Some(Span::new(target, 0, 0))
            }
            _ => None,
        },
    }
}
