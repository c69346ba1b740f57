//! Semantic tokens: every keyword, literal, comment and name of a file,
//! classified for highlighting. Keywords, strings, numbers and comments
//! come from the lexer; names come from the syntax tree, and a name in an
//! expression is classified by what the checker resolved it to (a param, a
//! `let`, a resource, a loop variable, ...).
//!
//! Tokens are byte ranges, sorted, never overlapping, and never span a line
//! break: a block comment or a multi-line string is split into one token
//! per line, as editors require.
//!
//! The legend (see [`TokenType`] and [`TokenModifier`]):
//!
//! | Written                                   | Type        | Modifiers                 |
//! |-------------------------------------------|-------------|---------------------------|
//! | keywords, `true`, `false`, `none`, `key`, `as` | `keyword` |                        |
//! | `@name` of a decorator                    | `decorator` |                           |
//! | string text and quotes                    | `string`    |                           |
//! | `${` and `}` around an interpolation      | `operator`  |                           |
//! | integers, floats, durations               | `number`    |                           |
//! | `//` and `/* */` comments                 | `comment`   |                           |
//! | `///` doc comments                        | `comment`   | `documentation`           |
//! | params, and module arguments (`{ size = 3 }`) | `parameter` |                       |
//! | `let`                                     | `variable`  | `readonly`                |
//! | `for` and comprehension variables         | `variable`  | `readonly`, `loop`        |
//! | resources                                 | `variable`  | `resource`                |
//! | data                                      | `variable`  | `data`                    |
//! | outputs                                   | `variable`  | `output`                  |
//! | modules, imports, providers, policies     | `namespace` |                           |
//! | body fields, object keys, `.name`, record-type fields | `property` |                |
//! | named arguments of calls and decorators   | `parameter` |                           |
//! | standard-library functions                | `function`  | `defaultLibrary`          |
//! | type aliases                              | `type`      |                           |
//! | built-in types (`string`, `list`, ...)    | `type`      | `defaultLibrary`          |
//! | resource and data kinds (`file` in `fs.file`) | `class` | `defaultLibrary`          |
//! | the package of a kind (`fs` in `fs.file`) | `namespace` | `defaultLibrary`          |
//!
//! Every name where it is declared also has `declaration`. `resource`,
//! `data`, `output` and `loop` are modifiers of our own; editors that do
//! not know them colour the token by its type.

use orch_lang::ast::{
    self, Arg, Body, Decorator, Expr, ExprKind, FieldKey, Ident, Item, ItemKind, RecordFieldType,
    TypeExpr, TypeExprKind,
};
use orch_lang::token::{CommentKind, Token};
use orch_lang::visit::{self, LoopSite, Visitor};
use orch_lang::{FileId, Span};
use orch_providers::lookup_kind;
use orch_stdlib::lookup_function;

use crate::Analysis;
use crate::decorator::DecoratorKind;
use crate::loops::LoopScopes;
use crate::model::{DeclInfo, DeclKind};

/// What a token is. The order is the legend's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenType {
    Namespace,
    Type,
    Class,
    Parameter,
    Variable,
    Property,
    Function,
    Decorator,
    Keyword,
    Comment,
    String,
    Number,
    Operator,
}

impl TokenType {
    /// Every type, in legend order: a token's index in the legend is its
    /// position here.
    pub const ALL: [TokenType; 13] = [
        TokenType::Namespace,
        TokenType::Type,
        TokenType::Class,
        TokenType::Parameter,
        TokenType::Variable,
        TokenType::Property,
        TokenType::Function,
        TokenType::Decorator,
        TokenType::Keyword,
        TokenType::Comment,
        TokenType::String,
        TokenType::Number,
        TokenType::Operator,
    ];

    /// The name editors know the type by.
    pub fn name(self) -> &'static str {
        match self {
            TokenType::Namespace => "namespace",
            TokenType::Type => "type",
            TokenType::Class => "class",
            TokenType::Parameter => "parameter",
            TokenType::Variable => "variable",
            TokenType::Property => "property",
            TokenType::Function => "function",
            TokenType::Decorator => "decorator",
            TokenType::Keyword => "keyword",
            TokenType::Comment => "comment",
            TokenType::String => "string",
            TokenType::Number => "number",
            TokenType::Operator => "operator",
        }
    }

    /// The index of the type in [`TokenType::ALL`].
    pub fn index(self) -> u32 {
        TokenType::ALL.iter().position(|t| *t == self).unwrap_or(0) as u32
    }
}

/// A modifier of a token. The order is the legend's order: modifier `i`
/// is bit `1 << i` of [`SemanticToken::modifiers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenModifier {
    Declaration,
    Readonly,
    Documentation,
    DefaultLibrary,
    /// A resource declaration or a use of one (ours).
    Resource,
    /// A data declaration or a use of one (ours).
    Data,
    /// An output (ours).
    Output,
    /// A `for` or comprehension variable (ours).
    Loop,
}

impl TokenModifier {
    /// Every modifier, in legend order.
    pub const ALL: [TokenModifier; 8] = [
        TokenModifier::Declaration,
        TokenModifier::Readonly,
        TokenModifier::Documentation,
        TokenModifier::DefaultLibrary,
        TokenModifier::Resource,
        TokenModifier::Data,
        TokenModifier::Output,
        TokenModifier::Loop,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TokenModifier::Declaration => "declaration",
            TokenModifier::Readonly => "readonly",
            TokenModifier::Documentation => "documentation",
            TokenModifier::DefaultLibrary => "defaultLibrary",
            TokenModifier::Resource => "resource",
            TokenModifier::Data => "data",
            TokenModifier::Output => "output",
            TokenModifier::Loop => "loop",
        }
    }

    /// The modifier's bit in a token's set.
    pub fn bit(self) -> u32 {
        1 << TokenModifier::ALL.iter().position(|m| *m == self).unwrap_or(0)
    }
}

/// One token: a byte range of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SemanticToken {
    pub start: u32,
    pub end: u32,
    pub ty: TokenType,
    /// A set of [`TokenModifier::bit`]s.
    pub modifiers: u32,
}

impl SemanticToken {
    pub fn has(&self, modifier: TokenModifier) -> bool {
        self.modifiers & modifier.bit() != 0
    }
}

/// The tokens of `file`, in order.
pub fn semantic_tokens(analysis: &Analysis, file: FileId) -> Vec<SemanticToken> {
    if file.0 as usize >= analysis.files.len() {
        return Vec::new();
    }
    let source = analysis.files.get(file);
    let text = &source.source;
    let mut names = Names {
        analysis,
        file,
        loops: LoopScopes::of(&source.parsed.file),
        out: Vec::new(),
        contextual: Vec::new(),
        decls: analysis.decls.iter().filter(|d| d.file == file && d.name.is_some()).collect(),
    };
    names.visit_file(&source.parsed.file);
    let Names { out: named, contextual, .. } = names;

    let lexed = orch_lang::lex(file, text);
    let mut lexical: Vec<Raw> = Vec::new();
    for (token, span) in &lexed.tokens {
        let ty = match token {
            Token::Ident(word) => {
                // `key` and `as` are keywords only in their positions.
                let keyword = matches!(*word, "key" | "as" | "mock" | "test")
                    && contextual
                        .iter()
                        .any(|&(start, end)| start <= span.start && span.end <= end);
                if !keyword {
                    continue;
                }
                TokenType::Keyword
            }
            token if token.keyword_text().is_some() => TokenType::Keyword,
            Token::Int(_) | Token::Float(_) | Token::Duration(..) => TokenType::Number,
            Token::StrStart { .. } | Token::StrText(_) | Token::StrEnd => TokenType::String,
            Token::InterpStart | Token::InterpEnd => TokenType::Operator,
            _ => continue,
        };
        lexical.push(Raw { start: span.start, end: span.end, ty, modifiers: 0 });
    }
    for comment in &lexed.comments {
        let modifiers = match comment.kind {
            CommentKind::Doc => TokenModifier::Documentation.bit(),
            CommentKind::Line | CommentKind::Block => 0,
        };
        lexical.push(Raw {
            start: comment.span.start,
            end: comment.span.end,
            ty: TokenType::Comment,
            modifiers,
        });
    }

    // Names win over the lexer's view of the same text (a keyword used as
    // a field name is a property).
    let mut all: Vec<(Raw, bool)> = named.into_iter().map(|raw| (raw, true)).collect();
    all.extend(lexical.into_iter().map(|raw| (raw, false)));
    all.sort_by_key(|(raw, named)| (raw.start, !named, raw.end));
    let mut merged: Vec<Raw> = Vec::new();
    let mut covered = 0u32;
    for (raw, named) in all {
        if raw.start >= raw.end || raw.start < covered || raw.end as usize > text.len() {
            continue;
        }
        covered = raw.end;
        // The quotes and text of a string (between interpolations) are one
        // token.
        if !named
            && raw.ty == TokenType::String
            && let Some(last) = merged.last_mut()
            && last.ty == TokenType::String
            && last.end == raw.start
        {
            last.end = raw.end;
            continue;
        }
        merged.push(raw);
    }
    let mut out = Vec::new();
    for raw in merged {
        split_lines(text, raw, &mut out);
    }
    out
}

/// The tokens of `file` that touch the byte range `start..end`.
pub fn semantic_tokens_in(
    analysis: &Analysis,
    file: FileId,
    start: u32,
    end: u32,
) -> Vec<SemanticToken> {
    let mut tokens = semantic_tokens(analysis, file);
    tokens.retain(|token| token.end > start && token.start < end);
    tokens
}

/// A token before it is split into lines.
#[derive(Debug, Clone, Copy)]
struct Raw {
    start: u32,
    end: u32,
    ty: TokenType,
    modifiers: u32,
}

/// Pushes `raw` as one token per line it covers, without line breaks.
fn split_lines(text: &str, raw: Raw, out: &mut Vec<SemanticToken>) {
    let Some(slice) = text.get(raw.start as usize..raw.end as usize) else { return };
    let mut start = raw.start;
    for line in slice.split_inclusive('\n') {
        let content = line.trim_end_matches('\n').trim_end_matches('\r');
        if !content.is_empty() {
            out.push(SemanticToken {
                start,
                end: start + content.len() as u32,
                ty: raw.ty,
                modifiers: raw.modifiers,
            });
        }
        start += line.len() as u32;
    }
}

/// The walk over the syntax tree that classifies names.
struct Names<'a> {
    analysis: &'a Analysis,
    file: FileId,
    /// Loop and comprehension variables, and where they are visible.
    loops: LoopScopes<'a>,
    out: Vec<Raw>,
    /// Ranges in which `key` or `as` is a keyword.
    contextual: Vec<(u32, u32)>,
    /// The named declarations of the file, for names the checker did not
    /// resolve (such as the arguments of `@depends_on`).
    decls: Vec<&'a DeclInfo>,
}

impl<'a> Names<'a> {
    fn push(&mut self, span: Span, ty: TokenType, modifiers: &[TokenModifier]) {
        let modifiers = modifiers.iter().fold(0, |set, m| set | m.bit());
        self.out.push(Raw { start: span.start, end: span.end, ty, modifiers });
    }

    fn declare(&mut self, name: &Ident, ty: TokenType, modifiers: &[TokenModifier]) {
        self.push(name.span, ty, modifiers);
        if let Some(last) = self.out.last_mut() {
            last.modifiers |= TokenModifier::Declaration.bit();
        }
    }

    /// The keys of a body (the body's values are visited by the walk).
    fn body_keys(&mut self, body: &Body, keys: TokenType) {
        for field in &body.fields {
            if let FieldKey::Name(name) = &field.key {
                self.push(name.span, keys, &[]);
            }
        }
    }

    /// `fs.file`: the package, then the kind.
    fn kind_path(&mut self, segments: &[Ident]) {
        let dotted: Vec<&str> = segments.iter().map(|s| s.name.as_str()).collect();
        let known = lookup_kind(&dotted.join(".")).is_some();
        let library: &[TokenModifier] = if known { &[TokenModifier::DefaultLibrary] } else { &[] };
        if let Some((last, package)) = segments.split_last() {
            for segment in package {
                self.push(segment.span, TokenType::Namespace, library);
            }
            self.push(last.span, TokenType::Class, library);
        }
    }

    fn type_name(&mut self, path: &ast::Path) {
        const BUILTIN: &[&str] =
            &["string", "int", "float", "bool", "duration", "any", "list", "map", "secret"];
        match path.segments.as_slice() {
            [single] if BUILTIN.contains(&single.name.as_str()) => {
                self.push(single.span, TokenType::Type, &[TokenModifier::DefaultLibrary])
            }
            [single] => self.push(single.span, TokenType::Type, &[]),
            segments => {
                if lookup_kind(&path.to_dotted()).is_some() {
                    self.kind_path(segments);
                } else if let Some((last, package)) = segments.split_last() {
                    // `common.Service`: an imported file's type.
                    for segment in package {
                        self.push(segment.span, TokenType::Namespace, &[]);
                    }
                    self.push(last.span, TokenType::Type, &[]);
                }
            }
        }
    }

    /// A name used as a value.
    fn name(&mut self, ident: &Ident) {
        if let Some((ty, modifiers)) = self.resolved(ident) {
            return self.push(ident.span, ty, &modifiers);
        }
        if self.loops.binding_of(&ident.name, ident.span).is_some() {
            return self.push(
                ident.span,
                TokenType::Variable,
                &[TokenModifier::Readonly, TokenModifier::Loop],
            );
        }
        // Not resolved by the checker: a declaration of this file with the
        // name, visible here, if there is one.
        let offset = ident.span.start;
        let found = self.decls.iter().find(|decl| {
            decl.name.as_deref() == Some(ident.name.as_str())
                && decl.block.is_none_or(|block| block.contains(offset))
        });
        if let Some((ty, modifiers)) = found.and_then(|decl| classify(decl.kind)) {
            self.push(ident.span, ty, &modifiers);
        }
    }

    /// The classification of the declaration the checker resolved `ident`
    /// to.
    fn resolved(&self, ident: &Ident) -> Option<(TokenType, Vec<TokenModifier>)> {
        let id = self.analysis.checked.resolutions.get(&ident.span)?;
        classify(self.analysis.decls.get(id.0 as usize)?.kind)
    }
}

impl<'a> Visitor<'a> for Names<'a> {
    fn visit_item(&mut self, item: &'a Item) {
        use TokenModifier as M;
        match &item.kind {
            ItemKind::Param(param) => self.declare(&param.name, TokenType::Parameter, &[]),
            ItemKind::Let(decl) => self.declare(&decl.name, TokenType::Variable, &[M::Readonly]),
            ItemKind::TypeAlias(alias) => self.declare(&alias.name, TokenType::Type, &[]),
            ItemKind::Resource(resource) | ItemKind::Data(resource) => {
                let modifier =
                    if matches!(item.kind, ItemKind::Data(_)) { M::Data } else { M::Resource };
                self.declare(&resource.name, TokenType::Variable, &[modifier]);
                self.kind_path(&resource.kind.segments);
                self.body_keys(&resource.body, TokenType::Property);
            }
            ItemKind::Output(output) => {
                self.declare(&output.name, TokenType::Variable, &[M::Output])
            }
            ItemKind::Module(module) => {
                self.declare(&module.name, TokenType::Namespace, &[]);
                self.body_keys(&module.body, TokenType::Parameter);
            }
            ItemKind::Import(import) => {
                self.contextual.push((import.source.span.end, import.alias.span.start));
                self.declare(&import.alias, TokenType::Namespace, &[]);
            }
            ItemKind::Provider(provider) => {
                self.push(provider.name.span, TokenType::Namespace, &[]);
                if let Some(alias) = &provider.alias {
                    self.contextual.push((provider.name.span.end, alias.span.start));
                    self.declare(alias, TokenType::Namespace, &[]);
                }
                self.body_keys(&provider.body, TokenType::Property);
            }
            ItemKind::Policy(policy) => self.declare(&policy.name, TokenType::Namespace, &[]),
            ItemKind::For(decl) => {
                if let Some(key) = &decl.key {
                    self.contextual.push((decl.collection.span.end, key.span.start));
                }
            }
            ItemKind::Lifecycle(block) => self.body_keys(&block.body, TokenType::Property),
            ItemKind::Mock(mock) => {
                self.contextual.push((mock.keyword.start, mock.keyword.end));
                self.kind_path(&mock.kind.segments);
                self.body_keys(&mock.body, TokenType::Property);
            }
            ItemKind::Test(test) => {
                self.contextual.push((test.keyword.start, test.keyword.end));
                self.push(test.name.span, TokenType::Function, &[M::Declaration]);
            }
            ItemKind::Setting(field) => {
                self.push(field.key.span(), TokenType::Property, &[]);
            }
            ItemKind::Assert(_) | ItemKind::Warn(_) | ItemKind::If(_) | ItemKind::Error => {}
        }
        visit::walk_item(self, item);
    }

    fn visit_decorator(&mut self, decorator: &'a Decorator) {
        let span = Span::new(self.file, decorator.span.start, decorator.name.span.end);
        self.push(span, TokenType::Decorator, &[]);
        // `@ignore_changes(content)` names fields, `@provider(replica)`
        // a provider configuration.
        let named = match DecoratorKind::from_name(&decorator.name.name) {
            Some(DecoratorKind::IgnoreChanges) => Some(TokenType::Property),
            Some(DecoratorKind::Provider) => Some(TokenType::Namespace),
            Some(
                DecoratorKind::Description
                | DecoratorKind::DependsOn
                | DecoratorKind::PreventDestroy
                | DecoratorKind::CreateBeforeDestroy
                | DecoratorKind::Timeout
                | DecoratorKind::Retry
                | DecoratorKind::Plugin,
            )
            | None => None,
        };
        for arg in decorator.args.iter().flatten() {
            match (&arg.value.kind, named) {
                (ExprKind::Ident(ident), Some(ty)) if arg.name.is_none() => {
                    self.push(ident.span, ty, &[])
                }
                _ => self.visit_arg(arg),
            }
        }
    }

    fn visit_arg(&mut self, arg: &'a Arg) {
        if let Some(name) = &arg.name {
            self.push(name.span, TokenType::Parameter, &[]);
        }
        visit::walk_arg(self, arg);
    }

    fn visit_type(&mut self, ty: &'a TypeExpr) {
        match &ty.kind {
            TypeExprKind::Named(path) | TypeExprKind::Generic { name: path, .. } => {
                self.type_name(path)
            }
            TypeExprKind::Record(_)
            | TypeExprKind::Optional(_)
            | TypeExprKind::Literal(_)
            | TypeExprKind::Union(_)
            | TypeExprKind::Paren(_)
            | TypeExprKind::Error => {}
        }
        visit::walk_type(self, ty);
    }

    fn visit_record_field_type(&mut self, field: &'a RecordFieldType) {
        self.declare(&field.name, TokenType::Property, &[]);
        visit::walk_record_field_type(self, field);
    }

    /// Declares the variables of a `for` or a comprehension.
    fn enter_loop(&mut self, site: LoopSite<'a>) {
        let binding = site.binding();
        for name in std::iter::once(&binding.first).chain(&binding.second) {
            self.declare(
                name,
                TokenType::Variable,
                &[TokenModifier::Readonly, TokenModifier::Loop],
            );
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match &expr.kind {
            ExprKind::Ident(ident) => self.name(ident),
            ExprKind::Object(fields) => {
                for field in fields {
                    if let FieldKey::Name(name) = &field.key {
                        self.push(name.span, TokenType::Property, &[]);
                    }
                }
                visit::walk_expr(self, expr);
            }
            ExprKind::Field { base, name, .. } => {
                self.visit_expr(base);
                // `alias.NAME` of an import names a declaration.
                match self.resolved(name) {
                    Some((ty, modifiers)) => self.push(name.span, ty, &modifiers),
                    None => self.push(name.span, TokenType::Property, &[]),
                }
            }
            ExprKind::Call { callee, args } => {
                // `resources(KIND)` is checked apart from the other functions.
                let function = match &callee.kind {
                    ExprKind::Ident(name)
                        if name.name == "resources" || lookup_function(&name.name).is_some() =>
                    {
                        Some(name)
                    }
                    _ => None,
                };
                match function {
                    Some(name) => {
                        self.push(name.span, TokenType::Function, &[TokenModifier::DefaultLibrary])
                    }
                    None => self.visit_expr(callee),
                }
                let kinds = function.is_some_and(|name| name.name == "resources");
                for arg in args {
                    match dotted(&arg.value) {
                        Some(segments) if kinds && arg.name.is_none() && segments.len() > 1 => {
                            self.kind_path(&segments.into_iter().cloned().collect::<Vec<_>>())
                        }
                        _ => self.visit_arg(arg),
                    }
                }
            }
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Duration { .. }
            | ExprKind::Bool(_)
            | ExprKind::None
            | ExprKind::Str(_)
            | ExprKind::List(_)
            | ExprKind::ListComprehension(_)
            | ExprKind::MapComprehension(_)
            | ExprKind::Unary { .. }
            | ExprKind::Binary { .. }
            | ExprKind::Conditional { .. }
            | ExprKind::Range { .. }
            | ExprKind::Index { .. }
            | ExprKind::Paren(_)
            | ExprKind::Error => visit::walk_expr(self, expr),
        }
    }
}

/// How a use of a declaration of `kind` is highlighted.
fn classify(kind: DeclKind) -> Option<(TokenType, Vec<TokenModifier>)> {
    use TokenModifier as M;
    Some(match kind {
        DeclKind::Param => (TokenType::Parameter, Vec::new()),
        DeclKind::Let => (TokenType::Variable, vec![M::Readonly]),
        DeclKind::Resource => (TokenType::Variable, vec![M::Resource]),
        DeclKind::Data => (TokenType::Variable, vec![M::Data]),
        DeclKind::Output => (TokenType::Variable, vec![M::Output]),
        DeclKind::Module | DeclKind::Import => (TokenType::Namespace, Vec::new()),
        DeclKind::Assert | DeclKind::Warn => return None,
    })
}

/// The segments of a dotted name written as an expression (`fs.file`).
fn dotted(expr: &Expr) -> Option<Vec<&Ident>> {
    match &expr.kind {
        ExprKind::Ident(ident) => Some(vec![ident]),
        ExprKind::Field { base, name, optional: false } => {
            let mut segments = dotted(base)?;
            segments.push(name);
            Some(segments)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ide::testing::analyze_one;

    /// The text and type of each token, with its modifiers.
    fn tokens(source: &str) -> Vec<(String, &'static str, Vec<&'static str>)> {
        let analysis = analyze_one(source);
        semantic_tokens(&analysis, FileId(0))
            .into_iter()
            .map(|token| {
                let modifiers = TokenModifier::ALL
                    .iter()
                    .filter(|m| token.has(**m))
                    .map(|m| m.name())
                    .collect();
                (
                    source[token.start as usize..token.end as usize].to_string(),
                    token.ty.name(),
                    modifiers,
                )
            })
            .collect()
    }

    fn find<'t>(
        tokens: &'t [(String, &'static str, Vec<&'static str>)],
        text: &str,
        nth: usize,
    ) -> &'t (String, &'static str, Vec<&'static str>) {
        tokens
            .iter()
            .filter(|(t, _, _)| t == text)
            .nth(nth)
            .unwrap_or_else(|| panic!("no token {nth} `{text}` in {tokens:?}"))
    }

    #[test]
    fn names_are_classified_by_what_they_resolve_to() {
        let source = "/// The port.\nparam port: int = 80\nlet base = \"x:${port}\"\n\
            resource site: fs.file {\n  path = upper(base)\n}\n\
            for i, name in [\"a\"] {\n  let dir = \"${name}${i}\"\n  output o = dir\n}\n\
            output sum = [for x in [1]: x + port]\noutput h = site.sha256\n";
        let tokens = tokens(source);
        assert_eq!(find(&tokens, "/// The port.", 0).2, ["documentation"]);
        assert_eq!(find(&tokens, "param", 0).1, "keyword");
        assert_eq!(find(&tokens, "port", 0).1, "parameter");
        assert_eq!(find(&tokens, "port", 0).2, ["declaration"]);
        assert_eq!(find(&tokens, "int", 0), &("int".into(), "type", vec!["defaultLibrary"]));
        assert_eq!(find(&tokens, "80", 0).1, "number");
        assert_eq!(find(&tokens, "port", 1).1, "parameter");
        assert_eq!(find(&tokens, "${", 0).1, "operator");
        assert_eq!(find(&tokens, "base", 1), &("base".into(), "variable", vec!["readonly"]));
        assert_eq!(find(&tokens, "site", 0).2, ["declaration", "resource"]);
        assert_eq!(find(&tokens, "fs", 0).1, "namespace");
        assert_eq!(find(&tokens, "file", 0).1, "class");
        assert_eq!(find(&tokens, "path", 0).1, "property");
        assert_eq!(find(&tokens, "upper", 0).1, "function");
        assert_eq!(
            find(&tokens, "name", 1),
            &("name".into(), "variable", vec!["readonly", "loop"])
        );
        assert_eq!(find(&tokens, "i", 1).2, ["readonly", "loop"]);
        assert_eq!(find(&tokens, "dir", 1).1, "variable");
        assert_eq!(find(&tokens, "o", 0).2, ["declaration", "output"]);
        assert_eq!(find(&tokens, "x", 1).2, ["readonly", "loop"]);
        assert_eq!(find(&tokens, "site", 1).2, ["resource"]);
        assert_eq!(find(&tokens, "sha256", 0).1, "property");
    }

    #[test]
    fn modules_imports_types_and_contextual_keywords() {
        let source = "import \"./c.orch\" as c\ntype Mode = \"a\" | \"b\"\n\
            @description(\"d\")\nparam m: Mode = \"a\"\n\
            let r = { type = m, data = c.v }\nlet k = r.type\n\
            for x in [\"a\"] key x {\n  resource d: fs.dir {\n    path = x\n  }\n}\n\
            output n = length(resources(fs.dir))\n";
        let tokens = tokens(source);
        assert_eq!(find(&tokens, "as", 0).1, "keyword");
        assert_eq!(find(&tokens, "c", 0).1, "namespace");
        assert_eq!(find(&tokens, "Mode", 0).2, ["declaration"]);
        assert_eq!(find(&tokens, "Mode", 1).1, "type");
        assert_eq!(find(&tokens, "\"a\"", 0).1, "string");
        assert_eq!(find(&tokens, "@description", 0).1, "decorator");
        // Keywords used as field names are properties.
        assert_eq!(find(&tokens, "type", 1).1, "property");
        assert_eq!(find(&tokens, "data", 0).1, "property");
        assert_eq!(find(&tokens, "type", 2).1, "property");
        assert_eq!(find(&tokens, "key", 0).1, "keyword");
        assert_eq!(find(&tokens, "dir", 1).1, "class");
        assert_eq!(find(&tokens, "dir", 1).2, ["defaultLibrary"]);
    }

    #[test]
    fn multi_line_tokens_are_split_per_line() {
        let source = "/* one\n   two */\nlet s = \"\"\"\n  a\n  b ${1} c\n  \"\"\"\n";
        let analysis = analyze_one(source);
        let tokens = semantic_tokens(&analysis, FileId(0));
        for token in &tokens {
            let text = &source[token.start as usize..token.end as usize];
            assert!(!text.contains('\n') && !text.is_empty(), "{text:?}");
        }
        let texts: Vec<&str> =
            tokens.iter().map(|t| &source[t.start as usize..t.end as usize]).collect();
        assert_eq!(&texts[..2], ["/* one", "   two */"]);
        assert!(texts.contains(&"  b "), "{texts:?}");
        assert!(tokens.windows(2).all(|w| w[0].end <= w[1].start), "sorted, disjoint");
    }
}
