//! Editing traces (the format of `benches/traces/README.md`): where the vendored ones are,
//! loading, and replaying them into [`Text`] replicas.
//!
//! Sequential traces replay on one replica, edit by edit. Concurrent traces replay with one
//! replica per agent: before a transaction, its agent's replica receives the deltas of every
//! transaction in the history of its parents that it lacks, so that the transaction's
//! positions refer to exactly the document its author saw; an agent whose next transaction
//! does not descend from its previous one continues on a new replica (a fork).

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use crdt_core::{CausalContext, Dot, EditError, Lattice, ReplicaId, Text};
use serde::Deserialize;

/// The folder of the editing traces vendored with this crate (`benches/traces`).
pub fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("traces")
}

/// The vendored trace `<name>.json.gz`, or `<name>.concurrent.json.gz` if that is the one there.
pub fn path(name: &str) -> PathBuf {
    let plain = folder().join(format!("{name}.json.gz"));
    if plain.exists() {
        plain
    } else {
        folder().join(format!("{name}.concurrent.json.gz"))
    }
}

/// One patch: at codepoint `pos`, delete `delete` codepoints, then insert `insert`.
#[derive(Clone, Debug, Deserialize)]
pub struct Patch(pub u64, pub u64, pub String);

/// One transaction of a trace.
#[derive(Clone, Debug, Deserialize)]
pub struct Transaction {
    /// The transactions whose merged result this one edits (empty: the empty document, or the
    /// previous transaction in a sequential trace).
    #[serde(default)]
    pub parents: Vec<usize>,
    /// The agent that made it (concurrent traces).
    #[serde(default)]
    pub agent: usize,
    /// Its patches, applied in order.
    pub patches: Vec<Patch>,
}

/// A whole trace.
#[derive(Clone, Debug, Deserialize)]
pub struct Trace {
    /// `"concurrent"` for concurrent traces; absent for sequential ones.
    #[serde(default)]
    pub kind: Option<String>,
    /// The document before the first transaction (sequential traces).
    #[serde(rename = "startContent", default)]
    pub start_content: String,
    /// The document after every transaction: what a correct replay must give.
    #[serde(rename = "endContent")]
    pub end_content: String,
    /// The transactions, in an order where parents come first.
    pub txns: Vec<Transaction>,
}

/// Why a trace could not be loaded or replayed.
#[derive(Debug)]
pub enum TraceError {
    /// The file could not be read or decompressed.
    Io(std::io::Error),
    /// The file is not a trace in the expected JSON format.
    Format(serde_json::Error),
    /// A transaction names a parent that does not come before it.
    BadParent {
        /// The transaction.
        txn: usize,
        /// The parent it names.
        parent: usize,
    },
    /// The document refused a patch (a position outside it).
    Edit {
        /// The transaction.
        txn: usize,
        /// What the document refused.
        error: EditError,
    },
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(error) => write!(f, "cannot read the trace: {error}"),
            Self::Format(error) => write!(f, "not a trace: {error}"),
            Self::BadParent { txn, parent } => {
                write!(
                    f,
                    "transaction {txn} names parent {parent}, which does not precede it"
                )
            }
            Self::Edit { txn, error } => write!(f, "transaction {txn}: {error}"),
        }
    }
}

impl std::error::Error for TraceError {}

impl Trace {
    /// Loads a trace from a `.json` or `.json.gz` file.
    pub fn load(path: &Path) -> Result<Self, TraceError> {
        let file = std::fs::File::open(path).map_err(TraceError::Io)?;
        let mut json = Vec::new();
        if path.extension().is_some_and(|extension| extension == "gz") {
            flate2::read::GzDecoder::new(file)
                .read_to_end(&mut json)
                .map_err(TraceError::Io)?;
        } else {
            std::io::BufReader::new(file)
                .read_to_end(&mut json)
                .map_err(TraceError::Io)?;
        }
        serde_json::from_slice(&json).map_err(TraceError::Format)
    }

    /// Whether this is a concurrent trace.
    pub fn is_concurrent(&self) -> bool {
        self.kind.as_deref() == Some("concurrent")
    }

    /// The number of patches.
    pub fn patch_count(&self) -> usize {
        self.txns.iter().map(|txn| txn.patches.len()).sum()
    }
}

/// The replica id of agent `agent`'s `branch`-th replica.
pub fn replica_of(agent: usize, branch: usize) -> ReplicaId {
    ReplicaId::from_u128(((branch as u128) << 64) | (agent as u128 + 1))
}

/// Applies `patches` on `text` as `replica`, handing each edit's delta to `delta`.
fn apply(
    text: &mut Text,
    replica: ReplicaId,
    patches: &[Patch],
    txn: usize,
    mut delta: impl FnMut(Text),
) -> Result<(), TraceError> {
    for Patch(pos, delete, insert) in patches {
        let refused = |error| TraceError::Edit { txn, error };
        if *delete > 0 {
            delta(text.delete(replica, *pos, *delete).map_err(refused)?);
        }
        if !insert.is_empty() {
            delta(text.insert(replica, *pos, insert).map_err(refused)?);
        }
    }
    Ok(())
}

/// Replays a sequential trace on one replica, one patch at a time.
pub fn replay_sequential(trace: &Trace) -> Result<Text, TraceError> {
    let replica = replica_of(0, 0);
    let mut text = Text::new();
    if !trace.start_content.is_empty() {
        text.insert(replica, 0, &trace.start_content)
            .map_err(|error| TraceError::Edit { txn: 0, error })?;
    }
    for (index, txn) in trace.txns.iter().enumerate() {
        apply(&mut text, replica, &txn.patches, index, drop)?;
    }
    Ok(text)
}

/// What a concurrent replay produced: each transaction's delta, and every replica's text.
pub struct ConcurrentReplay {
    /// The delta of each transaction (all its patches joined), in trace order.
    pub deltas: Vec<Text>,
    /// The final state of every replica (one per agent, more if an agent forked).
    pub replicas: Vec<Text>,
}

impl ConcurrentReplay {
    /// Every replica's state joined: the converged document.
    pub fn merged(&self) -> Text {
        self.replicas
            .iter()
            .fold(Text::new(), |merged, replica| merged.joined(replica))
    }
}

/// One replica of a concurrent replay.
struct Slot {
    agent: usize,
    replica: ReplicaId,
    text: Text,
}

/// Replays a concurrent trace with one replica per agent (see the module documentation).
pub fn replay_concurrent(trace: &Trace) -> Result<ConcurrentReplay, TraceError> {
    let count = trace.txns.len();
    let mut slots: Vec<Slot> = Vec::new();
    let mut slot_of_agent: Vec<Option<usize>> = Vec::new();
    let mut deltas: Vec<Text> = Vec::with_capacity(count);
    // The context after each transaction, and the first dot it made (if it made any).
    let mut results: Vec<CausalContext> = Vec::with_capacity(count);
    let mut first_dots: Vec<Option<Dot>> = Vec::with_capacity(count);
    let mut visited: Vec<usize> = vec![usize::MAX; count];
    let mut stack: Vec<usize> = Vec::new();
    let mut missing: Vec<usize> = Vec::new();
    for (index, txn) in trace.txns.iter().enumerate() {
        let mut base = CausalContext::new();
        for &parent in &txn.parents {
            let result = results
                .get(parent)
                .filter(|_| parent < index)
                .ok_or(TraceError::BadParent { txn: index, parent })?;
            base.join(result);
        }
        if slot_of_agent.len() <= txn.agent {
            slot_of_agent.resize(txn.agent + 1, None);
        }
        let slot = match slot_of_agent[txn.agent] {
            Some(slot) if base.includes(slots[slot].text.as_rga().context()) => slot,
            _ => {
                let branch = slots.iter().filter(|slot| slot.agent == txn.agent).count();
                slots.push(Slot {
                    agent: txn.agent,
                    replica: replica_of(txn.agent, branch),
                    text: Text::new(),
                });
                slot_of_agent[txn.agent] = Some(slots.len() - 1);
                slots.len() - 1
            }
        };
        // The transactions in the parents' history this replica lacks.
        let slot = &mut slots[slot];
        stack.extend(&txn.parents);
        while let Some(ancestor) = stack.pop() {
            if visited[ancestor] == index {
                continue;
            }
            visited[ancestor] = index;
            let applied =
                first_dots[ancestor].is_some_and(|dot| slot.text.as_rga().context().contains(&dot));
            if !applied {
                missing.push(ancestor);
                stack.extend(&trace.txns[ancestor].parents);
            }
        }
        for ancestor in missing.drain(..) {
            slot.text.join(&deltas[ancestor]);
        }
        let first = slot
            .text
            .as_rga()
            .context()
            .next_dot(slot.replica)
            .expect("a trace's replicas are far from the end of their counters");
        let mut delta = Text::new();
        apply(&mut slot.text, slot.replica, &txn.patches, index, |edit| {
            delta.join(&edit);
        })?;
        let made = slot.text.as_rga().context().contains(&first);
        first_dots.push(made.then_some(first));
        results.push(slot.text.as_rga().context().clone());
        deltas.push(delta);
    }
    Ok(ConcurrentReplay {
        deltas,
        replicas: slots.into_iter().map(|slot| slot.text).collect(),
    })
}
