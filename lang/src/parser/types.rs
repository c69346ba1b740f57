//! Type expressions: names, generics, records, `T?`, unions of string
//! literals, `secret<T>`.

use chumsky::prelude::*;

use super::exprs::{field_name, ident, string};
use super::{Rule, RuleExt, SyntaxError};
use crate::ast::{Expr, Path, RecordFieldType, TypeExpr, TypeExprKind};
use crate::token::Token;

/// A dotted path: `fs.file`, `common.Service`.
pub(crate) fn path<'t, 's: 't, E: SyntaxError<'t, 's>>() -> Rule<'t, 's, Path, E> {
    ident()
        .then(just(Token::Dot).ignore_then(field_name()).repeated().collect::<Vec<_>>())
        .map_with(|(first, rest), e| {
            let mut segments = vec![first];
            segments.extend(rest);
            Path { segments, span: e.span() }
        })
        .label("name")
        .boxed()
}

pub(crate) fn type_expr<'t, 's: 't, E: SyntaxError<'t, 's>>(
    expr: Rule<'t, 's, Expr, E>,
) -> Rule<'t, 's, TypeExpr, E> {
    recursive(|ty| {
        let ty: Rule<'t, 's, TypeExpr, E> = ty.boxed();

        let generic_args = ty
            .clone()
            .separated_by(just(Token::Comma))
            .allow_trailing()
            .at_least(1)
            .collect::<Vec<_>>()
            .delimited_by(just(Token::Lt), just(Token::Gt));
        let named = path().then(generic_args.or_not()).map_with(|(name, args), e| TypeExpr {
            kind: match args {
                Some(args) => TypeExprKind::Generic { name, args },
                None => TypeExprKind::Named(name),
            },
            span: e.span(),
        });

        // A string literal type; interpolation makes no sense in a type.
        let literal = string(expr).validate(|lit, e, emitter| {
            let text = match lit.as_plain() {
                Some(text) => text,
                None => {
                    emitter
                        .emit(E::custom(e.span(), "a string literal type cannot contain `${...}`"));
                    String::new()
                }
            };
            TypeExpr { kind: TypeExprKind::Literal(text), span: e.span() }
        });

        let record_field = field_name()
            .then(just(Token::Question).or_not().map(|q| q.is_some()))
            .then_ignore(just(Token::Colon))
            .then(ty.clone())
            .map_with(|((name, optional), ty), e| RecordFieldType {
                docs: None,
                name,
                optional,
                ty,
                span: e.span(),
            })
            .label("record field")
            .then_ignore(just(Token::Comma).or_not());
        let record = record_field
            .repeated()
            .collect::<Vec<_>>()
            .delimited_by(just(Token::LBrace), just(Token::RBrace))
            .map_with(|fields, e| TypeExpr { kind: TypeExprKind::Record(fields), span: e.span() })
            .recover(via_parser(nested_delimiters(
                Token::LBrace,
                Token::RBrace,
                [(Token::LParen, Token::RParen), (Token::LBracket, Token::RBracket)],
                |span| TypeExpr { kind: TypeExprKind::Error, span },
            )));

        let paren = ty.clone().delimited_by(just(Token::LParen), just(Token::RParen)).map_with(
            |inner, e| TypeExpr { kind: TypeExprKind::Paren(Box::new(inner)), span: e.span() },
        );

        let atom = choice((named, literal, record, paren)).label("type").boxed();
        let optional = atom
            .foldl(
                just(Token::Question).map_with(|_, e| e.span()).repeated(),
                |inner: TypeExpr, question| {
                    let span = inner.span.to(question);
                    TypeExpr { kind: TypeExprKind::Optional(Box::new(inner)), span }
                },
            )
            .boxed();
        optional
            .separated_by(just(Token::Pipe))
            .at_least(1)
            .collect::<Vec<_>>()
            .map_with(|mut members, e| {
                if members.len() == 1 {
                    members.remove(0)
                } else {
                    TypeExpr { kind: TypeExprKind::Union(members), span: e.span() }
                }
            })
            .boxed()
    })
    .label("type")
    .boxed()
}
