//! A span-free text dump of the syntax tree, for snapshot tests and for
//! checking that formatting keeps the tree.
//!
//! One node per line, children indented two spaces under their parent. A
//! line is `[role: ]kind [details]`; the role names a child's place where
//! the position alone would not tell (`default:`, `key:`, `else:`). Names
//! are printed bare, string values and doc comments quoted with Rust's
//! escapes. Spans and expression ids are left out; everything else the
//! tree holds is in the dump, so two trees dump the same exactly when they
//! are equal modulo spans and ids.
//!
//! ```text
//! param env
//!   docs "Deployment environment."
//!   @description()
//!     arg: str "Which environment to deploy"
//!   type: union
//!     literal "dev"
//!     literal "prod"
//!   default: str "dev"
//! ```

use crate::ast::{
    Arg, Block, Body, Comprehension, Decorator, Expr, ExprKind, Field, FieldKey, ForBinding, Item,
    ItemKind, RecordFieldType, SourceFile, StrLit, StrPart, TypeExpr, TypeExprKind, UnaryOp,
};

/// Dumps a whole file.
pub fn dump(file: &SourceFile) -> String {
    let mut dumper = Dumper::default();
    dumper.line("", "file");
    dumper.nested(|d| d.items(&file.items));
    dumper.out
}

/// Dumps one declaration.
pub fn dump_item(item: &Item) -> String {
    let mut dumper = Dumper::default();
    dumper.item(item);
    dumper.out
}

/// Dumps one expression.
pub fn dump_expr(expr: &Expr) -> String {
    let mut dumper = Dumper::default();
    dumper.expr("", expr);
    dumper.out
}

/// Dumps one type expression.
pub fn dump_type(ty: &TypeExpr) -> String {
    let mut dumper = Dumper::default();
    dumper.ty("", ty);
    dumper.out
}

#[derive(Default)]
struct Dumper {
    out: String,
    depth: usize,
}

impl Dumper {
    fn line(&mut self, role: &str, text: &str) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push_str(role);
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self)) {
        self.depth += 1;
        f(self);
        self.depth -= 1;
    }

    fn docs(&mut self, docs: &Option<String>) {
        if let Some(docs) = docs {
            self.line("", &format!("docs {docs:?}"));
        }
    }

    fn items(&mut self, items: &[Item]) {
        for item in items {
            self.item(item);
        }
    }

    fn item(&mut self, item: &Item) {
        let header = match &item.kind {
            ItemKind::Param(param) => format!("param {}", param.name.name),
            ItemKind::Let(decl) => format!("let {}", decl.name.name),
            ItemKind::TypeAlias(alias) => format!("type {}", alias.name.name),
            ItemKind::Resource(resource) => {
                format!("resource {}: {}", resource.name.name, resource.kind.to_dotted())
            }
            ItemKind::Data(resource) => {
                format!("data {}: {}", resource.name.name, resource.kind.to_dotted())
            }
            ItemKind::Output(output) => format!("output {}", output.name.name),
            ItemKind::Module(module) => format!("module {}", module.name.name),
            ItemKind::Import(import) => format!("import as {}", import.alias.name),
            ItemKind::Provider(provider) => match &provider.alias {
                Some(alias) => format!("provider {} as {}", provider.name.name, alias.name),
                None => format!("provider {}", provider.name.name),
            },
            ItemKind::Assert(_) => "assert".to_string(),
            ItemKind::Warn(_) => "warn".to_string(),
            ItemKind::Policy(policy) => format!("policy {}", policy.name.name),
            ItemKind::Lifecycle(block) => format!("{} block", block.kind.keyword()),
            ItemKind::Mock(mock) => {
                format!("mock {}{}", if mock.data { "data " } else { "" }, mock.kind.to_dotted())
            }
            ItemKind::Test(test) => format!("test {}", test.name.name),
            ItemKind::Setting(_) => "setting".to_string(),
            ItemKind::If(_) => "if".to_string(),
            ItemKind::For(decl) => format!("for {}", binding(&decl.binding)),
            ItemKind::Error => "error".to_string(),
        };
        self.line("", &header);
        self.nested(|d| {
            d.docs(&item.docs);
            for decorator in &item.decorators {
                d.decorator(decorator);
            }
            d.item_children(&item.kind);
        });
    }

    fn item_children(&mut self, kind: &ItemKind) {
        match kind {
            ItemKind::Param(param) => {
                self.ty("type: ", &param.ty);
                if let Some(default) = &param.default {
                    self.expr("default: ", default);
                }
            }
            ItemKind::Let(decl) => {
                if let Some(ty) = &decl.ty {
                    self.ty("type: ", ty);
                }
                self.expr("value: ", &decl.value);
            }
            ItemKind::TypeAlias(alias) => self.ty("", &alias.ty),
            ItemKind::Resource(resource) | ItemKind::Data(resource) => self.body(&resource.body),
            ItemKind::Output(output) => {
                if let Some(ty) = &output.ty {
                    self.ty("type: ", ty);
                }
                self.expr("value: ", &output.value);
            }
            ItemKind::Module(module) => {
                self.expr("source: ", &module.source);
                self.body(&module.body);
            }
            ItemKind::Import(import) => self.expr("source: ", &import.source),
            ItemKind::Provider(provider) => self.body(&provider.body),
            ItemKind::Lifecycle(block) => self.body(&block.body),
            ItemKind::Mock(mock) => self.body(&mock.body),
            ItemKind::Test(test) => self.block(&test.block),
            ItemKind::Setting(field) => self.fields(std::slice::from_ref(field)),
            ItemKind::Assert(assert) | ItemKind::Warn(assert) => {
                self.expr("condition: ", &assert.condition);
                self.expr("message: ", &assert.message);
            }
            ItemKind::Policy(policy) => self.block(&policy.block),
            ItemKind::If(decl) => {
                for (condition, block) in &decl.branches {
                    self.line("", "branch");
                    self.nested(|d| {
                        d.expr("condition: ", condition);
                        d.block(block);
                    });
                }
                if let Some(block) = &decl.else_block {
                    self.line("", "else");
                    self.nested(|d| d.block(block));
                }
            }
            ItemKind::For(decl) => {
                self.expr("in: ", &decl.collection);
                if let Some(key) = &decl.key {
                    self.expr("key: ", key);
                }
                self.block(&decl.block);
            }
            ItemKind::Error => {}
        }
    }

    fn decorator(&mut self, decorator: &Decorator) {
        match &decorator.args {
            None => self.line("", &format!("@{}", decorator.name.name)),
            Some(args) => {
                self.line("", &format!("@{}()", decorator.name.name));
                self.nested(|d| d.args(args));
            }
        }
    }

    fn args(&mut self, args: &[Arg]) {
        for arg in args {
            match &arg.name {
                Some(name) => self.expr(&format!("arg {}: ", name.name), &arg.value),
                None => self.expr("arg: ", &arg.value),
            }
        }
    }

    /// A block's declarations, as children of the line above.
    fn block(&mut self, block: &Block) {
        if block.items.is_empty() {
            self.line("", "block (empty)");
        } else {
            self.items(&block.items);
        }
    }

    fn body(&mut self, body: &Body) {
        self.fields(&body.fields);
    }

    fn fields(&mut self, fields: &[Field]) {
        for field in fields {
            match &field.key {
                FieldKey::Name(name) => self.line("", &format!("field {}", name.name)),
                FieldKey::Quoted(lit) => match plain(lit).filter(|_| !lit.multiline) {
                    Some(text) => self.line("", &format!("field {text}")),
                    None => {
                        self.line("", "field");
                        self.nested(|d| d.string("key: ", lit));
                    }
                },
            }
            self.nested(|d| {
                d.docs(&field.docs);
                d.expr("", &field.value);
            });
        }
    }

    fn expr(&mut self, role: &str, expr: &Expr) {
        match &expr.kind {
            ExprKind::Int(value) => self.line(role, &format!("int {value}")),
            ExprKind::Float(value) => self.line(role, &format!("float {value:?}")),
            ExprKind::Duration { value, unit } => {
                self.line(role, &format!("duration {value}{}", unit.suffix()))
            }
            ExprKind::Bool(value) => self.line(role, &format!("bool {value}")),
            ExprKind::None => self.line(role, "none"),
            ExprKind::Str(lit) => self.string(role, lit),
            ExprKind::Ident(ident) => self.line(role, &format!("ident {}", ident.name)),
            ExprKind::List(items) => {
                self.line(role, if items.is_empty() { "list (empty)" } else { "list" });
                self.nested(|d| {
                    for item in items {
                        d.expr("", item);
                    }
                });
            }
            ExprKind::Object(fields) => {
                self.line(role, if fields.is_empty() { "object (empty)" } else { "object" });
                self.nested(|d| d.fields(fields));
            }
            ExprKind::ListComprehension(comprehension) => {
                self.comprehension(role, "list-for", comprehension)
            }
            ExprKind::MapComprehension(comprehension) => {
                self.comprehension(role, "map-for", comprehension)
            }
            ExprKind::Unary { op, operand } => {
                let symbol = match op {
                    UnaryOp::Not => "!",
                    UnaryOp::Neg => "-",
                };
                self.line(role, &format!("unary {symbol}"));
                self.nested(|d| d.expr("", operand));
            }
            ExprKind::Binary { op, lhs, rhs } => {
                self.line(role, &format!("binary {}", op.symbol()));
                self.nested(|d| {
                    d.expr("", lhs);
                    d.expr("", rhs);
                });
            }
            ExprKind::Conditional { condition, then, otherwise } => {
                self.line(role, "conditional");
                self.nested(|d| {
                    d.expr("if: ", condition);
                    d.expr("then: ", then);
                    d.expr("else: ", otherwise);
                });
            }
            ExprKind::Range { start, end, inclusive } => {
                self.line(role, if *inclusive { "range ..=" } else { "range .." });
                self.nested(|d| {
                    d.expr("", start);
                    d.expr("", end);
                });
            }
            ExprKind::Field { base, name, optional } => {
                let access = if *optional { "?." } else { "." };
                self.line(role, &format!("member {access}{}", name.name));
                self.nested(|d| d.expr("", base));
            }
            ExprKind::Index { base, index } => {
                self.line(role, "index");
                self.nested(|d| {
                    d.expr("", base);
                    d.expr("index: ", index);
                });
            }
            ExprKind::Call { callee, args } => {
                self.line(role, "call");
                self.nested(|d| {
                    d.expr("callee: ", callee);
                    d.args(args);
                });
            }
            ExprKind::Paren(inner) => {
                self.line(role, "paren");
                self.nested(|d| d.expr("", inner));
            }
            ExprKind::Error => self.line(role, "error"),
        }
    }

    fn comprehension(&mut self, role: &str, kind: &str, comprehension: &Comprehension) {
        self.line(role, &format!("{kind} {}", binding(&comprehension.binding)));
        self.nested(|d| {
            d.expr("in: ", &comprehension.collection);
            if let Some(condition) = &comprehension.condition {
                d.expr("if: ", condition);
            }
            if let Some(key) = &comprehension.key {
                d.expr("key: ", key);
            }
            d.expr("value: ", &comprehension.value);
        });
    }

    /// A string: `str "value"` when it is plain text written without
    /// escapes, otherwise `str` with one line per part (`text "value"`,
    /// followed by `raw "..."` when the source text differs).
    fn string(&mut self, role: &str, lit: &StrLit) {
        let kind = if lit.multiline { "str multiline" } else { "str" };
        if let Some(text) = plain(lit) {
            self.line(role, &format!("{kind} {text}"));
            return;
        }
        self.line(role, kind);
        self.nested(|d| {
            for part in &lit.parts {
                match part {
                    StrPart::Text { value, raw, .. } if value == raw => {
                        d.line("", &format!("text {value:?}"))
                    }
                    StrPart::Text { value, raw, .. } => {
                        d.line("", &format!("text {value:?} raw {raw:?}"))
                    }
                    StrPart::Interpolation(inner) => d.expr("interpolation: ", inner),
                }
            }
        });
    }

    fn ty(&mut self, role: &str, ty: &TypeExpr) {
        match &ty.kind {
            TypeExprKind::Named(path) => self.line(role, &format!("named {}", path.to_dotted())),
            TypeExprKind::Generic { name, args } => {
                self.line(role, &format!("generic {}", name.to_dotted()));
                self.nested(|d| {
                    for arg in args {
                        d.ty("", arg);
                    }
                });
            }
            TypeExprKind::Record(fields) => {
                self.line(role, if fields.is_empty() { "record (empty)" } else { "record" });
                self.nested(|d| {
                    for field in fields {
                        d.record_field(field);
                    }
                });
            }
            TypeExprKind::Optional(inner) => {
                self.line(role, "optional");
                self.nested(|d| d.ty("", inner));
            }
            TypeExprKind::Literal(value) => self.line(role, &format!("literal {value:?}")),
            TypeExprKind::Union(members) => {
                self.line(role, "union");
                self.nested(|d| {
                    for member in members {
                        d.ty("", member);
                    }
                });
            }
            TypeExprKind::Paren(inner) => {
                self.line(role, "paren");
                self.nested(|d| d.ty("", inner));
            }
            TypeExprKind::Error => self.line(role, "error"),
        }
    }

    fn record_field(&mut self, field: &RecordFieldType) {
        let optional = if field.optional { "?" } else { "" };
        self.line("", &format!("field {}{optional}", field.name.name));
        self.nested(|d| {
            d.docs(&field.docs);
            d.ty("", &field.ty);
        });
    }
}

/// `x` or `k, v`.
fn binding(binding: &ForBinding) -> String {
    match &binding.second {
        Some(second) => format!("{}, {}", binding.first.name, second.name),
        None => binding.first.name.to_string(),
    }
}

/// The quoted value of a string made of at most one text part whose source
/// text is its value (no escapes), or `None`.
fn plain(lit: &StrLit) -> Option<String> {
    let mut text = String::new();
    for part in &lit.parts {
        match part {
            StrPart::Text { value, raw, .. } if value == raw => text.push_str(value),
            _ => return None,
        }
    }
    Some(format!("{text:?}"))
}

#[cfg(test)]
mod tests {
    use super::dump;
    use crate::parser::parse;
    use crate::span::FileId;

    fn dump_source(source: &str) -> String {
        let parsed = parse(FileId(0), source);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        dump(&parsed.file)
    }

    #[test]
    fn the_documented_example() {
        let source = "/// Deployment environment.\n@description(\"Which environment to deploy\")\nparam env: \"dev\" | \"prod\" = \"dev\"\n";
        assert_eq!(
            dump_source(source),
            "file\n  param env\n    docs \"Deployment environment.\"\n    @description()\n      arg: str \"Which environment to deploy\"\n    type: union\n      literal \"dev\"\n      literal \"prod\"\n    default: str \"dev\"\n"
        );
    }

    #[test]
    fn spans_and_layout_do_not_matter() {
        assert_eq!(
            dump_source("let x=f(1,2)"),
            dump_source("let   x =\n  f(\n    1,\n    2,\n  )\n")
        );
    }

    #[test]
    fn everything_else_does() {
        let pairs = [
            ("let x = 1", "let x = (1)"),
            ("let x = 1", "let x = 2"),
            ("let x = \"a\"", "let x = \"\"\"\n  a\n  \"\"\""),
            ("let x = \"\\u{41}\"", "let x = \"A\""),
            ("let x = a.b", "let x = a?.b"),
            ("/// a\nlet x = 1", "/// b\nlet x = 1"),
            ("@d\nlet x = 1", "@d()\nlet x = 1"),
            ("param p: int?", "param p: (int)?"),
            ("for a, b in c {}", "for b, a in c {}"),
        ];
        for (left, right) in pairs {
            assert_ne!(dump_source(left), dump_source(right), "{left} vs {right}");
        }
    }

    #[test]
    fn escapes_show_the_source_text() {
        assert_eq!(
            dump_source("let x = \"a\\tb\""),
            "file\n  let x\n    value: str\n      text \"a\\tb\" raw \"a\\\\tb\"\n"
        );
    }
}
