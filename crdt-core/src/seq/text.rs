//! [`Text`]: replicated plain text, an [`Rga`] of Unicode scalar values (codepoints).
//!
//! ```
//! use crdt_core::{Lattice, ReplicaId, Text};
//!
//! let (alice, bob) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
//! let mut at_alice = Text::new();
//! at_alice.insert(alice, 0, "hello world").unwrap();
//! let mut at_bob = at_alice.clone();
//!
//! let a = at_alice.insert(alice, 5, ",").unwrap();
//! let b = at_bob.delete(bob, 6, 5).unwrap();
//! let c = at_bob.insert(bob, 6, "wörld").unwrap();
//! at_alice.join(&b);
//! at_alice.join(&c);
//! at_bob.join(&a);
//! assert_eq!(at_alice.to_string(), "hello, wörld");
//! assert_eq!(at_alice, at_bob);
//! assert_eq!(at_alice.len(), 12); // codepoints, not bytes
//! ```
//!
//! Semantics are those of [`Rga`]: concurrent inserts at one place are ordered the same on
//! every replica, and concurrent runs of text typed at one place are never interleaved,
//! whichever direction each was typed in (forwards, backwards, or both): the FugueMax ordering
//! of Weidner and Kleppmann ("The Art of the Fugue: Minimizing Interleaving in Collaborative
//! Text Editing", 2023, arXiv:2305.00583; see [`Rga`]'s guarantees). Deleted text leaves
//! compact tombstones. Positions and lengths count codepoints.
//!
//! ```
//! use crdt_core::{Lattice, ReplicaId, Text};
//!
//! // Both type a word at the start, backwards: each letter before the previous one.
//! let (alice, bob) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
//! let (mut at_alice, mut at_bob) = (Text::new(), Text::new());
//! let typed: Vec<Text> = ["c", "b", "a"]
//!     .iter()
//!     .map(|letter| at_alice.insert(alice, 0, letter).unwrap())
//!     .chain(["z", "y", "x"].iter().map(|letter| at_bob.insert(bob, 0, letter).unwrap()))
//!     .collect();
//! for delta in &typed {
//!     at_alice.join(delta);
//!     at_bob.join(delta);
//! }
//! assert_eq!(at_alice.to_string(), "abcxyz"); // RGA gave "xaybzc"
//! assert_eq!(at_alice, at_bob);
//! ```

use alloc::string::String;
use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::causal::causal_context::CausalContext;
use crate::causal::dot::Dot;
use crate::causal::replica_id::ReplicaId;
use crate::causal::version_vector::VersionVector;
use crate::codec::decode_error::DecodeError;
use crate::codec::raw::{FromRaw, deserialize_via_raw};
use crate::codec::{Codec, type_tag};
use crate::lattice::{DeltaSince, Lattice};
use crate::seq::edit_error::EditError;
use crate::seq::rga::{AsString, RawRga, Rga};

/// Replicated plain text, addressed by codepoint.
#[derive(Clone, PartialEq, Eq, Default, Debug)]
pub struct Text {
    chars: Rga<char>,
}

impl Text {
    /// The empty text.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts `text` at codepoint `pos` as new events of `replica`; returns the delta.
    pub fn insert(&mut self, replica: ReplicaId, pos: u64, text: &str) -> Result<Self, EditError> {
        self.chars
            .insert(replica, pos, text.chars())
            .map(|chars| Self { chars })
    }

    /// Deletes `len` codepoints from `pos` as new events of `replica`; returns the delta.
    pub fn delete(&mut self, replica: ReplicaId, pos: u64, len: u64) -> Result<Self, EditError> {
        self.chars
            .delete(replica, pos, len)
            .map(|chars| Self { chars })
    }

    /// The length in codepoints.
    pub fn len(&self) -> u64 {
        self.chars.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The codepoints, in order.
    pub fn chars(&self) -> impl Iterator<Item = char> + '_ {
        self.chars.iter().copied()
    }

    /// The codepoint at `pos`.
    pub fn get(&self, pos: u64) -> Option<char> {
        self.chars.get(pos).copied()
    }

    /// The id of the codepoint at `pos` (see [`Rga::id_at`]).
    pub fn id_at(&self, pos: u64) -> Option<Dot> {
        self.chars.id_at(pos)
    }

    /// Every insert and delete this text holds.
    pub fn context(&self) -> &CausalContext {
        self.chars.context()
    }

    /// How many runs of inserted text wait for the codepoint they were inserted after (deltas
    /// delivered out of causal order; see [`Rga::pending`]).
    pub fn pending(&self) -> usize {
        self.chars.pending()
    }

    /// The number of spans (runs of codepoints) stored, tombstones included.
    pub fn span_count(&self) -> usize {
        self.chars.span_count()
    }

    /// Forgets the tombstones and delete records every replica has seen; see [`Rga::compact`]
    /// for the precondition on `stable` and [`VersionVector::stable`] for computing it.
    pub fn compact(&mut self, stable: &VersionVector) -> u64 {
        self.chars.compact(stable)
    }

    /// The sequence of codepoints this text is.
    pub fn as_rga(&self) -> &Rga<char> {
        &self.chars
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buffer = String::new();
        for piece in self.chars() {
            buffer.push(piece);
        }
        f.write_str(&buffer)
    }
}

impl Lattice for Text {
    fn join(&mut self, other: &Self) {
        self.chars.join(&other.chars);
    }
}

impl DeltaSince for Text {
    type Version = CausalContext;

    fn version(&self) -> CausalContext {
        self.chars.version()
    }

    fn delta_since(&self, version: &CausalContext) -> Self {
        Self {
            chars: self.chars.delta_since(version),
        }
    }
}

/// Encoded as an `Rga<char>` whose runs' values are each written as one UTF-8 string, under
/// its own type tag.
impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.chars.encode_with::<AsString, S>(serializer)
    }
}

impl FromRaw for Text {
    type Raw = RawRga<String>;

    fn from_raw(raw: Self::Raw) -> Result<Self, DecodeError> {
        Rga::decode_with(raw, |text: String| text.chars().collect()).map(|chars| Self { chars })
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_via_raw(deserializer)
    }
}

impl Codec for Text {
    const TYPE_TAG: u8 = type_tag::TEXT;
    const FORMAT_VERSION: u8 = crate::seq::rga::FORMAT_VERSION;
    const RETIRED_VERSIONS: &'static [(u8, &'static str)] = crate::seq::rga::RETIRED_VERSIONS;
}
