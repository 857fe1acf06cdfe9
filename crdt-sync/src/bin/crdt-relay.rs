//! `crdt-relay`: the sync server of the CRDT toolkit. Run `crdt-relay --help` for the flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use crdt_sync::net::access::AccessRules;
use crdt_sync::net::limits::NetLimits;
use crdt_sync::net::relay::{Relay, RelayConfig};
use tracing_subscriber::EnvFilter;

/// Relays CRDT collections between clients (native or browser) over WebSockets, keeps them in
/// a data directory, and replicates them with other relays.
///
/// Endpoints on one port: `/sync` (the WebSocket sync protocol), `/metrics` (Prometheus), and
/// with --static the files of a directory (a web app).
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Args {
    /// The address to listen on. Keep it on 127.0.0.1 unless a TLS proxy fronts the relay.
    #[arg(long, default_value = "127.0.0.1:8080", env = "CRDT_RELAY_LISTEN")]
    listen: SocketAddr,

    /// Where collections are stored: one redb database (crdt-relay.db) for all of them; a
    /// directory of the earlier layout (a .redb file per collection) is migrated on start.
    /// Without it, everything is kept in memory and lost on exit.
    #[arg(long, env = "CRDT_RELAY_DATA_DIR", conflicts_with = "store")]
    data_dir: Option<PathBuf>,

    /// Keep collections in PostgreSQL instead, as postgres://USER[:PASSWORD]@HOST[:PORT]/DB
    /// (the schema is created or upgraded on start). Any number of relays on one database
    /// serve the same collections at once, behind any TCP load balancer.
    #[arg(long, value_name = "URL", env = "CRDT_RELAY_STORE")]
    store: Option<String>,

    /// The most memory the data directory's page cache may hold, in MiB (pages of the
    /// database read or written recently; with --data-dir).
    #[arg(long, default_value_t = RelayConfig::default().store_cache_bytes >> 20)]
    cache_mib: usize,

    /// Serve the files of this directory over HTTP (for example the demo web app), gzipped
    /// for clients that accept it.
    #[arg(long = "static", value_name = "DIR")]
    static_dir: Option<PathBuf>,

    /// Grant access: RIGHTS:COLLECTION:TOKEN, RIGHTS being rw (read-write) or ro (read-only),
    /// COLLECTION a name or * for all, TOKEN what clients present (may be empty). Repeatable.
    /// With no rule at all (here or in --access-file) every collection is open to everyone.
    #[arg(long = "access", value_name = "RIGHTS:COLLECTION:TOKEN")]
    access: Vec<String>,

    /// A TOML file of access rules: [[access]] tables with collection, token, rights ("rw" or
    /// "ro").
    #[arg(long, value_name = "FILE")]
    access_file: Option<PathBuf>,

    /// Another relay to replicate every collection with, as ws://host:port. Repeatable.
    #[arg(long = "peer", value_name = "URL")]
    peers: Vec<String>,

    /// The token this relay presents to its peers.
    #[arg(long, default_value = "", env = "CRDT_RELAY_PEER_TOKEN")]
    peer_token: String,

    /// The largest WebSocket frame accepted or sent, in bytes.
    #[arg(long, default_value_t = NetLimits::default().max_frame_bytes)]
    max_frame_bytes: usize,

    /// The most objects a collection may hold.
    #[arg(long, default_value_t = NetLimits::default().max_objects)]
    max_objects: usize,

    /// The largest encoded size of one object, in bytes (at most half a frame, less 64 KiB).
    #[arg(long, default_value_t = NetLimits::default().max_object_bytes)]
    max_object_bytes: usize,

    /// The most bytes queued for one connection; while it is full, nothing more is sent there.
    #[arg(long, default_value_t = NetLimits::default().max_queue_bytes)]
    max_queue_bytes: usize,

    /// Disconnect a peer whose full queue has not drained for this many seconds.
    #[arg(long, default_value_t = NetLimits::default().max_write_stall.as_secs())]
    max_write_stall_secs: u64,

    /// Close a connection silent (no frame, no pong) for this many seconds.
    #[arg(long, default_value_t = NetLimits::default().idle_timeout.as_secs())]
    idle_timeout_secs: u64,

    /// Close a new connection that sends no handshake within this many seconds.
    #[arg(long, default_value_t = NetLimits::default().handshake_timeout.as_secs())]
    handshake_timeout_secs: u64,

    /// The most simultaneous connections; more get HTTP 503.
    #[arg(long, default_value_t = NetLimits::default().max_connections)]
    max_connections: usize,

    /// The most collections open at once. Past it the least recently used idle one is
    /// closed to make room; a new collection is refused only when every open one is in use.
    /// Without a store (--data-dir or --store) nothing can close, and it caps every
    /// collection ever held.
    #[arg(long, default_value_t = NetLimits::default().max_collections)]
    max_collections: usize,

    /// Close a stored collection this many seconds after its last session left, freeing its
    /// memory; the next session reopens it (with --data-dir or --store).
    #[arg(long, default_value_t = RelayConfig::default().idle_close.as_secs())]
    idle_close_secs: u64,

    /// Run anti-entropy on every connection this often, in seconds (0: only on connect and
    /// when a peer lags).
    #[arg(long, default_value_t = 60)]
    anti_entropy_secs: u64,

    /// Log format: text or json. The level comes from RUST_LOG (default: info).
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.log_format == "json" {
        logs.json().init();
    } else {
        logs.init();
    }
    let config = match config(&args) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("crdt-relay: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("crdt-relay: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let relay = match Relay::start(config).await {
            Ok(relay) => relay,
            Err(error) => {
                eprintln!("crdt-relay: {error}");
                return ExitCode::FAILURE;
            }
        };
        // Scripts and tests read the bound address (the port may have been 0) from this line.
        println!("crdt-relay listening on http://{}", relay.local_addr());
        shutdown_signal().await;
        tracing::info!("shutting down");
        relay.shutdown().await;
        ExitCode::SUCCESS
    })
}

fn config(args: &Args) -> Result<RelayConfig, String> {
    let mut access = AccessRules::default();
    for rule in &args.access {
        access.add_flag(rule).map_err(|error| error.to_string())?;
    }
    if let Some(file) = &args.access_file {
        access.add_file(file).map_err(|error| error.to_string())?;
    }
    let limits = NetLimits {
        max_frame_bytes: args.max_frame_bytes,
        max_objects: args.max_objects,
        max_object_bytes: args.max_object_bytes,
        max_queue_bytes: args.max_queue_bytes,
        max_write_stall: Duration::from_secs(args.max_write_stall_secs),
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
        handshake_timeout: Duration::from_secs(args.handshake_timeout_secs),
        max_connections: args.max_connections,
        max_collections: args.max_collections,
    };
    limits.validate()?;
    Ok(RelayConfig {
        listen: args.listen,
        data_dir: args.data_dir.clone(),
        store_url: args.store.clone(),
        store_cache_bytes: args.cache_mib.saturating_mul(1 << 20),
        static_dir: args.static_dir.clone(),
        access,
        peers: args.peers.clone(),
        peer_token: args.peer_token.clone(),
        limits,
        anti_entropy_every_ms: args.anti_entropy_secs.saturating_mul(1000),
        idle_close: Duration::from_secs(args.idle_close_secs),
    })
}

/// Waits for Ctrl-C, or SIGTERM (what service managers and `kill` send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
