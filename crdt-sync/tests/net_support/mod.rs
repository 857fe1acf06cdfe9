//! Helpers for the network tests: relays on loopback ports, clients, bounded waits.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use crdt_sync::net::client::{Client, ClientConfig};
use crdt_sync::net::dialer::Backoff;
use crdt_sync::net::limits::NetLimits;
use crdt_sync::net::relay::{Relay, RelayConfig};

/// Where a test relay keeps its collections. PostgreSQL is a throwaway cluster of its own
/// under `target/`, stopped and deleted when this is dropped.
pub enum TestStore {
    /// Nothing stored: collections live in memory.
    Memory,
    /// A redb database in a temporary directory.
    Redb(tempfile::TempDir),
    /// A private PostgreSQL server.
    Postgres(throwaway_postgres::Postgres),
}

impl TestStore {
    /// A fresh redb data directory.
    pub fn redb() -> Self {
        Self::Redb(tempfile::tempdir().expect("a temporary directory"))
    }

    /// A fresh PostgreSQL cluster named `name` (unique among the tests of one binary).
    pub fn postgres(name: &str) -> Self {
        Self::Postgres(postgres_cluster(name))
    }

    /// Points `config` at this store.
    pub fn configure(&self, config: &mut RelayConfig) {
        match self {
            Self::Memory => {}
            Self::Redb(dir) => config.data_dir = Some(dir.path().to_owned()),
            Self::Postgres(postgres) => config.store_url = Some(postgres.url()),
        }
    }

    /// The `crdt-relay` flags that select this store.
    pub fn flags(&self) -> Vec<String> {
        match self {
            Self::Memory => Vec::new(),
            Self::Redb(dir) => vec!["--data-dir".into(), dir.path().display().to_string()],
            Self::Postgres(postgres) => vec!["--store".into(), postgres.url()],
        }
    }
}

/// Runs each async test case `case(store: TestStore)` twice, as `on_redb::case` and
/// `on_postgres::case` (a cluster of its own, named after the file's `$prefix` and the case).
#[allow(unused_macros)]
macro_rules! on_redb_and_postgres {
    ($prefix:literal, $($case:ident),* $(,)?) => {
        mod on_redb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::TestStore::redb()).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let name = concat!($prefix, "-", stringify!($case));
                    super::$case(super::TestStore::postgres(name)).await;
                }
            )*
        }
    };
}

/// Runs each async test case `case(store: TestStore)` three times: `in_memory::case`,
/// `on_redb::case` and `on_postgres::case`.
#[allow(unused_macros)]
macro_rules! on_every_store {
    ($prefix:literal, $($case:ident),* $(,)?) => {
        mod in_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::TestStore::Memory).await;
                }
            )*
        }
        on_redb_and_postgres!($prefix, $($case),*);
    };
}

/// A private PostgreSQL cluster in `target/tmp/pg-NAME`; fails the test, saying how to
/// install PostgreSQL, when it cannot start.
pub fn postgres_cluster(name: &str) -> throwaway_postgres::Postgres {
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    throwaway_postgres::Postgres::start(
        root,
        &format!("pg-{name}"),
        throwaway_postgres::Options::default(),
    )
    .unwrap_or_else(|error| panic!("cannot start PostgreSQL: {error}"))
}

/// A relay on a free loopback port, in memory, open, peering with `peers`.
pub async fn relay(peers: Vec<String>) -> Relay {
    Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        peers,
        anti_entropy_every_ms: 2_000,
        ..RelayConfig::default()
    })
    .await
    .expect("relay starts")
}

/// The WebSocket URL of a relay.
pub fn url(relay: &Relay) -> String {
    format!("ws://{}", relay.local_addr())
}

/// A client of `collection` at `url` with quick reconnection.
pub fn client(url: &str, collection: &str, token: &str) -> Client {
    Client::start(ClientConfig {
        backoff: Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(500),
        },
        anti_entropy_every_ms: 2_000,
        limits: NetLimits::default(),
        ..ClientConfig::new(url, collection, token)
    })
    .expect("client starts")
}

/// Polls `check` every 20 ms until it holds, failing the test after `secs` seconds.
pub async fn eventually<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The relay binary running as its own process; killed (SIGKILL) when dropped, so a failing
/// test leaves no relay behind.
pub struct RelayProcess {
    pub child: std::process::Child,
    /// The address it bound.
    pub addr: String,
}

impl RelayProcess {
    /// Starts `crdt-relay --listen LISTEN [--data-dir DIR]` and reads the address it bound.
    pub fn spawn(listen: &str, data_dir: Option<&std::path::Path>) -> Self {
        let flags: Vec<String> = data_dir
            .map(|dir| vec!["--data-dir".into(), dir.display().to_string()])
            .unwrap_or_default();
        Self::spawn_with(listen, &flags)
    }

    /// Starts `crdt-relay --listen LISTEN FLAGS…` and reads the address it bound.
    pub fn spawn_with(listen: &str, flags: &[String]) -> Self {
        use std::io::BufRead;
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_crdt-relay"));
        command.args(["--listen", listen]).args(flags);
        let mut child = command
            .env(
                "RUST_LOG",
                std::env::var("RELAY_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the relay binary starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout is piped"))
            .read_line(&mut line)
            .expect("the relay prints its address");
        let addr = line
            .trim()
            .strip_prefix("crdt-relay listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, addr }
    }

    /// Kills it with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Its resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the relay process is alive");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.split_whitespace().next()?.parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A plain HTTP GET of `path` at `addr`: the status code and the body.
pub async fn http_get(addr: &str, path: &str) -> (u16, String) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let (head, body) = http_exchange(addr, &request).await;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("an HTTP status line");
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Sends `request` to `addr` and reads the answer until the server closes: the status line
/// and headers, and the body's bytes (as sent: chunked or compressed if it was).
pub async fn http_exchange(addr: &str, request: &str) -> (String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("the server answers in time")
        .unwrap();
    let end = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&response[..end]).into_owned();
    (head, response[end + 4..].to_vec())
}

/// The value of the metric `name` in a `/metrics` exposition.
pub fn metric_value(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no metric {name} in\n{metrics}"))
}
