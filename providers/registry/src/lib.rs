//! The built-in providers: `fs`, `exec`, `http`, `random`, `core`, `env`,
//! `pg`, `mysql`, `rabbitmq`, `redis` and `nats`.

pub mod core;
pub mod env;
pub mod exec;
pub mod fs;
pub mod http;
pub mod mysql;
pub mod nats;
mod object_fields;
pub mod pg;
pub mod rabbitmq;
pub mod random;
pub mod redis;

use crate::provider::Provider;

/// The names of the built-in providers.
pub const BUILTIN: &[&str] =
    &["core", "env", "exec", "fs", "http", "mysql", "nats", "pg", "rabbitmq", "random", "redis"];

/// A new, not yet configured instance of the built-in provider `name`.
pub fn builtin(name: &str) -> Option<Box<dyn Provider>> {
    Some(match name {
        "core" => Box::new(core::CoreProvider),
        "env" => Box::new(env::EnvProvider),
        "exec" => Box::new(exec::ExecProvider),
        "fs" => Box::new(fs::FsProvider),
        "http" => Box::new(http::HttpProvider::default()),
        "mysql" => Box::new(mysql::MysqlProvider::default()),
        "nats" => Box::new(nats::NatsProvider::default()),
        "pg" => Box::new(pg::PgProvider::default()),
        "rabbitmq" => Box::new(rabbitmq::RabbitMqProvider::default()),
        "random" => Box::new(random::RandomProvider),
        "redis" => Box::new(redis::RedisProvider::default()),
        _ => return None,
    })
}
