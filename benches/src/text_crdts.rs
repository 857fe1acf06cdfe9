//! The editing traces of [`crate::trace`] replayed into other text CRDTs — `yrs` (Yjs),
//! `automerge`, `loro` and `diamond-types` — so that the `text_traces` bench and the
//! `text-sizes` binary compare them with our [`crdt_core::Text`] on exactly the same edits.
//!
//! Positions: the traces count Unicode codepoints. `loro`'s `LoroText::insert`/`delete`,
//! `diamond-types` and `automerge` with [`TextEncoding::UnicodeCodePoint`] take codepoints
//! directly. `yrs` offers only UTF-8 bytes or UTF-16 code units ([`OffsetKind`]); we use UTF-16,
//! which equals the codepoint count as long as every character is in the Basic Multilingual
//! Plane — true of every shared trace, and checked by [`bmp_only`] before a trace is replayed
//! into `yrs`.
//!
//! Two ways of replaying a sequential trace locally:
//! - *per edit*: every trace transaction (a keystroke, a paste, ...) is its own transaction of the
//!   library (`yrs` transaction, `automerge` change, `loro` commit), as in a live editor;
//! - *batched*: one transaction for the whole trace (as `automerge`'s own edit-trace benchmark
//!   does: all splices, then one commit).
//!
//! `diamond-types` and ours have no transactions: every edit is recorded (and, for ours, returns
//! a delta) as it is made, so both modes are the same for them.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc, TextEncoding};
use diamond_types::list::ListCRDT;
use diamond_types::list::encoding::{ENCODE_FULL, ENCODE_PATCH};
use diamond_types::list::operation::Operation;
use loro::{ExportMode, LoroDoc};
use yrs::updates::decoder::Decode;
use yrs::{GetString, OffsetKind, Options, ReadTxn, StateVector, Text as _, Transact};

use crate::trace::{Patch, Trace};

/// Whether every character a trace inserts (or starts with) is in the Basic Multilingual Plane,
/// so that UTF-16 offsets equal codepoint offsets (see the module documentation).
pub fn bmp_only(trace: &Trace) -> bool {
    let bmp = |text: &str| text.chars().all(|c| (c as u32) < 0x1_0000);
    bmp(&trace.start_content)
        && trace
            .txns
            .iter()
            .all(|txn| txn.patches.iter().all(|Patch(_, _, insert)| bmp(insert)))
}

/// A text CRDT replica driven by the trace replays: one local transaction at a time, with the
/// updates it produces sent to other replicas.
pub trait TextCrdt: Sized {
    /// The library's name, as the benches print it.
    const NAME: &'static str;

    /// A fresh, empty replica; `replica` numbers it (distinct replicas get distinct ids).
    fn new(replica: u64) -> Self;

    /// Applies one trace transaction's patches (each: delete, then insert) as one local
    /// transaction of the library.
    fn edit(&mut self, patches: &[Patch]);

    /// Like [`TextCrdt::edit`], and returns the encoded update of just this transaction.
    fn edit_encoded(&mut self, patches: &[Patch]) -> Vec<u8>;

    /// Integrates encoded updates from other replicas (in causal order), as the library's
    /// batch API does it where it has one.
    fn apply_updates(&mut self, updates: &[Vec<u8>]);

    /// The replica's whole state (history included), encoded as an update for other replicas.
    fn encode_state(&mut self) -> Vec<u8>;

    /// The current text.
    fn text(&mut self) -> String;
}

/// Replays a sequential trace with one library transaction per trace transaction.
pub fn replay_per_edit<T: TextCrdt>(trace: &Trace) -> T {
    let mut doc = T::new(0);
    if !trace.start_content.is_empty() {
        doc.edit(&[Patch(0, 0, trace.start_content.clone())]);
    }
    for txn in &trace.txns {
        doc.edit(&txn.patches);
    }
    doc
}

/// The `yrs` (Yjs) document and its one text, addressed in UTF-16 code units.
pub struct Yrs {
    /// The document.
    pub doc: yrs::Doc,
    /// Its root text `"text"`.
    pub text: yrs::TextRef,
}

impl Yrs {
    /// Replays a sequential trace in one `yrs` transaction.
    pub fn replay_batched(trace: &Trace) -> Self {
        let doc = Self::new(0);
        {
            let mut txn = doc.doc.transact_mut();
            if !trace.start_content.is_empty() {
                doc.text.insert(&mut txn, 0, &trace.start_content);
            }
            for txn_data in &trace.txns {
                yrs_patches(&doc.text, &mut txn, &txn_data.patches);
            }
        }
        doc
    }

    /// The whole document as a v1 update (what `text-sizes` reports as its encoded size).
    pub fn encode_v1(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    /// The whole document as a v2 update (Yjs's more compact encoding).
    pub fn encode_v2(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v2(&StateVector::default())
    }
}

/// Applies `patches` to a `yrs` text inside `txn`.
fn yrs_patches(text: &yrs::TextRef, txn: &mut yrs::TransactionMut<'_>, patches: &[Patch]) {
    for Patch(pos, delete, insert) in patches {
        let pos = u32::try_from(*pos).expect("position fits in u32");
        if *delete > 0 {
            let delete = u32::try_from(*delete).expect("length fits in u32");
            text.remove_range(txn, pos, delete);
        }
        if !insert.is_empty() {
            text.insert(txn, pos, insert);
        }
    }
}

impl TextCrdt for Yrs {
    const NAME: &'static str = "yrs";

    fn new(replica: u64) -> Self {
        let mut options = Options::with_client_id(yrs::ClientID::new(replica + 1));
        options.offset_kind = OffsetKind::Utf16;
        let doc = yrs::Doc::with_options(options);
        let text = doc.get_or_insert_text("text");
        Self { doc, text }
    }

    fn edit(&mut self, patches: &[Patch]) {
        let mut txn = self.doc.transact_mut();
        yrs_patches(&self.text, &mut txn, patches);
    }

    fn edit_encoded(&mut self, patches: &[Patch]) -> Vec<u8> {
        let mut txn = self.doc.transact_mut();
        yrs_patches(&self.text, &mut txn, patches);
        txn.encode_update_v1()
    }

    fn apply_updates(&mut self, updates: &[Vec<u8>]) {
        let mut txn = self.doc.transact_mut();
        for update in updates {
            let update = yrs::Update::decode_v1(update).expect("valid yrs update");
            txn.apply_update(update).expect("yrs applies the update");
        }
    }

    fn encode_state(&mut self) -> Vec<u8> {
        self.encode_v1()
    }

    fn text(&mut self) -> String {
        self.text.get_string(&self.doc.transact())
    }
}

/// The `automerge` document (codepoint-indexed) and its one text object.
pub struct Automerge {
    /// The document.
    pub doc: AutoCommit,
    /// Its text object `ROOT["text"]`.
    pub text: automerge::ObjId,
}

impl Automerge {
    /// Replays a sequential trace as one `automerge` change.
    pub fn replay_batched(trace: &Trace) -> Self {
        let mut doc = Self::new(0);
        if !trace.start_content.is_empty() {
            doc.splice(&[Patch(0, 0, trace.start_content.clone())]);
        }
        for txn in &trace.txns {
            doc.splice(&txn.patches);
        }
        doc.doc.commit();
        doc
    }

    /// Applies `patches` to the open transaction.
    fn splice(&mut self, patches: &[Patch]) {
        for Patch(pos, delete, insert) in patches {
            let pos = usize::try_from(*pos).expect("position fits in usize");
            let delete = isize::try_from(*delete).expect("length fits in isize");
            self.doc
                .splice_text(&self.text, pos, delete, insert)
                .expect("automerge splices in range");
        }
    }
}

impl TextCrdt for Automerge {
    const NAME: &'static str = "automerge";

    fn new(replica: u64) -> Self {
        // Every replica first makes the same genesis change (same actor, time and operation, so
        // the same hash): all of them then share one text object, as if it had been synced.
        let mut doc = AutoCommit::new_with_encoding(TextEncoding::UnicodeCodePoint)
            .with_actor(ActorId::from([0_u8; 16].as_slice()));
        let text = doc
            .put_object(ROOT, "text", ObjType::Text)
            .expect("a new document takes a text object");
        doc.commit_with(CommitOptions::default().with_time(0));
        let mut actor = [0_u8; 16];
        actor[..8].copy_from_slice(&(replica + 1).to_be_bytes());
        doc.set_actor(ActorId::from(actor.as_slice()));
        Self { doc, text }
    }

    fn edit(&mut self, patches: &[Patch]) {
        self.splice(patches);
        self.doc.commit();
    }

    fn edit_encoded(&mut self, patches: &[Patch]) -> Vec<u8> {
        self.splice(patches);
        match self.doc.commit() {
            Some(_) => self
                .doc
                .get_last_local_change()
                .expect("a committed change")
                .raw_bytes()
                .to_vec(),
            None => Vec::new(),
        }
    }

    fn apply_updates(&mut self, updates: &[Vec<u8>]) {
        // Single changes go through the batch API; whole saved documents (`encode_state`)
        // through `load_incremental`.
        let mut changes: Vec<automerge::Change> = Vec::new();
        for update in updates.iter().filter(|update| !update.is_empty()) {
            match automerge::Change::try_from(update.as_slice()) {
                Ok(change) => changes.push(change),
                Err(_) => {
                    self.doc
                        .load_incremental(update)
                        .expect("automerge loads the document");
                }
            }
        }
        if !changes.is_empty() {
            self.doc
                .apply_changes_batch(changes)
                .expect("automerge applies the changes");
        }
    }

    fn encode_state(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    fn text(&mut self) -> String {
        self.doc.text(&self.text).expect("the text object exists")
    }
}

/// The `loro` document and its one text (addressed in codepoints).
pub struct Loro {
    /// The document.
    pub doc: LoroDoc,
    /// Its root text `"text"`.
    pub text: loro::LoroText,
}

impl Loro {
    /// Replays a sequential trace as one `loro` commit.
    pub fn replay_batched(trace: &Trace) -> Self {
        let doc = Self::new(0);
        if !trace.start_content.is_empty() {
            doc.splice(&[Patch(0, 0, trace.start_content.clone())]);
        }
        for txn in &trace.txns {
            doc.splice(&txn.patches);
        }
        doc.doc.commit();
        doc
    }

    /// Applies `patches` to the pending transaction.
    fn splice(&self, patches: &[Patch]) {
        for Patch(pos, delete, insert) in patches {
            let pos = usize::try_from(*pos).expect("position fits in usize");
            if *delete > 0 {
                let delete = usize::try_from(*delete).expect("length fits in usize");
                self.text
                    .delete(pos, delete)
                    .expect("loro deletes in range");
            }
            if !insert.is_empty() {
                self.text
                    .insert(pos, insert)
                    .expect("loro inserts in range");
            }
        }
    }
}

impl TextCrdt for Loro {
    const NAME: &'static str = "loro";

    fn new(replica: u64) -> Self {
        let doc = LoroDoc::new();
        doc.set_peer_id(replica + 1).expect("a fresh peer id");
        let text = doc.get_text("text");
        Self { doc, text }
    }

    fn edit(&mut self, patches: &[Patch]) {
        self.splice(patches);
        self.doc.commit();
    }

    fn edit_encoded(&mut self, patches: &[Patch]) -> Vec<u8> {
        let before = self.doc.oplog_vv();
        self.splice(patches);
        self.doc.commit();
        self.doc
            .export(ExportMode::updates(&before))
            .expect("loro exports updates")
    }

    fn apply_updates(&mut self, updates: &[Vec<u8>]) {
        self.doc
            .import_batch(updates)
            .expect("loro imports the updates");
    }

    fn encode_state(&mut self) -> Vec<u8> {
        self.doc
            .export(ExportMode::all_updates())
            .expect("loro exports updates")
    }

    fn text(&mut self) -> String {
        self.text.to_string()
    }
}

/// A `diamond-types` list CRDT (operation log and current branch) and its local agent.
pub struct DiamondTypes {
    /// The document.
    pub doc: ListCRDT,
    /// The agent that makes the local edits.
    pub agent: diamond_types::AgentId,
}

impl DiamondTypes {
    /// Applies `patches` as local operations, the way diamond-types' own `apply_local`
    /// benchmark does (`benches/utils.rs`, `apply_edits_local`): each patch as one
    /// `apply_local_operations` call of a delete without content and an insert. Its
    /// `ListCRDT::delete` also copies the deleted text into the log, which is slower and is
    /// not how its author measures it.
    fn splice(&mut self, patches: &[Patch]) {
        let mut operations: Vec<Operation> = Vec::with_capacity(2);
        for Patch(pos, delete, insert) in patches {
            operations.clear();
            let pos = usize::try_from(*pos).expect("position fits in usize");
            if *delete > 0 {
                let delete = usize::try_from(*delete).expect("length fits in usize");
                operations.push(Operation::new_delete(pos..pos + delete));
            }
            if !insert.is_empty() {
                operations.push(Operation::new_insert(pos, insert));
            }
            self.doc.apply_local_operations(self.agent, &operations);
        }
    }

    /// The whole operation log, encoded as `diamond-types` saves a document.
    pub fn encode_full(&self) -> Vec<u8> {
        self.doc.oplog.encode(ENCODE_FULL)
    }
}

impl TextCrdt for DiamondTypes {
    const NAME: &'static str = "diamond-types";

    fn new(replica: u64) -> Self {
        let mut doc = ListCRDT::new();
        let agent = doc.get_or_create_agent_id(&format!("agent-{replica}"));
        Self { doc, agent }
    }

    fn edit(&mut self, patches: &[Patch]) {
        self.splice(patches);
    }

    fn edit_encoded(&mut self, patches: &[Patch]) -> Vec<u8> {
        let before = self.doc.oplog.local_version();
        self.splice(patches);
        self.doc.oplog.encode_from(ENCODE_PATCH, &before)
    }

    fn apply_updates(&mut self, updates: &[Vec<u8>]) {
        // Add every operation to the log first, then bring the text up to date once.
        for update in updates {
            self.doc
                .oplog
                .decode_and_add(update)
                .expect("diamond-types decodes the patch");
        }
        let oplog = &self.doc.oplog;
        self.doc.branch.merge(oplog, oplog.local_version_ref());
    }

    fn encode_state(&mut self) -> Vec<u8> {
        self.encode_full()
    }

    fn text(&mut self) -> String {
        self.doc.branch.content().to_string()
    }
}

/// What a concurrent trace replayed into a library produced, as the library's encoded updates.
pub struct ConcurrentUpdates {
    /// The update of each trace transaction, in trace order (an order where parents come first).
    pub txn_updates: Vec<Vec<u8>>,
    /// The whole state of every replica at the end (one per agent, more if an agent forked).
    pub replica_states: Vec<Vec<u8>>,
}

/// One replica of a concurrent replay, and which transactions it holds.
struct Slot<T> {
    /// The agent editing on it.
    agent: usize,
    /// The replica.
    doc: T,
    /// For each slot, how many of the transactions made on that slot this replica holds.
    holds: Vec<usize>,
}

/// Replays a concurrent trace into library `T` the way `crate::trace::replay_concurrent`
/// replays it into ours: one replica per agent, which before each transaction receives the
/// updates of the transactions of its parents' history it lacks; an agent whose next
/// transaction does not descend from everything its replica holds continues on a new replica.
///
/// A transaction's history is summarised by a version vector over replicas ("slots"): the
/// transactions made on one slot are linearly ordered, so "holds the first `n` of slot `s`" is
/// exact.
pub fn replay_concurrent_with<T: TextCrdt>(trace: &Trace) -> ConcurrentUpdates {
    let mut slots: Vec<Slot<T>> = Vec::new();
    let mut slot_of_agent: Vec<Option<usize>> = Vec::new();
    // The transactions made on each slot, in order.
    let mut made_on: Vec<Vec<usize>> = Vec::new();
    // The version vector (over slots) after each transaction.
    let mut after: Vec<Vec<usize>> = Vec::with_capacity(trace.txns.len());
    let mut txn_updates: Vec<Vec<u8>> = Vec::with_capacity(trace.txns.len());
    for (index, txn) in trace.txns.iter().enumerate() {
        let mut base = vec![0; slots.len()];
        for &parent in &txn.parents {
            assert!(parent < index, "parents precede their transaction");
            for (entry, &count) in base.iter_mut().zip(&after[parent]) {
                *entry = (*entry).max(count);
            }
        }
        if slot_of_agent.len() <= txn.agent {
            slot_of_agent.resize(txn.agent + 1, None);
        }
        let reusable = slot_of_agent[txn.agent].filter(|&slot| {
            let holds = &slots[slot].holds;
            holds.iter().zip(&base).all(|(held, wanted)| held <= wanted)
        });
        let slot = match reusable {
            Some(slot) => slot,
            None => {
                let number = slots.len();
                slots.push(Slot {
                    agent: txn.agent,
                    doc: T::new(number as u64),
                    holds: Vec::new(),
                });
                made_on.push(Vec::new());
                base.push(0);
                slot_of_agent[txn.agent] = Some(number);
                number
            }
        };
        let replica = &mut slots[slot];
        replica.holds.resize(base.len(), 0);
        let mut missing: Vec<usize> = Vec::new();
        for (source, (&held, &wanted)) in replica.holds.iter().zip(&base).enumerate() {
            missing.extend_from_slice(&made_on[source][held..wanted]);
        }
        missing.sort_unstable();
        if !missing.is_empty() {
            let updates: Vec<Vec<u8>> = missing
                .iter()
                .map(|&txn| txn_updates[txn].clone())
                .collect();
            replica.doc.apply_updates(&updates);
        }
        replica.holds = base;
        txn_updates.push(replica.doc.edit_encoded(&txn.patches));
        made_on[slot].push(index);
        replica.holds[slot] += 1;
        after.push(replica.holds.clone());
        debug_assert_eq!(replica.agent, txn.agent);
    }
    let replica_states = slots
        .iter_mut()
        .map(|slot| slot.doc.encode_state())
        .collect();
    ConcurrentUpdates {
        txn_updates,
        replica_states,
    }
}

/// A fresh replica of `T` that integrates `updates` (from other replicas), and its text.
pub fn merge_into_fresh<T: TextCrdt>(updates: &[Vec<u8>]) -> T {
    let mut doc = T::new(u64::from(u32::MAX));
    doc.apply_updates(updates);
    doc
}
