//! Loads one in-process relay over loopback WebSockets and prints what it sustains.
//!
//! `cargo run --release -p benches --bin relay-load [-- --quick]` (`--quick`: 2 s runs instead
//! of 10 s, and fewer rows).
//!
//! **Throughput and latency.** N clients (each its own replica, all in this process, on a tokio
//! runtime of two workers) connect to one relay. Client i owns the `GCounter` `s{i}` and
//! increments it at a steady rate, open loop (a timer ticks; it never waits for the relay),
//! noting the instant of its k-th increment in a table shared by all. Every client watches
//! `remote_changes()` and, on each change, reads every other sender's counter v: each k in
//! (last seen, v] is one delivery, whose latency is now − the instant increment k was made.
//! Deliveries/s counts each delta once per receiving client, over the time from the first
//! increment to the last delivery; produced deltas/s is what the senders managed (below the
//! offered rate when they could not keep their pace); drain is the time from the last
//! increment until every client has every delta. The relay keeps its collections in a
//! temporary directory (durable: one fsync per batch) or, in the `memory` rows, in memory.
//! In the `postgres ×2` rows two relays share a throwaway PostgreSQL cluster (fsync on, under
//! `target/`; Debian's `postgresql` package must be installed, as `cargo xtask test` does), and
//! client i connects to relay i mod 2, so half of every sender's deliveries cross from one
//! relay to the other through the database (commit, NOTIFY, catch-up read); their latency is
//! also given alone.
//! From the relay's metrics: frames sent and commits per second, a lower bound on its longest
//! commit (its commit counters sampled every 10 ms), and reconnections during the run.
//!
//! **Offline catch-up.** A reader client goes away, a writer makes 10,000 edits (one
//! `GCounter` increment each, or one `AWSet` add of a fresh element each, spread over 100
//! objects), and once the relay has them all (the writer is synced) the reader comes back;
//! the time until it sees all 10,000 and the bytes it received are printed. The reader
//! reaches the relay through a small TCP proxy in this process, which counts the bytes the
//! reader receives on the wire. "Away" is either `set_online(false)` (the connection closes)
//! or a stalled link (the proxy stops forwarding; the connection stays open). Bytes are
//! counted when the reader has everything and again 1 s later (what a second anti-entropy
//! round still sends). Which path carried the edits shows in the relay's metrics: objects in
//! delta frames (gossip from the log) or anti-entropy rounds.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crdt_core::{AWSet, GCounter};
use crdt_sync::collection::Collection;
use crdt_sync::net::LinkStatus;
use crdt_sync::net::client::{Client, connect};
use crdt_sync::net::relay::{Relay, RelayConfig};
use crdt_sync::object::ObjectType;
use crdt_sync::object_id::ObjectId;
use throwaway_postgres::{Options, Postgres};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

/// How long connecting and warming up may take before a run is abandoned.
const SETUP: Duration = Duration::from_secs(60);
/// How long after the senders stop the receivers may still wait for deltas.
const DRAIN: Duration = Duration::from_secs(20);
/// The edits made while the reader is away.
const EDITS: usize = 10_000;
/// The objects they are spread over.
const OBJECTS: usize = 100;

fn main() -> Res<()> {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(quick))
}

async fn run(quick: bool) -> Res<()> {
    let duration = Duration::from_secs(if quick { 2 } else { 10 });
    println!(
        "## Loopback throughput and latency: one relay, N clients, each incrementing its own \
         GCounter at a paced rate for {} s\n",
        duration.as_secs()
    );
    println!(
        "| relay store | clients | offered deltas/s | produced deltas/s | deliveries/s | delivered \
         | p50 ms | p99 ms | max ms | cross-relay p50 / p99 ms | drain ms | relay frames out/s | relay commits/s | longest commit ms (≥) | reconnects |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let rates: &[u32] = if quick {
        &[200, 2_000]
    } else {
        &[200, 1_000, 2_000, 4_000]
    };
    let postgres = Postgres::start(
        &benches::target_dir()?.join("tmp"),
        "pg-relay-load",
        Options {
            fsync: true,
            ..Options::default()
        },
    )?;
    for store in [LoadStore::Redb, LoadStore::Memory, LoadStore::Postgres] {
        for clients in [10, 100] {
            if store == LoadStore::Postgres && clients == 10 {
                continue;
            }
            for &offered in rates {
                let row =
                    throughput(store, &postgres, clients, f64::from(offered), duration).await?;
                println!("{row}");
            }
        }
        if store == LoadStore::Postgres && !quick {
            // Past the other rows: where two relays on PostgreSQL stop meeting p99 < 50 ms.
            let row = throughput(store, &postgres, 100, 8_000.0, duration).await?;
            println!("{row}");
        }
    }
    drop(postgres);

    println!(
        "\n## Offline catch-up: {EDITS} edits over {OBJECTS} objects made while one client was \
         away (durable relay)\n"
    );
    println!(
        "| edits | away | away ms | relay log entries at return | catch-up ms | bytes to the reader (wire): \
         caught up / +1 s | relay bytes_out Δ from return: caught up / +1 s | relay deltas_out Δ \
         | AE rounds started / completed Δ (relay) | path |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for edits in [Edits::Counter, Edits::Set] {
        for away in [Away::Offline, Away::Stalled] {
            let row = catch_up(edits, away).await?;
            println!("{row}");
        }
    }
    Ok(())
}

/// Where the relays of a throughput row keep the collection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum LoadStore {
    /// One relay, in memory.
    Memory,
    /// One relay, on redb with fsync.
    Redb,
    /// Two relays on one PostgreSQL.
    Postgres,
}

/// One row of the throughput table.
struct LoadRow {
    store: &'static str,
    clients: usize,
    offered: f64,
    produced_per_s: f64,
    deliveries_per_s: f64,
    expected: u64,
    delivered: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    cross_ms: Option<(f64, f64)>,
    drain_ms: Option<f64>,
    frames_out_per_s: f64,
    commits_per_s: f64,
    longest_commit_ms: f64,
    reconnects: f64,
}

impl std::fmt::Display for LoadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let drain = match self.drain_ms {
            Some(ms) => format!("{ms:.0}"),
            None => format!("> {}", DRAIN.as_millis()),
        };
        let cross = match self.cross_ms {
            Some((p50, p99)) => format!("{p50:.1} / {p99:.1}"),
            None => "–".into(),
        };
        write!(
            f,
            "| {} | {} | {:.0} | {:.0} | {:.0} | {:.2}% | {:.1} | {:.1} | {:.1} | {cross} | {drain} | {:.0} | {:.0} | {:.1} | {:.0} |",
            self.store,
            self.clients,
            self.offered,
            self.produced_per_s,
            self.deliveries_per_s,
            100.0 * self.delivered as f64 / self.expected.max(1) as f64,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.frames_out_per_s,
            self.commits_per_s,
            self.longest_commit_ms,
            self.reconnects,
        )
    }
}

/// The relays of a throughput row: one (durable or in memory) or two on `postgres`.
async fn start_relays(
    store: LoadStore,
    postgres: &Postgres,
) -> Res<(Vec<Relay>, Option<tempfile::TempDir>)> {
    if store != LoadStore::Postgres {
        let (relay, dir) = start_relay(store == LoadStore::Redb).await?;
        return Ok((vec![relay], dir));
    }
    let mut relays = Vec::new();
    for _ in 0..2 {
        relays.push(
            Relay::start(RelayConfig {
                listen: "127.0.0.1:0".parse()?,
                store_url: Some(postgres.url()),
                ..RelayConfig::default()
            })
            .await?,
        );
    }
    Ok((relays, None))
}

/// The sum over `relays` of one metric.
fn metric_sum(relays: &[Relay], name: &str) -> f64 {
    relays.iter().map(|relay| metric(relay, name)).sum()
}

/// A relay on a free loopback port, durable in a fresh temporary directory or in memory.
async fn start_relay(durable: bool) -> Res<(Relay, Option<tempfile::TempDir>)> {
    let dir = if durable {
        Some(tempfile::tempdir()?)
    } else {
        None
    };
    let relay = Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.as_ref().map(|dir| dir.path().to_path_buf()),
        ..RelayConfig::default()
    })
    .await?;
    Ok((relay, dir))
}

/// One value of the relay's metrics (`name` as exposed: counters end in `_total`).
fn metric(relay: &Relay, name: &str) -> f64 {
    relay
        .metrics()
        .render()
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

/// The value of the `GCounter` `id` (0 if absent).
fn counter(collection: &Collection, id: &ObjectId) -> u64 {
    collection
        .get_as::<GCounter>(id)
        .ok()
        .flatten()
        .map_or(0, |counter| {
            u64::try_from(counter.value()).unwrap_or(u64::MAX)
        })
}

/// Reads the counter of every sender into `values` (by sender). When the collection holds
/// exactly the senders' counters, as after the warm-up, it walks it once in id order (`order`
/// lists the senders by id) rather than looking each id up, to keep the receivers' own cost,
/// which shares the two cores with the relay, low.
fn read_counters(collection: &Collection, ids: &[ObjectId], order: &[usize], values: &mut [u64]) {
    if collection.len() == ids.len() {
        for ((id, object), &sender) in collection.iter().zip(order) {
            debug_assert_eq!(id, &ids[sender]);
            values[sender] = GCounter::as_object(object).map_or(0, |counter| {
                u64::try_from(counter.value()).unwrap_or(u64::MAX)
            });
        }
    } else {
        for (value, id) in values.iter_mut().zip(ids) {
            *value = counter(collection, id);
        }
    }
}

/// Polls `done` every 5 ms until it holds, for at most `limit`.
async fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) -> Res<()> {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() >= deadline {
            return Err(format!("timed out after {limit:?} waiting until {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// Nanoseconds since `epoch`.
fn nanos(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// What one receiving client saw.
struct Seen {
    /// Latency of each delivery, in microseconds.
    latencies: Vec<u32>,
    /// Latency of each delivery from a sender on another relay, in microseconds.
    cross: Vec<u32>,
    /// When it had everything (ns since the epoch), if it did in time.
    complete_at: Option<u64>,
    /// When it saw its last new delta (ns since the epoch).
    last_delivery: u64,
}

async fn throughput(
    store: LoadStore,
    postgres: &Postgres,
    n: usize,
    offered: f64,
    duration: Duration,
) -> Res<LoadRow> {
    let (relays, _dir) = start_relays(store, postgres).await?;
    let urls: Vec<String> = relays
        .iter()
        .map(|relay| format!("ws://{}", relay.local_addr()))
        .collect();
    // A collection of its own per row: the PostgreSQL rows share one database.
    static ROW: AtomicU64 = AtomicU64::new(0);
    let collection = format!("load-{}", ROW.fetch_add(1, Ordering::Relaxed));
    let relay_of = |i: usize| i % relays.len();
    let clients = (0..n)
        .map(|i| connect(&urls[relay_of(i)], &collection, ""))
        .collect::<Result<Vec<Client>, _>>()?;
    let ids: Arc<Vec<ObjectId>> = Arc::new(
        (0..n)
            .map(|i| ObjectId::new(format!("s{i}")))
            .collect::<Result<_, _>>()?,
    );
    for client in &clients {
        tokio::time::timeout(SETUP, client.synced())
            .await
            .map_err(|_| "a client did not connect")?;
    }
    // Warm-up, not measured: every counter at 1, seen by every client.
    for (i, client) in clients.iter().enumerate() {
        client.update(&ids[i], |c: &mut GCounter, me| c.increment(me, 1))?;
    }
    wait_until(SETUP, "every client sees every counter", || {
        clients.iter().all(|client| {
            client.read(|collection| ids.iter().all(|id| counter(collection, id) >= 1))
        })
    })
    .await?;

    // Each sender makes `count` increments, k = 2..=count + 1, one per `period`.
    let per_sender = offered / n as f64;
    let period = Duration::from_secs_f64(1.0 / per_sender);
    let count = ((duration.as_secs_f64() * per_sender).round() as usize).max(1);
    let target = count as u64 + 1;
    let sent_at: Arc<Vec<Vec<AtomicU64>>> = Arc::new(
        (0..n)
            .map(|_| (0..=count + 1).map(|_| AtomicU64::new(0)).collect())
            .collect(),
    );
    // The senders' counters in the collection's (id) order, to read them in one pass.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| ids[a].cmp(&ids[b]));
    let order = Arc::new(order);
    let epoch = Instant::now();
    let start = epoch + Duration::from_millis(50);
    let start_ns = 50_000_000u64;
    let deadline = start + duration + DRAIN;
    let commits_before = metric_sum(&relays, "crdt_relay_commits_total");
    let frames_before = metric_sum(&relays, "crdt_relay_frames_out_total");
    let accepted_before = metric_sum(&relays, "crdt_relay_connections_accepted_total");
    // Samples each relay's commit counters every 10 ms: n commits that took s seconds between
    // two samples mean one of them took at least s / n.
    let sampling = Arc::new(AtomicBool::new(true));
    let samplers: Vec<_> = relays
        .iter()
        .map(|relay| {
            let (commits, seconds) = (
                relay.metrics().commits.clone(),
                relay.metrics().commit_seconds.clone(),
            );
            let sampling = sampling.clone();
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(Duration::from_millis(10));
                let (mut count, mut spent) = (commits.get(), seconds.get());
                let mut longest = 0.0f64;
                while sampling.load(Ordering::Relaxed) {
                    ticks.tick().await;
                    let (now_count, now_spent) = (commits.get(), seconds.get());
                    if now_count > count {
                        longest = longest.max((now_spent - spent) / (now_count - count) as f64);
                    }
                    (count, spent) = (now_count, now_spent);
                }
                longest
            })
        })
        .collect();

    let mut receivers = JoinSet::new();
    for (me, client) in clients.iter().enumerate() {
        let (client, ids, sent_at) = (client.clone(), ids.clone(), sent_at.clone());
        let order = order.clone();
        let relays = relays.len();
        receivers.spawn(async move {
            let mut changes = client.remote_changes();
            let mut last = vec![1u64; n];
            last[me] = target;
            let mut values = vec![0u64; n];
            let mut seen = Seen {
                latencies: Vec::new(),
                cross: Vec::new(),
                complete_at: None,
                last_delivery: 0,
            };
            loop {
                client.read(|collection| read_counters(collection, &ids, &order, &mut values));
                let now = nanos(epoch);
                for (j, (last, &value)) in last.iter_mut().zip(&values).enumerate() {
                    let value = value.min(target);
                    while *last < value {
                        *last += 1;
                        let sent = sent_at[j][*last as usize].load(Ordering::Acquire);
                        let micros = now.saturating_sub(sent) / 1_000;
                        let micros = u32::try_from(micros).unwrap_or(u32::MAX);
                        seen.latencies.push(micros);
                        if j % relays != me % relays {
                            seen.cross.push(micros);
                        }
                        seen.last_delivery = now;
                    }
                }
                if last.iter().all(|&last| last >= target) {
                    seen.complete_at = Some(now);
                    break;
                }
                let deadline = tokio::time::Instant::from_std(deadline);
                match tokio::time::timeout_at(deadline, changes.changed()).await {
                    Ok(Ok(())) => {}
                    _ => break,
                }
            }
            seen
        });
    }

    let mut senders = JoinSet::new();
    for (i, client) in clients.iter().enumerate() {
        let (client, ids, sent_at) = (client.clone(), ids.clone(), sent_at.clone());
        // Staggered, so that the senders do not all tick together.
        let offset = period.mul_f64(i as f64 / n as f64);
        let first = start + offset;
        let first_ns = start_ns + u64::try_from(offset.as_nanos()).unwrap_or(u64::MAX);
        senders.spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::from_std(first), period);
            let mut last_sent = first_ns;
            for k in 2..=count + 1 {
                ticks.tick().await;
                last_sent = nanos(epoch);
                sent_at[i][k].store(last_sent, Ordering::Release);
                client.update(&ids[i], |c: &mut GCounter, me| c.increment(me, 1))?;
            }
            // How long this sender took for its `count` increments, one period each.
            let span = last_sent.saturating_sub(first_ns) + u64::try_from(period.as_nanos())?;
            Ok::<_, BoxError>((span, last_sent))
        });
    }
    // The longest a sender took: `duration` if every one kept its pace.
    let (mut send_span, mut last_send) = (0, 0);
    while let Some(sent) = senders.join_next().await {
        let (span, last) = sent??;
        send_span = send_span.max(span);
        last_send = last_send.max(last);
    }
    let (mut latencies, mut cross) = (Vec::new(), Vec::new());
    let (mut complete, mut last_delivery, mut all_complete) = (0, 0, true);
    while let Some(seen) = receivers.join_next().await {
        let seen = seen?;
        latencies.extend_from_slice(&seen.latencies);
        cross.extend_from_slice(&seen.cross);
        last_delivery = last_delivery.max(seen.last_delivery);
        match seen.complete_at {
            Some(at) => complete = complete.max(at),
            None => all_complete = false,
        }
    }
    let commits = metric_sum(&relays, "crdt_relay_commits_total") - commits_before;
    let frames_out = metric_sum(&relays, "crdt_relay_frames_out_total") - frames_before;
    let reconnects = metric_sum(&relays, "crdt_relay_connections_accepted_total") - accepted_before;
    sampling.store(false, Ordering::Relaxed);
    let mut longest_commit = 0.0f64;
    for sampler in samplers {
        longest_commit = longest_commit.max(sampler.await?);
    }
    drop(clients);
    for relay in relays {
        let _ = tokio::time::timeout(Duration::from_secs(10), relay.shutdown()).await;
    }

    latencies.sort_unstable();
    cross.sort_unstable();
    let quantile_of = |sorted: &[u32], q: f64| -> f64 {
        if sorted.is_empty() {
            return f64::NAN;
        }
        let index = ((sorted.len() as f64 * q) as usize).min(sorted.len() - 1);
        f64::from(sorted[index]) / 1_000.0
    };
    let quantile = |q: f64| quantile_of(&latencies, q);
    let delivery_span = last_delivery.saturating_sub(start_ns) as f64 / 1e9;
    Ok(LoadRow {
        store: match store {
            LoadStore::Redb => "redb (fsync)",
            LoadStore::Memory => "memory",
            LoadStore::Postgres => "postgres ×2 relays",
        },
        clients: n,
        offered,
        produced_per_s: (n * count) as f64 / (send_span as f64 / 1e9),
        deliveries_per_s: latencies.len() as f64 / delivery_span.max(1e-9),
        expected: (n * (n - 1) * count) as u64,
        delivered: latencies.len() as u64,
        p50_ms: quantile(0.50),
        p99_ms: quantile(0.99),
        max_ms: latencies
            .last()
            .map_or(f64::NAN, |&max| f64::from(max) / 1_000.0),
        cross_ms: (store == LoadStore::Postgres)
            .then(|| (quantile_of(&cross, 0.50), quantile_of(&cross, 0.99))),
        drain_ms: all_complete.then(|| complete.saturating_sub(last_send) as f64 / 1e6),
        frames_out_per_s: frames_out / delivery_span.max(1e-9),
        commits_per_s: commits / delivery_span.max(1e-9),
        longest_commit_ms: longest_commit * 1e3,
        reconnects,
    })
}

/// What the writer makes while the reader is away.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Edits {
    /// One `GCounter` increment per edit (they collapse into 100 small counters).
    Counter,
    /// One `AWSet<String>` add of a fresh element per edit (10,000 distinct elements).
    Set,
}

/// How the reader is away.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Away {
    /// `set_online(false)`: its connection closes.
    Offline,
    /// Its link stalls: the connection stays open but nothing moves either way.
    Stalled,
}

/// One row of the catch-up table.
struct CatchUpRow {
    edits: Edits,
    away: Away,
    away_ms: f64,
    log_entries: f64,
    millis: f64,
    wire_bytes: u64,
    wire_bytes_settled: u64,
    bytes_out: f64,
    bytes_out_settled: f64,
    deltas_out: f64,
    rounds_started: f64,
    rounds_completed: f64,
}

impl std::fmt::Display for CatchUpRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let edits = match self.edits {
            Edits::Counter => "GCounter increments",
            Edits::Set => "AWSet adds",
        };
        let away = match self.away {
            Away::Offline => "set_online(false)",
            Away::Stalled => "link stalled, still connected",
        };
        let path = match (self.deltas_out > 0.0, self.rounds_completed > 0.0) {
            (true, false) => "gossip (log)",
            (false, true) => "anti-entropy",
            (true, true) => "gossip + anti-entropy",
            (false, false) => "?",
        };
        write!(
            f,
            "| {EDITS} {edits} | {away} | {:.0} | {:.0} | {:.1} | {} / {} | {:.0} / {:.0} | {:.0} | {:.0} / {:.0} | {path} |",
            self.away_ms,
            self.log_entries,
            self.millis,
            self.wire_bytes,
            self.wire_bytes_settled,
            self.bytes_out,
            self.bytes_out_settled,
            self.deltas_out,
            self.rounds_started,
            self.rounds_completed,
        )
    }
}

/// The relay counters the catch-up table compares.
#[derive(Clone, Copy)]
struct Snapshot {
    bytes_out: f64,
    deltas_out: f64,
    rounds_started: f64,
    rounds_completed: f64,
}

impl Snapshot {
    fn of(relay: &Relay) -> Self {
        Self {
            bytes_out: metric(relay, "crdt_relay_bytes_out_total"),
            deltas_out: metric(relay, "crdt_relay_deltas_out_total"),
            rounds_started: metric(relay, "crdt_relay_anti_entropy_rounds_started_total"),
            rounds_completed: metric(relay, "crdt_relay_anti_entropy_rounds_completed_total"),
        }
    }
}

/// How many edits `client` has of the writer's: the sum of the counters, or of the set sizes.
fn edits_seen(client: &Client, edits: Edits, ids: &[ObjectId]) -> usize {
    client.read(|collection| {
        ids.iter()
            .map(|id| match edits {
                Edits::Counter => counter(collection, id) as usize,
                Edits::Set => collection
                    .get_as::<AWSet<String>>(id)
                    .ok()
                    .flatten()
                    .map_or(0, AWSet::len),
            })
            .sum()
    })
}

async fn catch_up(edits: Edits, away: Away) -> Res<CatchUpRow> {
    let (relay, _dir) = start_relay(true).await?;
    let proxy = Proxy::start(relay.local_addr()).await?;
    let reader = connect(&format!("ws://{}", proxy.addr), "catch-up", "")?;
    let writer = connect(&format!("ws://{}", relay.local_addr()), "catch-up", "")?;
    for client in [&reader, &writer] {
        tokio::time::timeout(SETUP, client.synced())
            .await
            .map_err(|_| "a client did not connect")?;
    }
    let ids: Vec<ObjectId> = (0..OBJECTS)
        .map(|i| ObjectId::new(format!("o{i}")))
        .collect::<Result<_, _>>()?;

    let before = Snapshot::of(&relay);
    let away_since = Instant::now();
    match away {
        Away::Offline => {
            reader.set_online(false);
            wait_until(SETUP, "the reader is offline", || {
                matches!(reader.status(), LinkStatus::Offline(_))
                    && metric(&relay, "crdt_relay_connections") == 1.0
            })
            .await?;
        }
        Away::Stalled => {
            proxy.paused.send_replace(true);
        }
    }
    for edit in 0..EDITS {
        let id = &ids[edit % OBJECTS];
        match edits {
            Edits::Counter => {
                writer.update(id, |c: &mut GCounter, me| c.increment(me, 1))?;
            }
            Edits::Set => {
                writer.update(id, |s: &mut AWSet<String>, me| {
                    s.add(me, format!("e{edit}"))
                })?;
            }
        }
        if edit % 100 == 99 {
            tokio::task::yield_now().await;
        }
    }
    tokio::time::timeout(SETUP, writer.synced())
        .await
        .map_err(|_| "the writer did not sync")?;
    // Let the relay settle (log trimming follows the writer's acknowledgements).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log_entries = metric(&relay, "crdt_relay_log_entries");
    let at_return = Snapshot::of(&relay);
    let wire_before = proxy.to_client.load(Ordering::Relaxed);
    let mut changes = reader.remote_changes();

    let started = Instant::now();
    let away_ms = (started - away_since).as_secs_f64() * 1e3;
    match away {
        Away::Offline => reader.set_online(true),
        Away::Stalled => {
            proxy.paused.send_replace(false);
        }
    }
    let deadline = tokio::time::Instant::from_std(started + SETUP);
    while edits_seen(&reader, edits, &ids) < EDITS {
        tokio::time::timeout_at(deadline, changes.changed())
            .await
            .map_err(|_| "the reader did not catch up in time")??;
    }
    let millis = started.elapsed().as_secs_f64() * 1e3;
    let after = Snapshot::of(&relay);
    let wire_bytes = proxy.to_client.load(Ordering::Relaxed) - wire_before;
    // What still arrives after the reader has everything (a second round's answers, acks).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let settled = Snapshot::of(&relay);
    let wire_bytes_settled = proxy.to_client.load(Ordering::Relaxed) - wire_before;
    drop((reader, writer));
    let _ = tokio::time::timeout(Duration::from_secs(10), relay.shutdown()).await;
    Ok(CatchUpRow {
        edits,
        away,
        away_ms,
        log_entries,
        millis,
        wire_bytes,
        wire_bytes_settled,
        bytes_out: after.bytes_out - at_return.bytes_out,
        bytes_out_settled: settled.bytes_out - at_return.bytes_out,
        deltas_out: settled.deltas_out - before.deltas_out,
        rounds_started: settled.rounds_started - before.rounds_started,
        rounds_completed: settled.rounds_completed - before.rounds_completed,
    })
}

/// A loopback TCP proxy that counts the bytes it forwards to its clients and can stall.
struct Proxy {
    addr: SocketAddr,
    to_client: Arc<AtomicU64>,
    paused: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Res<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let to_client = Arc::new(AtomicU64::new(0));
        let (paused, paused_receiver) = watch::channel(false);
        let counted = to_client.clone();
        let task = tokio::spawn(async move {
            // Dropped with the task, which aborts every pump.
            let mut pumps = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                // The proxy must not add Nagle delays of its own.
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                pumps.spawn(pump(
                    client_read,
                    server_write,
                    None,
                    paused_receiver.clone(),
                ));
                pumps.spawn(pump(
                    server_read,
                    client_write,
                    Some(counted.clone()),
                    paused_receiver.clone(),
                ));
                while pumps.try_join_next().is_some() {}
            }
        });
        Ok(Self {
            addr,
            to_client,
            paused,
            task,
        })
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies `from` to `to` while not paused, counting what it writes.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    counted: Option<Arc<AtomicU64>>,
    mut paused: watch::Receiver<bool>,
) {
    let mut buffer = vec![0; 64 << 10];
    loop {
        if paused.wait_for(|paused| !paused).await.is_err() {
            break;
        }
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        // A chunk read just before a pause is held until the pause ends.
        if paused.wait_for(|paused| !paused).await.is_err() {
            break;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
        if let Some(counted) = &counted {
            counted.fetch_add(read as u64, Ordering::Relaxed);
        }
    }
    let _ = to.shutdown().await;
}
