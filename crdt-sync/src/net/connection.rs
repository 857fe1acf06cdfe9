//! One WebSocket attached to a hub: a reader task that passes binary frames in, a writer task
//! that sends the hub's frames out, pings, and the connection-level rules (binary frames only,
//! the frame limit, the idle timeout, a bounded queue).
//!
//! A connection closes with an error frame (the protocol's own [`ErrorFrame`], so every peer
//! reads the reason the same way) followed by a WebSocket close, and the socket is drained
//! briefly before it is dropped: dropping a socket with unread bytes makes the kernel reset
//! it, and the peer would lose the error.
//!
//! [`ErrorFrame`]: crate::message::ErrorFrame

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Bytes, Message as WsMessage};

use crate::message::{ErrorCode, ErrorFrame, Message, encode_frame};
use crate::net::hub::{Attach, ConnId, Event, Hub, LinkStatus, Out, Stop};
use crate::net::limits::NetLimits;
use crate::session::SessionConfig;

/// How long a closing connection waits for the peer's close before it drops the socket.
const LINGER: Duration = Duration::from_secs(2);

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// A fresh connection id, unique in the process.
pub(crate) fn next_conn_id() -> ConnId {
    NEXT_CONN.fetch_add(1, Ordering::Relaxed)
}

/// The WebSocket settings for the limits: tungstenite refuses larger messages itself. Its
/// buffers default to 128 KiB each way per connection, which a relay holding thousands of
/// mostly idle connections cannot afford; 8 KiB still reads and writes in large chunks.
pub(crate) fn ws_config(limits: &NetLimits) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(limits.max_frame_bytes))
        .max_frame_size(Some(limits.max_frame_bytes))
        .read_buffer_size(8 << 10)
        .write_buffer_size(8 << 10)
}

/// What one WebSocket message means to the protocol.
pub(crate) enum Incoming {
    /// A binary frame for the session.
    Frame(Bytes),
    /// A control message (ping, pong): only proof of life.
    Alive,
    /// The peer closed, or the socket ended.
    Closed,
    /// A breach of the protocol: answer with this error and close.
    Refuse(ErrorCode, String, CloseCode),
}

/// Classifies what the socket yielded.
pub(crate) fn classify(message: Option<Result<WsMessage, WsError>>) -> Incoming {
    match message {
        Some(Ok(WsMessage::Binary(bytes))) => Incoming::Frame(bytes),
        Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => Incoming::Alive,
        Some(Ok(WsMessage::Text(_))) => Incoming::Refuse(
            ErrorCode::Malformed,
            "text frames are not part of the protocol; send binary frames".into(),
            CloseCode::Unsupported,
        ),
        Some(Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size }))) => {
            Incoming::Refuse(
                ErrorCode::FrameTooLarge,
                format!("frame of {size} bytes exceeds the limit of {max_size}"),
                CloseCode::Size,
            )
        }
        Some(Err(WsError::Capacity(error))) => {
            Incoming::Refuse(ErrorCode::FrameTooLarge, error.to_string(), CloseCode::Size)
        }
        // A peer that vanishes without the closing handshake has only hung up.
        Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
            Incoming::Closed
        }
        Some(Err(WsError::Protocol(error))) => Incoming::Refuse(
            ErrorCode::Malformed,
            format!("WebSocket protocol error: {error}"),
            CloseCode::Protocol,
        ),
        Some(Ok(WsMessage::Close(_)) | Err(_)) | None => Incoming::Closed,
    }
}

/// Sends an error frame and a close, then lingers until the peer closes: for refusals before
/// any hub is involved.
pub(crate) async fn refuse<S>(
    mut socket: WebSocketStream<S>,
    code: ErrorCode,
    detail: String,
    close: CloseCode,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    send_closing(&mut socket, Some((code, detail)), close).await;
    linger(socket).await;
}

/// Sends the error frame (if any), then a close with `close`, giving up after the linger time
/// (a peer that does not read cannot be told).
async fn send_closing<K>(sink: &mut K, error: Option<(ErrorCode, String)>, close: CloseCode)
where
    K: futures_util::Sink<WsMessage, Error = WsError> + Unpin,
{
    let reason = error
        .as_ref()
        .map_or_else(|| "closing".to_owned(), |(code, _)| format!("{code:?}"));
    let _ = tokio::time::timeout(LINGER, async {
        if let Some((code, detail)) = error
            && let Ok(frame) = encode_frame(&Message::Error(ErrorFrame { code, detail }))
        {
            sink.send(WsMessage::Binary(frame.into())).await?;
        }
        let close = CloseFrame {
            code: close,
            reason: reason.into(),
        };
        sink.send(WsMessage::Close(Some(close))).await
    })
    .await;
}

/// Runs a connection attached to `hub` until it ends. `first_frame` is a frame already read
/// (a relay reads the handshake before it picks the hub); `status`, if given, follows the link;
/// sending a [`Stop`] on `stop` closes the connection from outside.
pub(crate) async fn run<S>(
    socket: WebSocketStream<S>,
    hub: Hub,
    config: SessionConfig,
    limits: NetLimits,
    first_frame: Option<Vec<u8>>,
    status: Option<watch::Sender<LinkStatus>>,
    (stop, stopped): (watch::Sender<Option<Stop>>, watch::Receiver<Option<Stop>>),
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = next_conn_id();
    let (out, outbox) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let attach = Attach {
        conn,
        config,
        out,
        queued: queued.clone(),
        stop: stop.clone(),
        first_frame,
        status,
    };
    if !hub.send(Event::Open(Box::new(attach))).await {
        return;
    }
    let (sink, stream) = socket.split();
    let pipe = Arc::new(Pipe {
        conn,
        hub,
        queued,
        drained: Notify::new(),
        stop,
        limits,
    });
    let writer = tokio::spawn(write_loop(sink, pipe.clone(), outbox, stopped.clone()));
    let stream = read_loop(stream, &pipe, stopped).await;
    stop_once(&pipe.stop, None);
    let sink = writer.await;
    pipe.hub.send(Event::Closed(conn)).await;
    if let Ok(sink) = sink
        && let Ok(socket) = stream.reunite(sink)
    {
        linger(socket).await;
    }
}

/// Stops the connection with `error` unless it is already stopping (the first cause is the
/// one the peer is told).
pub(crate) fn stop_once(stop: &watch::Sender<Option<Stop>>, error: Option<(ErrorCode, String)>) {
    stop.send_if_modified(|current| {
        let first = current.is_none();
        if first {
            *current = Some(Stop { error });
        }
        first
    });
}

/// Half-closes the socket and reads whatever the peer still sends until it closes too (or a
/// short while passes): dropping a socket with unread bytes makes the kernel reset it, and the
/// peer would lose the error frame and the close still in flight.
async fn linger<S>(socket: WebSocketStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut io = socket.into_inner();
    let _ = tokio::time::timeout(LINGER, async {
        let _ = io.shutdown().await;
        let _ = tokio::io::copy(&mut io, &mut tokio::io::sink()).await;
    })
    .await;
}

/// Waits until the connection's queue has room; false if the connection stops first.
async fn wait_for_room(
    queued: &AtomicUsize,
    drained: &Notify,
    stopped: &mut watch::Receiver<Option<Stop>>,
    max: usize,
) -> bool {
    loop {
        let notified = drained.notified();
        tokio::pin!(notified);
        // Registered before the check, so a drain between the two is not missed.
        notified.as_mut().enable();
        if queued.load(Ordering::Relaxed) < max {
            return true;
        }
        tokio::select! {
            _ = stopped.changed() => return false,
            () = notified => {}
        }
    }
}

/// What the reader and the writer of one connection share.
struct Pipe {
    conn: ConnId,
    hub: Hub,
    /// Bytes queued for the writer.
    queued: Arc<AtomicUsize>,
    /// Signalled when the queue drains below its limit.
    drained: Notify,
    stop: watch::Sender<Option<Stop>>,
    limits: NetLimits,
}

async fn read_loop<S>(
    mut stream: SplitStream<WebSocketStream<S>>,
    pipe: &Pipe,
    mut stopped: watch::Receiver<Option<Stop>>,
) -> SplitStream<WebSocketStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Pipe {
        conn,
        hub,
        queued,
        drained,
        stop,
        limits,
    } = pipe;
    let (conn, limits) = (*conn, *limits);
    let mut deadline = Instant::now() + limits.idle_timeout;
    loop {
        let message = tokio::select! {
            _ = stopped.changed() => break,
            () = tokio::time::sleep_until(deadline) => {
                let idle = format!("nothing heard for {} ms", limits.idle_timeout.as_millis());
                stop_once(stop, Some((ErrorCode::Timeout, idle)));
                break;
            }
            message = stream.next() => message,
        };
        deadline = Instant::now() + limits.idle_timeout;
        match classify(message) {
            Incoming::Frame(bytes) => {
                // A peer that does not read what it asked for gets nothing more read from it
                // (TCP pushes back on it), so its requests cannot pile up answers here.
                if !wait_for_room(queued, drained, &mut stopped, limits.max_queue_bytes).await {
                    break;
                }
                let delivered = tokio::select! {
                    _ = stopped.changed() => false,
                    sent = hub.send_frame(conn, bytes.to_vec()) => sent,
                };
                if !delivered {
                    break;
                }
            }
            Incoming::Alive => {}
            Incoming::Closed => break,
            Incoming::Refuse(code, detail, _) => {
                tracing::debug!(conn, ?code, %detail, "refusing a frame");
                stop_once(stop, Some((code, detail)));
                break;
            }
        }
    }
    stream
}

/// Sends the hub's frames and pings until the connection stops, then the error frame (if the
/// stop has one) and a close; gives the sink back for the linger.
async fn write_loop<S>(
    mut sink: SplitSink<WebSocketStream<S>, WsMessage>,
    pipe: Arc<Pipe>,
    mut outbox: mpsc::UnboundedReceiver<Out>,
    mut stopped: watch::Receiver<Option<Stop>>,
) -> SplitSink<WebSocketStream<S>, WsMessage>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Pipe {
        hub,
        queued,
        drained,
        stop,
        limits,
        ..
    } = &*pipe;
    let mut ping = tokio::time::interval(limits.idle_timeout / 3);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    loop {
        let message = tokio::select! {
            biased;
            _ = stopped.changed() => break,
            next = outbox.recv() => match next {
                Some(Out::Frame(frame)) => {
                    let before = queued.fetch_sub(frame.len(), Ordering::Relaxed);
                    if before >= limits.max_queue_bytes
                        && before - frame.len() < limits.max_queue_bytes
                    {
                        // The hub stopped making frames for this peer, and the reader stopped
                        // reading from it, while the queue was full.
                        hub.local_edit();
                        drained.notify_waiters();
                    }
                    WsMessage::Binary(frame.into())
                }
                // The session closed after its error frame, or the hub is gone.
                Some(Out::Close) | None => {
                    stop_once(stop, None);
                    let close = WsMessage::Close(Some(CloseFrame {
                        code: CloseCode::Policy,
                        reason: "session closed".into(),
                    }));
                    let _ = tokio::time::timeout(LINGER, sink.send(close)).await;
                    return sink;
                }
            },
            _ = ping.tick() => WsMessage::Ping(Bytes::new()),
        };
        let sent = tokio::select! {
            _ = stopped.changed() => break,
            sent = sink.send(message) => sent,
        };
        if sent.is_err() {
            stop_once(stop, None);
            return sink;
        }
    }
    let error = stopped.borrow().clone().and_then(|stop| stop.error);
    let close = match &error {
        None => CloseCode::Normal,
        Some((ErrorCode::FrameTooLarge, _)) => CloseCode::Size,
        Some((ErrorCode::Malformed, _)) => CloseCode::Unsupported,
        Some((ErrorCode::Overloaded, _)) => CloseCode::Again,
        Some(_) => CloseCode::Policy,
    };
    send_closing(&mut sink, error, close).await;
    sink
}
