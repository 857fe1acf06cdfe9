//! Three replicas edit one shopping cart while partitioned, then exchange deltas and converge.
//!
//! The cart is an `ORMap<item, MvRegister<quantity>>`: items are added, their quantities
//! changed and items removed on each replica without any coordination; every replica keeps the
//! deltas its edits returned, and after the partition heals each replica joins everybody
//! else's deltas, in a different order on each. All three must end with the same cart.
//!
//! Run it with `cargo xtask demo` or `cargo run -p crdt-core --example shopping_cart`.

use std::process::ExitCode;

use crdt_core::{Lattice, MvRegister, ORMap, ReplicaId};

type Cart = ORMap<String, MvRegister<u32>>;

/// One replica: its name, id, cart, and the deltas of its own edits.
struct Replica {
    name: &'static str,
    id: ReplicaId,
    cart: Cart,
    deltas: Vec<Cart>,
}

impl Replica {
    fn new(name: &'static str, id: u128) -> Self {
        Self {
            name,
            id: ReplicaId::from_u128(id),
            cart: Cart::new(),
            deltas: Vec::new(),
        }
    }

    fn set_quantity(&mut self, item: &str, quantity: u32) {
        let id = self.id;
        let delta = self
            .cart
            .update(item.to_owned(), |q| q.write(id, quantity))
            .unwrap();
        self.deltas.push(delta);
    }

    fn remove(&mut self, item: &str) {
        let delta = self.cart.remove(&item.to_owned());
        self.deltas.push(delta);
    }

    fn print(&self) {
        let mut items: Vec<&String> = self.cart.keys().collect();
        items.sort();
        let lines: Vec<String> = items
            .into_iter()
            .map(|item| {
                let quantities = self
                    .cart
                    .get(item)
                    .map(|q| {
                        q.values()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(" | ")
                    })
                    .unwrap_or_default();
                format!("{item} × {quantities}")
            })
            .collect();
        println!("  {:<6} {}", self.name, lines.join(", "));
    }
}

fn main() -> ExitCode {
    let mut alice = Replica::new("alice", 1);
    let mut bob = Replica::new("bob", 2);
    let mut carol = Replica::new("carol", 3);

    // Before the partition: Alice starts the cart and everybody receives it.
    alice.set_quantity("milk", 1);
    alice.set_quantity("bread", 2);
    for delta in alice.deltas.drain(..) {
        bob.cart.join(&delta);
        carol.cart.join(&delta);
        alice.cart.join(&delta);
    }

    // Partitioned: each edits alone.
    alice.remove("milk");
    alice.set_quantity("eggs", 12);
    bob.set_quantity("milk", 3); // concurrent with Alice's removal: survives it
    bob.set_quantity("bread", 1);
    carol.set_quantity("bread", 4); // concurrent with Bob's: both quantities are kept
    carol.set_quantity("coffee", 1);
    carol.remove("coffee");

    println!("while partitioned:");
    for replica in [&alice, &bob, &carol] {
        replica.print();
    }

    // Healed: every replica joins the others' deltas, each in its own order.
    let all: Vec<Cart> = [&alice, &bob, &carol]
        .iter()
        .flat_map(|replica| replica.deltas.iter().cloned())
        .collect();
    for (turn, replica) in [&mut alice, &mut bob, &mut carol].into_iter().enumerate() {
        let mut order: Vec<&Cart> = all.iter().collect();
        order.rotate_left(turn * 2);
        if turn == 1 {
            order.reverse();
        }
        for delta in order {
            replica.cart.join(delta);
        }
    }

    println!("after the partition heals:");
    for replica in [&alice, &bob, &carol] {
        replica.print();
    }

    if alice.cart == bob.cart && bob.cart == carol.cart {
        println!("all three replicas agree.");
        ExitCode::SUCCESS
    } else {
        println!("the replicas disagree: this is a bug.");
        ExitCode::FAILURE
    }
}
