//! The listener of a [`PgStore`](super::PgStore): one connection that `LISTEN`s for the
//! commits of every relay and wakes the hubs of the collections they name.
//!
//! A notification is only a wake-up: the hub then reads what is new by position, so a
//! notification lost (the connection dropped, the relay was busy) loses nothing. After the
//! listener reconnects, every open collection is woken, which catches up whatever was
//! committed while it was away.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

use super::CHANNEL;

/// What a collection's watcher last heard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Heard {
    /// The highest head a notification announced.
    pub(super) head: u64,
    /// How many times the listener (re)connected: when it changes, notifications may have
    /// been missed, whatever `head` says.
    pub(super) reconnects: u64,
}

/// The wake-ups of the collections open at this relay, by name.
#[derive(Default)]
pub(super) struct Watchers {
    by_name: Mutex<HashMap<String, watch::Sender<Heard>>>,
    reconnects: std::sync::atomic::AtomicU64,
}

impl Watchers {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, watch::Sender<Heard>>> {
        self.by_name
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A receiver woken when a relay commits to `name`.
    pub(super) fn watch(&self, name: &str) -> watch::Receiver<Heard> {
        let reconnects = self.reconnects.load(std::sync::atomic::Ordering::Relaxed);
        self.lock()
            .entry(name.to_owned())
            .or_insert_with(|| {
                watch::Sender::new(Heard {
                    head: 0,
                    reconnects,
                })
            })
            .subscribe()
    }

    /// Stops waking `name` (its collection closed).
    pub(super) fn forget(&self, name: &str) {
        self.lock().remove(name);
    }

    fn wake(&self, name: &str, head: u64) {
        if let Some(sender) = self.lock().get(name) {
            sender.send_if_modified(|heard| {
                let news = head > heard.head;
                heard.head = heard.head.max(head);
                news
            });
        }
    }

    fn wake_all(&self) {
        let reconnects = self
            .reconnects
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        for sender in self.lock().values() {
            sender.send_modify(|heard| heard.reconnects = reconnects);
        }
    }
}

/// Listens on `config`'s database until `stop` turns true, reconnecting after failures.
pub(super) async fn run(
    config: tokio_postgres::Config,
    watchers: Arc<Watchers>,
    lag: Option<Histogram>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        tokio::select! {
            result = listen(&config, &watchers, lag.as_ref()) => {
                if let Err(error) = result {
                    tracing::warn!(%error, "PostgreSQL listener disconnected; reconnecting");
                }
            }
            _ = stop.wait_for(|stop| *stop) => return,
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn listen(
    config: &tokio_postgres::Config,
    watchers: &Watchers,
    lag: Option<&Histogram>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (messages, mut incoming) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut stream = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = stream.next().await {
            match message {
                Ok(message) => {
                    if messages.send(message).is_err() {
                        return Ok(());
                    }
                }
                Err(error) => return Err(error),
            }
        }
        Ok(())
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    // Whatever was committed while no listener was connected is caught up now.
    watchers.wake_all();
    while let Some(message) = incoming.recv().await {
        if let AsyncMessage::Notification(notification) = message {
            deliver(notification.payload(), watchers, lag);
        }
    }
    drop(client);
    match driver.await {
        Ok(result) => result,
        Err(_) => Ok(()),
    }
}

/// Wakes the collections a payload names (see the writer's `payload`).
fn deliver(payload: &str, watchers: &Watchers, lag: Option<&Histogram>) {
    let mut lines = payload.lines();
    let sent = lines.next().and_then(|sent| sent.parse::<u128>().ok());
    if let (Some(sent), Some(lag)) = (sent, lag) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_micros());
        lag.observe(now.saturating_sub(sent) as f64 / 1e6);
    }
    for line in lines {
        if line == "*" {
            watchers.wake_all();
            return;
        }
        if let Some((name, head)) = line.split_once('\t')
            && let Ok(head) = head.parse()
        {
            watchers.wake(name, head);
        }
    }
}
