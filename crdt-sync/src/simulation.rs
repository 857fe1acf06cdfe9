//! [`Simulation`]: replicas and sessions on a seeded network that loses, duplicates, reorders
//! and delays frames, partitions and heals, and restarts replicas.
//!
//! ```
//! use crdt_sync::simulation::{SimConfig, Simulation};
//!
//! let report = Simulation::new(SimConfig { replicas: 3, seed: 1, ops: 100, ..SimConfig::default() }).run();
//! assert!(report.converged);
//! assert_eq!(report.ops, 100);
//! ```
//!
//! Everything is decided by the seed: the same configuration gives the same run, frame for frame.
//! Time advances in ticks of [`SimConfig::tick_ms`]. While the workload runs, one replica per
//! tick edits a random object (of every object type, mutators chosen at random), and the faults
//! are on. Then partitions heal and restarts stop (loss and duplication go on), and the run
//! continues until every replica holds exactly the join of every update made, or a time limit.
//! A restart drops a replica's sessions (its in-memory protocol state) and keeps its collection
//! (its store); the peers see the connection close and reconnect.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use crdt_core::{
    AWSet, GCounter, HybridClock, LwwRegister, MvRegister, PNCounter, ReplicaId, Rga, Text,
};

use crate::collection::Collection;
use crate::edit_result::EditResult;
use crate::object::{CounterMap, Object, ObjectType, RegisterMap};
use crate::object_id::ObjectId;
use crate::session::{Session, SessionConfig};

/// A simulation's settings. Times are in simulated milliseconds.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// How many replicas.
    pub replicas: usize,
    /// The seed everything random is drawn from.
    pub seed: u64,
    /// The chance a frame is lost.
    pub loss: f64,
    /// The chance a frame is delivered twice.
    pub duplicate: f64,
    /// The longest extra delay of a frame; frames overtake one another within it.
    pub max_delay_ms: u64,
    /// The shortest delay of a frame.
    pub min_delay_ms: u64,
    /// Every this often, the network splits in two at random or heals (0: never).
    pub partition_every_ms: u64,
    /// Every this often, a random replica restarts (0: never).
    pub restart_every_ms: u64,
    /// How many updates the workload makes.
    pub ops: usize,
    /// How many objects they touch.
    pub objects: usize,
    /// Peers per replica; 0 or at least `replicas - 1` connects every pair.
    pub degree: usize,
    /// The time step.
    pub tick_ms: u64,
    /// How long after the workload the run may go on before it is declared stuck.
    pub settle_limit_ms: u64,
    /// Every session's settings.
    pub session: SessionConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            replicas: 4,
            seed: 0,
            loss: 0.0,
            duplicate: 0.0,
            max_delay_ms: 30,
            min_delay_ms: 1,
            partition_every_ms: 0,
            restart_every_ms: 0,
            ops: 200,
            objects: 16,
            degree: 0,
            tick_ms: 10,
            settle_limit_ms: 600_000,
            session: SessionConfig {
                retransmit_ms: 200,
                handshake_timeout_ms: 5_000,
                anti_entropy_every_ms: 5_000,
                round_timeout_ms: 1_000,
                ..SessionConfig::default()
            },
        }
    }
}

/// What a run did.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SimReport {
    /// Whether every replica ended equal to the join of every update.
    pub converged: bool,
    /// Updates made.
    pub ops: usize,
    /// Ticks in all.
    pub rounds: u64,
    /// Ticks from the end of the workload (and of partitions) to convergence.
    pub rounds_to_converge: u64,
    /// Frames sent.
    pub messages: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Frames the network lost (by chance or partition).
    pub lost: u64,
    /// Frames the network delivered twice.
    pub duplicated: u64,
    /// Replica restarts.
    pub restarts: u64,
    /// Sessions closed by an error (none should be, on an honest network).
    pub sessions_failed: u64,
    /// Anti-entropy rounds completed.
    pub rounds_completed: u64,
}

/// A deterministic pseudo-random generator (SplitMix64): tiny, seedable, the same everywhere.
#[derive(Clone, Debug)]
pub struct SimRng(u64);

impl SimRng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `bound` (0 if `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() <= p && p > 0.0
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    deliver_at: std::cmp::Reverse<u64>,
    order: std::cmp::Reverse<u64>,
    link: usize,
    epoch: u64,
    to_second: bool,
    frame: Vec<u8>,
}

struct Link {
    ends: (usize, usize),
    sessions: (Session, Session),
    epoch: u64,
}

struct Replica {
    collection: Collection,
    clock: HybridClock,
}

/// A network of replicas under simulation.
pub struct Simulation {
    config: SimConfig,
    rng: SimRng,
    now: u64,
    replicas: Vec<Replica>,
    links: Vec<Link>,
    in_flight: BinaryHeap<InFlight>,
    order: u64,
    partition: Option<BTreeSet<usize>>,
    expected: BTreeMap<ObjectId, Object>,
    report: SimReport,
}

impl Simulation {
    /// Sets up the replicas and connects them.
    pub fn new(config: SimConfig) -> Self {
        let mut rng = SimRng::new(config.seed);
        let replicas: Vec<Replica> = (0..config.replicas)
            .map(|index| {
                let id = ReplicaId::from_u128(u128::from(rng.next_u64()) << 64 | index as u128);
                Replica {
                    collection: Collection::new("simulated", id),
                    clock: HybridClock::new(id),
                }
            })
            .collect();
        let mut simulation = Self {
            rng,
            now: 0,
            replicas,
            links: Vec::new(),
            in_flight: BinaryHeap::new(),
            order: 0,
            partition: None,
            expected: BTreeMap::new(),
            report: SimReport::default(),
            config,
        };
        for ends in simulation.topology() {
            let sessions = simulation.open_sessions(ends);
            simulation.links.push(Link {
                ends,
                sessions,
                epoch: 0,
            });
        }
        simulation
    }

    fn topology(&mut self) -> Vec<(usize, usize)> {
        let n = self.config.replicas;
        let mut edges = BTreeSet::new();
        if self.config.degree == 0 || self.config.degree + 1 >= n {
            for a in 0..n {
                for b in a + 1..n {
                    edges.insert((a, b));
                }
            }
            return edges.into_iter().collect();
        }
        for a in 0..n {
            edges.insert((a.min((a + 1) % n), a.max((a + 1) % n)));
        }
        let wanted = n * self.config.degree / 2;
        let mut attempts = 0;
        while edges.len() < wanted && attempts < wanted * 20 {
            attempts += 1;
            let a = self.rng.below(n as u64) as usize;
            let b = self.rng.below(n as u64) as usize;
            if a != b {
                edges.insert((a.min(b), a.max(b)));
            }
        }
        edges.into_iter().collect()
    }

    fn open_sessions(&mut self, (a, b): (usize, usize)) -> (Session, Session) {
        let now = self.now;
        let config = self.config.session.clone();
        let first = Session::new(&mut self.replicas[a].collection, config.clone(), now);
        let second = Session::new(&mut self.replicas[b].collection, config, now);
        (first, second)
    }

    /// Runs the workload, then heals and runs until convergence or the settle limit.
    pub fn run(mut self) -> SimReport {
        let ids: Vec<ObjectId> = (0..self.config.objects.max(1))
            .filter_map(|index| ObjectId::new(format!("object-{index:03}")).ok())
            .collect();
        let mut ops_left = self.config.ops;
        while ops_left > 0 {
            self.advance();
            self.random_update(&ids);
            ops_left -= 1;
            self.faults();
        }
        self.partition = None;
        let workload_end = self.now;
        let deadline = self.now.saturating_add(self.config.settle_limit_ms);
        loop {
            self.advance();
            if self.converged() {
                self.report.converged = true;
                break;
            }
            if self.now >= deadline {
                break;
            }
        }
        self.report.rounds = self.now / self.config.tick_ms.max(1);
        self.report.rounds_to_converge = (self.now - workload_end) / self.config.tick_ms.max(1);
        self.report.ops = self.config.ops;
        for link in &self.links {
            for session in [&link.sessions.0, &link.sessions.1] {
                self.report.rounds_completed += session.stats().rounds_completed;
            }
        }
        self.report
    }

    /// The replicas' collections.
    pub fn collections(&self) -> impl Iterator<Item = &Collection> + '_ {
        self.replicas.iter().map(|replica| &replica.collection)
    }

    fn converged(&self) -> bool {
        self.replicas.iter().all(|replica| {
            replica.collection.len() == self.expected.len()
                && self
                    .expected
                    .iter()
                    .all(|(id, object)| replica.collection.get(id) == Some(object))
        })
    }

    fn advance(&mut self) {
        self.now += self.config.tick_ms.max(1);
        while self
            .in_flight
            .peek()
            .is_some_and(|frame| frame.deliver_at.0 <= self.now)
        {
            let Some(frame) = self.in_flight.pop() else {
                break;
            };
            self.deliver(frame);
        }
        for index in 0..self.links.len() {
            self.drive(index);
        }
    }

    fn deliver(&mut self, frame: InFlight) {
        let link = &mut self.links[frame.link];
        if link.epoch != frame.epoch {
            return;
        }
        let (a, b) = link.ends;
        let to = if frame.to_second { b } else { a };
        let session = if frame.to_second {
            &mut link.sessions.1
        } else {
            &mut link.sessions.0
        };
        session.handle_frame(&mut self.replicas[to].collection, &frame.frame, self.now);
    }

    fn drive(&mut self, index: usize) {
        let now = self.now;
        let (a, b) = self.links[index].ends;
        let closed = {
            let link = &self.links[index];
            link.sessions.0.is_closed() || link.sessions.1.is_closed()
        };
        if closed {
            self.report.sessions_failed += 1;
            self.reconnect(index);
        }
        for (end, to_second) in [(a, true), (b, false)] {
            let mut frames = Vec::new();
            {
                let link = &mut self.links[index];
                let session = if to_second {
                    &mut link.sessions.0
                } else {
                    &mut link.sessions.1
                };
                let collection = &mut self.replicas[end].collection;
                if session.poll_timeout().is_some_and(|at| at <= now) {
                    session.handle_timeout(collection, now);
                }
                while let Some(frame) = session.poll_transmit(collection, now) {
                    frames.push(frame);
                }
            }
            for frame in frames {
                self.transmit(index, to_second, frame);
            }
        }
    }

    fn reconnect(&mut self, index: usize) {
        let ends = self.links[index].ends;
        let sessions = self.open_sessions(ends);
        let link = &mut self.links[index];
        link.sessions = sessions;
        link.epoch += 1;
    }

    fn transmit(&mut self, link: usize, to_second: bool, frame: Vec<u8>) {
        self.report.messages += 1;
        self.report.bytes += frame.len() as u64;
        let (a, b) = self.links[link].ends;
        let cut = self
            .partition
            .as_ref()
            .is_some_and(|side| side.contains(&a) != side.contains(&b));
        if cut || self.rng.chance(self.config.loss) {
            self.report.lost += 1;
            return;
        }
        let copies = if self.rng.chance(self.config.duplicate) {
            self.report.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let spread = self
                .config
                .max_delay_ms
                .saturating_sub(self.config.min_delay_ms);
            let delay = self.config.min_delay_ms + self.rng.below(spread + 1);
            self.order += 1;
            self.in_flight.push(InFlight {
                deliver_at: std::cmp::Reverse(self.now + delay),
                order: std::cmp::Reverse(self.order),
                link,
                epoch: self.links[link].epoch,
                to_second,
                frame: frame.clone(),
            });
        }
    }

    fn faults(&mut self) {
        let tick = self.config.tick_ms.max(1);
        let every = self.config.partition_every_ms;
        if every > 0 && self.now % every < tick {
            self.partition = match self.partition {
                Some(_) => None,
                None => Some(
                    (0..self.config.replicas)
                        .filter(|_| self.rng.chance(0.5))
                        .collect(),
                ),
            };
        }
        let every = self.config.restart_every_ms;
        if every > 0 && self.now % every < tick && !self.replicas.is_empty() {
            let restarted = self.rng.below(self.replicas.len() as u64) as usize;
            self.report.restarts += 1;
            for index in 0..self.links.len() {
                let (a, b) = self.links[index].ends;
                if a == restarted || b == restarted {
                    self.reconnect(index);
                }
            }
        }
    }

    fn random_update(&mut self, ids: &[ObjectId]) {
        let replica = self.rng.below(self.replicas.len() as u64) as usize;
        let which = self.rng.below(ids.len() as u64) as usize;
        let id = &ids[which];
        let pick = self.rng.next_u64();
        let word = format!("w{}", pick % 7);
        let now = self.now;
        let target = &mut self.replicas[replica];
        let delta = match which % 9 {
            0 => update(target, id, |c: &mut GCounter, me| {
                c.increment(me, 1 + pick % 5)
            }),
            1 => update(target, id, |c: &mut PNCounter, me| {
                if pick.is_multiple_of(2) {
                    c.increment(me, 1 + pick % 3)
                } else {
                    c.decrement(me, 1 + pick % 3)
                }
            }),
            2 => {
                let clock = &mut target.clock;
                let delta = target
                    .collection
                    .update(id, |r: &mut LwwRegister<String>, _| {
                        // Simulated time stays far below the end of the clock's range; were
                        // it reached, the refused write leaves the register as it was.
                        r.set(word, clock, &mut (|| now)).unwrap_or_default()
                    });
                delta.ok().map(Object::from)
            }
            3 => update(target, id, |r: &mut MvRegister<String>, me| {
                r.write(me, word)
            }),
            4 => update(target, id, |s: &mut AWSet<String>, me| {
                if pick.is_multiple_of(3) {
                    Ok(s.remove(&word))
                } else {
                    s.add(me, word)
                }
            }),
            5 => update(target, id, |m: &mut RegisterMap, me| {
                if pick.is_multiple_of(4) {
                    Ok(m.remove(&word))
                } else {
                    m.update(word, |r| r.write(me, format!("{}", pick % 100)))
                }
            }),
            8 => update(target, id, |m: &mut CounterMap, me| {
                if pick.is_multiple_of(4) {
                    Ok(m.remove(&word))
                } else {
                    let amount = (pick % 5) as i64 - 1;
                    m.update(word, |q| q.add(me, amount))
                }
            }),
            6 => update(target, id, |l: &mut Rga<String>, me| {
                let len = l.len();
                if pick.is_multiple_of(3) && len > 0 {
                    l.delete(me, pick % len, 1).unwrap_or_default()
                } else {
                    l.insert(me, pick % (len + 1), [word]).unwrap_or_default()
                }
            }),
            _ => update(target, id, |t: &mut Text, me| {
                let len = t.len();
                if pick.is_multiple_of(3) && len > 0 {
                    t.delete(me, pick % len, 1 + (pick >> 8) % len.min(3))
                        .unwrap_or_default()
                } else {
                    t.insert(me, pick % (len + 1), &word).unwrap_or_default()
                }
            }),
        };
        if let Some(delta) = delta {
            let slot = self
                .expected
                .entry(id.clone())
                .or_insert_with(|| delta.bottom());
            // Every update of an id has the id's one type.
            let _ = slot.join(&delta);
        }
    }
}

fn update<T: ObjectType + Clone, R: EditResult<T>>(
    replica: &mut Replica,
    id: &ObjectId,
    edit: impl FnOnce(&mut T, ReplicaId) -> R,
) -> Option<Object> {
    replica.collection.update(id, edit).ok().map(Into::into)
}
