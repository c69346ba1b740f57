//! The management HTTP API: where it is, who the provider is there, and one
//! request at a time, with the server's errors turned into provider errors.

use std::time::Duration;

use orch_stdlib::Value;
use reqwest::{Method, StatusCode, Url};

use orch_provider::{ProviderError, field};

/// How long connecting to the management API may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take (`@timeout` bounds the operation as well).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The endpoint when the provider block names none.
pub(super) const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:15672";

/// Where the API is and whom to log in as.
#[derive(Clone)]
pub(super) struct Settings {
    /// The endpoint without credentials; `/api/…` is appended to its path.
    endpoint: Url,
    username: String,
    password: String,
}

impl Settings {
    /// Settings from `provider rabbitmq { endpoint, username, password }`.
    /// The endpoint defaults to the local server (or `RABBITMQ_ENDPOINT`);
    /// the credentials come from the block, then from credentials written in
    /// the endpoint (`http://user:pass@host:15672`), then from
    /// `RABBITMQ_USERNAME` and `RABBITMQ_PASSWORD`, as Terraform's provider.
    pub(super) fn from_config(block: &Value) -> Result<Settings, String> {
        let text = |name: &str| -> Result<Option<String>, String> {
            match field(block, name).reveal().0 {
                Value::None => Ok(None),
                Value::String(text) => Ok(Some(text.to_string())),
                other => Err(format!(
                    "the rabbitmq provider's `{name}` must be a string, not {}",
                    other.kind_name()
                )),
            }
        };
        let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let endpoint = text("endpoint")?
            .or_else(|| env("RABBITMQ_ENDPOINT"))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let mut url = Url::parse(&endpoint).map_err(|error| {
            format!("the rabbitmq provider's `endpoint` is not a valid URL ({error})")
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(format!(
                "the rabbitmq provider's `endpoint` must be an http or https URL of the \
                 management API, such as {DEFAULT_ENDPOINT}, not a {} URL",
                url.scheme()
            ));
        }
        let decode = |part: &str| {
            percent_decode(part).ok_or_else(|| {
                "the rabbitmq provider's `endpoint` has credentials that are not UTF-8".to_string()
            })
        };
        let url_user = (!url.username().is_empty()).then(|| decode(url.username())).transpose()?;
        let url_password = url.password().map(decode).transpose()?;
        // Credentials never stay in the URL, which appears in messages.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let username = text("username")?.or(url_user).or_else(|| env("RABBITMQ_USERNAME"));
        let password = text("password")?.or(url_password).or_else(|| env("RABBITMQ_PASSWORD"));
        let (Some(username), Some(password)) = (username, password) else {
            return Err("the rabbitmq provider needs a user to log in as: set `username` and \
                        `password` in `provider rabbitmq { … }` (or RABBITMQ_USERNAME and \
                        RABBITMQ_PASSWORD)"
                .to_string());
        };
        Ok(Settings { endpoint: url, username, password })
    }

    /// `the RabbitMQ management API at URL as USER`, for messages.
    pub(super) fn describe(&self) -> String {
        format!("the RabbitMQ management API at {} as {}", self.endpoint, self.username)
    }
}

/// `%XX` sequences decoded, as URL credentials are written.
pub(super) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A client of the API with its settings.
pub(super) struct Api {
    settings: Settings,
    client: reqwest::Client,
}

/// What a request got back: the decoded JSON body, or nothing (404).
pub(super) enum Answer {
    Found(serde_json::Value),
    NotFound,
}

impl Api {
    pub(super) fn new(settings: Settings) -> Result<Api, ProviderError> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("orch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| {
                ProviderError::new(format!("cannot set up the HTTP client: {}", chain(&error)))
            })?;
        Ok(Api { settings, client })
    }

    /// `ENDPOINT/api/SEGMENTS…`, each segment percent-encoded (a virtual
    /// host `/` is `%2F`).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.settings.endpoint.clone();
        {
            let mut path = url.path_segments_mut().expect("the endpoint was checked to be a base");
            path.pop_if_empty().push("api").extend(segments);
        }
        url
    }

    /// Sends one request; `action` ("creating queue jobs in vhost /") starts
    /// every error message.
    pub(super) async fn call(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&serde_json::Value>,
        action: &str,
    ) -> Result<Answer, ProviderError> {
        let url = self.url(segments);
        let mut request = self
            .client
            .request(method, url)
            .basic_auth(&self.settings.username, Some(&self.settings.password));
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(body).unwrap_or_default());
        }
        let response = request.send().await.map_err(|error| {
            let error = error.without_url();
            let message =
                format!("{action}: cannot reach {}: {}", self.settings.describe(), chain(&error));
            if error.is_builder() {
                ProviderError::new(message)
            } else {
                ProviderError::transient(message)
            }
        })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|error| {
            ProviderError::transient(format!(
                "{action}: the answer of {} broke off: {}",
                self.settings.describe(),
                chain(&error.without_url())
            ))
        })?;
        if status == StatusCode::NOT_FOUND {
            return Ok(Answer::NotFound);
        }
        if status.is_success() {
            if bytes.is_empty() {
                return Ok(Answer::Found(serde_json::Value::Null));
            }
            return serde_json::from_slice(&bytes).map(Answer::Found).map_err(|error| {
                ProviderError::new(format!(
                    "{action}: {} answered with something that is not JSON ({error})",
                    self.settings.describe()
                ))
            });
        }
        Err(status_error(action, status, &bytes, &self.settings))
    }

    /// GET, which must find the object; `None` when it does not exist.
    pub(super) async fn get(
        &self,
        segments: &[&str],
        action: &str,
    ) -> Result<Option<serde_json::Value>, ProviderError> {
        match self.call(Method::GET, segments, None, action).await? {
            Answer::Found(json) => Ok(Some(json)),
            Answer::NotFound => Ok(None),
        }
    }

    /// PUT or POST that must succeed.
    pub(super) async fn send(
        &self,
        method: Method,
        segments: &[&str],
        body: &serde_json::Value,
        action: &str,
    ) -> Result<(), ProviderError> {
        match self.call(method, segments, Some(body), action).await? {
            Answer::Found(_) => Ok(()),
            // The virtual host (or the exchange of a binding) is missing.
            Answer::NotFound => Err(ProviderError::new(format!(
                "{action}: the server answered 404 Not Found (does the virtual host exist?)"
            ))),
        }
    }

    /// DELETE; an object that is gone already is deleted.
    pub(super) async fn delete(
        &self,
        segments: &[&str],
        action: &str,
    ) -> Result<(), ProviderError> {
        self.call(Method::DELETE, segments, None, action).await.map(drop)
    }

    /// Checks that the API answers and accepts the credentials.
    pub(super) async fn whoami(&self) -> Result<(), ProviderError> {
        let action = format!("connecting to {}", self.settings.describe());
        match self.get(&["whoami"], &action).await? {
            Some(_) => Ok(()),
            None => Err(ProviderError::new(format!(
                "{action}: there is no management API there (404 Not Found)"
            ))),
        }
    }
}

/// The error of an answer with a failure status: the server's own
/// `error` and `reason`; transient for 408, 429, 502–504 and 503.
fn status_error(
    action: &str,
    status: StatusCode,
    body: &[u8],
    settings: &Settings,
) -> ProviderError {
    let reason = serde_json::from_slice::<serde_json::Value>(body).ok().and_then(|json| {
        let reason = json.get("reason").and_then(|r| r.as_str()).map(str::to_string);
        let error = json.get("error").and_then(|e| e.as_str()).map(str::to_string);
        match (error, reason) {
            (Some(error), Some(reason)) if error != reason => Some(format!("{error}: {reason}")),
            (_, Some(text)) | (Some(text), None) => Some(text),
            (None, None) => None,
        }
    });
    let reason = reason.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        text.trim().chars().take(300).collect()
    });
    let mut message = format!("{action}: the server answered {status}");
    if !reason.is_empty() {
        message.push_str(": ");
        message.push_str(&reason);
    }
    if status == StatusCode::UNAUTHORIZED {
        message.push_str(&format!(
            " (check the username and password of the rabbitmq provider; it logs in to {})",
            settings.describe()
        ));
    }
    if matches!(status.as_u16(), 408 | 429 | 500..=599) {
        ProviderError::transient(message)
    } else {
        ProviderError::new(message)
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
