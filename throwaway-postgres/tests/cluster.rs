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

#[test]
fn a_server_that_cannot_start_says_why_in_the_error() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    // PostgreSQL keeps 3 connections for superusers, so it refuses to run with only 1.
    let options = Options {
        max_connections: 1,
        ..Options::default()
    };
    let error = Postgres::start(root, "throwaway-refused", options)
        .expect_err("the server refuses max_connections=1")
        .to_string();
    assert!(error.contains("server log"), "{error}");
    assert!(error.contains("max_connections"), "{error}");
}

#[test]
fn clusters_started_side_by_side_get_ports_of_their_own() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let clusters: Vec<Postgres> = std::thread::scope(|scope| {
        let starts: Vec<_> = (0..4)
            .map(|n| {
                scope.spawn(move || {
                    Postgres::start(root, &format!("throwaway-side-{n}"), Options::default())
                })
            })
            .collect();
        starts
            .into_iter()
            .map(|start| start.join().unwrap().unwrap_or_else(|e| panic!("{e}")))
            .collect()
    });
    let mut ports: Vec<u16> = clusters.iter().map(Postgres::port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), clusters.len());
    let ephemeral_low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(ports.iter().all(|port| *port < ephemeral_low), "{ports:?}");
}

/// CI's first failure: a cluster directory whose Unix socket path would pass 107 bytes.
#[test]
fn a_cluster_in_a_deep_directory_starts() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let name = format!("throwaway-deep-{}", "d".repeat(110));
    let postgres =
        Postgres::start(root, &name, Options::default()).unwrap_or_else(|error| panic!("{error}"));
    assert!(postgres.dir().as_os_str().len() > 107);
    assert!(TcpStream::connect(("127.0.0.1", postgres.port())).is_ok());
}
