//! Declarations, decorators and the blocks of `if`, `for` and `policy`.

use chumsky::prelude::*;

use super::exprs::{args, contextual, expr, field_name, fields, for_binding, ident, string};
use super::types::{path, type_expr};
use super::{Rule, RuleExt, SyntaxError, mk_expr};
use crate::ast::{
    Assert, Block, Body, Decorator, Expr, ExprKind, Field, FieldKey, For, If, Import, Item,
    ItemKind, Let, Lifecycle, LifecycleKind, Mock, Module, Output, Param, Policy, Provider,
    Resource, SourceFile, Test, TypeAlias,
};
use crate::token::Token;

/// The whole file: declarations until the end of input. Stray tokens
/// between declarations (a `}` too many, say) are skipped with one
/// diagnostic each run.
pub(crate) fn source_file<'t, 's: 't, E: SyntaxError<'t, 's>>() -> Rule<'t, 's, SourceFile, E> {
    let item = item();
    let stray = any()
        .and_is(item_start().not())
        .repeated()
        .at_least(1)
        .map_with(|_, e| Item {
            docs: None,
            decorators: Vec::new(),
            kind: ItemKind::Error,
            span: e.span(),
        })
        .validate(|item, e, emitter| {
            emitter.emit(E::custom(
                e.span(),
                "expected a declaration (`param`, `let`, `resource`, ...)",
            ));
            item
        });
    choice((item, stray))
        .repeated()
        .collect::<Vec<_>>()
        .then_ignore(end())
        .map_with(|items, e| SourceFile { items, span: e.span() })
        .boxed()
}

/// Tokens that begin a declaration; recovery resumes at them.
fn item_start<'t, 's: 't, E: SyntaxError<'t, 's>>() -> Rule<'t, 's, (), E> {
    select! {
        Token::KwParam => (),
        Token::KwLet => (),
        Token::KwType => (),
        Token::KwResource => (),
        Token::KwData => (),
        Token::KwOutput => (),
        Token::KwModule => (),
        Token::KwImport => (),
        Token::KwProvider => (),
        Token::KwIf => (),
        Token::KwFor => (),
        Token::KwAssert => (),
        Token::KwWarn => (),
        Token::KwPolicy => (),
        Token::At => (),
    }
    .boxed()
}

/// Skips one balanced bracket group, or one token that is neither a
/// bracket nor the start of a declaration.
fn skip_token<'t, 's: 't, E: SyntaxError<'t, 's>>() -> Rule<'t, 's, (), E> {
    recursive(|group| {
        let group: Rule<'t, 's, (), E> = group.boxed();
        let inner = group.repeated().ignored();
        let brackets = [
            (Token::LBrace, Token::RBrace),
            (Token::LParen, Token::RParen),
            (Token::LBracket, Token::RBracket),
            (Token::InterpStart, Token::InterpEnd),
        ];
        let nested = choice(
            brackets
                .iter()
                .map(|(open, close)| {
                    inner.clone().delimited_by(just(open.clone()), just(close.clone())).boxed()
                })
                .collect::<Vec<_>>(),
        );
        let plain = none_of([
            Token::LBrace,
            Token::RBrace,
            Token::LParen,
            Token::RParen,
            Token::LBracket,
            Token::RBracket,
            Token::InterpStart,
            Token::InterpEnd,
        ])
        .ignored();
        choice((nested, plain))
    })
    .boxed()
}

/// A declaration that failed to parse: its first token, then everything up
/// to the next declaration or the `}` that closes the enclosing block.
fn broken_item<'t, 's: 't, E: SyntaxError<'t, 's>>() -> Rule<'t, 's, Item, E> {
    // Stray `)` and `]` are skipped too; a `}` closes the enclosing block.
    let stray_closer =
        choice((just(Token::RParen), just(Token::RBracket), just(Token::InterpEnd))).ignored();
    let rest = choice((skip_token(), stray_closer)).and_is(item_start().not()).repeated();
    any()
        .and_is(just(Token::RBrace).not())
        .ignore_then(rest)
        .map_with(|_, e| Item {
            docs: None,
            decorators: Vec::new(),
            kind: ItemKind::Error,
            span: e.span(),
        })
        .boxed()
}

fn body<'t, 's: 't, E: SyntaxError<'t, 's>>(expr: Rule<'t, 's, Expr, E>) -> Rule<'t, 's, Body, E> {
    fields(expr, false)
        .delimited_by(just(Token::LBrace), just(Token::RBrace))
        .map_with(|fields, e| Body { fields, span: e.span() })
        .recover(via_parser(nested_delimiters(
            Token::LBrace,
            Token::RBrace,
            [(Token::LParen, Token::RParen), (Token::LBracket, Token::RBracket)],
            |span| Body { fields: Vec::new(), span },
        )))
        .label("body")
        .boxed()
}

fn decorator<'t, 's: 't, E: SyntaxError<'t, 's>>(
    expr: Rule<'t, 's, Expr, E>,
) -> Rule<'t, 's, Decorator, E> {
    just(Token::At)
        .ignore_then(field_name())
        .then(args(expr).or_not())
        .map_with(|(name, args), e| Decorator { name, args, span: e.span() })
        .label("decorator")
        .boxed()
}

pub(crate) fn item<'t, 's: 't, E: SyntaxError<'t, 's>>() -> Rule<'t, 's, Item, E> {
    let expr = expr();
    let ty = type_expr(expr.clone());
    recursive(|item| {
        let item: Rule<'t, 's, Item, E> = item.boxed();

        // A block still open at the end of the file ends there: the
        // unclosed `{` is reported once, at the bracket
        // (`delimiters::unclosed_delimiters`). Failing instead would make
        // the enclosing declaration fail and be parsed again after
        // recovery, at every level of nesting: exponential time.
        let block = item
            .clone()
            .repeated()
            .collect::<Vec<_>>()
            .delimited_by(just(Token::LBrace), just(Token::RBrace).ignored().or(end()))
            .map_with(|items, e| Block { items, span: e.span() })
            .label("block")
            .boxed();

        // A `test` block: settings (`vars = { ... }`) and assertions.
        let setting = field_name()
            .then_ignore(just(Token::Eq))
            .then(expr.clone())
            .map_with(|(name, value), e| {
                let field = Field { docs: None, key: FieldKey::Name(name), value, span: e.span() };
                Item {
                    docs: None,
                    decorators: Vec::new(),
                    kind: ItemKind::Setting(field),
                    span: e.span(),
                }
            })
            .boxed();
        let test_block = choice((setting, item))
            .repeated()
            .collect::<Vec<_>>()
            .delimited_by(just(Token::LBrace), just(Token::RBrace).ignored().or(end()))
            .map_with(|items, e| Block { items, span: e.span() })
            .label("block")
            .boxed();

        let param = just(Token::KwParam)
            .ignore_then(ident())
            .then_ignore(just(Token::Colon))
            .then(ty.clone())
            .then(just(Token::Eq).ignore_then(expr.clone()).or_not())
            .map(|((name, ty), default)| ItemKind::Param(Param { name, ty, default }));

        let let_decl = just(Token::KwLet)
            .ignore_then(ident())
            .then(just(Token::Colon).ignore_then(ty.clone()).or_not())
            .then_ignore(just(Token::Eq))
            .then(expr.clone())
            .map(|((name, ty), value)| ItemKind::Let(Let { name, ty, value }));

        let type_alias = just(Token::KwType)
            .ignore_then(ident())
            .then_ignore(just(Token::Eq))
            .then(ty.clone())
            .map(|(name, ty)| ItemKind::TypeAlias(TypeAlias { name, ty }));

        let resource_like = ident()
            .then_ignore(just(Token::Colon))
            .then(path())
            .then(body(expr.clone()))
            .map(|((name, kind), body)| Resource { name, kind, body })
            .boxed();
        let resource =
            just(Token::KwResource).ignore_then(resource_like.clone()).map(ItemKind::Resource);
        let data = just(Token::KwData).ignore_then(resource_like).map(ItemKind::Data);

        let output = just(Token::KwOutput)
            .ignore_then(ident())
            .then(just(Token::Colon).ignore_then(ty.clone()).or_not())
            .then_ignore(just(Token::Eq))
            .then(expr.clone())
            .map(|((name, ty), value)| ItemKind::Output(Output { name, ty, value }));

        let string_expr = string(expr.clone()).map(|lit| {
            let span = lit.span;
            mk_expr(ExprKind::Str(lit), span)
        });

        let module = just(Token::KwModule)
            .ignore_then(ident())
            .then_ignore(just(Token::Colon))
            .then(string_expr.clone())
            .then(body(expr.clone()))
            .map(|((name, source), body)| ItemKind::Module(Module { name, source, body }));

        let import = just(Token::KwImport)
            .ignore_then(string_expr)
            .then_ignore(contextual("as"))
            .then(ident())
            .map(|(source, alias)| ItemKind::Import(Import { source, alias }));

        // `moved` and `removed` are contextual: a block only where a
        // declaration may start and `{` follows.
        let lifecycle_body =
            |kind: LifecycleKind| body(expr.clone()).map(move |body| (kind, body)).boxed();
        let lifecycle = choice((
            contextual("moved")
                .map_with(|_, e| e.span())
                .then(lifecycle_body(LifecycleKind::Moved)),
            contextual("removed")
                .map_with(|_, e| e.span())
                .then(lifecycle_body(LifecycleKind::Removed)),
            just(Token::KwImport)
                .map_with(|_, e| e.span())
                .then(lifecycle_body(LifecycleKind::Import)),
        ))
        .map(|(keyword, (kind, body))| ItemKind::Lifecycle(Lifecycle { kind, keyword, body }))
        .boxed();

        // `mock` and `test` are contextual too: they begin a declaration
        // only in a test file's top level, where no name can stand.
        let mock = contextual("mock")
            .map_with(|_, e| e.span())
            .then(just(Token::KwData).or_not().map(|data| data.is_some()))
            .then(path())
            .then(body(expr.clone()))
            .map(|(((keyword, data), kind), body)| {
                ItemKind::Mock(Mock { keyword, data, kind, body })
            })
            .boxed();
        let test = contextual("test")
            .map_with(|_, e| e.span())
            .then(ident())
            .then(test_block)
            .map(|((keyword, name), block)| ItemKind::Test(Test { keyword, name, block }))
            .boxed();

        let provider = just(Token::KwProvider)
            .ignore_then(ident())
            .then(contextual("as").ignore_then(ident()).or_not())
            .then(body(expr.clone()))
            .map(|((name, alias), body)| ItemKind::Provider(Provider { name, alias, body }));

        let assertion = expr
            .clone()
            .then_ignore(just(Token::Comma))
            .then(expr.clone())
            .map(|(condition, message)| Assert { condition, message })
            .boxed();
        let assert = just(Token::KwAssert).ignore_then(assertion.clone()).map(ItemKind::Assert);
        let warn = just(Token::KwWarn).ignore_then(assertion).map(ItemKind::Warn);

        let policy = just(Token::KwPolicy)
            .ignore_then(ident())
            .then(block.clone())
            .map(|(name, block)| ItemKind::Policy(Policy { name, block }));

        let else_if = just(Token::KwElse)
            .ignore_then(just(Token::KwIf))
            .ignore_then(expr.clone())
            .then(block.clone());
        let if_decl = just(Token::KwIf)
            .ignore_then(expr.clone())
            .then(block.clone())
            .then(else_if.repeated().collect::<Vec<_>>())
            .then(just(Token::KwElse).ignore_then(block.clone()).or_not())
            .map(|(((condition, then), else_ifs), else_block)| {
                let mut branches = vec![(condition, then)];
                branches.extend(else_ifs);
                ItemKind::If(If { branches, else_block })
            });

        let for_decl = just(Token::KwFor)
            .ignore_then(for_binding())
            .then_ignore(just(Token::KwIn))
            .then(expr.clone())
            .then(contextual("key").ignore_then(expr.clone()).or_not())
            .then(block)
            .map(|(((binding, collection), key), block)| {
                ItemKind::For(For { binding, collection, key, block })
            });

        // Alternatives are tried in turn, so the most frequent come first.
        let declaration = choice((
            resource, let_decl, param, output, for_decl, if_decl, data, module, type_alias, import,
            provider, assert, warn, policy, lifecycle, mock, test,
        ))
        .label("declaration")
        .boxed();

        decorator(expr.clone())
            .repeated()
            .collect::<Vec<_>>()
            .then(declaration)
            .map_with(|(decorators, kind), e| Item { docs: None, decorators, kind, span: e.span() })
            .recover(via_parser(broken_item()))
            .boxed()
    })
    .boxed()
}
