//! The `http` provider: remote objects managed through HTTP calls.

use orch_stdlib::Ty;
use orch_stdlib::Value;
use orch_stdlib::kinds::{FieldSchema, KindSchema, empty_map};

pub(super) fn kinds() -> Vec<KindSchema> {
    vec![request(), get()]
}

fn request() -> KindSchema {
    KindSchema::resource(
        "http.request",
        "An object created by an HTTP request, read back with `read_url` and deleted with \
         `destroy_url`. A response status outside `expect_status` fails the resource.",
        vec![
            FieldSchema::required("url", Ty::String, "The URL the creating request is sent to."),
            FieldSchema::defaulted(
                "method",
                Ty::String,
                Value::string("POST"),
                "The method of the creating request, such as `POST` or `PUT`.",
            ),
            FieldSchema::defaulted(
                "headers",
                Ty::map(Ty::String),
                empty_map(),
                "Headers sent with every request of this resource (create, read and destroy).",
            ),
            FieldSchema::optional(
                "body",
                Ty::String,
                "The body of the creating request; use `json_encode` to send JSON.",
            ),
            FieldSchema::defaulted(
                "expect_status",
                Ty::list(Ty::Int),
                Value::list(vec![Value::Int(200), Value::Int(201), Value::Int(204)]),
                "The response statuses that count as success.",
            ),
            FieldSchema::optional(
                "read_url",
                Ty::String,
                "A URL that a `GET` reads the object from on refresh. A `404` there means the \
                 object is gone and will be created again. Without it, the object is never \
                 read back.",
            ),
            FieldSchema::optional(
                "destroy_url",
                Ty::String,
                "The URL a request is sent to when the resource is deleted. Without it, \
                 deleting only forgets the object.",
            ),
            FieldSchema::defaulted(
                "destroy_method",
                Ty::String,
                Value::string("DELETE"),
                "The method of the deleting request.",
            ),
            FieldSchema::output(
                "status",
                Ty::Int,
                "The status of the creating request's response.",
            ),
            FieldSchema::output(
                "response_body",
                Ty::String,
                "The body of the creating request's response (decode JSON with `json_decode`). \
                 Named `response_body` because `body` is the request's.",
            ),
            FieldSchema::output(
                "response_headers",
                Ty::map(Ty::String),
                "The headers of the creating request's response, with lower-case names.",
            ),
        ],
    )
}

fn get() -> KindSchema {
    KindSchema::data(
        "http.get",
        "Reads a URL with a `GET` request. Any status is returned rather than failing, so the \
         configuration can `assert` on it.",
        vec![
            FieldSchema::required("url", Ty::String, "The URL to read."),
            FieldSchema::defaulted(
                "headers",
                Ty::map(Ty::String),
                empty_map(),
                "Headers sent with the request.",
            ),
            FieldSchema::output("status", Ty::Int, "The status of the response."),
            FieldSchema::output(
                "body",
                Ty::String,
                "The body of the response (decode JSON with `json_decode`).",
            ),
        ],
    )
}
