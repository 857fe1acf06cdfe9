//! The frames peers exchange: one protocol-version byte, then a postcard-encoded [`Message`].
//!
//! ```
//! use crdt_core::ReplicaId;
//! use crdt_sync::message::{decode_frame, encode_frame, FrameError, Hello, Message};
//!
//! let hello = Message::Hello(Hello {
//!     replica: ReplicaId::from_u128(7),
//!     collection: "carts".into(),
//!     token: String::new(),
//!     log_base: 0,
//!     log_head: 0,
//!     max_frame_bytes: 1 << 20,
//! });
//! let frame = encode_frame(&hello).unwrap();
//! assert_eq!(decode_frame(&frame, 1 << 20).unwrap(), hello);
//! assert!(matches!(decode_frame(&frame[..frame.len() - 1], 1 << 20), Err(FrameError::Malformed(_))));
//! assert!(matches!(decode_frame(&frame, 4), Err(FrameError::TooLarge { .. })));
//! ```
//!
//! The format is specified in `PROTOCOL.md` at the crate root. Decoding checks the size before
//! anything else, then the version, then the payload, and never panics: every failure is a
//! [`FrameError`], answered with an [`ErrorFrame`] and a close. Anti-entropy ranges travel with
//! prefix-compressed keys ([`PackedRange`]); [`unpack_ranges`] checks them as it expands them.

use core::fmt;

use crdt_core::ReplicaId;
use crdt_core::codec::canonical::is_encoding_of;
use serde::{Deserialize, Serialize};

use crate::object::{Object, ObjectVersion};
use crate::object_id::ObjectId;
use crate::sync_error::SyncError;

/// The protocol version this build speaks, the first byte of every frame.
pub const PROTOCOL_VERSION: u8 = 1;

/// One protocol message.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub enum Message {
    /// The first message each side sends.
    Hello(Hello),
    /// Deltas of the sender's log, joined per object.
    Deltas(Deltas),
    /// The receiver has the sender's log through `received`, with everything before it.
    Ack {
        /// The last sequence number received without a gap.
        received: u64,
    },
    /// One step of anti-entropy.
    Reconcile(Reconcile),
    /// A fatal error; the sender closes after it.
    Error(ErrorFrame),
}

/// The handshake.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Hello {
    /// The sender's replica id.
    pub replica: ReplicaId,
    /// The collection the session replicates.
    pub collection: String,
    /// The access token, checked by the receiver's authorizer (empty if none).
    pub token: String,
    /// The last sequence number the sender's log has dropped.
    pub log_base: u64,
    /// The last sequence number the sender's log has assigned.
    pub log_head: u64,
    /// The largest frame the sender accepts: the receiver sends no larger (0: no limit said).
    pub max_frame_bytes: u64,
}

/// A delta-interval: the sender's log entries `from + 1 ..= to`, joined per object.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Deltas {
    /// The sequence number before the interval.
    pub from: u64,
    /// The last sequence number of the interval.
    pub to: u64,
    /// One joined delta per object.
    pub objects: Vec<(ObjectId, Object)>,
}

/// Names an anti-entropy round: its initiator and number.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct RoundId {
    /// Whether the sender of the message started the round.
    pub by_sender: bool,
    /// The initiator's number for it.
    pub number: u32,
}

/// Which request a reply answers, and which part of the reply this is.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ReplyTo {
    /// The request's number.
    pub request: u32,
    /// This part's index.
    pub part: u16,
    /// How many parts the reply has.
    pub parts: u16,
}

/// One anti-entropy message: ranges to compare and objects to exchange.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Reconcile {
    /// The round it belongs to.
    pub round: RoundId,
    /// The sender's log head when it sent this: its state then covers its log through it.
    pub head: u64,
    /// Set if the message needs a reply: the number the reply names.
    pub request: Option<u32>,
    /// Set if the message (or this part of it) answers a request.
    pub reply_to: Option<ReplyTo>,
    /// Ranges of ids, each closed by an upper bound, the first starting at the empty id.
    pub ranges: Vec<PackedRange>,
    /// Objects to exchange.
    pub objects: Vec<ObjectItem>,
}

/// A range's upper bound: ids below it are in it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Bound {
    /// Ids byte-wise below this string.
    Key(Vec<u8>),
    /// Every id.
    End,
}

/// What a sender says of one range of ids.
#[derive(Clone, PartialEq, Debug)]
pub enum RangeKind {
    /// Nothing: the range is settled.
    Skip,
    /// The wrapping sum of the item hashes of the sender's objects in the range (the wire
    /// keeps its low [`FINGERPRINT_BYTES`]).
    Fingerprint(u128),
    /// Every object the sender has in the range, with its item hash (the wire keeps its low
    /// [`ITEM_HASH_BYTES`]).
    Ids(Vec<(ObjectId, u128)>),
}

/// A range, by its upper bound (its lower bound is the previous range's upper bound).
#[derive(Clone, PartialEq, Debug)]
pub struct Range {
    /// Where it ends.
    pub upper: Bound,
    /// What the sender says of it.
    pub kind: RangeKind,
}

/// A range on the wire: keys stored as (bytes shared with the previous key, rest).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct PackedRange {
    upper: Option<(u8, Vec<u8>)>,
    kind: PackedKind,
}

#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
enum PackedKind {
    Skip,
    Fingerprint([u8; FINGERPRINT_BYTES]),
    Ids(Vec<(u8, Vec<u8>, [u8; ITEM_HASH_BYTES])>),
}

/// One object's part in anti-entropy.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct ObjectItem {
    /// The object.
    pub id: ObjectId,
    /// What the receiver lacks of it, to join.
    pub delta: Option<Object>,
    /// What the sender has of it, asking for what it lacks.
    pub want: Option<Want>,
}

/// A request for what the sender lacks of one object.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Want {
    /// What the sender has.
    pub version: ObjectVersion,
    /// Whether the receiver should ask back for what it lacks.
    pub reciprocate: bool,
}

/// A fatal error, sent before closing.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ErrorFrame {
    /// What went wrong.
    pub code: ErrorCode,
    /// Details for a human.
    pub detail: String,
}

/// The causes of an [`ErrorFrame`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum ErrorCode {
    /// A frame that does not decode.
    Malformed,
    /// A frame of another protocol version.
    UnsupportedVersion,
    /// A frame over the size limit.
    FrameTooLarge,
    /// A message out of place (before the handshake, or a second handshake).
    Unexpected,
    /// The token does not grant access to the collection.
    Unauthorized,
    /// The token grants reading only, and the peer sent changes.
    ReadOnly,
    /// The handshake names another collection than this session's.
    WrongCollection,
    /// The peer sent an update that cannot apply (such as a type mismatch).
    BadUpdate,
    /// The handshake did not complete in time, or the connection idled too long.
    Timeout,
    /// The peer's update would break a limit of the collection (objects, bytes per object).
    LimitExceeded,
    /// The receiver is overloaded (too many connections, or this peer reads too slowly).
    Overloaded,
}

/// Why a frame was refused.
#[derive(Debug)]
pub enum FrameError {
    /// The frame is larger than the limit.
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The frame is empty.
    Empty,
    /// The frame is of another protocol version.
    UnsupportedVersion {
        /// The version it has.
        found: u8,
    },
    /// The payload does not decode.
    Malformed(postcard::Error),
    /// Bytes after the message.
    TrailingBytes(usize),
    /// The message decodes but breaks a rule (a bad packed key, an invalid id).
    Invalid(&'static str),
    /// The message decodes, but the frame is not its canonical encoding (an over-long varint,
    /// say): a frame has one encoding, as every value in it does.
    NonCanonical,
}

impl FrameError {
    /// The error code to send back.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::TooLarge { .. } => ErrorCode::FrameTooLarge,
            Self::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
            Self::Empty
            | Self::Malformed(_)
            | Self::TrailingBytes(_)
            | Self::Invalid(_)
            | Self::NonCanonical => ErrorCode::Malformed,
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { size, limit } => {
                write!(f, "frame of {size} bytes exceeds the limit of {limit}")
            }
            Self::Empty => f.write_str("empty frame"),
            Self::UnsupportedVersion { found } => write!(
                f,
                "protocol version {found} is not supported (this peer speaks {PROTOCOL_VERSION})"
            ),
            Self::Malformed(error) => write!(f, "malformed frame: {error}"),
            Self::TrailingBytes(count) => write!(f, "{count} bytes after the message"),
            Self::Invalid(why) => write!(f, "invalid message: {why}"),
            Self::NonCanonical => f.write_str(
                "not the canonical encoding of the message it decodes to (an over-long number or character)",
            ),
        }
    }
}

impl std::error::Error for FrameError {}

/// Encodes a message as a frame.
pub fn encode_frame(message: &Message) -> Result<Vec<u8>, SyncError> {
    postcard::to_extend(message, vec![PROTOCOL_VERSION])
        .map_err(|error| SyncError::Encode(crdt_core::EncodeError(error)))
}

/// Decodes a frame of at most `max_size` bytes.
pub fn decode_frame(frame: &[u8], max_size: usize) -> Result<Message, FrameError> {
    if frame.len() > max_size {
        return Err(FrameError::TooLarge {
            size: frame.len(),
            limit: max_size,
        });
    }
    let [version, payload @ ..] = frame else {
        return Err(FrameError::Empty);
    };
    if *version != PROTOCOL_VERSION {
        return Err(FrameError::UnsupportedVersion { found: *version });
    }
    let (message, rest) =
        postcard::take_from_bytes::<Message>(payload).map_err(FrameError::Malformed)?;
    if !rest.is_empty() {
        return Err(FrameError::TrailingBytes(rest.len()));
    }
    if !is_encoding_of(&message, payload) {
        return Err(FrameError::NonCanonical);
    }
    Ok(message)
}

/// Bytes of a range fingerprint on the wire: the low 96 bits of the sum, which are the sum of
/// the item hashes' low 96 bits, so truncation keeps fingerprints additive.
pub const FINGERPRINT_BYTES: usize = 12;

/// Bytes of an item hash in an id list: a mismatch chance of 2⁻⁶⁴ per object.
pub const ITEM_HASH_BYTES: usize = 8;

/// A range fingerprint as the wire carries it.
pub fn wire_fingerprint(sum: u128) -> u128 {
    sum & (u128::MAX >> (128 - 8 * FINGERPRINT_BYTES))
}

/// An item hash as an id list carries it.
pub fn wire_item_hash(hash: u128) -> u128 {
    hash & (u128::MAX >> (128 - 8 * ITEM_HASH_BYTES))
}

fn low_bytes<const N: usize>(value: u128) -> [u8; N] {
    let mut bytes = [0; N];
    bytes.copy_from_slice(&value.to_le_bytes()[..N]);
    bytes
}

fn from_low_bytes<const N: usize>(bytes: &[u8; N]) -> u128 {
    let mut full = [0; 16];
    full[..N].copy_from_slice(bytes);
    u128::from_le_bytes(full)
}

fn shared_prefix(previous: &[u8], key: &[u8]) -> usize {
    previous
        .iter()
        .zip(key)
        .take_while(|(a, b)| a == b)
        .count()
        .min(usize::from(u8::MAX))
}

fn pack_key(previous: &mut Vec<u8>, key: &[u8]) -> (u8, Vec<u8>) {
    let shared = shared_prefix(previous, key);
    previous.clear();
    previous.extend_from_slice(key);
    // `shared` is at most 255 by construction.
    (shared as u8, key[shared..].to_vec())
}

fn unpack_key(previous: &mut Vec<u8>, (shared, suffix): (u8, Vec<u8>)) -> Result<(), FrameError> {
    let shared = usize::from(shared);
    if shared > previous.len() || shared + suffix.len() > ObjectId::MAX_LEN {
        return Err(FrameError::Invalid("packed key out of bounds"));
    }
    previous.truncate(shared);
    previous.extend_from_slice(&suffix);
    Ok(())
}

/// Compresses ranges for the wire: every key is stored relative to the key before it.
pub fn pack_ranges(ranges: &[Range]) -> Vec<PackedRange> {
    let mut previous = Vec::new();
    ranges
        .iter()
        .map(|range| {
            let kind = match &range.kind {
                RangeKind::Skip => PackedKind::Skip,
                RangeKind::Fingerprint(sum) => PackedKind::Fingerprint(low_bytes(*sum)),
                RangeKind::Ids(ids) => PackedKind::Ids(
                    ids.iter()
                        .map(|(id, hash)| {
                            let (shared, suffix) = pack_key(&mut previous, id.as_bytes());
                            (shared, suffix, low_bytes(*hash))
                        })
                        .collect(),
                ),
            };
            let upper = match &range.upper {
                Bound::Key(key) => Some(pack_key(&mut previous, key)),
                Bound::End => None,
            };
            PackedRange { upper, kind }
        })
        .collect()
}

/// Expands ranges from the wire, checking that bounds ascend, ids are valid and ascend within
/// their range.
pub fn unpack_ranges(packed: Vec<PackedRange>) -> Result<Vec<Range>, FrameError> {
    let mut previous = Vec::new();
    let mut lower = Bound::Key(Vec::new());
    let mut ranges = Vec::with_capacity(packed.len());
    for PackedRange { upper, kind } in packed {
        if lower == Bound::End {
            return Err(FrameError::Invalid("a range after the end"));
        }
        let kind = match kind {
            PackedKind::Skip => RangeKind::Skip,
            PackedKind::Fingerprint(sum) => RangeKind::Fingerprint(from_low_bytes(&sum)),
            PackedKind::Ids(ids) => {
                let mut unpacked: Vec<(ObjectId, u128)> = Vec::with_capacity(ids.len());
                for (shared, suffix, hash) in ids {
                    unpack_key(&mut previous, (shared, suffix))?;
                    let id = ObjectId::from_bytes(previous.clone())
                        .map_err(|_| FrameError::Invalid("an id that is not a valid object id"))?;
                    let ascending = match unpacked.last() {
                        Some((last, _)) => *last < id,
                        None => Bound::Key(id.as_bytes().to_vec()) >= lower,
                    };
                    if !ascending {
                        return Err(FrameError::Invalid("ids out of order"));
                    }
                    unpacked.push((id, from_low_bytes(&hash)));
                }
                RangeKind::Ids(unpacked)
            }
        };
        let upper = match upper {
            Some(key) => {
                unpack_key(&mut previous, key)?;
                Bound::Key(previous.clone())
            }
            None => Bound::End,
        };
        if upper <= lower {
            return Err(FrameError::Invalid("range bounds out of order"));
        }
        if let RangeKind::Ids(ids) = &kind
            && ids
                .last()
                .is_some_and(|(id, _)| Bound::Key(id.as_bytes().to_vec()) >= upper)
        {
            return Err(FrameError::Invalid("an id beyond its range"));
        }
        lower = upper.clone();
        ranges.push(Range { upper, kind });
    }
    Ok(ranges)
}
