//! The `http` provider: objects made by an HTTP request (`http.request`)
//! and URLs read as data (`http.get`).
//!
//! Every request can be cancelled ([`OpContext::cancel`]): it is then
//! abandoned and the operation fails. A refused connection, a timeout and
//! the statuses 408, 429 and 5xx are transient errors, worth retrying.
//! Secret values of a request (its URL, headers or body) never appear in a
//! message, and are replaced by `(secret)` where a response echoes them.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use orch_stdlib::Value;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, Url};

use orch_provider::REDACTED;
use orch_provider::{
    Change, OpContext, Planned, Provider, ProviderError, default_plan, field, inputs_of,
};

mod kinds;

use orch_provider::{Builtin, KindTable};
use orch_stdlib::kinds::KindSchema;

/// The `http` provider, as the registry (`orch-providers`) lists it.
pub const PROVIDER: Builtin =
    Builtin { name: "http", kinds: &KINDS, new: || Box::new(HttpProvider::default()) };

/// The kinds of the `http` provider ([`kinds`]).
static KINDS: KindTable = KindTable::new(kinds::kinds);

/// The methods a configuration may name.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/// The largest response body read: a body is kept in state.
const BODY_LIMIT: usize = 16 << 20;
/// How much of a response body a failure message quotes.
const MESSAGE_BODY: usize = 500;
/// How long connecting may take. The whole request has no limit of its
/// own: `@timeout` bounds it through the cancellation token.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The inputs that make up the creating request: a change to one of them
/// sends it again.
const REQUEST_INPUTS: [&str; 4] = ["url", "method", "headers", "body"];
const OUTPUTS: [&str; 3] = ["status", "response_body", "response_headers"];

#[derive(Debug, Default)]
pub struct HttpProvider {
    /// Made on first use, so that making the provider cannot fail.
    client: OnceLock<reqwest::Client>,
}

#[async_trait]
impl Provider for HttpProvider {
    fn name(&self) -> &'static str {
        "http"
    }

    fn schema(&self, kind: &str) -> Option<&'static KindSchema> {
        KINDS.get(kind)
    }

    fn import_refusal(&self, kind: &str) -> Option<String> {
        Some(format!(
            "an {kind} is a request Orch sends during apply, not an object that exists on its \
             own: there is nothing to read back by an id"
        ))
    }

    fn validate(&self, kind: &str, config: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        let urls: &[&str] = match kind {
            "http.request" => &["url", "read_url", "destroy_url"],
            "http.get" => &["url"],
            _ => return problems,
        };
        for name in urls {
            if let Value::String(url) = field(config, name).reveal().0
                && let Err(problem) = parse_url(url)
            {
                problems.push(format!("`{name}` {problem}"));
            }
        }
        if kind == "http.request" {
            for name in ["method", "destroy_method"] {
                if let Value::String(method) = field(config, name).reveal().0
                    && let Err(problem) = method_of(method)
                {
                    problems.push(format!("`{name}`: {problem}"));
                }
            }
            if let Value::List(statuses) = field(config, "expect_status").reveal().0 {
                for status in statuses.iter().filter_map(Value::as_int) {
                    if !(100..=599).contains(&status) {
                        problems.push(format!(
                            "`expect_status` holds {status}, which is not an HTTP status (100 to 599)"
                        ));
                    }
                }
            }
        }
        if let Value::Map(headers) = field(config, "headers").reveal().0 {
            for (name, value) in headers.iter() {
                if HeaderName::from_bytes(name.as_bytes()).is_err() {
                    problems.push(format!("`headers` names an invalid header {name:?}"));
                }
                if let Value::String(text) = value.reveal().0
                    && HeaderValue::from_str(text).is_err()
                {
                    problems.push(format!(
                        "the value of the header {name:?} holds characters a header cannot"
                    ));
                }
            }
        }
        problems
    }

    async fn read(
        &self,
        ctx: &OpContext,
        kind: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        match kind {
            "http.request" => self.read_request(ctx, prior).await,
            "http.get" => self.get(ctx, prior).await.map(Some),
            _ => Err(unknown_kind(kind)),
        }
    }

    fn plan(&self, kind: &str, prior: Option<&Value>, config: &Value) -> Planned {
        let mut planned = default_plan(self.schema(kind), prior, config);
        if let (Some(prior), "http.request") = (prior, kind) {
            let resent = REQUEST_INPUTS
                .iter()
                .any(|name| !field(prior, name).same_revealed(field(config, name)));
            if !resent {
                // Only how the object is read or deleted changed: nothing
                // is sent, and the response stays.
                planned.value = with_outputs_of(&planned.value, prior);
            }
        }
        planned
    }

    async fn apply(
        &self,
        ctx: &OpContext,
        kind: &str,
        change: Change<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        if kind != "http.request" {
            return Err(match kind {
                "http.get" => {
                    ProviderError::new("http.get is data: it is read, never created or changed")
                }
                _ => unknown_kind(kind),
            });
        }
        let inputs = |config| inputs_of(self.schema(kind), config);
        match change {
            Change::Create { config } => self.create(ctx, config).await.map(Some),
            Change::Update { prior, config } => {
                let resend = REQUEST_INPUTS
                    .iter()
                    .any(|name| !field(prior, name).same_revealed(field(config, name)));
                if resend {
                    self.create(ctx, config).await.map(Some)
                } else {
                    Ok(Some(with_outputs_of(&inputs(config), prior)))
                }
            }
            Change::Delete { prior } => self.delete(ctx, prior).await.map(|()| None),
        }
    }
}

impl HttpProvider {
    fn client(&self) -> Result<&reqwest::Client, ProviderError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("orch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| {
                ProviderError::new(format!("cannot set up the HTTP client: {}", chain(&error)))
            })?;
        Ok(self.client.get_or_init(|| client))
    }

    /// Sends the creating request of `config` and returns the object.
    async fn create(&self, ctx: &OpContext, config: &Value) -> Result<Value, ProviderError> {
        let method = field(config, "method").as_str().unwrap_or("POST");
        let request = Request::new(config, "url", method, field(config, "body"))?;
        let response = self.send(ctx, &request).await?;
        let expected = expected_statuses(config);
        if !expected.contains(&response.status) {
            let expected: Vec<String> = expected.iter().map(u16::to_string).collect();
            return Err(status_error(
                &request,
                &response,
                &format!("expected {}", expected.join(", ")),
            ));
        }
        let mut entries = match inputs_of(KINDS.get("http.request"), config) {
            Value::Map(entries) => entries.to_map(),
            _ => Default::default(),
        };
        entries.insert("status".into(), Value::Int(i64::from(response.status)));
        entries.insert("response_body".into(), Value::string(&response.body));
        entries.insert(
            "response_headers".into(),
            Value::map(
                response
                    .headers
                    .into_iter()
                    .map(|(name, value)| (name.into(), Value::string(value)))
                    .collect(),
            ),
        );
        Ok(Value::map(entries))
    }

    /// The object, if its `read_url` still finds it.
    async fn read_request(
        &self,
        ctx: &OpContext,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        if matches!(field(prior, "read_url"), Value::None) {
            return Ok(Some(prior.clone()));
        }
        let request = Request::new(prior, "read_url", "GET", &Value::None)?;
        let response = self.send(ctx, &request).await?;
        match response.status {
            404 | 410 => Ok(None),
            200..=399 => Ok(Some(prior.clone())),
            _ => Err(status_error(&request, &response, "reading the object back")),
        }
    }

    /// Sends the deleting request, if there is one. An object that is
    /// already gone (404, 410) counts as deleted.
    async fn delete(&self, ctx: &OpContext, prior: &Value) -> Result<(), ProviderError> {
        if matches!(field(prior, "destroy_url"), Value::None) {
            return Ok(());
        }
        let method = field(prior, "destroy_method").as_str().unwrap_or("DELETE");
        let request = Request::new(prior, "destroy_url", method, &Value::None)?;
        let response = self.send(ctx, &request).await?;
        match response.status {
            200..=399 | 404 | 410 => Ok(()),
            _ => Err(status_error(&request, &response, "deleting the object")),
        }
    }

    /// `http.get`: any status is a result.
    async fn get(&self, ctx: &OpContext, config: &Value) -> Result<Value, ProviderError> {
        let request = Request::new(config, "url", "GET", &Value::None)?;
        let response = self.send(ctx, &request).await?;
        let mut entries = match config {
            Value::Map(entries) => entries.to_map(),
            _ => Default::default(),
        };
        entries.insert("status".into(), Value::Int(i64::from(response.status)));
        entries.insert("body".into(), Value::string(response.body));
        Ok(Value::map(entries))
    }

    /// Sends `request` and reads its response, or gives up when the
    /// operation is cancelled.
    async fn send(&self, ctx: &OpContext, request: &Request) -> Result<Response, ProviderError> {
        let client = self.client()?;
        let mut builder = client.request(request.method.clone(), request.url.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name.clone(), value.clone());
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let exchange = async {
            let mut response = builder.send().await.map_err(|error| request.failed(error))?;
            let status = response.status().as_u16();
            let mut headers = BTreeMap::new();
            for (name, value) in response.headers() {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                headers
                    .entry(name.as_str().to_string())
                    .and_modify(|joined: &mut String| {
                        joined.push_str(", ");
                        joined.push_str(&value);
                    })
                    .or_insert(value);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|error| request.failed(error))? {
                if body.len() + chunk.len() > BODY_LIMIT {
                    return Err(ProviderError::new(format!(
                        "the response to the {} is larger than {} MiB",
                        request.shown,
                        BODY_LIMIT >> 20
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            let body = String::from_utf8_lossy(&body).into_owned();
            Ok(Response {
                status,
                body: request.redact(&body),
                headers: headers
                    .into_iter()
                    .map(|(name, value)| (name, request.redact(&value)))
                    .collect(),
            })
        };
        tokio::select! {
            () = ctx.cancel.cancelled() => {
                Err(ProviderError::new(format!("the {} was cancelled", request.shown)))
            }
            response = exchange => response,
        }
    }
}

fn unknown_kind(kind: &str) -> ProviderError {
    ProviderError::new(format!("the http provider has no kind {kind}"))
}

/// `object` with the outputs of `source`.
fn with_outputs_of(object: &Value, source: &Value) -> Value {
    let mut entries = match object {
        Value::Map(entries) => entries.to_map(),
        _ => Default::default(),
    };
    for name in OUTPUTS {
        entries.insert(name.into(), field(source, name).clone());
    }
    Value::map(entries)
}

/// A request ready to send.
struct Request {
    method: Method,
    url: Url,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<String>,
    /// How messages name it: "POST request to https://host/path", without
    /// credentials, or without the URL when it is secret.
    shown: String,
    /// The secret values sent, never to be shown.
    secrets: Vec<String>,
}

impl Request {
    /// The request `method` to the URL in the field `url_field` of
    /// `object`, with its `headers` and `body`.
    fn new(
        object: &Value,
        url_field: &str,
        method: &str,
        body: &Value,
    ) -> Result<Request, ProviderError> {
        let mut secrets = Vec::new();
        let mut reveal = |value: &Value| -> Option<String> {
            let (value, secret) = value.reveal();
            let text = value.reveal_all().to_interpolated()?;
            if secret && !text.is_empty() {
                secrets.push(text.clone());
            }
            Some(text)
        };
        let url_value = field(object, url_field);
        let url_is_secret = url_value.contains_secret();
        let url_text = match url_value.reveal().0 {
            Value::String(_) => reveal(url_value).unwrap_or_default(),
            Value::Unknown => {
                return Err(ProviderError::new(format!("`{url_field}` is not known yet")));
            }
            _ => return Err(ProviderError::new(format!("`{url_field}` must be a URL"))),
        };
        let url = parse_url(&url_text).map_err(|problem| {
            let shown = if url_is_secret { REDACTED.to_string() } else { url_text.clone() };
            ProviderError::new(format!("`{url_field}` {problem}: {shown}"))
        })?;
        let method = method_of(method).map_err(ProviderError::new)?;
        let mut headers = Vec::new();
        if let Value::Map(entries) = field(object, "headers").reveal().0 {
            for (name, value) in entries.iter() {
                let secret = value.contains_secret();
                let text = reveal(value).ok_or_else(|| {
                    ProviderError::new(format!("the header {name:?} is not known yet"))
                })?;
                let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                    ProviderError::new(format!("`headers` names an invalid header {name:?}"))
                })?;
                let mut header_value = HeaderValue::from_str(&text).map_err(|_| {
                    ProviderError::new(format!(
                        "the value of the header {name:?} holds characters a header cannot"
                    ))
                })?;
                header_value.set_sensitive(secret);
                headers.push((header_name, header_value));
            }
        }
        let body = match body {
            Value::None => None,
            body => Some(
                reveal(body)
                    .ok_or_else(|| ProviderError::new("the request's `body` is not known yet"))?,
            ),
        };
        let shown = if url_is_secret {
            format!("{method} request to {REDACTED}")
        } else {
            let mut shown = url.clone();
            let _ = shown.set_password(None);
            format!("{method} request to {shown}")
        };
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        Ok(Request { method, url, headers, body, shown, secrets })
    }

    /// `text` with every secret value of the request replaced.
    fn redact(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), REDACTED);
        }
        text
    }

    /// The error of a request that got no response.
    fn failed(&self, error: reqwest::Error) -> ProviderError {
        // Without the URL: the request is named already, and its URL may
        // be secret.
        let error = error.without_url();
        let message = self.redact(&format!("the {} failed: {}", self.shown, chain(&error)));
        // A refused or dropped connection and a timeout may well pass; a
        // bad URL or too many redirects will not.
        if error.is_connect() || error.is_timeout() || error.is_request() || error.is_body() {
            ProviderError::transient(message)
        } else {
            ProviderError::new(message)
        }
    }
}

/// A response, its body and headers already redacted.
struct Response {
    status: u16,
    body: String,
    /// Lower-case names; repeated headers joined with `, `.
    headers: BTreeMap<String, String>,
}

/// The error for a response with an unwanted status: transient for 408,
/// 429 and 5xx.
fn status_error(request: &Request, response: &Response, context: &str) -> ProviderError {
    let mut message =
        format!("the {} returned status {} ({context})", request.shown, response.status);
    let body = response.body.trim();
    if !body.is_empty() {
        let excerpt: String = body.chars().take(MESSAGE_BODY).collect();
        let more = if excerpt.len() < body.len() { " …" } else { "" };
        message.push_str(&format!(": {excerpt}{more}"));
    }
    if matches!(response.status, 408 | 429 | 500..=599) {
        ProviderError::transient(message)
    } else {
        ProviderError::new(message)
    }
}

/// `expect_status`, or its default.
fn expected_statuses(config: &Value) -> Vec<u16> {
    match field(config, "expect_status").reveal().0 {
        Value::List(items) => {
            items.iter().filter_map(|item| u16::try_from(item.as_int()?).ok()).collect()
        }
        _ => vec![200, 201, 204],
    }
}

fn parse_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|error| format!("is not a valid URL ({error})"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        scheme => Err(format!("must be an http or https URL, not {scheme}")),
    }
}

fn method_of(text: &str) -> Result<Method, String> {
    if METHODS.contains(&text) {
        return Method::from_bytes(text.as_bytes()).map_err(|error| error.to_string());
    }
    let upper = text.to_ascii_uppercase();
    if METHODS.contains(&upper.as_str()) {
        Err(format!("unknown HTTP method {text:?}: did you mean {upper:?}?"))
    } else {
        Err(format!("unknown HTTP method {text:?}: expected one of {}", METHODS.join(", ")))
    }
}

/// An error with its causes, as "outer: inner: innermost".
fn chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
