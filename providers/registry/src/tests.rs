//! Invariants of the registry and of every kind schema.

use std::sync::Arc;

use orch_stdlib::kinds::provider_of;
use orch_stdlib::{FieldSchema, KindSchema, Ty, Value};

use crate::plugins::{LoadedSchema, PluginSchema, install_plugin};
use crate::{BUILTIN, all_kinds, builtin, builtin_names, kinds, lookup_kind};

fn every_field() -> impl Iterator<Item = (&'static KindSchema, &'static FieldSchema)> {
    kinds().iter().flat_map(|kind| kind.fields.iter().map(move |field| (*kind, field)))
}

#[test]
fn builtin_providers_are_sorted_and_unique() {
    let names: Vec<&str> = builtin_names().collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(names, sorted);
    assert!(builtin("acme").is_none());
    for provider in BUILTIN {
        let instance = builtin(provider.name).expect(provider.name);
        assert_eq!(instance.name(), provider.name);
        assert_eq!((provider.new)().name(), provider.name);
    }
}

#[test]
fn every_provider_serves_its_own_kinds() {
    for provider in BUILTIN {
        let own = provider.kinds.all();
        assert!(!own.is_empty(), "{}: no kinds", provider.name);
        let instance = (provider.new)();
        for kind in own {
            assert_eq!(provider_of(kind.name), provider.name, "{}: prefix", kind.name);
            assert!(
                kind.name.len() > provider.name.len() + 1,
                "{}: a name after the prefix",
                kind.name
            );
            let served = instance.schema(kind.name).expect(kind.name);
            assert!(std::ptr::eq(served, kind), "{}: the provider's own schema", kind.name);
            let found = lookup_kind(kind.name).expect(kind.name);
            assert!(
                std::ptr::eq(found, kind),
                "{}: the registry serves the same schema",
                kind.name
            );
        }
        for other in kinds().iter().filter(|k| k.provider() != provider.name) {
            assert!(
                instance.schema(other.name).is_none(),
                "{} serves {}",
                provider.name,
                other.name
            );
        }
    }
}

#[test]
fn kind_names_are_sorted_and_unique() {
    let names: Vec<&str> = kinds().iter().map(|k| k.name).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(names, sorted);
    let per_provider: usize = BUILTIN.iter().map(|p| p.kinds.all().len()).sum();
    assert_eq!(names.len(), per_provider);
    for kind in kinds() {
        let mut fields: Vec<&str> = kind.fields.iter().map(|f| f.name).collect();
        fields.sort_unstable();
        fields.dedup();
        assert_eq!(fields.len(), kind.fields.len(), "{}: duplicate field", kind.name);
    }
    for name in ["env.var", "fs.read", "http.get"] {
        assert!(lookup_kind(name).expect(name).data, "{name} is a data kind");
    }
    assert!(!lookup_kind("pg.role").expect("pg.role").data);
    assert!(lookup_kind("pg.nothing").is_none());
}

#[test]
fn plugin_kinds_are_served_like_builtin_ones() {
    let bucket = KindSchema::resource(
        "registrytest.bucket",
        "A bucket.",
        vec![FieldSchema::required("name", Ty::String, "The bucket's name.")],
    );
    let provider = KindSchema::resource("registrytest", "The provider.", Vec::new());
    let schema = LoadedSchema { provider, kinds: vec![bucket] };
    install_plugin("registrytest", PluginSchema::Loaded(Arc::new(schema)));
    let found = lookup_kind("registrytest.bucket").expect("the plugin kind");
    assert_eq!(found.field("name").map(|f| f.name), Some("name"));
    assert!(kinds().iter().all(|k| k.name != "registrytest.bucket"), "not a built-in kind");
    let all: Vec<&str> = all_kinds().iter().map(|k| k.name).collect();
    assert!(all.contains(&"registrytest.bucket") && all.contains(&"pg.role"));
    let mut sorted = all.clone();
    sorted.sort_unstable();
    assert_eq!(all, sorted);
}

#[test]
fn everything_is_documented() {
    for kind in kinds() {
        assert!(kind.doc.ends_with('.'), "{}: kind doc", kind.name);
        assert!(!kind.fields.is_empty(), "{}: no fields", kind.name);
    }
    for (kind, field) in every_field() {
        assert!(
            field.doc.len() > 10 && field.doc.ends_with('.'),
            "{}.{}: doc",
            kind.name,
            field.name
        );
        assert!(!field.doc.contains("  "), "{}.{}: doc has a double space", kind.name, field.name);
    }
}

#[test]
fn flags_are_consistent() {
    for (kind, field) in every_field() {
        let at = format!("{}.{}", kind.name, field.name);
        if field.output {
            assert!(!field.required, "{at}: an output cannot be required");
            assert!(field.default.is_none(), "{at}: an output has no default");
            assert!(!field.forces_replacement, "{at}: an output cannot force replacement");
        }
        if field.required {
            assert!(field.default.is_none(), "{at}: a required field has no default");
        }
        assert!(!matches!(field.ty, Ty::Secret(_)), "{at}: use `sensitive`, not a secret type");
        if kind.data {
            assert!(!field.forces_replacement, "{at}: data kinds are never replaced");
        }
    }
}

#[test]
fn defaults_fit_their_fields() {
    for (kind, field) in every_field() {
        if let Some(default) = &field.default {
            let ty = default.type_of();
            // A string default of an enum field is one of its members.
            let member = match (&field.ty, default) {
                (Ty::Enum(members), Value::String(text)) => members.iter().any(|m| m == text),
                _ => false,
            };
            assert!(
                member || ty.assignable_to(&field.ty),
                "{}.{}: default of type {ty} does not fit {}",
                kind.name,
                field.name,
                field.ty
            );
        }
    }
}

#[test]
fn language_table_fields() {
    let field = |kind: &str, name: &str| lookup_kind(kind).and_then(|k| k.field(name)).expect(name);
    assert!(field("fs.file", "path").forces_replacement && field("fs.file", "path").required);
    assert_eq!(field("fs.file", "mode").default, Some(Value::Int(0o644)));
    assert_eq!(field("fs.dir", "mode").default, Some(Value::Int(0o755)));
    // `env` takes secrets but is not secret itself (LANGUAGE.md §7).
    assert!(field("exec.run", "env").keeps_secrets && !field("exec.run", "env").sensitive);
    assert!(field("exec.run", "triggers").forces_replacement);
    assert!(
        field("random.password", "result").sensitive && field("random.password", "result").output
    );
    assert!(!field("pg.database", "name").forces_replacement, "databases are renamed in place");
    for name in ["template", "encoding", "lc_collate", "lc_ctype"] {
        assert!(field("pg.database", name).forces_replacement, "pg.database.{name}");
    }
    assert!(field("pg.role", "password").sensitive);
    assert!(field("pg.schema", "database").forces_replacement);
    let grant = lookup_kind("pg.grant").expect("pg.grant");
    for f in grant.inputs() {
        assert_eq!(f.forces_replacement, f.name != "privileges", "pg.grant.{}", f.name);
    }
    assert_eq!(field("env.var", "value").ty, Ty::optional(Ty::String));
    assert!(field("rabbitmq.user", "password").sensitive);
    assert!(field("rabbitmq.binding", "properties_key").output);
    for kind in ["rabbitmq.exchange", "rabbitmq.queue", "rabbitmq.binding"] {
        for f in lookup_kind(kind).expect(kind).inputs() {
            assert!(f.forces_replacement, "{kind}.{}: cannot change in place", f.name);
        }
    }
    for name in ["pattern", "apply_to", "priority", "definition"] {
        assert!(!field("rabbitmq.policy", name).forces_replacement, "rabbitmq.policy.{name}");
    }
}

#[test]
fn instance_types() {
    let file = lookup_kind("fs.file").expect("fs.file");
    let Ty::Record(record) = file.instance_type() else { panic!("a record") };
    assert_eq!(record.name.as_deref(), Some("fs.file"));
    assert!(!record.field("content").expect("content").optional, "defaulted is present");
    assert!(!record.field("sha256").expect("sha256").optional);
    let run = lookup_kind("exec.run").expect("exec.run");
    let Ty::Record(record) = run.instance_type() else { panic!("a record") };
    assert!(record.field("update").expect("update").optional);
    // `env` keeps secrets without being secret: its plain values are
    // plain (the secret ones keep their mark in the value).
    assert!(!record.field("env").expect("env").ty.is_secret());
    let password = lookup_kind("random.password").expect("random.password");
    let Ty::Record(record) = password.instance_type() else { panic!("a record") };
    assert!(record.field("result").expect("result").ty.is_secret(), "sensitive is secret");
}

#[test]
fn providers() {
    assert_eq!(provider_of("fs.file"), "fs");
    assert_eq!(provider_of("acme.bucket.v2"), "acme");
    assert_eq!(provider_of("plain"), "plain");
    assert_eq!(lookup_kind("pg.role").expect("pg.role").provider(), "pg");
    assert!(FieldSchema::optional("x", Ty::Int, "X.").is_optional_input());
    assert!(!FieldSchema::output("x", Ty::Int, "X.").is_optional_input());
}
