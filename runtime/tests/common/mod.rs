//! Helpers shared by the runtime's test files.

#![allow(dead_code, reason = "each test file uses a different part of this module")]

pub(crate) mod mysql;
pub(crate) mod nats;
pub(crate) mod pg;
pub(crate) mod rabbitmq;
pub(crate) mod redis;
pub(crate) mod values;
