//! The analysis thread. It owns the latest [`World`] (an analysis and the
//! snapshot of documents it was computed from) and works through jobs in
//! the order they were sent: a snapshot to analyse, or a query to answer.
//!
//! Because edits send their snapshot in the order they are applied, and a
//! query is sent after every edit received before it, a query always sees
//! the analysis of the text the editor showed when it asked. Snapshots
//! that queue up while an analysis runs are merged: only the newest is
//! analysed. Diagnostics of a snapshot that is no longer the newest are
//! dropped; the newer one publishes its own.
//!
//! Completion is the one request that may overtake edits
//! ([`Analyzer::query_early`]): editors ask for it right after the
//! keystroke that triggers it, and waiting for that keystroke's analysis
//! would cost the whole analysis time. A snapshot waits [`GRACE`] before
//! its analysis starts, so that such a request, sent along with the edit,
//! is answered first from the previous analysis, with the document's
//! newest text for what the cursor is in (see
//! `orch_compiler::ide::completions_in_text`).
//!
//! Each analysis starts from what the previous one left: the parses of the
//! files whose text did not change ([`orch_compiler::ParseCache`]) and the
//! texts of the files on disk that did not change ([`DiskCache`]), so that
//! an edit costs the parse of the edited document and the checks, not a
//! re-read and re-parse of the whole workspace. The previous analysis
//! itself is freed when the thread has nothing else to do.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use orch_compiler::{Analysis, Options, ParseCache};
use orch_lang::{FileId, LineIndex, Span};
use tower_lsp_server::ls_types::{self as lsp, Location, MessageType, Uri};

use crate::convert::Text;
use crate::diagnostics;
use crate::documents::Document;
use crate::stack::{Failure, catching};
use crate::workspace::{DiskCache, Sources, uri_of};

/// How long a request waits for the analysis before giving up.
const QUERY_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a snapshot waits before it is analysed, for requests sent
/// along with its edit to be answered first, by [`Analyzer::query_early`].
/// It delays every analysis by this much.
pub(crate) const GRACE: Duration = Duration::from_millis(2);

/// The documents and files one analysis covers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    /// Increases with every edit; the newest snapshot has the highest.
    pub(crate) generation: u64,
    /// The open documents, by path.
    pub(crate) documents: HashMap<String, Document>,
    /// Every file to analyse, as `orchc check` would be given them: the
    /// workspace's `.orch` files and the open documents.
    pub(crate) roots: Vec<String>,
    /// Params from `ORCH_VAR_*`, as `orchc check` reads them.
    pub(crate) params: HashMap<String, String>,
}

/// An analysis and the snapshot it was computed from.
pub(crate) struct World {
    pub(crate) analysis: Analysis,
    pub(crate) snapshot: Snapshot,
    indexes: Vec<OnceCell<LineIndex>>,
    /// The count of the analyser's worlds that are alive, this one included.
    alive: Arc<AtomicUsize>,
}

impl World {
    fn new(analysis: Analysis, snapshot: Snapshot, alive: Arc<AtomicUsize>) -> World {
        let indexes = (0..analysis.files.len()).map(|_| OnceCell::new()).collect();
        alive.fetch_add(1, Ordering::SeqCst);
        World { analysis, snapshot, indexes, alive }
    }

    /// The file loaded from `path`.
    pub(crate) fn file(&self, path: &str) -> Option<FileId> {
        self.analysis.files.find(path)
    }

    /// The text of `file` with its line index.
    pub(crate) fn text(&self, file: FileId) -> Option<Text<'_>> {
        let index = self.indexes.get(file.0 as usize)?;
        let source = &self.analysis.files.get(file).source;
        Some(Text::new(source, index.get_or_init(|| LineIndex::new(source))))
    }

    /// The URI of `file`: the open document's, or the file's on disk.
    pub(crate) fn uri(&self, file: FileId) -> Option<Uri> {
        self.indexes.get(file.0 as usize)?;
        let path = &self.analysis.files.get(file).path;
        match self.snapshot.documents.get(path) {
            Some(document) => Some(document.uri.clone()),
            None => uri_of(path),
        }
    }

    pub(crate) fn location(&self, span: Span) -> Option<Location> {
        Some(Location { uri: self.uri(span.file)?, range: self.text(span.file)?.range(span) })
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What the analysis thread sends to the client.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// The diagnostics of every file that has some, had some, or is open,
    /// computed for snapshot `generation`.
    Diagnostics {
        generation: u64,
        files: Vec<(Uri, Option<i32>, Vec<lsp::Diagnostic>)>,
    },
    Log(MessageType, String),
}

type Query = Box<dyn FnOnce(Option<&World>) + Send>;

enum Job {
    Analyze(Snapshot),
    Query(Query),
    /// A query that may run on an analysis older than the newest edits,
    /// if that analysis has loaded this path.
    Early(String, Query),
}

/// The handle the server keeps to the analysis thread.
pub(crate) struct Analyzer {
    jobs: mpsc::Sender<Job>,
    /// How many analyses (worlds) are held, the current one and those
    /// waiting to be freed: memory stays flat over any number of edits
    /// only if this does.
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests"))]
    alive: Arc<AtomicUsize>,
}

impl Analyzer {
    /// Starts the thread. `latest` is the generation of the newest
    /// snapshot, which the server raises with every edit.
    pub(crate) fn start(
        outbox: tokio::sync::mpsc::UnboundedSender<Outgoing>,
        latest: Arc<AtomicU64>,
        release: crate::ReleaseMemory,
    ) -> Analyzer {
        Analyzer::start_with_grace(outbox, latest, GRACE, release)
    }

    /// [`Analyzer::start`], with snapshots waiting `grace` (tests make it
    /// long to be sure that early queries overtake them).
    fn start_with_grace(
        outbox: tokio::sync::mpsc::UnboundedSender<Outgoing>,
        latest: Arc<AtomicU64>,
        grace: Duration,
        release: crate::ReleaseMemory,
    ) -> Analyzer {
        let (jobs, receiver) = mpsc::channel();
        let alive = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&alive);
        let started = std::thread::Builder::new()
            .name("orch-analysis".to_string())
            .stack_size(orch_lang::ANALYSIS_STACK_SIZE)
            .spawn(move || {
                Worker {
                    outbox,
                    latest,
                    world: None,
                    published: HashSet::new(),
                    disk: DiskCache::new(),
                    retired: Vec::new(),
                    grace,
                    alive: counted,
                    release,
                }
                .run(receiver)
            });
        if let Err(error) = started {
            // Every request will report the analysis as unavailable.
            eprintln!("orch-lsp: cannot start the analysis thread: {error}");
        }
        Analyzer { jobs, alive }
    }

    /// How many analyses are held now (see [`Analyzer::alive`]).
    #[cfg(test)]
    fn analyses_alive(&self) -> usize {
        self.alive.load(Ordering::SeqCst)
    }

    /// Asks for `snapshot` to be analysed.
    pub(crate) fn analyze(&self, snapshot: Snapshot) {
        let _ = self.jobs.send(Job::Analyze(snapshot));
    }

    /// Runs `query` on the analysis of every edit sent so far. `None` from
    /// the query (or no analysis at all) is `Ok(None)`.
    pub(crate) async fn query<T, F>(&self, query: F) -> Result<Option<T>, Failure>
    where
        T: Send + 'static,
        F: FnOnce(&World) -> Option<T> + Send + 'static,
    {
        self.ask(None, query).await
    }

    /// Runs `query` at once on the latest analysis that loaded `path`,
    /// even if edits sent since are still waiting for theirs; when there
    /// is none, on the analysis of every edit sent so far. The query must
    /// take the document's newest text from elsewhere, and answer from
    /// the analysis of an older one.
    pub(crate) async fn query_early<T, F>(
        &self,
        path: String,
        query: F,
    ) -> Result<Option<T>, Failure>
    where
        T: Send + 'static,
        F: FnOnce(&World) -> Option<T> + Send + 'static,
    {
        self.ask(Some(path), query).await
    }

    async fn ask<T, F>(&self, early: Option<String>, query: F) -> Result<Option<T>, Failure>
    where
        T: Send + 'static,
        F: FnOnce(&World) -> Option<T> + Send + 'static,
    {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let job: Query = Box::new(move |world| {
            let _ = sender.send(catching(|| world.and_then(query)));
        });
        let job = match early {
            Some(path) => Job::Early(path, job),
            None => Job::Query(job),
        };
        self.jobs
            .send(job)
            .map_err(|_| Failure::Unavailable("the analysis thread stopped".to_string()))?;
        match tokio::time::timeout(QUERY_TIMEOUT, receiver).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(Failure::Unavailable("the analysis thread stopped".to_string())),
            Err(_) => Err(Failure::TimedOut),
        }
    }
}

struct Worker {
    outbox: tokio::sync::mpsc::UnboundedSender<Outgoing>,
    latest: Arc<AtomicU64>,
    world: Option<World>,
    /// Files whose last published diagnostics were not empty.
    published: HashSet<Uri>,
    /// The files on disk the last analysis read.
    disk: DiskCache,
    /// What the last analyses replaced, freed when no job waits: dropping
    /// the analysis of a large workspace takes milliseconds that neither
    /// the next analysis nor a query should wait for. (Analyses are not
    /// `Send`, so this cannot happen on another thread.)
    retired: Vec<Garbage>,
    /// How long a snapshot waits before its analysis: [`GRACE`].
    grace: Duration,
    alive: Arc<AtomicUsize>,
    /// Called after the retired analyses are freed on an idle moment.
    release: crate::ReleaseMemory,
}

/// Memory to free when the thread has nothing else to do.
#[allow(dead_code, reason = "held only to be dropped")]
enum Garbage {
    World(Box<World>),
    Parses(ParseCache),
}

impl Worker {
    fn run(mut self, jobs: mpsc::Receiver<Job>) {
        // The newest snapshot not yet analysed, and when the first of the
        // snapshots it replaced arrived.
        let mut pending: Option<(Snapshot, Instant)> = None;
        loop {
            let job = match &pending {
                Some((_, since)) => {
                    match jobs.recv_timeout(self.grace.saturating_sub(since.elapsed())) {
                        Ok(job) => Some(job),
                        Err(mpsc::RecvTimeoutError::Timeout) => None,
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
                None => match jobs.try_recv() {
                    Ok(job) => Some(job),
                    Err(mpsc::TryRecvError::Disconnected) => return,
                    Err(mpsc::TryRecvError::Empty) => {
                        // Nothing to do: a good time to free memory, and
                        // to hand it back to the system.
                        if !self.retired.is_empty() {
                            self.retired.clear();
                            (self.release)();
                        }
                        match jobs.recv() {
                            Ok(job) => Some(job),
                            Err(_) => return,
                        }
                    }
                },
            };
            match job {
                Some(Job::Analyze(snapshot)) => {
                    let since = pending.take().map_or_else(Instant::now, |(_, since)| since);
                    pending = Some((snapshot, since));
                }
                Some(Job::Early(path, query))
                    if pending.is_some()
                        && self.world.as_ref().is_some_and(|w| w.file(&path).is_some()) =>
                {
                    query(self.world.as_ref());
                }
                Some(Job::Query(query) | Job::Early(_, query)) => {
                    if let Some((snapshot, _)) = pending.take() {
                        self.analyze(snapshot);
                    }
                    query(self.world.as_ref());
                }
                None => {
                    if let Some((snapshot, _)) = pending.take() {
                        self.analyze(snapshot);
                    }
                }
            }
        }
    }

    fn analyze(&mut self, mut snapshot: Snapshot) {
        // A file deleted since the workspace was read is no longer a root.
        snapshot
            .roots
            .retain(|root| snapshot.documents.contains_key(root) || Path::new(root).is_file());
        // The files of one folder form one module, as for `orchc check`:
        // each folder holding files is analysed as a folder module (or as
        // a folder of single-file modules, when its files are named alone
        // by `module` or `import`). Unsaved buffers stay files.
        let files: Vec<(String, bool)> = snapshot
            .roots
            .iter()
            .map(|root| (root.clone(), Path::new(root).is_absolute()))
            .collect();
        snapshot.roots = orch_compiler::db::tree_modules(&files);
        let sources = Sources::new(
            snapshot.documents.iter().map(|(p, d)| (p.clone(), d.text.clone())).collect(),
            std::mem::take(&mut self.disk),
        );
        let options = Options {
            evaluate: true,
            tests: true,
            params: snapshot
                .params
                .iter()
                .map(|(k, v)| (k.clone(), orch_compiler::eval::ParamInput::Text(v.clone())))
                .collect(),
            ..Options::default()
        };
        // What an earlier analysis left and no idle moment freed: at most
        // one analysis's worth is kept.
        self.retired.clear();
        let mut cache = match self.world.take() {
            Some(mut world) => {
                let cache = ParseCache::from(std::mem::take(&mut world.analysis.files));
                self.retired.push(Garbage::World(Box::new(world)));
                cache
            }
            None => ParseCache::default(),
        };
        let analyzed = catching(|| {
            orch_compiler::analyze_with_cache(&sources, &snapshot.roots, &options, &mut cache)
        });
        // Plugin kinds from the schema cache beside the configurations
        // (nothing is started); analysed again when that changed anything.
        let analyzed = analyzed.and_then(|analysis| {
            let base = std::env::current_dir().unwrap_or_default();
            if !orch_runtime::plugin::install_cached(&analysis, &base) {
                return Ok(analysis);
            }
            catching(|| orch_compiler::analyze(&sources, &snapshot.roots, &options))
        });
        // The parses of the files that changed.
        self.retired.push(Garbage::Parses(cache));
        self.disk = sources.into_cache();
        let analysis = match analyzed {
            Ok(analysis) => analysis,
            Err(failure) => {
                self.log(MessageType::ERROR, format!("the analysis failed: {failure}"));
                return;
            }
        };
        let world = World::new(analysis, snapshot, Arc::clone(&self.alive));
        if world.snapshot.generation == self.latest.load(Ordering::SeqCst) {
            match catching(|| diagnostics::publications(&world, &self.published)) {
                Ok((files, published)) => {
                    self.published = published;
                    let generation = world.snapshot.generation;
                    let _ = self.outbox.send(Outgoing::Diagnostics { generation, files });
                }
                Err(failure) => {
                    self.log(MessageType::ERROR, format!("cannot convert diagnostics: {failure}"))
                }
            }
        }
        self.world = Some(world);
    }

    fn log(&self, kind: MessageType, message: String) {
        eprintln!("orch-lsp: {message}");
        let _ = self.outbox.send(Outgoing::Log(kind, message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_query_fails_alone() {
        let (sender, _receiver) = tokio::sync::mpsc::unbounded_channel();
        let analyzer = Analyzer::start(sender, Arc::new(AtomicU64::new(1)), crate::keep_memory);
        let uri: Uri = "file:///a.orch".parse().unwrap();
        let document = Document { uri, version: 1, text: Arc::from("let x = 1\n") };
        analyzer.analyze(Snapshot {
            generation: 1,
            documents: [("/a.orch".to_string(), document)].into(),
            roots: vec!["/a.orch".to_string()],
            params: HashMap::new(),
        });
        let failed = analyzer.query(|_| -> Option<()> { panic!("deliberately") }).await;
        assert!(
            matches!(&failed, Err(Failure::Panicked(m)) if m.contains("deliberately")),
            "{failed:?}"
        );
        let files = analyzer.query(|world| Some(world.analysis.files.len())).await;
        assert_eq!(files, Ok(Some(1)));
    }

    fn snapshot(generation: u64, text: &str) -> Snapshot {
        let uri: Uri = "file:///a.orch".parse().unwrap();
        let document = Document { uri, version: generation as i32, text: Arc::from(text) };
        Snapshot {
            generation,
            documents: [("/a.orch".to_string(), document)].into(),
            roots: vec!["/a.orch".to_string()],
            params: HashMap::new(),
        }
    }

    /// Many edits of large documents, opened and closed in turn, leave one
    /// analysis holding the open documents only: what an edit replaced is
    /// freed, whatever the number of edits.
    #[tokio::test]
    async fn memory_stays_flat_over_many_edits() {
        let (sender, _receiver) = tokio::sync::mpsc::unbounded_channel();
        let latest = Arc::new(AtomicU64::new(0));
        let analyzer = Analyzer::start(sender, Arc::clone(&latest), crate::keep_memory);
        let big = |n: usize| -> String {
            (0..600).map(|i| format!("let v{i} = \"{n} ${{v{}}}\"\n", i.max(1) - 1)).collect()
        };
        let mut most_alive = 0;
        for generation in 1..=60u64 {
            latest.store(generation, Ordering::SeqCst);
            // Three documents open at a time, one of them replaced every
            // ten edits; each edit changes one.
            let mut next = Snapshot { generation, ..Snapshot::default() };
            for k in 0..3 {
                let path = format!("/doc{}.orch", (generation / 10) as usize + k);
                let uri: Uri = format!("file://{path}").parse().unwrap();
                let text: Arc<str> = Arc::from(big(generation as usize * (k == 0) as usize));
                next.documents.insert(path.clone(), Document { uri, version: 1, text });
                next.roots.push(path);
            }
            analyzer.analyze(next);
            if generation % 3 == 0 {
                let files = analyzer.query(|world| Some(world.analysis.files.len())).await;
                assert_eq!(files, Ok(Some(3)), "only the open documents are loaded");
            }
            most_alive = most_alive.max(analyzer.analyses_alive());
        }
        let documents = analyzer.query(|world| Some(world.snapshot.documents.len())).await;
        assert_eq!(documents, Ok(Some(3)));
        // Once the thread is idle, only the current analysis is left.
        let deadline = Instant::now() + Duration::from_secs(20);
        while analyzer.analyses_alive() > 1 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(analyzer.analyses_alive(), 1);
        assert!(most_alive <= 2, "at most the current and the previous analysis: {most_alive}");
    }

    fn source(world: &World) -> Option<String> {
        Some(world.analysis.files.get(world.file("/a.orch")?).source.to_string())
    }

    #[tokio::test]
    async fn early_queries_overtake_waiting_snapshots_and_others_do_not() {
        let (sender, _receiver) = tokio::sync::mpsc::unbounded_channel();
        let latest = Arc::new(AtomicU64::new(2));
        let analyzer = Analyzer::start_with_grace(
            sender,
            latest,
            Duration::from_secs(600),
            crate::keep_memory,
        );
        // No analysis yet: an early query waits for the first one.
        analyzer.analyze(snapshot(1, "let a = 1\n"));
        let seen = analyzer.query_early("/a.orch".to_string(), source).await;
        assert_eq!(seen, Ok(Some("let a = 1\n".to_string())));
        // A newer snapshot waits (for ten minutes here): an early query is
        // answered from the analysis it has, a plain one analyses first.
        analyzer.analyze(snapshot(2, "let a = 2\n"));
        let seen = analyzer.query_early("/a.orch".to_string(), source).await;
        assert_eq!(seen, Ok(Some("let a = 1\n".to_string())));
        let seen = analyzer.query(source).await;
        assert_eq!(seen, Ok(Some("let a = 2\n".to_string())));
        // An early query about a file the analysis has not loaded waits.
        let mut other = snapshot(3, "let b = 1\n");
        let document = other.documents.remove("/a.orch").unwrap();
        other.documents.insert("/b.orch".to_string(), document);
        other.roots = vec!["/b.orch".to_string()];
        analyzer.analyze(other);
        let files = analyzer
            .query_early("/b.orch".to_string(), |world| world.file("/b.orch").map(|_| ()))
            .await;
        assert_eq!(files, Ok(Some(())));
    }
}
