//! The RabbitMQ server of the end-to-end tests: `ORCH_TEST_RABBITMQ_URL`
//! (default: the local server's management API with `guest`). A test that
//! needs it fails when it cannot be reached, unless
//! `ORCH_TEST_SKIP_RABBITMQ=1` says to skip it.

#![allow(unused_imports, reason = "only tests/rabbitmq.rs uses the server")]

/// The rule and the management API helpers, written once for the workspace.
#[path = "../../../runtime/tests/common/rabbitmq.rs"]
mod rule;

pub(crate) use rule::{Rabbit, encode, server, unique};
