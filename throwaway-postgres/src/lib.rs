//! A private PostgreSQL cluster for tests and benchmarks: [`Postgres::start`] runs Debian's
//! `initdb` and `pg_ctl` on a directory (under `target/`), listening on a free loopback port,
//! and dropping the value stops the server and deletes the directory.
//!
//! ```no_run
//! use throwaway_postgres::{Options, Postgres};
//!
//! let root = std::env::temp_dir();
//! let postgres = Postgres::start(&root, "example", Options::default())?;
//! println!("connect to {}", postgres.url());
//! postgres.restart()?; // the same data, the same port
//! # Ok::<(), throwaway_postgres::Error>(())
//! ```
//!
//! The server programs are looked for in `$PG_BIN`, then in the newest
//! `/usr/lib/postgresql/<major>/bin` (Debian's layout; `cargo xtask test` installs the
//! `postgresql` package when missing). PostgreSQL refuses to run as root, so when the process
//! is root the cluster belongs to the `postgres` user and every program runs through
//! `runuser -u postgres`. Authentication is `trust`, on 127.0.0.1 only; the server opens no
//! Unix socket (its path would be the cluster's directory, and a deep checkout's path passes
//! the 107 bytes a socket path may have).

use std::fmt;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Why a cluster could not be started or driven.
#[derive(Debug)]
pub enum Error {
    /// No PostgreSQL server programs were found.
    NotInstalled(String),
    /// A program could not be run, or failed.
    Command(String),
    /// The file system refused (creating or handing over the directory).
    Io(std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotInstalled(detail) => write!(
                f,
                "PostgreSQL is not installed ({detail}); `cargo xtask test` installs Debian's \
                 postgresql package, or set PG_BIN to the directory holding initdb and pg_ctl"
            ),
            Self::Command(detail) => f.write_str(detail),
            Self::Io(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

/// How the cluster runs.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Whether the server flushes its writes to disk. Off for tests, which never crash the
    /// machine (a killed or restarted server keeps what the kernel holds); on for benchmarks,
    /// so commit latency is that of a real deployment.
    pub fsync: bool,
    /// The most client connections the server accepts.
    pub max_connections: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            fsync: false,
            max_connections: 200,
        }
    }
}

/// A running cluster; see the module docs.
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    options: Options,
    as_postgres: bool,
}

impl fmt::Debug for Postgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Postgres")
            .field("dir", &self.dir)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Postgres {
    /// Creates a cluster in `root/name` (deleting what an earlier run left there) and starts
    /// it on a free loopback port.
    pub fn start(root: &Path, name: &str, options: Options) -> Result<Self, Error> {
        let bin = server_programs()?;
        let dir = root.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let as_postgres = is_root();
        if as_postgres {
            hand_over(&dir)?;
        }
        let mut postgres = Self {
            bin,
            dir,
            port: 0,
            options,
            as_postgres,
        };
        postgres.run(
            "initdb",
            &[
                "-D".as_ref(),
                postgres.data().as_os_str(),
                "--auth=trust".as_ref(),
                "--username=postgres".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--locale=C".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        postgres.configure()?;
        // Another cluster (of a test running in parallel) may take the port between the
        // check and the server's bind; then a fresh port is tried.
        let mut attempt = 1;
        loop {
            postgres.port = free_port()?;
            match postgres.start_server() {
                Ok(()) => return Ok(postgres),
                Err(_) if attempt < START_ATTEMPTS && postgres.port_was_taken() => attempt += 1,
                Err(error) => return Err(error),
            }
        }
    }

    /// The URL of the `postgres` database, as the superuser `postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: connections are cut, as in a
    /// crash; what was committed is kept), then starts it again on the same port.
    pub fn restart(&self) -> Result<(), Error> {
        self.stop()?;
        self.start_server()
    }

    /// Stops the server at once, keeping the data; [`Postgres::start_again`] restarts it.
    pub fn stop(&self) -> Result<(), Error> {
        self.pg_ctl(&["stop", "-m", "immediate", "-w"])
    }

    /// Starts a stopped server again on the same port.
    pub fn start_again(&self) -> Result<(), Error> {
        self.start_server()
    }

    fn start_server(&self) -> Result<(), Error> {
        let log = self.log();
        // Each start writes a new log (pg_ctl creates it, as the server's user), so the tail
        // quoted on failure is this start's.
        match std::fs::remove_file(&log) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error.into()),
            _ => {}
        }
        let settings = format!("-p {}", self.port);
        let log_name = log.to_string_lossy();
        self.pg_ctl(&["start", "-w", "-t", "60", "-l", &log_name, "-o", &settings])
            .map_err(|error| Error::Command(format!("{error}{}", self.log_tail())))?;
        // pg_ctl -w waits for the server, but a loaded machine may still refuse briefly.
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                return Err(Error::Command(format!(
                    "PostgreSQL started but does not accept connections on port {}{}",
                    self.port,
                    self.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Appends this harness's settings to `postgresql.conf` (the last setting of a name wins),
    /// so every start, first or again, runs with them; only the port is given per start.
    fn configure(&self) -> Result<(), Error> {
        use std::io::Write;
        let settings = format!(
            "\n# throwaway-postgres\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n\
             fsync = {}\nmax_connections = {}\n",
            if self.options.fsync { "on" } else { "off" },
            self.options.max_connections,
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(self.data().join("postgresql.conf"))?
            .write_all(settings.as_bytes())?;
        Ok(())
    }

    fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// The end of the server log, for an error message: pg_ctl itself only says "Examine the
    /// log output", and the directory is deleted with the cluster.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
        format!("\nserver log ({}):\n{tail}", self.log().display())
    }

    fn port_was_taken(&self) -> bool {
        std::fs::read_to_string(self.log()).is_ok_and(|log| log.contains("Address already in use"))
    }

    /// The cluster's directory (its data, socket and server log), deleted on drop.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), Error> {
        let data = self.data();
        let mut all: Vec<&std::ffi::OsStr> = vec!["-D".as_ref(), data.as_os_str()];
        all.extend(args.iter().map(|arg| std::ffi::OsStr::new(*arg)));
        self.run("pg_ctl", &all)
    }

    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<(), Error> {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut runuser = Command::new("runuser");
            runuser.args(["-u", "postgres", "--"]).arg(&path);
            runuser
        } else {
            Command::new(&path)
        };
        command.args(args).current_dir(&self.dir);
        let output = command
            .output()
            .map_err(|error| Error::Command(format!("cannot run {}: {error}", path.display())))?;
        check(program, &output)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn check(program: &str, output: &Output) -> Result<(), Error> {
    if output.status.success() {
        return Ok(());
    }
    Err(Error::Command(format!(
        "{program} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )))
}

/// The directory holding `initdb` and `pg_ctl`.
fn server_programs() -> Result<PathBuf, Error> {
    if let Some(bin) = std::env::var_os("PG_BIN") {
        let bin = PathBuf::from(bin);
        if bin.join("initdb").exists() {
            return Ok(bin);
        }
        return Err(Error::NotInstalled(format!(
            "PG_BIN={} holds no initdb",
            bin.display()
        )));
    }
    let root = Path::new("/usr/lib/postgresql");
    let newest = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .max_by_key(|(major, _)| *major);
    newest
        .map(|(_, bin)| bin)
        .ok_or_else(|| Error::NotInstalled(format!("no {}/<major>/bin/initdb", root.display())))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// Gives the directory to the `postgres` user, which must also be able to reach it.
fn hand_over(dir: &Path) -> Result<(), Error> {
    let output = Command::new("chown")
        .arg("postgres:postgres")
        .arg(dir)
        .output()
        .map_err(|error| Error::Command(format!("cannot run chown: {error}")))?;
    check("chown", &output)
}

/// How many ports [`Postgres::start`] tries when the one it picked is taken meanwhile.
const START_ATTEMPTS: u32 = 8;

/// How many lines of the server log a start error quotes.
const LOG_TAIL_LINES: usize = 15;

/// A random port nothing listens on now, below the kernel's ephemeral range: a port from
/// that range (what binding port 0 gives) is also handed to outgoing connections, so the
/// relays and clients of tests running beside this one could take it during `initdb`, or
/// while the server is stopped for a restart. A machine whose ephemeral range starts at or
/// below 20,000 leaves no such room, and there the port is drawn from that range's start up;
/// the retry in [`Postgres::start`] then covers a port taken meanwhile.
fn free_port() -> Result<u16, Error> {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let (low, high) = if ephemeral_low > 20_000 {
        (10_000, ephemeral_low)
    } else {
        (ephemeral_low, u16::MAX)
    };
    let state = std::collections::hash_map::RandomState::new();
    let mut last_error = None;
    for attempt in 0..64u32 {
        let random = std::hash::BuildHasher::hash_one(&state, attempt);
        let port = low + (random % u64::from(high - low)) as u16;
        match TcpListener::bind(("127.0.0.1", port)) {
            Ok(listener) => return Ok(listener.local_addr()?.port()),
            Err(error) => last_error = Some(error),
        }
    }
    Err(Error::Io(last_error.expect("at least one attempt")))
}
