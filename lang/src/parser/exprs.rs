//! Expressions, by precedence from lowest to highest: `? :`, `??`, `||`,
//! `&&`, `== !=`, `< <= > >=`, `..`/`..=`, `+ -`, `* / %`, unary `! -`,
//! postfix `.f ?.f [i] (args)`.

use chumsky::prelude::*;

use super::strings::{RawPart, process_string};
use super::{Rule, RuleExt, SyntaxError, mk_expr};
use crate::ast::SmolStr;
use crate::ast::{
    Arg, BinaryOp, Comprehension, Expr, ExprKind, Field, FieldKey, ForBinding, Ident,
    RANGE_PRECEDENCE, StrLit, UnaryOp,
};
use crate::span::Span;
use crate::token::Token;

/// An identifier (keywords excluded).
pub(crate) fn ident<'t, 's: 't, E: SyntaxError<'t, 's>>() -> Rule<'t, 's, Ident, E> {
    select! { Token::Ident(name) = e => Ident { name: SmolStr::new(name), span: e.span() } }
        .label("identifier")
        .boxed()
}

/// A field name: an identifier or any keyword (`type`, `data`, ...).
pub(crate) fn field_name<'t, 's: 't, E: SyntaxError<'t, 's>>() -> Rule<'t, 's, Ident, E> {
    select! {
        Token::Ident(name) = e => Ident { name: SmolStr::new(name), span: e.span() },
        token = e if token.keyword_text().is_some() => Ident {
            name: SmolStr::new_static(token.keyword_text().unwrap_or_default()),
            span: e.span(),
        },
    }
    .label("field name")
    .boxed()
}

/// A contextual keyword such as `key` or `as`, which is an identifier token.
pub(crate) fn contextual<'t, 's: 't, E: SyntaxError<'t, 's>>(
    word: &'static str,
) -> Rule<'t, 's, (), E> {
    select! { Token::Ident(name) if name == word => () }.label(word).boxed()
}

/// A string literal, with its interpolations parsed by `expr`.
pub(crate) fn string<'t, 's: 't, E: SyntaxError<'t, 's>>(
    expr: Rule<'t, 's, Expr, E>,
) -> Rule<'t, 's, StrLit, E> {
    let interpolation = expr
        .delimited_by(just(Token::InterpStart), just(Token::InterpEnd))
        .recover(via_parser(nested_delimiters(
            Token::InterpStart,
            Token::InterpEnd,
            [
                (Token::LParen, Token::RParen),
                (Token::LBracket, Token::RBracket),
                (Token::LBrace, Token::RBrace),
            ],
            |span| mk_expr(ExprKind::Error, span),
        )))
        .map(RawPart::Interpolation);
    let text = select! { Token::StrText(raw) = e => RawPart::Text(raw, e.span()) };
    select! { Token::StrStart { multiline } => multiline }
        .then(choice((text, interpolation)).repeated().collect::<Vec<_>>())
        .then_ignore(just(Token::StrEnd))
        .map_with(|(multiline, parts), e| StrLit {
            parts: process_string(multiline, parts),
            multiline,
            span: e.span(),
        })
        .label("string")
        .boxed()
}

/// `x` or `k, v` after `for`.
pub(crate) fn for_binding<'t, 's: 't, E: SyntaxError<'t, 's>>() -> Rule<'t, 's, ForBinding, E> {
    ident()
        .then(just(Token::Comma).ignore_then(ident()).or_not())
        .map(|(first, second)| ForBinding { first, second })
        .boxed()
}

/// Arguments of a call or decorator: `(a, name = b,)`.
pub(crate) fn args<'t, 's: 't, E: SyntaxError<'t, 's>>(
    expr: Rule<'t, 's, Expr, E>,
) -> Rule<'t, 's, Vec<Arg>, E> {
    let named = field_name()
        .then_ignore(just(Token::Eq))
        .then(expr.clone())
        .map_with(|(name, value), e| Arg { name: Some(name), value, span: e.span() });
    let positional = expr.map(|value| Arg { span: value.span, name: None, value });
    choice((named, positional))
        .separated_by(just(Token::Comma))
        .allow_trailing()
        .collect::<Vec<_>>()
        .delimited_by(just(Token::LParen), just(Token::RParen))
        .recover(via_parser(nested_delimiters(
            Token::LParen,
            Token::RParen,
            [(Token::LBracket, Token::RBracket), (Token::LBrace, Token::RBrace)],
            |_| Vec::new(),
        )))
        .label("arguments")
        .boxed()
}

/// `NAME = EXPR` fields of bodies and object literals, separated by optional
/// commas. Object literals also accept quoted keys.
pub(crate) fn fields<'t, 's: 't, E: SyntaxError<'t, 's>>(
    expr: Rule<'t, 's, Expr, E>,
    quoted_keys: bool,
) -> Rule<'t, 's, Vec<Field>, E> {
    let name = field_name().map(FieldKey::Name);
    let key = if quoted_keys {
        choice((name, string(expr.clone()).map(FieldKey::Quoted))).boxed()
    } else {
        name.boxed()
    };
    let field = key
        .then_ignore(just(Token::Eq))
        .then(expr.clone())
        .map_with(|(key, value), e| Field { docs: None, key, value, span: e.span() })
        .label("field")
        .then_ignore(just(Token::Comma).or_not());
    if quoted_keys {
        return field.repeated().collect::<Vec<_>>().boxed();
    }
    // A decorator written inside a declaration's body (`@depends_on(a)`
    // among the fields) is reported as such and skipped, so that the
    // fields after it still count: the body is not read as empty, which
    // would report every required field as missing.
    let misplaced = just(Token::At)
        .ignore_then(field_name())
        .then(args(expr).or_not())
        .validate(|_, e, emitter| {
            emitter.emit(E::custom(
                e.span(),
                "a decorator goes before the declaration it applies to, not inside its body",
            ));
        })
        .then_ignore(just(Token::Comma).or_not());
    choice((field.map(Some), misplaced.map(|()| None)))
        .repeated()
        .collect::<Vec<_>>()
        .map(|fields| fields.into_iter().flatten().collect())
        .boxed()
}

pub(crate) fn expr<'t, 's: 't, E: SyntaxError<'t, 's>>() -> Rule<'t, 's, Expr, E> {
    recursive(|expr| {
        let expr: Rule<'t, 's, Expr, E> = expr.boxed();
        let atom = atom(expr.clone());
        let postfix = postfix(atom, expr.clone());
        let unary = unary(postfix);
        let infix = infix(unary);
        conditional(infix, expr)
    })
    .label("expression")
    .boxed()
}

fn atom<'t, 's: 't, E: SyntaxError<'t, 's>>(expr: Rule<'t, 's, Expr, E>) -> Rule<'t, 's, Expr, E> {
    let literal = select! {
        Token::Int(value) => ExprKind::Int(value),
        Token::Float(value) => ExprKind::Float(value),
        Token::Duration(value, unit) => ExprKind::Duration { value, unit },
        Token::KwTrue => ExprKind::Bool(true),
        Token::KwFalse => ExprKind::Bool(false),
        Token::KwNone => ExprKind::None,
    }
    .map_with(|kind, e| mk_expr(kind, e.span()));

    let string = string(expr.clone()).map(|lit| {
        let span = lit.span;
        mk_expr(ExprKind::Str(lit), span)
    });

    let name = ident().map(|ident| {
        let span = ident.span;
        mk_expr(ExprKind::Ident(ident), span)
    });

    let brackets = [(Token::LParen, Token::RParen), (Token::LBrace, Token::RBrace)];

    let list_comprehension = just(Token::KwFor)
        .ignore_then(for_binding())
        .then_ignore(just(Token::KwIn))
        .then(expr.clone())
        .then(just(Token::KwIf).ignore_then(expr.clone()).or_not())
        .then_ignore(just(Token::Colon))
        .then(expr.clone())
        .map(|(((binding, collection), condition), value)| {
            Box::new(Comprehension { binding, collection, condition, key: None, value })
        })
        .map(ExprKind::ListComprehension);
    let list_items = expr
        .clone()
        .separated_by(just(Token::Comma))
        .allow_trailing()
        .collect::<Vec<_>>()
        .map(ExprKind::List);
    let list = choice((list_comprehension, list_items))
        .delimited_by(just(Token::LBracket), just(Token::RBracket))
        .map_with(|kind, e| mk_expr(kind, e.span()))
        .recover(via_parser(nested_delimiters(
            Token::LBracket,
            Token::RBracket,
            brackets.clone(),
            |span| mk_expr(ExprKind::Error, span),
        )))
        .label("list")
        .boxed();

    let map_comprehension = just(Token::KwFor)
        .ignore_then(for_binding())
        .then_ignore(just(Token::KwIn))
        .then(expr.clone())
        .then(just(Token::KwIf).ignore_then(expr.clone()).or_not())
        .then_ignore(just(Token::Colon))
        .then(expr.clone())
        .then_ignore(just(Token::FatArrow))
        .then(expr.clone())
        .map(|((((binding, collection), condition), key), value)| {
            ExprKind::MapComprehension(Box::new(Comprehension {
                binding,
                collection,
                condition,
                key: Some(key),
                value,
            }))
        });
    let object_fields = fields(expr.clone(), true).map(ExprKind::Object);
    let object = choice((map_comprehension, object_fields))
        .delimited_by(just(Token::LBrace), just(Token::RBrace))
        .map_with(|kind, e| mk_expr(kind, e.span()))
        .recover(via_parser(nested_delimiters(
            Token::LBrace,
            Token::RBrace,
            [(Token::LParen, Token::RParen), (Token::LBracket, Token::RBracket)],
            |span| mk_expr(ExprKind::Error, span),
        )))
        .label("object")
        .boxed();

    let paren = expr
        .clone()
        .delimited_by(just(Token::LParen), just(Token::RParen))
        .map_with(|inner, e| mk_expr(ExprKind::Paren(Box::new(inner)), e.span()))
        .recover(via_parser(nested_delimiters(
            Token::LParen,
            Token::RParen,
            [(Token::LBracket, Token::RBracket), (Token::LBrace, Token::RBrace)],
            |span| mk_expr(ExprKind::Error, span),
        )));

    choice((literal, string, name, list, object, paren)).boxed()
}

/// What may follow an atom: field access, indexing and calls.
#[derive(Clone)]
enum Postfix {
    Field(Ident, bool),
    Index(Expr),
    Call(Vec<Arg>),
}

fn postfix<'t, 's: 't, E: SyntaxError<'t, 's>>(
    atom: Rule<'t, 's, Expr, E>,
    expr: Rule<'t, 's, Expr, E>,
) -> Rule<'t, 's, Expr, E> {
    let field = choice((just(Token::Dot).to(false), just(Token::QuestionDot).to(true)))
        .then(field_name())
        .map(|(optional, name)| Postfix::Field(name, optional));
    let index = expr
        .clone()
        .delimited_by(just(Token::LBracket), just(Token::RBracket))
        .recover(via_parser(nested_delimiters(
            Token::LBracket,
            Token::RBracket,
            [(Token::LParen, Token::RParen), (Token::LBrace, Token::RBrace)],
            |span| mk_expr(ExprKind::Error, span),
        )))
        .map(Postfix::Index);
    let call = args(expr).map(Postfix::Call);
    let op = choice((field, index, call)).map_with(|op, e| {
        (op, {
            let span: Span = e.span();
            span
        })
    });
    atom.foldl(op.repeated(), |base, (op, op_span)| {
        let span = base.span.to(op_span);
        let kind = match op {
            Postfix::Field(name, optional) => {
                ExprKind::Field { base: Box::new(base), name, optional }
            }
            Postfix::Index(index) => {
                ExprKind::Index { base: Box::new(base), index: Box::new(index) }
            }
            Postfix::Call(args) => ExprKind::Call { callee: Box::new(base), args },
        };
        mk_expr(kind, span)
    })
    .boxed()
}

fn unary<'t, 's: 't, E: SyntaxError<'t, 's>>(
    operand: Rule<'t, 's, Expr, E>,
) -> Rule<'t, 's, Expr, E> {
    let op = choice((just(Token::Bang).to(UnaryOp::Not), just(Token::Minus).to(UnaryOp::Neg)))
        .map_with(|op, e| {
            (op, {
                let span: Span = e.span();
                span
            })
        });
    op.repeated()
        .foldr(operand, |(op, op_span), operand| {
            let span = op_span.to(operand.span);
            mk_expr(ExprKind::Unary { op, operand: Box::new(operand) }, span)
        })
        .label("expression")
        .boxed()
}

/// An operator between two operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Infix {
    Binary(BinaryOp),
    Range { inclusive: bool },
}

impl Infix {
    fn precedence(self) -> u8 {
        match self {
            Infix::Binary(op) => op.precedence(),
            Infix::Range { .. } => RANGE_PRECEDENCE,
        }
    }

    /// `??` groups to the right: `a ?? b ?? c` is `a ?? (b ?? c)`.
    fn right_associative(self) -> bool {
        self == Infix::Binary(BinaryOp::Coalesce)
    }
}

/// Every binary operator and range, parsed as a flat list of operands and
/// operators in one pass and then grouped by precedence, so that each
/// operand is visited once rather than once per precedence level.
fn infix<'t, 's: 't, E: SyntaxError<'t, 's>>(
    operand: Rule<'t, 's, Expr, E>,
) -> Rule<'t, 's, Expr, E> {
    let op = select! {
        Token::QuestionQuestion => Infix::Binary(BinaryOp::Coalesce),
        Token::OrOr => Infix::Binary(BinaryOp::Or),
        Token::AndAnd => Infix::Binary(BinaryOp::And),
        Token::EqEq => Infix::Binary(BinaryOp::Eq),
        Token::NotEq => Infix::Binary(BinaryOp::NotEq),
        Token::Lt => Infix::Binary(BinaryOp::Lt),
        Token::LtEq => Infix::Binary(BinaryOp::LtEq),
        Token::Gt => Infix::Binary(BinaryOp::Gt),
        Token::GtEq => Infix::Binary(BinaryOp::GtEq),
        Token::DotDot => Infix::Range { inclusive: false },
        Token::DotDotEq => Infix::Range { inclusive: true },
        Token::Plus => Infix::Binary(BinaryOp::Add),
        Token::Minus => Infix::Binary(BinaryOp::Sub),
        Token::Star => Infix::Binary(BinaryOp::Mul),
        Token::Slash => Infix::Binary(BinaryOp::Div),
        Token::Percent => Infix::Binary(BinaryOp::Rem),
    }
    .label("operator");
    operand
        .clone()
        .then(op.then(operand).repeated().collect::<Vec<_>>())
        .map(|(first, rest)| group_by_precedence(first, rest))
        .boxed()
}

/// Precedence climbing over a flat `first (op operand)*` list.
fn group_by_precedence(first: Expr, rest: Vec<(Infix, Expr)>) -> Expr {
    if rest.is_empty() {
        return first;
    }
    let mut operands = vec![first];
    let mut operators: Vec<Infix> = Vec::new();
    for (op, operand) in rest {
        while let Some(&top) = operators.last() {
            let binds_first = top.precedence() > op.precedence()
                || (top.precedence() == op.precedence() && !op.right_associative());
            if !binds_first {
                break;
            }
            operators.pop();
            reduce(&mut operands, top);
        }
        operators.push(op);
        operands.push(operand);
    }
    while let Some(top) = operators.pop() {
        reduce(&mut operands, top);
    }
    operands.pop().unwrap_or_else(|| mk_expr(ExprKind::Error, Span::default()))
}

/// Replaces the top two operands by `lhs op rhs`.
fn reduce(operands: &mut Vec<Expr>, op: Infix) {
    let (Some(rhs), Some(lhs)) = (operands.pop(), operands.pop()) else { return };
    let span = lhs.span.to(rhs.span);
    let kind = match op {
        Infix::Binary(op) => ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) },
        Infix::Range { inclusive } => {
            ExprKind::Range { start: Box::new(lhs), end: Box::new(rhs), inclusive }
        }
    };
    operands.push(mk_expr(kind, span));
}

/// `cond ? a : b`, right-associative.
fn conditional<'t, 's: 't, E: SyntaxError<'t, 's>>(
    operand: Rule<'t, 's, Expr, E>,
    expr: Rule<'t, 's, Expr, E>,
) -> Rule<'t, 's, Expr, E> {
    operand
        .then(
            just(Token::Question)
                .ignore_then(expr.clone())
                .then_ignore(just(Token::Colon))
                .then(expr)
                .or_not(),
        )
        .map(|(condition, rest)| match rest {
            None => condition,
            Some((then, otherwise)) => {
                let span = condition.span.to(otherwise.span);
                mk_expr(
                    ExprKind::Conditional {
                        condition: Box::new(condition),
                        then: Box::new(then),
                        otherwise: Box::new(otherwise),
                    },
                    span,
                )
            }
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use crate::ast::{ExprKind, ItemKind};
    use crate::{FileId, parse};

    /// The expression of `let x = ...`, fully parenthesised.
    fn grouped(source: &str) -> String {
        let parsed = parse(FileId(0), &format!("let x = {source}"));
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let ItemKind::Let(decl) = &parsed.file.items[0].kind else { panic!("not a let") };
        fn show(expr: &crate::ast::Expr) -> String {
            match &expr.kind {
                ExprKind::Binary { op, lhs, rhs } => {
                    format!("({} {} {})", show(lhs), op.symbol(), show(rhs))
                }
                ExprKind::Range { start, end, inclusive } => {
                    format!(
                        "({}{}{})",
                        show(start),
                        if *inclusive { "..=" } else { ".." },
                        show(end)
                    )
                }
                ExprKind::Conditional { condition, then, otherwise } => {
                    format!("({} ? {} : {})", show(condition), show(then), show(otherwise))
                }
                ExprKind::Unary { operand, .. } => format!("(-{})", show(operand)),
                ExprKind::Ident(ident) => ident.name.to_string(),
                ExprKind::Int(value) => value.to_string(),
                other => format!("{other:?}"),
            }
        }
        show(&decl.value)
    }

    #[test]
    fn precedence_follows_the_specification() {
        assert_eq!(grouped("1 + 2 * 3 - 4"), "((1 + (2 * 3)) - 4)");
        assert_eq!(grouped("a ?? b ?? c"), "(a ?? (b ?? c))");
        assert_eq!(grouped("a || b && c == d"), "(a || (b && (c == d)))");
        assert_eq!(grouped("a < b == c > d"), "((a < b) == (c > d))");
        assert_eq!(grouped("0..n + 1"), "(0..(n + 1))");
        assert_eq!(grouped("a < 0..=3"), "(a < (0..=3))");
        assert_eq!(grouped("a ?? b || c"), "(a ?? (b || c))");
        assert_eq!(grouped("c ? a : d ? e : f"), "(c ? a : (d ? e : f))");
        assert_eq!(grouped("x ?? y ? 1 : 2"), "((x ?? y) ? 1 : 2)");
        assert_eq!(grouped("-a * b"), "((-a) * b)");
    }
}
