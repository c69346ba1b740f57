//! The `redis` provider (LANGUAGE.md §7; Terraform has no Redis provider):
//! ACL users, server configuration parameters and stream consumer groups.

use orch_stdlib::Ty;
use orch_stdlib::Value;
use orch_stdlib::kinds::{FieldSchema, KindSchema, empty_list};

pub(super) fn kinds() -> Vec<KindSchema> {
    vec![acl_user(), config(), stream_group()]
}

fn acl_user() -> KindSchema {
    KindSchema::resource(
        "redis.acl_user",
        "A Redis ACL user (`ACL SETUSER`). Every apply sets the whole user from scratch \
         (`reset` followed by the configured rules), so rules added by hand are removed; it is \
         read back with `ACL GETUSER`, and deleted with `ACL DELUSER`.",
        vec![
            FieldSchema::required(
                "name",
                Ty::String,
                "The user's name. Changing it replaces the user.",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "enabled",
                Ty::Bool,
                Value::Bool(true),
                "Whether the user may authenticate (`on`) or not (`off`).",
            ),
            FieldSchema::optional(
                "password",
                Ty::String,
                "The user's password. Only its SHA-256 hash reaches the server (`#<hash>`), and \
                 the hash read back with `ACL GETUSER` shows a password changed by hand as \
                 drift. Sensitive: never shown, and encrypted in state. Without it the user has \
                 no password and cannot authenticate with one (it is not `nopass`).",
            )
            .marked_sensitive(),
            FieldSchema::defaulted(
                "keys",
                Ty::list(Ty::String),
                empty_list(),
                "Key patterns the user may access, written without Redis's `~` prefix: \
                 `\"app:*\"`. Empty: no keys.",
            ),
            FieldSchema::defaulted(
                "channels",
                Ty::list(Ty::String),
                empty_list(),
                "Pub/Sub channel patterns the user may use, written without Redis's `&` \
                 prefix. Empty: no channels.",
            ),
            FieldSchema::defaulted(
                "commands",
                Ty::list(Ty::String),
                empty_list(),
                "Command rules as `ACL SETUSER` takes them, applied in order after `-@all`: \
                 `\"+get\"`, `\"+@read\"`, `\"-@dangerous\"`. Empty: no commands.",
            ),
            FieldSchema::output(
                "command_rules",
                Ty::String,
                "The command rules as the server reports them (`ACL GETUSER`), such as \
                 `-@all +get`: compared on every plan, so a change made by hand shows as drift.",
            ),
        ],
    )
    .with_identity(&["name"])
}

fn config() -> KindSchema {
    KindSchema::resource(
        "redis.config",
        "One server configuration parameter, set with `CONFIG SET` and read back with \
         `CONFIG GET`. The value found before the first set is recorded, and deleting the \
         resource sets it back.",
        vec![
            FieldSchema::required(
                "parameter",
                Ty::String,
                "The parameter's name, such as `maxmemory-policy` (no glob patterns). Changing \
                 it replaces the resource: the old parameter gets its original value back.",
            )
            .forcing_replacement(),
            FieldSchema::required(
                "value",
                Ty::String,
                "The value, as `CONFIG SET` takes it (`\"allkeys-lru\"`, `\"100mb\"`). Updated \
                 in place.",
            ),
            FieldSchema::output(
                "effective_value",
                Ty::String,
                "The value as `CONFIG GET` reports it after the set (`104857600` for \
                 `100mb`): compared on every plan, so a change made by hand shows as drift.",
            ),
            FieldSchema::output(
                "original_value",
                Ty::String,
                "The value the parameter had before Orch first set it, restored on delete.",
            ),
        ],
    )
    .with_identity(&["parameter"])
}

fn stream_group() -> KindSchema {
    KindSchema::resource(
        "redis.stream_group",
        "A consumer group of a Redis stream (`XGROUP CREATE`), read back with `XINFO GROUPS` \
         and deleted with `XGROUP DESTROY`. Imported as `STREAM/GROUP`.",
        vec![
            FieldSchema::required(
                "stream",
                Ty::String,
                "The stream's key. Changing it replaces the group.",
            )
            .forcing_replacement(),
            FieldSchema::required(
                "group",
                Ty::String,
                "The group's name. Changing it replaces the group.",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "start_id",
                Ty::String,
                Value::string("$"),
                "The ID the group starts reading after: `$` for new entries only, `0` for the \
                 whole stream. A change moves the group there (`XGROUP SETID`); entries read \
                 since creation are not drift.",
            ),
            FieldSchema::defaulted(
                "mkstream",
                Ty::Bool,
                Value::Bool(true),
                "Whether creating the group creates the stream when it does not exist \
                 (`MKSTREAM`); otherwise creating the group fails on a missing stream.",
            ),
        ],
    )
    .with_identity(&["stream", "group"])
}
