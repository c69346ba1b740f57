//! Completion: what may be typed at the cursor.
//!
//! The context is read from the tokens before the cursor rather than from
//! the syntax tree, because the text being typed rarely parses: an open
//! `{` tells whether the cursor is in the body of a kind, of a module, in
//! a block or in an expression, and the tokens just before it whether a
//! kind, a type, a field or a name is expected. The analysis then supplies
//! what fits: kinds and their fields from the standard library, the params
//! of a module's file, the names in scope with their types.

use orch_lang::ast::ItemKind;
use orch_lang::token::Token;
use orch_lang::{FileId, Span, lex};
use orch_providers::kinds;
use orch_providers::lookup_kind;
use orch_stdlib::Ty;
use orch_stdlib::functions::functions;

use super::scope::{local_bindings, module_decl, target_file, visible_decls};
use crate::Analysis;
use crate::db::join_path;
use crate::model::{DeclInfo, DeclKind};

/// What a completion inserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionKind {
    Keyword,
    /// A param, `let` or loop variable.
    Variable,
    /// A resource, data, module or output.
    Declaration,
    /// An imported file's alias.
    Import,
    /// A resource or data kind.
    Kind,
    /// A field of a kind's body or of a record.
    Field,
    Function,
    Type,
    /// `true`, `false`, `none`.
    Constant,
}

/// One completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub label: String,
    pub kind: CompletionKind,
    /// A type or a signature.
    pub detail: Option<String>,
    /// Markdown.
    pub documentation: Option<String>,
    /// The text to insert when it differs from the label.
    pub insert_text: Option<String>,
    /// The byte range the completion replaces: the word before the cursor,
    /// or a whole dotted kind name.
    pub replace: (u32, u32),
    /// Lower ranks sort first (required fields before optional ones).
    pub rank: u8,
}

/// Keywords that start a declaration, with a line of documentation.
const ITEM_KEYWORDS: &[(&str, &str)] = &[
    ("param", "A value given from outside: `param NAME: TYPE = DEFAULT`."),
    ("let", "A named value: `let NAME = EXPR`."),
    ("type", "A type alias: `type NAME = TYPE`."),
    ("resource", "A managed object: `resource NAME: KIND { ... }`."),
    ("data", "A read-only look-up: `data NAME: KIND { ... }`."),
    ("output", "A value the configuration exposes: `output NAME: TYPE = EXPR`."),
    ("module", "An instance of another file: `module NAME: \"PATH\" { ... }`."),
    ("import", "Types and lets of another file: `import \"PATH\" as NAME`."),
    ("provider", "Provider settings: `provider NAME { ... }`."),
    ("if", "Declarations that exist when a condition holds."),
    ("for", "Declarations repeated for each element of a collection."),
    ("assert", "A condition checked before anything runs: `assert COND, MESSAGE`."),
    ("warn", "A condition reported as a warning: `warn COND, MESSAGE`."),
    ("policy", "Rules over every instance of a configuration."),
];

/// Type names, for `param NAME: `, `let NAME: ` and `output NAME: `.
const TYPE_NAMES: &[&str] =
    &["string", "int", "float", "bool", "duration", "any", "list", "map", "secret"];

/// Completions at `offset` in `file`.
pub fn completions(analysis: &Analysis, file: FileId, offset: u32) -> Vec<Completion> {
    completions_in_text(analysis, file, &analysis.files.get(file).source, offset)
}

/// The completions at `offset` in `source`, a newer text of `file` than
/// the one `analysis` was computed from (the same text is fine too): what
/// the cursor is in comes from `source`, the names in scope, their types
/// and the assigned fields from `analysis`, at the place of `offset` in
/// the analysed text. An editor gets completions right after an edit this
/// way, before the edit is analysed; names that the edits since the
/// analysis declared or renamed are what it misses.
pub fn completions_in_text(
    analysis: &Analysis,
    file: FileId,
    source: &str,
    offset: u32,
) -> Vec<Completion> {
    let mut offset = (offset as usize).min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let word_start = source[..offset]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| c.is_alphanumeric() || c == '_')
        .last()
        .map_or(offset, |(i, _)| i);
    let replace = (word_start as u32, offset as u32);
    let lexed = lex(file, source);
    let in_comment =
        lexed.comments.iter().any(|c| c.span.start < offset as u32 && offset as u32 <= c.span.end);
    if in_comment {
        return Vec::new();
    }
    let context = context(&lexed.tokens, source, word_start as u32, offset as u32);
    // Where the cursor is in the analysed text.
    let analysed = analysed_offset(&analysis.files.get(file).source, source, offset as u32);
    let mut out = Vec::new();
    match context {
        Context::Nothing => {}
        Context::Item => {
            for (keyword, doc) in ITEM_KEYWORDS {
                out.push(Completion {
                    label: keyword.to_string(),
                    kind: CompletionKind::Keyword,
                    detail: None,
                    documentation: Some(doc.to_string()),
                    insert_text: None,
                    replace,
                    rank: 0,
                });
            }
        }
        Context::Kind { data, start } => {
            for kind in kinds().iter().filter(|kind| kind.data == data) {
                out.push(Completion {
                    label: kind.name.to_string(),
                    kind: CompletionKind::Kind,
                    detail: Some(if kind.data { "data kind" } else { "resource kind" }.into()),
                    documentation: Some(kind.doc.to_string()),
                    insert_text: None,
                    replace: (start, offset as u32),
                    rank: 0,
                });
            }
        }
        Context::Type => {
            for name in TYPE_NAMES {
                out.push(simple(name, CompletionKind::Type, replace));
            }
            let ast = &analysis.files.get(file).parsed.file;
            for item in &ast.items {
                if let ItemKind::TypeAlias(alias) = &item.kind {
                    let mut completion = simple(&alias.name.name, CompletionKind::Type, replace);
                    completion.documentation = item.docs.clone();
                    out.push(completion);
                }
            }
        }
        Context::KindBody { kind, assigned } => {
            let Some(kind) = lookup_kind(&kind) else { return out };
            for field in kind.inputs().filter(|f| !assigned.iter().any(|a| a == f.name)) {
                let ty =
                    if field.sensitive { Ty::secret(field.ty.clone()) } else { field.ty.clone() };
                let note = if field.required { " (required)" } else { "" };
                out.push(Completion {
                    label: field.name.to_string(),
                    kind: CompletionKind::Field,
                    detail: Some(format!("{ty}{note}")),
                    documentation: Some(field.doc.to_string()),
                    insert_text: Some(format!("{} = ", field.name)),
                    replace,
                    rank: if field.required { 0 } else { 1 },
                });
            }
        }
        Context::ModuleBody { path, assigned } => {
            let path = join_path(&analysis.files.get(file).path, &path);
            let Some(target) = analysis.files.find_module(&path) else { return out };
            let params = analysis.decls.iter().filter(|d| d.kind == DeclKind::Param);
            for decl in params.filter(|d| analysis.same_module(d.file, target)) {
                let Some(name) = decl.name.as_deref() else { continue };
                if assigned.iter().any(|a| a == name) {
                    continue;
                }
                let target_ast = &analysis.files.get(decl.file).parsed.file;
                let required = target_ast.items.iter().any(|item| {
                    item.span == decl.item_span
                        && matches!(&item.kind, ItemKind::Param(p) if p.default.is_none())
                });
                let ty = analysis.checked.decl_types.get(&decl.id).map(|t| t.ty.to_string());
                let note = if required { " (required)" } else { "" };
                out.push(Completion {
                    label: name.to_string(),
                    kind: CompletionKind::Field,
                    detail: ty.map(|ty| format!("{ty}{note}")),
                    documentation: decl.docs.clone(),
                    insert_text: Some(format!("{name} = ")),
                    replace,
                    rank: if required { 0 } else { 1 },
                });
            }
        }
        Context::Member(chain) => members(analysis, file, analysed, &chain, replace, &mut out),
        Context::Expr => {
            let ast = &analysis.files.get(file).parsed.file;
            for binding in local_bindings(ast, analysed) {
                if !out.iter().any(|c: &Completion| c.label == binding.name) {
                    out.push(simple(&binding.name, CompletionKind::Variable, replace));
                }
            }
            for decl in visible_decls(analysis, file, analysed) {
                out.push(declaration(analysis, decl, replace));
            }
            for function in functions() {
                out.push(Completion {
                    label: function.name.to_string(),
                    kind: CompletionKind::Function,
                    detail: Some(function.signature.to_string()),
                    documentation: Some(function.doc.to_string()),
                    insert_text: None,
                    replace,
                    rank: 2,
                });
            }
            for constant in ["true", "false", "none"] {
                out.push(Completion {
                    rank: 3,
                    ..simple(constant, CompletionKind::Constant, replace)
                });
            }
        }
    }
    out
}

/// Where `offset` of `now` falls in `analysed`, an older version of the
/// text: the same offset before the first difference, the same distance
/// from the end after the last one, the start of the difference in
/// between (text the analysis never saw).
fn analysed_offset(analysed: &str, now: &str, offset: u32) -> u32 {
    if std::ptr::eq(analysed, now) || analysed == now {
        return offset;
    }
    let (old, new) = (analysed.as_bytes(), now.as_bytes());
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let room = old.len().min(new.len()) - prefix;
    let suffix =
        old.iter().rev().zip(new.iter().rev()).take(room).take_while(|(a, b)| a == b).count();
    let offset = offset as usize;
    let mapped = if offset <= prefix {
        offset
    } else if offset >= new.len() - suffix {
        offset - (new.len() - suffix) + (old.len() - suffix)
    } else {
        prefix
    };
    let mut mapped = mapped.min(old.len());
    while !analysed.is_char_boundary(mapped) {
        mapped -= 1;
    }
    mapped as u32
}

fn simple(label: &str, kind: CompletionKind, replace: (u32, u32)) -> Completion {
    Completion {
        label: label.to_string(),
        kind,
        detail: None,
        documentation: None,
        insert_text: None,
        replace,
        rank: 1,
    }
}

fn declaration(analysis: &Analysis, decl: &DeclInfo, replace: (u32, u32)) -> Completion {
    let kind = match decl.kind {
        DeclKind::Param | DeclKind::Let => CompletionKind::Variable,
        DeclKind::Import => CompletionKind::Import,
        _ => CompletionKind::Declaration,
    };
    let ty = analysis.checked.decl_types.get(&decl.id).map(|typed| &typed.ty);
    let detail = match decl.kind {
        DeclKind::Import | DeclKind::Module => Some(decl.kind.describe().to_string()),
        kind => ty.filter(|ty| **ty != Ty::Error).map(|ty| format!("{} {ty}", kind.describe())),
    };
    Completion {
        label: decl.name.as_deref().unwrap_or_default().to_string(),
        kind,
        detail,
        documentation: decl.docs.clone(),
        insert_text: None,
        replace,
        rank: 1,
    }
}

/// The fields of what `chain` (`a.b.c` before a `.`) names.
fn members(
    analysis: &Analysis,
    file: FileId,
    offset: u32,
    chain: &[String],
    replace: (u32, u32),
    out: &mut Vec<Completion>,
) {
    let Some((first, rest)) = chain.split_first() else { return };
    let visible = visible_decls(analysis, file, offset);
    // A block `let` shadows a module-level name.
    let Some(decl) = visible
        .iter()
        .rev()
        .find(|decl| decl.block.is_some() && decl.name.as_deref() == Some(first))
        .or_else(|| visible.iter().find(|decl| decl.name.as_deref() == Some(first)))
    else {
        return;
    };
    let mut rest = rest;
    let mut ty = match decl.kind {
        DeclKind::Import | DeclKind::Module => {
            let Some(target) = target_file(analysis, decl.id) else { return };
            match rest.split_first() {
                None => {
                    // The names another file offers: everything an import
                    // shares, the outputs of a module instance.
                    for member in analysis.decls.iter().filter(|d| {
                        analysis.same_module(d.file, target)
                            && d.name.is_some()
                            && d.block.is_none()
                            && if decl.kind == DeclKind::Import {
                                matches!(d.kind, DeclKind::Let | DeclKind::Import)
                            } else {
                                d.kind == DeclKind::Output
                            }
                    }) {
                        out.push(declaration(analysis, member, replace));
                    }
                    return;
                }
                Some((name, tail)) => {
                    let Some(member) = module_decl(analysis, target, name) else { return };
                    rest = tail;
                    analysis.checked.decl_types.get(&member.id).map(|typed| typed.ty.clone())
                }
            }
        }
        _ => analysis.checked.decl_types.get(&decl.id).map(|typed| typed.ty.clone()),
    };
    for name in rest {
        ty = match ty.as_ref().map(|ty| ty.reveal().unwrap_optional()) {
            Some(Ty::Record(record)) => record.field(name).map(|field| field.ty.clone()),
            _ => None,
        };
    }
    let Some(Ty::Record(record)) = ty.as_ref().map(|ty| ty.reveal().unwrap_optional()) else {
        return;
    };
    let kind = record.name.as_deref().and_then(lookup_kind);
    for field in &record.fields {
        let doc = kind.and_then(|kind| kind.field(&field.name)).map(|f| f.doc.to_string());
        let ty = if field.optional { Ty::optional(field.ty.clone()) } else { field.ty.clone() };
        out.push(Completion {
            label: field.name.to_string(),
            kind: CompletionKind::Field,
            detail: Some(ty.to_string()),
            documentation: doc,
            insert_text: None,
            replace,
            rank: 0,
        });
    }
}

/// What is expected at the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Context {
    /// Inside a string or a place where nothing is completed.
    Nothing,
    /// Where a declaration starts.
    Item,
    /// After `resource NAME:` or `data NAME:`; `start` is where the kind
    /// name starts.
    Kind { data: bool, start: u32 },
    /// After `param NAME:`, `let NAME:` or `output NAME:`.
    Type,
    /// A field name in the body of a kind; `assigned` are the fields the
    /// body already sets.
    KindBody { kind: String, assigned: Vec<String> },
    /// A field name in the body of a module: its params.
    ModuleBody { path: String, assigned: Vec<String> },
    /// After `a.b.`: the names before the dot.
    Member(Vec<String>),
    /// An expression.
    Expr,
}

/// An open bracket or string before the cursor.
#[derive(Debug, Clone)]
enum Open {
    Str,
    Interpolation,
    Paren,
    Bracket,
    Brace { index: usize, owner: Brace },
}

/// What a `{` opens.
#[derive(Debug, Clone)]
enum Brace {
    /// The body of a resource or data of this kind.
    Kind(String),
    /// The body of a module with this path.
    Module(String),
    /// An `if`, `for`, `else` or `policy` block.
    Block,
    /// An object literal or a record type.
    Value,
}

fn name_of<'s>(token: &Token<'s>) -> Option<&'s str> {
    match token {
        Token::Ident(name) => Some(name),
        other => other.keyword_text(),
    }
}

/// Whether a token can end a value, a field or a declaration, so that a
/// name on the next line starts something new.
fn ends_value(token: &Token<'_>) -> bool {
    matches!(
        token,
        Token::Ident(_)
            | Token::Int(_)
            | Token::Float(_)
            | Token::Duration(..)
            | Token::StrEnd
            | Token::RBrace
            | Token::RParen
            | Token::RBracket
            | Token::KwTrue
            | Token::KwFalse
            | Token::KwNone
            | Token::Question
    )
}

fn context(tokens: &[(Token<'_>, Span)], source: &str, word_start: u32, offset: u32) -> Context {
    // Tokens before the word being typed.
    let before = tokens.partition_point(|(_, span)| span.start < word_start);
    let tokens_before = &tokens[..before];
    let mut stack: Vec<Open> = Vec::new();
    for (index, (token, _)) in tokens_before.iter().enumerate() {
        match token {
            Token::StrStart { .. } => stack.push(Open::Str),
            Token::InterpStart => stack.push(Open::Interpolation),
            Token::LParen => stack.push(Open::Paren),
            Token::LBracket => stack.push(Open::Bracket),
            Token::LBrace => stack.push(Open::Brace { index, owner: brace_owner(tokens, index) }),
            Token::StrEnd | Token::InterpEnd | Token::RParen | Token::RBracket | Token::RBrace => {
                stack.pop();
            }
            _ => {}
        }
    }
    if matches!(stack.last(), Some(Open::Str)) {
        // Inside a string, unless the cursor is right after its closing
        // quote, which starts at or after the cursor.
        return Context::Nothing;
    }
    let Some(last) = before.checked_sub(1) else { return Context::Item };
    let (previous, previous_span) = &tokens[last];
    match previous {
        Token::Dot | Token::QuestionDot => {
            let (chain, chain_start) = dotted_before(tokens, last);
            if chain.is_empty() {
                return Context::Nothing;
            }
            if let Some(data) = kind_position(tokens, chain_start) {
                return Context::Kind { data, start: tokens[chain_start].1.start };
            }
            return Context::Member(chain);
        }
        Token::Colon => {
            if let Some(data) = kind_position(tokens, last + 1) {
                return Context::Kind { data, start: word_start };
            }
            let declares_type = last >= 2
                && matches!(tokens[last - 1].0, Token::Ident(_))
                && matches!(tokens[last - 2].0, Token::KwParam | Token::KwLet | Token::KwOutput);
            return if declares_type { Context::Type } else { Context::Expr };
        }
        Token::At => return Context::Nothing,
        _ => {}
    }
    let innermost_brace = match stack.last() {
        Some(Open::Brace { index, .. }) => Some(*index),
        _ => None,
    };
    let on_new_line = source
        .get(previous_span.end as usize..word_start as usize)
        .is_some_and(|gap| gap.contains('\n'));
    let starts_entry = innermost_brace == Some(last)
        || (matches!(previous, Token::Comma) && innermost_brace.is_some())
        || (on_new_line && ends_value(previous));
    if !starts_entry {
        return Context::Expr;
    }
    match stack.last() {
        None => Context::Item,
        Some(Open::Brace { index, owner }) => match owner {
            Brace::Kind(kind) => Context::KindBody {
                kind: kind.clone(),
                assigned: assigned_fields(tokens, *index, word_start, offset),
            },
            Brace::Module(path) => Context::ModuleBody {
                path: path.clone(),
                assigned: assigned_fields(tokens, *index, word_start, offset),
            },
            Brace::Block => Context::Item,
            Brace::Value => Context::Nothing,
        },
        Some(_) => Context::Expr,
    }
}

/// The dotted name that ends right before the token at `dot` (`a.b` before
/// the last `.` of `a.b.`), and the index of its first token.
fn dotted_before(tokens: &[(Token<'_>, Span)], dot: usize) -> (Vec<String>, usize) {
    let mut chain = Vec::new();
    let mut index = dot;
    while index >= 1 {
        let Some(name) = name_of(&tokens[index - 1].0) else { break };
        chain.push(name.to_string());
        index -= 1;
        if index >= 1 && matches!(tokens[index - 1].0, Token::Dot | Token::QuestionDot) {
            index -= 1;
        } else {
            break;
        }
    }
    chain.reverse();
    (chain, index)
}

/// Whether the token at `index` is where the kind of a `resource NAME:`
/// (`Some(false)`) or `data NAME:` (`Some(true)`) is written.
fn kind_position(tokens: &[(Token<'_>, Span)], index: usize) -> Option<bool> {
    if index < 3 || !matches!(tokens[index - 1].0, Token::Colon) {
        return None;
    }
    if !matches!(tokens[index - 2].0, Token::Ident(_)) {
        return None;
    }
    match tokens[index - 3].0 {
        Token::KwResource => Some(false),
        Token::KwData => Some(true),
        _ => None,
    }
}

/// What the `{` at `index` opens, from the tokens before it.
fn brace_owner(tokens: &[(Token<'_>, Span)], index: usize) -> Brace {
    let Some(previous) = index.checked_sub(1).map(|i| &tokens[i].0) else { return Brace::Block };
    if name_of(previous).is_some() {
        let (chain, start) = dotted_before(tokens, index);
        if kind_position(tokens, start).is_some() {
            return Brace::Kind(chain.join("."));
        }
    }
    if matches!(previous, Token::StrEnd) && index >= 6 {
        let path = match (&tokens[index - 2].0, &tokens[index - 3].0) {
            (Token::StrText(text), Token::StrStart { .. }) => Some((text.to_string(), index - 4)),
            (Token::StrStart { .. }, _) => Some((String::new(), index - 3)),
            _ => None,
        };
        if let Some((path, colon)) = path
            && colon >= 2
            && matches!(tokens[colon].0, Token::Colon)
            && matches!(tokens[colon - 1].0, Token::Ident(_))
            && matches!(tokens[colon - 2].0, Token::KwModule)
        {
            return Brace::Module(path);
        }
    }
    match previous {
        Token::Eq
        | Token::LParen
        | Token::LBracket
        | Token::Comma
        | Token::Colon
        | Token::FatArrow
        | Token::Question
        | Token::QuestionQuestion
        | Token::OrOr
        | Token::AndAnd
        | Token::InterpStart
        | Token::Pipe
        | Token::Lt => Brace::Value,
        _ => Brace::Block,
    }
}

/// The field names set in the body opened at `open`, before and after the
/// word being typed.
fn assigned_fields(
    tokens: &[(Token<'_>, Span)],
    open: usize,
    word_start: u32,
    offset: u32,
) -> Vec<String> {
    let mut assigned = Vec::new();
    let mut depth = 0usize;
    for index in open + 1..tokens.len() {
        let (token, _) = &tokens[index];
        match token {
            Token::LBrace | Token::LParen | Token::LBracket | Token::StrStart { .. } => depth += 1,
            Token::InterpStart => depth += 1,
            Token::RBrace | Token::RParen | Token::RBracket | Token::StrEnd | Token::InterpEnd => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            Token::Eq if depth == 0 && index > open + 1 => {
                let (name, name_span) = &tokens[index - 1];
                let is_typed_word = name_span.start >= word_start && name_span.start <= offset;
                if let Some(name) = name_of(name).filter(|_| !is_typed_word) {
                    assigned.push(name.to_string());
                }
            }
            _ => {}
        }
    }
    assigned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ide::testing::analyze_one;

    fn labels(completions: &[Completion]) -> Vec<&str> {
        completions.iter().map(|c| c.label.as_str()).collect()
    }

    #[test]
    fn offsets_map_around_the_difference() {
        let old = "let a = 1\nlet b = a\n";
        // Same text: the same offset.
        assert_eq!(analysed_offset(old, old, 7), 7);
        // One letter typed at 19 (`let b = ax`): before it, the same; the
        // cursor after it, where the letter went in; after it, shifted.
        let new = "let a = 1\nlet b = ax\n";
        assert_eq!(analysed_offset(old, new, 5), 5);
        assert_eq!(analysed_offset(old, new, 19), 19);
        assert_eq!(analysed_offset(old, new, 20), 19);
        assert_eq!(analysed_offset(old, new, 21), 20);
        // Inside a replaced stretch (`b` became `bcd`): where the
        // difference starts.
        let new = "let a = 1\nlet bcd = a\n";
        assert_eq!(analysed_offset(old, new, 16), 15);
        // Never out of the old text, never inside a character.
        assert_eq!(analysed_offset("é", "éé", 4), 2);
        assert_eq!(analysed_offset("aé", "ab", 2), 3);
        assert_eq!(analysed_offset("é", "èè", 2), 0);
    }

    #[test]
    fn a_newer_text_gives_its_context_with_the_analysed_names() {
        let old = "param port: int = 80\nresource f: fs.file {\n  path = \"/x\"\n}\noutput o: string = f\n";
        let analysis = analyze_one(old);
        let file = FileId(0);
        // `.` typed after `f`: members of `f`, though the analysis saw no dot.
        let new = old.replace("= f\n", "= f.\n");
        let at = new.find("f.\n").unwrap() as u32 + 2;
        let found = completions_in_text(&analysis, file, &new, at);
        assert!(labels(&found).contains(&"sha256"), "{:?}", labels(&found));
        assert_eq!(found[0].replace, (at, at));
        // A letter typed in an expression: names in scope, replacing it.
        let new = old.replace("= f\n", "= f + p\n");
        let at = new.find("+ p").unwrap() as u32 + 3;
        let found = completions_in_text(&analysis, file, &new, at);
        let port = found.iter().find(|c| c.label == "port").expect("port");
        assert_eq!(port.replace, (at - 1, at));
        assert_eq!(port.detail.as_deref(), Some("param int"));
        // The same text as analysed: what `completions` gives.
        let at = old.find("= f").unwrap() as u32 + 3;
        assert_eq!(completions_in_text(&analysis, file, old, at), completions(&analysis, file, at));
    }
}
