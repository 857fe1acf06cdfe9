//! [`Client`]: a native replica of one collection, kept in sync with a relay over a WebSocket.
//!
//! ```no_run
//! use crdt_core::AWSet;
//! use crdt_sync::net::client::connect;
//! use crdt_sync::object_id::ObjectId;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = connect("ws://127.0.0.1:8080", "carts", "my-token")?;
//! let cart = ObjectId::new("cart")?;
//! // Edits apply locally at once, online or not; they reach the relay when it is reachable.
//! client.update(&cart, |items: &mut AWSet<String>, me| items.add(me, "milk".into()))?;
//! client.synced().await; // the relay has everything this replica has
//! let items = client.get_as::<AWSet<String>>(&cart)?.unwrap_or_default();
//! assert!(items.contains(&"milk".to_string()));
//! # Ok(()) }
//! ```
//!
//! The client holds its replica in memory. It dials in the background and keeps dialling with
//! backoff when the relay is down or the network is cut; every edit made meanwhile is kept
//! in the replica's delta log and sent on reconnect (or repaired by anti-entropy if the log had
//! to drop it). What the relay sends is joined as it arrives, so concurrent edits merge by each
//! type's own rules. [`Client::status`] tells where the link stands, and a refusal by the
//! relay (a bad token, a read-only token used to write, a limit) shows there as
//! [`LinkStatus::Offline`] with the relay's reason. Dropping the last clone of a client stops it.
//!
//! **Several relays.** Relays that share a PostgreSQL store are interchangeable: give them all
//! in [`ClientConfig::urls`] and the client starts at a random one (so clients spread over
//! them) and moves to the next whenever a connection fails or drops. Nothing is lost in the
//! move: what the old relay acknowledged is in the store, and what it had not is still in this
//! replica and goes to the new one.
//!
//! ```no_run
//! use crdt_sync::net::client::{Client, ClientConfig};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::start(ClientConfig {
//!     urls: vec!["ws://10.0.0.1:8080".into(), "ws://10.0.0.2:8080".into()],
//!     ..ClientConfig::new("ws://10.0.0.1:8080", "cart-42", "my-token")
//! })?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use crdt_core::ReplicaId;
use tokio::sync::watch;

use crate::collection::Collection;
use crate::edit_result::EditResult;
use crate::net::dialer::{self, Backoff, Dial, endpoint};
use crate::net::hub::{Hub, LinkStatus};
use crate::net::limits::NetLimits;
use crate::net::net_error::{NetError, validate_collection_name};
use crate::object::ObjectType;
use crate::object_id::ObjectId;
use crate::session::SessionConfig;
use crate::sync_error::SyncError;

/// Connects to the relay at `url` (`ws://host:port`, or a full endpoint URL) for `collection`,
/// presenting `token`, with default settings. Must be called inside a tokio runtime.
pub fn connect(url: &str, collection: &str, token: &str) -> Result<Client, NetError> {
    Client::start(ClientConfig::new(url, collection, token))
}

/// How to start a [`Client`].
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The relays, each `ws://host:port` (its `/sync` endpoint is meant) or a full endpoint
    /// URL; with more than one, they are tried in turn (see the module docs). Not empty.
    pub urls: Vec<String>,
    /// The collection to replicate.
    pub collection: String,
    /// The access token presented to the relay.
    pub token: String,
    /// This replica's id; a fresh random one if `None`. Reuse an id only with the state that
    /// went with it: two live replicas with one id would corrupt each other's causality.
    pub replica: Option<ReplicaId>,
    /// The limits: frame size, what the relay may make this replica hold, timeouts.
    pub limits: NetLimits,
    /// How reconnection backs off.
    pub backoff: Backoff,
    /// How often anti-entropy checks the replica against the relay's, in milliseconds.
    pub anti_entropy_every_ms: u64,
    /// Whether to dial at once (`false`: start offline, see [`Client::set_online`]).
    pub online: bool,
}

impl ClientConfig {
    /// The defaults for one relay at `url`, `collection` and `token`.
    pub fn new(url: &str, collection: &str, token: &str) -> Self {
        Self {
            urls: vec![url.to_owned()],
            collection: collection.to_owned(),
            token: token.to_owned(),
            replica: None,
            limits: NetLimits::default(),
            backoff: Backoff::default(),
            anti_entropy_every_ms: 60_000,
            online: true,
        }
    }
}

/// A replica of one collection synced with a relay (see the module docs). Clones share it.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    hub: Hub,
    replica: ReplicaId,
    status: watch::Sender<LinkStatus>,
    online: watch::Sender<bool>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("replica", &self.inner.replica)
            .field("status", &*self.inner.status.borrow())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts a client: checks the settings, then dials in the background. Must be called
    /// inside a tokio runtime.
    pub fn start(config: ClientConfig) -> Result<Self, NetError> {
        validate_collection_name(&config.collection)?;
        config.limits.validate().map_err(NetError::BadLimits)?;
        if config.urls.is_empty() {
            return Err(NetError::BadUrl("no relay URL given".into()));
        }
        let endpoints = config
            .urls
            .iter()
            .map(|url| endpoint(url))
            .collect::<Result<Vec<_>, _>>()?;
        let replica = config.replica.unwrap_or_else(ReplicaId::random);
        let mut collection = Collection::new(config.collection.clone(), replica);
        collection.set_limits(config.limits.collection_limits());
        let (hub, _) = Hub::spawn(collection, None, &config.limits, None);
        let status = watch::Sender::new(LinkStatus::Offline(None));
        let (online, wanted) = watch::channel(config.online);
        let session = SessionConfig {
            token: config.token.clone(),
            max_frame_bytes: config.limits.max_frame_bytes,
            anti_entropy_every_ms: config.anti_entropy_every_ms,
            ..SessionConfig::for_stream()
        };
        tokio::spawn(dialer::run(
            hub.clone(),
            Dial {
                endpoints,
                session,
                limits: config.limits,
                backoff: config.backoff,
                status: status.clone(),
                wanted,
            },
        ));
        Ok(Self {
            inner: Arc::new(Inner {
                hub,
                replica,
                status,
                online,
            }),
        })
    }

    /// This replica's id.
    pub fn replica(&self) -> ReplicaId {
        self.inner.replica
    }

    /// Edits the object `id` as a `T` with a delta mutator (see [`Collection::update`]); the
    /// delta is sent as soon as the link allows.
    pub fn update<T: ObjectType + Clone, R: EditResult<T>>(
        &self,
        id: &ObjectId,
        edit: impl FnOnce(&mut T, ReplicaId) -> R,
    ) -> Result<T, SyncError> {
        let delta = self.inner.hub.lock().update(id, edit)?;
        // Until the hub's next turn sends the edit, the relay lacks it.
        self.inner.status.send_if_modified(|status| {
            let was_synced = *status == LinkStatus::Synced;
            if was_synced {
                *status = LinkStatus::Syncing;
            }
            was_synced
        });
        self.inner.hub.local_edit();
        Ok(delta)
    }

    /// Reads the replica. Keep `read` short: the link waits while it runs. Do not call
    /// [`Client::update`] from inside it: the replica's lock is not reentrant, so that would
    /// wait for ever.
    pub fn read<R>(&self, read: impl FnOnce(&Collection) -> R) -> R {
        read(&self.inner.hub.lock())
    }

    /// A copy of the object `id` as a `T`.
    pub fn get_as<T: ObjectType + Clone>(&self, id: &ObjectId) -> Result<Option<T>, SyncError> {
        self.read(|collection| collection.get_as::<T>(id).map(|object| object.cloned()))
    }

    /// Where the link stands.
    pub fn status(&self) -> LinkStatus {
        self.inner.status.borrow().clone()
    }

    /// A receiver of the link's status, to await changes.
    pub fn watch_status(&self) -> watch::Receiver<LinkStatus> {
        self.inner.status.subscribe()
    }

    /// Waits until the relay has everything this replica has (the link is
    /// [`LinkStatus::Synced`]). Wrap it in a timeout: offline, it waits for ever.
    pub async fn synced(&self) {
        let mut status = self.inner.status.subscribe();
        let _ = status
            .wait_for(|status| *status == LinkStatus::Synced)
            .await;
    }

    /// A receiver that changes whenever frames from the relay were handled, for a user
    /// interface to redraw.
    pub fn remote_changes(&self) -> watch::Receiver<u64> {
        self.inner.hub.remote_changes()
    }

    /// Goes offline (`false`: the connection is closed and no dialling happens) or back online.
    /// Edits keep working offline.
    pub fn set_online(&self, online: bool) {
        self.inner.online.send_replace(online);
    }
}
