//! The harness against the real server programs: started, stopped, started again, removed.

use std::net::TcpStream;
use std::path::Path;

use throwaway_postgres::{Options, Postgres};

#[test]
fn a_cluster_starts_accepts_connections_restarts_and_is_removed() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let postgres = Postgres::start(root, "throwaway-self-test", Options::default())
        .unwrap_or_else(|error| panic!("{error}"));
    let port = postgres.port();
    assert!(postgres.url().ends_with(&format!(":{port}/postgres")));
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    postgres.stop().unwrap();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    postgres.start_again().unwrap();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    let dir = postgres.dir().to_owned();
    assert!(dir.join("data").join("PG_VERSION").exists());
    drop(postgres);
    assert!(!dir.exists());
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}
