//! The dialer: keeps one outgoing WebSocket to a peer open for a hub, reconnecting with
//! jittered exponential backoff, for as long as its owner wants it online. Given several
//! endpoints (relays sharing one store), it starts at a random one, so clients spread over
//! them, and moves to the next whenever an attempt fails or a connection drops.
//!
//! Clients use it to reach their relay and relays to reach their `--peer`s. Each connection
//! opens a fresh session on the same collection, so everything edited while offline is still
//! in the log (or repaired by anti-entropy) and goes out on reconnect. The backoff starts over
//! once a link gets in sync, so a refused or flapping peer is retried ever more slowly, up to
//! the maximum, while a healthy one that drops is redialled at once.

use std::time::Duration;

use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::Uri;

use crate::net::connection::{self, ws_config};
use crate::net::hub::{Hub, LinkStatus, Stop};
use crate::net::limits::NetLimits;
use crate::net::net_error::NetError;
use crate::session::SessionConfig;
use crate::simulation::SimRng;

/// How long a connection must last to count as healthy, resetting the backoff.
const HEALTHY: Duration = Duration::from_secs(1);

/// How a dialer retries.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Backoff {
    /// The wait after the first failure.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The wait before attempt `attempt` (0 = the first retry): doubling from `initial` up to
    /// `max`, then jittered to between half and all of it, so peers cut together do not
    /// reconnect together.
    pub fn delay(&self, attempt: u32, rng: &mut SimRng) -> Duration {
        let full = self
            .initial
            .saturating_mul(1 << attempt.min(20))
            .min(self.max);
        let half = full / 2;
        half + half.mul_f64(rng.unit())
    }
}

/// The WebSocket endpoint for `url`: a bare `ws://host:port` (or `…/`) means its `/sync`.
pub fn endpoint(url: &str) -> Result<Uri, NetError> {
    let uri: Uri = url
        .parse()
        .map_err(|error| NetError::BadUrl(format!("{url:?}: {error}")))?;
    match uri.scheme_str() {
        Some("ws") => {}
        Some("wss") => {
            return Err(NetError::BadUrl(format!(
                "{url:?}: TLS (wss) is not built in; put a TLS-terminating proxy in front of the relay"
            )));
        }
        _ => {
            return Err(NetError::BadUrl(format!(
                "{url:?}: the scheme must be ws://"
            )));
        }
    }
    if uri.host().is_none() {
        return Err(NetError::BadUrl(format!("{url:?}: no host")));
    }
    if matches!(uri.path(), "" | "/") {
        let mut parts = uri.into_parts();
        parts.path_and_query = Some(
            "/sync"
                .parse()
                .map_err(|_| NetError::BadUrl(format!("{url:?}: cannot append the /sync path")))?,
        );
        return Uri::from_parts(parts).map_err(|error| NetError::BadUrl(error.to_string()));
    }
    Ok(uri)
}

/// What a dialer needs, besides its hub.
pub(crate) struct Dial {
    /// Where to connect, tried in turn; never empty.
    pub(crate) endpoints: Vec<Uri>,
    pub(crate) session: SessionConfig,
    pub(crate) limits: NetLimits,
    pub(crate) backoff: Backoff,
    pub(crate) status: watch::Sender<LinkStatus>,
    /// Whether to be connected; false cuts the connection and waits.
    pub(crate) wanted: watch::Receiver<bool>,
}

/// Dials until `wanted` closes (its owner is gone).
pub(crate) async fn run(hub: Hub, mut dial: Dial) {
    // A random seed, so peers cut together (or relays restarted together) do not redial in
    // step.
    let random = crdt_core::ReplicaId::random();
    let mut rng = SimRng::new(u64::from_le_bytes(
        random.as_bytes()[..8].try_into().unwrap_or_default(),
    ));
    let mut attempt = 0;
    let mut next = rng.below(dial.endpoints.len() as u64) as usize;
    loop {
        if !until(&mut dial.wanted, true).await {
            return;
        }
        if hub.is_stopped() {
            return;
        }
        dial.status.send_replace(LinkStatus::Connecting);
        let endpoint = dial.endpoints[next % dial.endpoints.len()].clone();
        next = next.wrapping_add(1);
        let request = match endpoint.into_client_request() {
            Ok(request) => request,
            Err(error) => {
                dial.status
                    .send_replace(LinkStatus::Offline(Some(error.to_string())));
                return;
            }
        };
        let connecting = tokio_tungstenite::connect_async_with_config(
            request,
            Some(ws_config(&dial.limits)),
            true,
        );
        let outcome = tokio::select! {
            outcome = tokio::time::timeout(dial.limits.handshake_timeout, connecting) => Some(outcome),
            owned = until(&mut dial.wanted, false) => if owned { None } else { return },
        };
        match outcome {
            None => {}
            Some(Ok(Ok((socket, _)))) => {
                let mut status = dial.status.subscribe();
                let (stop, stopped) = watch::channel(None);
                let connection = connection::run(
                    socket,
                    hub.clone(),
                    dial.session.clone(),
                    dial.limits,
                    None,
                    Some(dial.status.clone()),
                    (stop.clone(), stopped),
                );
                tokio::pin!(connection);
                let connected_at = tokio::time::Instant::now();
                loop {
                    tokio::select! {
                        () = &mut connection => {
                            // A link that got in sync, or stayed up a while, was healthy; one
                            // refused right after its handshake (a read-only write, a limit)
                            // keeps backing off.
                            if connected_at.elapsed() >= HEALTHY {
                                attempt = 0;
                            }
                            break;
                        }
                        changed = status.changed() => {
                            if changed.is_ok() && *status.borrow() == LinkStatus::Synced {
                                attempt = 0;
                            }
                        }
                        owned = until(&mut dial.wanted, false) => {
                            let _ = stop.send(Some(Stop { error: None }));
                            connection.as_mut().await;
                            if !owned {
                                return;
                            }
                            break;
                        }
                    }
                }
            }
            Some(Ok(Err(error))) => {
                dial.status
                    .send_replace(LinkStatus::Offline(Some(error.to_string())));
            }
            Some(Err(_)) => {
                dial.status.send_replace(LinkStatus::Offline(Some(
                    "the connection attempt timed out".into(),
                )));
            }
        }
        let delay = dial.backoff.delay(attempt, &mut rng);
        attempt = attempt.saturating_add(1);
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = until(&mut dial.wanted, false) => {}
        }
    }
}

/// Waits until the flag is `value`; false once its sender is gone. (`wait_for` would keep
/// accepting the last value after the sender is dropped, and would return a guard that makes
/// the waiting future not `Send`.)
pub(crate) async fn until(flag: &mut watch::Receiver<bool>, value: bool) -> bool {
    loop {
        if flag.has_changed().is_err() {
            return false;
        }
        if *flag.borrow_and_update() == value {
            return true;
        }
        if flag.changed().await.is_err() {
            return false;
        }
    }
}
