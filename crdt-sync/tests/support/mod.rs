//! Drives two sessions over a perfect in-memory wire.

// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]

use crdt_sync::collection::Collection;
use crdt_sync::session::{Session, SessionConfig};

/// One side of a connection: its collection and its session.
pub struct End {
    pub collection: Collection,
    pub session: Session,
}

impl End {
    /// A collection with a fresh session, opened at time 0.
    pub fn open(mut collection: Collection, config: SessionConfig) -> Self {
        let session = Session::new(&mut collection, config, 0);
        Self {
            collection,
            session,
        }
    }
}

/// Totals of a pumped exchange.
#[derive(Debug, Default)]
pub struct Exchange {
    /// Half round trips in which at least one frame moved.
    pub flights: usize,
    pub frames: usize,
    pub bytes: usize,
}

impl Exchange {
    pub fn round_trips(&self) -> usize {
        self.flights.div_ceil(2)
    }
}

/// Moves frames back and forth, one direction per flight, until both sides fall silent
/// (bounded: panics after `max_flights`).
pub fn pump(a: &mut End, b: &mut End, now: u64, max_flights: usize) -> Exchange {
    let mut exchange = Exchange::default();
    let mut idle_flights = 0;
    let mut a_to_b = true;
    for _ in 0..max_flights {
        let (from, to) = if a_to_b {
            (&mut *a, &mut *b)
        } else {
            (&mut *b, &mut *a)
        };
        let mut moved = false;
        while let Some(frame) = from.session.poll_transmit(&mut from.collection, now) {
            exchange.frames += 1;
            exchange.bytes += frame.len();
            to.session.handle_frame(&mut to.collection, &frame, now);
            moved = true;
        }
        if moved {
            exchange.flights += 1;
            idle_flights = 0;
        } else {
            idle_flights += 1;
            if idle_flights == 2 {
                return exchange;
            }
        }
        a_to_b = !a_to_b;
    }
    panic!("no quiet after {max_flights} flights: {exchange:?}");
}
