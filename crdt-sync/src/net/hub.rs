//! The hub: one task that owns a replica of one collection and drives every session attached
//! to it, committing changes to the store before any frame that could acknowledge them leaves.
//!
//! Connections talk to the hub through events (frames in, open, closed) and get frames back
//! through per-connection queues, so the sans-IO [`Session`]s run unchanged, one task per
//! collection. Each turn the hub handles every event waiting (up to a batch), lets the sessions'
//! timers run, writes the batch of changes in one durable transaction (group commit), and only
//! then polls the sessions for frames: acknowledgements, and deltas taken from the log, are
//! therefore never ahead of the disk.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::Instant;

use crate::collection::Collection;
use crate::message::ErrorCode;
use crate::net::limits::NetLimits;
use crate::net::metrics::Metrics;
use crate::net::store::CollectionStore;
use crate::session::{CloseReason, Session, SessionConfig, SessionStats};

/// How many events the hub handles before it commits and transmits.
const BATCH: usize = 1024;
/// How many events may wait for the hub; senders wait beyond it (backpressure to the sockets).
const INBOX: usize = 1024;
/// How many bytes of frames may wait for the hub (or two frames, if more).
const INBOX_BYTES: usize = 32 << 20;

/// Identifies a connection to its hub.
pub(crate) type ConnId = u64;

/// What a connection's writer is told to do.
#[derive(Debug)]
pub(crate) enum Out {
    /// Send this frame.
    Frame(Vec<u8>),
    /// The session closed after its last frame: close the socket.
    Close,
}

/// Why a connection must stop at once, bypassing its queue.
#[derive(Clone, Debug)]
pub(crate) struct Stop {
    /// The error frame to try to send, if any.
    pub(crate) error: Option<(ErrorCode, String)>,
}

/// The state of a link, as its owner (a client) sees it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum LinkStatus {
    /// Connecting, or waiting for the peer's handshake.
    Connecting,
    /// Connected, with changes still to exchange.
    Syncing,
    /// Connected, and the peer has everything this replica has.
    Synced,
    /// Not connected; the last error, if the link failed or was refused.
    Offline(Option<String>),
}

/// The hub's end of one connection.
pub(crate) struct Attach {
    pub(crate) conn: ConnId,
    pub(crate) config: SessionConfig,
    pub(crate) out: mpsc::UnboundedSender<Out>,
    pub(crate) queued: Arc<AtomicUsize>,
    pub(crate) stop: watch::Sender<Option<Stop>>,
    pub(crate) first_frame: Option<Vec<u8>>,
    pub(crate) status: Option<watch::Sender<LinkStatus>>,
}

pub(crate) enum Event {
    Open(Box<Attach>),
    /// A frame, holding its bytes' share of the inbox budget until it is handled.
    Frame(ConnId, Vec<u8>, OwnedSemaphorePermit),
    Closed(ConnId),
    Local,
}

/// A handle to a running hub; clones share it. The hub stops when every handle is gone.
#[derive(Clone)]
pub(crate) struct Hub {
    events: mpsc::Sender<Event>,
    inbox_bytes: Arc<Semaphore>,
    shared: Arc<Shared>,
}

struct Shared {
    collection: Mutex<Collection>,
    remote_changes: watch::Sender<u64>,
    /// Told when the hub's owner closes the collection.
    close: tokio::sync::Notify,
}

struct Link {
    session: Session,
    out: mpsc::UnboundedSender<Out>,
    queued: Arc<AtomicUsize>,
    stop: watch::Sender<Option<Stop>>,
    status: Option<watch::Sender<LinkStatus>>,
    reported: SessionStats,
    /// Since when the queue has been full without draining below the limit.
    full_since: Option<Instant>,
}

struct Runner {
    events: mpsc::Receiver<Event>,
    shared: Arc<Shared>,
    store: Option<Box<dyn CollectionStore>>,
    links: BTreeMap<ConnId, Link>,
    max_queue_bytes: usize,
    max_write_stall: Duration,
    metrics: Option<Arc<Metrics>>,
    objects_reported: usize,
    log_reported: usize,
    epoch: Instant,
}

impl Hub {
    /// Starts the hub of `collection`, writing to `store` if given. The task ends (and the
    /// store closes) once every handle is gone.
    pub(crate) fn spawn(
        collection: Collection,
        store: Option<Box<dyn CollectionStore>>,
        limits: &NetLimits,
        metrics: Option<Arc<Metrics>>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (events, receiver) = mpsc::channel(INBOX);
        let shared = Arc::new(Shared {
            collection: Mutex::new(collection),
            remote_changes: watch::Sender::new(0),
            close: tokio::sync::Notify::new(),
        });
        let runner = Runner {
            events: receiver,
            shared: shared.clone(),
            store,
            links: BTreeMap::new(),
            max_queue_bytes: limits.max_queue_bytes,
            max_write_stall: limits.max_write_stall,
            metrics,
            objects_reported: 0,
            log_reported: 0,
            epoch: Instant::now(),
        };
        if let Some(metrics) = &runner.metrics {
            metrics.collections.inc();
        }
        let task = tokio::spawn(runner.run());
        let budget = INBOX_BYTES.max(2 * limits.max_frame_bytes);
        let inbox_bytes = Arc::new(Semaphore::new(budget));
        (
            Self {
                events,
                inbox_bytes,
                shared,
            },
            task,
        )
    }

    /// Locks the collection (briefly: the hub waits for it).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Collection> {
        lock(&self.shared)
    }

    /// Tells the hub that local edits wait to be sent.
    pub(crate) fn local_edit(&self) {
        // A full inbox means the hub has a turn coming anyway, which sends the edit too.
        let _ = self.events.try_send(Event::Local);
    }

    /// Sends an event, waiting while the inbox is full; false if the hub has stopped.
    pub(crate) async fn send(&self, event: Event) -> bool {
        self.events.send(event).await.is_ok()
    }

    /// Passes a frame in once the inbox's byte budget has room for it (frames waiting for the
    /// hub hold at most that many bytes, however many connections send); false if the hub
    /// has stopped.
    pub(crate) async fn send_frame(&self, conn: ConnId, frame: Vec<u8>) -> bool {
        let size = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let Ok(permit) = self.inbox_bytes.clone().acquire_many_owned(size).await else {
            return false;
        };
        self.send(Event::Frame(conn, frame, permit)).await
    }

    /// A receiver that changes whenever frames from peers were handled.
    pub(crate) fn remote_changes(&self) -> watch::Receiver<u64> {
        self.shared.remote_changes.subscribe()
    }

    /// Closes the collection: the hub commits what is left, stops its sessions and ends.
    pub(crate) fn close(&self) {
        self.shared.close.notify_one();
    }

    /// Whether the hub has stopped.
    pub(crate) fn is_stopped(&self) -> bool {
        self.events.is_closed()
    }
}

impl Runner {
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    async fn run(mut self) {
        let shared = self.shared.clone();
        let mut closing = false;
        while !closing {
            let wake = self.next_wake();
            let mut stored_elsewhere = false;
            let store_changed = async {
                match self.store.as_mut() {
                    Some(store) => store.changed().await,
                    None => std::future::pending().await,
                }
            };
            let first = tokio::select! {
                event = self.events.recv() => match event {
                    Some(event) => Some(event),
                    None => break,
                },
                () = sleep_until_ms(self.epoch, wake) => None,
                () = shared.close.notified() => {
                    closing = true;
                    None
                }
                () = store_changed => {
                    stored_elsewhere = true;
                    None
                }
            };
            let mut remote = false;
            if stored_elsewhere {
                remote |= self.catch_up().await;
            }
            if let Some(event) = first {
                remote |= self.handle(event);
                for _ in 1..BATCH {
                    match self.events.try_recv() {
                        Ok(event) => remote |= self.handle(event),
                        Err(_) => break,
                    }
                }
            }
            self.run_timers();
            if let Err(error) = self.commit().await {
                // Nothing uncommitted was acknowledged; the peers keep it and resend it to
                // the store reopened by the next connection.
                tracing::error!(%error, "the store failed; closing the collection's connections");
                for (_, link) in std::mem::take(&mut self.links) {
                    let _ = link.stop.send(Some(Stop {
                        error: Some((ErrorCode::Overloaded, "the relay's store failed".into())),
                    }));
                }
                break;
            }
            self.transmit();
            if remote {
                self.shared.remote_changes.send_modify(|count| *count += 1);
            }
        }
        for (_, link) in std::mem::take(&mut self.links) {
            let _ = link.stop.send(Some(Stop { error: None }));
        }
        // The store closes before the inbox does, so whoever sees this hub stopped can
        // reopen the store at once.
        self.store = None;
    }

    /// Handles one event; says whether it may have changed the collection from outside.
    fn handle(&mut self, event: Event) -> bool {
        let now = self.now();
        match event {
            Event::Open(attach) => {
                let Attach {
                    conn,
                    config,
                    out,
                    queued,
                    stop,
                    first_frame,
                    status,
                } = *attach;
                let mut collection = lock(&self.shared);
                let mut session = Session::new(&mut collection, config, now);
                if let Some(frame) = first_frame {
                    session.handle_frame(&mut collection, &frame, now);
                }
                drop(collection);
                if let Some(status) = &status {
                    status.send_replace(LinkStatus::Connecting);
                }
                self.links.insert(
                    conn,
                    Link {
                        session,
                        out,
                        queued,
                        stop,
                        status,
                        reported: SessionStats::default(),
                        full_since: None,
                    },
                );
                true
            }
            Event::Frame(conn, frame, _permit) => {
                if let Some(link) = self.links.get_mut(&conn) {
                    let mut collection = lock(&self.shared);
                    link.session.handle_frame(&mut collection, &frame, now);
                }
                true
            }
            Event::Closed(conn) => {
                if let Some(link) = self.links.remove(&conn) {
                    self.finish(link, None);
                }
                false
            }
            Event::Local => false,
        }
    }

    /// Joins what other relays committed to the shared store; says whether anything came.
    async fn catch_up(&mut self) -> bool {
        let mut joined = false;
        while let Some(store) = self.store.as_mut() {
            let caught = match store.catch_up().await {
                Ok(caught) => caught,
                Err(error) => {
                    // Retried at the next wake-up; meanwhile the sessions serve what is here.
                    tracing::warn!(%error, "catching up with the shared store failed");
                    return joined;
                }
            };
            let mut collection = lock(&self.shared);
            // Joined as coming from this replica: no peer has its id, so every session
            // forwards it, and the store knows not to write it back.
            let from_store = collection.replica();
            for (id, object) in &caught.objects {
                match collection.apply_remote(id, object, from_store) {
                    Ok(changed) => joined |= changed,
                    Err(error) => {
                        tracing::warn!(object = %id, %error, "a stored delta was refused")
                    }
                }
            }
            if !caught.more {
                break;
            }
        }
        joined
    }

    fn run_timers(&mut self) {
        let now = self.now();
        let mut collection = lock(&self.shared);
        for link in self.links.values_mut() {
            if link.session.poll_timeout().is_some_and(|at| at <= now) {
                link.session.handle_timeout(&mut collection, now);
            }
        }
    }

    fn next_wake(&self) -> Option<u64> {
        let stall = u64::try_from(self.max_write_stall.as_millis()).unwrap_or(u64::MAX);
        let stalls = self.links.values().filter_map(|link| {
            let since = link.full_since?;
            let at = since.saturating_duration_since(self.epoch).as_millis();
            Some(u64::try_from(at).unwrap_or(u64::MAX).saturating_add(stall))
        });
        self.links
            .values()
            .filter_map(|link| link.session.poll_timeout())
            .chain(stalls)
            .min()
    }

    async fn commit(&mut self) -> Result<(), String> {
        let Some(store) = self.store.as_mut() else {
            return Ok(());
        };
        let Some(commit) = store.prepare(&mut lock(&self.shared)) else {
            return Ok(());
        };
        let started = std::time::Instant::now();
        commit.await.map_err(|error| error.to_string())?;
        if let Some(metrics) = &self.metrics {
            let took = started.elapsed().as_secs_f64();
            metrics.commits.inc();
            metrics.commit_seconds.inc_by(took);
            metrics.commit_latency_seconds.observe(took);
        }
        Ok(())
    }

    fn transmit(&mut self) {
        let now = self.now();
        let mut collection = lock(&self.shared);
        let mut finished = Vec::new();
        for (conn, link) in &mut self.links {
            // A full queue stops the pulling (and the session packs nothing meanwhile); the
            // writer wakes the hub when it drains. A queue that stays full is a peer that does
            // not read.
            if link.queued.load(Ordering::Relaxed) < self.max_queue_bytes {
                link.full_since = None;
            }
            while link.queued.load(Ordering::Relaxed) < self.max_queue_bytes {
                let Some(frame) = link.session.poll_transmit(&mut collection, now) else {
                    break;
                };
                link.queued.fetch_add(frame.len(), Ordering::Relaxed);
                if link.out.send(Out::Frame(frame)).is_err() {
                    break;
                }
            }
            if link.queued.load(Ordering::Relaxed) >= self.max_queue_bytes {
                let since = *link.full_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= self.max_write_stall {
                    tracing::warn!(conn, "a peer does not read; disconnecting it");
                    let detail = format!(
                        "{} bytes waited unread for {} ms",
                        link.queued.load(Ordering::Relaxed),
                        self.max_write_stall.as_millis()
                    );
                    let _ = link.stop.send(Some(Stop {
                        error: Some((ErrorCode::Overloaded, detail)),
                    }));
                    finished.push((*conn, Some("the peer read too slowly".to_owned())));
                    continue;
                }
            }
            if let Some(reason) = link.session.close_reason().map(CloseReason::to_string) {
                // A closed session holds only its error frame: it goes out whatever the queue.
                while let Some(frame) = link.session.poll_transmit(&mut collection, now) {
                    link.queued.fetch_add(frame.len(), Ordering::Relaxed);
                    let _ = link.out.send(Out::Frame(frame));
                }
                let _ = link.out.send(Out::Close);
                finished.push((*conn, Some(reason)));
                continue;
            }
            if let Some(status) = &link.status {
                let state = if link.session.peer().is_none() {
                    LinkStatus::Connecting
                } else if link.session.is_idle(&collection) {
                    LinkStatus::Synced
                } else {
                    LinkStatus::Syncing
                };
                status.send_if_modified(|current| {
                    let changed = *current != state;
                    *current = state;
                    changed
                });
            }
        }
        let (objects, log_entries) = (collection.len(), collection.log().len());
        drop(collection);
        for (conn, reason) in finished {
            if let Some(link) = self.links.remove(&conn) {
                if let Some(metrics) = &self.metrics {
                    let code = match link.session.close_reason() {
                        Some(CloseReason::Sent(code, _) | CloseReason::Received(code, _)) => {
                            format!("{code:?}")
                        }
                        None => "Overloaded".to_owned(),
                    };
                    metrics.session_errors(&code).inc();
                }
                self.finish(link, reason);
            }
        }
        for link in self.links.values_mut() {
            let stats = *link.session.stats();
            if stats != link.reported
                && let Some(metrics) = &self.metrics
            {
                metrics.add_session_stats(&link.reported, &stats);
                link.reported = stats;
            }
        }
        if let Some(metrics) = &self.metrics {
            metrics
                .objects
                .inc_by(objects as i64 - self.objects_reported as i64);
            metrics
                .log_entries
                .inc_by(log_entries as i64 - self.log_reported as i64);
            self.objects_reported = objects;
            self.log_reported = log_entries;
        }
    }

    /// Forgets a finished link: its counters go to the metrics, its peer is detached.
    fn finish(&mut self, mut link: Link, reason: Option<String>) {
        self.report(&mut link);
        if let Some(peer) = link.session.peer() {
            lock(&self.shared).detach_peer(peer);
        }
        if let Some(status) = &link.status {
            status.send_replace(LinkStatus::Offline(reason));
        }
    }

    fn report(&self, link: &mut Link) {
        let stats = *link.session.stats();
        if let Some(metrics) = &self.metrics {
            metrics.add_session_stats(&link.reported, &stats);
        }
        link.reported = stats;
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Some(metrics) = &self.metrics {
            metrics.collections.dec();
            metrics.objects.dec_by(self.objects_reported as i64);
            metrics.log_entries.dec_by(self.log_reported as i64);
        }
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, Collection> {
    // A panic while holding the lock cannot leave a collection half-joined in a way that
    // matters more than losing the whole replica, so a poisoned lock is used as is.
    shared
        .collection
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn sleep_until_ms(epoch: Instant, at: Option<u64>) {
    match at {
        Some(at) => tokio::time::sleep_until(epoch + Duration::from_millis(at)).await,
        None => std::future::pending().await,
    }
}
