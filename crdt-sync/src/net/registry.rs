//! The registry: which collections a relay has open, who uses each, and which to close.
//!
//! A connection takes a [`Lease`] on its collection for as long as it lives; the first lease
//! opens the collection (once, however many ask at the same time, while other collections
//! open and serve beside it) and the last one to go leaves it idle. An idle collection is
//! closed after the idle time, or at once, least recently used first, when a new collection
//! needs its place under the cap on open collections; only when every open collection is in
//! use is a new one refused.
//!
//! Closing and opening the same name cannot race: a closed hub's task is kept until it has
//! ended (its last commit done, its store handle dropped), and the next open of that name
//! waits for it before it reads the store.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{OnceCell, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::net::hub::Hub;
use crate::net::net_error::NetError;

/// An open collection: its hub, the hub's task, and the links to peers made for it.
pub(crate) struct OpenHub {
    pub(crate) hub: Hub,
    pub(crate) task: Mutex<Option<JoinHandle<()>>>,
    /// The collection's peer dialers, which stop when these are dropped.
    pub(crate) peer_links: Mutex<Vec<watch::Sender<bool>>>,
}

struct Slot {
    /// Tells this slot from a later one of the same name.
    id: u64,
    hub: Arc<OnceCell<OpenHub>>,
    users: usize,
    /// The slot's place in `Inner::idle` while it has no user and is open.
    idle_tick: Option<u64>,
    idle_since: Instant,
}

#[derive(Default)]
struct Inner {
    slots: HashMap<String, Slot>,
    /// Idle open collections, oldest first.
    idle: BTreeMap<u64, String>,
    /// Numbers slots and idle ticks.
    next_tick: u64,
    /// Closed hubs whose task may still be running.
    closing: HashMap<String, JoinHandle<()>>,
    shut: bool,
}

/// What the registry did, for the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Closed {
    /// Idle longer than the idle time.
    Idle,
    /// Closed to make room for another.
    Evicted,
}

/// The open collections of a relay (see the module docs).
pub(crate) struct Registry {
    inner: Mutex<Inner>,
    max_open: usize,
    /// `None`: collections stay open (a relay without a store would lose them).
    idle_close: Option<Duration>,
    on_close: Box<dyn Fn(Closed) + Send + Sync>,
}

/// A connection's hold on an open collection; the collection cannot close while it lives.
pub(crate) struct Lease {
    registry: Arc<Registry>,
    name: String,
    slot: u64,
    hub: Hub,
}

impl Lease {
    /// The collection's hub.
    pub(crate) fn hub(&self) -> &Hub {
        &self.hub
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.registry.release(&self.name, self.slot);
    }
}

impl Registry {
    /// A registry of at most `max_open` collections, closing idle ones after `idle_close`
    /// (never if `None`), reporting each close to `on_close`.
    pub(crate) fn new(
        max_open: usize,
        idle_close: Option<Duration>,
        on_close: impl Fn(Closed) + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            max_open,
            idle_close,
            on_close: Box::new(on_close),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update of `Inner` is complete before anything can panic, so a poisoned
        // lock still guards a consistent registry.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A lease on `name`, opening it with `open` if it is not open. `open` is given the task
    /// of the collection's previous hub, if that one is still closing, to await first.
    pub(crate) async fn lease<F, Fut>(
        self: &Arc<Self>,
        name: &str,
        open: F,
    ) -> Result<Lease, NetError>
    where
        F: FnOnce(Option<JoinHandle<()>>) -> Fut,
        Fut: Future<Output = Result<OpenHub, NetError>>,
    {
        let (id, cell, previous) = {
            let mut inner = self.lock();
            if inner.shut {
                return Err(NetError::Io(std::io::Error::other(
                    "the relay is shutting down",
                )));
            }
            if !inner.slots.contains_key(name)
                && inner.slots.len() >= self.max_open
                && !self.evict_one(&mut inner)
            {
                return Err(NetError::TooManyCollections(self.max_open));
            }
            let fresh = inner.next_tick;
            let slot = inner.slots.entry(name.to_owned()).or_insert_with(|| Slot {
                id: fresh,
                hub: Arc::new(OnceCell::new()),
                users: 0,
                idle_tick: None,
                idle_since: Instant::now(),
            });
            slot.users += 1;
            let (id, cell, idle_tick) = (slot.id, slot.hub.clone(), slot.idle_tick.take());
            if id == fresh {
                inner.next_tick += 1;
            }
            if let Some(tick) = idle_tick {
                inner.idle.remove(&tick);
            }
            (id, cell, inner.closing.remove(name))
        };
        // Held until the lease exists, so an open that fails (or is dropped) releases the slot.
        let mut pending = PendingLease {
            registry: self,
            name,
            slot: id,
            armed: true,
        };
        let hub = cell.get_or_try_init(|| open(previous)).await?;
        if hub.hub.is_stopped() {
            // Its store failed: the slot goes (its other users' connections are being
            // stopped) and the next lease opens the collection afresh.
            let mut inner = self.lock();
            if inner.slots.get(name).is_some_and(|slot| slot.id == id) {
                Self::close_slot(&mut inner, name);
            }
            pending.armed = false;
            return Err(NetError::Io(std::io::Error::other(
                "the collection's store failed; retry",
            )));
        }
        pending.armed = false;
        Ok(Lease {
            registry: self.clone(),
            name: name.to_owned(),
            slot: id,
            hub: hub.hub.clone(),
        })
    }

    fn release(&self, name: &str, id: u64) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let Some(slot) = inner.slots.get_mut(name).filter(|slot| slot.id == id) else {
            return;
        };
        slot.users = slot.users.saturating_sub(1);
        if slot.users > 0 {
            return;
        }
        if !slot.hub.initialized() {
            // Its open failed: nothing to close, and the next lease tries again.
            inner.slots.remove(name);
            return;
        }
        let tick = inner.next_tick;
        inner.next_tick += 1;
        slot.idle_tick = Some(tick);
        slot.idle_since = Instant::now();
        inner.idle.insert(tick, name.to_owned());
    }

    /// Closes the least recently used idle collection; false if none is idle.
    fn evict_one(&self, inner: &mut Inner) -> bool {
        let Some((_, name)) = inner.idle.pop_first() else {
            return false;
        };
        if let Some(slot) = inner.slots.get_mut(&name) {
            slot.idle_tick = None;
        }
        Self::close_slot(inner, &name);
        (self.on_close)(Closed::Evicted);
        true
    }

    fn close_slot(inner: &mut Inner, name: &str) {
        let Some(slot) = inner.slots.remove(name) else {
            return;
        };
        if let Some(tick) = slot.idle_tick {
            inner.idle.remove(&tick);
        }
        if let Some(open) = slot.hub.get() {
            open.hub.close();
            open.peer_links
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clear();
            let task = open
                .task
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
            if let Some(task) = task {
                inner.closing.insert(name.to_owned(), task);
            }
        }
    }

    /// Closes every collection idle for the idle time, and forgets closed hubs that have
    /// ended. Called periodically.
    pub(crate) fn sweep(&self) {
        let mut inner = self.lock();
        if let Some(idle_close) = self.idle_close {
            while let Some((&tick, name)) = inner.idle.first_key_value() {
                let expired = inner
                    .slots
                    .get(name)
                    .is_none_or(|slot| slot.idle_since.elapsed() >= idle_close);
                if !expired {
                    break;
                }
                let name = name.clone();
                inner.idle.remove(&tick);
                if let Some(slot) = inner.slots.get_mut(&name) {
                    slot.idle_tick = None;
                }
                Self::close_slot(&mut inner, &name);
                (self.on_close)(Closed::Idle);
            }
        }
        inner.closing.retain(|_, task| !task.is_finished());
    }

    /// How often [`Registry::sweep`] should run: often enough that a collection closes
    /// within a quarter of its idle time after it expired, at most every second.
    pub(crate) fn sweep_every(&self) -> Option<Duration> {
        self.idle_close
            .map(|idle| (idle / 4).clamp(Duration::from_millis(10), Duration::from_secs(1)))
    }

    /// Refuses new leases, closes every collection and returns the hubs' tasks to await.
    pub(crate) fn shut(&self) -> Vec<JoinHandle<()>> {
        let mut inner = self.lock();
        inner.shut = true;
        let names: Vec<String> = inner.slots.keys().cloned().collect();
        for name in names {
            Self::close_slot(&mut inner, &name);
        }
        inner.idle.clear();
        inner.closing.drain().map(|(_, task)| task).collect()
    }
}

/// Releases a lease whose open did not finish (failed, or its future was dropped).
struct PendingLease<'a> {
    registry: &'a Registry,
    name: &'a str,
    slot: u64,
    armed: bool,
}

impl Drop for PendingLease<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.registry.release(self.name, self.slot);
        }
    }
}
