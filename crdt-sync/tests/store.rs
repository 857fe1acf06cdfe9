//! The redb store: objects, the delta log with its numbers and its trimmed start, and peers'
//! progress survive a reopen; a file of another format is refused, not guessed at.

use crdt_core::{AWSet, GCounter, ReplicaId};
use crdt_sync::net::store::{Store, StoreError};
use crdt_sync::object::Object;
use crdt_sync::object_id::ObjectId;

#[test]
fn objects_log_and_peers_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("carts.redb");
    let cart = ObjectId::new("cart").unwrap();
    let hits = ObjectId::new("hits").unwrap();
    let peer = ReplicaId::from_u128(42);
    let (replica, expected) = {
        let (mut store, mut carts) = Store::open(&path, "carts").unwrap();
        // A known peer makes the log keep deltas for it.
        carts.attach_peer(peer);
        for item in ["milk", "eggs", "bread"] {
            carts
                .update(&cart, |items: &mut AWSet<String>, me| {
                    items.add(me, item.into())
                })
                .unwrap();
        }
        carts
            .update(&hits, |n: &mut GCounter, me| n.increment(me, 7))
            .unwrap();
        carts.record_acked(peer, 2); // drops deltas 1 and 2
        carts.record_received(peer, 9);
        store.prepare(&mut carts).write().unwrap();
        // A remote delta after the first batch goes in a second one.
        let theirs = GCounter::new().increment(peer, 5);
        carts
            .apply_remote(&hits, &Object::from(theirs), peer)
            .unwrap();
        store.prepare(&mut carts).write().unwrap();
        (carts.replica(), carts)
    };
    let (_, reopened) = Store::open(&path, "carts").unwrap();
    assert_eq!(reopened.replica(), replica, "the replica id is kept");
    let objects = |collection: &crdt_sync::collection::Collection| -> Vec<(String, Vec<u8>)> {
        collection
            .iter()
            .map(|(id, object)| (id.to_string(), object.encode().unwrap()))
            .collect()
    };
    assert_eq!(objects(&reopened), objects(&expected));
    assert_eq!(
        (reopened.log().base(), reopened.log().head()),
        (2, 5),
        "the log keeps its numbers and its trimmed start"
    );
    let logged: Vec<(u64, String, Option<ReplicaId>)> = reopened
        .log()
        .since(0)
        .map(|entry| (entry.seq, entry.id.to_string(), entry.origin))
        .collect();
    assert_eq!(
        logged,
        [
            (3, "cart".to_owned(), None),
            (4, "hits".to_owned(), None),
            (5, "hits".to_owned(), Some(peer)),
        ]
    );
    let progress = reopened.progress(&peer);
    assert_eq!((progress.acked, progress.received), (2, 9));
}

#[test]
fn a_file_that_is_not_a_store_is_refused_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.redb");
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    match Store::open(&path, "junk") {
        Err(StoreError::Database(error)) => assert!(!error.to_string().is_empty()),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a junk file opened as a store"),
    }
}

#[test]
fn a_store_already_open_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("held.redb");
    let (_held, _) = Store::open(&path, "held").unwrap();
    let error = Store::open(&path, "held").unwrap_err().to_string();
    assert!(error.contains("already open"), "{error}");
}
