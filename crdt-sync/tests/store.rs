//! The redb store: objects, the delta log with its numbers and its trimmed start, and peers'
//! progress survive a reopen; many collections share one file; a data directory of the
//! earlier layout (a file per collection) is migrated; a file of another format is refused.

use crdt_core::{AWSet, GCounter, ReplicaId};
use crdt_sync::collection::Collection;
use crdt_sync::net::store::redb::legacy::file_name;
use crdt_sync::net::store::redb::{FILE, RedbStore};
use crdt_sync::net::store::{Store, StoreError};
use crdt_sync::object::Object;
use crdt_sync::object_id::ObjectId;

fn objects(collection: &Collection) -> Vec<(String, Vec<u8>)> {
    collection
        .iter()
        .map(|(id, object)| (id.to_string(), object.encode().unwrap()))
        .collect()
}

fn files_in(dir: &std::path::Path) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect()
}

async fn reopen(dir: &std::path::Path, name: &str) -> Collection {
    let store = RedbStore::open(dir).unwrap();
    let (_, collection) = store.open(name, false).await.unwrap().expect("stored");
    store.close().await;
    collection
}

#[tokio::test]
async fn objects_log_and_peers_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let cart = ObjectId::new("cart").unwrap();
    let hits = ObjectId::new("hits").unwrap();
    let peer = ReplicaId::from_u128(42);
    let (replica, expected) = {
        let store = RedbStore::open(dir.path()).unwrap();
        let (mut handle, mut carts) = store.open("carts", true).await.unwrap().unwrap();
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
        handle.prepare(&mut carts).unwrap().await.unwrap();
        // A remote delta after the first commit goes in a second one.
        let theirs = GCounter::new().increment(peer, 5);
        carts
            .apply_remote(&hits, &Object::from(theirs), peer)
            .unwrap();
        handle.prepare(&mut carts).unwrap().await.unwrap();
        assert!(
            handle.prepare(&mut carts).is_none(),
            "nothing left to write"
        );
        store.close().await;
        (carts.replica(), carts)
    };
    let reopened = reopen(dir.path(), "carts").await;
    assert_eq!(reopened.replica(), replica, "the replica id is kept");
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

#[tokio::test]
async fn collections_committed_at_once_are_all_durable_and_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let hits = ObjectId::new("hits").unwrap();
    let store = std::sync::Arc::new(RedbStore::open(dir.path()).unwrap());
    let mut tasks = Vec::new();
    for cart in 0..200u64 {
        let store = store.clone();
        let hits = hits.clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("cart-{cart}");
            let (mut handle, mut collection) = store.open(&name, true).await.unwrap().unwrap();
            collection
                .update(&hits, |n: &mut GCounter, me| n.increment(me, cart + 1))
                .unwrap();
            handle.prepare(&mut collection).unwrap().await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Names that share a prefix ("cart-1", "cart-10") must not see each other's rows.
    assert_eq!(store.collections().unwrap().len(), 200);
    store.close().await;
    let store = RedbStore::open(dir.path()).unwrap();
    for cart in [0u64, 1, 10, 100, 199] {
        let (_, collection) = store
            .open(&format!("cart-{cart}"), false)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(collection.len(), 1);
        let counter = collection.get_as::<GCounter>(&hits).unwrap().unwrap();
        assert_eq!(counter.value(), u128::from(cart + 1), "cart-{cart}");
    }
    assert_eq!(
        files_in(dir.path()),
        [FILE],
        "one file for every collection"
    );
}

#[tokio::test]
async fn a_missing_collection_is_created_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    assert!(store.open("cart", false).await.unwrap().is_none());
    let (_, created) = store.open("cart", true).await.unwrap().unwrap();
    // Created with nothing in it, it is stored all the same, with its replica id.
    let (_, again) = store.open("cart", false).await.unwrap().unwrap();
    assert_eq!(again.replica(), created.replica());
    store.close().await;
    assert!(matches!(
        store.open("cart", false).await,
        Err(StoreError::Closed)
    ));
}

/// Writes a collection file of the earlier layout, as that version of the relay did.
fn write_legacy_file(
    dir: &std::path::Path,
    name: &str,
    replica: ReplicaId,
    objects: &[(ObjectId, Object)],
    peers: &[(ReplicaId, (u64, u64))],
) {
    use redb::{Database, TableDefinition};
    let meta: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
    let object_table: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("objects");
    let log: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("log");
    let peer_table: TableDefinition<'_, &[u8], (u64, u64)> = TableDefinition::new("peers");
    let db = Database::create(dir.join(file_name(name))).unwrap();
    let write = db.begin_write().unwrap();
    {
        let mut meta = write.open_table(meta).unwrap();
        meta.insert("format", [1u8].as_slice()).unwrap();
        meta.insert("replica", replica.as_bytes().as_slice())
            .unwrap();
        meta.insert("log_base", 4u64.to_le_bytes().as_slice())
            .unwrap();
        let mut table = write.open_table(object_table).unwrap();
        for (id, object) in objects {
            table
                .insert(id.as_bytes(), object.encode().unwrap().as_slice())
                .unwrap();
        }
        write.open_table(log).unwrap();
        let mut table = write.open_table(peer_table).unwrap();
        for (peer, progress) in peers {
            table.insert(peer.as_bytes().as_slice(), *progress).unwrap();
        }
    }
    write.commit().unwrap();
}

#[tokio::test]
async fn a_data_directory_of_files_per_collection_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let cart = ObjectId::new("cart").unwrap();
    let peer = ReplicaId::from_u128(7);
    let names = ["carts/alice", "carts/bob", "relay"];
    for (k, name) in names.iter().enumerate() {
        let mut items = AWSet::new();
        items
            .add(
                ReplicaId::from_u128(100 + k as u128),
                format!("item of {name}"),
            )
            .unwrap();
        write_legacy_file(
            dir.path(),
            name,
            ReplicaId::from_u128(k as u128 + 1),
            &[(cart.clone(), Object::from(items))],
            &[(peer, (3, 11))],
        );
    }
    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(store.collections().unwrap(), names);
    for (k, name) in names.iter().enumerate() {
        let (_, collection) = store.open(name, false).await.unwrap().unwrap();
        assert_eq!(collection.replica(), ReplicaId::from_u128(k as u128 + 1));
        let items = collection.get_as::<AWSet<String>>(&cart).unwrap().unwrap();
        assert!(items.contains(&format!("item of {name}")));
        assert_eq!(collection.log().base(), 4, "the log keeps its numbers");
        let progress = collection.progress(&peer);
        assert_eq!((progress.acked, progress.received), (3, 11));
    }
    store.close().await;
    assert_eq!(
        files_in(dir.path()),
        [FILE],
        "the collection files are gone once copied"
    );
}

#[tokio::test]
async fn a_collection_file_left_after_its_copy_does_not_overwrite_newer_state() {
    let dir = tempfile::tempdir().unwrap();
    let cart = ObjectId::new("cart").unwrap();
    let mut old = AWSet::new();
    old.add(ReplicaId::from_u128(1), "old".to_owned()).unwrap();
    write_legacy_file(
        dir.path(),
        "shop",
        ReplicaId::from_u128(1),
        &[(cart.clone(), Object::from(old.clone()))],
        &[],
    );
    {
        let store = RedbStore::open(dir.path()).unwrap();
        let (mut handle, mut shop) = store.open("shop", false).await.unwrap().unwrap();
        shop.update(&cart, |items: &mut AWSet<String>, _| {
            items.remove(&"old".to_owned())
        })
        .unwrap();
        handle.prepare(&mut shop).unwrap().await.unwrap();
        store.close().await;
    }
    // As if the relay had died between the copy's commit and the file's deletion.
    write_legacy_file(
        dir.path(),
        "shop",
        ReplicaId::from_u128(1),
        &[(cart.clone(), Object::from(old))],
        &[],
    );
    let shop = reopen(dir.path(), "shop").await;
    let items = shop.get_as::<AWSet<String>>(&cart).unwrap().unwrap();
    assert!(
        !items.contains(&"old".to_owned()),
        "the newer state is kept"
    );
    assert!(!dir.path().join(file_name("shop")).exists());
}

#[test]
fn a_file_that_is_not_a_store_is_refused_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(FILE), vec![0x5a; 8192]).unwrap();
    match RedbStore::open(dir.path()) {
        Err(StoreError::Redb(error)) => assert!(!error.to_string().is_empty()),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a junk file opened as a store"),
    }
}

#[test]
fn a_store_already_open_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _held = RedbStore::open(dir.path()).unwrap();
    let error = RedbStore::open(dir.path()).unwrap_err().to_string();
    assert!(error.contains("already open"), "{error}");
}
