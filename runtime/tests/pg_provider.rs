//! The `pg` provider against a real PostgreSQL server, named by
//! `ORCH_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! a test that needs it fails when it cannot be reached, unless
//! `ORCH_TEST_SKIP_PG=1` (`common/pg.rs`). Every test uses names with a
//! random suffix and removes what it made, also when it fails.

mod common;

use std::collections::BTreeMap;

use orch_runtime::provider::{Change, OpContext, Planned, Provider, ProviderError, field};
use orch_runtime::providers::lookup_kind;
use orch_runtime::providers::pg::PgProvider;
use orch_stdlib::Value;
use tokio_postgres::{Client, NoTls};

/// The test server's URL, or returns from the test when told to skip.
macro_rules! server_or_skip {
    () => {
        match common::pg::server() {
            Some(url) => url,
            None => return,
        }
    };
}

fn s(text: &str) -> Value {
    Value::string(text)
}

fn list(items: &[&str]) -> Value {
    Value::list(items.iter().map(|item| s(item)).collect())
}

/// A configuration of `kind`: the schema's defaults, then `fields`.
fn config(kind: &str, fields: &[(&str, Value)]) -> Value {
    let schema = lookup_kind(kind).expect("a pg kind");
    let mut entries: BTreeMap<_, _> =
        schema.fields.iter().filter_map(|f| Some((f.name.into(), f.default.clone()?))).collect();
    for (name, value) in fields {
        entries.insert((*name).into(), value.clone());
    }
    Value::map(entries)
}

/// `value` with `name` set to `to`.
fn with(value: &Value, name: &str, to: Value) -> Value {
    let Value::Map(entries) = value else { panic!("an object is a map") };
    let mut entries = (**entries).clone();
    entries.insert(name.into(), to);
    Value::map(entries)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{:08x}", rand::random::<u32>())
}

fn ctx() -> OpContext {
    OpContext::new(std::env::temp_dir(), "pg.test")
}

async fn connect(url: &str, database: Option<&str>) -> Client {
    let mut config: tokio_postgres::Config =
        url.parse().expect("ORCH_TEST_PG_URL is a connection URL");
    if let Some(database) = database {
        config.dbname(database);
    }
    let (client, connection) =
        config.connect(NoTls).await.expect("the test server accepts connections");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// SQL run when a test ends, however it ends: drops what the test made.
struct Cleanup {
    url: String,
    /// (database, statement), run last first.
    statements: Vec<(Option<String>, String)>,
}

impl Cleanup {
    fn database(&mut self, name: &str) {
        self.statements.push((None, format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")));
    }

    fn role(&mut self, name: &str) {
        // Quietly: the server logs failed statements.
        let sql = format!(
            "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN \
             EXECUTE 'REASSIGN OWNED BY \"{name}\" TO CURRENT_USER'; EXECUTE 'DROP OWNED BY \"{name}\"'; \
             EXECUTE 'DROP ROLE \"{name}\"'; END IF; END $$"
        );
        self.statements.push((None, sql));
    }

    fn sql(&mut self, database: Option<&str>, sql: &str) {
        self.statements.push((database.map(str::to_string), sql.to_string()));
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let url = self.url.clone();
        let statements = std::mem::take(&mut self.statements);
        // A thread of its own: the test's runtime may be the one dropping us.
        let cleaner = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                for (database, sql) in statements.into_iter().rev() {
                    let client = connect(&url, database.as_deref()).await;
                    let _ = client.batch_execute(&sql).await;
                }
            });
        });
        let _ = cleaner.join();
    }
}

/// A configured provider and an admin connection to the same server.
struct Pg {
    url: String,
    provider: PgProvider,
    admin: Client,
    ctx: OpContext,
}

impl Pg {
    async fn new(url: &str) -> Pg {
        let mut provider = PgProvider::default();
        provider.configure(&Value::map([("url".into(), s(url))].into())).await.expect("configure");
        Pg { url: url.to_string(), provider, admin: connect(url, None).await, ctx: ctx() }
    }

    fn cleanup(&self) -> Cleanup {
        Cleanup { url: self.url.clone(), statements: Vec::new() }
    }

    async fn current_database(&self) -> String {
        self.admin.query_one("SELECT current_database()::text", &[]).await.unwrap().get(0)
    }

    async fn create(&self, kind: &str, config: &Value) -> Value {
        match self.provider.apply(&self.ctx, kind, Change::Create { config }).await {
            Ok(Some(object)) => object,
            other => panic!("creating {kind}: {other:?}"),
        }
    }

    async fn try_create(&self, kind: &str, config: &Value) -> Result<Option<Value>, ProviderError> {
        self.provider.apply(&self.ctx, kind, Change::Create { config }).await
    }

    async fn update(&self, kind: &str, prior: &Value, config: &Value) -> Value {
        match self.provider.apply(&self.ctx, kind, Change::Update { prior, config }).await {
            Ok(Some(object)) => object,
            other => panic!("updating {kind}: {other:?}"),
        }
    }

    async fn delete(&self, kind: &str, prior: &Value) {
        let deleted = self.provider.apply(&self.ctx, kind, Change::Delete { prior }).await;
        assert_eq!(deleted, Ok(None), "deleting {kind}");
    }

    async fn read(&self, kind: &str, prior: &Value) -> Option<Value> {
        self.provider
            .read(&self.ctx, kind, prior)
            .await
            .unwrap_or_else(|err| panic!("reading {kind}: {err}"))
    }

    async fn sql(&self, sql: &str) {
        self.admin.batch_execute(sql).await.unwrap_or_else(|err| panic!("{sql}: {err:?}"));
    }

    async fn flag(&self, sql: &str) -> bool {
        self.admin.query_one(sql, &[]).await.unwrap_or_else(|err| panic!("{sql}: {err:?}")).get(0)
    }
}

fn no_change(planned: &Planned, prior: &Value) {
    assert_eq!(&planned.value, prior, "the plan changes nothing");
    assert!(planned.requires_replace.is_empty());
}

// ---------------------------------------------------------------------------
// pg.database

#[tokio::test]
async fn database_is_created_read_and_deleted() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let (name, owner) = (unique("orch_db"), unique("orch_owner"));
    let mut cleanup = pg.cleanup();
    cleanup.role(&owner);
    cleanup.database(&name);
    pg.sql(&format!("CREATE ROLE \"{owner}\"")).await;
    let config = config(
        "pg.database",
        &[
            ("name", s(&name)),
            ("owner", s(&owner)),
            ("connection_limit", Value::Int(7)),
            ("template", s("template0")),
            ("encoding", s("utf-8")),
        ],
    );
    let created = pg.create("pg.database", &config).await;
    let row = pg
        .admin
        .query_one(
            "SELECT datconnlimit, pg_encoding_to_char(encoding)::text, pg_get_userbyid(datdba)::text, \
             datallowconn, datistemplate FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 7);
    assert_eq!(row.get::<_, String>(1), "UTF8");
    assert_eq!(row.get::<_, String>(2), owner);
    assert!(row.get::<_, bool>(3));
    assert!(!row.get::<_, bool>(4));
    // Read back in the configuration's spelling; what it leaves to the
    // server is recorded as none.
    assert_eq!(field(&created, "encoding"), &s("utf-8"));
    assert_eq!(field(&created, "template"), &s("template0"));
    assert_eq!(field(&created, "owner"), &s(&owner));
    assert_eq!(field(&created, "lc_collate"), &Value::None);

    let read = pg.read("pg.database", &created).await.expect("the database exists");
    assert_eq!(read, created);
    no_change(&pg.provider.plan("pg.database", Some(&read), &config), &read);

    pg.delete("pg.database", &read).await;
    assert!(
        !pg.flag(&format!("SELECT EXISTS (SELECT FROM pg_database WHERE datname = '{name}')"))
            .await
    );
    assert_eq!(pg.read("pg.database", &read).await, None);
    // Deleting what is gone is done.
    pg.delete("pg.database", &read).await;
}

#[tokio::test]
async fn database_rename_is_in_place() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let (old, new) = (unique("orch_db"), unique("orch_db_renamed"));
    let mut cleanup = pg.cleanup();
    cleanup.database(&old);
    cleanup.database(&new);
    let created = pg.create("pg.database", &config("pg.database", &[("name", s(&old))])).await;
    let oid = |name: String| {
        let admin = &pg.admin;
        async move {
            admin
                .query_one("SELECT oid FROM pg_database WHERE datname = $1", &[&name])
                .await
                .unwrap()
                .get::<_, u32>(0)
        }
    };
    let before = oid(old.clone()).await;
    // Open a connection of the provider's to the database: renaming closes it.
    let schema = config("pg.schema", &[("name", s("orch_probe")), ("database", s(&old))]);
    assert_eq!(pg.read("pg.schema", &schema).await, None);

    let renamed = config("pg.database", &[("name", s(&new))]);
    let planned = pg.provider.plan("pg.database", Some(&created), &renamed);
    assert!(
        planned.requires_replace.is_empty(),
        "a rename is in place: {:?}",
        planned.requires_replace
    );
    let updated = pg.update("pg.database", &created, &renamed).await;
    assert_eq!(field(&updated, "name"), &s(&new));
    assert_eq!(oid(new.clone()).await, before, "the same database");
    assert!(
        !pg.flag(&format!("SELECT EXISTS (SELECT FROM pg_database WHERE datname = '{old}')")).await
    );
    pg.delete("pg.database", &updated).await;
}

#[tokio::test]
async fn database_drift_is_read_and_undone() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let (name, owner, other) = (unique("orch_db"), unique("orch_owner"), unique("orch_other"));
    let mut cleanup = pg.cleanup();
    cleanup.role(&owner);
    cleanup.role(&other);
    cleanup.database(&name);
    pg.sql(&format!("CREATE ROLE \"{owner}\"; CREATE ROLE \"{other}\"")).await;
    let config = config("pg.database", &[("name", s(&name)), ("owner", s(&owner))]);
    let created = pg.create("pg.database", &config).await;
    pg.sql(&format!(
        "ALTER DATABASE \"{name}\" WITH CONNECTION LIMIT 5 ALLOW_CONNECTIONS false IS_TEMPLATE true; \
         ALTER DATABASE \"{name}\" OWNER TO \"{other}\""
    ))
    .await;

    let drifted = pg.read("pg.database", &created).await.expect("the database exists");
    assert_eq!(field(&drifted, "owner"), &s(&other));
    assert_eq!(field(&drifted, "connection_limit"), &Value::Int(5));
    assert_eq!(field(&drifted, "allow_connections"), &Value::Bool(false));
    assert_eq!(field(&drifted, "is_template"), &Value::Bool(true));
    let planned = pg.provider.plan("pg.database", Some(&drifted), &config);
    assert_ne!(planned.value, drifted, "the drift is a change to undo");
    assert!(planned.requires_replace.is_empty());

    let restored = pg.update("pg.database", &drifted, &config).await;
    assert_eq!(restored, created);
    let row = pg
        .admin
        .query_one(
            "SELECT datconnlimit, datallowconn, datistemplate, pg_get_userbyid(datdba)::text \
             FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, i32>(0), row.get::<_, bool>(1), row.get::<_, bool>(2)),
        (-1, true, false)
    );
    assert_eq!(row.get::<_, String>(3), owner);

    // Deleting a template database clears the mark first.
    pg.sql(&format!("ALTER DATABASE \"{name}\" WITH IS_TEMPLATE true")).await;
    pg.delete("pg.database", &restored).await;
}

#[tokio::test]
async fn database_with_open_sessions_is_deleted() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let name = unique("orch_db");
    let mut cleanup = pg.cleanup();
    cleanup.database(&name);
    let created = pg.create("pg.database", &config("pg.database", &[("name", s(&name))])).await;
    let session = connect(&url, Some(&name)).await;
    session.batch_execute("SELECT 1").await.unwrap();

    pg.delete("pg.database", &created).await;
    assert!(
        !pg.flag(&format!("SELECT EXISTS (SELECT FROM pg_database WHERE datname = '{name}')"))
            .await
    );
    assert!(session.batch_execute("SELECT 1").await.is_err(), "the session was ended");
}

#[tokio::test]
async fn server_errors_say_what_was_attempted() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let name = unique("orch_db");
    let owner = unique("orch_no_such_role");
    let mut cleanup = pg.cleanup();
    cleanup.database(&name);
    let config = config("pg.database", &[("name", s(&name)), ("owner", s(&owner))]);
    let err = pg.try_create("pg.database", &config).await.expect_err("the owner does not exist");
    assert!(err.message.starts_with(&format!("creating database {name}: ")), "{}", err.message);
    assert!(err.message.contains(&format!("role \"{owner}\" does not exist")), "{}", err.message);
    assert!(!err.transient);
    assert_eq!(err.partial, None, "nothing was created");
    assert!(
        !pg.flag(&format!("SELECT EXISTS (SELECT FROM pg_database WHERE datname = '{name}')"))
            .await
    );
}

// ---------------------------------------------------------------------------
// pg.role

#[tokio::test]
async fn role_is_created_read_and_deleted() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let (name, group) = (unique("orch_role"), unique("orch_group"));
    let password = format!("Pw'{}\\x", unique("secret"));
    let mut cleanup = pg.cleanup();
    cleanup.role(&name);
    cleanup.role(&group);
    let group_config = config("pg.role", &[("name", s(&group))]);
    let group_object = pg.create("pg.role", &group_config).await;
    let config = config(
        "pg.role",
        &[
            ("name", s(&name)),
            ("login", Value::Bool(true)),
            ("password", Value::secret(s(&password))),
            ("create_database", Value::Bool(true)),
            ("connection_limit", Value::Int(3)),
            ("valid_until", s("2031-01-01")),
            ("roles", list(&[&group])),
            ("search_path", list(&["app", "$user", "Mixed Case"])),
        ],
    );
    let created = pg.create("pg.role", &config).await;
    let row = pg
        .admin
        .query_one(
            "SELECT rolcanlogin, rolcreatedb, rolsuper, rolinherit, rolconnlimit, \
             rolvaliduntil = '2031-01-01'::timestamptz, pg_has_role(rolname, $2, 'MEMBER'), \
             rolconfig::text, (SELECT rolpassword FROM pg_authid WHERE rolname = $1) \
             FROM pg_roles WHERE rolname = $1",
            &[&name, &group],
        )
        .await
        .unwrap();
    assert!(
        row.get::<_, bool>(0)
            && row.get::<_, bool>(1)
            && !row.get::<_, bool>(2)
            && row.get::<_, bool>(3)
    );
    assert_eq!(row.get::<_, i32>(4), 3);
    assert!(row.get::<_, bool>(5));
    assert!(row.get::<_, bool>(6), "a member of {group}");
    assert_eq!(row.get::<_, String>(7), r#"{"search_path=app, \"$user\", \"Mixed Case\""}"#);
    // The server got a SCRAM verifier of the password, never the password.
    let stored: String = row.get(8);
    assert!(!stored.contains(&password));
    assert_verifier_of(&stored, &password);

    assert_eq!(
        field(&created, "password"),
        &Value::secret(s(&password)),
        "the password is kept, secret"
    );
    assert_eq!(field(&created, "valid_until"), &s("2031-01-01"), "in the configuration's spelling");
    let read = pg.read("pg.role", &created).await.expect("the role exists");
    assert_eq!(read, created);
    no_change(&pg.provider.plan("pg.role", Some(&read), &config), &read);
    // The search path's order matters.
    let reordered = with(&config, "search_path", list(&["$user", "app", "Mixed Case"]));
    assert_ne!(pg.provider.plan("pg.role", Some(&read), &reordered).value, read);

    pg.delete("pg.role", &read).await;
    pg.delete("pg.role", &group_object).await;
    assert!(
        !pg.flag(&format!(
            "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname IN ('{name}', '{group}'))"
        ))
        .await
    );
    assert_eq!(pg.read("pg.role", &read).await, None);
}

/// `stored` is the SCRAM-SHA-256 verifier of `password`.
fn assert_verifier_of(stored: &str, password: &str) {
    assert!(verifies(stored, password), "{stored} is not a verifier of {password:?}");
}

/// Whether a login with `password` passes the server's checks against the
/// verifier `stored`. The test server trusts every connection, so logging in
/// would prove nothing: the exchange is played here, the client's side by
/// `postgres-protocol` as tokio-postgres logs in (with SASLprep), the
/// server's side as PostgreSQL's `verify_client_proof` and
/// `build_server_final_message` do it.
fn verifies(stored: &str, password: &str) -> bool {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use hmac::{Hmac, KeyInit, Mac};
    use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256};
    use sha2::{Digest, Sha256};

    let hmac = |key: &[u8], message: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
        mac.update(message.as_bytes());
        mac.finalize().into_bytes()
    };
    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).expect("SCRAM messages are text");
    // SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
    let rest = stored
        .strip_prefix("SCRAM-SHA-256$")
        .unwrap_or_else(|| panic!("a SCRAM verifier: {stored}"));
    let (iterations, rest) = rest.split_once(':').expect("iterations");
    let (salt, keys) = rest.split_once('$').expect("salt");
    let (stored_key, server_key) = keys.split_once(':').expect("keys");
    let stored_key = STANDARD.decode(stored_key).expect("base64 StoredKey");
    let server_key = STANDARD.decode(server_key).expect("base64 ServerKey");

    let mut client = ScramSha256::new(password.as_bytes(), ChannelBinding::unsupported());
    let client_first = text(client.message());
    let client_first_bare = client_first.strip_prefix("n,,").expect("no channel binding");
    let (_, client_nonce) = client_first_bare.split_once("r=").expect("a nonce");
    let server_first = format!("r={client_nonce}orch,s={salt},i={iterations}");
    client.update(server_first.as_bytes()).expect("the server's first message is valid");
    let client_final = text(client.message());
    let (without_proof, proof) = client_final.rsplit_once(",p=").expect("a proof");
    let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
    // The proof, undone with the client's signature, is a key whose hash is
    // StoredKey.
    let mut client_key = STANDARD.decode(proof).expect("base64 proof");
    for (byte, signature) in client_key.iter_mut().zip(hmac(&stored_key, &auth_message)) {
        *byte ^= signature;
    }
    let proof_holds = Sha256::digest(&client_key).as_slice() == stored_key.as_slice();
    // The client, in turn, accepts the server's signature made with ServerKey.
    let server_final = format!("v={}", STANDARD.encode(hmac(&server_key, &auth_message)));
    let signature_holds = client.finish(server_final.as_bytes()).is_ok();
    proof_holds && signature_holds
}

#[tokio::test]
async fn verifiers_match_the_servers() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    // ASCII, and a password SASLprep changes: the no-break space becomes a
    // space, and NFKC turns `ﬁ` into `fi` and `Ⅸ` into `IX`.
    for (password, prepared) in [("pencil", "pencil"), ("ﬁ\u{a0}Ⅸ-pässwört", "fi IX-pässwört")]
    {
        let name = unique("orch_role");
        let mut cleanup = pg.cleanup();
        cleanup.role(&name);
        let stored = || async {
            let row = pg
                .admin
                .query_one("SELECT rolpassword FROM pg_authid WHERE rolname = $1", &[&name])
                .await
                .unwrap();
            row.get::<_, String>(0)
        };
        // The server hashes this one itself.
        pg.sql(&format!(
            "SET password_encryption = 'scram-sha-256'; CREATE ROLE \"{name}\" PASSWORD '{password}'"
        ))
        .await;
        let servers = stored().await;
        assert_verifier_of(&servers, password);
        assert_verifier_of(&servers, prepared);
        assert!(!verifies(&servers, &format!("{password}!")), "another password fails");

        // The provider's, for the same password: the server keeps it as it
        // is, and it takes the same password.
        let config = config("pg.role", &[("name", s(&name)), ("password", Value::secret(s("x")))]);
        let prior = pg.read("pg.role", &config).await.expect("the role exists");
        pg.update("pg.role", &prior, &with(&config, "password", Value::secret(s(password)))).await;
        let ours = stored().await;
        assert_ne!(ours, servers, "set again, with a salt of its own");
        assert_verifier_of(&ours, password);
        assert_verifier_of(&ours, prepared);
        assert!(!verifies(&ours, &format!("{password}!")), "another password fails");
    }
}

#[tokio::test]
async fn role_rename_is_in_place() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let (old, new) = (unique("orch_role"), unique("orch_role_renamed"));
    let mut cleanup = pg.cleanup();
    cleanup.role(&old);
    cleanup.role(&new);
    let config = config("pg.role", &[("name", s(&old)), ("password", Value::secret(s("kept")))]);
    let created = pg.create("pg.role", &config).await;
    let oid_of = |name: &str| format!("SELECT oid FROM pg_roles WHERE rolname = '{name}'");
    let before: u32 = pg.admin.query_one(&oid_of(&old), &[]).await.unwrap().get(0);

    let renamed = with(&config, "name", s(&new));
    let planned = pg.provider.plan("pg.role", Some(&created), &renamed);
    assert!(planned.requires_replace.is_empty(), "{:?}", planned.requires_replace);
    let updated = pg.update("pg.role", &created, &renamed).await;
    assert_eq!(field(&updated, "name"), &s(&new));
    let after: u32 = pg.admin.query_one(&oid_of(&new), &[]).await.unwrap().get(0);
    assert_eq!(after, before, "the same role");
    let stored: String = pg
        .admin
        .query_one("SELECT rolpassword FROM pg_authid WHERE rolname = $1", &[&new])
        .await
        .unwrap()
        .get(0);
    assert_verifier_of(&stored, "kept");
    pg.delete("pg.role", &updated).await;
}

#[tokio::test]
async fn role_drift_is_read_and_undone() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let (name, group) = (unique("orch_role"), unique("orch_group"));
    let mut cleanup = pg.cleanup();
    cleanup.role(&name);
    cleanup.role(&group);
    pg.sql(&format!("CREATE ROLE \"{group}\"")).await;
    let config = config(
        "pg.role",
        &[("name", s(&name)), ("login", Value::Bool(true)), ("roles", list(&[&group]))],
    );
    let created = pg.create("pg.role", &config).await;
    pg.sql(&format!(
        "ALTER ROLE \"{name}\" NOLOGIN CONNECTION LIMIT 5 VALID UNTIL '2030-06-01 12:00:00+00'; \
         REVOKE \"{group}\" FROM \"{name}\"; ALTER ROLE \"{name}\" SET search_path TO other"
    ))
    .await;

    let drifted = pg.read("pg.role", &created).await.expect("the role exists");
    assert_eq!(field(&drifted, "login"), &Value::Bool(false));
    assert_eq!(field(&drifted, "connection_limit"), &Value::Int(5));
    assert_eq!(field(&drifted, "valid_until"), &s("2030-06-01 12:00:00+00"));
    assert_eq!(field(&drifted, "roles"), &list(&[]));
    assert_eq!(field(&drifted, "search_path"), &list(&["other"]));
    let planned = pg.provider.plan("pg.role", Some(&drifted), &config);
    assert_ne!(planned.value, drifted);
    assert!(planned.requires_replace.is_empty());

    let restored = pg.update("pg.role", &drifted, &config).await;
    assert_eq!(restored, created);
    let row = pg
        .admin
        .query_one(
            "SELECT rolcanlogin, rolconnlimit, rolvaliduntil IS NULL OR rolvaliduntil = 'infinity', \
             pg_has_role(rolname, $2, 'MEMBER'), rolconfig IS NULL FROM pg_roles WHERE rolname = $1",
            &[&name, &group],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
    assert_eq!(row.get::<_, i32>(1), -1);
    assert!(row.get::<_, bool>(2) && row.get::<_, bool>(3) && row.get::<_, bool>(4));

    // The server's own words for a date it cannot read.
    let bad_date = with(&config, "valid_until", s("not a date"));
    let err = pg
        .provider
        .apply(&pg.ctx, "pg.role", Change::Update { prior: &restored, config: &bad_date })
        .await
        .expect_err("a bad date");
    assert!(err.message.starts_with(&format!("updating role {name}: ")), "{}", err.message);
    assert!(err.message.contains("\"not a date\""), "{}", err.message);
    pg.delete("pg.role", &restored).await;
}

#[tokio::test]
async fn role_dropped_by_hand_reads_as_gone() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let name = unique("orch_role");
    let mut cleanup = pg.cleanup();
    cleanup.role(&name);
    let created = pg.create("pg.role", &config("pg.role", &[("name", s(&name))])).await;
    pg.sql(&format!("DROP ROLE \"{name}\"")).await;
    assert_eq!(pg.read("pg.role", &created).await, None);
    pg.delete("pg.role", &created).await;
}

#[tokio::test]
async fn role_owning_objects_in_other_databases_is_deleted() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let (name, database) = (unique("orch_role"), unique("orch_db"));
    let mut cleanup = pg.cleanup();
    cleanup.role(&name);
    cleanup.database(&database);
    let role = pg.create("pg.role", &config("pg.role", &[("name", s(&name))])).await;
    pg.sql(&format!("CREATE DATABASE \"{database}\"")).await;
    let other = connect(&url, Some(&database)).await;
    other
        .batch_execute(&format!(
            "CREATE TABLE owned (x int); ALTER TABLE owned OWNER TO \"{name}\"; \
             CREATE TABLE granted (x int); GRANT SELECT ON granted TO \"{name}\""
        ))
        .await
        .unwrap();

    pg.delete("pg.role", &role).await;
    assert!(
        !pg.flag(&format!("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}')")).await
    );
    let owner: String = other
        .query_one(
            "SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE relname = 'owned'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_ne!(owner, name, "the table was kept and given to the provider's role");
}

#[tokio::test]
async fn passwords_never_appear_in_errors() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let (name, taken) = (unique("orch_role"), unique("orch_taken"));
    let missing_group = unique("orch_no_such_group");
    let mut cleanup = pg.cleanup();
    cleanup.role(&name);
    cleanup.role(&taken);
    pg.sql(&format!("CREATE ROLE \"{taken}\"")).await;
    // ASCII and not: both go as verifiers.
    for password in [format!("Secret-{}", unique("pw")), format!("pässwört-{}", unique("pw"))] {
        let config = config(
            "pg.role",
            &[
                ("name", s(&name)),
                ("password", Value::secret(s(&password))),
                ("roles", list(&[&missing_group])),
            ],
        );
        let err = pg.try_create("pg.role", &config).await.expect_err("the group does not exist");
        assert!(
            err.message.contains(&format!("role \"{missing_group}\" does not exist")),
            "{}",
            err.message
        );
        assert!(!format!("{err:?}").contains(&password), "{err:?}");

        // The statement that carries the password fails.
        let bad_date = with(&config, "valid_until", s("not a date"));
        let err = pg
            .try_create("pg.role", &with(&bad_date, "roles", list(&[])))
            .await
            .expect_err("a bad date");
        assert!(err.message.contains("not a date"), "{}", err.message);
        assert!(!format!("{err:?}").contains(&password), "{err:?}");

        // Created, then an update that fails: renamed to a taken name.
        let config = with(&config, "roles", list(&[]));
        let created = pg.create("pg.role", &config).await;
        let stored: String = pg
            .admin
            .query_one("SELECT rolpassword FROM pg_authid WHERE rolname = $1", &[&name])
            .await
            .unwrap()
            .get(0);
        assert!(stored.starts_with("SCRAM-SHA-256$") && !stored.contains(&password));
        assert_verifier_of(&stored, &password);
        let changed = with(
            &with(&config, "name", s(&taken)),
            "password",
            Value::secret(s(&format!("{password}2"))),
        );
        let err = pg
            .provider
            .apply(&pg.ctx, "pg.role", Change::Update { prior: &created, config: &changed })
            .await
            .expect_err("the name is taken");
        assert!(err.message.contains("already exists"), "{}", err.message);
        assert!(!format!("{err:?}").contains(&password), "{err:?}");
        pg.delete("pg.role", &created).await;
    }
}

// ---------------------------------------------------------------------------
// pg.schema

#[tokio::test]
async fn schema_lives_in_its_database() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let (database, owner, old, new) = (
        unique("orch_db"),
        unique("orch_owner"),
        unique("orch_schema"),
        unique("orch_schema_renamed"),
    );
    let mut cleanup = pg.cleanup();
    cleanup.role(&owner);
    cleanup.database(&database);
    let db = pg.create("pg.database", &config("pg.database", &[("name", s(&database))])).await;
    let role = pg.create("pg.role", &config("pg.role", &[("name", s(&owner))])).await;
    let config =
        config("pg.schema", &[("name", s(&old)), ("database", s(&database)), ("owner", s(&owner))]);
    let created = pg.create("pg.schema", &config).await;
    let inside = connect(&url, Some(&database)).await;
    let row = inside
        .query_one(
            "SELECT oid, pg_get_userbyid(nspowner)::text FROM pg_namespace WHERE nspname = $1",
            &[&old],
        )
        .await
        .unwrap();
    let oid: u32 = row.get(0);
    assert_eq!(row.get::<_, String>(1), owner);
    assert!(
        !pg.flag(&format!("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = '{old}')"))
            .await
    );
    assert_eq!(pg.read("pg.schema", &created).await.as_ref(), Some(&created));

    // Renamed in place, and given back to the provider's role.
    let renamed = with(&with(&config, "name", s(&new)), "owner", Value::None);
    let planned = pg.provider.plan("pg.schema", Some(&created), &renamed);
    assert!(planned.requires_replace.is_empty());
    let current_user: String =
        pg.admin.query_one("SELECT current_user::text", &[]).await.unwrap().get(0);
    let renamed = with(&renamed, "owner", s(&current_user));
    let updated = pg.update("pg.schema", &created, &renamed).await;
    let row = inside
        .query_one(
            "SELECT oid, pg_get_userbyid(nspowner)::text FROM pg_namespace WHERE nspname = $1",
            &[&new],
        )
        .await
        .unwrap();
    assert_eq!((row.get::<_, u32>(0), row.get::<_, String>(1)), (oid, current_user));

    // Not empty: deleting needs `drop_cascade`.
    inside.batch_execute(&format!("CREATE TABLE \"{new}\".t (x int)")).await.unwrap();
    let err = pg
        .provider
        .apply(&pg.ctx, "pg.schema", Change::Delete { prior: &updated })
        .await
        .expect_err("the schema is not empty");
    assert!(
        err.message.starts_with(&format!("deleting schema {new} in database {database}: ")),
        "{}",
        err.message
    );
    assert!(err.message.contains("other objects depend on it"), "{}", err.message);
    let cascading = with(&renamed, "drop_cascade", Value::Bool(true));
    let planned = pg.provider.plan("pg.schema", Some(&updated), &cascading);
    assert!(planned.requires_replace.is_empty());
    let updated = pg.update("pg.schema", &updated, &cascading).await;
    pg.delete("pg.schema", &updated).await;
    assert!(
        inside
            .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&new])
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(pg.read("pg.schema", &updated).await, None);

    pg.delete("pg.role", &role).await;
    pg.delete("pg.database", &db).await;
    // Its database gone, the schema is gone too.
    assert_eq!(pg.read("pg.schema", &updated).await, None);
    pg.delete("pg.schema", &updated).await;
}

#[tokio::test]
async fn schema_that_exists_is_adopted_only_with_if_not_exists() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let name = unique("orch_schema");
    let mut cleanup = pg.cleanup();
    cleanup.sql(None, &format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"));
    pg.sql(&format!("CREATE SCHEMA \"{name}\"")).await;
    let strict = config("pg.schema", &[("name", s(&name)), ("if_not_exists", Value::Bool(false))]);
    let err = pg.try_create("pg.schema", &strict).await.expect_err("it exists");
    assert!(err.message.contains("already exists"), "{}", err.message);
    let adopted = pg.create("pg.schema", &config("pg.schema", &[("name", s(&name))])).await;
    assert_eq!(field(&adopted, "database"), &Value::None, "the provider's database");
    pg.delete("pg.schema", &adopted).await;
    assert!(
        !pg.flag(&format!("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = '{name}')"))
            .await
    );
}

// ---------------------------------------------------------------------------
// pg.grant

/// A role and a schema with tables `a` and `b` in the provider's database.
async fn grant_fixture(pg: &Pg, cleanup: &mut Cleanup) -> (String, String, String) {
    let (role, schema) = (unique("orch_reader"), unique("orch_app"));
    cleanup.role(&role);
    cleanup.sql(None, &format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"));
    pg.sql(&format!(
        "CREATE ROLE \"{role}\"; CREATE SCHEMA \"{schema}\"; \
         CREATE TABLE \"{schema}\".a (x int); CREATE TABLE \"{schema}\".b (x int)"
    ))
    .await;
    (role, schema, pg.current_database().await)
}

async fn table_privileges(pg: &Pg, role: &str, table: &str) -> Vec<String> {
    pg.admin
        .query(
            "SELECT a.privilege_type FROM pg_class c, aclexplode(c.relacl) a \
             WHERE c.oid = $2::text::regclass AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $1) \
             ORDER BY 1",
            &[&role, &table],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[tokio::test]
async fn table_grants_undo_narrowing_and_widening() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let mut cleanup = pg.cleanup();
    let (role, schema, database) = grant_fixture(&pg, &mut cleanup).await;
    let a = format!("\"{schema}\".a");
    let config = config(
        "pg.grant",
        &[
            ("role", s(&role)),
            ("database", s(&database)),
            ("schema", s(&schema)),
            ("object_type", s("table")),
            ("objects", list(&["a"])),
            ("privileges", list(&["select", "INSERT"])),
        ],
    );
    let created = pg.create("pg.grant", &config).await;
    assert_eq!(table_privileges(&pg, &role, &a).await, ["INSERT", "SELECT"]);
    assert!(table_privileges(&pg, &role, &format!("\"{schema}\".b")).await.is_empty());
    assert!(pg.flag(&format!("SELECT has_table_privilege('{role}', '{a}', 'SELECT')")).await);
    assert_eq!(pg.read("pg.grant", &created).await.as_ref(), Some(&created));
    no_change(&pg.provider.plan("pg.grant", Some(&created), &config), &created);

    // Narrowed by hand.
    pg.sql(&format!("REVOKE INSERT ON {a} FROM \"{role}\"")).await;
    let drifted = pg.read("pg.grant", &created).await.expect("the grant exists");
    assert_eq!(field(&drifted, "privileges"), &list(&["SELECT"]));
    assert_ne!(pg.provider.plan("pg.grant", Some(&drifted), &config).value, drifted);
    let restored = pg.update("pg.grant", &drifted, &config).await;
    assert_eq!(restored, created);
    assert_eq!(table_privileges(&pg, &role, &a).await, ["INSERT", "SELECT"]);

    // Widened by hand.
    pg.sql(&format!("GRANT DELETE ON {a} TO \"{role}\"")).await;
    let drifted = pg.read("pg.grant", &created).await.expect("the grant exists");
    assert_eq!(field(&drifted, "privileges"), &list(&["DELETE", "INSERT", "SELECT"]));
    pg.update("pg.grant", &drifted, &config).await;
    assert_eq!(table_privileges(&pg, &role, &a).await, ["INSERT", "SELECT"]);

    // Given the grant option by hand: drift of `with_grant_option`, which
    // replaces the grant.
    pg.sql(&format!("GRANT SELECT, INSERT ON {a} TO \"{role}\" WITH GRANT OPTION")).await;
    let drifted = pg.read("pg.grant", &created).await.expect("the grant exists");
    assert_eq!(field(&drifted, "with_grant_option"), &Value::Bool(true));
    assert_eq!(
        pg.provider.plan("pg.grant", Some(&drifted), &config).requires_replace,
        ["with_grant_option"]
    );

    // Changed in place: only `privileges` may.
    let narrower = with(&config, "privileges", list(&["SELECT"]));
    let planned = pg.provider.plan("pg.grant", Some(&created), &narrower);
    assert!(planned.requires_replace.is_empty());
    let updated = pg.update("pg.grant", &created, &narrower).await;
    assert_eq!(table_privileges(&pg, &role, &a).await, ["SELECT"]);
    assert!(
        !pg.flag(&format!(
            "SELECT has_table_privilege('{role}', '{a}', 'SELECT WITH GRANT OPTION')"
        ))
        .await
    );
    let other_objects = with(&narrower, "objects", list(&["a", "b"]));
    assert_eq!(
        pg.provider.plan("pg.grant", Some(&updated), &other_objects).requires_replace,
        ["objects"]
    );

    pg.delete("pg.grant", &updated).await;
    assert!(table_privileges(&pg, &role, &a).await.is_empty());
}

#[tokio::test]
async fn grants_on_every_table_cover_tables_created_later() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let mut cleanup = pg.cleanup();
    let (role, schema, database) = grant_fixture(&pg, &mut cleanup).await;
    let config = config(
        "pg.grant",
        &[
            ("role", s(&role)),
            ("database", s(&database)),
            ("schema", s(&schema)),
            ("object_type", s("table")),
            ("privileges", list(&["ALL"])),
        ],
    );
    let created = pg.create("pg.grant", &config).await;
    for table in ["a", "b"] {
        let privileges = table_privileges(&pg, &role, &format!("\"{schema}\".{table}")).await;
        assert!(privileges.len() >= 7, "{privileges:?}");
    }
    assert_eq!(field(&created, "privileges"), &list(&["ALL"]), "`ALL` reads back as `ALL`");
    assert_eq!(pg.read("pg.grant", &created).await.as_ref(), Some(&created));

    pg.sql(&format!("CREATE TABLE \"{schema}\".c (x int)")).await;
    let drifted = pg.read("pg.grant", &created).await.expect("the grant exists");
    assert_eq!(field(&drifted, "privileges"), &list(&[]), "table c has none");
    pg.update("pg.grant", &drifted, &config).await;
    assert!(
        pg.flag(&format!("SELECT has_table_privilege('{role}', '\"{schema}\".c', 'TRUNCATE')"))
            .await
    );

    pg.delete("pg.grant", &created).await;
    for table in ["a", "b", "c"] {
        assert!(table_privileges(&pg, &role, &format!("\"{schema}\".{table}")).await.is_empty());
    }
}

#[tokio::test]
async fn database_and_schema_grants() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let mut cleanup = pg.cleanup();
    let (role, schema, database) = grant_fixture(&pg, &mut cleanup).await;
    let other = unique("orch_db");
    cleanup.database(&other);
    pg.sql(&format!("CREATE DATABASE \"{other}\"")).await;

    let on_database = config(
        "pg.grant",
        &[
            ("role", s(&role)),
            ("database", s(&other)),
            ("object_type", s("database")),
            ("privileges", list(&["CONNECT", "temp"])),
        ],
    );
    let created = pg.create("pg.grant", &on_database).await;
    let acl = pg
        .admin
        .query(
            "SELECT a.privilege_type FROM pg_database d, aclexplode(d.datacl) a \
             WHERE d.datname = $1 AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $2) ORDER BY 1",
            &[&other, &role],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<_, String>(0))
        .collect::<Vec<_>>();
    assert_eq!(acl, ["CONNECT", "TEMPORARY"]);
    assert!(
        !pg.flag(&format!("SELECT has_database_privilege('{role}', '{other}', 'CREATE')")).await
    );
    assert_eq!(pg.read("pg.grant", &created).await.as_ref(), Some(&created));
    pg.sql(&format!("GRANT CREATE ON DATABASE \"{other}\" TO \"{role}\"")).await;
    let drifted = pg.read("pg.grant", &created).await.expect("the grant exists");
    assert_eq!(field(&drifted, "privileges"), &list(&["CONNECT", "CREATE", "TEMPORARY"]));
    pg.delete("pg.grant", &created).await;
    assert!(
        !pg.flag(&format!("SELECT has_database_privilege('{role}', '{other}', 'CREATE')")).await
    );

    let on_schema = config(
        "pg.grant",
        &[
            ("role", s(&role)),
            ("database", s(&database)),
            ("schema", s(&schema)),
            ("object_type", s("schema")),
            ("privileges", list(&["USAGE"])),
        ],
    );
    let created = pg.create("pg.grant", &on_schema).await;
    assert!(pg.flag(&format!("SELECT has_schema_privilege('{role}', '{schema}', 'USAGE')")).await);
    assert!(
        !pg.flag(&format!("SELECT has_schema_privilege('{role}', '{schema}', 'CREATE')")).await
    );
    assert_eq!(pg.read("pg.grant", &created).await.as_ref(), Some(&created));
    // Its schema dropped, the grant is gone.
    pg.sql(&format!("DROP SCHEMA \"{schema}\" CASCADE")).await;
    assert_eq!(pg.read("pg.grant", &created).await, None);
    pg.delete("pg.grant", &created).await;
}

#[tokio::test]
async fn sequence_and_function_grants() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let mut cleanup = pg.cleanup();
    let (role, schema, database) = grant_fixture(&pg, &mut cleanup).await;
    pg.sql(&format!(
        "CREATE SEQUENCE \"{schema}\".q; \
         CREATE FUNCTION \"{schema}\".f(integer) RETURNS integer LANGUAGE sql AS 'SELECT $1'; \
         CREATE FUNCTION \"{schema}\".f(text) RETURNS text LANGUAGE sql AS 'SELECT $1'; \
         REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA \"{schema}\" FROM PUBLIC"
    ))
    .await;
    let base = |object_type: &str, objects: &[&str], privileges: &[&str]| {
        config(
            "pg.grant",
            &[
                ("role", s(&role)),
                ("database", s(&database)),
                ("schema", s(&schema)),
                ("object_type", s(object_type)),
                ("objects", list(objects)),
                ("privileges", list(privileges)),
            ],
        )
    };
    let sequence = pg.create("pg.grant", &base("sequence", &["q"], &["USAGE", "SELECT"])).await;
    assert!(
        pg.flag(&format!("SELECT has_sequence_privilege('{role}', '\"{schema}\".q', 'USAGE')"))
            .await
    );
    assert!(
        !pg.flag(&format!("SELECT has_sequence_privilege('{role}', '\"{schema}\".q', 'UPDATE')"))
            .await
    );
    assert_eq!(pg.read("pg.grant", &sequence).await.as_ref(), Some(&sequence));
    pg.delete("pg.grant", &sequence).await;
    assert!(
        !pg.flag(&format!("SELECT has_sequence_privilege('{role}', '\"{schema}\".q', 'USAGE')"))
            .await
    );

    let executes = |signature: &str| {
        format!("SELECT has_function_privilege('{role}', '\"{schema}\".{signature}', 'EXECUTE')")
    };
    // One overload by its signature.
    let one = pg.create("pg.grant", &base("function", &["f(integer)"], &["EXECUTE"])).await;
    assert!(pg.flag(&executes("f(integer)")).await);
    assert!(!pg.flag(&executes("f(text)")).await);
    assert_eq!(pg.read("pg.grant", &one).await.as_ref(), Some(&one));
    pg.delete("pg.grant", &one).await;
    assert!(!pg.flag(&executes("f(integer)")).await);
    // Every overload by its name.
    let all = pg.create("pg.grant", &base("function", &["f"], &["EXECUTE"])).await;
    assert!(pg.flag(&executes("f(integer)")).await && pg.flag(&executes("f(text)")).await);
    pg.delete("pg.grant", &all).await;
    assert!(!pg.flag(&executes("f(text)")).await);

    let err = pg
        .try_create("pg.grant", &base("function", &["nope(integer)"], &["EXECUTE"]))
        .await
        .unwrap_err();
    assert!(err.message.contains("no function nope(integer)"), "{}", err.message);
}

#[tokio::test]
async fn grant_reads_as_gone_when_its_role_is_dropped() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let mut cleanup = pg.cleanup();
    let (role, schema, database) = grant_fixture(&pg, &mut cleanup).await;
    let config = config(
        "pg.grant",
        &[
            ("role", s(&role)),
            ("database", s(&database)),
            ("schema", s(&schema)),
            ("object_type", s("table")),
            ("privileges", list(&["SELECT"])),
        ],
    );
    let created = pg.create("pg.grant", &config).await;
    pg.sql(&format!("DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\"")).await;
    assert_eq!(pg.read("pg.grant", &created).await, None);
    pg.delete("pg.grant", &created).await;
}

// ---------------------------------------------------------------------------
// import, concurrency

#[tokio::test]
async fn objects_are_imported_by_name() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let (role, database, schema) = (unique("orch_role"), unique("orch_db"), unique("orch_schema"));
    let mut cleanup = pg.cleanup();
    cleanup.role(&role);
    cleanup.database(&database);
    pg.sql(&format!("CREATE ROLE \"{role}\" LOGIN CONNECTION LIMIT 2")).await;
    pg.sql(&format!("CREATE DATABASE \"{database}\" OWNER \"{role}\" CONNECTION LIMIT 3")).await;
    connect(&url, Some(&database))
        .await
        .batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
        .await
        .unwrap();

    let imported =
        pg.provider.import(&pg.ctx, "pg.role", &role).await.unwrap().expect("the role exists");
    assert_eq!(field(&imported, "login"), &Value::Bool(true));
    assert_eq!(field(&imported, "connection_limit"), &Value::Int(2));
    assert_eq!(field(&imported, "password"), &Value::None);
    let imported = pg
        .provider
        .import(&pg.ctx, "pg.database", &database)
        .await
        .unwrap()
        .expect("the database exists");
    assert_eq!(field(&imported, "connection_limit"), &Value::Int(3));
    // Left to the server until the configuration says otherwise.
    assert_eq!(field(&imported, "owner"), &Value::None);
    let imported = pg
        .provider
        .import(&pg.ctx, "pg.schema", &format!("{database}.{schema}"))
        .await
        .unwrap()
        .expect("the schema exists");
    assert_eq!(field(&imported, "database"), &s(&database));
    assert_eq!(pg.provider.import(&pg.ctx, "pg.role", &unique("orch_none")).await, Ok(None));
    assert!(pg.provider.import(&pg.ctx, "pg.grant", "x").await.is_err());
}

#[tokio::test]
async fn operations_run_in_parallel() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let names: Vec<String> = (0..4).map(|_| unique("orch_role")).collect();
    let mut cleanup = pg.cleanup();
    for name in &names {
        cleanup.role(name);
    }
    let configs: Vec<Value> =
        names.iter().map(|name| config("pg.role", &[("name", s(name))])).collect();
    let (a, b, c, d) = tokio::join!(
        pg.create("pg.role", &configs[0]),
        pg.create("pg.role", &configs[1]),
        pg.create("pg.role", &configs[2]),
        pg.create("pg.role", &configs[3]),
    );
    for object in [&a, &b, &c, &d] {
        assert!(pg.read("pg.role", object).await.is_some());
    }
    tokio::join!(
        pg.delete("pg.role", &a),
        pg.delete("pg.role", &b),
        pg.delete("pg.role", &c),
        pg.delete("pg.role", &d),
    );
}

// ---------------------------------------------------------------------------
// Without a server.

#[tokio::test]
async fn connection_failures_are_transient_and_hide_the_password() {
    let mut provider = PgProvider::default();
    let url = "postgres://orch:hunter2-secret@127.0.0.1:1/postgres";
    provider.configure(&Value::map([("url".into(), Value::secret(s(url)))].into())).await.unwrap();
    assert!(!format!("{provider:?}").contains("hunter2"));
    let err = provider
        .read(&ctx(), "pg.role", &config("pg.role", &[("name", s("x"))]))
        .await
        .unwrap_err();
    assert!(err.transient, "{err:?}");
    assert!(
        err.message
            .starts_with("connecting to PostgreSQL at 127.0.0.1:1 as orch (database postgres): "),
        "{}",
        err.message
    );
    assert!(!err.message.contains("hunter2"));
}

#[tokio::test]
async fn a_provider_without_a_server_says_how_to_name_one() {
    if std::env::var_os("PGURL").is_some() || std::env::var_os("DATABASE_URL").is_some() {
        // The provider would use them: the test runs again in a process of
        // its own without them (the environment of this one is shared by
        // every test).
        let status = std::process::Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", "a_provider_without_a_server_says_how_to_name_one", "--nocapture"])
            .env_remove("PGURL")
            .env_remove("DATABASE_URL")
            .status()
            .expect("run the test binary");
        assert!(status.success(), "the test failed without PGURL and DATABASE_URL: {status}");
        return;
    }
    let mut provider = PgProvider::default();
    provider.configure(&Value::map(BTreeMap::new())).await.expect("the error comes at first use");
    let err = provider
        .read(&ctx(), "pg.role", &config("pg.role", &[("name", s("x"))]))
        .await
        .unwrap_err();
    assert!(err.message.contains("set `url` in `provider pg"), "{}", err.message);
    let mut provider = PgProvider::default();
    provider
        .configure(&Value::map([("url".into(), s("postgres://u@h:notaport/db"))].into()))
        .await
        .unwrap();
    let err = provider
        .read(&ctx(), "pg.role", &config("pg.role", &[("name", s("x"))]))
        .await
        .unwrap_err();
    assert!(
        err.message.starts_with("the pg provider's `url` is not a PostgreSQL connection URL"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn a_cancelled_operation_stops() {
    let provider = PgProvider::default();
    let ctx = ctx();
    ctx.cancel.cancel();
    let err =
        provider.read(&ctx, "pg.role", &config("pg.role", &[("name", s("x"))])).await.unwrap_err();
    assert!(err.message.ends_with("cancelled"), "{}", err.message);
}

#[test]
fn plans_rename_in_place_and_replace_what_cannot_change() {
    let provider = PgProvider::default();
    let replaced = |kind: &str, prior: &Value, name: &str, to: Value| {
        provider.plan(kind, Some(prior), &with(prior, name, to)).requires_replace
    };
    let database = config(
        "pg.database",
        &[
            ("name", s("app")),
            ("owner", s("owner")),
            ("template", s("template0")),
            ("encoding", s("UTF8")),
            ("lc_collate", s("en_US.UTF-8")),
            ("lc_ctype", s("C")),
        ],
    );
    assert!(replaced("pg.database", &database, "name", s("app2")).is_empty());
    assert!(replaced("pg.database", &database, "owner", s("other")).is_empty());
    assert!(replaced("pg.database", &database, "connection_limit", Value::Int(3)).is_empty());
    for field_name in ["template", "encoding", "lc_collate", "lc_ctype"] {
        assert_eq!(replaced("pg.database", &database, field_name, s("other")), [field_name]);
    }
    // The same in another spelling, or left to the server, is no change.
    no_change(
        &provider.plan("pg.database", Some(&database), &with(&database, "encoding", s("utf-8"))),
        &database,
    );
    no_change(
        &provider.plan(
            "pg.database",
            Some(&database),
            &with(&database, "lc_collate", s("en_US.utf8")),
        ),
        &database,
    );
    // Left out, the server's choice is recorded as none, never replaced.
    for field_name in ["owner", "template", "encoding", "lc_collate", "lc_ctype"] {
        let left_out = with(&database, field_name, Value::None);
        let planned = provider.plan("pg.database", Some(&database), &left_out);
        assert!(planned.requires_replace.is_empty(), "{field_name}");
        assert_eq!(field(&planned.value, field_name), &Value::None);
    }

    let role = config("pg.role", &[("name", s("app")), ("roles", list(&["a", "b"]))]);
    assert!(replaced("pg.role", &role, "name", s("app2")).is_empty());
    assert!(replaced("pg.role", &role, "superuser", Value::Bool(true)).is_empty());
    assert!(replaced("pg.role", &role, "password", Value::secret(s("new"))).is_empty());
    no_change(
        &provider.plan("pg.role", Some(&role), &with(&role, "roles", list(&["b", "a"]))),
        &role,
    );

    let schema = config("pg.schema", &[("name", s("app")), ("database", s("one"))]);
    assert!(replaced("pg.schema", &schema, "name", s("app2")).is_empty());
    assert_eq!(replaced("pg.schema", &schema, "database", s("two")), ["database"]);

    let grant = config(
        "pg.grant",
        &[
            ("role", s("r")),
            ("database", s("d")),
            ("schema", s("s")),
            ("object_type", s("table")),
            ("objects", list(&["a", "b"])),
            ("privileges", list(&["ALL"])),
        ],
    );
    assert!(replaced("pg.grant", &grant, "privileges", list(&["SELECT"])).is_empty());
    for (field_name, to) in
        [("role", s("r2")), ("database", s("d2")), ("schema", s("s2")), ("objects", list(&["a"]))]
    {
        assert_eq!(replaced("pg.grant", &grant, field_name, to), [field_name]);
    }
    assert_eq!(
        replaced("pg.grant", &grant, "with_grant_option", Value::Bool(true)),
        ["with_grant_option"]
    );
    let every =
        list(&["select", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]);
    no_change(&provider.plan("pg.grant", Some(&grant), &with(&grant, "privileges", every)), &grant);
    no_change(
        &provider.plan("pg.grant", Some(&grant), &with(&grant, "objects", list(&["b", "a"]))),
        &grant,
    );
}

#[test]
fn validation_catches_what_the_checker_cannot() {
    let provider = PgProvider::default();
    let grant = |fields: &[(&str, Value)]| {
        let mut all = vec![
            ("role", s("r")),
            ("database", s("d")),
            ("schema", s("s")),
            ("object_type", s("table")),
            ("privileges", list(&["SELECT"])),
        ];
        all.extend(fields.iter().cloned());
        provider.validate("pg.grant", &config("pg.grant", &all))
    };
    assert!(grant(&[]).is_empty());
    let problems = grant(&[("privileges", list(&["EXECUTE"]))]);
    assert!(
        problems.iter().any(|p| p.contains("\"EXECUTE\" is not a privilege on a table")),
        "{problems:?}"
    );
    assert!(!grant(&[("schema", Value::None)]).is_empty());
    assert!(
        !grant(&[("object_type", s("database")), ("privileges", list(&["CONNECT"]))]).is_empty(),
        "schema set"
    );
    assert!(
        !grant(&[
            ("object_type", s("schema")),
            ("objects", list(&["a"])),
            ("privileges", list(&["USAGE"]))
        ])
        .is_empty()
    );
    assert!(!grant(&[("role", s("public")), ("with_grant_option", Value::Bool(true))]).is_empty());
    // Unknown until apply: nothing to say yet.
    assert!(grant(&[("privileges", Value::Unknown)]).is_empty());

    let long = "x".repeat(64);
    let problems = provider.validate("pg.role", &config("pg.role", &[("name", s(&long))]));
    assert!(problems.iter().any(|p| p.contains("at most 63 bytes")), "{problems:?}");
    let problems = provider.validate(
        "pg.role",
        &config("pg.role", &[("name", s("r")), ("password", Value::secret(s("a\0b")))]),
    );
    assert!(!problems.is_empty());
    // `password = ""` is a role without a password, as in Terraform.
    let problems = provider.validate(
        "pg.role",
        &config("pg.role", &[("name", s("r")), ("password", Value::secret(s("")))]),
    );
    assert!(problems.is_empty(), "{problems:?}");
    let problems = provider.validate(
        "pg.database",
        &config("pg.database", &[("name", s("d")), ("connection_limit", Value::Int(-2))]),
    );
    assert!(!problems.is_empty());
    assert!(
        !provider.validate("pg.schema", &config("pg.schema", &[("name", s("pg_mine"))])).is_empty()
    );
}

// ---------------------------------------------------------------------------
// Parity with Terraform's provider (cyrilgdn/postgresql), in the shape of
// its acceptance tests: each field set, checked in the catalog, read back
// without drift, changed by hand and repaired.

/// One of a role's `rolconfig` settings, as the server holds it.
async fn role_setting(pg: &Pg, role: &str, setting: &str) -> Option<String> {
    let row = pg
        .admin
        .query_one(
            "SELECT (SELECT split_part(c, '=', 2) FROM unnest(COALESCE(rolconfig, '{}')) c \
             WHERE split_part(c, '=', 1) = $2) FROM pg_roles WHERE rolname = $1",
            &[&role, &setting],
        )
        .await
        .unwrap();
    row.get(0)
}

#[tokio::test]
async fn role_bypass_rls_and_timeouts_are_managed() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let name = unique("orch_role_tf");
    let mut cleanup = pg.cleanup();
    cleanup.role(&name);
    let config = config(
        "pg.role",
        &[
            ("name", s(&name)),
            ("bypass_row_level_security", Value::Bool(true)),
            ("statement_timeout", Value::Int(5000)),
            ("idle_in_transaction_session_timeout", Value::Int(60000)),
            ("password", Value::secret(s(""))),
        ],
    );
    let created = pg.create("pg.role", &config).await;
    assert!(pg.flag(&format!("SELECT rolbypassrls FROM pg_roles WHERE rolname = '{name}'")).await);
    assert_eq!(role_setting(&pg, &name, "statement_timeout").await.as_deref(), Some("5000"));
    assert_eq!(
        role_setting(&pg, &name, "idle_in_transaction_session_timeout").await.as_deref(),
        Some("60000")
    );
    // `password = ""` is a role without a password.
    assert!(
        pg.flag(&format!("SELECT rolpassword IS NULL FROM pg_authid WHERE rolname = '{name}'"))
            .await
    );
    let read = pg.read("pg.role", &created).await.expect("the role exists");
    assert_eq!(read, created);
    no_change(&pg.provider.plan("pg.role", Some(&read), &config), &read);

    // Changed by hand (with a unit, as a person writes it): drift, repaired.
    pg.sql(&format!(
        "ALTER ROLE \"{name}\" SET statement_timeout = '10s'; ALTER ROLE \"{name}\" NOBYPASSRLS"
    ))
    .await;
    let drifted = pg.read("pg.role", &created).await.expect("the role exists");
    assert_eq!(field(&drifted, "statement_timeout"), &Value::Int(10_000));
    assert_eq!(field(&drifted, "bypass_row_level_security"), &Value::Bool(false));
    assert_ne!(pg.provider.plan("pg.role", Some(&drifted), &config).value, drifted);
    let repaired = pg.update("pg.role", &drifted, &config).await;
    assert_eq!(repaired, created);
    assert_eq!(role_setting(&pg, &name, "statement_timeout").await.as_deref(), Some("5000"));

    // Back to 0: the settings are reset, not set to 0.
    let cleared = with(
        &with(&config, "statement_timeout", Value::Int(0)),
        "idle_in_transaction_session_timeout",
        Value::Int(0),
    );
    let updated = pg.update("pg.role", &repaired, &cleared).await;
    assert_eq!(role_setting(&pg, &name, "statement_timeout").await, None);
    assert_eq!(role_setting(&pg, &name, "idle_in_transaction_session_timeout").await, None);
    pg.delete("pg.role", &updated).await;
    assert!(
        !pg.flag(&format!("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}')")).await
    );
}

#[tokio::test]
async fn role_skip_drop_and_skip_reassign_owned() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let (kept, owner) = (unique("orch_role_kept"), unique("orch_role_owner"));
    let table = unique("orch_owned");
    let mut cleanup = pg.cleanup();
    cleanup.role(&kept);
    cleanup.role(&owner);
    cleanup.sql(None, &format!("DROP TABLE IF EXISTS \"{table}\""));

    // skip_drop_role: deleting only forgets the role.
    let config_kept =
        config("pg.role", &[("name", s(&kept)), ("skip_drop_role", Value::Bool(true))]);
    let created = pg.create("pg.role", &config_kept).await;
    pg.delete("pg.role", &created).await;
    assert!(
        pg.flag(&format!("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = '{kept}')")).await
    );

    // skip_reassign_owned: a role that still owns a table cannot be dropped,
    // and the server says why; nothing it owns is dropped.
    let config_owner =
        config("pg.role", &[("name", s(&owner)), ("skip_reassign_owned", Value::Bool(true))]);
    let created = pg.create("pg.role", &config_owner).await;
    pg.sql(&format!(
        "CREATE TABLE \"{table}\" (id int); ALTER TABLE \"{table}\" OWNER TO \"{owner}\""
    ))
    .await;
    let failed = pg.provider.apply(&pg.ctx, "pg.role", Change::Delete { prior: &created }).await;
    let err = failed.expect_err("the role owns a table");
    assert!(err.message.contains("cannot be dropped"), "{}", err.message);
    assert!(
        pg.flag(&format!("SELECT EXISTS (SELECT FROM pg_class WHERE relname = '{table}')")).await
    );
    // Without the flag the same delete reassigns and succeeds.
    let plain = with(&created, "skip_reassign_owned", Value::Bool(false));
    pg.delete("pg.role", &plain).await;
    assert!(
        !pg.flag(&format!("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = '{owner}')")).await
    );
}

#[tokio::test]
async fn database_defaults_are_terraforms_and_default_means_the_templates() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let (plain, templated) = (unique("orch_db_tf"), unique("orch_db_default"));
    let mut cleanup = pg.cleanup();
    cleanup.database(&plain);
    cleanup.database(&templated);
    let config_plain = config("pg.database", &[("name", s(&plain))]);
    let created = pg.create("pg.database", &config_plain).await;
    let row = pg
        .admin
        .query_one(
            "SELECT pg_encoding_to_char(encoding)::text, datcollate::text, datctype::text \
             FROM pg_database WHERE datname = $1",
            &[&plain],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1), row.get::<_, String>(2)),
        ("UTF8".to_string(), "C".to_string(), "C".to_string())
    );
    let read = pg.read("pg.database", &created).await.expect("the database exists");
    no_change(&pg.provider.plan("pg.database", Some(&read), &config_plain), &read);

    // `DEFAULT` takes template1's settings, and is no drift when read back.
    let default = s("DEFAULT");
    let config_templated = config(
        "pg.database",
        &[
            ("name", s(&templated)),
            ("template", default.clone()),
            ("encoding", default.clone()),
            ("lc_collate", default.clone()),
            ("lc_ctype", default.clone()),
            ("tablespace_name", default.clone()),
        ],
    );
    let created_templated = pg.create("pg.database", &config_templated).await;
    assert!(
        pg.flag(&format!(
            "SELECT d.encoding = t.encoding AND d.datcollate = t.datcollate \
             FROM pg_database d, pg_database t WHERE d.datname = '{templated}' AND t.datname = 'template1'"
        ))
        .await
    );
    let read_templated =
        pg.read("pg.database", &created_templated).await.expect("the database exists");
    assert_eq!(field(&read_templated, "encoding"), &default);
    no_change(
        &pg.provider.plan("pg.database", Some(&read_templated), &config_templated),
        &read_templated,
    );
    pg.delete("pg.database", &read).await;
    pg.delete("pg.database", &read_templated).await;
}

#[tokio::test]
async fn database_tablespace_is_set_read_and_moved() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let (name, space) = (unique("orch_db_space"), unique("orch_space"));
    let mut cleanup = pg.cleanup();
    cleanup.sql(None, &format!("DROP TABLESPACE IF EXISTS \"{space}\""));
    cleanup.database(&name);
    // A tablespace's folder must belong to the server's OS user: the one
    // that owns its data directory.
    let data: String = pg
        .admin
        .query_one("SELECT setting FROM pg_settings WHERE name = 'data_directory'", &[])
        .await
        .unwrap()
        .get(0);
    let folder = tempfile::tempdir().expect("a temporary folder");
    let location = folder.path().join("space");
    std::fs::create_dir(&location).unwrap();
    {
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(&data).expect("the data directory is on this machine");
        std::os::unix::fs::chown(&location, Some(owner.uid()), Some(owner.gid()))
            .expect("the tests run as root or as the server's user");
        let parent = folder.path();
        std::os::unix::fs::chown(parent, Some(owner.uid()), Some(owner.gid())).unwrap();
    }
    pg.sql(&format!("CREATE TABLESPACE \"{space}\" LOCATION '{}'", location.display())).await;

    let config = config("pg.database", &[("name", s(&name)), ("tablespace_name", s("pg_default"))]);
    let created = pg.create("pg.database", &config).await;
    assert_eq!(field(&created, "tablespace_name"), &s("pg_default"));
    let moved_config = with(&config, "tablespace_name", s(&space));
    let planned = pg.provider.plan("pg.database", Some(&created), &moved_config);
    assert!(planned.requires_replace.is_empty(), "moved in place");
    let moved = pg.update("pg.database", &created, &moved_config).await;
    assert_eq!(field(&moved, "tablespace_name"), &s(&space));
    assert!(
        pg.flag(&format!(
            "SELECT t.spcname = '{space}' FROM pg_database d JOIN pg_tablespace t \
             ON t.oid = d.dattablespace WHERE d.datname = '{name}'"
        ))
        .await
    );
    pg.delete("pg.database", &moved).await;
}

#[tokio::test]
async fn database_owner_change_can_take_the_objects_along() {
    let url = server_or_skip!();
    let pg = Pg::new(&url).await;
    let (name, old, new) = (unique("orch_db_own"), unique("orch_old"), unique("orch_new"));
    let mut cleanup = pg.cleanup();
    cleanup.role(&old);
    cleanup.role(&new);
    cleanup.database(&name);
    pg.sql(&format!("CREATE ROLE \"{old}\"; CREATE ROLE \"{new}\"")).await;
    let config = config(
        "pg.database",
        &[("name", s(&name)), ("owner", s(&old)), ("alter_object_ownership", Value::Bool(true))],
    );
    let created = pg.create("pg.database", &config).await;
    let inside = connect(&url, Some(&name)).await;
    inside
        .batch_execute(&format!(
            "CREATE TABLE things (id int); ALTER TABLE things OWNER TO \"{old}\""
        ))
        .await
        .unwrap();
    let updated = pg.update("pg.database", &created, &with(&config, "owner", s(&new))).await;
    assert_eq!(field(&updated, "owner"), &s(&new));
    let owner: String = inside
        .query_one("SELECT tableowner::text FROM pg_tables WHERE tablename = 'things'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(owner, new, "the table follows the database to its new owner");
    drop(inside);
    pg.delete("pg.database", &updated).await;
}
