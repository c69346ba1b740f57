//! Evaluating expressions to values. Unknown values (known only after
//! apply) propagate through every operation; secrets stay secret.

use std::collections::BTreeMap;

use orch_lang::ast::{self, BinaryOp, Expr, ExprKind, FieldKey, StrPart, UnaryOp};
use orch_stdlib::functions::Host;
use orch_stdlib::{Fields, Value, lookup_function};
use smol_str::SmolStr;

use super::{EvalError, EvalResult, Evaluator, Key};
use crate::db::join_path;
use crate::model::{DeclKind, Resolution, ScopeId};

/// Reads files for `file()` and `template()` relative to a module.
struct ModuleHost<'h> {
    db: &'h dyn crate::db::SourceDb,
    module_path: &'h str,
}

impl Host for ModuleHost<'_> {
    fn read_file(&self, path: &str) -> Result<String, String> {
        self.db.read(&join_path(self.module_path, path))
    }
}

/// The largest range or repetition evaluation will build.
const MAX_RANGE: i64 = 1_000_000;

/// The most list and map elements one evaluation builds in all, counting
/// ranges, the elements each comprehension walks and the lists and maps
/// functions return: nested loops, each within `MAX_RANGE`, would otherwise
/// run for hours (found by the `check` fuzz target).
pub(super) const MAX_ELEMENTS: u64 = 4_000_000;

fn error(span: orch_lang::Span, message: impl Into<String>) -> EvalError {
    EvalError { span, message: message.into() }
}

/// `a.b.c` as text, for kind names in `resources(fs.file)`.
pub(super) fn dotted(expr: &Expr) -> Option<String> {
    match &expr.kind {
        ExprKind::Ident(ident) => Some(ident.name.to_string()),
        ExprKind::Field { base, name, optional: false } => {
            Some(format!("{}.{}", dotted(base)?, name.name))
        }
        _ => None,
    }
}

impl Evaluator<'_, '_> {
    /// Counts `count` more elements built at `span` against `MAX_ELEMENTS`.
    fn charge(&mut self, span: orch_lang::Span, count: usize) -> EvalResult<()> {
        self.built = self.built.saturating_add(count as u64);
        if self.built > MAX_ELEMENTS {
            return Err(error(
                span,
                format!(
                    "this configuration builds more than {MAX_ELEMENTS} list and map elements in all"
                ),
            ));
        }
        Ok(())
    }

    /// Runs `f` with extra local variables.
    pub(super) fn with_locals<T>(
        &mut self,
        bindings: &[(SmolStr, Value)],
        f: impl FnOnce(&mut Self) -> EvalResult<T>,
    ) -> EvalResult<T> {
        let before = self.locals.len();
        self.locals.extend(bindings.iter().cloned());
        let result = f(self);
        self.locals.truncate(before);
        result
    }

    /// Evaluates `expr` written in `scope`, inside the loop instance `keys`.
    pub(crate) fn eval_expr(
        &mut self,
        context: usize,
        scope: ScopeId,
        keys: &[Key],
        expr: &Expr,
    ) -> EvalResult<Value> {
        match &expr.kind {
            ExprKind::Int(value) => Ok(Value::Int(*value)),
            ExprKind::Float(value) => Ok(Value::Float(*value)),
            ExprKind::Duration { value, unit } => value
                .checked_mul(unit.millis())
                .map(Value::Duration)
                .ok_or_else(|| error(expr.span, "this duration is too long")),
            ExprKind::Bool(value) => Ok(Value::Bool(*value)),
            ExprKind::None => Ok(Value::None),
            ExprKind::Str(lit) => self.string(context, scope, keys, lit),
            ExprKind::Ident(ident) => self.name(context, scope, keys, ident),
            ExprKind::Paren(inner) => self.eval_expr(context, scope, keys, inner),
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.eval_expr(context, scope, keys, item)?);
                }
                Ok(Value::list(out))
            }
            ExprKind::Object(fields) => {
                let mut out = Vec::with_capacity(fields.len());
                for field in fields {
                    let key: SmolStr = match &field.key {
                        FieldKey::Name(name) => name.name.clone(),
                        FieldKey::Quoted(lit) => match self.string(context, scope, keys, lit)? {
                            Value::String(text) => text,
                            Value::Unknown => return Ok(Value::Unknown),
                            _ => {
                                return Err(error(
                                    lit.span,
                                    "an object key must be a plain string",
                                ));
                            }
                        },
                    };
                    let value = self.eval_expr(context, scope, keys, &field.value)?;
                    out.push((key, value));
                }
                Ok(Value::fields(Fields::from_entries(out)))
            }
            ExprKind::ListComprehension(comprehension)
            | ExprKind::MapComprehension(comprehension) => {
                self.comprehension(context, scope, keys, expr, comprehension)
            }
            ExprKind::Unary { op, operand } => {
                let value = self.eval_expr(context, scope, keys, operand)?;
                let (inner, secret) = value.reveal();
                let result = match (op, inner) {
                    (_, Value::Unknown) => Value::Unknown,
                    (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
                    (UnaryOp::Neg, Value::Int(i)) => Value::Int(
                        i.checked_neg().ok_or_else(|| error(expr.span, "integer overflow"))?,
                    ),
                    (UnaryOp::Neg, Value::Float(f)) => Value::Float(-f),
                    (UnaryOp::Neg, Value::Duration(d)) => Value::Duration(-d),
                    (_, other) => {
                        return Err(error(
                            expr.span,
                            format!("cannot apply this operator to a {}", other.kind_name()),
                        ));
                    }
                };
                Ok(if secret { Value::secret(result) } else { result })
            }
            ExprKind::Binary { op, lhs, rhs } => {
                self.binary(context, scope, keys, expr, *op, lhs, rhs)
            }
            ExprKind::Conditional { condition, then, otherwise } => {
                let value = self.eval_expr(context, scope, keys, condition)?;
                // Which branch was taken is as secret as the condition.
                let chosen = |result: Value| {
                    if value.is_secret() { Value::secret(result) } else { result }
                };
                match value.reveal().0 {
                    Value::Bool(true) => self.eval_expr(context, scope, keys, then).map(chosen),
                    Value::Bool(false) => {
                        self.eval_expr(context, scope, keys, otherwise).map(chosen)
                    }
                    Value::Unknown => Ok(Value::Unknown),
                    other => Err(error(
                        condition.span,
                        format!("a condition must be a bool, this is a {}", other.kind_name()),
                    )),
                }
            }
            ExprKind::Range { start, end, inclusive } => {
                let a = self.eval_expr(context, scope, keys, start)?;
                let b = self.eval_expr(context, scope, keys, end)?;
                match (a.reveal().0, b.reveal().0) {
                    (Value::Unknown, _) | (_, Value::Unknown) => Ok(Value::Unknown),
                    (Value::Int(a), Value::Int(b)) => {
                        let end = if *inclusive { b.saturating_add(1) } else { *b };
                        if end.saturating_sub(*a) > MAX_RANGE {
                            return Err(error(
                                expr.span,
                                format!("this range has more than {MAX_RANGE} elements"),
                            ));
                        }
                        self.charge(
                            expr.span,
                            usize::try_from(end.saturating_sub(*a)).unwrap_or(0),
                        )?;
                        Ok(Value::list((*a..end).map(Value::Int).collect()))
                    }
                    _ => Err(error(expr.span, "range bounds must be integers")),
                }
            }
            ExprKind::Field { base, name, optional } => {
                if let Some(decl) = self.imported_decl(base, name) {
                    return self.imported_value(decl);
                }
                let value = self.eval_expr(context, scope, keys, base)?;
                let (inner, secret) = value.reveal();
                let result = match inner {
                    Value::Unknown => Value::Unknown,
                    Value::None if *optional => Value::None,
                    Value::None => {
                        return Err(error(
                            expr.span,
                            format!("`{}` is none here", base_text(self, base)),
                        ));
                    }
                    Value::Map(entries) => match entries.get(&name.name) {
                        Some(value) => value.clone(),
                        // An optional record field that was left out.
                        None if self.optional_field(base, &name.name) => Value::None,
                        None => {
                            return Err(error(
                                name.span,
                                format!("there is no key `{}` here", name.name),
                            ));
                        }
                    },
                    other => {
                        return Err(error(
                            name.span,
                            format!("a {} has no fields", other.kind_name()),
                        ));
                    }
                };
                Ok(if secret { Value::secret(result) } else { result })
            }
            ExprKind::Index { base, index } => {
                let value = self.eval_expr(context, scope, keys, base)?;
                let key = self.eval_expr(context, scope, keys, index)?;
                let (inner, secret) = value.reveal();
                let result = match (inner, key.reveal().0) {
                    (Value::Unknown, _) | (_, Value::Unknown) => Value::Unknown,
                    (Value::List(items), Value::Int(i)) => {
                        let position = usize::try_from(*i).ok().filter(|p| *p < items.len());
                        match position {
                            Some(p) => items[p].clone(),
                            None => {
                                return Err(error(
                                    index.span,
                                    format!(
                                        "index {i} is out of range: the list has {} elements",
                                        items.len()
                                    ),
                                ));
                            }
                        }
                    }
                    (Value::Map(entries), Value::String(k)) => match entries.get(k) {
                        Some(value) => value.clone(),
                        None => {
                            let known: Vec<&str> =
                                entries.keys().map(SmolStr::as_str).take(10).collect();
                            return Err(error(
                                index.span,
                                format!(
                                    "the key {k:?} is missing; the keys are: {}",
                                    known.join(", ")
                                ),
                            ));
                        }
                    },
                    (base, key) => {
                        return Err(error(
                            expr.span,
                            format!(
                                "cannot index a {} with a {}",
                                base.kind_name(),
                                key.kind_name()
                            ),
                        ));
                    }
                };
                Ok(if secret || key.is_secret() { Value::secret(result) } else { result })
            }
            ExprKind::Call { callee, args } => self.call(context, scope, keys, expr, callee, args),
            ExprKind::Error => Ok(Value::Unknown),
        }
    }

    fn string(
        &mut self,
        context: usize,
        scope: ScopeId,
        keys: &[Key],
        lit: &ast::StrLit,
    ) -> EvalResult<Value> {
        let mut out = String::new();
        let mut secret = false;
        for part in &lit.parts {
            match part {
                StrPart::Text { value, .. } => out.push_str(value),
                StrPart::Interpolation(inner) => {
                    let value = self.eval_expr(context, scope, keys, inner)?;
                    if !value.is_known() {
                        return Ok(Value::Unknown);
                    }
                    let revealed = value.reveal_all();
                    secret |= value.contains_secret();
                    // A field with a display hint reads as plans show it:
                    // `"mode ${f.mode}"` is "mode 0o644", not "mode 420".
                    if let Some(text) = self.field_display(inner).format(&revealed) {
                        out.push_str(&text);
                        continue;
                    }
                    match revealed.to_interpolated() {
                        Some(text) => out.push_str(&text),
                        None => return Ok(Value::Unknown),
                    }
                }
            }
        }
        let value = Value::string(out);
        Ok(if secret { Value::secret(value) } else { value })
    }

    /// Resolves a name at run time the way the checker resolved it.
    fn name(
        &mut self,
        context: usize,
        scope: ScopeId,
        keys: &[Key],
        ident: &ast::Ident,
    ) -> EvalResult<Value> {
        if let Some((_, value)) = self.locals.iter().rev().find(|(n, _)| *n == ident.name) {
            return Ok(value.clone());
        }
        let file = self.contexts[context].file;
        match self.model.resolve(file, scope, &ident.name) {
            None => Ok(Value::Unknown),
            Some(Resolution::LoopVar { scope: loop_scope, .. }) => {
                // The frame of the loop that binds the name ends with its
                // variables: the innermost binding of the name is its own.
                let depth = self.loop_depth(loop_scope);
                let frame = self.frame(context, loop_scope, &keys[..depth.min(keys.len())])?;
                let value = frame.iter().rev().find(|(n, _)| *n == ident.name);
                Ok(value.map_or(Value::Unknown, |(_, value)| value.clone()))
            }
            Some(Resolution::Decl(decl)) if self.model.decl(decl).kind == DeclKind::Import => {
                Ok(Value::Unknown)
            }
            Some(Resolution::Decl(decl)) => self.reference(context, decl, scope, keys),
        }
    }

    fn comprehension(
        &mut self,
        context: usize,
        scope: ScopeId,
        keys: &[Key],
        expr: &Expr,
        comprehension: &ast::Comprehension,
    ) -> EvalResult<Value> {
        let collection = self.eval_expr(context, scope, keys, &comprehension.collection)?;
        // The values keep their own marks; which elements there are is
        // secret when the collection itself is, or a filter or key read a
        // secret (as the checker types it).
        let mut secret = collection.is_secret();
        let items: Vec<(Value, Value)> = match collection.reveal().0 {
            Value::Unknown => return Ok(Value::Unknown),
            Value::List(items) => {
                items.iter().enumerate().map(|(i, v)| (Value::Int(i as i64), v.clone())).collect()
            }
            Value::Map(entries) => {
                entries.iter().map(|(k, v)| (Value::String(k.clone()), v.clone())).collect()
            }
            other => {
                return Err(error(
                    comprehension.collection.span,
                    format!("cannot iterate over a {}", other.kind_name()),
                ));
            }
        };
        self.charge(expr.span, items.len())?;
        let first = comprehension.binding.first.name.clone();
        let second = comprehension.binding.second.as_ref().map(|s| s.name.clone());
        let mut list = Vec::new();
        let mut map = BTreeMap::new();
        for (index, item) in items {
            let bindings = match &second {
                Some(second) => vec![(first.clone(), index), (second.clone(), item)],
                None => vec![(first.clone(), item)],
            };
            let produced = self.with_locals(&bindings, |this| {
                if let Some(condition) = &comprehension.condition {
                    let value = this.eval_expr(context, scope, keys, condition)?;
                    secret |= value.contains_secret();
                    match value.reveal().0 {
                        Value::Bool(true) => {}
                        Value::Bool(false) => return Ok(None),
                        Value::Unknown => return Ok(Some((None, Value::Unknown))),
                        other => {
                            return Err(error(
                                condition.span,
                                format!("a filter must be a bool, this is a {}", other.kind_name()),
                            ));
                        }
                    }
                }
                let key = match &comprehension.key {
                    Some(key) => Some(this.eval_expr(context, scope, keys, key)?),
                    None => None,
                };
                let value = this.eval_expr(context, scope, keys, &comprehension.value)?;
                Ok(Some((key, value)))
            })?;
            let Some((key, value)) = produced else { continue };
            match key {
                None if comprehension.key.is_some() => return Ok(Value::Unknown),
                None => list.push(value),
                Some(key) => {
                    secret |= key.contains_secret();
                    match key.reveal().0 {
                        Value::String(text) => {
                            if map.insert(text.clone(), value).is_some() {
                                return Err(error(
                                    comprehension.key.as_ref().map_or(expr.span, |k| k.span),
                                    format!("the key {text:?} is produced twice"),
                                ));
                            }
                        }
                        Value::Unknown => return Ok(Value::Unknown),
                        other => {
                            return Err(error(
                                expr.span,
                                format!(
                                    "a map key must be a string, this is a {}",
                                    other.kind_name()
                                ),
                            ));
                        }
                    }
                }
            }
        }
        let value = if comprehension.key.is_some() { Value::map(map) } else { Value::list(list) };
        Ok(if secret { Value::secret(value) } else { value })
    }

    #[allow(clippy::too_many_arguments)]
    fn binary(
        &mut self,
        context: usize,
        scope: ScopeId,
        keys: &[Key],
        expr: &Expr,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
    ) -> EvalResult<Value> {
        let a = self.eval_expr(context, scope, keys, lhs)?;
        // Short-circuit operators evaluate their right side only if needed.
        match (op, a.reveal().0) {
            (BinaryOp::And, Value::Bool(false)) => return Ok(a),
            (BinaryOp::Or, Value::Bool(true)) => return Ok(a),
            (BinaryOp::Coalesce, Value::None) => {
                // Whether the left side was none is as secret as it is.
                let b = self.eval_expr(context, scope, keys, rhs)?;
                return Ok(if a.is_secret() { Value::secret(b) } else { b });
            }
            (BinaryOp::Coalesce, _) => return Ok(a),
            _ => {}
        }
        let b = self.eval_expr(context, scope, keys, rhs)?;
        // Joined lists keep the marks (and unknown values) of their
        // elements; any other operator reads its operands whole.
        if op == BinaryOp::Add
            && let (Value::List(first), Value::List(second)) = (a.reveal().0, b.reveal().0)
        {
            let joined = Value::list(first.iter().chain(second.iter()).cloned().collect());
            return Ok(if a.is_secret() || b.is_secret() { Value::secret(joined) } else { joined });
        }
        let secret = a.contains_secret() || b.contains_secret();
        let (x, y) = (a.reveal_all(), b.reveal_all());
        if !x.is_known() || !y.is_known() {
            return Ok(Value::Unknown);
        }
        let overflow = || error(expr.span, "integer overflow");
        let result = match (op, &x, &y) {
            (BinaryOp::And | BinaryOp::Or, _, Value::Bool(b)) => Value::Bool(*b),
            (BinaryOp::Eq, _, _) => Value::Bool(equal(&x, &y)),
            (BinaryOp::NotEq, _, _) => Value::Bool(!equal(&x, &y)),
            (BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq, _, _) => {
                let ordering = compare(&x, &y).ok_or_else(|| {
                    error(
                        expr.span,
                        format!("cannot compare a {} with a {}", x.kind_name(), y.kind_name()),
                    )
                })?;
                Value::Bool(match op {
                    BinaryOp::Lt => ordering.is_lt(),
                    BinaryOp::LtEq => ordering.is_le(),
                    BinaryOp::Gt => ordering.is_gt(),
                    _ => ordering.is_ge(),
                })
            }
            (BinaryOp::Add, Value::Int(a), Value::Int(b)) => {
                Value::Int(a.checked_add(*b).ok_or_else(overflow)?)
            }
            (BinaryOp::Sub, Value::Int(a), Value::Int(b)) => {
                Value::Int(a.checked_sub(*b).ok_or_else(overflow)?)
            }
            (BinaryOp::Mul, Value::Int(a), Value::Int(b)) => {
                Value::Int(a.checked_mul(*b).ok_or_else(overflow)?)
            }
            (BinaryOp::Div | BinaryOp::Rem, Value::Int(_), Value::Int(0)) => {
                return Err(error(rhs.span, "division by zero"));
            }
            (BinaryOp::Div, Value::Int(a), Value::Int(b)) => {
                Value::Int(a.checked_div(*b).ok_or_else(overflow)?)
            }
            (BinaryOp::Rem, Value::Int(a), Value::Int(b)) => {
                Value::Int(a.checked_rem(*b).ok_or_else(overflow)?)
            }
            (
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem,
                _,
                _,
            ) if number(&x).is_some() && number(&y).is_some() => {
                let (a, b) = (number(&x).unwrap_or_default(), number(&y).unwrap_or_default());
                if matches!(op, BinaryOp::Div | BinaryOp::Rem) && b == 0.0 {
                    return Err(error(rhs.span, "division by zero"));
                }
                Value::Float(match op {
                    BinaryOp::Add => a + b,
                    BinaryOp::Sub => a - b,
                    BinaryOp::Mul => a * b,
                    BinaryOp::Div => a / b,
                    _ => a % b,
                })
            }
            (BinaryOp::Add, Value::Duration(a), Value::Duration(b)) => {
                Value::Duration(a.checked_add(*b).ok_or_else(overflow)?)
            }
            (BinaryOp::Sub, Value::Duration(a), Value::Duration(b)) => {
                Value::Duration(a.checked_sub(*b).ok_or_else(overflow)?)
            }
            (BinaryOp::Mul, Value::Duration(a), Value::Int(b))
            | (BinaryOp::Mul, Value::Int(b), Value::Duration(a)) => {
                Value::Duration(a.checked_mul(*b).ok_or_else(overflow)?)
            }
            (BinaryOp::Div, Value::Duration(_), Value::Int(0)) => {
                return Err(error(rhs.span, "division by zero"));
            }
            (BinaryOp::Div, Value::Duration(a), Value::Int(b)) => Value::Duration(a / b),
            (BinaryOp::Add, Value::String(a), Value::String(b)) => Value::string(format!("{a}{b}")),
            _ => {
                return Err(error(
                    expr.span,
                    format!(
                        "`{}` cannot be applied to a {} and a {}",
                        op.symbol(),
                        x.kind_name(),
                        y.kind_name()
                    ),
                ));
            }
        };
        // Keep the secret marks of collections that were only compared.
        if secret && !matches!(result, Value::Bool(_)) {
            return Ok(Value::secret(result));
        }
        Ok(if secret { Value::secret(result) } else { result })
    }

    fn call(
        &mut self,
        context: usize,
        scope: ScopeId,
        keys: &[Key],
        expr: &Expr,
        callee: &Expr,
        args: &[ast::Arg],
    ) -> EvalResult<Value> {
        let ExprKind::Ident(name) = &callee.kind else { return Ok(Value::Unknown) };
        if name.name == "resources" {
            let Some(kind) = args.first().and_then(|a| dotted(&a.value)) else {
                return Ok(Value::Unknown);
            };
            let values: Vec<Value> = self
                .instances
                .iter()
                .filter(|i| i.resource_kind == kind)
                .map(|i| i.resolved.clone())
                .collect();
            return Ok(Value::list(values));
        }
        let Some(function) = lookup_function(&name.name) else { return Ok(Value::Unknown) };
        let mut values = Vec::with_capacity(args.len());
        for arg in args {
            values.push(self.eval_expr(context, scope, keys, &arg.value)?);
        }
        // Paths in `file()` and `template()` are relative to the file
        // that calls them.
        let module_path = self.files.get(expr.span.file).path.clone();
        let host = ModuleHost { db: self.db, module_path: &module_path };
        // `call` handles unknown and secret arguments, and never quotes a
        // secret in its error message.
        let result = function.call(&values, &host).map_err(|e| error(expr.span, e.message))?;
        match result.reveal().0 {
            Value::List(items) => self.charge(expr.span, items.len())?,
            Value::Map(entries) => self.charge(expr.span, entries.len())?,
            _ => {}
        }
        Ok(result)
    }
}

impl Evaluator<'_, '_> {
    /// The declaration `NAME` of an imported file that `alias.NAME` reads,
    /// as the checker resolved it (a local variable named like the alias
    /// shadows it, and then this is `None`).
    fn imported_decl(&self, base: &Expr, name: &ast::Ident) -> Option<crate::model::DeclId> {
        let ExprKind::Ident(alias) = &base.kind else { return None };
        let &import = self.checked.resolutions.get(&alias.span)?;
        if self.model.decl(import).kind != DeclKind::Import {
            return None;
        }
        self.checked.resolutions.get(&name.span).copied()
    }

    /// The display hint of the kind's field that `expr` reads
    /// (`f.mode` of an `fs.file`), as the checker typed its base.
    fn field_display(&self, expr: &Expr) -> orch_stdlib::kinds::FieldDisplay {
        let mut expr = expr;
        while let ExprKind::Paren(inner) = &expr.kind {
            expr = inner;
        }
        let ExprKind::Field { base, name, .. } = &expr.kind else {
            return orch_stdlib::kinds::FieldDisplay::Plain;
        };
        let Some(ty) = self.checked.expr_types.get(&(base.span.file, base.id)) else {
            return orch_stdlib::kinds::FieldDisplay::Plain;
        };
        match ty.unwrap_optional() {
            orch_stdlib::Ty::Record(record) => record
                .name
                .as_deref()
                .and_then(orch_providers::lookup_kind)
                .and_then(|kind| kind.field(&name.name))
                .map_or(orch_stdlib::kinds::FieldDisplay::Plain, |field| field.display),
            _ => orch_stdlib::kinds::FieldDisplay::Plain,
        }
    }

    /// Whether the checker typed `base` as a record whose field `name` is
    /// optional.
    fn optional_field(&self, base: &Expr, name: &str) -> bool {
        let Some(ty) = self.checked.expr_types.get(&(base.span.file, base.id)) else {
            return false;
        };
        match ty.unwrap_optional() {
            orch_stdlib::Ty::Record(record) => record.field(name).is_some_and(|f| f.optional),
            _ => false,
        }
    }
}

fn base_text(evaluator: &Evaluator<'_, '_>, expr: &Expr) -> String {
    let source = &evaluator.files.get(expr.span.file).source;
    source.get(expr.span.range()).unwrap_or_default().to_string()
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// Structural equality; an int equals the float of the same value.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            number(a) == number(b)
        }
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| equal(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            number(a)?.partial_cmp(&number(b)?)
        }
        (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(y)),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}
