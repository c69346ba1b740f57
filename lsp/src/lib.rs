//! The Orch language server.
//!
//! `orchc lsp` serves the Language Server Protocol over standard input and
//! output. The server keeps the open documents ([`documents`]), applying
//! every edit in the order it arrives; each edit hands a snapshot of the
//! documents to one analysis thread ([`analyzer`]), which runs the same
//! compiler as `orchc check` over the workspace and publishes the
//! diagnostics of each file with the version they were computed for.
//! Requests (hover, definition, completion, ...) run on that thread too,
//! after every edit received before them, on the analysis of exactly the
//! text the editor shows.
//!
//! **Architecture invariant:** only this crate speaks the protocol. The
//! compiler answers in byte offsets and plain data (`orch_compiler::ide`);
//! conversion to UTF-16 line and column positions happens here, in
//! [`convert`], and one file under `handlers/` answers each request.
//!
//! **Architecture invariant:** no input crashes the server. Analyses and
//! queries run inside `catch_unwind`; a panic is logged, the request fails
//! and the server keeps serving.

mod analyzer;
mod convert;
mod diagnostics;
mod documents;
pub mod framing;
mod handlers;
mod server;
mod stack;
mod workspace;

pub use server::Server;

use tower_lsp_server::{ClientSocket, LspService};

/// Hands memory the program has freed back to the operating system. The
/// server calls it when the analysis thread has freed what earlier
/// analyses left and has nothing else to do: otherwise the allocator may
/// keep the pages of a large document's analysis after the document
/// shrank or closed, and the server would stay as large as it ever was.
/// The allocator is the binary's choice (`orchc` uses mimalloc), so the
/// binary says how; [`keep_memory`] does nothing.
pub type ReleaseMemory = fn();

/// A [`ReleaseMemory`] that leaves the allocator to itself (the system
/// allocator returns large blocks on its own).
pub fn keep_memory() {}

/// The server as a service, for tests and embedders: feed it requests with
/// [`tower_lsp_server::Server`] over any byte streams.
pub fn service(release: ReleaseMemory) -> (LspService<Server>, ClientSocket) {
    LspService::new(move |client| Server::new(client, release))
}

/// Serves the protocol on `input` and `output` until the client exits.
pub async fn serve<I, O>(input: I, output: O, release: ReleaseMemory)
where
    I: tokio::io::AsyncRead + Unpin,
    O: tokio::io::AsyncWrite,
{
    let (service, socket) = service(release);
    // The client's messages reach the server through `framing`, which
    // answers the malformed ones itself; the server's output and those
    // answers meet in `framing::write_output`.
    let (to_server, server_input) = tokio::io::duplex(1 << 16);
    let (server_output, from_server) = tokio::io::duplex(1 << 16);
    let (errors_tx, errors_rx) = tokio::sync::mpsc::unbounded_channel();
    let server = async move {
        tower_lsp_server::Server::new(server_input, server_output, socket).serve(service).await;
    };
    let reader = framing::read_input(input, to_server, errors_tx);
    let rest = async move {
        tokio::join!(server, framing::write_output(from_server, errors_rx, output));
    };
    tokio::pin!(reader, rest);
    // The server stops at `exit` even while the client keeps its end open.
    tokio::select! {
        () = &mut rest => {}
        () = &mut reader => rest.await,
    }
}

/// Serves the protocol on standard input and output; returns when the
/// client sends `exit` or closes the stream.
pub fn serve_stdio(release: ReleaseMemory) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("orch-lsp")
        .build()?;
    runtime.block_on(serve(tokio::io::stdin(), tokio::io::stdout(), release));
    // Blocking tasks (reading the workspace) must not keep the process
    // alive once the client has gone.
    runtime.shutdown_background();
    Ok(())
}
