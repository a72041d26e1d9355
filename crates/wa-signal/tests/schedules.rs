//! Two parties exchange messages under generated schedules: out of order, dropped, duplicated,
//! alternating. Every message that should decrypt does, duplicates are refused, nothing panics.

use crate::common;

use common::{Party, Wire};
use proptest::prelude::*;
use wa_signal::{PublicKey, SignalError, session::MAX_RECEIVER_CHAINS, wire};

#[derive(Clone, Debug)]
enum Op {
    /// Alice (true) or Bob (false) encrypts a new message.
    Send(bool),
    /// Deliver the in-flight message at this (wrapped) index and remove it.
    Deliver(usize),
    /// Deliver it and keep it in flight, so it arrives again later.
    Duplicate(usize),
    /// Lose it.
    Drop(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<bool>().prop_map(Op::Send),
        4 => any::<usize>().prop_map(Op::Deliver),
        1 => any::<usize>().prop_map(Op::Duplicate),
        1 => any::<usize>().prop_map(Op::Drop),
    ]
}

struct InFlight {
    from_alice: bool,
    id: usize,
    wire: Wire,
    text: Vec<u8>,
}

fn ratchet_key(w: &Wire) -> PublicKey {
    if w.pkmsg {
        *wire::PreKeySignalMessage::parse(&w.bytes)
            .unwrap()
            .message()
            .ratchet_key()
    } else {
        *wire::SignalMessage::parse(&w.bytes).unwrap().ratchet_key()
    }
}

/// What a receiver's chain list should hold: ratchet keys in creation order (the last
/// MAX_RECEIVER_CHAINS are kept).
struct ChainModel(Vec<PublicKey>);

impl ChainModel {
    fn expect_ok(&self, key: &PublicKey) -> bool {
        match self.0.iter().position(|k| k == key) {
            None => true,
            Some(pos) => pos + MAX_RECEIVER_CHAINS >= self.0.len(),
        }
    }
    fn saw(&mut self, key: PublicKey) {
        if !self.0.contains(&key) {
            self.0.push(key);
        }
    }
}

fn run(ops: Vec<Op>, seed: u64) -> usize {
    let mut alice = Party::new(seed);
    let mut bob = Party::new(seed + 1);
    let bundle = bob.bundle(seed.is_multiple_of(2));
    alice.start_with(&bundle);
    let mut alice_chains = ChainModel(vec![bundle.signed_pre_key]);
    let mut bob_chains = ChainModel(Vec::new());
    let mut flight: Vec<InFlight> = Vec::new();
    let mut delivered = std::collections::HashSet::new();
    let mut next_id = 0;

    for op in ops {
        match op {
            Op::Send(from_alice) => {
                let sender = if from_alice { &mut alice } else { &mut bob };
                if !sender.record.has_current() {
                    continue; // Bob cannot speak before Alice's first message arrives.
                }
                let text = format!(
                    "msg {next_id} from {}",
                    if from_alice { "alice" } else { "bob" }
                );
                let wire = sender.encrypt(text.as_bytes());
                flight.push(InFlight {
                    from_alice,
                    id: next_id,
                    wire,
                    text: text.into_bytes(),
                });
                next_id += 1;
            }
            Op::Drop(i) if !flight.is_empty() => {
                let i = i % flight.len();
                flight.remove(i);
            }
            Op::Deliver(i) | Op::Duplicate(i) if !flight.is_empty() => {
                let keep = matches!(op, Op::Duplicate(_));
                let i = i % flight.len();
                let m = if keep {
                    let f = &flight[i];
                    InFlight {
                        from_alice: f.from_alice,
                        id: f.id,
                        wire: f.wire.clone(),
                        text: f.text.clone(),
                    }
                } else {
                    flight.remove(i)
                };
                let (receiver, model) = if m.from_alice {
                    (&mut bob, &mut bob_chains)
                } else {
                    (&mut alice, &mut alice_chains)
                };
                let key = ratchet_key(&m.wire);
                let result = receiver.decrypt(&m.wire);
                if delivered.contains(&m.id) {
                    assert!(
                        matches!(result, Err(SignalError::DuplicateMessage(_))),
                        "redelivery of {} must be refused, got {result:?}",
                        m.id
                    );
                } else if model.expect_ok(&key) {
                    assert_eq!(
                        result.as_deref(),
                        Ok(&m.text[..]),
                        "message {} must decrypt",
                        m.id
                    );
                    model.saw(key);
                    delivered.insert(m.id);
                } else {
                    assert!(
                        result.is_err(),
                        "message on an evicted chain cannot decrypt"
                    );
                }
            }
            _ => {}
        }
    }
    // Drain what is still in flight, in order: everything undelivered and not evicted decrypts.
    for m in flight {
        let (receiver, model) = if m.from_alice {
            (&mut bob, &mut bob_chains)
        } else {
            (&mut alice, &mut alice_chains)
        };
        let key = ratchet_key(&m.wire);
        let result = receiver.decrypt(&m.wire);
        if delivered.contains(&m.id) {
            assert!(matches!(result, Err(SignalError::DuplicateMessage(_))));
        } else if model.expect_ok(&key) {
            assert_eq!(result.as_deref(), Ok(&m.text[..]));
            model.saw(key);
            delivered.insert(m.id);
        }
    }
    delivered.len()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn random_schedules(ops in proptest::collection::vec(op(), 1..80), seed in 0u64..1_000) {
        run(ops, seed);
    }
}

#[test]
fn strict_alternation() {
    let ops = (0..60)
        .flat_map(|i: u32| [Op::Send(i.is_multiple_of(2)), Op::Deliver(0)])
        .collect();
    assert_eq!(run(ops, 7), 60);
}

#[test]
fn everything_reversed() {
    let mut ops: Vec<Op> = (0..30).map(|_| Op::Send(true)).collect();
    ops.extend((0..30).map(|i| Op::Deliver(29 - i)));
    assert_eq!(run(ops, 8), 30);
}
