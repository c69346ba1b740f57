//! The `exec` provider: shell commands run as resources.

use orch_stdlib::Ty;
use orch_stdlib::kinds::{FieldSchema, KindSchema, empty_map};

pub(super) fn kinds() -> Vec<KindSchema> {
    vec![run()]
}

fn run() -> KindSchema {
    KindSchema::resource(
        "exec.run",
        "Runs shell commands as a resource: `create` once when the resource is created, \
         `update` when its inputs change, `destroy` when it is deleted. The output of the \
         last command is kept in state. A failed `create` leaves the resource tainted, to be \
         replaced on the next apply. Pass values to the commands through `env` rather than \
         splicing them into the command text, which would break on quotes and leak secrets \
         into process listings.",
        vec![
            FieldSchema::required(
                "create",
                Ty::String,
                "The command that creates the object, run by `/bin/sh -c`. A non-zero exit \
                 status fails the resource.",
            ),
            FieldSchema::optional(
                "update",
                Ty::String,
                "The command run by `/bin/sh -c`, in place of a replacement, when `create`, \
                 `dir` or `env` change. Without it, such a change replaces the resource \
                 (`destroy` runs, then `create`). A change to `update` or `destroy` alone runs \
                 nothing.",
            ),
            FieldSchema::optional(
                "destroy",
                Ty::String,
                "The command run by `/bin/sh -c` when the resource is deleted or replaced. \
                 Without it, deleting only forgets the resource.",
            ),
            FieldSchema::optional(
                "dir",
                Ty::String,
                "The working folder of the commands (relative to the root module's folder); by \
                 default, the root module's folder.",
            ),
            FieldSchema::defaulted(
                "env",
                Ty::map(Ty::String),
                empty_map(),
                "Environment variables added to the commands' environment. Plain values are \
                 shown and stored as they are; a secret value stays secret, and wherever it \
                 appears in `stdout` and `stderr` it is replaced by `(secret)`. A secret of \
                 fewer than 4 characters cannot be masked without garbling the output, so it \
                 makes `stdout` and `stderr` secret as a whole.",
            )
            .keeping_secrets(),
            FieldSchema::defaulted(
                "triggers",
                Ty::map(Ty::String),
                empty_map(),
                "Arbitrary values whose change replaces the resource: `destroy` runs, then \
                 `create` again. Use it to re-run a command when something it reads changes.",
            )
            .forcing_replacement(),
            FieldSchema::output(
                "stdout",
                Ty::String,
                "What the last command wrote to standard output.",
            ),
            FieldSchema::output(
                "stderr",
                Ty::String,
                "What the last command wrote to standard error.",
            ),
            FieldSchema::output("exit_code", Ty::Int, "The exit status of the last command."),
        ],
    )
}
