//! A relay holding many small collections, as a cart service uses it: one collection per
//! customer, one counter in each.
//!
//! `cargo build --release -p crdt-sync --bin crdt-relay && cargo run --release -p benches
//! --bin relay-scale [-- --collections N]` (default 100,000; the `postgres` rows need Debian's
//! `postgresql` package, which `cargo xtask test` installs).
//!
//! For each store (redb in a fresh data directory; PostgreSQL in a throwaway cluster with fsync
//! on, under `target/tmp`) the `crdt-relay` binary of the same build runs as its own process
//! with `--max-collections 1000` and default flags otherwise, so its resident memory is its own.
//! This process runs the clients on two tokio workers, sharing the machine's cores with it.
//!
//! 1. **Creation.** `CONCURRENCY` tasks each take the next collection `cart-i`, start a native
//!    `Client` for it, increment its `GCounter`, wait until the relay acknowledged it
//!    (`synced`), and drop the client. Rate = N / wall time; per-collection latency quantiles.
//! 2. **At the end:** the relay's RSS (`/proc/PID/status`) and open collections (its
//!    `/metrics`), after a 2 s pause.
//! 3. **Disk:** the data directory's files (redb), or the growth of `pg_database_size` (the
//!    write-ahead log is not counted), divided by N.
//! 4. **Restart:** the relay is stopped (SIGTERM, then separately SIGKILL) and started again on
//!    the same store; the time from spawning it to its "listening" line, and to a first client
//!    reading a stored cart back (until its value shows).
//! 5. **Cold opens:** `COLD_READS` carts drawn at random, read one after the other by a fresh
//!    client each (connect, `Hello`, open from the store, until the stored value shows):
//!    end-to-end time quantiles, and the relay's own mean open time from its
//!    `collection_open_seconds` histogram.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crdt_core::GCounter;
use crdt_sync::net::client::connect;
use crdt_sync::object_id::ObjectId;
use crdt_sync::simulation::SimRng;
use throwaway_postgres::{Options, Postgres};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

/// Clients creating collections at once.
const CONCURRENCY: usize = 64;
/// Carts read back one at a time after the restart.
const COLD_READS: usize = 1_000;
/// The most collections the relay keeps open (the figures are "with ≤ 1,000 open").
const MAX_OPEN: usize = 1_000;
/// How long one client may take to be acknowledged.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a reader may take to see a stored cart's counter.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let collections = args
        .iter()
        .position(|arg| arg == "--collections")
        .and_then(|at| args.get(at + 1))
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100_000usize);
    let relay_binary = std::env::current_exe()?.with_file_name("crdt-relay");
    if !relay_binary.exists() {
        return Err(format!(
            "{} is missing: run `cargo build --release -p crdt-sync --bin crdt-relay` first",
            relay_binary.display()
        )
        .into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(&relay_binary, collections))
}

async fn run(binary: &Path, collections: usize) -> Res<()> {
    println!(
        "## {collections} one-counter collections on one relay (`--max-collections {MAX_OPEN}`, \
         {CONCURRENCY} clients at a time)\n"
    );
    println!(
        "| store | created/s | create p50 / p99 ms | RSS at end MB | open at end | disk B per collection \
         | restart (SIGTERM) to listening / serving ms | restart (SIGKILL) to listening / serving ms \
         | cold open p50 / p99 ms (client, end to end) | relay mean open ms | reads wrong |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let data = tempfile::tempdir()?;
    let redb = Store::Redb(data.path().to_owned());
    println!("{}", measure(binary, &redb, collections).await?);
    let postgres = Postgres::start(
        &benches::target_dir()?.join("tmp"),
        "pg-relay-scale",
        Options {
            fsync: true,
            ..Options::default()
        },
    )?;
    let pg = Store::Postgres(postgres.url());
    println!("{}", measure(binary, &pg, collections).await?);
    Ok(())
}

enum Store {
    Redb(PathBuf),
    Postgres(String),
}

impl Store {
    fn name(&self) -> &'static str {
        match self {
            Self::Redb(_) => "redb (fsync)",
            Self::Postgres(_) => "postgres (fsync)",
        }
    }

    fn flags(&self) -> Vec<String> {
        match self {
            Self::Redb(dir) => vec!["--data-dir".into(), dir.display().to_string()],
            Self::Postgres(url) => vec!["--store".into(), url.clone()],
        }
    }

    /// Bytes the store occupies now.
    async fn bytes(&self) -> Res<u64> {
        match self {
            Self::Redb(dir) => {
                let mut total = 0;
                for entry in std::fs::read_dir(dir)? {
                    total += entry?.metadata()?.len();
                }
                Ok(total)
            }
            Self::Postgres(url) => {
                let (client, connection) =
                    tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
                tokio::spawn(connection);
                let row = client
                    .query_one("SELECT pg_database_size(current_database())", &[])
                    .await?;
                Ok(u64::try_from(row.get::<_, i64>(0))?)
            }
        }
    }
}

/// The relay as its own process.
struct RelayProcess {
    child: Child,
    addr: String,
}

impl RelayProcess {
    /// Starts it and waits for its "listening" line; returns it and how long that took.
    fn spawn(binary: &Path, listen: &str, store: &Store) -> Res<(Self, Duration)> {
        let started = Instant::now();
        let mut child = Command::new(binary)
            .args([
                "--listen",
                listen,
                "--max-collections",
                &MAX_OPEN.to_string(),
            ])
            .args(store.flags())
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
        let took = started.elapsed();
        let addr = line
            .trim()
            .strip_prefix("crdt-relay listening on http://")
            .ok_or_else(|| format!("unexpected first line {line:?}"))?
            .to_owned();
        Ok((Self { child, addr }, took))
    }

    fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    fn rss_bytes(&self) -> Res<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.split_whitespace().next()?.parse().ok())
            .ok_or("no VmRSS")?;
        Ok(kib * 1024)
    }

    /// Stops it with `signal` ("TERM" or "KILL") and waits until it is gone.
    fn stop(mut self, signal: &str) -> Res<()> {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()?;
        if !status.success() {
            return Err(format!("kill -{signal} failed").into());
        }
        self.child.wait()?;
        Ok(())
    }

    /// Its `/metrics` exposition.
    async fn metrics(&self) -> Res<String> {
        let mut stream = tokio::net::TcpStream::connect(&self.addr).await?;
        let request = format!(
            "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok(String::from_utf8_lossy(&response).into_owned())
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn metric(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

fn hits() -> ObjectId {
    ObjectId::new("hits").expect("a valid id")
}

/// Creates `cart-{index}` with one increment and waits for its acknowledgement.
async fn create(url: &str, index: usize) -> Res<Duration> {
    let started = Instant::now();
    let client = connect(url, &format!("cart-{index}"), "")?;
    client.update(&hits(), |counter: &mut GCounter, me| {
        counter.increment(me, 1)
    })?;
    tokio::time::timeout(ACK_TIMEOUT, client.synced())
        .await
        .map_err(|_| format!("cart-{index} was not acknowledged in time"))?;
    Ok(started.elapsed())
}

/// Reads `cart-{index}` with a fresh client: the time until its counter shows the 1 stored
/// (`synced` alone would not do: it means the relay has what the client has, and a fresh
/// client has nothing), and whether it did within `READ_TIMEOUT`.
async fn read_back(url: &str, index: usize) -> Res<(Duration, bool)> {
    let started = Instant::now();
    let client = connect(url, &format!("cart-{index}"), "")?;
    let mut changes = client.remote_changes();
    let value = || {
        client
            .get_as::<GCounter>(&hits())
            .ok()
            .flatten()
            .map_or(0, |counter| counter.value())
    };
    let deadline = tokio::time::Instant::now() + READ_TIMEOUT;
    while value() != 1 {
        if tokio::time::timeout_at(deadline, changes.changed())
            .await
            .is_err()
        {
            return Ok((started.elapsed(), false));
        }
    }
    Ok((started.elapsed(), true))
}

fn quantile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 * q) as usize).min(sorted.len() - 1);
    sorted[index].as_secs_f64() * 1e3
}

/// Restarts the relay after `signal`; returns it and the times to listening and to serving.
async fn restart(
    binary: &Path,
    relay: RelayProcess,
    store: &Store,
    signal: &str,
    probe: usize,
    wrong: &mut usize,
) -> Res<(RelayProcess, f64, f64)> {
    let addr = relay.addr.clone();
    relay.stop(signal)?;
    let started = Instant::now();
    let (relay, listening) = RelayProcess::spawn(binary, &addr, store)?;
    let (_, right) = read_back(&relay.url(), probe).await?;
    let serving = started.elapsed();
    *wrong += usize::from(!right);
    Ok((
        relay,
        listening.as_secs_f64() * 1e3,
        serving.as_secs_f64() * 1e3,
    ))
}

async fn measure(binary: &Path, store: &Store, n: usize) -> Res<String> {
    let bytes_before = store.bytes().await?;
    let (relay, _) = RelayProcess::spawn(binary, "127.0.0.1:0", store)?;
    let url = Arc::new(relay.url());
    let next = Arc::new(AtomicUsize::new(0));
    let name = store.name();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (url, next) = (url.clone(), next.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= n {
                    return Ok::<_, BoxError>(latencies);
                }
                latencies.push(create(&url, index).await?);
                if index % 10_000 == 9_999 {
                    eprintln!("{name}: {} created", index + 1);
                }
            }
        });
    }
    let mut latencies = Vec::with_capacity(n);
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done??);
    }
    let created_per_s = n as f64 / started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss = relay.rss_bytes()?;
    let open = metric(&relay.metrics().await?, "crdt_relay_collections");
    let per_collection = store.bytes().await?.saturating_sub(bytes_before) as f64 / n as f64;

    let mut rng = SimRng::new(0x5CA1E);
    let mut wrong = 0;
    let (relay, term_listening, term_serving) = restart(
        binary,
        relay,
        store,
        "TERM",
        rng.below(n as u64) as usize,
        &mut wrong,
    )
    .await?;
    let (relay, kill_listening, kill_serving) = restart(
        binary,
        relay,
        store,
        "KILL",
        rng.below(n as u64) as usize,
        &mut wrong,
    )
    .await?;
    let mut cold = Vec::with_capacity(COLD_READS);
    for _ in 0..COLD_READS {
        let (took, right) = read_back(&relay.url(), rng.below(n as u64) as usize).await?;
        cold.push(took);
        wrong += usize::from(!right);
    }
    cold.sort_unstable();
    let metrics = relay.metrics().await?;
    let mean_open_ms = 1e3 * metric(&metrics, "crdt_relay_collection_open_seconds_sum")
        / metric(&metrics, "crdt_relay_collection_open_seconds_count");
    relay.stop("TERM")?;
    Ok(format!(
        "| {} | {created_per_s:.0} | {:.1} / {:.1} | {:.1} | {open:.0} | {per_collection:.0} \
         | {term_listening:.0} / {term_serving:.0} | {kill_listening:.0} / {kill_serving:.0} \
         | {:.2} / {:.2} | {mean_open_ms:.2} | {wrong} |",
        store.name(),
        quantile(&latencies, 0.50),
        quantile(&latencies, 0.99),
        rss as f64 / 1e6,
        quantile(&cold, 0.50),
        quantile(&cold, 0.99),
    ))
}
