//! [`Relay`]: the server. One HTTP port serves the WebSocket endpoint (`/sync`), the metrics
//! (`/metrics`) and, optionally, a static web page; collections persist in a data directory and
//! replicate with other relays.
//!
//! ```no_run
//! use crdt_sync::net::relay::{Relay, RelayConfig};
//!
//! # async fn demo() -> Result<(), crdt_sync::net::net_error::NetError> {
//! let mut config = RelayConfig::default(); // 127.0.0.1:8080, in memory, open to everyone
//! config.data_dir = Some("relay-data".into());
//! config.access.add_flag("rw:carts:team-secret")?;
//! config.peers.push("ws://10.0.0.2:8080".into());
//! let relay = Relay::start(config).await?;
//! println!("listening on {}", relay.local_addr());
//! relay.wait().await;
//! # Ok(()) }
//! ```
//!
//! **A connection's life.** The relay reads the first frame, which must be a `Hello`, within the
//! handshake timeout, and checks the token against the [`AccessRules`] before it touches any
//! collection: a client with no access gets an `Unauthorized` error frame and learns nothing,
//! not even whether the collection exists. Then the collection is opened (from the store, or
//! created) and the connection is attached to its hub.
//!
//! **Open on demand, closed when idle.** A relay starts with nothing open, whatever its store
//! holds, and opens a collection when a session names it; other collections keep serving
//! meanwhile. A stored collection with no session is closed after
//! [`RelayConfig::idle_close`] and its memory freed. At most
//! [`NetLimits::max_collections`] are open at once: past it the least recently used idle one
//! is closed first, and a new one is refused (`Overloaded`) only when every open one is in
//! use. A collection kept in memory only (no data directory) is never closed.
//!
//! **Durability.** With a data directory, every collection lives in one redb database in it
//! (see [`crate::net::store::redb`]), and a hub commits every batch of changes (group-committed
//! with the other collections', one fsync) before it sends anything that could acknowledge
//! them, so a relay killed at any moment and restarted from its directory has every delta it
//! acknowledged. With [`RelayConfig::store_url`] instead, collections live in PostgreSQL
//! (see [`crate::net::store::postgres`]): the same guarantee, and any number of relays on one
//! database serve the same collections at once, each joining what the others commit. Without
//! either, everything lives in memory.
//!
//! **Peering.** For every collection open here, the relay dials each `--peer` (presenting
//! `peer_token`) and syncs the collection with it through the same protocol as clients, for as
//! long as the collection stays open. That suits an edge relay syncing with a central one:
//! what is in use at the edge is kept in step with the centre. Peering does not add capacity
//! (each relay still holds what it serves); relays that share the load share a PostgreSQL
//! store instead.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tower_http::compression::Compression;
use tower_http::services::ServeDir;

use crate::collection::Collection;
use crate::message::{ErrorCode, Message, decode_frame};
use crate::net::access::AccessRules;
use crate::net::connection::{self, Incoming, classify, refuse, stop_once, ws_config};
use crate::net::dialer::{self, Backoff, Dial, endpoint};
use crate::net::hub::{Hub, LinkStatus};
use crate::net::limits::NetLimits;
use crate::net::metrics::Metrics;
use crate::net::net_error::{NetError, validate_collection_name};
use crate::net::registry::{Closed, Lease, OpenHub, Registry};
use crate::net::store::Store;
use crate::net::store::postgres::PgStore;
use crate::net::store::redb::RedbStore;
use crate::session::SessionConfig;

/// How to run a [`Relay`].
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// Where collections persist, in an embedded redb database; `None` (and no
    /// [`RelayConfig::store_url`]) keeps them in memory only.
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL database to keep collections in, shared with other relays
    /// (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`); exclusive with
    /// [`RelayConfig::data_dir`].
    pub store_url: Option<String>,
    /// The most memory the redb store's page cache may hold, in bytes.
    pub store_cache_bytes: usize,
    /// A directory of files served over plain HTTP (the demo page), if any; gzipped on the
    /// way for clients that accept it.
    pub static_dir: Option<PathBuf>,
    /// Who may read and write which collection.
    pub access: AccessRules,
    /// Other relays to replicate every collection with (`ws://host:port`).
    pub peers: Vec<String>,
    /// The token presented to those relays.
    pub peer_token: String,
    /// The limits on connections, frames and collections.
    pub limits: NetLimits,
    /// How often anti-entropy runs on each connection, in milliseconds.
    pub anti_entropy_every_ms: u64,
    /// How long a stored collection stays open with no session before it is closed and its
    /// memory freed (a collection kept in memory only is never closed).
    pub idle_close: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: None,
            store_url: None,
            store_cache_bytes: crate::net::store::redb::DEFAULT_CACHE_BYTES,
            static_dir: None,
            access: AccessRules::default(),
            peers: Vec::new(),
            peer_token: String::new(),
            limits: NetLimits::default(),
            anti_entropy_every_ms: 60_000,
            idle_close: Duration::from_secs(30),
        }
    }
}

/// A running relay. [`Relay::shutdown`] stops it and waits; dropping it stops it without waiting.
pub struct Relay {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
}

struct Shared {
    config: RelayConfig,
    peer_endpoints: Vec<hyper::Uri>,
    store: Option<Arc<dyn Store>>,
    registry: Arc<Registry>,
    metrics: Arc<Metrics>,
    connections: AtomicUsize,
    connection_ended: tokio::sync::Notify,
    shutdown: watch::Receiver<bool>,
}

impl Relay {
    /// Checks the configuration, opens the store (migrating a data directory of the earlier
    /// layout, or a PostgreSQL schema of an earlier version), binds the port and starts
    /// serving; collections open when a peer names them. Must be called inside a tokio
    /// runtime.
    pub async fn start(config: RelayConfig) -> Result<Self, NetError> {
        config.limits.validate().map_err(NetError::BadLimits)?;
        let peer_endpoints = config
            .peers
            .iter()
            .map(|peer| endpoint(peer))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(dir) = &config.static_dir
            && !dir.is_dir()
        {
            return Err(NetError::BadConfig(format!(
                "the static directory {} does not exist",
                dir.display()
            )));
        }
        if config.access.is_open() {
            tracing::warn!("no access rule: every collection is open to everyone, read-write");
        }
        let relay_metrics = Arc::new(Metrics::new());
        let store: Option<Arc<dyn Store>> = match (config.data_dir.clone(), &config.store_url) {
            (Some(_), Some(_)) => {
                return Err(NetError::BadConfig(
                    "give either a data directory or a PostgreSQL store, not both".into(),
                ));
            }
            (Some(dir), None) => {
                let cache = config.store_cache_bytes;
                let store =
                    tokio::task::spawn_blocking(move || RedbStore::open_with_cache(&dir, cache))
                        .await
                        .map_err(|error| NetError::Io(std::io::Error::other(error)))??;
                Some(Arc::new(store))
            }
            (None, Some(url)) => {
                let lag = relay_metrics.notify_lag_seconds.clone();
                Some(Arc::new(PgStore::connect(url, Some(lag)).await?))
            }
            (None, None) => None,
        };
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let (shutdown, shutdown_receiver) = watch::channel(false);
        let closes = relay_metrics.clone();
        let registry = Arc::new(Registry::new(
            config.limits.max_collections,
            store.as_ref().map(|_| config.idle_close),
            move |why| closes.collection_closed(why == Closed::Evicted),
        ));
        let shared = Arc::new(Shared {
            peer_endpoints,
            store,
            registry,
            metrics: relay_metrics,
            connections: AtomicUsize::new(0),
            connection_ended: tokio::sync::Notify::new(),
            shutdown: shutdown_receiver.clone(),
            config,
        });
        if let Some(every) = shared.registry.sweep_every() {
            let (registry, mut stop) =
                (Arc::downgrade(&shared.registry), shutdown_receiver.clone());
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = ticks.tick() => {}
                        _ = dialer::until(&mut stop, true) => return,
                    }
                    let Some(registry) = registry.upgrade() else {
                        return;
                    };
                    registry.sweep();
                }
            });
        }
        let mut router = Router::new()
            .route("/sync", get(upgrade))
            .route("/metrics", get(metrics));
        router = match &shared.config.static_dir {
            // The page's WebAssembly is a few hundred KB that gzip cuts to a third; the
            // sync endpoint's frames are not touched (WebSocket has its own framing).
            Some(dir) => router.fallback_service(Compression::new(ServeDir::new(dir))),
            None => router.route("/", get(index)),
        };
        let app = router
            .with_state(shared.clone())
            .into_make_service_with_connect_info::<SocketAddr>();
        let mut stop = shutdown_receiver;
        let server = tokio::spawn(async move {
            let stopped = async move {
                dialer::until(&mut stop, true).await;
            };
            // Frames are small and latency matters: Nagle's algorithm would hold an
            // acknowledgement behind the peer's delayed ACK, up to 40 ms.
            let listener = listener.tap_io(|socket| {
                let _ = socket.set_nodelay(true);
            });
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
            {
                tracing::error!(%error, "the HTTP server failed");
            }
        });
        tracing::info!(%addr, "crdt-relay listening");
        Ok(Self {
            addr,
            shared,
            shutdown,
            server,
        })
    }

    /// The address it listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The relay's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Waits until the relay stops (after [`Relay::shutdown`] elsewhere, or a server failure).
    pub async fn wait(self) {
        let _ = self.server.await;
    }

    /// Stops accepting, closes every connection and peer link, and waits until every
    /// collection's store is closed, so the data directory can be opened again at once.
    /// Everything acknowledged is already on disk; nothing is left to flush.
    pub async fn shutdown(self) {
        self.shutdown.send_replace(true);
        let hubs = self.shared.registry.shut();
        let _ = self.server.await;
        // Connections close within their linger time; a bounded wait, not a hang.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let ended = self.shared.connection_ended.notified();
            tokio::pin!(ended);
            // Registered before the count is read, so the last connection cannot slip by.
            ended.as_mut().enable();
            if self.shared.connections.load(Ordering::Relaxed) == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                tracing::warn!("connections still open at shutdown");
                break;
            }
        }
        for hub in hubs {
            if tokio::time::timeout_at(deadline, hub).await.is_err() {
                tracing::warn!("a collection was still in use at shutdown");
            }
        }
        if let Some(store) = &self.shared.store {
            store.close().await;
        }
    }
}

impl Shared {
    /// A lease on the collection `name`, opened from the store on first use (and peered);
    /// created only if `create`.
    async fn lease(self: &Arc<Self>, name: &str, create: bool) -> Result<Lease, NetError> {
        self.registry
            .lease(name, |previous| self.open(name, create, previous))
            .await
    }

    async fn open(
        self: &Arc<Self>,
        name: &str,
        create: bool,
        previous: Option<JoinHandle<()>>,
    ) -> Result<OpenHub, NetError> {
        if let Some(previous) = previous {
            // Its last commit must be on disk before the collection is read again.
            let _ = previous.await;
        }
        let started = std::time::Instant::now();
        let limits = self.config.limits;
        let (store, mut collection) = match &self.store {
            Some(store) => match store.open(name, create).await? {
                Some((handle, collection)) => (Some(handle), collection),
                None => return Err(NetError::UnknownCollection(name.to_owned())),
            },
            None if create => (None, Collection::new(name, crdt_core::ReplicaId::random())),
            None => return Err(NetError::UnknownCollection(name.to_owned())),
        };
        collection.set_limits(limits.collection_limits());
        // Clients come and go; the log keeps only what connected peers lack.
        collection.set_keep_log_for_detached(false);
        tracing::debug!(
            collection = name,
            replica = %collection.replica(),
            objects = collection.len(),
            log_head = collection.log().head(),
            "collection opened"
        );
        let (hub, task) = Hub::spawn(collection, store, &limits, Some(self.metrics.clone()));
        let peer_links = self
            .peer_endpoints
            .iter()
            .map(|endpoint| self.dial_peer(&hub, name, endpoint.clone()))
            .collect();
        self.metrics.collection_opened(started.elapsed());
        Ok(OpenHub {
            hub,
            task: std::sync::Mutex::new(Some(task)),
            peer_links: std::sync::Mutex::new(peer_links),
        })
    }

    /// Starts a dialer syncing `name` with a peer; it stops when the returned sender drops.
    fn dial_peer(&self, hub: &Hub, name: &str, endpoint: hyper::Uri) -> watch::Sender<bool> {
        let (wanted, wanted_receiver) = watch::channel(true);
        let status = watch::Sender::new(LinkStatus::Offline(None));
        let mut changes = status.subscribe();
        let (collection, peer) = (name.to_owned(), endpoint.to_string());
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                let now = changes.borrow().clone();
                match now {
                    LinkStatus::Offline(Some(error)) => {
                        tracing::warn!(%collection, %peer, %error, "peer link down");
                    }
                    LinkStatus::Synced => {
                        tracing::debug!(%collection, %peer, "peer link in sync");
                    }
                    _ => {}
                }
            }
        });
        tokio::spawn(dialer::run(
            hub.clone(),
            Dial {
                endpoints: vec![endpoint],
                session: SessionConfig {
                    token: self.config.peer_token.clone(),
                    max_frame_bytes: self.config.limits.max_frame_bytes,
                    anti_entropy_every_ms: self.config.anti_entropy_every_ms,
                    ..SessionConfig::for_stream()
                },
                limits: self.config.limits,
                backoff: Backoff::default(),
                status,
                wanted: wanted_receiver,
            },
        ));
        wanted
    }

    fn session_config(&self) -> SessionConfig {
        let access = self.config.access.clone();
        SessionConfig {
            authorizer: Some(Arc::new(move |collection: &str, token: &str| {
                access.check(collection, token)
            })),
            max_frame_bytes: self.config.limits.max_frame_bytes,
            anti_entropy_every_ms: self.config.anti_entropy_every_ms,
            ..SessionConfig::for_stream()
        }
    }
}

/// Counts a connection for as long as it lives.
struct ConnectionSlot(Arc<Shared>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
        self.0.metrics.connections.dec();
        self.0.connection_ended.notify_waiters();
    }
}

async fn upgrade(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response {
    let headers = request.headers();
    if !header_has(headers, header::CONNECTION, "upgrade")
        || !header_has(headers, header::UPGRADE, "websocket")
    {
        return (
            StatusCode::BAD_REQUEST,
            "this is crdt-relay's WebSocket endpoint; open it with a WebSocket client\n",
        )
            .into_response();
    }
    if !header_has(headers, header::SEC_WEBSOCKET_VERSION, "13") {
        return (
            StatusCode::UPGRADE_REQUIRED,
            [(header::SEC_WEBSOCKET_VERSION, "13")],
            "WebSocket version 13 is required\n",
        )
            .into_response();
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return (StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key\n").into_response();
    };
    let accept = derive_accept_key(key.as_bytes());
    let Some(on_upgrade) = request.extensions_mut().remove::<OnUpgrade>() else {
        return (
            StatusCode::BAD_REQUEST,
            "the connection cannot be upgraded\n",
        )
            .into_response();
    };
    let max = shared.config.limits.max_connections;
    if shared.connections.fetch_add(1, Ordering::Relaxed) >= max {
        shared.connections.fetch_sub(1, Ordering::Relaxed);
        shared.metrics.refused("connection_limit").inc();
        tracing::warn!(%remote, max, "connection refused: the relay is at its connection limit");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            format!("the relay is at its limit of {max} connections; retry later\n"),
        )
            .into_response();
    }
    shared.metrics.connections.inc();
    shared.metrics.connections_accepted.inc();
    let slot = ConnectionSlot(shared.clone());
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::debug!(%remote, %error, "WebSocket upgrade failed");
                return;
            }
        };
        let config = ws_config(&shared.config.limits);
        let socket =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        serve(socket, &shared, remote).await;
        drop(slot);
    });
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

fn header_has(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|value| value.trim().eq_ignore_ascii_case(token))
}

/// One accepted WebSocket: the handshake, the access check, then the collection's hub.
async fn serve<S>(mut socket: WebSocketStream<S>, shared: &Arc<Shared>, remote: SocketAddr)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use futures_util::StreamExt;
    let limits = shared.config.limits;
    let first = tokio::time::timeout(limits.handshake_timeout, async {
        loop {
            match classify(socket.next().await) {
                Incoming::Frame(bytes) => return Ok(bytes),
                Incoming::Alive => {}
                Incoming::Closed => return Err(None),
                Incoming::Refuse(code, detail, close) => return Err(Some((code, detail, close))),
            }
        }
    })
    .await;
    let refusal = |code: ErrorCode, detail: String, close: CloseCode| {
        shared.metrics.refused(&format!("{code:?}")).inc();
        tracing::info!(%remote, ?code, %detail, "connection refused");
        (code, detail, close)
    };
    let first = match first {
        Ok(Ok(first)) => first,
        Ok(Err(None)) => {
            tracing::debug!(%remote, "closed before its handshake");
            return;
        }
        Ok(Err(Some((code, detail, close)))) => {
            let (code, detail, close) = refusal(code, detail, close);
            return refuse(socket, code, detail, close).await;
        }
        Err(_) => {
            let (code, detail, close) = refusal(
                ErrorCode::Timeout,
                format!(
                    "no handshake within {} ms",
                    limits.handshake_timeout.as_millis()
                ),
                CloseCode::Policy,
            );
            return refuse(socket, code, detail, close).await;
        }
    };
    let hello = match decode_frame(&first, limits.max_frame_bytes) {
        Ok(Message::Hello(hello)) => hello,
        Ok(_) => {
            let (code, detail, close) = refusal(
                ErrorCode::Unexpected,
                "the first frame must be a Hello".into(),
                CloseCode::Policy,
            );
            return refuse(socket, code, detail, close).await;
        }
        Err(error) => {
            let (code, detail, close) = refusal(error.code(), error.to_string(), CloseCode::Policy);
            return refuse(socket, code, detail, close).await;
        }
    };
    if let Err(error) = validate_collection_name(&hello.collection) {
        let (code, detail, close) = refusal(
            ErrorCode::WrongCollection,
            error.to_string(),
            CloseCode::Policy,
        );
        return refuse(socket, code, detail, close).await;
    }
    let access = shared.config.access.check(&hello.collection, &hello.token);
    if access == crate::session::Access::Denied {
        let (code, detail, close) = refusal(
            ErrorCode::Unauthorized,
            format!("the token grants no access to {:?}", hello.collection),
            CloseCode::Policy,
        );
        return refuse(socket, code, detail, close).await;
    }
    let create = access == crate::session::Access::ReadWrite;
    let lease = match shared.lease(&hello.collection, create).await {
        Ok(lease) => lease,
        Err(error @ (NetError::UnknownCollection(_) | NetError::BadCollection(_))) => {
            let (code, detail, close) = refusal(
                ErrorCode::WrongCollection,
                error.to_string(),
                CloseCode::Policy,
            );
            return refuse(socket, code, detail, close).await;
        }
        Err(error) => {
            tracing::error!(collection = %hello.collection, %error, "cannot open the collection");
            let (code, detail, close) =
                refusal(ErrorCode::Overloaded, error.to_string(), CloseCode::Again);
            return refuse(socket, code, detail, close).await;
        }
    };
    tracing::info!(%remote, collection = %hello.collection, peer = %hello.replica, "session open");
    let (stop, stopped) = watch::channel(None);
    let connection = connection::run(
        socket,
        lease.hub().clone(),
        shared.session_config(),
        limits,
        Some(first.to_vec()),
        None,
        (stop.clone(), stopped),
    );
    let mut shutdown = shared.shutdown.clone();
    tokio::pin!(connection);
    tokio::select! {
        () = &mut connection => {}
        _ = dialer::until(&mut shutdown, true) => {
            stop_once(&stop, None);
            connection.await;
        }
    }
    drop(lease);
    tracing::info!(%remote, collection = %hello.collection, "session closed");
}

async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.metrics.render(),
    )
}

async fn index() -> &'static str {
    "crdt-relay: WebSocket endpoint at /sync, metrics at /metrics\n"
}
