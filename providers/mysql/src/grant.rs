//! `mysql.grant`: the privileges of an account (`user` and `host`) or a role
//! at one level, `database.table` (`*` for every database or table).
//!
//! Read back with `SHOW GRANTS FOR …`: the line for the grant's level gives
//! its privileges and whether it has `WITH GRANT OPTION`. Privileges are
//! compared as sets of normalized names ([`privilege_set`]): upper case,
//! single spaces, `ALL` the same as `ALL PRIVILEGES`, `USAGE` (which means
//! no privilege) left out. A grantee that does not exist, or that has no
//! privilege at the level, reads as gone.
//!
//! Applying (create or update) makes the set exact: it reads the current
//! privileges, grants the missing ones (with `WITH GRANT OPTION` when
//! wanted), then revokes the ones no longer listed, so a privilege that
//! stays is never lost. The one exception is going from `ALL PRIVILEGES` to
//! a list: `ALL` is revoked first, then the list is granted. Deleting
//! revokes every privilege at the level, and the grant option.

use std::collections::BTreeSet;

use mysql_async::prelude::Queryable;
use orch_stdlib::Value;

use super::{
    Fields, Flavor, Session, account, mysql_error, object, quote_ident, quote_literal, server_code,
    strings,
};
use orch_provider::ProviderError;

/// `ALL` is spelled `ALL PRIVILEGES` by the server.
const ALL: &str = "ALL PRIVILEGES";

/// The server error for `SHOW GRANTS` or `REVOKE` of an account or role
/// without grants, or that does not exist (`ER_NONEXISTING_GRANT`,
/// `ER_NONEXISTING_TABLE_GRANT`).
const NO_SUCH_GRANT: &[u16] = &[1141, 1147];

/// One privilege as the server writes it: upper case, single spaces, no
/// backticks in column lists, `ALL PRIVILEGES` for `ALL`.
fn normalize(privilege: &str) -> String {
    let text: String = privilege.chars().filter(|c| *c != '`').collect();
    let mut words = String::new();
    for word in text.split_whitespace() {
        if !words.is_empty() && !word.starts_with(')') && !words.ends_with('(') {
            words.push(' ');
        }
        words.push_str(&word.to_uppercase());
    }
    let words = words.replace(" ,", ",");
    if words == "ALL" { ALL.to_string() } else { words }
}

/// The privileges `items` name, normalized, without `USAGE`.
pub(super) fn privilege_set(items: &[String]) -> BTreeSet<String> {
    items.iter().map(|item| normalize(item)).filter(|item| item != "USAGE").collect()
}

/// Whether `privilege` is a privilege name (letters and spaces), optionally
/// with a column list (`SELECT (a, b)`): nothing else may reach the SQL text.
fn well_formed(privilege: &str) -> bool {
    let (name, columns) = match privilege.split_once('(') {
        Some((name, rest)) => (name, Some(rest)),
        None => (privilege, None),
    };
    let name_ok = !name.trim().is_empty()
        && name.chars().all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '_');
    let columns_ok = columns.is_none_or(|rest| {
        rest.strip_suffix(')').is_some_and(|list| {
            list.split(',').all(|column| {
                let column = column.trim();
                !column.is_empty()
                    && column.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
            })
        })
    });
    name_ok && columns_ok
}

/// The problems of a `mysql.grant` configuration beyond those of every kind.
pub(super) fn validate_grant(config: Fields<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    let (user, role) = (config.get("user"), config.get("role"));
    match (matches!(user, Value::None), matches!(role, Value::None)) {
        (true, true) => problems.push("set `user` (an account) or `role`".to_string()),
        (false, false) => problems.push("set only one of `user` and `role`".to_string()),
        _ => {}
    }
    if config.text("database").as_deref() == Some("*")
        && config.text("table").is_some_and(|table| table != "*")
    {
        problems.push("`table` must be `*` when `database` is `*`".to_string());
    }
    let privileges = config.get("privileges");
    if privileges.is_known() {
        let privileges = config.texts("privileges");
        if privileges.is_empty() {
            problems.push(
                "`privileges` must list at least one privilege; delete the grant to revoke \
                 them all"
                    .to_string(),
            );
        }
        for privilege in &privileges {
            if normalize(privilege) == "GRANT OPTION" {
                problems.push(
                    "`GRANT OPTION` is not a privilege here: set `grant_option = true`".to_string(),
                );
            } else if !well_formed(privilege) {
                problems.push(format!(
                    "`{privilege}` is not a privilege: a name such as `SELECT` or `ALL`, \
                     optionally with columns, `SELECT (id, name)`"
                ));
            }
        }
    }
    problems
}

/// A grant's level, `database.table`, as the server reads it.
fn level(database: &str, table: &str) -> String {
    let part = |name: &str| if name == "*" { "*".to_string() } else { quote_ident(name) };
    format!("{}.{}", part(database), part(table))
}

/// Who receives the privileges.
enum Grantee {
    Account { user: String, host: String },
    Role(String),
}

impl Grantee {
    fn of(config: Fields<'_>) -> Result<Grantee, ProviderError> {
        match (config.text("user"), config.text("role")) {
            (Some(user), None) => {
                Ok(Grantee::Account { user, host: config.required_text("host")? })
            }
            (None, Some(role)) => Ok(Grantee::Role(role)),
            _ => Err(ProviderError::new("mysql.grant: set exactly one of `user` and `role`")),
        }
    }

    /// The grantee in SQL: `'user'@'host'`, `'role'` (MariaDB) or
    /// `'role'@'%'` (MySQL, whose roles are accounts).
    fn sql(&self, flavor: Flavor) -> String {
        match (self, flavor) {
            (Grantee::Account { user, host }, _) => account(user, host),
            (Grantee::Role(role), Flavor::MariaDb) => quote_literal(role),
            (Grantee::Role(role), Flavor::MySql) => account(role, "%"),
        }
    }
}

/// The privileges of one `SHOW GRANTS` line.
#[derive(Debug, PartialEq)]
struct GrantLine {
    database: String,
    table: String,
    privileges: Vec<String>,
    grant_option: bool,
}

/// Splits `text` at the top-level occurrences of `separator` (outside
/// brackets, backticks and quotes).
fn split_top(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0);
    for (at, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '`' | '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, c) if c == separator && depth == 0 => {
                parts.push(&text[start..at]);
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// One name of a level (`` `db` ``, `db` or `*`) at the start of `text`, and
/// the rest.
fn level_name(text: &str) -> Option<(String, &str)> {
    if let Some(rest) = text.strip_prefix('`') {
        let mut name = String::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            if c == '`' {
                if chars.peek().is_some_and(|(_, next)| *next == '`') {
                    chars.next();
                    name.push('`');
                    continue;
                }
                return Some((name, &rest[at + 1..]));
            }
            name.push(c);
        }
        return None;
    }
    let end = text.find(['.', ' ']).unwrap_or(text.len());
    (end > 0).then(|| (text[..end].to_string(), &text[end..]))
}

/// A `GRANT privileges ON db.table TO grantee [WITH GRANT OPTION]` line;
/// `None` for other lines (role memberships, `PROXY`, routines).
fn parse_line(line: &str) -> Option<GrantLine> {
    let body = line.strip_prefix("GRANT ")?;
    let parts = split_top(body, ' ');
    let on = parts.iter().position(|part| *part == "ON")?;
    let privileges_text = parts[..on].join(" ");
    // Offset of what follows `ON `.
    let consumed: usize = parts[..=on].iter().map(|part| part.len() + 1).sum();
    let mut rest = body.get(consumed..)?;
    for routine in ["PROCEDURE ", "FUNCTION ", "PACKAGE BODY ", "PACKAGE "] {
        if rest.starts_with(routine) {
            return None;
        }
    }
    rest = rest.strip_prefix("TABLE ").unwrap_or(rest);
    let (database, rest) = level_name(rest)?;
    let (table, rest) = level_name(rest.strip_prefix('.')?)?;
    let grantee_and_options = rest.strip_prefix(" TO ")?;
    // The options follow the grantee, which is made of quoted names.
    let options = split_top(grantee_and_options, ' ');
    let grant_option = options.windows(2).skip(1).any(|pair| pair == ["GRANT", "OPTION"]);
    let privileges: Vec<String> =
        split_top(&privileges_text, ',').into_iter().map(normalize).collect();
    if privileges.iter().any(|p| p == "PROXY") {
        return None;
    }
    Some(GrantLine { database, table, privileges, grant_option })
}

/// The grantee's privileges at `database.table`: `Ok(None)` when the grantee
/// does not exist; an empty set when it has none there.
async fn current(
    session: &mut Session,
    grantee: &str,
    database: &str,
    table: &str,
) -> Result<Option<(BTreeSet<String>, bool)>, mysql_async::Error> {
    let lines: Vec<String> = match session.conn.query(format!("SHOW GRANTS FOR {grantee}")).await {
        Ok(lines) => lines,
        Err(err) if server_code(&err).is_some_and(|code| NO_SUCH_GRANT.contains(&code)) => {
            return Ok(None);
        }
        Err(err) => return Err(err),
    };
    let mut privileges = BTreeSet::new();
    let mut grant_option = false;
    for line in lines.iter().filter_map(|line| parse_line(line)) {
        if line.database == database && line.table == table {
            privileges.extend(privilege_set(&line.privileges));
            grant_option |= line.grant_option;
        }
    }
    Ok(Some((privileges, grant_option)))
}

/// The grant object for what the server has, spelled like `like` where that
/// means the same.
fn grant_object(like: Fields<'_>, privileges: &BTreeSet<String>, grant_option: bool) -> Value {
    let wanted = like.texts("privileges");
    let privileges: Vec<String> = if privilege_set(&wanted) == *privileges {
        wanted
    } else {
        privileges.iter().cloned().collect()
    };
    let text = |name: &str| like.text(name).map_or(Value::None, Value::string);
    object(vec![
        ("user", text("user")),
        ("role", text("role")),
        ("host", text("host")),
        ("database", text("database")),
        ("table", text("table")),
        ("privileges", strings(&privileges)),
        ("grant_option", Value::Bool(grant_option)),
    ])
}

/// The grantee, its SQL and the level of a grant, with its name for
/// messages.
fn target(
    session: &Session,
    config: Fields<'_>,
) -> Result<(String, String, String, String), ProviderError> {
    let grantee = Grantee::of(config)?.sql(session.flavor);
    let database = config.required_text("database")?;
    let table = config.required_text("table")?;
    let name = format!("privileges on {} to {grantee}", level(&database, &table));
    Ok((grantee, database, table, name))
}

pub(super) async fn read(
    session: &mut Session,
    prior: Fields<'_>,
) -> Result<Option<Value>, ProviderError> {
    let (grantee, database, table, name) = target(session, prior)?;
    let found = current(session, &grantee, &database, &table)
        .await
        .map_err(|err| mysql_error(&format!("reading {name}"), &err))?;
    Ok(match found {
        Some((privileges, grant_option)) if !privileges.is_empty() || grant_option => {
            Some(grant_object(prior, &privileges, grant_option))
        }
        _ => None,
    })
}

pub(super) async fn apply(
    session: &mut Session,
    config: Fields<'_>,
) -> Result<Value, ProviderError> {
    let (grantee, database, table, name) = target(session, config)?;
    let action = format!("granting {name}");
    let failed = |err: mysql_async::Error| mysql_error(&action, &err);
    let on = level(&database, &table);
    let wanted = privilege_set(&config.texts("privileges"));
    let wanted_option = config.flag("grant_option");
    let (mut have, have_option) =
        current(session, &grantee, &database, &table).await.map_err(failed)?.ok_or_else(|| {
            ProviderError::new(format!("{action}: there is no account or role {grantee}"))
        })?;
    let mut statements = Vec::new();
    if have.contains(ALL) && !wanted.contains(ALL) {
        statements.push(format!("REVOKE {ALL} ON {on} FROM {grantee}"));
        have.clear();
    }
    let missing: Vec<String> = wanted.difference(&have).cloned().collect();
    if !missing.is_empty() || (wanted_option && !have_option) {
        let privileges = if missing.is_empty() { "USAGE".to_string() } else { missing.join(", ") };
        let option = if wanted_option { " WITH GRANT OPTION" } else { "" };
        statements.push(format!("GRANT {privileges} ON {on} TO {grantee}{option}"));
    }
    // `ALL PRIVILEGES` covers every other privilege: revoking one would take
    // it out of `ALL`.
    let extra: Vec<String> =
        if wanted.contains(ALL) { Vec::new() } else { have.difference(&wanted).cloned().collect() };
    if !extra.is_empty() {
        statements.push(format!("REVOKE {} ON {on} FROM {grantee}", extra.join(", ")));
    }
    if have_option && !wanted_option {
        statements.push(format!("REVOKE GRANT OPTION ON {on} FROM {grantee}"));
    }
    for statement in statements {
        session.conn.query_drop(statement).await.map_err(failed)?;
    }
    read(session, config).await?.ok_or_else(|| {
        ProviderError::new(format!("{action}: the grant is gone right after the change"))
    })
}

pub(super) async fn revoke(session: &mut Session, prior: Fields<'_>) -> Result<(), ProviderError> {
    let (grantee, database, table, name) = target(session, prior)?;
    let action = format!("revoking {name}");
    let failed = |err: mysql_async::Error| mysql_error(&action, &err);
    let on = level(&database, &table);
    let Some((have, have_option)) =
        current(session, &grantee, &database, &table).await.map_err(failed)?
    else {
        return Ok(());
    };
    let mut statements = Vec::new();
    if !have.is_empty() {
        let privileges: Vec<String> = have.into_iter().collect();
        statements.push(format!("REVOKE {} ON {on} FROM {grantee}", privileges.join(", ")));
    }
    if have_option {
        statements.push(format!("REVOKE GRANT OPTION ON {on} FROM {grantee}"));
    }
    for statement in statements {
        match session.conn.query_drop(statement).await {
            Ok(()) => {}
            // Gone meanwhile: nothing left to revoke.
            Err(err) if server_code(&err).is_some_and(|code| NO_SUCH_GRANT.contains(&code)) => {}
            Err(err) => return Err(failed(err)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_of(items: &[String]) -> BTreeSet<String> {
        items.iter().cloned().collect()
    }

    fn texts(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_string()).collect()
    }

    #[test]
    fn privileges_are_normalized() {
        assert_eq!(normalize("all"), ALL);
        assert_eq!(normalize(" select "), "SELECT");
        assert_eq!(normalize("create   temporary tables"), "CREATE TEMPORARY TABLES");
        assert_eq!(normalize("SELECT (`a`, `b`)"), "SELECT (A, B)");
        assert_eq!(normalize("select (a,b)"), "SELECT (A,B)");
        assert_eq!(
            privilege_set(&texts(&["select", "SELECT", "usage", "Insert"])),
            set_of(&texts(&["INSERT", "SELECT"]))
        );
        assert_eq!(privilege_set(&texts(&["ALL"])), privilege_set(&texts(&["all privileges"])));
    }

    #[test]
    fn privileges_are_checked() {
        assert!(well_formed("SELECT"));
        assert!(well_formed("create temporary tables"));
        assert!(well_formed("SELECT (id, name)"));
        assert!(!well_formed("SELECT; DROP DATABASE x"));
        assert!(!well_formed("SELECT (id"));
        assert!(!well_formed(""));
    }

    #[test]
    fn grant_lines_are_parsed() {
        assert_eq!(
            parse_line("GRANT SELECT, INSERT ON `shop`.* TO `app`@`%` WITH GRANT OPTION"),
            Some(GrantLine {
                database: "shop".into(),
                table: "*".into(),
                privileges: texts(&["SELECT", "INSERT"]),
                grant_option: true,
            })
        );
        assert_eq!(
            parse_line("GRANT ALL PRIVILEGES ON `a``b`.`t 1` TO `reader`"),
            Some(GrantLine {
                database: "a`b".into(),
                table: "t 1".into(),
                privileges: texts(&[ALL]),
                grant_option: false,
            })
        );
        let global = parse_line(
            "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*14E65567ABDB5135D0CFD9A70B3032C179A49EE7'",
        )
        .unwrap();
        assert_eq!((global.database.as_str(), global.table.as_str()), ("*", "*"));
        assert!(!global.grant_option);
        let columns =
            parse_line("GRANT SELECT (`id`, `name`), UPDATE ON `shop`.`t` TO `app`@`%`").unwrap();
        assert_eq!(columns.privileges, texts(&["SELECT (ID, NAME)", "UPDATE"]));
        // A user named like an option is not an option.
        assert!(!parse_line("GRANT SELECT ON `d`.* TO `GRANT OPTION`@`%`").unwrap().grant_option);
        assert_eq!(parse_line("GRANT `reader` TO `app`@`%`"), None);
        assert_eq!(parse_line("GRANT EXECUTE ON PROCEDURE `d`.`p` TO `app`@`%`"), None);
        assert_eq!(
            parse_line("GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION"),
            None
        );
    }

    #[test]
    fn levels() {
        assert_eq!(level("*", "*"), "*.*");
        assert_eq!(level("shop", "*"), "`shop`.*");
        assert_eq!(level("shop", "or`ders"), "`shop`.`or``ders`");
    }
}
