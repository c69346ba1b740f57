//! The `rabbitmq` provider: virtual hosts, users, permissions, exchanges,
//! queues, bindings and policies, following Terraform's RabbitMQ provider
//! (cyrilgdn/rabbitmq), through the management HTTP API. What the server
//! cannot change in place (an exchange's or a queue's properties, a
//! binding) forces a replacement.

use orch_stdlib::Ty;
use orch_stdlib::Value;
use orch_stdlib::kinds::{FieldSchema, KindSchema, empty_list, empty_map};

pub(super) fn kinds() -> Vec<KindSchema> {
    vec![vhost(), user(), permissions(), exchange(), queue(), binding(), policy()]
}

fn vhost_field(what: &'static str) -> FieldSchema {
    FieldSchema::defaulted("vhost", Ty::String, Value::string("/"), what).forcing_replacement()
}

fn vhost() -> KindSchema {
    KindSchema::resource(
        "rabbitmq.vhost",
        "A RabbitMQ virtual host. Deleting it deletes everything in it (exchanges, queues, \
         bindings, permissions, policies). Imported by its name.",
        vec![
            FieldSchema::required(
                "name",
                Ty::String,
                "The virtual host's name, such as `/` or `app`. Changing it replaces the virtual \
                 host.",
            )
            .forcing_replacement(),
        ],
    )
    .with_identity(&["name"])
}

fn user() -> KindSchema {
    KindSchema::resource(
        "rabbitmq.user",
        "A RabbitMQ user. The password and tags are updated in place. Imported by its name \
         (the password is then unknown to Orch and set on the next apply).",
        vec![
            FieldSchema::required(
                "name",
                Ty::String,
                "The user's name. Changing it replaces the user.",
            )
            .forcing_replacement(),
            FieldSchema::required(
                "password",
                Ty::String,
                "The user's password. It is sent as a salted SHA-256 hash computed on the client \
                 (`rabbit_password_hashing_sha256`), so the password itself never reaches the \
                 server. Read back checks the configured password against the server's hash, so \
                 a password changed by hand shows as drift (the hash, like the password, is never \
                 shown). Sensitive: never shown, and encrypted in state.",
            )
            .marked_sensitive(),
            FieldSchema::defaulted(
                "tags",
                Ty::list(Ty::String),
                empty_list(),
                "The user's tags, such as `[\"administrator\"]`, `[\"management\"]` or \
                 `[\"monitoring\"]`; the order does not matter.",
            ),
        ],
    )
    .with_identity(&["name"])
}

fn permissions() -> KindSchema {
    KindSchema::resource(
        "rabbitmq.permissions",
        "The permissions of a user in a virtual host: three regular expressions over the names \
         of the resources the user may configure, write to and read from. Updated in place. \
         Imported as `USER@VHOST`.",
        vec![
            FieldSchema::required(
                "user",
                Ty::String,
                "The user the permissions are for. Changing it replaces the permissions.",
            )
            .forcing_replacement(),
            vhost_field(
                "The virtual host the permissions apply in. Changing it replaces the permissions.",
            ),
            FieldSchema::defaulted(
                "configure",
                Ty::String,
                Value::string(".*"),
                "A regular expression: the resources the user may create, delete and change. \
                 `\"\"` allows none.",
            ),
            FieldSchema::defaulted(
                "write",
                Ty::String,
                Value::string(".*"),
                "A regular expression: the resources the user may publish or bind to.",
            ),
            FieldSchema::defaulted(
                "read",
                Ty::String,
                Value::string(".*"),
                "A regular expression: the resources the user may consume or bind from.",
            ),
        ],
    )
    .with_identity(&["user", "vhost"])
}

fn exchange() -> KindSchema {
    KindSchema::resource(
        "rabbitmq.exchange",
        "A RabbitMQ exchange. RabbitMQ cannot change an exchange's properties, so changing any \
         field replaces the exchange (and the bindings to and from it). Imported as \
         `NAME@VHOST`.",
        vec![
            FieldSchema::required("name", Ty::String, "The exchange's name.").forcing_replacement(),
            vhost_field("The virtual host the exchange lives in."),
            FieldSchema::defaulted(
                "type",
                Ty::String,
                Value::string("direct"),
                "The exchange type: `direct`, `fanout`, `topic`, `headers`, or one a plugin \
                 adds (`x-consistent-hash`).",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "durable",
                Ty::Bool,
                Value::Bool(true),
                "Whether the exchange survives a restart of the server.",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "auto_delete",
                Ty::Bool,
                Value::Bool(false),
                "Whether the server deletes the exchange once its last binding is removed.",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "arguments",
                Ty::map(Ty::Any),
                empty_map(),
                "Optional arguments, such as `{ \"alternate-exchange\" = \"unrouted\" }`.",
            )
            .forcing_replacement(),
        ],
    )
    .with_identity(&["vhost", "name"])
}

fn queue() -> KindSchema {
    KindSchema::resource(
        "rabbitmq.queue",
        "A RabbitMQ queue. RabbitMQ cannot change a queue's properties, so changing any field \
         replaces the queue, and its messages are lost; use a `rabbitmq.policy` for settings \
         that must change in place. Imported as `NAME@VHOST`.",
        vec![
            FieldSchema::required("name", Ty::String, "The queue's name.").forcing_replacement(),
            vhost_field("The virtual host the queue lives in."),
            FieldSchema::defaulted(
                "durable",
                Ty::Bool,
                Value::Bool(true),
                "Whether the queue survives a restart of the server.",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "auto_delete",
                Ty::Bool,
                Value::Bool(false),
                "Whether the server deletes the queue once its last consumer unsubscribes.",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "arguments",
                Ty::map(Ty::Any),
                empty_map(),
                "Optional arguments, such as `{ \"x-queue-type\" = \"quorum\" }` or \
                 `{ \"x-message-ttl\" = 60000 }`.",
            )
            .forcing_replacement(),
        ],
    )
    .with_identity(&["vhost", "name"])
}

fn binding() -> KindSchema {
    KindSchema::resource(
        "rabbitmq.binding",
        "A binding from an exchange to a queue or to another exchange. A binding has no name \
         and cannot be changed: changing any field replaces it. Imported as \
         `VHOST/SOURCE/DESTINATION/DESTINATION_TYPE/PROPERTIES_KEY` (the virtual host `/` \
         written `%2F`), as Terraform's provider does.",
        vec![
            FieldSchema::required("source", Ty::String, "The exchange messages come from.")
                .forcing_replacement(),
            FieldSchema::required(
                "destination",
                Ty::String,
                "The queue or exchange messages are routed to.",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "destination_type",
                Ty::String,
                Value::string("queue"),
                "Whether `destination` is a `\"queue\"` or an `\"exchange\"`.",
            )
            .forcing_replacement(),
            vhost_field("The virtual host of the exchange and the destination."),
            FieldSchema::defaulted(
                "routing_key",
                Ty::String,
                Value::string(""),
                "The routing key (a pattern for topic exchanges).",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "arguments",
                Ty::map(Ty::Any),
                empty_map(),
                "Binding arguments, such as the header matches of a headers exchange.",
            )
            .forcing_replacement(),
            FieldSchema::output(
                "properties_key",
                Ty::String,
                "The key with which the management API names the binding among those with the \
                 same source and destination (made from the routing key and the arguments).",
            ),
        ],
    )
    .with_identity(&[
        "vhost",
        "source",
        "destination",
        "destination_type",
        "routing_key",
        "arguments",
    ])
}

fn policy() -> KindSchema {
    KindSchema::resource(
        "rabbitmq.policy",
        "A RabbitMQ policy: settings applied to the queues or exchanges whose names match a \
         pattern. Everything but the name and the virtual host is updated in place. Imported as \
         `NAME@VHOST`.",
        vec![
            FieldSchema::required(
                "name",
                Ty::String,
                "The policy's name. Changing it replaces the policy.",
            )
            .forcing_replacement(),
            vhost_field("The virtual host the policy applies in. Changing it replaces the policy."),
            FieldSchema::required(
                "pattern",
                Ty::String,
                "A regular expression over the names of the queues or exchanges it applies to.",
            ),
            FieldSchema::defaulted(
                "apply_to",
                Ty::String,
                Value::string("all"),
                "What the policy applies to: `\"all\"`, `\"exchanges\"` or `\"queues\"` \
                 (RabbitMQ 3.12 and later add `\"classic_queues\"`, `\"quorum_queues\"` and \
                 `\"streams\"`).",
            ),
            FieldSchema::defaulted(
                "priority",
                Ty::Int,
                Value::Int(0),
                "Of the policies matching a name, the one with the highest priority applies.",
            ),
            FieldSchema::required(
                "definition",
                Ty::map(Ty::Any),
                "The settings, such as `{ \"max-length\" = 1000, \"ha-mode\" = \"all\" }`.",
            ),
        ],
    )
    .with_identity(&["vhost", "name"])
}
