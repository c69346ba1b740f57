//! The framing of messages, in front of `tower-lsp-server`.
//!
//! `tower-lsp-server` stops reading at the first message it cannot decode:
//! it answers that one and then treats its input as ended, so one malformed
//! message used to end the whole server. Every message from the client
//! therefore passes through [`read_input`] first, which does the
//! `Content-Length` framing itself and checks each body the way the
//! server's decoder would: a message the server can decode is passed on
//! unchanged, and any other is answered here with the JSON-RPC error the
//! specification asks for (`-32700` for what is not JSON, `-32600` for JSON
//! that is no request, response or notification, with the request's id
//! when it has a usable one), logged on standard error, and skipped.
//!
//! Limits keep a hostile client from exhausting memory: a header section
//! of at most [`MAX_HEADER`] bytes and a body of at most [`MAX_MESSAGE`];
//! a larger body is read and thrown away without being kept.
//!
//! The server's own responses and the error replies written here share the
//! one output, so [`write_output`] writes whole frames only.

use std::borrow::Cow;

use serde_json::Value;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt,
};
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Id, Request, Response};

/// The largest message body accepted, in bytes (64 MiB).
pub const MAX_MESSAGE: usize = 64 << 20;

/// The largest header section accepted, in bytes.
pub const MAX_HEADER: usize = 8 << 10;

/// What was wrong with a message that is not passed on.
#[derive(Debug, Clone, PartialEq)]
pub enum Malformed {
    /// A header section without a `Content-Length` header.
    MissingLength,
    /// A `Content-Length` whose value is not a number of bytes.
    BadLength(String),
    /// Lines that are not headers before the header section's end.
    NotAHeader,
    /// A header section longer than [`MAX_HEADER`].
    HeaderTooLong,
    /// A body longer than [`MAX_MESSAGE`].
    TooLarge(usize),
    /// A body that is not UTF-8.
    NotUtf8,
    /// A body that is not JSON.
    NotJson(String),
    /// A JSON array: a batch, which the protocol does not use.
    Batch,
    /// JSON that is no JSON-RPC 2.0 request, notification or response.
    NotJsonRpc {
        /// The message's id, when it has one a response can carry.
        id: Option<Id>,
        /// Why it is not one.
        why: String,
    },
}

impl Malformed {
    /// The JSON-RPC error code that answers it.
    pub fn code(&self) -> ErrorCode {
        match self {
            Malformed::MissingLength
            | Malformed::BadLength(_)
            | Malformed::NotAHeader
            | Malformed::HeaderTooLong
            | Malformed::NotUtf8
            | Malformed::NotJson(_) => ErrorCode::ParseError,
            Malformed::TooLarge(_) | Malformed::Batch | Malformed::NotJsonRpc { .. } => {
                ErrorCode::InvalidRequest
            }
        }
    }

    /// What was wrong, for the error's message and the log.
    pub fn describe(&self) -> String {
        match self {
            Malformed::MissingLength => "the header section has no Content-Length header".into(),
            Malformed::BadLength(value) => {
                format!("the Content-Length header `{value}` is not a number of bytes")
            }
            Malformed::NotAHeader => "a line before the message is not a header".into(),
            Malformed::HeaderTooLong => {
                format!("the header section is longer than {MAX_HEADER} bytes")
            }
            Malformed::TooLarge(length) => format!(
                "the message has {length} bytes, more than the limit of {MAX_MESSAGE}; it was skipped"
            ),
            Malformed::NotUtf8 => "the message is not valid UTF-8".into(),
            Malformed::NotJson(error) => format!("the message is not JSON: {error}"),
            Malformed::Batch => "batches (JSON arrays) are not part of the protocol".into(),
            Malformed::NotJsonRpc { why, .. } => {
                format!("the message is no JSON-RPC 2.0 request, notification or response: {why}")
            }
        }
    }

    /// The response that answers it.
    pub fn response(&self) -> Response {
        let id = match self {
            Malformed::NotJsonRpc { id: Some(id), .. } => id.clone(),
            _ => Id::Null,
        };
        let code = self.code();
        let message = format!("{}: {}", code.description(), self.describe());
        Response::from_error(id, Error { code, message: Cow::Owned(message), data: None })
    }
}

/// One step of reading the input.
#[derive(Debug)]
pub enum Incoming {
    /// A body the server can decode.
    Message(Vec<u8>),
    /// Something to answer with an error and skip.
    Malformed(Malformed),
    /// The input ended.
    End,
}

/// Frames `body` for the wire.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    framed.extend_from_slice(body);
    framed
}

/// Reads one line of at most `limit` bytes (with its `\n`) into `line`.
/// A longer line is consumed whole and answered `false` (with `line`
/// empty); `true` with an empty `line` is the end of the input.
async fn read_line<R: AsyncBufRead + Unpin>(
    input: &mut R,
    line: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<bool> {
    line.clear();
    let mut too_long = false;
    loop {
        let available = input.fill_buf().await?;
        if available.is_empty() {
            return Ok(!too_long);
        }
        let (used, done) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        if !too_long {
            let room = limit.saturating_sub(line.len());
            if used > room {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(&available[..used]);
            }
        }
        input.consume(used);
        if done {
            return Ok(!too_long);
        }
    }
}

/// Reads the next message from the client's byte stream.
pub async fn next_message<R: AsyncBufRead + Unpin>(input: &mut R) -> std::io::Result<Incoming> {
    let mut line = Vec::new();
    let mut length: Option<Result<usize, String>> = None;
    let mut header_bytes = 0usize;
    let mut junk = false;
    let mut seen_any = false;
    loop {
        let fits = read_line(input, &mut line, MAX_HEADER + 1).await?;
        if fits && line.is_empty() {
            return Ok(Incoming::End);
        }
        header_bytes += line.len();
        if !fits || header_bytes > MAX_HEADER {
            // Skip the rest of this header section: up to a blank line, or
            // the end of the input.
            while !(read_line(input, &mut line, MAX_HEADER).await? && trim_line(&line).is_empty()) {
            }
            return Ok(Incoming::Malformed(Malformed::HeaderTooLong));
        }
        let text = trim_line(&line);
        if text.is_empty() {
            if !seen_any {
                // A stray blank line between messages.
                continue;
            }
            break;
        }
        seen_any = true;
        let text = String::from_utf8_lossy(text);
        // A header may follow junk on its line (the rest of a message that
        // was skipped): read from the header on.
        let lower = text.to_ascii_lowercase();
        if let Some(at) = lower.find("content-length:") {
            junk |= at > 0;
            let value = text[at + "content-length:".len()..].trim();
            length = Some(value.parse::<usize>().map_err(|_| value.to_string()));
        } else if text.contains(':') && !text.starts_with(['{', '[', '"']) {
            // Another header (Content-Type): nothing to do with it.
        } else {
            junk = true;
        }
    }
    let length = match length {
        None if junk => return Ok(Incoming::Malformed(Malformed::NotAHeader)),
        None => return Ok(Incoming::Malformed(Malformed::MissingLength)),
        Some(Err(value)) => return Ok(Incoming::Malformed(Malformed::BadLength(value))),
        Some(Ok(length)) => length,
    };
    if length > MAX_MESSAGE {
        let skipped =
            tokio::io::copy(&mut input.take(length as u64), &mut tokio::io::sink()).await?;
        if skipped < length as u64 {
            return Ok(Incoming::End);
        }
        return Ok(Incoming::Malformed(Malformed::TooLarge(length)));
    }
    let mut body = vec![0; length];
    if input.read_exact(&mut body).await.is_err() {
        return Ok(Incoming::End);
    }
    Ok(classify(body))
}

fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Checks a body the way the server's decoder reads it.
pub fn classify(body: Vec<u8>) -> Incoming {
    if std::str::from_utf8(&body).is_err() {
        return Incoming::Malformed(Malformed::NotUtf8);
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(error) => return Incoming::Malformed(Malformed::NotJson(error.to_string())),
    };
    let object = match &value {
        Value::Object(object) => object,
        Value::Array(_) => return Incoming::Malformed(Malformed::Batch),
        other => {
            return Incoming::Malformed(Malformed::NotJsonRpc {
                id: None,
                why: format!("it is {}, not an object", json_kind(other)),
            });
        }
    };
    let id = object.get("id").and_then(|id| serde_json::from_value::<Id>(id.clone()).ok());
    // The server's decoder reads a message without a method as a request
    // for the method "" (and answers "method not found"): a request needs
    // its method, a response its result or error.
    let decodes = if object.contains_key("method") {
        serde_json::from_value::<Request>(value.clone()).is_ok()
    } else {
        (object.contains_key("result") || object.contains_key("error"))
            && serde_json::from_value::<Response>(value.clone()).is_ok()
    };
    if decodes {
        return Incoming::Message(body);
    }
    let why = if object.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        "it has no `\"jsonrpc\": \"2.0\"`".to_string()
    } else if let Some(method) = object.get("method") {
        if method.is_string() {
            format!("its id {} is neither a number nor a string", object["id"])
        } else {
            format!("its method is {}, not a string", json_kind(method))
        }
    } else if object.contains_key("result") || object.contains_key("error") {
        "it is a response with a malformed id or error".to_string()
    } else {
        "it has neither a method nor a result or error".to_string()
    };
    Incoming::Malformed(Malformed::NotJsonRpc { id, why })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Passes the client's messages on to the server (`server`), answering the
/// malformed ones through `errors`, until the input ends or the server
/// stops reading.
pub async fn read_input<I, W>(input: I, mut server: W, errors: mpsc::UnboundedSender<Vec<u8>>)
where
    I: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut input = tokio::io::BufReader::with_capacity(1 << 16, input);
    loop {
        match next_message(&mut input).await {
            Ok(Incoming::Message(body)) => {
                if server.write_all(&frame(&body)).await.is_err() || server.flush().await.is_err() {
                    return;
                }
            }
            Ok(Incoming::Malformed(problem)) => {
                let response = problem.response();
                eprintln!(
                    "orchc lsp: a malformed message was answered with error {}: {}",
                    problem.code().code(),
                    problem.describe()
                );
                let body = serde_json::to_vec(&response).expect("a response serialises");
                if errors.send(frame(&body)).is_err() {
                    return;
                }
            }
            Ok(Incoming::End) => return,
            Err(error) => {
                eprintln!("orchc lsp: cannot read the input: {error}");
                return;
            }
        }
    }
}

/// Reads the server's framed output, a whole frame at a time.
async fn server_frame<R: AsyncBufRead + Unpin>(output: &mut R) -> Option<Vec<u8>> {
    let mut header = Vec::new();
    let mut length = None;
    loop {
        let start = header.len();
        if output.read_until(b'\n', &mut header).await.ok()? == 0 {
            return None;
        }
        let line = trim_line(&header[start..]);
        if line.is_empty() {
            break;
        }
        let line = std::str::from_utf8(line).ok()?;
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let length = length?;
    let mut framed = header;
    let start = framed.len();
    framed.resize(start + length, 0);
    output.read_exact(&mut framed[start..]).await.ok()?;
    Some(framed)
}

/// Writes the server's frames (read from `server`) and the error replies
/// (from `errors`) to `output`, whole frames at a time, until the server's
/// output ends.
pub async fn write_output<R, O>(server: R, mut errors: mpsc::UnboundedReceiver<Vec<u8>>, output: O)
where
    R: AsyncRead + Unpin,
    O: AsyncWrite,
{
    let mut server = tokio::io::BufReader::new(server);
    let mut output = std::pin::pin!(output);
    let (frames_tx, mut frames) = mpsc::channel::<Vec<u8>>(16);
    let pump = async move {
        while let Some(framed) = server_frame(&mut server).await {
            if frames_tx.send(framed).await.is_err() {
                return;
            }
        }
    };
    let write = async {
        let mut errors_open = true;
        loop {
            let framed = tokio::select! {
                biased;
                framed = frames.recv() => match framed {
                    Some(framed) => framed,
                    None => break,
                },
                framed = errors.recv(), if errors_open => match framed {
                    Some(framed) => framed,
                    None => {
                        errors_open = false;
                        continue;
                    }
                },
            };
            if output.write_all(&framed).await.is_err() || output.flush().await.is_err() {
                return;
            }
        }
    };
    tokio::join!(pump, write);
}
