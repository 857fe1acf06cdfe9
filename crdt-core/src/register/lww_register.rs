//! [`LwwRegister`]: the last-writer-wins register, ordered by hybrid logical timestamps.
//!
//! ```
//! use crdt_core::{HybridClock, Lattice, LwwRegister, ReplicaId};
//!
//! let mut alice = HybridClock::new(ReplicaId::from_u128(1));
//! let mut bob = HybridClock::new(ReplicaId::from_u128(2));
//! let mut at_alice = LwwRegister::new();
//! let mut at_bob = LwwRegister::new();
//!
//! // Same physical millisecond on both: the replica id decides, the same way everywhere.
//! at_alice.set("tuesday", &mut alice, &mut || 1_000)?;
//! at_bob.set("wednesday", &mut bob, &mut || 1_000)?;
//! at_alice.join(&at_bob);
//! at_bob.join(&at_alice);
//! assert_eq!(at_alice.get(), Some(&"wednesday"));
//! assert_eq!(at_alice, at_bob);
//!
//! // A write after seeing the value wins even if the writer's clock is behind.
//! at_alice.set("thursday", &mut alice, &mut || 5)?;
//! assert_eq!(at_alice.get(), Some(&"thursday"));
//! # Ok::<(), crdt_core::CausalityError>(())
//! ```
//!
//! Semantics: the value with the greatest [`Timestamp`] wins; the loser is dropped. Timestamps
//! come from a [`HybridClock`] and include the replica id, so there are no ties between
//! replicas, and since `set` first observes the current timestamp, a write always wins over the
//! value its writer saw, however wrong its physical clock. Only a replica id used twice can
//! make two different values share a timestamp; `join` then still converges (the greater value
//! wins), and [`LwwRegister::try_join`] reports it as [`CausalityError::DuplicateTimestamp`].
//! A write that would need a timestamp beyond the end of the clock's range (the register
//! already holds `(u64::MAX ms, u32::MAX)`, or the clock saw it) is refused with
//! [`CausalityError::ClockExhausted`] instead of being stamped lower and silently lost.
//! What is kept: one value and its timestamp.

use serde::{Deserialize, Deserializer, Serialize};

use crate::causal::causality_error::CausalityError;
use crate::causal::hlc::{Clock, HybridClock, Timestamp};
use crate::codec::Codec;
use crate::codec::decode_error::DecodeError;
use crate::codec::raw::{FromRaw, deserialize_via_raw};
use crate::codec::type_tag;
use crate::lattice::{DeltaSince, Lattice};

/// A register of `T` where the last write (by hybrid logical time) wins.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct LwwRegister<T> {
    entry: Option<(Timestamp, T)>,
}

impl<T> Default for LwwRegister<T> {
    fn default() -> Self {
        Self { entry: None }
    }
}

impl<T: Clone + Ord> LwwRegister<T> {
    /// The empty register.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `value` with a timestamp from `clock` (after it observes the current one, so
    /// this write wins over it); returns the delta.
    ///
    /// Refused with [`CausalityError::ClockExhausted`] when no timestamp greater than the
    /// current one and the clock's exists; then neither the register nor the clock changes.
    pub fn set(
        &mut self,
        value: T,
        clock: &mut HybridClock,
        physical: &mut impl Clock,
    ) -> Result<Self, CausalityError> {
        // On a copy, so that a refused write leaves the clock as it was too.
        let mut next = clock.clone();
        if let Some((stamp, _)) = &self.entry {
            next.observe(stamp);
        }
        let delta = Self {
            entry: Some((next.tick(physical)?, value)),
        };
        *clock = next;
        self.join(&delta);
        Ok(delta)
    }

    /// The current value.
    pub fn get(&self) -> Option<&T> {
        self.entry.as_ref().map(|(_, value)| value)
    }

    /// The timestamp of the current value.
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.entry.as_ref().map(|(stamp, _)| *stamp)
    }

    /// Like [`Lattice::join`], but refuses (changing nothing) when the two sides hold different
    /// values under one timestamp.
    pub fn try_join(&mut self, other: &Self) -> Result<(), CausalityError> {
        if let (Some((mine, a)), Some((theirs, b))) = (&self.entry, &other.entry)
            && mine == theirs
            && a != b
        {
            return Err(CausalityError::DuplicateTimestamp(*mine));
        }
        self.join(other);
        Ok(())
    }
}

impl<T: Clone + Ord> Lattice for LwwRegister<T> {
    fn join(&mut self, other: &Self) {
        if let Some(theirs) = &other.entry
            && self.entry.as_ref().is_none_or(|mine| mine < theirs)
        {
            self.entry = Some(theirs.clone());
        }
    }
}

impl<T: Clone + Ord + core::fmt::Debug> DeltaSince for LwwRegister<T> {
    type Version = Option<Timestamp>;

    fn version(&self) -> Self::Version {
        self.timestamp()
    }

    fn delta_since(&self, version: &Self::Version) -> Self {
        if self.timestamp() > *version {
            self.clone()
        } else {
            Self::default()
        }
    }
}

impl<T: serde::de::DeserializeOwned> FromRaw for LwwRegister<T> {
    type Raw = Option<(Timestamp, T)>;

    fn from_raw(entry: Self::Raw) -> Result<Self, DecodeError> {
        Ok(Self { entry })
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for LwwRegister<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_via_raw(deserializer)
    }
}

impl<T: Serialize + serde::de::DeserializeOwned> Codec for LwwRegister<T> {
    const TYPE_TAG: u8 = type_tag::LWW_REGISTER;
    const FORMAT_VERSION: u8 = 1;
}
