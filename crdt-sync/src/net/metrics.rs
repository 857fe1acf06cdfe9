//! [`Metrics`]: the relay's counters, served at `/metrics` for Prometheus.
//!
//! ```
//! use crdt_sync::net::metrics::Metrics;
//!
//! let metrics = Metrics::new();
//! metrics.connections.inc();
//! let text = metrics.render();
//! assert!(text.contains("crdt_relay_connections 1"));
//! assert!(text.ends_with("# EOF\n"));
//! ```
//!
//! The exposition is the OpenMetrics text format (Prometheus's own text format, versioned),
//! written by the `prometheus-client` crate. Counters only grow; gauges are current values.
//! Resident memory is read from `/proc/self/status` when rendering (Linux only).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::session::SessionStats;

type Labels = Vec<(String, String)>;

/// The relay's metrics. Clones of a metric share its value.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Open WebSocket connections.
    pub connections: Gauge,
    /// Connections accepted since start.
    pub connections_accepted: Counter,
    /// Connections refused, by reason.
    pub connections_refused: Family<Labels, Counter>,
    /// Collections open now.
    pub collections: Gauge,
    /// Collections opened since start.
    pub collections_opened: Counter,
    /// Collections closed since start, by reason (`idle`, or `evicted` to make room).
    pub collections_closed: Family<Labels, Counter>,
    /// How long opening a collection took (reading it from the store), in seconds.
    pub open_seconds: Histogram,
    /// Objects held, over all collections.
    pub objects: Gauge,
    /// Deltas held in the collections' logs, waiting for peers to acknowledge them.
    pub log_entries: Gauge,
    /// Objects received in delta frames.
    pub deltas_in: Counter,
    /// Objects sent in delta frames.
    pub deltas_out: Counter,
    /// Frames received.
    pub frames_in: Counter,
    /// Frames sent.
    pub frames_out: Counter,
    /// Bytes received in frames.
    pub bytes_in: Counter,
    /// Bytes sent in frames.
    pub bytes_out: Counter,
    /// Anti-entropy rounds started by the relay.
    pub rounds_started: Counter,
    /// Anti-entropy rounds completed at the relay.
    pub rounds_completed: Counter,
    /// Sessions closed on an error, by error code.
    pub sessions_failed: Family<Labels, Counter>,
    /// Durable store commits.
    pub commits: Counter,
    /// Time spent in store commits.
    pub commit_seconds: Counter<f64, AtomicU64>,
    /// How long each store commit took, in seconds.
    pub commit_latency_seconds: Histogram,
    /// With a shared store (PostgreSQL), how long another relay's commit notification took
    /// to arrive here, in seconds (sender's clock to receiver's: comparable only on hosts
    /// whose clocks are synchronised).
    pub notify_lag_seconds: Histogram,
    resident: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric, all at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("crdt_relay");
        let metrics = Self {
            connections: Gauge::default(),
            connections_accepted: Counter::default(),
            connections_refused: Family::default(),
            collections: Gauge::default(),
            collections_opened: Counter::default(),
            collections_closed: Family::default(),
            open_seconds: latency_histogram(),
            objects: Gauge::default(),
            log_entries: Gauge::default(),
            deltas_in: Counter::default(),
            deltas_out: Counter::default(),
            frames_in: Counter::default(),
            frames_out: Counter::default(),
            bytes_in: Counter::default(),
            bytes_out: Counter::default(),
            rounds_started: Counter::default(),
            rounds_completed: Counter::default(),
            sessions_failed: Family::default(),
            commits: Counter::default(),
            commit_seconds: Counter::default(),
            commit_latency_seconds: latency_histogram(),
            notify_lag_seconds: latency_histogram(),
            resident: Gauge::default(),
            registry: Registry::default(),
        };
        let gauges = [
            (
                "connections",
                "Open WebSocket connections",
                &metrics.connections,
            ),
            ("collections", "Collections open", &metrics.collections),
            (
                "objects",
                "Objects held, over all collections",
                &metrics.objects,
            ),
            (
                "log_entries",
                "Deltas held in logs until peers acknowledge them",
                &metrics.log_entries,
            ),
            (
                "resident_memory_bytes",
                "Resident memory of the process",
                &metrics.resident,
            ),
        ];
        for (name, help, gauge) in gauges {
            registry.register(name, help, gauge.clone());
        }
        let counters = [
            (
                "connections_accepted",
                "Connections accepted",
                &metrics.connections_accepted,
            ),
            (
                "deltas_in",
                "Objects received in delta frames",
                &metrics.deltas_in,
            ),
            (
                "deltas_out",
                "Objects sent in delta frames",
                &metrics.deltas_out,
            ),
            ("frames_in", "Frames received", &metrics.frames_in),
            ("frames_out", "Frames sent", &metrics.frames_out),
            ("bytes_in", "Bytes received in frames", &metrics.bytes_in),
            ("bytes_out", "Bytes sent in frames", &metrics.bytes_out),
            (
                "anti_entropy_rounds_started",
                "Anti-entropy rounds started by this relay",
                &metrics.rounds_started,
            ),
            (
                "anti_entropy_rounds_completed",
                "Anti-entropy rounds completed at this relay",
                &metrics.rounds_completed,
            ),
            ("commits", "Durable store commits", &metrics.commits),
            (
                "collections_opened",
                "Collections opened",
                &metrics.collections_opened,
            ),
        ];
        for (name, help, counter) in counters {
            registry.register(name, help, counter.clone());
        }
        registry.register(
            "commit_seconds",
            "Time spent in durable store commits",
            metrics.commit_seconds.clone(),
        );
        registry.register(
            "collections_closed",
            "Collections closed, by reason",
            metrics.collections_closed.clone(),
        );
        registry.register(
            "collection_open_seconds",
            "Time to open a collection from the store",
            metrics.open_seconds.clone(),
        );
        registry.register(
            "commit_latency_seconds",
            "Time of each durable store commit",
            metrics.commit_latency_seconds.clone(),
        );
        registry.register(
            "store_notification_lag_seconds",
            "Delay of commit notifications from other relays sharing the store",
            metrics.notify_lag_seconds.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections refused, by reason",
            metrics.connections_refused.clone(),
        );
        registry.register(
            "sessions_failed",
            "Sessions closed on an error, by code",
            metrics.sessions_failed.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }

    /// The counter of connections refused for `reason`.
    pub fn refused(&self, reason: &str) -> Counter {
        self.connections_refused
            .get_or_create_owned(&vec![("reason".to_owned(), reason.to_owned())])
    }

    /// Records a collection opened in `took`.
    pub fn collection_opened(&self, took: std::time::Duration) {
        self.collections_opened.inc();
        self.open_seconds.observe(took.as_secs_f64());
    }

    /// Records a collection closed, idle or `evicted` to make room for another.
    pub fn collection_closed(&self, evicted: bool) {
        let reason = if evicted { "evicted" } else { "idle" };
        self.collections_closed
            .get_or_create_owned(&vec![("reason".to_owned(), reason.to_owned())])
            .inc();
    }

    /// The counter of sessions closed with error `code`.
    pub fn session_errors(&self, code: &str) -> Counter {
        self.sessions_failed
            .get_or_create_owned(&vec![("code".to_owned(), code.to_owned())])
    }

    /// Adds what a session did between two snapshots of its counters.
    pub fn add_session_stats(&self, before: &SessionStats, after: &SessionStats) {
        let pairs = [
            (&self.deltas_in, before.deltas_in, after.deltas_in),
            (&self.deltas_out, before.deltas_out, after.deltas_out),
            (&self.frames_in, before.frames_in, after.frames_in),
            (&self.frames_out, before.frames_out, after.frames_out),
            (&self.bytes_in, before.bytes_in, after.bytes_in),
            (&self.bytes_out, before.bytes_out, after.bytes_out),
            (
                &self.rounds_started,
                before.rounds_started,
                after.rounds_started,
            ),
            (
                &self.rounds_completed,
                before.rounds_completed,
                after.rounds_completed,
            ),
        ];
        for (counter, before, after) in pairs {
            counter.inc_by(after.saturating_sub(before));
        }
    }

    /// The exposition, in the OpenMetrics text format.
    pub fn render(&self) -> String {
        if let Some(bytes) = resident_memory_bytes() {
            self.resident.set(i64::try_from(bytes).unwrap_or(i64::MAX));
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// Buckets from 100 µs to about 3 s, doubling: opens and commits take a few milliseconds.
fn latency_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        1e-4, 2.0, 16,
    ))
}

/// The resident set size of this process, from `/proc/self/status` (Linux).
pub fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
