//! One walk over the syntax tree, for every pass that reads it.
//!
//! A [`Visitor`] overrides the `visit_*` methods for the nodes it cares
//! about; each defaults to the matching `walk_*` function, which visits
//! every child of the node. The `walk_*` functions match every variant of
//! every node kind without a catch-all arm, so a new kind of item,
//! expression or type is a compile error here rather than a node that some
//! pass skips silently. A visitor that overrides a method and still wants
//! the children calls the `walk_*` function itself.
//!
//! Loops get two hooks: [`Visitor::enter_loop`] runs once the collection
//! of a `for` block or a comprehension is visited, before the parts that
//! see its variables (the key and block of a `for`; the filter, key and
//! value of a comprehension), and [`Visitor::leave_loop`] after them.
//!
//! Children are visited in source order. [`child_blocks`],
//! [`item_exprs`] and [`expr_children`] give the direct children of one
//! node, for searches that stop early.

use crate::ast::{
    Arg, Block, Body, Comprehension, Decorator, Expr, ExprKind, Field, FieldKey, For, ForBinding,
    Ident, Item, ItemKind, RecordFieldType, SourceFile, StrLit, StrPart, TypeExpr, TypeExprKind,
};

/// Where loop variables are bound.
#[derive(Debug, Clone, Copy)]
pub enum LoopSite<'a> {
    /// A `for` block; its key expression and block see the variables.
    For(&'a For),
    /// A list or map comprehension (`expr` is the whole comprehension);
    /// its filter, key and value see the variables.
    Comprehension { expr: &'a Expr, comprehension: &'a Comprehension },
}

impl<'a> LoopSite<'a> {
    /// The variables bound here.
    pub fn binding(self) -> &'a ForBinding {
        match self {
            LoopSite::For(decl) => &decl.binding,
            LoopSite::Comprehension { comprehension, .. } => &comprehension.binding,
        }
    }

    /// The collection iterated over; it does not see the variables.
    pub fn collection(self) -> &'a Expr {
        match self {
            LoopSite::For(decl) => &decl.collection,
            LoopSite::Comprehension { comprehension, .. } => &comprehension.collection,
        }
    }
}

/// A pass over the tree. Every method defaults to visiting all children.
pub trait Visitor<'a> {
    fn visit_file(&mut self, file: &'a SourceFile) {
        walk_file(self, file)
    }

    /// A declaration or block statement, at any depth.
    fn visit_item(&mut self, item: &'a Item) {
        walk_item(self, item)
    }

    fn visit_decorator(&mut self, decorator: &'a Decorator) {
        walk_decorator(self, decorator)
    }

    /// An argument of a decorator or a call.
    fn visit_arg(&mut self, arg: &'a Arg) {
        walk_arg(self, arg)
    }

    /// The block of an `if` branch, a `for` or a `policy`.
    fn visit_block(&mut self, block: &'a Block) {
        walk_block(self, block)
    }

    /// The body of a resource, data, module or provider.
    fn visit_body(&mut self, body: &'a Body) {
        walk_body(self, body)
    }

    /// A field of a body or of an object literal.
    fn visit_field(&mut self, field: &'a Field) {
        walk_field(self, field)
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        walk_expr(self, expr)
    }

    fn visit_str_lit(&mut self, lit: &'a StrLit) {
        walk_str_lit(self, lit)
    }

    fn visit_type(&mut self, ty: &'a TypeExpr) {
        walk_type(self, ty)
    }

    fn visit_record_field_type(&mut self, field: &'a RecordFieldType) {
        walk_record_field_type(self, field)
    }

    /// The variables of `site` become visible.
    fn enter_loop(&mut self, site: LoopSite<'a>) {
        let _ = site;
    }

    /// The variables of `site` go out of sight.
    fn leave_loop(&mut self, site: LoopSite<'a>) {
        let _ = site;
    }
}

pub fn walk_file<'a, V: Visitor<'a> + ?Sized>(visitor: &mut V, file: &'a SourceFile) {
    walk_items(visitor, &file.items);
}

pub fn walk_items<'a, V: Visitor<'a> + ?Sized>(visitor: &mut V, items: &'a [Item]) {
    for item in items {
        visitor.visit_item(item);
    }
}

pub fn walk_item<'a, V: Visitor<'a> + ?Sized>(visitor: &mut V, item: &'a Item) {
    for decorator in &item.decorators {
        visitor.visit_decorator(decorator);
    }
    match &item.kind {
        ItemKind::Param(param) => {
            visitor.visit_type(&param.ty);
            if let Some(default) = &param.default {
                visitor.visit_expr(default);
            }
        }
        ItemKind::Let(decl) => {
            if let Some(ty) = &decl.ty {
                visitor.visit_type(ty);
            }
            visitor.visit_expr(&decl.value);
        }
        ItemKind::TypeAlias(alias) => visitor.visit_type(&alias.ty),
        ItemKind::Resource(resource) | ItemKind::Data(resource) => {
            visitor.visit_body(&resource.body)
        }
        ItemKind::Output(output) => {
            if let Some(ty) = &output.ty {
                visitor.visit_type(ty);
            }
            visitor.visit_expr(&output.value);
        }
        ItemKind::Module(module) => {
            visitor.visit_expr(&module.source);
            visitor.visit_body(&module.body);
        }
        ItemKind::Import(import) => visitor.visit_expr(&import.source),
        ItemKind::Provider(provider) => visitor.visit_body(&provider.body),
        // `moved`/`import`/`removed`: `from`/`to` are addresses written as
        // expressions, `id` and `destroy` values.
        ItemKind::Lifecycle(block) => visitor.visit_body(&block.body),
        ItemKind::Mock(mock) => visitor.visit_body(&mock.body),
        ItemKind::Test(test) => visitor.visit_block(&test.block),
        ItemKind::Setting(field) => visitor.visit_field(field),
        ItemKind::Assert(assert) | ItemKind::Warn(assert) => {
            visitor.visit_expr(&assert.condition);
            visitor.visit_expr(&assert.message);
        }
        ItemKind::Policy(policy) => visitor.visit_block(&policy.block),
        ItemKind::If(decl) => {
            for (condition, block) in &decl.branches {
                visitor.visit_expr(condition);
                visitor.visit_block(block);
            }
            if let Some(block) = &decl.else_block {
                visitor.visit_block(block);
            }
        }
        ItemKind::For(decl) => {
            visitor.visit_expr(&decl.collection);
            let site = LoopSite::For(decl);
            visitor.enter_loop(site);
            if let Some(key) = &decl.key {
                visitor.visit_expr(key);
            }
            visitor.visit_block(&decl.block);
            visitor.leave_loop(site);
        }
        ItemKind::Error => {}
    }
}

pub fn walk_decorator<'a, V: Visitor<'a> + ?Sized>(visitor: &mut V, decorator: &'a Decorator) {
    for arg in decorator.args.iter().flatten() {
        visitor.visit_arg(arg);
    }
}

pub fn walk_arg<'a, V: Visitor<'a> + ?Sized>(visitor: &mut V, arg: &'a Arg) {
    visitor.visit_expr(&arg.value);
}

pub fn walk_block<'a, V: Visitor<'a> + ?Sized>(visitor: &mut V, block: &'a Block) {
    walk_items(visitor, &block.items);
}

pub fn walk_body<'a, V: Visitor<'a> + ?Sized>(visitor: &mut V, body: &'a Body) {
    for field in &body.fields {
        visitor.visit_field(field);
    }
}

pub fn walk_field<'a, V: Visitor<'a> + ?Sized>(visitor: &mut V, field: &'a Field) {
    match &field.key {
        FieldKey::Name(_) => {}
        FieldKey::Quoted(lit) => visitor.visit_str_lit(lit),
    }
    visitor.visit_expr(&field.value);
}

pub fn walk_str_lit<'a, V: Visitor<'a> + ?Sized>(visitor: &mut V, lit: &'a StrLit) {
    for part in &lit.parts {
        match part {
            StrPart::Text { .. } => {}
            StrPart::Interpolation(inner) => visitor.visit_expr(inner),
        }
    }
}

pub fn walk_expr<'a, V: Visitor<'a> + ?Sized>(visitor: &mut V, expr: &'a Expr) {
    match &expr.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Duration { .. }
        | ExprKind::Bool(_)
        | ExprKind::None
        | ExprKind::Ident(_)
        | ExprKind::Error => {}
        ExprKind::Str(lit) => visitor.visit_str_lit(lit),
        ExprKind::List(items) => {
            for item in items {
                visitor.visit_expr(item);
            }
        }
        ExprKind::Object(fields) => {
            for field in fields {
                visitor.visit_field(field);
            }
        }
        ExprKind::ListComprehension(comprehension) | ExprKind::MapComprehension(comprehension) => {
            visitor.visit_expr(&comprehension.collection);
            let site = LoopSite::Comprehension { expr, comprehension };
            visitor.enter_loop(site);
            if let Some(condition) = &comprehension.condition {
                visitor.visit_expr(condition);
            }
            if let Some(key) = &comprehension.key {
                visitor.visit_expr(key);
            }
            visitor.visit_expr(&comprehension.value);
            visitor.leave_loop(site);
        }
        ExprKind::Unary { operand, .. } => visitor.visit_expr(operand),
        ExprKind::Binary { lhs, rhs, .. } => {
            visitor.visit_expr(lhs);
            visitor.visit_expr(rhs);
        }
        ExprKind::Conditional { condition, then, otherwise } => {
            visitor.visit_expr(condition);
            visitor.visit_expr(then);
            visitor.visit_expr(otherwise);
        }
        ExprKind::Range { start, end, .. } => {
            visitor.visit_expr(start);
            visitor.visit_expr(end);
        }
        ExprKind::Field { base, .. } => visitor.visit_expr(base),
        ExprKind::Index { base, index } => {
            visitor.visit_expr(base);
            visitor.visit_expr(index);
        }
        ExprKind::Call { callee, args } => {
            visitor.visit_expr(callee);
            for arg in args {
                visitor.visit_arg(arg);
            }
        }
        ExprKind::Paren(inner) => visitor.visit_expr(inner),
    }
}

pub fn walk_type<'a, V: Visitor<'a> + ?Sized>(visitor: &mut V, ty: &'a TypeExpr) {
    match &ty.kind {
        TypeExprKind::Named(_) | TypeExprKind::Literal(_) | TypeExprKind::Error => {}
        TypeExprKind::Generic { args, .. } => {
            for arg in args {
                visitor.visit_type(arg);
            }
        }
        TypeExprKind::Record(fields) => {
            for field in fields {
                visitor.visit_record_field_type(field);
            }
        }
        TypeExprKind::Optional(inner) | TypeExprKind::Paren(inner) => visitor.visit_type(inner),
        TypeExprKind::Union(members) => {
            for member in members {
                visitor.visit_type(member);
            }
        }
    }
}

pub fn walk_record_field_type<'a, V: Visitor<'a> + ?Sized>(
    visitor: &mut V,
    field: &'a RecordFieldType,
) {
    visitor.visit_type(&field.ty);
}

/// The name `item` declares, where it is written: a param's, a resource's,
/// an import's alias. `None` for items that declare no name (`assert`,
/// `if`, `for`, lifecycle blocks).
pub fn item_name(item: &Item) -> Option<&Ident> {
    match &item.kind {
        ItemKind::Param(param) => Some(&param.name),
        ItemKind::Let(decl) => Some(&decl.name),
        ItemKind::TypeAlias(alias) => Some(&alias.name),
        ItemKind::Resource(resource) | ItemKind::Data(resource) => Some(&resource.name),
        ItemKind::Output(output) => Some(&output.name),
        ItemKind::Module(module) => Some(&module.name),
        ItemKind::Import(import) => Some(&import.alias),
        ItemKind::Provider(provider) => Some(&provider.name),
        ItemKind::Policy(policy) => Some(&policy.name),
        // A test's name names no declaration: nothing refers to it.
        ItemKind::Lifecycle(_)
        | ItemKind::Mock(_)
        | ItemKind::Test(_)
        | ItemKind::Setting(_)
        | ItemKind::Assert(_)
        | ItemKind::Warn(_)
        | ItemKind::If(_)
        | ItemKind::For(_)
        | ItemKind::Error => None,
    }
}

/// The `{ field = value }` body of `item`: of a resource, data, module,
/// provider, lifecycle block or mock.
pub fn item_body(item: &Item) -> Option<&Body> {
    match &item.kind {
        ItemKind::Resource(resource) | ItemKind::Data(resource) => Some(&resource.body),
        ItemKind::Module(module) => Some(&module.body),
        ItemKind::Provider(provider) => Some(&provider.body),
        ItemKind::Lifecycle(block) => Some(&block.body),
        ItemKind::Mock(mock) => Some(&mock.body),
        ItemKind::Test(_) | ItemKind::Setting(_) => None,
        ItemKind::Param(_)
        | ItemKind::Let(_)
        | ItemKind::TypeAlias(_)
        | ItemKind::Output(_)
        | ItemKind::Import(_)
        | ItemKind::Assert(_)
        | ItemKind::Warn(_)
        | ItemKind::Policy(_)
        | ItemKind::If(_)
        | ItemKind::For(_)
        | ItemKind::Error => None,
    }
}

/// The blocks directly inside `item`: the branches of an `if` (then its
/// `else`), the block of a `for` or of a `policy`.
pub fn child_blocks(item: &Item) -> Vec<&Block> {
    match &item.kind {
        ItemKind::If(decl) => {
            decl.branches.iter().map(|(_, block)| block).chain(&decl.else_block).collect()
        }
        ItemKind::For(decl) => vec![&decl.block],
        ItemKind::Policy(policy) => vec![&policy.block],
        ItemKind::Test(test) => vec![&test.block],
        ItemKind::Param(_)
        | ItemKind::Let(_)
        | ItemKind::TypeAlias(_)
        | ItemKind::Resource(_)
        | ItemKind::Data(_)
        | ItemKind::Output(_)
        | ItemKind::Module(_)
        | ItemKind::Import(_)
        | ItemKind::Provider(_)
        | ItemKind::Lifecycle(_)
        | ItemKind::Mock(_)
        | ItemKind::Setting(_)
        | ItemKind::Assert(_)
        | ItemKind::Warn(_)
        | ItemKind::Error => Vec::new(),
    }
}

/// The outermost expressions written in `item` itself, outside its child
/// blocks, in source order: decorator arguments, then defaults, values,
/// sources, body fields, conditions, and a `for`'s collection and key.
pub fn item_exprs(item: &Item) -> Vec<&Expr> {
    let mut out: Vec<&Expr> = Vec::new();
    for decorator in &item.decorators {
        out.extend(decorator.args.iter().flatten().map(|arg| &arg.value));
    }
    match &item.kind {
        ItemKind::Param(param) => out.extend(&param.default),
        ItemKind::Let(decl) => out.push(&decl.value),
        ItemKind::Output(output) => out.push(&output.value),
        ItemKind::Resource(resource) | ItemKind::Data(resource) => {
            out.extend(fields(&resource.body))
        }
        ItemKind::Module(module) => {
            out.push(&module.source);
            out.extend(fields(&module.body));
        }
        ItemKind::Import(import) => out.push(&import.source),
        ItemKind::Provider(provider) => out.extend(fields(&provider.body)),
        ItemKind::Lifecycle(block) => out.extend(fields(&block.body)),
        ItemKind::Mock(mock) => out.extend(fields(&mock.body)),
        ItemKind::Setting(field) => out.push(&field.value),
        ItemKind::Assert(assert) | ItemKind::Warn(assert) => {
            out.push(&assert.condition);
            out.push(&assert.message);
        }
        ItemKind::If(decl) => out.extend(decl.branches.iter().map(|(condition, _)| condition)),
        ItemKind::For(decl) => {
            out.push(&decl.collection);
            out.extend(&decl.key);
        }
        ItemKind::TypeAlias(_) | ItemKind::Policy(_) | ItemKind::Test(_) | ItemKind::Error => {}
    }
    out
}

/// The direct sub-expressions of `expr`, in source order (with the
/// interpolations of quoted object keys).
pub fn expr_children(expr: &Expr) -> Vec<&Expr> {
    match &expr.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Duration { .. }
        | ExprKind::Bool(_)
        | ExprKind::None
        | ExprKind::Ident(_)
        | ExprKind::Error => Vec::new(),
        ExprKind::Str(lit) => str_interpolations(lit).collect(),
        ExprKind::List(items) => items.iter().collect(),
        ExprKind::Object(fields) => {
            let mut out = Vec::new();
            for field in fields {
                match &field.key {
                    FieldKey::Name(_) => {}
                    FieldKey::Quoted(lit) => out.extend(str_interpolations(lit)),
                }
                out.push(&field.value);
            }
            out
        }
        ExprKind::ListComprehension(comprehension) | ExprKind::MapComprehension(comprehension) => {
            let mut out = vec![&comprehension.collection];
            out.extend(&comprehension.condition);
            out.extend(&comprehension.key);
            out.push(&comprehension.value);
            out
        }
        ExprKind::Unary { operand, .. } => vec![operand],
        ExprKind::Binary { lhs, rhs, .. } => vec![lhs, rhs],
        ExprKind::Conditional { condition, then, otherwise } => vec![condition, then, otherwise],
        ExprKind::Range { start, end, .. } => vec![start, end],
        ExprKind::Field { base, .. } => vec![base],
        ExprKind::Index { base, index } => vec![base, index],
        ExprKind::Call { callee, args } => {
            let mut out = vec![callee.as_ref()];
            out.extend(args.iter().map(|arg| &arg.value));
            out
        }
        ExprKind::Paren(inner) => vec![inner],
    }
}

fn fields(body: &Body) -> impl Iterator<Item = &Expr> {
    body.fields.iter().map(|field| &field.value)
}

/// The `${...}` expressions of a string literal.
fn str_interpolations(lit: &StrLit) -> impl Iterator<Item = &Expr> {
    lit.parts.iter().filter_map(|part| match part {
        StrPart::Interpolation(inner) => Some(inner),
        StrPart::Text { .. } => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{ExprId, Ident};
    use crate::{FileId, parse};

    /// Every item kind and every expression kind at least once, inside
    /// `for`, `if` and `policy` blocks too, with decorators, types and
    /// interpolated object keys.
    const EVERYTHING: &str = r#"
import "./common.orch" as common
@description("the ${"env"}")
param env: "dev" | "prod" = "dev"
param limits: { cpu: float, memory?: list<map<int>> }? = none
let n: int = (1 + 2) * -3 % 4
let flags = [true, false, !true, none, 1.5, 30s]
let ranges = [0..3, 1..=n]
let pick = env == "prod" ? limits?.cpu ?? 1.0 : 0.5
let calls = upper(trim(" x "))[0]
let bad = [1 +]
let objects = { a = 1, "k-${env}" = 2 }
let lists = [for i, x in ranges if i > 0: x]
let maps = { for k, v in objects: "${k}" => v }
type Service = { name: string, port: (int) }
provider pg as replica { url = "postgres://${env}" }
@retry(attempts = 3)
resource dir: fs.dir { path = "/srv/${env}" }
data home: env.var { name = "HOME" }
module db: "./db.orch" { name = env }
output path: string = dir.path
moved {
  from = old_dir
  to   = dir
}
assert n > 0, "n is ${n}"
warn n < 10, "big"
mock fs.file { sha256 = "${env}" }
test t {
  vars = { env = "prod" }
  assert n > 0, "test ${n}"
}
for svc in ranges key "${svc}" {
  let inner = svc + 1
  if inner > 1 {
    resource conf: fs.file { path = "/srv/${inner}", content = "" }
  } else if inner == 0 {
    warn true, "zero"
  } else {
    let other = [for y in [inner]: y + svc]
  }
}
policy small {
  for f in resources(fs.file) {
    assert f.mode <= 420, "${f.path}"
  }
}
resource broken fs.file {
"#;

    /// What a visitor saw.
    #[derive(Default)]
    struct Seen<'a> {
        exprs: Vec<ExprId>,
        items: Vec<usize>,
        expr_kinds: Vec<usize>,
        types: usize,
        blocks: usize,
        /// Loop variables in scope, innermost last.
        loops: Vec<&'a ForBinding>,
        /// Every identifier expression with the loop variables around it.
        idents: Vec<(&'a Ident, Vec<&'a str>)>,
        max_depth: usize,
    }

    /// One index per item kind; a new kind must be added here.
    fn item_index(kind: &ItemKind) -> usize {
        match kind {
            ItemKind::Param(_) => 0,
            ItemKind::Let(_) => 1,
            ItemKind::TypeAlias(_) => 2,
            ItemKind::Resource(_) => 3,
            ItemKind::Data(_) => 4,
            ItemKind::Output(_) => 5,
            ItemKind::Module(_) => 6,
            ItemKind::Import(_) => 7,
            ItemKind::Provider(_) => 8,
            ItemKind::Assert(_) => 9,
            ItemKind::Warn(_) => 10,
            ItemKind::Policy(_) => 11,
            ItemKind::If(_) => 12,
            ItemKind::For(_) => 13,
            ItemKind::Error => 14,
            ItemKind::Lifecycle(_) => 15,
            ItemKind::Mock(_) => 16,
            ItemKind::Test(_) => 17,
            ItemKind::Setting(_) => 18,
        }
    }
    const ITEM_KINDS: usize = 19;

    /// One index per expression kind; a new kind must be added here.
    fn expr_index(kind: &ExprKind) -> usize {
        match kind {
            ExprKind::Int(_) => 0,
            ExprKind::Float(_) => 1,
            ExprKind::Duration { .. } => 2,
            ExprKind::Bool(_) => 3,
            ExprKind::None => 4,
            ExprKind::Str(_) => 5,
            ExprKind::Ident(_) => 6,
            ExprKind::List(_) => 7,
            ExprKind::Object(_) => 8,
            ExprKind::ListComprehension(_) => 9,
            ExprKind::MapComprehension(_) => 10,
            ExprKind::Unary { .. } => 11,
            ExprKind::Binary { .. } => 12,
            ExprKind::Conditional { .. } => 13,
            ExprKind::Range { .. } => 14,
            ExprKind::Field { .. } => 15,
            ExprKind::Index { .. } => 16,
            ExprKind::Call { .. } => 17,
            ExprKind::Paren(_) => 18,
            ExprKind::Error => 19,
        }
    }
    const EXPR_KINDS: usize = 20;

    impl<'a> Visitor<'a> for Seen<'a> {
        fn visit_item(&mut self, item: &'a Item) {
            self.items.push(item_index(&item.kind));
            walk_item(self, item);
        }

        fn visit_block(&mut self, block: &'a Block) {
            self.blocks += 1;
            walk_block(self, block);
        }

        fn visit_expr(&mut self, expr: &'a Expr) {
            self.exprs.push(expr.id);
            self.expr_kinds.push(expr_index(&expr.kind));
            if let ExprKind::Ident(ident) = &expr.kind {
                let names = self
                    .loops
                    .iter()
                    .flat_map(|b| std::iter::once(&b.first).chain(&b.second))
                    .map(|i| i.name.as_str())
                    .collect();
                self.idents.push((ident, names));
            }
            walk_expr(self, expr);
        }

        fn visit_type(&mut self, ty: &'a TypeExpr) {
            self.types += 1;
            walk_type(self, ty);
        }

        fn enter_loop(&mut self, site: LoopSite<'a>) {
            self.loops.push(site.binding());
            self.max_depth = self.max_depth.max(self.loops.len());
        }

        fn leave_loop(&mut self, site: LoopSite<'a>) {
            let left = self.loops.pop().expect("a loop left that was not entered");
            assert!(std::ptr::eq(left, site.binding()), "loops left out of order");
        }
    }

    fn seen(file: &SourceFile) -> Seen<'_> {
        let mut seen = Seen::default();
        seen.visit_file(file);
        seen
    }

    #[test]
    fn every_expression_is_visited_once_in_numbering_order() {
        let parsed = parse(FileId(0), EVERYTHING);
        let mut numbered = 0u32;
        let mut copy = parsed.file.clone();
        for item in &mut copy.items {
            crate::post::walk_item_exprs(item, &mut |_| numbered += 1);
        }
        let seen = seen(&parsed.file);
        let expected: Vec<ExprId> = (0..numbered).map(ExprId).collect();
        assert!(numbered > 100, "the fixture has {numbered} expressions");
        assert_eq!(seen.exprs, expected);
    }

    #[test]
    fn every_item_and_expression_kind_is_reached() {
        let parsed = parse(FileId(0), EVERYTHING);
        let seen = seen(&parsed.file);
        for kind in 0..ITEM_KINDS {
            assert!(seen.items.contains(&kind), "no item of kind {kind} was visited");
        }
        for kind in 0..EXPR_KINDS {
            assert!(seen.expr_kinds.contains(&kind), "no expression of kind {kind} was visited");
        }
        // if/else if/else (3), for (2), policy (1), test (1).
        assert_eq!(seen.blocks, 7);
        // env (a union of two literals: 3), limits (optional, record,
        // float, list, map, int: 6), n (1), path (1), Service (record,
        // string, paren, int: 4).
        assert_eq!(seen.types, 15);
    }

    #[test]
    fn loops_are_entered_around_what_sees_their_variables() {
        let parsed = parse(FileId(0), EVERYTHING);
        let seen = seen(&parsed.file);
        assert!(seen.loops.is_empty());
        assert_eq!(seen.max_depth, 2);
        let around = |name: &str| -> Vec<Vec<&str>> {
            seen.idents
                .iter()
                .filter(|(ident, _)| ident.name == name)
                .map(|(_, names)| names.clone())
                .collect()
        };
        // `ranges` is iterated by the comprehension of `lists` and by the
        // `for`: neither collection sees its own variables.
        assert_eq!(around("ranges"), vec![Vec::<&str>::new(), vec![]]);
        // The filter and value of `[for i, x in ranges if i > 0: x]`.
        assert_eq!(around("i"), vec![vec!["i", "x"]]);
        // The key `"${svc}"`, `svc + 1` and `y + svc`.
        assert_eq!(around("svc"), vec![vec!["svc"], vec!["svc"], vec!["svc", "y"]]);
        // `[inner]` is the collection of the inner comprehension.
        assert_eq!(around("inner").last(), Some(&vec!["svc"]));
        assert_eq!(around("f"), vec![vec!["f"], vec!["f"]]);
    }

    #[test]
    fn direct_children_agree_with_the_walk() {
        struct Children<'a>(Vec<&'a Expr>);
        impl<'a> Visitor<'a> for Children<'a> {
            fn visit_item(&mut self, item: &'a Item) {
                self.0.extend(item_exprs(item));
                for block in child_blocks(item) {
                    walk_block(self, block);
                }
            }
            fn visit_expr(&mut self, _: &'a Expr) {}
        }
        let parsed = parse(FileId(0), EVERYTHING);
        // The outermost expressions of each item, then all below them.
        let mut roots = Children(Vec::new());
        roots.visit_file(&parsed.file);
        let mut all: Vec<ExprId> = Vec::new();
        let mut stack: Vec<&Expr> = roots.0.into_iter().rev().collect();
        while let Some(expr) = stack.pop() {
            all.push(expr.id);
            stack.extend(expr_children(expr).into_iter().rev());
        }
        // `item_exprs` gives all the conditions of an `if` before its
        // blocks, so the order differs there; each is reached once.
        all.sort();
        let walked = seen(&parsed.file).exprs;
        assert_eq!(all, walked);
    }
}
