//! [`Object`]: one replicated value of a collection, any of the core types.
//!
//! ```
//! use crdt_core::{AWSet, ReplicaId};
//! use crdt_sync::object::Object;
//!
//! let alice = ReplicaId::from_u128(1);
//! let mut fruit = AWSet::new();
//! let delta: Object = fruit.add(alice, "apple".to_string()).unwrap().into();
//! let mut replica: Object = AWSet::<String>::new().into();
//! assert!(replica.join(&delta).unwrap());   // it changed
//! assert!(!replica.join(&delta).unwrap());  // joining again changes nothing
//! assert_eq!(Object::decode(&replica.encode().unwrap()).unwrap(), replica);
//! ```
//!
//! An object is a tagged union of the crdt-core types with concrete element types (strings),
//! so a cart, its items and its notes can live side by side in one collection. Its encoding is
//! the wrapped type's canonical encoding, whose type tag says which variant it is; equal objects
//! encode to identical bytes, which is what the anti-entropy digests hash. Joining objects of
//! different types is refused with [`SyncError::TypeMismatch`]: an id names one type for good.

use crdt_core::codec::type_tag;
use crdt_core::{
    AWSet, CausalContext, CausalCounter, Codec, DecodeError, DeltaSince, EncodeError, GCounter,
    Lattice, LwwRegister, MvRegister, ORMap, PNCounter, Rga, Text, Timestamp, VersionVector,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::sync_error::SyncError;

/// A map of multi-value registers: the shape a document's fields take.
pub type RegisterMap = ORMap<String, MvRegister<String>>;

/// A map of causal counters: a shopping cart of item → quantity, where concurrent adds add up
/// and a remove takes only the adds it had seen.
pub type CounterMap = ORMap<String, CausalCounter>;

/// What a replica has of one object: the object type's own version summary, or nothing.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub enum ObjectVersion {
    /// The replica has never seen the object.
    Absent,
    /// A grow-only counter's version vector.
    GCounter(VersionVector),
    /// A PN-counter's two version vectors (increments, decrements).
    PNCounter((VersionVector, VersionVector)),
    /// A last-writer-wins register's newest timestamp.
    LwwRegister(Option<Timestamp>),
    /// The causal context of a causal type (registers, sets, maps, sequences).
    Causal(CausalContext),
}

impl ObjectVersion {
    /// Whether a replica at `other` certainly lacks nothing a replica at `self` has. For
    /// counters and registers that is `self ≤ other`. A causal context cannot tell: a remove
    /// makes no new event, so two replicas with equal contexts may differ by what one removed;
    /// only an empty context (nothing ever seen) is covered.
    pub fn is_covered_by(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Absent, _) => true,
            (Self::GCounter(mine), Self::GCounter(theirs)) => mine <= theirs,
            (Self::PNCounter((up, down)), Self::PNCounter((their_up, their_down))) => {
                up <= their_up && down <= their_down
            }
            (Self::LwwRegister(mine), Self::LwwRegister(theirs)) => mine <= theirs,
            (Self::Causal(mine), Self::Causal(_)) => mine.is_empty(),
            _ => false,
        }
    }
}

macro_rules! objects {
    ($($variant:ident($ty:ty) = $tag:path, $version:ident $(, $doc:literal)?;)+) => {
        /// One replicated value: a tagged union of the crdt-core types.
        #[derive(Clone, PartialEq, Debug)]
        pub enum Object {
            $($(#[doc = $doc])? $variant($ty),)+
        }

        impl Object {
            /// The type tag of the wrapped type's encoding (see `crdt_core::codec::type_tag`).
            pub fn type_tag(&self) -> u8 {
                match self {
                    $(Self::$variant(_) => $tag,)+
                }
            }

            /// The canonical encoding: the wrapped type's own.
            pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
                match self {
                    $(Self::$variant(value) => value.encode(),)+
                }
            }

            /// Decodes bytes from any source; the envelope's type tag picks the variant.
            pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
                match bytes.first() {
                    $(Some(&$tag) => <$ty>::decode(bytes).map(Self::$variant),)+
                    Some(_) => Err(DecodeError::Invalid("unknown object type tag")),
                    None => Err(DecodeError::MissingEnvelope),
                }
            }

            /// Joins `other` into `self`; says whether `self` changed.
            pub fn join(&mut self, other: &Self) -> Result<bool, SyncError> {
                match (self, other) {
                    $((Self::$variant(mine), Self::$variant(theirs)) => {
                        let before = mine.clone();
                        mine.join(theirs);
                        Ok(*mine != before)
                    })+
                    (mine, theirs) => Err(SyncError::TypeMismatch {
                        held: mine.type_tag(),
                        received: theirs.type_tag(),
                    }),
                }
            }

            /// What this replica has of the object.
            pub fn version(&self) -> ObjectVersion {
                match self {
                    $(Self::$variant(value) => ObjectVersion::$version(value.version()),)+
                }
            }

            /// What a replica at `version` lacks: the whole object if it has none of it.
            pub fn delta_since(&self, version: &ObjectVersion) -> Result<Self, SyncError> {
                match (self, version) {
                    (_, ObjectVersion::Absent) => Ok(self.clone()),
                    $((Self::$variant(value), ObjectVersion::$version(theirs)) => {
                        Ok(Self::$variant(value.delta_since(theirs)))
                    })+
                    (mine, _) => Err(SyncError::VersionMismatch { held: mine.type_tag() }),
                }
            }

            /// The bottom value of the same type: what a replica that has never seen it holds.
            pub fn bottom(&self) -> Self {
                match self {
                    $(Self::$variant(_) => Self::$variant(<$ty>::default()),)+
                }
            }
        }

        $(
            impl From<$ty> for Object {
                fn from(value: $ty) -> Self {
                    Self::$variant(value)
                }
            }

            impl ObjectType for $ty {
                fn as_object_mut(object: &mut Object) -> Option<&mut Self> {
                    match object {
                        Object::$variant(value) => Some(value),
                        _ => None,
                    }
                }

                fn as_object(object: &Object) -> Option<&Self> {
                    match object {
                        Object::$variant(value) => Some(value),
                        _ => None,
                    }
                }
            }
        )+
    };
}

objects! {
    GCounter(GCounter) = type_tag::G_COUNTER, GCounter, "A grow-only counter.";
    PNCounter(PNCounter) = type_tag::PN_COUNTER, PNCounter, "A counter with decrements.";
    LwwRegister(LwwRegister<String>) = type_tag::LWW_REGISTER, LwwRegister, "A last-writer-wins register of a string.";
    MvRegister(MvRegister<String>) = type_tag::MV_REGISTER, Causal, "A multi-value register of strings.";
    AWSet(AWSet<String>) = type_tag::AW_SET, Causal, "An add-wins set of strings.";
    Map(RegisterMap) = type_tag::OR_MAP, Causal, "An observed-remove map of multi-value registers.";
    CounterMap(CounterMap) = type_tag::COUNTER_MAP, Causal, "An observed-remove map of counters (a cart).";
    List(Rga<String>) = type_tag::RGA, Causal, "A sequence of strings.";
    Text(Text) = type_tag::TEXT, Causal, "Plain text.";
}

/// A core type an [`Object`] can hold, for typed access to a collection's objects.
pub trait ObjectType: Lattice + Into<Object> {
    /// The value, if `object` holds this type.
    fn as_object_mut(object: &mut Object) -> Option<&mut Self>;
    /// The value, if `object` holds this type.
    fn as_object(object: &Object) -> Option<&Self>;
}

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = self.encode().map_err(serde::ser::Error::custom)?;
        serializer.serialize_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor;
        impl serde::de::Visitor<'_> for BytesVisitor {
            type Value = Object;

            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("an encoded object")
            }

            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Object, E> {
                Object::decode(bytes).map_err(E::custom)
            }
        }
        deserializer.deserialize_bytes(BytesVisitor)
    }
}
