//! Objects for the session targets, drawn from the input: ids from a small pool (so that
//! updates, type clashes and anti-entropy ranges meet), values of every [`Object`] type made by
//! real mutators (so that a peer's deltas are valid unless the fuzzer breaks their bytes), and
//! local edits through [`Collection::update`].

use arbitrary::{Arbitrary, Unstructured};
use crdt_core::{
    AWSet, GCounter, HybridClock, LwwRegister, MvRegister, PNCounter, ReplicaId, Rga, Text,
};
use crdt_sync::collection::Collection;
use crdt_sync::object::{CounterMap, Object, RegisterMap};
use crdt_sync::object_id::ObjectId;
use crdt_sync::sync_error::SyncError;

use crate::laws::{FEW_EVENTS, byte};

/// The ids objects get: sorted, with shared prefixes, so that range bounds fall between them;
/// one per object type, for [`local_edit`]'s typed mode.
pub const IDS: [&str; 9] = [
    "a",
    "b",
    "cart",
    "cart/items",
    "cart/note",
    "n",
    "t",
    "x",
    "zz",
];

/// Range bounds: the ids and prefixes of them.
pub const BOUNDS: [&str; 11] = [
    "a",
    "b",
    "c",
    "ca",
    "cart",
    "cart/items",
    "cart/n",
    "n",
    "t",
    "x",
    "zz",
];

/// An id from the pool.
pub fn object_id(u: &mut Unstructured<'_>) -> ObjectId {
    let name = IDS[usize::from(byte(u)) % IDS.len()];
    ObjectId::new(name).expect("the pool's ids are valid")
}

/// How many object types there are.
const KINDS: u8 = 9;

/// A string from a tiny alphabet (set elements, register values, map keys collide).
fn word(u: &mut Unstructured<'_>) -> String {
    ["x", "y", "milk", "é"][usize::from(byte(u)) % 4].to_owned()
}

/// One mutation of `value`, of the kind the input picks among its type's mutators, made as
/// `replica` at physical time `millis`; returns its delta.
fn mutate(value: &mut Object, replica: ReplicaId, millis: u64, u: &mut Unstructured<'_>) -> Object {
    let small = u64::from(byte(u) % 5) + 1;
    let pos = u64::from(byte(u));
    match value {
        Object::GCounter(counter) => counter.increment(replica, small).into(),
        Object::PNCounter(counter) => {
            if byte(u).is_multiple_of(2) {
                counter.increment(replica, small).into()
            } else {
                counter.decrement(replica, small).into()
            }
        }
        // A register already at the end of the clock's range refuses the write and is left as
        // it was, which the empty delta says.
        Object::LwwRegister(register) => register
            .set(word(u), &mut HybridClock::new(replica), &mut || millis)
            .unwrap_or_default()
            .into(),
        Object::MvRegister(register) => match byte(u) % 4 {
            0 => register.clear().into(),
            _ => register.write(replica, word(u)).expect(FEW_EVENTS).into(),
        },
        Object::AWSet(set) => match byte(u) % 4 {
            0 => set.remove(&word(u)).into(),
            1 => set.clear().into(),
            _ => set.add(replica, word(u)).expect(FEW_EVENTS).into(),
        },
        Object::Map(map) => match byte(u) % 4 {
            0 => map.remove(&word(u)).into(),
            _ => {
                let value = word(u);
                map.update(word(u), |register| register.write(replica, value))
                    .expect(FEW_EVENTS)
                    .into()
            }
        },
        Object::CounterMap(map) => match byte(u) % 4 {
            0 => map.remove(&word(u)).into(),
            _ => map
                .update(word(u), |counter| counter.add(replica, small as i64 - 2))
                .expect(FEW_EVENTS)
                .into(),
        },
        Object::List(list) => {
            let len = list.len();
            if byte(u).is_multiple_of(3) && len > 0 {
                let pos = pos % len;
                list.delete(replica, pos, small.min(len - pos))
                    .expect("the range is in the list")
                    .into()
            } else {
                list.insert(replica, pos % (len + 1), [word(u)])
                    .expect("the position is in the list")
                    .into()
            }
        }
        Object::Text(text) => {
            let len = text.len();
            if byte(u).is_multiple_of(3) && len > 0 {
                let pos = pos % len;
                text.delete(replica, pos, small.min(len - pos))
                    .expect("the range is in the text")
                    .into()
            } else {
                text.insert(replica, pos % (len + 1), &word(u))
                    .expect("the position is in the text")
                    .into()
            }
        }
    }
}

/// The empty value of type `kind`.
fn empty(kind: u8) -> Object {
    match kind % KINDS {
        0 => GCounter::default().into(),
        1 => PNCounter::default().into(),
        2 => LwwRegister::<String>::default().into(),
        3 => MvRegister::<String>::default().into(),
        4 => AWSet::<String>::default().into(),
        5 => RegisterMap::default().into(),
        6 => CounterMap::default().into(),
        7 => Rga::<String>::default().into(),
        _ => Text::default().into(),
    }
}

/// A value made by `replica` with one to four mutations, of a type the input picks: what a
/// peer's delta or whole object looks like.
pub fn remote_object(u: &mut Unstructured<'_>, replica: ReplicaId, millis: u64) -> Object {
    let kind = byte(u) % KINDS;
    let mut value = empty(kind);
    let mut delta = empty(kind);
    for _ in 0..=byte(u) % 4 {
        let step = mutate(&mut value, replica, millis, u);
        // Same type by construction.
        let _ = delta.join(&step);
    }
    if byte(u).is_multiple_of(2) {
        value
    } else {
        delta
    }
}

/// A local edit of an object (created if absent) through the collection's update; returns the
/// id and the delta logged. The type is the input's pick, or with `typed` the id's own (its
/// index in [`IDS`]), so that replicas never clash over an id's type. A type clash is refused
/// by the collection, and is the only refusal.
pub fn local_edit(
    collection: &mut Collection,
    u: &mut Unstructured<'_>,
    millis: u64,
    typed: bool,
) -> Option<(ObjectId, Object)> {
    let index = usize::from(byte(u)) % IDS.len();
    let id = ObjectId::new(IDS[index]).expect("the pool's ids are valid");
    let kind = if typed { index as u8 } else { byte(u) } % KINDS;
    let result = match kind {
        0 => edit_as::<GCounter>(collection, &id, millis, u),
        1 => edit_as::<PNCounter>(collection, &id, millis, u),
        2 => edit_as::<LwwRegister<String>>(collection, &id, millis, u),
        3 => edit_as::<MvRegister<String>>(collection, &id, millis, u),
        4 => edit_as::<AWSet<String>>(collection, &id, millis, u),
        5 => edit_as::<RegisterMap>(collection, &id, millis, u),
        6 => edit_as::<CounterMap>(collection, &id, millis, u),
        7 => edit_as::<Rga<String>>(collection, &id, millis, u),
        _ => edit_as::<Text>(collection, &id, millis, u),
    };
    match result {
        Ok(delta) => Some((id, delta)),
        Err(SyncError::TypeMismatch { held, received }) => {
            assert_ne!(held, received, "a type mismatch between equal types");
            assert_eq!(collection.get(&id).map(Object::type_tag), Some(held));
            None
        }
        Err(error) => panic!("a local edit of {id} was refused: {error}"),
    }
}

fn edit_as<T>(
    collection: &mut Collection,
    id: &ObjectId,
    millis: u64,
    u: &mut Unstructured<'_>,
) -> Result<Object, SyncError>
where
    T: crdt_sync::object::ObjectType + Clone,
{
    let head = collection.log().head();
    let delta = collection.update(id, |value: &mut T, me| {
        let mut object: Object = value.clone().into();
        let delta = mutate(&mut object, me, millis, u);
        *value = T::as_object(&object).expect("the same type").clone();
        T::as_object(&delta).expect("the same type").clone()
    })?;
    assert_eq!(
        collection.log().head(),
        head + 1,
        "a local edit was not logged"
    );
    Ok(delta.into())
}

/// A `u64` the input picks: mostly small, sometimes anything.
pub fn number(u: &mut Unstructured<'_>) -> u64 {
    match byte(u) {
        248.. => u64::arbitrary(u).unwrap_or_default(),
        small => u64::from(small % 16),
    }
}
