//! The `fs` provider: files and folders on the machine that runs `orchc`.

use orch_stdlib::Ty;
use orch_stdlib::Value;
use orch_stdlib::kinds::{FieldSchema, KindSchema};

pub(super) fn kinds() -> Vec<KindSchema> {
    vec![file(), dir(), read()]
}

fn file() -> KindSchema {
    KindSchema::resource(
        "fs.file",
        "A file with the given content and permissions. The parent folder must exist \
         (declare it with `fs.dir`). Refresh reads the file back, so an edit or a deletion \
         by hand shows as drift to undo.",
        vec![
            FieldSchema::required(
                "path",
                Ty::String,
                "Where the file lives: an absolute path, or relative to the root module's folder. \
                 Changing it creates the new file and deletes the old one.",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "content",
                Ty::String,
                Value::string(""),
                "The text written to the file (UTF-8). Changing it rewrites the file in place. \
                 It may hold a secret (a configuration file with a password): the content, its \
                 `sha256` and `size` are then secret, sealed in the state and shown as `(secret)`; \
                 give such a file a private `mode`.",
            )
            .keeping_secrets(),
            FieldSchema::defaulted(
                "mode",
                Ty::Int,
                Value::Int(0o644),
                "The permission bits, written in octal: `0o644` lets the owner write and \
                 everyone read, `0o600` hides the file from others.",
            )
            .shown_in_octal(),
            FieldSchema::output(
                "sha256",
                Ty::String,
                "The SHA-256 of the content, in lowercase hexadecimal (as `sha256(content)`).",
            ),
            FieldSchema::output("size", Ty::Int, "The size of the file in bytes."),
        ],
    )
    .with_identity(&["path"])
}

fn dir() -> KindSchema {
    KindSchema::resource(
        "fs.dir",
        "A folder, created with its missing parents. Deleting it removes the folder only if \
         it is empty, so files that Orch does not manage are never lost.",
        vec![
            FieldSchema::required(
                "path",
                Ty::String,
                "Where the folder lives: an absolute path, or relative to the root module's \
                 folder. Changing it creates the new folder and deletes the old one.",
            )
            .forcing_replacement(),
            FieldSchema::defaulted(
                "mode",
                Ty::Int,
                Value::Int(0o755),
                "The permission bits, written in octal: `0o755` lets the owner write and \
                 everyone list and enter the folder.",
            )
            .shown_in_octal(),
        ],
    )
    .with_identity(&["path"])
}

fn read() -> KindSchema {
    KindSchema::data(
        "fs.read",
        "Reads a text file. Unlike the `file` function, which reads at plan time relative to \
         the module, `fs.read` is read when its inputs are known, so it can read a file that \
         another resource writes during apply.",
        vec![
            FieldSchema::required(
                "path",
                Ty::String,
                "The file to read: an absolute path, or relative to the root module's folder. \
                 It must hold UTF-8 text.",
            ),
            FieldSchema::output("content", Ty::String, "The text of the file."),
            FieldSchema::output(
                "sha256",
                Ty::String,
                "The SHA-256 of the file's bytes, in lowercase hexadecimal.",
            ),
        ],
    )
}
