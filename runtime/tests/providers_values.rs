//! The providers without side effects outside state: `core.value`,
//! `random.password` and the data kind `env.var`.

use std::collections::BTreeMap;

use orch_runtime::provider::{Change, OpContext, Provider, field};
use orch_runtime::providers::builtin;
use orch_runtime::providers::lookup_kind;
use orch_stdlib::Value;

/// A configuration of `kind`: the schema's defaults, then `fields`.
fn config(kind: &str, fields: &[(&str, Value)]) -> Value {
    let schema = lookup_kind(kind).expect("a known kind");
    let mut entries = BTreeMap::new();
    for input in schema.inputs() {
        if let Some(default) = &input.default {
            entries.insert(input.name.into(), default.clone());
        }
    }
    for (name, value) in fields {
        entries.insert((*name).into(), value.clone());
    }
    Value::map(entries)
}

fn provider(name: &str) -> Box<dyn Provider> {
    builtin(name).expect("a built-in provider")
}

async fn create(provider: &dyn Provider, kind: &str, config: &Value) -> Value {
    let ctx = OpContext::new("/", format!("{kind}.test"));
    provider
        .apply(&ctx, kind, Change::Create { config })
        .await
        .expect("create succeeds")
        .expect("create returns the object")
}

#[tokio::test]
async fn core_value_outputs_its_input() {
    let core = provider("core");
    let ctx = OpContext::new("/", "core.value.a");
    let input = Value::list(vec![Value::Int(1), Value::secret(Value::string("x"))]);
    let config = config("core.value", &[("input", input.clone())]);
    let planned = core.plan("core.value", None, &config);
    assert_eq!(field(&planned.value, "output"), &input, "known at plan time");
    let created = create(&*core, "core.value", &config).await;
    assert_eq!(field(&created, "output"), &input);
    assert_eq!(planned.value, created);
    assert_eq!(core.read(&ctx, "core.value", &created).await, Ok(Some(created.clone())));

    let unknown = self::config("core.value", &[("input", Value::Unknown)]);
    let planned = core.plan("core.value", Some(&created), &unknown);
    assert_eq!(field(&planned.value, "output"), &Value::Unknown);

    let changed = self::config("core.value", &[("input", Value::string("new"))]);
    let planned = core.plan("core.value", Some(&created), &changed);
    assert!(planned.requires_replace.is_empty());
    let updated = core
        .apply(&ctx, "core.value", Change::Update { prior: &created, config: &changed })
        .await
        .expect("update")
        .expect("an object");
    assert_eq!(field(&updated, "output"), &Value::string("new"));

    let retriggered = self::config(
        "core.value",
        &[
            ("input", Value::string("new")),
            ("triggers", Value::map([("v".into(), Value::string("2"))].into_iter().collect())),
        ],
    );
    let planned = core.plan("core.value", Some(&updated), &retriggered);
    assert_eq!(planned.requires_replace, vec!["triggers".to_string()]);

    assert_eq!(core.apply(&ctx, "core.value", Change::Delete { prior: &updated }).await, Ok(None));
    assert!(core.create_is_idempotent("core.value"));
}

fn revealed_result(object: &Value) -> String {
    let result = field(object, "result");
    assert!(result.is_secret(), "the password is secret");
    result.as_str().expect("text").to_string()
}

#[tokio::test]
async fn random_password_is_secret_has_its_length_and_alphabet_and_is_kept() {
    let random = provider("random");
    let ctx = OpContext::new("/", "random.password.db");
    let config = config("random.password", &[]);
    let created = create(&*random, "random.password", &config).await;
    let password = revealed_result(&created);
    assert_eq!(password.chars().count(), 24);
    let special = "!#$%&*()-_=+[]{}<>:?";
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric() || special.contains(c)));
    let other = revealed_result(&create(&*random, "random.password", &config).await);
    assert_ne!(password, other, "two passwords differ");

    let plain = self::config(
        "random.password",
        &[("length", Value::Int(200)), ("special", Value::Bool(false))],
    );
    let plain = revealed_result(&create(&*random, "random.password", &plain).await);
    assert_eq!(plain.len(), 200);
    assert!(plain.chars().all(|c| c.is_ascii_alphanumeric()), "{plain}");

    let one = self::config("random.password", &[("length", Value::Int(1))]);
    assert_eq!(revealed_result(&create(&*random, "random.password", &one).await).len(), 1);

    assert_eq!(random.read(&ctx, "random.password", &created).await, Ok(Some(created.clone())));
    let planned = random.plan("random.password", Some(&created), &config);
    assert_eq!(field(&planned.value, "result"), field(&created, "result"));
    let longer = self::config("random.password", &[("length", Value::Int(30))]);
    let planned = random.plan("random.password", Some(&created), &longer);
    assert_eq!(planned.requires_replace, vec!["length".to_string()]);

    let updated = random
        .apply(&ctx, "random.password", Change::Update { prior: &created, config: &config })
        .await
        .expect("update")
        .expect("an object");
    assert_eq!(revealed_result(&updated), password, "an update keeps the password");
    let deleted = random.apply(&ctx, "random.password", Change::Delete { prior: &updated }).await;
    assert_eq!(deleted, Ok(None));
}

#[test]
fn random_password_length_must_be_positive() {
    let random = provider("random");
    let zero = config("random.password", &[("length", Value::Int(0))]);
    let problems = random.validate("random.password", &zero);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].contains("`length` must be between 1"), "{problems:?}");
    assert!(random.validate("random.password", &config("random.password", &[])).is_empty());
}

#[tokio::test]
async fn env_var_reads_the_process_environment() {
    let env = provider("env");
    let ctx = OpContext::new("/", "data.env.var.path");
    let path = config("env.var", &[("name", Value::string("PATH"))]);
    let read = env.read(&ctx, "env.var", &path).await.expect("read").expect("a value");
    let expected = std::env::var("PATH").expect("PATH is set for tests");
    assert_eq!(field(&read, "value"), &Value::string(expected));
    assert_eq!(field(&read, "name"), &Value::string("PATH"));

    let unset = config("env.var", &[("name", Value::string("ORCH_TEST_SURELY_UNSET_7F3A"))]);
    let read = env.read(&ctx, "env.var", &unset).await.expect("read").expect("a value");
    assert_eq!(field(&read, "value"), &Value::None);

    let odd = config("env.var", &[("name", Value::string("A=B"))]);
    assert_eq!(env.validate("env.var", &odd).len(), 1);
    let read = env.read(&ctx, "env.var", &odd).await.expect("read").expect("a value");
    assert_eq!(field(&read, "value"), &Value::None);
}
