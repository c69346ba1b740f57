//! `moved`, `import` and `removed` blocks (LANGUAGE.md §11): their bodies
//! read as instance addresses, and the checks that need no state — fields,
//! targets, and the moves of a module taken together.
//!
//! The blocks carry no values into evaluation except addresses (and the
//! `id` of an `import`); the runtime matches them against the state.

use rustc_hash::FxHashMap as HashMap;

use orch_lang::ast::{self, Expr, ExprKind, FieldKey, LifecycleKind};
use orch_lang::diagnostic::codes;
use orch_lang::{Diagnostic, FileId, Span};
use smol_str::SmolStr;

use crate::eval::Key;
use crate::model::{DeclId, DeclKind, Model};
use crate::suggest::closest;

/// One step of an instance address: a name and the keys after it
/// (`conf["api"]`, `db[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub name: SmolStr,
    pub span: Span,
    pub keys: Vec<Key>,
}

/// An instance address as written in a lifecycle block: `a`,
/// `conf["api"]`, `db["eu"].role`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub segments: Vec<Segment>,
    pub span: Span,
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, segment) in self.segments.iter().enumerate() {
            if index > 0 {
                f.write_str(".")?;
            }
            f.write_str(&segment.name)?;
            for key in &segment.keys {
                write!(f, "{key}")?;
            }
        }
        Ok(())
    }
}

/// A lifecycle block read: its addresses decoded.
#[derive(Debug, Clone)]
pub enum Block<'a> {
    Moved {
        from: Address,
        to: Address,
    },
    /// The `to` keys may be expressions of the enclosing `for`'s
    /// variables; `to` holds them only when they are literals.
    Import {
        to: Option<Address>,
        to_expr: &'a Expr,
        id: &'a Expr,
    },
    Removed {
        from: Address,
        destroy: bool,
    },
}

/// A move of one module instance's configuration, with addresses made
/// absolute (the module instance's prefix before them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub from: String,
    pub to: String,
    /// The `moved` block.
    pub span: Span,
}

/// An `import` block of one module instance, evaluated for one
/// combination of its loops' keys: the absolute address that adopts the
/// object, and the object's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub to: String,
    /// `None` when the id is not a string known at plan time (the checker
    /// reports why).
    pub id: Option<String>,
    /// The `import` keyword.
    pub span: Span,
    /// The `id` expression.
    pub id_span: Span,
}

/// A `removed` block of one module instance, its address absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub from: String,
    /// `false`: forget the instance and leave its object.
    pub destroy: bool,
    pub span: Span,
}

/// The `moved` block for a rename of `from` to `to`: of the whole
/// declaration when only its name changed (`f["a"]` → `g["a"]` gives
/// `f` → `g`, which moves every instance of the loop at once).
pub fn declaration_move<'s>(from: &'s str, to: &'s str) -> (&'s str, &'s str) {
    match (from.find('['), to.find('[')) {
        (Some(i), Some(j))
            if from[i..] == to[j..] && !from[..i].contains('.') && !to[..j].contains('.') =>
        {
            (&from[..i], &to[..j])
        }
        _ => (from, to),
    }
}

/// The text of a `moved` block from `from` to `to`, as `orchc fmt` lays
/// it out.
pub fn moved_block(from: &str, to: &str) -> String {
    format!("moved {{\n  from = {from}\n  to   = {to}\n}}\n")
}

fn invalid(span: Span, message: impl Into<String>) -> Diagnostic {
    Diagnostic::new(&codes::E1001, span, message)
}

/// Reads `expr` as an address: names joined by `.`, each followed by
/// literal keys.
pub fn address(expr: &Expr) -> Result<Address, Box<Diagnostic>> {
    let mut segments: Vec<Segment> = Vec::new();
    collect_segments(expr, &mut segments)?;
    Ok(Address { segments, span: expr.span })
}

fn collect_segments(expr: &Expr, out: &mut Vec<Segment>) -> Result<(), Box<Diagnostic>> {
    match &expr.kind {
        ExprKind::Ident(ident) => {
            out.push(Segment { name: ident.name.clone(), span: ident.span, keys: Vec::new() });
            Ok(())
        }
        ExprKind::Field { base, name, optional: false } => {
            collect_segments(base, out)?;
            out.push(Segment { name: name.name.clone(), span: name.span, keys: Vec::new() });
            Ok(())
        }
        ExprKind::Index { base, index } => {
            collect_segments(base, out)?;
            let key = literal_key(index).ok_or_else(|| {
                Box::new(
                    invalid(index.span, "an address key must be a string or integer literal")
                        .with_help(
                            "write the key as it appears in the plan: `conf[\"api\"]`, `dirs[0]`",
                        ),
                )
            })?;
            if let Some(last) = out.last_mut() {
                last.keys.push(key);
            }
            Ok(())
        }
        _ => Err(Box::new(
            invalid(expr.span, "expected an instance address such as `conf[\"api\"]` or `db.role`")
                .with_help(
                    "`from` and `to` are addresses (names, `.` and literal keys), not expressions",
                ),
        )),
    }
}

fn literal_key(expr: &Expr) -> Option<Key> {
    match &expr.kind {
        ExprKind::Str(lit) => lit.as_plain().map(|text| Key::Str(SmolStr::new(text))),
        ExprKind::Int(value) => Some(Key::Int(*value)),
        ExprKind::Paren(inner) => literal_key(inner),
        _ => None,
    }
}

/// Reads the body of `block`: the fields it must have, and nothing else.
pub fn decode(block: &ast::Lifecycle) -> Result<Block<'_>, Vec<Diagnostic>> {
    let (required, optional): (&[&str], &[&str]) = match block.kind {
        LifecycleKind::Moved => (&["from", "to"], &[]),
        LifecycleKind::Import => (&["to", "id"], &[]),
        LifecycleKind::Removed => (&["from"], &["destroy"]),
    };
    let keyword = block.kind.keyword();
    let mut errors = Vec::new();
    let mut found: HashMap<&str, &Expr> = HashMap::default();
    // Names a misspelt field was taken for: not reported missing again.
    let mut suggested: Vec<&str> = Vec::new();
    for field in &block.body.fields {
        let name = match &field.key {
            FieldKey::Name(ident) => ident.name.as_str(),
            FieldKey::Quoted(lit) => {
                errors.push(invalid(lit.span, format!("a `{keyword}` block has no quoted fields")));
                continue;
            }
        };
        let Some(&known) = required.iter().chain(optional).find(|n| **n == name) else {
            let all: Vec<&str> = required.iter().chain(optional).copied().collect();
            let mut error =
                invalid(field.key.span(), format!("unknown field `{name}` in a `{keyword}` block"))
                    .with_help(format!("a `{keyword}` block has: {}", all.join(", ")));
            if let Some(suggestion) = closest(name, all.iter().copied()) {
                suggested.push(suggestion);
                error = error
                    .with_primary_message(format!("did you mean `{suggestion}`?"))
                    .with_suggestion(field.key.span(), suggestion);
            }
            errors.push(error);
            continue;
        };
        if found.insert(known, &field.value).is_some() {
            errors.push(invalid(field.key.span(), format!("`{name}` is given twice")));
        }
    }
    for name in required {
        if !found.contains_key(name) && !suggested.contains(name) {
            errors.push(
                invalid(block.keyword, format!("this `{keyword}` block has no `{name}`"))
                    .with_help(example(block.kind)),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let addr = |name: &str| address(found[name]).map_err(|e| vec![*e]);
    match block.kind {
        LifecycleKind::Moved => {
            let (from, to) = (addr("from"), addr("to"));
            match (from, to) {
                (Ok(from), Ok(to)) => Ok(Block::Moved { from, to }),
                (from, to) => {
                    Err(from.err().into_iter().chain(to.err()).flatten().collect::<Vec<_>>())
                }
            }
        }
        LifecycleKind::Import => {
            let to_expr = found["to"];
            // Keys may be loop variables: only the shape is checked here.
            let to = match address(to_expr) {
                Ok(address) => Some(address),
                Err(_) => {
                    check_shape(to_expr).map_err(|e| vec![*e])?;
                    None
                }
            };
            Ok(Block::Import { to, to_expr, id: found["id"] })
        }
        LifecycleKind::Removed => {
            let from = addr("from")?;
            let destroy = match found.get("destroy").map(|e| &e.kind) {
                None => true,
                Some(ExprKind::Bool(value)) => *value,
                Some(_) => {
                    return Err(vec![invalid(
                        found["destroy"].span,
                        "`destroy` must be `true` or `false`",
                    )]);
                }
            };
            Ok(Block::Removed { from, destroy })
        }
    }
}

/// Whether `expr` is address-shaped with any keys: `dir[name]`.
fn check_shape(expr: &Expr) -> Result<(), Box<Diagnostic>> {
    match &expr.kind {
        ExprKind::Ident(_) => Ok(()),
        ExprKind::Field { base, optional: false, .. } => check_shape(base),
        ExprKind::Index { base, .. } => check_shape(base),
        _ => Err(Box::new(invalid(expr.span, "expected an instance address such as `dir[name]`"))),
    }
}

fn example(kind: LifecycleKind) -> &'static str {
    match kind {
        LifecycleKind::Moved => "write `moved { from = OLD_ADDRESS  to = NEW_ADDRESS }`",
        LifecycleKind::Import => "write `import { to = ADDRESS  id = \"ID\" }`",
        LifecycleKind::Removed => "write `removed { from = ADDRESS  destroy = false }`",
    }
}

/// What a `to` or `from` address names in the configuration.
enum Target {
    /// A resource (or data) declaration, and whether the address has keys
    /// when the declaration needs none, or the reverse, is left to the
    /// runtime: instances are known only once evaluated.
    Declaration(DeclKind, Option<DeclId>),
    /// Not declared: the name that is missing and where.
    Missing { span: Span, name: SmolStr, candidates: Vec<SmolStr> },
}

/// Follows `address` through module instances from the module `file`.
fn resolve(
    model: &Model<'_>,
    targets: &HashMap<DeclId, FileId>,
    file: FileId,
    address: &Address,
) -> Target {
    let mut file = file;
    for (index, segment) in address.segments.iter().enumerate() {
        let Some(module) = model.modules.get(&file) else {
            return Target::Missing {
                span: segment.span,
                name: segment.name.clone(),
                candidates: Vec::new(),
            };
        };
        let candidates = || {
            let mut names: Vec<SmolStr> = module
                .names
                .iter()
                .filter(|(_, id)| {
                    matches!(
                        model.decl(**id).kind,
                        DeclKind::Resource | DeclKind::Data | DeclKind::Module
                    )
                })
                .map(|(name, _)| name.clone())
                .collect();
            names.sort();
            names
        };
        let Some(&decl) = module.names.get(&segment.name) else {
            return Target::Missing {
                span: segment.span,
                name: segment.name.clone(),
                candidates: candidates(),
            };
        };
        let kind = model.decl(decl).kind;
        let last = index + 1 == address.segments.len();
        match kind {
            DeclKind::Module if !last => match targets.get(&decl) {
                Some(&child) => file = child,
                None => return Target::Declaration(kind, Some(decl)),
            },
            _ if last => return Target::Declaration(kind, Some(decl)),
            _ => {
                let next = &address.segments[index + 1];
                return Target::Missing {
                    span: next.span,
                    name: next.name.clone(),
                    candidates: Vec::new(),
                };
            }
        }
    }
    Target::Declaration(DeclKind::Module, None)
}

fn unknown_target(
    code: &'static codes::Code,
    span: Span,
    name: &str,
    candidates: &[SmolStr],
) -> Diagnostic {
    let mut error =
        Diagnostic::new(code, span, format!("`{name}` is not declared in the configuration"));
    if let Some(suggestion) = closest(name, candidates.iter().map(SmolStr::as_str)) {
        error = error
            .with_primary_message(format!("did you mean `{suggestion}`?"))
            .with_suggestion(span, suggestion);
    }
    error
}

/// Checks the lifecycle blocks of every module: bodies, targets, and the
/// moves of each module taken together (one destination per source and
/// one source per destination, no cycle).
pub fn check(
    model: &Model<'_>,
    targets: &HashMap<DeclId, FileId>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut modules: Vec<(&FileId, _)> = model.modules.iter().collect();
    modules.sort_by_key(|(file, _)| **file);
    for (&file, module) in modules {
        let mut moves: Vec<(Address, Address, Span)> = Vec::new();
        for (block, _) in &module.lifecycle {
            let decoded = match decode(block) {
                Ok(decoded) => decoded,
                Err(errors) => {
                    diagnostics.extend(errors);
                    continue;
                }
            };
            match decoded {
                Block::Moved { from, to } => moves.push((from, to, block.keyword)),
                Block::Import { to, to_expr, .. } => {
                    let address = match to {
                        Some(address) => address,
                        None => match address_names(to_expr) {
                            Some(address) => address,
                            None => continue,
                        },
                    };
                    match resolve(model, targets, file, &address) {
                        Target::Missing { span, name, candidates } => diagnostics.push(
                            unknown_target(&codes::E1002, span, &name, &candidates).with_help(
                                "the `to` of an `import` block names the resource that adopts the object",
                            ),
                        ),
                        Target::Declaration(DeclKind::Resource, Some(decl)) => {
                            diagnostics.extend(import_keys(model, decl, &address, to_expr));
                        }
                        Target::Declaration(kind, _) => diagnostics.push(Diagnostic::new(
                            &codes::E1002,
                            address.span,
                            format!("`{address}` is a {}: only a resource can adopt an object", kind.describe()),
                        )),
                    }
                }
                Block::Removed { from, .. } => {
                    if let Target::Declaration(..) = resolve(model, targets, file, &from)
                        && from.segments.len() == 1
                        && from.segments[0].keys.is_empty()
                    {
                        diagnostics.push(
                            Diagnostic::new(
                                &codes::E1003,
                                from.span,
                                format!("`{from}` is removed but still declared"),
                            )
                            .with_help(
                                "delete the declaration along with writing the `removed` block",
                            ),
                        );
                    }
                }
            }
        }
        // A `to` that another move leaves is a step of a chain.
        let sources: Vec<String> = moves.iter().map(|(from, _, _)| from.to_string()).collect();
        for (_, to, _) in &moves {
            if sources.contains(&to.to_string()) {
                continue;
            }
            match resolve(model, targets, file, to) {
                Target::Missing { span, name, candidates } => diagnostics.push(
                    unknown_target(&codes::E1002, span, &name, &candidates).with_help(
                        "the `to` of a `moved` block names a declaration of the configuration",
                    ),
                ),
                Target::Declaration(DeclKind::Resource | DeclKind::Module, _) => {}
                Target::Declaration(kind, _) => diagnostics.push(Diagnostic::new(
                    &codes::E1002,
                    to.span,
                    format!(
                        "`{to}` is a {}: only resources and module instances move",
                        kind.describe()
                    ),
                )),
            }
        }
        check_moves(&moves, diagnostics);
    }
}

/// An `import` adopts one instance: its `to` has one key per `for` around
/// the resource's declaration (`site[name]` for a resource in one loop),
/// and none for a resource outside loops (`E1005`).
fn import_keys(
    model: &Model<'_>,
    decl: DeclId,
    address: &Address,
    to_expr: &Expr,
) -> Option<Diagnostic> {
    let d = model.decl(decl);
    let loops = model
        .scope_chain(d.scope)
        .into_iter()
        .filter(|s| matches!(model.scope(*s).kind, crate::model::ScopeKind::For(_)))
        .count();
    let mut keys = 0;
    let mut current = to_expr;
    loop {
        match &current.kind {
            ExprKind::Index { base, .. } => {
                keys += 1;
                current = base;
            }
            ExprKind::Paren(inner) => current = inner,
            _ => break,
        }
    }
    if keys == loops {
        return None;
    }
    let name = d.name_str();
    let message = match (loops, keys) {
        (0, _) => format!("`{name}` is declared outside any `for`: its address has no keys"),
        (_, 0) => format!(
            "`{name}` is declared in a `for`: an `import` adopts one of its instances, `{name}[KEY]`"
        ),
        _ => format!(
            "`{name}` is declared in {loops} nested `for` blocks: its address has {loops} keys, not {keys}"
        ),
    };
    Some(
        Diagnostic::new(&codes::E1005, address.span, message)
            .with_label(d.name_span(), "declared here")
            .with_help(
                "write the instance's address as the plan shows it; inside the `for`, the key can be the loop's variable: `to = site[name]`",
            ),
    )
}

/// The address of `expr` with its keys dropped: what `resolve` needs to
/// find the declaration of `dir[name]`.
fn address_names(expr: &Expr) -> Option<Address> {
    let mut segments = Vec::new();
    let mut current = expr;
    loop {
        match &current.kind {
            ExprKind::Ident(ident) => {
                segments.push(Segment {
                    name: ident.name.clone(),
                    span: ident.span,
                    keys: Vec::new(),
                });
                break;
            }
            ExprKind::Field { base, name, .. } => {
                segments.push(Segment {
                    name: name.name.clone(),
                    span: name.span,
                    keys: Vec::new(),
                });
                current = base;
            }
            ExprKind::Index { base, .. } => current = base,
            _ => return None,
        }
    }
    segments.reverse();
    Some(Address { segments, span: expr.span })
}

/// Two moves from one address, two to one address, a move onto itself,
/// and cycles are errors; chains (`a → b`, `b → c`) are fine.
fn check_moves(moves: &[(Address, Address, Span)], diagnostics: &mut Vec<Diagnostic>) {
    let mut by_from: HashMap<String, usize> = HashMap::default();
    let mut by_to: HashMap<String, usize> = HashMap::default();
    let mut edges: HashMap<String, String> = HashMap::default();
    for (index, (from, to, _)) in moves.iter().enumerate() {
        let (from_text, to_text) = (from.to_string(), to.to_string());
        if from_text == to_text {
            diagnostics.push(Diagnostic::new(
                &codes::E1004,
                to.span,
                format!("`{from_text}` is moved onto itself"),
            ));
            continue;
        }
        if let Some(&first) = by_from.get(&from_text) {
            diagnostics.push(
                Diagnostic::new(
                    &codes::E1004,
                    from.span,
                    format!(
                        "`{from_text}` is moved twice: to `{}` and to `{to_text}`",
                        moves[first].1
                    ),
                )
                .with_label(moves[first].2, "first moved here")
                .with_help("an instance moves to one address; keep one of the two blocks"),
            );
            continue;
        }
        if let Some(&first) = by_to.get(&to_text) {
            diagnostics.push(
                Diagnostic::new(
                    &codes::E1004,
                    to.span,
                    format!(
                        "two instances are moved to `{to_text}`: `{}` and `{from_text}`",
                        moves[first].0
                    ),
                )
                .with_label(moves[first].2, "first moved here")
                .with_help("one address holds one object; move the other one elsewhere"),
            );
            continue;
        }
        by_from.insert(from_text.clone(), index);
        by_to.insert(to_text.clone(), index);
        edges.insert(from_text, to_text);
    }
    // A cycle: following the moves from a source comes back to it.
    let mut reported: Vec<String> = Vec::new();
    let mut starts: Vec<&String> = edges.keys().collect();
    starts.sort();
    for start in starts {
        let mut path = vec![start.clone()];
        let mut current = start;
        while let Some(next) = edges.get(current) {
            if next == start {
                if !path.iter().any(|p| reported.contains(p)) {
                    let (_, to, _) = &moves[by_from[start]];
                    path.push(start.clone());
                    diagnostics.push(
                        Diagnostic::new(
                            &codes::E1004,
                            to.span,
                            format!("these moves form a cycle: {}", path.join(" → ")),
                        )
                        .with_help("a chain of moves must end at an address no move leaves"),
                    );
                    reported.extend(path);
                }
                break;
            }
            if path.contains(next) {
                break;
            }
            path.push(next.clone());
            current = next;
        }
    }
}
