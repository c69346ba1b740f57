//! Expressions: inference with an optional expected type (bidirectional),
//! phases and secret taint.

use orch_lang::ast::{self, BinaryOp, Expr, ExprKind, FieldKey, StrPart, UnaryOp};
use orch_lang::diagnostic::codes;
use orch_lang::{Diagnostic, FileId, Span};
use orch_providers::lookup_kind;
use orch_stdlib::{FieldTy, Ty, lookup_function};
use smol_str::SmolStr;

use super::{Checker, KeyKind, LoopInfo, Phase, Resolved, SecretSource, Typed};
use crate::model::{DeclKind, ScopeId, ScopeKind};
use crate::suggest::closest;

impl Checker<'_, '_> {
    /// Infers the type of `expr` in `scope`, using `expected` to type
    /// object literals and empty collections.
    pub(crate) fn expr(
        &mut self,
        file: FileId,
        expr: &Expr,
        scope: ScopeId,
        expected: Option<&Ty>,
    ) -> Typed {
        let typed = self.expr_inner(file, expr, scope, expected);
        self.record(file, expr, &typed.ty);
        typed
    }

    fn expr_inner(
        &mut self,
        file: FileId,
        expr: &Expr,
        scope: ScopeId,
        expected: Option<&Ty>,
    ) -> Typed {
        match &expr.kind {
            ExprKind::Int(_) => Typed::new(Ty::Int),
            ExprKind::Float(_) => Typed::new(Ty::Float),
            ExprKind::Duration { .. } => Typed::new(Ty::Duration),
            ExprKind::Bool(_) => Typed::new(Ty::Bool),
            ExprKind::None => Typed::new(Ty::None),
            ExprKind::Str(lit) => {
                // A plain literal is a member of the enum it is checked against.
                if let (Some(Ty::Enum(members)), Some(text)) =
                    (expected.map(Ty::unwrap_optional), lit.as_plain())
                    && members.iter().any(|m| *m == text)
                {
                    return Typed::new(Ty::Enum(vec![SmolStr::new(text)].into()));
                }
                self.string(file, lit, scope)
            }
            ExprKind::Ident(ident) => self.name(file, ident, scope).0,
            ExprKind::Paren(inner) => self.expr(file, inner, scope, expected),
            ExprKind::List(items) => self.list(file, expr, items, scope, expected),
            ExprKind::Object(fields) => self.object(file, expr, fields, scope, expected),
            ExprKind::ListComprehension(comprehension)
            | ExprKind::MapComprehension(comprehension) => {
                self.comprehension(file, comprehension, scope)
            }
            ExprKind::Unary { op, operand } => self.unary(file, expr, *op, operand, scope),
            ExprKind::Binary { op, lhs, rhs } => {
                self.binary(file, expr, *op, lhs, rhs, scope, expected)
            }
            ExprKind::Conditional { condition, then, otherwise } => {
                let cond = self.expr(file, condition, scope, Some(&Ty::Bool));
                self.expect_bool(condition, &cond, "the condition of `? :`");
                let a = self.expr(file, then, scope, expected);
                let b = self.expr(file, otherwise, scope, expected);
                let ty = match Ty::unify(&a.ty, &b.ty) {
                    Some(ty) => ty,
                    None => {
                        self.error(
                            Diagnostic::new(
                                &codes::E0201,
                                expr.span,
                                format!(
                                    "the branches of `? :` have different types: `{}` and `{}`",
                                    a.ty, b.ty
                                ),
                            )
                            .with_label(then.span, format!("this is `{}`", a.ty))
                            .with_label(otherwise.span, format!("this is `{}`", b.ty)),
                        );
                        Ty::Error
                    }
                };
                let secret = a.secret.clone().or(b.secret.clone()).or(cond.secret.clone());
                let ty = if cond.ty.is_secret() { Ty::secret(ty) } else { ty };
                Typed { ty, phase: cond.phase.join(&a.phase).join(&b.phase), secret, origin: None }
            }
            ExprKind::Range { start, end, .. } => {
                let a = self.expr(file, start, scope, Some(&Ty::Int));
                let b = self.expr(file, end, scope, Some(&Ty::Int));
                self.expect_type(start, &a, &Ty::Int, "a range bound");
                self.expect_type(end, &b, &Ty::Int, "a range bound");
                Typed::new(Ty::list(Ty::Int)).with_phase(a.phase.join(&b.phase))
            }
            ExprKind::Field { base, name, optional } => {
                self.field(file, expr, base, name, *optional, scope)
            }
            ExprKind::Index { base, index } => self.index(file, expr, base, index, scope),
            ExprKind::Call { callee, args } => self.call(file, expr, callee, args, scope),
            ExprKind::Error => Typed::error(),
        }
    }

    fn expect_bool(&mut self, expr: &Expr, typed: &Typed, what: &str) {
        if !typed.ty.reveal().assignable_to(&Ty::Bool) {
            self.expect_type(expr, typed, &Ty::Bool, what);
        }
    }

    fn string(&mut self, file: FileId, lit: &ast::StrLit, scope: ScopeId) -> Typed {
        let mut result = Typed::new(Ty::String);
        for part in &lit.parts {
            let StrPart::Interpolation(inner) = part else { continue };
            let typed = self.expr(file, inner, scope, None);
            match typed.ty.reveal() {
                Ty::List(_) | Ty::Map(_) | Ty::Record(_) => self.error(
                    Diagnostic::new(
                        &codes::E0201,
                        inner.span,
                        format!("a `{}` cannot be interpolated into a string", typed.ty),
                    )
                    .with_help(
                        "interpolate a field or an element, or convert it with `json_encode(...)`",
                    ),
                ),
                Ty::Optional(_) | Ty::None => self.error(
                    Diagnostic::new(
                        &codes::E0204,
                        inner.span,
                        format!("`{}` may be none", typed.ty),
                    )
                    .with_help("give a default with `??`, for example `${x ?? \"\"}`"),
                ),
                _ => {}
            }
            result.phase = result.phase.join(&typed.phase);
            if typed.ty.is_secret() {
                result.ty = Ty::secret(Ty::String);
                result.secret = result.secret.or(typed.secret);
            }
        }
        result
    }

    /// Resolves a name; returns its type and, for declarations, the index
    /// of the recorded reference.
    pub(crate) fn name(
        &mut self,
        file: FileId,
        ident: &ast::Ident,
        scope: ScopeId,
    ) -> (Typed, Option<usize>) {
        match self.lookup(file, &ident.name, scope) {
            Some(Resolved::Local(typed)) => (typed, None),
            Some(Resolved::Decl(id)) => {
                self.out.resolutions.insert(ident.span, id);
                let decl = self.model.decl(id);
                let kind = decl.kind;
                if kind == DeclKind::Import {
                    self.used_import(id);
                    self.error(
                        Diagnostic::new(
                            &codes::E0201,
                            ident.span,
                            format!("`{}` is an imported file, not a value", ident.name),
                        )
                        .with_help(format!("use one of its declarations: `{}.NAME`", ident.name)),
                    );
                    return (Typed::error(), None);
                }
                let reference = self.reference(id, ident.span, false);
                let mut typed = self.decl_type_from(id, scope);
                if matches!(kind, DeclKind::Resource | DeclKind::Data) {
                    typed.phase = Phase::Known;
                    typed.origin = Some(id);
                }
                if typed.secret.is_none() && typed.ty.contains_secret() {
                    typed.secret = self.instance_secret_source(id);
                }
                if matches!(kind, DeclKind::Let | DeclKind::Output) {
                    let name = ident.name.clone();
                    typed.phase = typed
                        .phase
                        .through(ident.span, || format!("`{name}` is only known after apply"));
                }
                if kind == DeclKind::Param && typed.ty.is_secret() && typed.secret.is_none() {
                    typed.secret = Some(SecretSource {
                        span: decl.name_span(),
                        description: format!("the secret param `{}`", ident.name),
                    });
                }
                (typed, reference)
            }
            None => {
                let mut diagnostic = Diagnostic::new(
                    &codes::E0101,
                    ident.span,
                    format!("cannot find `{}` in this scope", ident.name),
                );
                if lookup_function(&ident.name).is_some() {
                    diagnostic = diagnostic
                        .with_primary_message("this is a function")
                        .with_help(format!("call it: `{}(...)`", ident.name));
                } else {
                    let names = self.visible_names(file, scope);
                    if let Some(suggestion) =
                        closest(&ident.name, names.iter().map(SmolStr::as_str))
                    {
                        diagnostic = diagnostic
                            .with_primary_message(format!("did you mean `{suggestion}`?"))
                            .with_suggestion(ident.span, suggestion);
                    } else {
                        diagnostic = diagnostic.with_primary_message("not declared");
                    }
                }
                self.error(diagnostic);
                (Typed::error(), None)
            }
        }
    }

    fn list(
        &mut self,
        file: FileId,
        expr: &Expr,
        items: &[Expr],
        scope: ScopeId,
        expected: Option<&Ty>,
    ) -> Typed {
        let element_expected = match expected.map(Ty::reveal) {
            Some(Ty::List(inner)) => Some(inner.as_ref().clone()),
            _ => None,
        };
        let mut result = Typed::new(Ty::list(element_expected.clone().unwrap_or(Ty::Any)));
        let mut element: Option<Ty> = None;
        let mut failed = false;
        for item in items {
            let typed = self.expr(file, item, scope, element_expected.as_ref());
            result.phase = result.phase.join(&typed.phase);
            if contains_secret(&typed.ty) {
                result.secret = result.secret.or(typed.secret.clone());
            }
            // Against a list type, each element is checked where it is written.
            if let Some(want) = &element_expected
                && !self.expect_assignable(item, &typed, want, "a list element")
            {
                failed = true;
            }
            element = match element {
                None => Some(typed.ty.clone()),
                Some(previous) => {
                    match Ty::unify(&previous, &typed.ty) {
                        Some(ty) => Some(ty),
                        None => {
                            if element_expected.is_none() {
                                self.error(
                                Diagnostic::new(
                                    &codes::E0201,
                                    item.span,
                                    format!("list elements have different types: `{previous}` and `{}`", typed.ty),
                                )
                                .with_label(expr.span, "in this list"),
                            );
                            }
                            Some(Ty::Error)
                        }
                    }
                }
            };
        }
        // The elements keep their secret marks: a list holding a secret is
        // a `list<secret<T>>`, whose elements are secret but whose length
        // is not.
        if let Some(element) = element {
            let element = element_expected
                .filter(|e| element.assignable_to(e) && !super::leaks_secret(&element, e))
                .unwrap_or(element);
            result.ty = Ty::list(element);
        }
        if failed {
            result.ty = Ty::Error;
        }
        result
    }

    /// An object literal: a map when a `map<T>` is expected, a record
    /// otherwise. Against a record type, each field is checked where it is
    /// written: an unknown field (with the closest name), a missing required
    /// field, a value of the wrong type; the literal then has the error type,
    /// so that the declaration does not report the mismatch again.
    fn object(
        &mut self,
        file: FileId,
        expr: &Expr,
        fields: &[ast::Field],
        scope: ScopeId,
        expected: Option<&Ty>,
    ) -> Typed {
        let mut result = Typed::new(Ty::Error);
        let mut out: Vec<FieldTy> = Vec::new();
        let map_element = match expected.map(Ty::reveal) {
            Some(Ty::Map(inner)) => Some(inner.as_ref().clone()),
            _ => None,
        };
        let record = match expected.map(Ty::unwrap_optional) {
            Some(Ty::Record(record)) if map_element.is_none() => Some(record.clone()),
            _ => None,
        };
        let mut failed = false;
        let mut misspelt: Vec<SmolStr> = Vec::new();
        for field in fields {
            let key: SmolStr = match &field.key {
                FieldKey::Name(name) => name.name.clone(),
                FieldKey::Quoted(lit) => {
                    let typed = self.string(file, lit, scope);
                    result.phase = result.phase.join(&typed.phase);
                    lit.as_plain().map(SmolStr::from).unwrap_or_default()
                }
            };
            if out.iter().any(|f| f.name == key) {
                self.error(Diagnostic::new(
                    &codes::E0102,
                    field.key.span(),
                    format!("the key `{key}` appears twice in this object"),
                ));
                continue;
            }
            let field_expected = match (&map_element, &record) {
                (Some(element), _) => Some(element.clone()),
                (None, Some(record)) => match record.field(&key) {
                    Some(schema) => {
                        self.record_field_use(field.key.span(), record);
                        Some(schema.ty.clone())
                    }
                    None => {
                        failed = true;
                        let record_ty = Ty::Record(record.clone());
                        let names: Vec<&str> =
                            record.fields.iter().map(|f| f.name.as_str()).collect();
                        let mut diagnostic = Diagnostic::new(
                            &codes::E0301,
                            field.key.span(),
                            format!("unknown field `{key}` on `{record_ty}`"),
                        );
                        if let Some(suggestion) = closest(&key, names.iter().copied()) {
                            let replacement = match &field.key {
                                ast::FieldKey::Name(_) => suggestion.to_string(),
                                ast::FieldKey::Quoted(_) => format!("{suggestion:?}"),
                            };
                            diagnostic = diagnostic
                                .with_primary_message(format!("did you mean `{suggestion}`?"))
                                .with_suggestion(field.key.span(), replacement);
                            // A misspelt field is not also reported missing.
                            misspelt.push(SmolStr::new(suggestion));
                        }
                        self.error(
                            diagnostic
                                .with_help(format!("`{record_ty}` fields: {}", names.join(", "))),
                        );
                        None
                    }
                },
                _ => None,
            };
            let typed = self.expr(file, &field.value, scope, field_expected.as_ref());
            result.phase = result.phase.join(&typed.phase);
            // The field keeps its secret mark; the object is not secret
            // because a field is.
            if contains_secret(&typed.ty) {
                result.secret = result.secret.or(typed.secret.clone());
            }
            if let Some(want) = &field_expected
                && !self.expect_assignable(
                    &field.value,
                    &typed,
                    want,
                    &format!("the field `{key}`"),
                )
            {
                failed = true;
            }
            out.push(FieldTy { name: key, ty: typed.ty, optional: false });
        }
        if let Some(record) = &record {
            let missing: Vec<&str> = record
                .fields
                .iter()
                .filter(|f| {
                    !f.optional
                        && !misspelt.contains(&f.name)
                        && out.iter().all(|given| given.name != f.name)
                })
                .map(|f| f.name.as_str())
                .collect();
            if !missing.is_empty() {
                failed = true;
                let record_ty = Ty::Record(record.clone());
                let list =
                    missing.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ");
                let noun = if missing.len() == 1 { "field" } else { "fields" };
                self.error(
                    Diagnostic::new(
                        &codes::E0302,
                        expr.span,
                        format!("missing required {noun} {list} of `{record_ty}`"),
                    )
                    .with_help(format!(
                        "add {}",
                        missing
                            .iter()
                            .map(|name| format!("`{name} = ...`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
            }
        }
        result.ty = if failed { Ty::Error } else { Ty::record(None, out) };
        result
    }

    fn comprehension(
        &mut self,
        file: FileId,
        comprehension: &ast::Comprehension,
        scope: ScopeId,
    ) -> Typed {
        let collection = self.expr(file, &comprehension.collection, scope, None);
        let bindings =
            self.bindings(&comprehension.binding, &comprehension.collection, &collection, false);
        let count = bindings.len();
        for (name, typed) in bindings {
            self.push_local(name, typed);
        }
        let mut phase = collection.phase.clone();
        let mut secret = collection.secret.clone();
        // Which elements a comprehension produces, and how many, is secret
        // when the collection itself is, or the filter or the keys read a
        // secret; the values keep their own marks.
        let mut secret_shape = collection.ty.is_secret();
        if let Some(condition) = &comprehension.condition {
            let typed = self.expr(file, condition, scope, Some(&Ty::Bool));
            self.expect_bool(condition, &typed, "a comprehension filter");
            phase = phase.join(&typed.phase);
            if contains_secret(&typed.ty) {
                secret_shape = true;
                secret = secret.or(typed.secret);
            }
        }
        let key = comprehension.key.as_ref().map(|key| {
            let typed = self.expr(file, key, scope, Some(&Ty::String));
            if !typed.ty.reveal().assignable_to(&Ty::String) {
                self.expect_type(key, &typed, &Ty::String, "a map key");
            }
            typed
        });
        let value = self.expr(file, &comprehension.value, scope, None);
        self.pop_locals(count);
        phase = phase.join(&value.phase);
        if contains_secret(&value.ty) {
            secret = secret.or(value.secret.clone());
        }
        let ty = match key {
            Some(key) => {
                phase = phase.join(&key.phase);
                if contains_secret(&key.ty) {
                    secret_shape = true;
                    secret = secret.or(key.secret);
                }
                Ty::map(value.ty)
            }
            None => Ty::list(value.ty),
        };
        let ty = if secret_shape { Ty::secret(ty) } else { ty };
        Typed { ty, phase, secret, origin: None }
    }

    /// The variables `for x in c` or `for k, v in c` bind over a
    /// collection of type `collection`.
    pub(crate) fn bindings(
        &mut self,
        binding: &ast::ForBinding,
        collection_expr: &Expr,
        collection: &Typed,
        _declarations: bool,
    ) -> Vec<(SmolStr, Typed)> {
        let phase = collection.phase.clone();
        let element = |ty: Ty| Typed {
            ty,
            phase: phase.clone(),
            secret: collection.secret.clone(),
            origin: collection.origin,
        };
        let (key_ty, value_ty) = match collection.ty.reveal() {
            Ty::List(inner) => (Ty::Int, inner.as_ref().clone()),
            Ty::Map(inner) => (Ty::String, inner.as_ref().clone()),
            Ty::Record(record) => {
                let value = record
                    .fields
                    .iter()
                    .map(|f| f.ty.clone())
                    .reduce(|a, b| Ty::unify(&a, &b).unwrap_or(Ty::Any));
                (Ty::String, value.unwrap_or(Ty::Any))
            }
            Ty::Any => (Ty::Any, Ty::Any),
            Ty::Error => (Ty::Error, Ty::Error),
            other => {
                self.error(
                    Diagnostic::new(
                        &codes::E0209,
                        collection_expr.span,
                        format!("cannot iterate over a `{other}`"),
                    )
                    .with_help("iterate over a list, a map or a range such as `0..3`"),
                );
                (Ty::Error, Ty::Error)
            }
        };
        // Of a collection that is itself secret, the keys and positions are
        // secret too; of one that holds secrets, only those elements are.
        let (key_ty, value_ty) = if collection.ty.is_secret() {
            (Ty::secret(key_ty), Ty::secret(value_ty))
        } else {
            (key_ty, value_ty)
        };
        match &binding.second {
            None => vec![(binding.first.name.clone(), element(value_ty))],
            Some(second) => {
                vec![
                    (binding.first.name.clone(), element(key_ty)),
                    (second.name.clone(), element(value_ty)),
                ]
            }
        }
    }

    fn unary(
        &mut self,
        file: FileId,
        expr: &Expr,
        op: UnaryOp,
        operand: &Expr,
        scope: ScopeId,
    ) -> Typed {
        let typed = self.expr(file, operand, scope, None);
        let ok = match op {
            UnaryOp::Not => typed.ty.reveal().assignable_to(&Ty::Bool),
            UnaryOp::Neg => matches!(
                typed.ty.reveal(),
                Ty::Int | Ty::Float | Ty::Duration | Ty::Any | Ty::Error
            ),
        };
        if !ok {
            let symbol = if op == UnaryOp::Not { "!" } else { "-" };
            self.error(Diagnostic::new(
                &codes::E0203,
                expr.span,
                format!("`{symbol}` cannot be applied to a `{}`", typed.ty),
            ));
            return Typed::error();
        }
        typed
    }

    #[allow(clippy::too_many_arguments)]
    fn binary(
        &mut self,
        file: FileId,
        expr: &Expr,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
        scope: ScopeId,
        expected: Option<&Ty>,
    ) -> Typed {
        let a = self.expr(file, lhs, scope, if op == BinaryOp::Coalesce { expected } else { None });
        let rhs_expected =
            if op == BinaryOp::Coalesce { Some(a.ty.unwrap_optional().clone()) } else { None };
        let b = self.expr(file, rhs, scope, rhs_expected.as_ref());
        let phase = a.phase.join(&b.phase);
        let secret = a.secret.clone().or(b.secret.clone());
        let (ta, tb) = (a.ty.reveal().clone(), b.ty.reveal().clone());
        // Joining two lists, or choosing one side with `??`, keeps the marks
        // of the elements (the types unify them); any other operator reads
        // its operands whole, so a secret anywhere in them is in the result.
        let keeps_elements = op == BinaryOp::Coalesce
            || (op == BinaryOp::Add && matches!((&ta, &tb), (Ty::List(_), Ty::List(_))));
        let any_secret = if keeps_elements {
            a.ty.is_secret() || b.ty.is_secret()
        } else {
            contains_secret(&a.ty) || contains_secret(&b.ty)
        };
        let result = |ty: Ty| {
            let ty = if any_secret { Ty::secret(ty) } else { ty };
            Typed { ty, phase: phase.clone(), secret: secret.clone(), origin: None }
        };
        if ta.is_error() || tb.is_error() {
            return result(Ty::Error);
        }
        use Ty::{Any, Bool, Duration, Enum, Float, Int, List, Optional, String};
        let ty = match op {
            BinaryOp::Coalesce => {
                let inner = ta.unwrap_optional().clone();
                match Ty::unify(&inner, &tb) {
                    Some(ty) if !matches!(ty, Optional(_)) || tb.is_optional() => Some(ty),
                    Some(ty) => Some(ty),
                    None => None,
                }
            }
            BinaryOp::Or | BinaryOp::And => {
                (ta.assignable_to(&Bool) && tb.assignable_to(&Bool)).then_some(Bool)
            }
            BinaryOp::Eq | BinaryOp::NotEq => {
                let comparable =
                    ta.assignable_to(&tb) || tb.assignable_to(&ta) || Ty::unify(&ta, &tb).is_some();
                comparable.then_some(Bool)
            }
            BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq => match (&ta, &tb) {
                (Int | Float, Int | Float)
                | (Duration, Duration)
                | (String | Enum(_), String | Enum(_)) => Some(Bool),
                (Any, _) | (_, Any) => Some(Bool),
                _ => None,
            },
            BinaryOp::Add => match (&ta, &tb) {
                (Int, Int) => Some(Int),
                (Int | Float, Int | Float) => Some(Float),
                (Duration, Duration) => Some(Duration),
                (String | Enum(_), String | Enum(_)) => Some(String),
                (List(x), List(y)) => Ty::unify(x, y).map(Ty::list),
                (Any, other) | (other, Any) => {
                    Some(if matches!(other, Any) { Any } else { other.clone() })
                }
                _ => None,
            },
            BinaryOp::Sub => match (&ta, &tb) {
                (Int, Int) => Some(Int),
                (Int | Float, Int | Float) => Some(Float),
                (Duration, Duration) => Some(Duration),
                (Any, other) | (other, Any) => Some(other.clone()),
                _ => None,
            },
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => match (&ta, &tb) {
                (Int, Int) => Some(Int),
                (Int | Float, Int | Float) => Some(Float),
                (Duration, Int) if op != BinaryOp::Rem => Some(Duration),
                (Int, Duration) if op == BinaryOp::Mul => Some(Duration),
                (Any, other) | (other, Any) => Some(other.clone()),
                _ => None,
            },
        };
        match ty {
            Some(ty) => result(ty),
            None => {
                let message = match op {
                    BinaryOp::Eq | BinaryOp::NotEq => {
                        format!("cannot compare a `{ta}` with a `{tb}`: they are unrelated types")
                    }
                    _ => format!("`{}` cannot be applied to `{ta}` and `{tb}`", op.symbol()),
                };
                self.error(
                    Diagnostic::new(&codes::E0203, expr.span, message)
                        .with_label(lhs.span, format!("this is `{}`", a.ty))
                        .with_label(rhs.span, format!("this is `{}`", b.ty)),
                );
                result(Ty::Error)
            }
        }
    }

    fn field(
        &mut self,
        file: FileId,
        expr: &Expr,
        base: &Expr,
        name: &ast::Ident,
        optional: bool,
        scope: ScopeId,
    ) -> Typed {
        // `alias.name` reaches a declaration of an imported file.
        if let ExprKind::Ident(ident) = &base.kind
            && let Some(Resolved::Decl(id)) = self.lookup(file, &ident.name, scope)
            && self.model.decl(id).kind == DeclKind::Import
        {
            self.used_import(id);
            self.out.resolutions.insert(ident.span, id);
            self.record(file, base, &Ty::Error);
            let Some(&target) = self.out.targets.get(&id) else { return Typed::error() };
            let Some(&decl) = self.model.modules.get(&target).and_then(|m| m.names.get(&name.name))
            else {
                let names: Vec<SmolStr> = self
                    .model
                    .modules
                    .get(&target)
                    .map(|m| m.names.keys().cloned().collect())
                    .unwrap_or_default();
                let mut diagnostic = Diagnostic::new(
                    &codes::E0101,
                    name.span,
                    format!("`{}` declares no `{}`", ident.name, name.name),
                );
                if let Some(suggestion) = closest(&name.name, names.iter().map(SmolStr::as_str)) {
                    diagnostic = diagnostic
                        .with_primary_message(format!("did you mean `{suggestion}`?"))
                        .with_suggestion(name.span, suggestion);
                }
                self.error(diagnostic);
                return Typed::error();
            };
            self.out.resolutions.insert(name.span, decl);
            let module_scope = self.model.module_scope[&target];
            return self.decl_type_from(decl, module_scope);
        }
        let typed = self.access_base(file, expr, base, scope);
        self.record_member(typed.origin, name);
        let base_ty = typed.ty.reveal().clone();
        let (inner, was_optional) = match &base_ty {
            Ty::Optional(inner) => (inner.as_ref().clone(), true),
            Ty::None => (Ty::Error, true),
            other => (other.clone(), false),
        };
        if was_optional && !optional {
            self.error(
                Diagnostic::new(
                    &codes::E0204,
                    expr.span,
                    format!("`{}` may be none, so its field `{}` may not exist", source_text(self, file, base), name.name),
                )
                .with_primary_message("this value may be none")
                .with_help(format!(
                    "use `?.{0}` (and `??` for a default), or read it inside an `if` with the same condition",
                    name.name
                )),
            );
            return Typed::error();
        }
        let field_ty = match &inner {
            Ty::Record(record) => match record.field(&name.name) {
                Some(field) => {
                    self.record_field_use(name.span, record);
                    if field.optional { Ty::optional(field.ty.clone()) } else { field.ty.clone() }
                }
                None => {
                    let names: Vec<&str> = record.fields.iter().map(|f| f.name.as_str()).collect();
                    let mut diagnostic = Diagnostic::new(
                        &codes::E0206,
                        name.span,
                        format!("`{inner}` has no field `{}`", name.name),
                    );
                    if let Some(suggestion) = closest(&name.name, names.iter().copied()) {
                        diagnostic = diagnostic
                            .with_primary_message(format!("did you mean `{suggestion}`?"))
                            .with_suggestion(name.span, suggestion);
                    }
                    self.error(diagnostic.with_help(format!("its fields: {}", names.join(", "))));
                    return Typed::error();
                }
            },
            Ty::Map(element) => element.as_ref().clone(),
            Ty::Any => Ty::Any,
            Ty::Error => Ty::Error,
            other => {
                self.error(Diagnostic::new(
                    &codes::E0206,
                    name.span,
                    format!("a `{other}` has no fields; `.{}` needs a record or a map", name.name),
                ));
                return Typed::error();
            }
        };
        let mut result_ty = if was_optional { Ty::optional(field_ty) } else { field_ty };
        if typed.ty.is_secret() {
            result_ty = Ty::secret(result_ty);
        }
        let mut phase = typed.phase.clone();
        if let Some(origin) = typed.origin {
            phase = phase.join(&self.field_phase(origin, &name.name, expr.span, file));
        }
        let mut secret = typed.secret.clone();
        if result_ty.is_secret() && secret.is_none() {
            secret = Some(self.secret_field_source(typed.origin, expr, name, file));
        }
        Typed { ty: result_ty, phase, secret, origin: None }
    }

    /// Where the secret held by an instance of `id` (a resource, data or
    /// module declaration) comes from, when the instance is used whole: a
    /// sensitive field of its kind, or a module's secret output.
    fn instance_secret_source(&mut self, id: crate::model::DeclId) -> Option<SecretSource> {
        let decl = self.model.decl(id);
        match &decl.item.kind {
            ast::ItemKind::Resource(resource) | ast::ItemKind::Data(resource) => {
                let kind = lookup_kind(&resource.kind.to_dotted())?;
                let field = kind.fields.iter().find(|f| f.sensitive)?;
                Some(SecretSource {
                    span: decl.name_span(),
                    description: format!(
                        "the sensitive field `{}` of `{}` (in `{}`)",
                        field.name,
                        kind.name,
                        decl.name_str()
                    ),
                })
            }
            ast::ItemKind::Module(module) => {
                let target = *self.out.targets.get(&id)?;
                let outputs: Vec<crate::model::DeclId> = self
                    .model
                    .modules
                    .get(&target)?
                    .decls
                    .iter()
                    .copied()
                    .filter(|d| self.model.decl(*d).kind == DeclKind::Output)
                    .collect();
                for output in outputs {
                    let typed = self.check_decl(output);
                    if typed.ty.contains_secret() {
                        let output = self.model.decl(output);
                        return typed.secret.or_else(|| {
                            Some(SecretSource {
                                span: output.name_span(),
                                description: format!(
                                    "the secret output `{}` of the module `{}`",
                                    output.name_str(),
                                    module.name.name
                                ),
                            })
                        });
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// Where the secret read by `base.NAME` comes from, when the base does
    /// not say: a sensitive field of a kind, or a module's secret output
    /// (and what made it secret there).
    fn secret_field_source(
        &mut self,
        origin: Option<crate::model::DeclId>,
        expr: &Expr,
        name: &ast::Ident,
        file: FileId,
    ) -> SecretSource {
        let text = source_text(self, file, expr);
        let Some(origin) = origin else {
            return SecretSource {
                span: expr.span,
                description: format!("the secret field `{text}`"),
            };
        };
        let decl = self.model.decl(origin);
        match &decl.item.kind {
            ast::ItemKind::Resource(resource) | ast::ItemKind::Data(resource) => SecretSource {
                span: expr.span,
                description: format!(
                    "the sensitive field `{}` of `{}`",
                    name.name,
                    resource.kind.to_dotted()
                ),
            },
            ast::ItemKind::Module(module) => {
                let output = self
                    .out
                    .targets
                    .get(&origin)
                    .and_then(|target| self.model.modules.get(target))
                    .and_then(|m| m.names.get(&name.name).copied());
                let inner = output.and_then(|output| self.check_decl(output).secret);
                inner.unwrap_or_else(|| SecretSource {
                    span: expr.span,
                    description: format!(
                        "`{text}`, a secret output of the module `{}`",
                        module.name.name
                    ),
                })
            }
            _ => {
                SecretSource { span: expr.span, description: format!("the secret field `{text}`") }
            }
        }
    }

    /// The phase of field `name` of the instances of `origin`.
    fn field_phase(
        &mut self,
        origin: crate::model::DeclId,
        name: &str,
        span: Span,
        file: FileId,
    ) -> Phase {
        let decl = self.model.decl(origin);
        let text = span_text(self, span);
        let _ = file;
        match decl.kind {
            DeclKind::Resource | DeclKind::Data => {
                let (ast::ItemKind::Resource(resource) | ast::ItemKind::Data(resource)) =
                    &decl.item.kind
                else {
                    return Phase::Known;
                };
                let Some(kind) = lookup_kind(&resource.kind.to_dotted()) else {
                    return Phase::Known;
                };
                let Some(field) = kind.field(name) else { return Phase::Known };
                if field.output {
                    if decl.kind == DeclKind::Data {
                        // Read during plan when its inputs are known.
                        self.check_decl(origin);
                        let inputs: Vec<Phase> = self
                            .out
                            .field_phases
                            .iter()
                            .filter(|((d, _), _)| *d == origin)
                            .map(|(_, p)| p.clone())
                            .collect();
                        let phase = inputs.into_iter().fold(Phase::Known, |acc, p| acc.join(&p));
                        return phase.through(span, || {
                            format!("`{text}` is read after apply, when its inputs exist")
                        });
                    }
                    return Phase::Apply(std::rc::Rc::new(super::PhaseStep {
                        span,
                        message: format!("`{text}` is computed by the provider on apply"),
                        cause: None,
                    }));
                }
                self.check_decl(origin);
                let phase = self
                    .out
                    .field_phases
                    .get(&(origin, SmolStr::new(name)))
                    .cloned()
                    .unwrap_or_default();
                phase.through(span, || format!("`{text}` is only known after apply"))
            }
            DeclKind::Module => {
                let Some(&target) = self.out.targets.get(&origin) else { return Phase::Known };
                let Some(&output) = self.model.modules.get(&target).and_then(|m| m.names.get(name))
                else {
                    return Phase::Known;
                };
                let phase = self.check_decl(output).phase;
                let args = self.check_decl(origin).phase;
                phase.join(&args).through(span, || format!("`{text}` is only known after apply"))
            }
            _ => Phase::Known,
        }
    }

    fn index(
        &mut self,
        file: FileId,
        expr: &Expr,
        base: &Expr,
        index: &Expr,
        scope: ScopeId,
    ) -> Typed {
        let typed = self.access_base(file, expr, base, scope);
        let key = self.expr(file, index, scope, None);
        let element = match (typed.ty.reveal(), key.ty.reveal()) {
            (Ty::Error, _) | (_, Ty::Error) => Ty::Error,
            (Ty::List(inner), Ty::Int | Ty::Any) => inner.as_ref().clone(),
            (Ty::Map(inner), Ty::String | Ty::Enum(_) | Ty::Any) => inner.as_ref().clone(),
            (Ty::Record(record), Ty::String | Ty::Enum(_)) => match &index.kind {
                ExprKind::Str(lit) => {
                    match lit.as_plain().and_then(|k| record.field(&k).cloned()) {
                        Some(field) => {
                            self.record_field_use(lit.span, record);
                            field.ty
                        }
                        None => Ty::Any,
                    }
                }
                _ => Ty::Any,
            },
            (Ty::Any, _) => Ty::Any,
            (base_ty, key_ty) => {
                self.error(
                    Diagnostic::new(
                        &codes::E0207,
                        expr.span,
                        format!("cannot index a `{base_ty}` with a `{key_ty}`"),
                    )
                    .with_help("index a list with an `int` and a map with a `string`"),
                );
                return Typed::error();
            }
        };
        let ty =
            if typed.ty.is_secret() || key.ty.is_secret() { Ty::secret(element) } else { element };
        Typed {
            ty,
            phase: typed.phase.join(&key.phase),
            secret: typed.secret.or(key.secret),
            origin: typed.origin,
        }
    }

    fn call(
        &mut self,
        file: FileId,
        expr: &Expr,
        callee: &Expr,
        args: &[ast::Arg],
        scope: ScopeId,
    ) -> Typed {
        let ExprKind::Ident(name) = &callee.kind else {
            // `xs.length()`: a built-in called like a method.
            let method = match &callee.kind {
                ExprKind::Field { base, name, .. } if lookup_function(&name.name).is_some() => {
                    Some((base, name))
                }
                _ => None,
            };
            let callee_ty = match method {
                Some((base, _)) => self.expr(file, base, scope, None),
                None => self.expr(file, callee, scope, None),
            };
            // The arguments are still checked, for their own mistakes and uses.
            for arg in args {
                self.expr(file, &arg.value, scope, None);
            }
            if let Some((base, function)) = method {
                let base_text = source_text(self, file, base);
                let more = if args.is_empty() { "" } else { ", ..." };
                self.error(
                    Diagnostic::new(
                        &codes::E0202,
                        callee.span,
                        format!("`{}` is a function, not a method", function.name),
                    )
                    .with_help(format!(
                        "pass the value as the first argument: `{}({base_text}{more})`",
                        function.name
                    )),
                );
            } else if !callee_ty.ty.is_error() {
                self.error(
                    Diagnostic::new(
                        &codes::E0202,
                        callee.span,
                        "only built-in functions can be called",
                    )
                    .with_help("Orch has no user-defined functions; see `orchc explain E0202`"),
                );
            }
            return Typed::error();
        };
        if name.name == "resources" {
            return self.resources_call(file, expr, args, scope);
        }
        let Some(function) = lookup_function(&name.name) else {
            let names = orch_stdlib::functions::functions().iter().map(|f| f.name);
            let mut diagnostic = Diagnostic::new(
                &codes::E0105,
                name.span,
                format!("unknown function `{}`", name.name),
            );
            if let Some(suggestion) = closest(&name.name, names) {
                diagnostic = diagnostic
                    .with_primary_message(format!("did you mean `{suggestion}`?"))
                    .with_suggestion(name.span, suggestion);
            }
            self.error(diagnostic);
            for arg in args {
                self.expr(file, &arg.value, scope, None);
            }
            return Typed::error();
        };
        self.record(file, callee, &Ty::Error);
        let mut phase = Phase::Known;
        let mut secret = None;
        let mut any_secret = false;
        let mut arg_types = Vec::new();
        for arg in args {
            if let Some(arg_name) = &arg.name {
                self.error(Diagnostic::new(
                    &codes::E0202,
                    arg_name.span,
                    format!("`{}` takes positional arguments only", function.name),
                ));
            }
            let typed = self.expr(file, &arg.value, scope, None);
            phase = phase.join(&typed.phase);
            // Like evaluation, a call is secret when an argument holds a
            // secret anywhere inside (a record with a secret field too) —
            // or, for `length` and `keys`, which read only the shape, when
            // the argument itself is secret. The function sees the types
            // without their marks.
            if function.secret_argument(&typed.ty) {
                any_secret = true;
                secret = secret.or(typed.secret.clone());
            }
            arg_types.push(reveal_all(&typed.ty));
        }
        match (function.check)(&arg_types) {
            Ok(ty) => {
                let reveal = function.name == "reveal";
                let ty = if any_secret && !reveal { Ty::secret(ty) } else { ty };
                Typed { ty, phase, secret: if reveal { None } else { secret }, origin: None }
            }
            Err(message) => {
                self.error(
                    Diagnostic::new(&codes::E0202, expr.span, message)
                        .with_help(format!("`{}`", function.signature)),
                );
                Typed::error()
            }
        }
    }

    /// The base of `base.f` or `base[i]`. A reference to a declaration is
    /// widened to cover the whole access, so that graph edges and cycle
    /// reports show `b.sha256`, not just `b`.
    fn access_base(&mut self, file: FileId, expr: &Expr, base: &Expr, scope: ScopeId) -> Typed {
        let (typed, reference) = match &base.kind {
            ExprKind::Ident(ident) => {
                let (typed, reference) = self.name(file, ident, scope);
                self.record(file, base, &typed.ty);
                (typed, reference)
            }
            _ => (self.expr(file, base, scope, None), None),
        };
        self.widen_reference(reference, expr.span);
        typed
    }

    /// `resources(KIND)`: every instance of a kind, inside policies.
    fn resources_call(
        &mut self,
        _file: FileId,
        expr: &Expr,
        args: &[ast::Arg],
        scope: ScopeId,
    ) -> Typed {
        let in_policy = self
            .model
            .scope_chain(scope)
            .iter()
            .any(|s| matches!(self.model.scope(*s).kind, ScopeKind::Policy(_)));
        if !in_policy {
            self.error(Diagnostic::new(
                &codes::E0202,
                expr.span,
                "`resources(KIND)` is only available inside a `policy`",
            ));
        }
        let [arg] = args else {
            self.error(Diagnostic::new(
                &codes::E0202,
                expr.span,
                "`resources` takes one resource kind, such as `fs.file`",
            ));
            return Typed::error();
        };
        let Some(path) = dotted_path(&arg.value) else {
            self.error(Diagnostic::new(
                &codes::E0202,
                arg.value.span,
                "`resources` takes a resource kind, such as `fs.file`",
            ));
            return Typed::error();
        };
        match lookup_kind(&path) {
            Some(kind) => Typed::new(Ty::list(kind.instance_type())),
            None => {
                let names = orch_providers::kinds().iter().map(|k| k.name);
                let mut diagnostic = Diagnostic::new(
                    &codes::E0103,
                    arg.value.span,
                    format!("unknown resource kind `{path}`"),
                );
                if let Some(suggestion) = closest(&path, names) {
                    diagnostic = diagnostic
                        .with_primary_message(format!("did you mean `{suggestion}`?"))
                        .with_suggestion(arg.value.span, suggestion);
                }
                self.error(diagnostic);
                Typed::error()
            }
        }
    }

    pub(crate) fn used_import(&mut self, id: crate::model::DeclId) {
        self.mark_used(id);
    }

    /// Records that `name` in `instance.name` is an output of the module
    /// `origin` instantiates, when the base is a module instance.
    fn record_member(&mut self, origin: Option<crate::model::DeclId>, name: &ast::Ident) {
        let Some(origin) = origin.filter(|&o| self.model.decl(o).kind == DeclKind::Module) else {
            return;
        };
        let Some(&target) = self.out.targets.get(&origin) else { return };
        let output = self.model.modules.get(&target).and_then(|m| m.names.get(&name.name));
        if let Some(&output) = output.filter(|&&d| self.model.decl(d).kind == DeclKind::Output) {
            self.out.member_resolutions.insert(name.span, output);
        }
    }

    /// Records a use of a field of a named record type (see
    /// [`super::Checked::field_uses`]).
    fn record_field_use(&mut self, span: Span, record: &std::sync::Arc<orch_stdlib::RecordTy>) {
        if record.name.is_some() {
            self.out.field_uses.insert(span, record.clone());
        }
    }
}

/// Whether a value of type `ty` holds a secret anywhere.
pub(super) fn contains_secret(ty: &Ty) -> bool {
    ty.contains_secret()
}

/// `ty` with every secret mark removed, at any depth.
fn reveal_all(ty: &Ty) -> Ty {
    match ty {
        Ty::Secret(inner) => reveal_all(inner),
        Ty::List(inner) => Ty::list(reveal_all(inner)),
        Ty::Map(inner) => Ty::map(reveal_all(inner)),
        Ty::Optional(inner) => Ty::optional(reveal_all(inner)),
        Ty::Record(record) if record.fields.iter().any(|f| contains_secret(&f.ty)) => {
            let fields = record
                .fields
                .iter()
                .map(|f| FieldTy { ty: reveal_all(&f.ty), ..f.clone() })
                .collect();
            Ty::record(record.name.as_deref(), fields)
        }
        other => other.clone(),
    }
}

/// `a.b.c` as text, when an expression is a dotted path of names.
pub(crate) fn dotted_path(expr: &Expr) -> Option<String> {
    match &expr.kind {
        ExprKind::Ident(ident) => Some(ident.name.to_string()),
        ExprKind::Field { base, name, optional: false } => {
            Some(format!("{}.{}", dotted_path(base)?, name.name))
        }
        _ => None,
    }
}

/// The source text under a span, for messages.
pub(crate) fn span_text(checker: &Checker<'_, '_>, span: Span) -> String {
    let source = &checker.files.get(span.file).source;
    source.get(span.range()).unwrap_or_default().to_string()
}

/// The source text of an expression, for messages.
pub(crate) fn source_text(checker: &Checker<'_, '_>, file: FileId, expr: &Expr) -> String {
    let source = &checker.files.get(file).source;
    source.get(expr.span.range()).unwrap_or_default().to_string()
}

/// Checks the header of a `for` block: the collection (known at plan time),
/// the bindings and the instance key.
pub(super) fn for_header(
    checker: &mut Checker<'_, '_>,
    file: FileId,
    decl: &ast::For,
    parent: ScopeId,
    _scope: ScopeId,
) -> LoopInfo {
    let collection = checker.expr(file, &decl.collection, parent, None);
    checker.require_plan_time(decl.collection.span, &collection.phase, "the collection of a `for`");
    let bindings = checker.bindings(&decl.binding, &decl.collection, &collection, true);
    let bindings: Vec<(SmolStr, Typed)> = bindings
        .into_iter()
        .map(|(name, typed)| (name, Typed { phase: Phase::Known, ..typed }))
        .collect();
    let key_kind = match &decl.key {
        Some(key) => {
            let count = bindings.len();
            for (name, typed) in &bindings {
                checker.push_local(name.clone(), typed.clone());
            }
            let typed = checker.expr(file, key, parent, Some(&Ty::String));
            checker.pop_locals(count);
            if !typed.ty.reveal().assignable_to(&Ty::String) {
                checker.expect_type(key, &typed, &Ty::String, "an instance key");
            } else if typed.ty.is_secret() {
                checker.secret_leak(
                    key.span,
                    &typed,
                    "an instance key (keys are addresses, shown in plans, state and events)",
                );
            }
            checker.require_plan_time(key.span, &typed.phase, "the `key` of a `for`");
            KeyKind::String
        }
        None => match (collection.ty.reveal(), &decl.collection.kind) {
            (_, ExprKind::Range { .. }) => KeyKind::Int,
            (Ty::Map(_) | Ty::Record(_), _) => KeyKind::String,
            (Ty::List(inner), _)
                if matches!(inner.reveal(), Ty::String | Ty::Enum(_))
                    && decl.binding.second.is_none() =>
            {
                KeyKind::String
            }
            // `for i, x in xs` asks for positions explicitly, and the
            // instances of `resources(KIND)` in a policy are not declared.
            (Ty::List(_), _) if decl.binding.second.is_some() => KeyKind::Int,
            (Ty::List(_), ExprKind::Call { callee, .. }) if matches!(&callee.kind, ExprKind::Ident(name) if name.name == "resources") => {
                KeyKind::Int
            }
            (Ty::List(inner), _) => {
                if !inner.is_error() {
                    let first = &decl.binding.first.name;
                    checker.error(
                        Diagnostic::new(
                            &codes::W0401,
                            decl.collection.span,
                            "instances are keyed by their position in this list",
                        )
                        .with_primary_message("inserting or removing an element re-keys every later instance")
                        .with_help(format!(
                            "give each instance a stable key: `for {first} in {} key {first}.name {{ ... }}`",
                            source_text(checker, file, &decl.collection)
                        )),
                    );
                }
                KeyKind::Int
            }
            _ => KeyKind::String,
        },
    };
    // Without `key`, the keys are the collection's map keys, its string
    // elements or its positions: secret when the collection itself is, or
    // when they are its elements and those are secret.
    let secret_keys = decl.key.is_none()
        && (collection.ty.is_secret()
            || (key_kind == KeyKind::String
                && matches!(collection.ty.reveal(), Ty::List(inner) if inner.is_secret())));
    if secret_keys {
        checker.secret_leak(
            decl.collection.span,
            &collection,
            "the keys of this `for`'s instances (keys are addresses, shown in plans, state and events)",
        );
    }
    LoopInfo { key_kind, bindings }
}
