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
use tokio::sync::{mpsc, watch};
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
    let _ = tokio::time::timeout(LINGER, async {
        if let Ok(frame) = encode_frame(&Message::Error(ErrorFrame { code, detail })) {
            socket.send(WsMessage::Binary(frame.into())).await?;
        }
        socket.send(close_message(close, code)).await
    })
    .await;
    linger(socket).await;
}

fn close_message(close: CloseCode, code: ErrorCode) -> WsMessage {
    WsMessage::Close(Some(CloseFrame {
        code: close,
        reason: format!("{code:?}").into(),
    }))
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
    let writer = tokio::spawn(write_loop(
        sink,
        hub.clone(),
        outbox,
        queued,
        stop.clone(),
        stopped.clone(),
        limits,
    ));
    let stream = read_loop(stream, &hub, conn, &stop, stopped, limits).await;
    stop_once(&stop, None);
    let sink = writer.await;
    hub.send(Event::Closed(conn)).await;
    if let Ok(sink) = sink
        && let Ok(socket) = stream.reunite(sink)
    {
        linger(socket).await;
    }
}

/// Stops the connection with `error` unless it is already stopping (the first cause is the
/// one the peer is told).
fn stop_once(stop: &watch::Sender<Option<Stop>>, error: Option<(ErrorCode, String)>) {
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

async fn read_loop<S>(
    mut stream: SplitStream<WebSocketStream<S>>,
    hub: &Hub,
    conn: ConnId,
    stop: &watch::Sender<Option<Stop>>,
    mut stopped: watch::Receiver<Option<Stop>>,
    limits: NetLimits,
) -> SplitStream<WebSocketStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
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
                let delivered = tokio::select! {
                    _ = stopped.changed() => false,
                    sent = hub.send(Event::Frame(conn, bytes.to_vec())) => sent,
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
    hub: Hub,
    mut outbox: mpsc::UnboundedReceiver<Out>,
    queued: Arc<AtomicUsize>,
    stop: watch::Sender<Option<Stop>>,
    mut stopped: watch::Receiver<Option<Stop>>,
    limits: NetLimits,
) -> SplitSink<WebSocketStream<S>, WsMessage>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
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
                        // The hub stopped making frames for this peer while it was full.
                        hub.local_edit();
                    }
                    WsMessage::Binary(frame.into())
                }
                // The session closed after its error frame, or the hub is gone.
                Some(Out::Close) | None => {
                    stop_once(&stop, None);
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
            stop_once(&stop, None);
            return sink;
        }
    }
    let error = stopped.borrow().clone().and_then(|stop| stop.error);
    let close = match &error {
        None => WsMessage::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "closing".into(),
        })),
        Some((code, _)) => close_message(
            match code {
                ErrorCode::FrameTooLarge => CloseCode::Size,
                ErrorCode::Malformed => CloseCode::Unsupported,
                ErrorCode::Overloaded => CloseCode::Again,
                _ => CloseCode::Policy,
            },
            *code,
        ),
    };
    let _ = tokio::time::timeout(LINGER, async {
        if let Some((code, detail)) = error
            && let Ok(frame) = encode_frame(&Message::Error(ErrorFrame { code, detail }))
        {
            sink.send(WsMessage::Binary(frame.into())).await?;
        }
        sink.send(close).await
    })
    .await;
    sink
}
