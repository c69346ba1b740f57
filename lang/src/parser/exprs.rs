//! Expressions, by precedence from lowest to highest: `? :`, `??`, `||`,
//! `&&`, `== !=`, `< <= > >=`, `..`/`..=`, `+ -`, `* / %`, unary `! -`,
//! postfix `.f ?.f [i] (args)`.

use chumsky::prelude::*;

use super::strings::{RawPart, process_string};
use super::{Rule, mk_expr};
use crate::ast::{
    Arg, BinaryOp, Comprehension, Expr, ExprKind, Field, FieldKey, ForBinding, Ident, StrLit, UnaryOp,
};
use crate::span::Span;
use crate::token::Token;

/// An identifier (keywords excluded).
pub(crate) fn ident<'t, 's: 't>() -> Rule<'t, 's, Ident> {
    select! { Token::Ident(name) = e => Ident { name: name.to_string(), span: e.span() } }
        .labelled("identifier")
        .boxed()
}

/// A field name: an identifier or any keyword (`type`, `data`, ...).
pub(crate) fn field_name<'t, 's: 't>() -> Rule<'t, 's, Ident> {
    select! {
        Token::Ident(name) = e => Ident { name: name.to_string(), span: e.span() },
        token = e if token.keyword_text().is_some() => Ident {
            name: token.keyword_text().unwrap_or_default().to_string(),
            span: e.span(),
        },
    }
    .labelled("field name")
    .boxed()
}

/// A contextual keyword such as `key` or `as`, which is an identifier token.
pub(crate) fn contextual<'t, 's: 't>(word: &'static str) -> Rule<'t, 's, ()> {
    select! { Token::Ident(name) if name == word => () }.labelled(word).boxed()
}

/// A string literal, with its interpolations parsed by `expr`.
pub(crate) fn string<'t, 's: 't>(expr: Rule<'t, 's, Expr>) -> Rule<'t, 's, StrLit> {
    let interpolation = expr
        .delimited_by(just(Token::InterpStart), just(Token::InterpEnd))
        .recover_with(via_parser(nested_delimiters(
            Token::InterpStart,
            Token::InterpEnd,
            [(Token::LParen, Token::RParen), (Token::LBracket, Token::RBracket), (Token::LBrace, Token::RBrace)],
            |span| mk_expr(ExprKind::Error, span),
        )))
        .map(RawPart::Interpolation);
    let text = select! { Token::StrText(raw) = e => RawPart::Text(raw, e.span()) };
    select! { Token::StrStart { multiline } => multiline }
        .then(choice((text, interpolation)).repeated().collect::<Vec<_>>())
        .then_ignore(just(Token::StrEnd))
        .map_with(|(multiline, parts), e| StrLit { parts: process_string(multiline, parts), multiline, span: e.span() })
        .labelled("string")
        .boxed()
}

/// `x` or `k, v` after `for`.
pub(crate) fn for_binding<'t, 's: 't>() -> Rule<'t, 's, ForBinding> {
    ident()
        .then(just(Token::Comma).ignore_then(ident()).or_not())
        .map(|(first, second)| ForBinding { first, second })
        .boxed()
}

/// Arguments of a call or decorator: `(a, name = b,)`.
pub(crate) fn args<'t, 's: 't>(expr: Rule<'t, 's, Expr>) -> Rule<'t, 's, Vec<Arg>> {
    let named = field_name().then_ignore(just(Token::Eq)).then(expr.clone()).map_with(|(name, value), e| Arg {
        name: Some(name),
        value,
        span: e.span(),
    });
    let positional = expr.map(|value| Arg { span: value.span, name: None, value });
    choice((named, positional))
        .separated_by(just(Token::Comma))
        .allow_trailing()
        .collect::<Vec<_>>()
        .delimited_by(just(Token::LParen), just(Token::RParen))
        .recover_with(via_parser(nested_delimiters(
            Token::LParen,
            Token::RParen,
            [(Token::LBracket, Token::RBracket), (Token::LBrace, Token::RBrace)],
            |_| Vec::new(),
        )))
        .labelled("arguments")
        .boxed()
}

/// `NAME = EXPR` fields of bodies and object literals, separated by optional
/// commas. Object literals also accept quoted keys.
pub(crate) fn fields<'t, 's: 't>(expr: Rule<'t, 's, Expr>, quoted_keys: bool) -> Rule<'t, 's, Vec<Field>> {
    let name = field_name().map(FieldKey::Name);
    let key = if quoted_keys {
        choice((name, string(expr.clone()).map(FieldKey::Quoted))).boxed()
    } else {
        name.boxed()
    };
    key.then_ignore(just(Token::Eq))
        .then(expr)
        .map_with(|(key, value), e| Field { docs: None, key, value, span: e.span() })
        .labelled("field")
        .then_ignore(just(Token::Comma).or_not())
        .repeated()
        .collect::<Vec<_>>()
        .boxed()
}

pub(crate) fn expr<'t, 's: 't>() -> Rule<'t, 's, Expr> {
    recursive(|expr| {
        let expr: Rule<'t, 's, Expr> = expr.boxed();
        let atom = atom(expr.clone());
        let postfix = postfix(atom, expr.clone());
        let unary = unary(postfix);
        let product = binary_level(unary, &[(Token::Star, BinaryOp::Mul), (Token::Slash, BinaryOp::Div), (Token::Percent, BinaryOp::Rem)]);
        let sum = binary_level(product, &[(Token::Plus, BinaryOp::Add), (Token::Minus, BinaryOp::Sub)]);
        let range = range(sum);
        let comparison = binary_level(
            range,
            &[(Token::LtEq, BinaryOp::LtEq), (Token::GtEq, BinaryOp::GtEq), (Token::Lt, BinaryOp::Lt), (Token::Gt, BinaryOp::Gt)],
        );
        let equality = binary_level(comparison, &[(Token::EqEq, BinaryOp::Eq), (Token::NotEq, BinaryOp::NotEq)]);
        let and = binary_level(equality, &[(Token::AndAnd, BinaryOp::And)]);
        let or = binary_level(and, &[(Token::OrOr, BinaryOp::Or)]);
        let coalesce = coalesce(or);
        conditional(coalesce, expr)
    })
    .labelled("expression")
    .boxed()
}

fn atom<'t, 's: 't>(expr: Rule<'t, 's, Expr>) -> Rule<'t, 's, Expr> {
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
        .recover_with(via_parser(nested_delimiters(Token::LBracket, Token::RBracket, brackets.clone(), |span| {
            mk_expr(ExprKind::Error, span)
        })))
        .labelled("list")
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
            ExprKind::MapComprehension(Box::new(Comprehension { binding, collection, condition, key: Some(key), value }))
        });
    let object_fields = fields(expr.clone(), true).map(ExprKind::Object);
    let object = choice((map_comprehension, object_fields))
        .delimited_by(just(Token::LBrace), just(Token::RBrace))
        .map_with(|kind, e| mk_expr(kind, e.span()))
        .recover_with(via_parser(nested_delimiters(
            Token::LBrace,
            Token::RBrace,
            [(Token::LParen, Token::RParen), (Token::LBracket, Token::RBracket)],
            |span| mk_expr(ExprKind::Error, span),
        )))
        .labelled("object")
        .boxed();

    let paren = expr
        .clone()
        .delimited_by(just(Token::LParen), just(Token::RParen))
        .map_with(|inner, e| mk_expr(ExprKind::Paren(Box::new(inner)), e.span()))
        .recover_with(via_parser(nested_delimiters(
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

fn postfix<'t, 's: 't>(atom: Rule<'t, 's, Expr>, expr: Rule<'t, 's, Expr>) -> Rule<'t, 's, Expr> {
    let field = choice((just(Token::Dot).to(false), just(Token::QuestionDot).to(true)))
        .then(field_name())
        .map(|(optional, name)| Postfix::Field(name, optional));
    let index = expr
        .clone()
        .delimited_by(just(Token::LBracket), just(Token::RBracket))
        .recover_with(via_parser(nested_delimiters(
            Token::LBracket,
            Token::RBracket,
            [(Token::LParen, Token::RParen), (Token::LBrace, Token::RBrace)],
            |span| mk_expr(ExprKind::Error, span),
        )))
        .map(Postfix::Index);
    let call = args(expr).map(Postfix::Call);
    let op = choice((field, index, call)).map_with(|op, e| (op, { let span: Span = e.span(); span }));
    atom.foldl(op.repeated(), |base, (op, op_span)| {
        let span = base.span.to(op_span);
        let kind = match op {
            Postfix::Field(name, optional) => ExprKind::Field { base: Box::new(base), name, optional },
            Postfix::Index(index) => ExprKind::Index { base: Box::new(base), index: Box::new(index) },
            Postfix::Call(args) => ExprKind::Call { callee: Box::new(base), args },
        };
        mk_expr(kind, span)
    })
    .boxed()
}

fn unary<'t, 's: 't>(operand: Rule<'t, 's, Expr>) -> Rule<'t, 's, Expr> {
    let op = choice((just(Token::Bang).to(UnaryOp::Not), just(Token::Minus).to(UnaryOp::Neg)))
        .map_with(|op, e| (op, { let span: Span = e.span(); span }));
    op.repeated()
        .foldr(operand, |(op, op_span), operand| {
            let span = op_span.to(operand.span);
            mk_expr(ExprKind::Unary { op, operand: Box::new(operand) }, span)
        })
        .labelled("expression")
        .boxed()
}

/// A left-associative level of binary operators.
fn binary_level<'t, 's: 't>(operand: Rule<'t, 's, Expr>, ops: &[(Token<'s>, BinaryOp)]) -> Rule<'t, 's, Expr> {
    let op = choice(ops.iter().map(|(token, op)| just(token.clone()).to(*op)).collect::<Vec<_>>());
    operand
        .clone()
        .foldl(op.then(operand).repeated(), |lhs, (op, rhs)| {
            let span = lhs.span.to(rhs.span);
            mk_expr(ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span)
        })
        .boxed()
}

/// `a..b` and `a..=b`, which do not chain.
fn range<'t, 's: 't>(operand: Rule<'t, 's, Expr>) -> Rule<'t, 's, Expr> {
    let op = choice((just(Token::DotDot).to(false), just(Token::DotDotEq).to(true)));
    operand
        .clone()
        .then(op.then(operand).or_not())
        .map(|(start, rest)| match rest {
            None => start,
            Some((inclusive, end)) => {
                let span = start.span.to(end.span);
                mk_expr(ExprKind::Range { start: Box::new(start), end: Box::new(end), inclusive }, span)
            }
        })
        .boxed()
}

/// `a ?? b ?? c`, right-associative: `a ?? (b ?? c)`. Each operand is
/// parsed once; folding happens afterwards.
fn coalesce<'t, 's: 't>(operand: Rule<'t, 's, Expr>) -> Rule<'t, 's, Expr> {
    operand
        .clone()
        .then(just(Token::QuestionQuestion).ignore_then(operand).repeated().collect::<Vec<_>>())
        .map(|(first, rest)| {
            let mut operands = rest;
            let Some(mut acc) = operands.pop() else { return first };
            while let Some(lhs) = operands.pop() {
                let span = lhs.span.to(acc.span);
                acc = mk_expr(ExprKind::Binary { op: BinaryOp::Coalesce, lhs: Box::new(lhs), rhs: Box::new(acc) }, span);
            }
            let span = first.span.to(acc.span);
            mk_expr(ExprKind::Binary { op: BinaryOp::Coalesce, lhs: Box::new(first), rhs: Box::new(acc) }, span)
        })
        .boxed()
}

/// `cond ? a : b`, right-associative.
fn conditional<'t, 's: 't>(operand: Rule<'t, 's, Expr>, expr: Rule<'t, 's, Expr>) -> Rule<'t, 's, Expr> {
    operand
        .then(just(Token::Question).ignore_then(expr.clone()).then_ignore(just(Token::Colon)).then(expr).or_not())
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
