//! The `nats` provider: JetStream streams, consumers and key-value buckets,
//! following Terraform's JetStream provider (nats-io/jetstream).

use std::sync::Arc;

use smol_str::SmolStr;

use orch_stdlib::Ty;
use orch_stdlib::Value;
use orch_stdlib::kinds::{FieldSchema, KindSchema};

pub(super) fn kinds() -> Vec<KindSchema> {
    vec![stream(), consumer(), kv_bucket()]
}

/// JetStream's storage types.
const STORAGE: &[&str] = &["file", "memory"];
/// Stream retention policies.
const RETENTION: &[&str] = &["limits", "interest", "workqueue"];
/// What a full stream discards.
const DISCARD: &[&str] = &["old", "new"];
/// Consumer acknowledgement policies.
const ACK_POLICY: &[&str] = &["explicit", "all", "none"];
/// Where a consumer starts delivering.
const DELIVER_POLICY: &[&str] = &["all", "last", "new", "last_per_subject"];

fn one_of(members: &[&str]) -> Ty {
    let members: Arc<[SmolStr]> = members.iter().map(SmolStr::new).collect();
    Ty::Enum(members)
}

fn stream() -> KindSchema {
    KindSchema::resource(
        "nats.stream",
        "A JetStream stream, created and updated through the JetStream API and read back \
         from its configuration (`STREAM.INFO`); fields Orch does not manage keep the \
         server's values.",
        vec![
            FieldSchema::required(
                "name",
                Ty::String,
                "The stream's name. Changing it replaces the stream.",
            )
            .forcing_replacement(),
            FieldSchema::required(
                "subjects",
                Ty::list(Ty::String),
                "The subjects the stream captures (`orders.>`), in any order. Updated in place.",
            ),
            FieldSchema::defaulted(
                "storage",
                one_of(STORAGE),
                Value::string("file"),
                "Where messages are kept: `file` or `memory`. Changing it replaces the stream.",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "retention",
                one_of(RETENTION),
                Value::string("limits"),
                "When messages are removed: `limits` (by the limits below), `interest` (once \
                 every consumer acknowledged them) or `workqueue` (once one did). Changing it \
                 replaces the stream.",
            )
            .forcing_replacement(),
            FieldSchema::optional(
                "max_age",
                Ty::Duration,
                "The oldest a message may get (`7d`); without it, messages do not expire.",
            ),
            FieldSchema::optional(
                "max_bytes",
                Ty::Int,
                "The most bytes the stream keeps; without it, no limit.",
            ),
            FieldSchema::optional(
                "max_msgs",
                Ty::Int,
                "The most messages the stream keeps; without it, no limit.",
            ),
            FieldSchema::defaulted(
                "replicas",
                Ty::Int,
                Value::Int(1),
                "How many servers keep a copy of the stream (1 to 5).",
            ),
            FieldSchema::defaulted(
                "discard",
                one_of(DISCARD),
                Value::string("old"),
                "What a full stream does with a new message: `old` discards the oldest \
                 messages, `new` refuses the new one.",
            ),
        ],
    )
    .with_identity(&["name"])
}

fn consumer() -> KindSchema {
    KindSchema::resource(
        "nats.consumer",
        "A durable JetStream pull consumer of a stream, read back from its configuration \
         (`CONSUMER.INFO`). Imported as `STREAM/DURABLE`.",
        vec![
            FieldSchema::required(
                "stream",
                Ty::String,
                "The stream the consumer reads. Changing it replaces the consumer.",
            )
            .forcing_replacement(),
            FieldSchema::required(
                "durable",
                Ty::String,
                "The consumer's durable name. Changing it replaces the consumer.",
            )
            .forcing_replacement(),
            FieldSchema::optional(
                "filter_subject",
                Ty::String,
                "Only messages on this subject (wildcards allowed) are delivered; without it, \
                 every message of the stream.",
            ),
            FieldSchema::defaulted(
                "ack_policy",
                one_of(ACK_POLICY),
                Value::string("explicit"),
                "How messages are acknowledged: `explicit` (each one), `all` (one \
                 acknowledges those before it) or `none`.",
            ),
            FieldSchema::defaulted(
                "deliver_policy",
                one_of(DELIVER_POLICY),
                Value::string("all"),
                "Where delivery starts: `all`, `last`, `new` or `last_per_subject`. Changing it \
                 replaces the consumer.",
            )
            .forcing_replacement(),
            FieldSchema::optional(
                "max_deliver",
                Ty::Int,
                "How many times a message is delivered at most; without it, no limit.",
            ),
            FieldSchema::optional(
                "ack_wait",
                Ty::Duration,
                "How long the server waits for an acknowledgement before delivering again; \
                 without it, the server's default (30 s).",
            ),
        ],
    )
    .with_identity(&["stream", "durable"])
}

fn kv_bucket() -> KindSchema {
    KindSchema::resource(
        "nats.kv_bucket",
        "A JetStream key-value bucket (the stream `KV_<name>`), read back from its stream's \
         configuration.",
        vec![
            FieldSchema::required(
                "name",
                Ty::String,
                "The bucket's name. Changing it replaces the bucket.",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "history",
                Ty::Int,
                Value::Int(1),
                "How many values are kept per key (1 to 64).",
            ),
            FieldSchema::optional(
                "ttl",
                Ty::Duration,
                "How long a value is kept (`1h`); without it, values do not expire.",
            ),
            FieldSchema::optional(
                "max_bytes",
                Ty::Int,
                "The most bytes the bucket keeps; without it, no limit.",
            ),
            FieldSchema::defaulted(
                "storage",
                one_of(STORAGE),
                Value::string("file"),
                "Where values are kept: `file` or `memory`. JetStream cannot change it in \
                 place, so a change replaces the bucket (its values are lost).",
            ),
        ],
    )
    .with_identity(&["name"])
}
