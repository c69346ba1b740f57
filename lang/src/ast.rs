//! The syntax tree. It records what was written, with spans, and nothing
//! semantic: names are not resolved and no types are attached. Later passes
//! key their side tables by [`ExprId`] or by span.
//!
//! Broken input becomes `Error` nodes so that a tree always exists.

pub use smol_str::SmolStr;

use crate::span::Span;
use crate::token::DurationUnit;

/// Identifies an expression within one parsed file, in source order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ExprId(pub u32);

/// A parsed file: a module's top-level declarations.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceFile {
    pub items: Vec<Item>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: SmolStr,
    pub span: Span,
}

/// A dotted name such as `fs.file` or `common.Service`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub segments: Vec<Ident>,
    pub span: Span,
}

impl Path {
    /// The path as written, with dots.
    pub fn to_dotted(&self) -> String {
        let names: Vec<&str> = self.segments.iter().map(|s| s.name.as_str()).collect();
        names.join(".")
    }
}

/// A declaration or block statement, with its doc comment and decorators.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The text of the `///` comments right above the item, one line each,
    /// without the slashes.
    pub docs: Option<String>,
    pub decorators: Vec<Decorator>,
    pub kind: ItemKind,
    /// Covers the decorators and the declaration.
    pub span: Span,
}

/// `@name` or `@name(args)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Decorator {
    pub name: Ident,
    /// `None` when written without parentheses.
    pub args: Option<Vec<Arg>>,
    pub span: Span,
}

/// A call or decorator argument, optionally named (`attempts = 3`).
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    Param(Param),
    Let(Let),
    TypeAlias(TypeAlias),
    Resource(Resource),
    Data(Resource),
    Output(Output),
    Module(Module),
    Import(Import),
    Provider(Provider),
    Assert(Assert),
    Warn(Assert),
    Policy(Policy),
    If(If),
    For(For),
    /// A `moved`, `import { }` or `removed` block (LANGUAGE.md §11).
    Lifecycle(Lifecycle),
    /// `mock KIND { ... }` or `mock data KIND { ... }` in a test file
    /// (LANGUAGE.md §12).
    Mock(Mock),
    /// `test NAME { ... }` in a test file.
    Test(Test),
    /// `NAME = EXPR` among the statements of a `test` block (`vars`,
    /// `command`, `expect_errors`).
    Setting(Field),
    /// A declaration that could not be parsed; a diagnostic was reported.
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Let {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypeAlias {
    pub name: Ident,
    pub ty: TypeExpr,
}

/// A `resource` or `data` declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub name: Ident,
    pub kind: Path,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    pub name: Ident,
    /// The module's path; the checker requires a plain string literal.
    pub source: Expr,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// The imported file; the checker requires a plain string literal.
    pub source: Expr,
    pub alias: Ident,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    pub name: Ident,
    pub alias: Option<Ident>,
    pub body: Body,
}

/// `assert COND, MESSAGE` or `warn COND, MESSAGE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Assert {
    pub condition: Expr,
    pub message: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub name: Ident,
    pub block: Block,
}

/// `moved { from = A  to = B }`, `import { to = A  id = E }` or
/// `removed { from = A  destroy = B }`. The body is kept as written; the
/// checker reads `from`/`to` as instance addresses (§9), not expressions.
#[derive(Debug, Clone, PartialEq)]
pub struct Lifecycle {
    pub kind: LifecycleKind,
    /// The `moved`, `import` or `removed` keyword.
    pub keyword: Span,
    pub body: Body,
}

/// Which lifecycle block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifecycleKind {
    Moved,
    Import,
    Removed,
}

impl LifecycleKind {
    /// The keyword that starts the block.
    pub fn keyword(self) -> &'static str {
        match self {
            LifecycleKind::Moved => "moved",
            LifecycleKind::Import => "import",
            LifecycleKind::Removed => "removed",
        }
    }
}

/// `mock fs.file { sha256 = "0000" }`: what a mocked provider answers
/// for every instance of `kind` (`data`: a data source's look-up).
#[derive(Debug, Clone, PartialEq)]
pub struct Mock {
    /// The `mock` keyword.
    pub keyword: Span,
    pub data: bool,
    pub kind: Path,
    pub body: Body,
}

/// `test NAME { vars = { ... }  assert ... }`: settings (`ItemKind::Setting`)
/// and assertions, in source order.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    /// The `test` keyword.
    pub keyword: Span,
    pub name: Ident,
    pub block: Block,
}

/// `if c { } else if d { } else { }`.
#[derive(Debug, Clone, PartialEq)]
pub struct If {
    /// Each condition with its block, in order; at least one.
    pub branches: Vec<(Expr, Block)>,
    pub else_block: Option<Block>,
}

/// `for x in xs key e { }`, `for k, v in m { }`.
#[derive(Debug, Clone, PartialEq)]
pub struct For {
    pub binding: ForBinding,
    pub collection: Expr,
    pub key: Option<Expr>,
    pub block: Block,
}

/// The variables of a `for`: one name, or a key/index and a value.
#[derive(Debug, Clone, PartialEq)]
pub struct ForBinding {
    /// With two names, the first is the key or index.
    pub first: Ident,
    pub second: Option<Ident>,
}

/// A `{ ... }` of declarations inside `if`, `for` or `policy`.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub items: Vec<Item>,
    pub span: Span,
}

/// The `{ NAME = EXPR ... }` of a resource, data, module or provider.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    pub fields: Vec<Field>,
    pub span: Span,
}

/// `NAME = EXPR` in a body or object literal.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub docs: Option<String>,
    pub key: FieldKey,
    pub value: Expr,
    pub span: Span,
}

/// A field name: any identifier or keyword, or a quoted string in object
/// literals (`"b-c" = 2`).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKey {
    Name(Ident),
    Quoted(StrLit),
}

impl FieldKey {
    pub fn span(&self) -> Span {
        match self {
            FieldKey::Name(ident) => ident.span,
            FieldKey::Quoted(lit) => lit.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypeExprKind {
    /// `string`, `Service`, `common.Service`, `fs.file`.
    Named(Path),
    /// `list<T>`, `map<T>`, `secret<T>`.
    Generic {
        name: Path,
        args: Vec<TypeExpr>,
    },
    /// `{ f: T, g?: U }`.
    Record(Vec<RecordFieldType>),
    /// `T?`.
    Optional(Box<TypeExpr>),
    /// A string literal type, a member of an enum union.
    Literal(String),
    /// `A | B | C`.
    Union(Vec<TypeExpr>),
    /// `(T)`, kept so the formatter reproduces it.
    Paren(Box<TypeExpr>),
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecordFieldType {
    pub docs: Option<String>,
    pub name: Ident,
    pub optional: bool,
    pub ty: TypeExpr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub id: ExprId,
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Coalesce,
    Or,
    And,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Coalesce => "??",
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::Eq => "==",
            BinaryOp::NotEq => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }

    /// Binding strength; higher binds tighter. Ranges sit between
    /// comparisons (5) and additive operators (7) at [`RANGE_PRECEDENCE`];
    /// the conditional `? :` binds more loosely than all of them.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Coalesce => 1,
            BinaryOp::Or => 2,
            BinaryOp::And => 3,
            BinaryOp::Eq | BinaryOp::NotEq => 4,
            BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq => 5,
            BinaryOp::Add | BinaryOp::Sub => 7,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 8,
        }
    }
}

/// Precedence of `..` and `..=`, between comparisons and `+`/`-`.
pub const RANGE_PRECEDENCE: u8 = 6;

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Duration {
        value: i64,
        unit: DurationUnit,
    },
    Bool(bool),
    None,
    Str(StrLit),
    Ident(Ident),
    List(Vec<Expr>),
    Object(Vec<Field>),
    /// `[for x in xs if c: body]`.
    ListComprehension(Box<Comprehension>),
    /// `{for k, v in m if c: key => value}`.
    MapComprehension(Box<Comprehension>),
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `cond ? a : b`.
    Conditional {
        condition: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    Range {
        start: Box<Expr>,
        end: Box<Expr>,
        inclusive: bool,
    },
    /// `base.name` or `base?.name`.
    Field {
        base: Box<Expr>,
        name: Ident,
        optional: bool,
    },
    Index {
        base: Box<Expr>,
        index: Box<Expr>,
    },
    Call {
        callee: Box<Expr>,
        args: Vec<Arg>,
    },
    Paren(Box<Expr>),
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comprehension {
    pub binding: ForBinding,
    pub collection: Expr,
    pub condition: Option<Expr>,
    /// The key of a map comprehension; `None` for lists.
    pub key: Option<Expr>,
    pub value: Expr,
}

/// A string literal, after escapes and multi-line indentation are
/// processed.
#[derive(Debug, Clone, PartialEq)]
pub struct StrLit {
    pub parts: Vec<StrPart>,
    pub multiline: bool,
    pub span: Span,
}

impl StrLit {
    /// The text, if the literal has no interpolation.
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                StrPart::Text { value, .. } => out.push_str(value),
                StrPart::Interpolation(_) => return None,
            }
        }
        Some(out)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum StrPart {
    /// Literal text: `value` is the decoded text, `raw` the source text
    /// (escapes intact, multi-line indentation removed).
    Text {
        value: SmolStr,
        raw: SmolStr,
        span: Span,
    },
    Interpolation(Expr),
}
