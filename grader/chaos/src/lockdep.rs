//! The lock-order graph, as Linux's lockdep keeps it.
//!
//! Each time a thread that holds lock `h` blocks to take lock `n`, the edge
//! `h -> n` is recorded, with the locks the thread took before `h` and still
//! holds (its *gates*). Over all the times the edge is seen, only the gates
//! common to every sighting are kept. A cycle `h -> n -> ... -> h` means two
//! threads can each hold one lock of the cycle and wait for the next: a
//! possible deadlock, even when this run did not deadlock. A cycle is
//! harmless when one lock is a gate of every edge on it (every thread takes
//! that outer lock first, so they never run the inner orders at once).
//!
//! Invariant: the graph holds only edges between live locks (a dropped lock's
//! edges are forgotten), and `gates` of an edge is the intersection of the
//! gate sets of all its sightings.

use std::collections::{HashMap, VecDeque};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex as RealMutex;

use crate::threads::{Held, LockId, LockKind};

type Loc = &'static Location<'static>;

/// One sighting of an edge, kept to explain a report.
#[derive(Debug, Clone)]
struct Sighting {
    thread: String,
    first: (LockKind, Loc),
    second: (LockKind, Loc),
}

#[derive(Debug)]
struct Edge {
    /// Locks held (taken before the edge's source) at every sighting.
    gates: Vec<LockId>,
    /// The sighting that last narrowed `gates` (or the first one).
    example: Sighting,
}

#[derive(Default)]
struct Graph {
    out: HashMap<LockId, HashMap<LockId, Edge>>,
}

static GRAPH: RealMutex<Option<Graph>> = RealMutex::new(None);
static NONEMPTY: AtomicBool = AtomicBool::new(false);

/// Most gates considered per edge; an edge with more is taken as protected.
const MAX_GATES: usize = 6;

/// Records that the calling thread, holding `held` (in acquisition order),
/// is about to block for `new` at `at`. Returns a report if that closes an
/// unprotected cycle.
pub(crate) fn acquire(
    thread: &str,
    held: &[Held],
    new: LockId,
    kind: LockKind,
    at: Loc,
) -> Option<String> {
    if held.is_empty() {
        return None;
    }
    let mut guard = GRAPH.lock();
    let graph = guard.get_or_insert_with(Graph::default);
    NONEMPTY.store(true, Ordering::Relaxed);
    for (index, h) in held.iter().enumerate() {
        if h.id == new {
            continue;
        }
        let gates: Vec<LockId> = held[..index]
            .iter()
            .map(|g| g.id)
            .filter(|&g| g != new && g != h.id)
            .collect();
        let sighting = Sighting {
            thread: thread.to_string(),
            first: (h.kind, h.at),
            second: (kind, at),
        };
        let edges = graph.out.entry(h.id).or_default();
        let changed = match edges.get_mut(&new) {
            None => {
                edges.insert(
                    new,
                    Edge {
                        gates,
                        example: sighting,
                    },
                );
                true
            }
            Some(edge) => {
                let before = edge.gates.len();
                edge.gates.retain(|g| gates.contains(g));
                if edge.gates.len() != before {
                    edge.example = sighting;
                    true
                } else {
                    false
                }
            }
        };
        if changed && let Some(cycle) = graph.unprotected_cycle(h.id, new) {
            return Some(graph.describe(&cycle));
        }
    }
    None
}

/// Forgets a dropped lock.
pub(crate) fn forget(id: LockId) {
    if !NONEMPTY.load(Ordering::Relaxed) {
        return;
    }
    let mut guard = GRAPH.lock();
    if let Some(graph) = guard.as_mut() {
        graph.out.remove(&id);
        for edges in graph.out.values_mut() {
            edges.remove(&id);
        }
    }
}

impl Graph {
    /// After edge `from -> to` was added or narrowed: a path `to -> ... ->
    /// from` such that, for every gate of the new edge, some edge on the
    /// path lacks it. Returns the cycle as a list of edges.
    fn unprotected_cycle(&self, from: LockId, to: LockId) -> Option<Vec<(LockId, LockId)>> {
        let gates = &self.out[&from][&to].gates;
        if gates.len() > MAX_GATES {
            return None;
        }
        let full: u32 = (1u32 << gates.len()) - 1;
        // Breadth-first over (lock, which gates some path edge lacked).
        let mut parent: HashMap<(LockId, u32), (LockId, u32)> = HashMap::new();
        let mut queue = VecDeque::from([(to, 0u32)]);
        parent.insert((to, 0), (to, 0));
        while let Some((node, mask)) = queue.pop_front() {
            if node == from && mask == full {
                let mut path = Vec::new();
                let mut state = (node, mask);
                while state != (to, 0) {
                    let prev = parent[&state];
                    path.push((prev.0, state.0));
                    state = prev;
                }
                path.reverse();
                path.insert(0, (from, to));
                return Some(path);
            }
            if node == from {
                continue;
            }
            let Some(edges) = self.out.get(&node) else {
                continue;
            };
            for (&next, edge) in edges {
                let mut lacked = mask;
                for (bit, gate) in gates.iter().enumerate() {
                    if !edge.gates.contains(gate) {
                        lacked |= 1 << bit;
                    }
                }
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    parent.entry((next, lacked))
                {
                    slot.insert((node, mask));
                    queue.push_back((next, lacked));
                }
            }
        }
        None
    }

    /// A report a student understands.
    fn describe(&self, cycle: &[(LockId, LockId)]) -> String {
        // Tell it in the order it happened: the edge that closed the cycle
        // (first in `cycle`) last.
        let mut cycle = cycle.to_vec();
        cycle.rotate_left(1);
        let mut names: Vec<LockId> = Vec::new();
        for &(a, _) in &cycle {
            if !names.contains(&a) {
                names.push(a);
            }
        }
        let name = |id: LockId| -> String {
            let index = names.iter().position(|&n| n == id).unwrap_or(0);
            let letter = (b'A' + (index % 26) as u8) as char;
            letter.to_string()
        };
        let step = |&(a, b): &(LockId, LockId)| -> (String, &Sighting) {
            let sighting = &self.out[&a][&b].example;
            let text = format!(
                "{} {} ({}) then {} {} ({})",
                sighting.first.0.noun(),
                name(a),
                sighting.first.1,
                sighting.second.0.noun(),
                name(b),
                sighting.second.1
            );
            (text, sighting)
        };
        let mut out = String::from("possible deadlock (locks taken in opposite orders): ");
        if cycle.len() == 2 {
            let (first, s1) = step(&cycle[0]);
            let (second, s2) = step(&cycle[1]);
            let who = if s1.thread == s2.thread {
                format!("later the same {}", s2.thread)
            } else {
                s2.thread.clone()
            };
            out.push_str(&format!(
                "{} takes {first}; {who} takes them the other way round: {second}.",
                s1.thread
            ));
        } else {
            let parts: Vec<String> = cycle
                .iter()
                .map(|edge| {
                    let (text, sighting) = step(edge);
                    format!("{} takes {text}", sighting.thread)
                })
                .collect();
            out.push_str(&format!("the locks form a cycle: {}.", parts.join("; ")));
        }
        out.push_str(
            "\nIf these threads run at the same moment, each can hold its first lock and wait \
             forever for the next one. This run did not have to hang for this to be found: \
             seeing both orders is enough. Take the locks in one fixed global order (for \
             example by account index), or take one lock at a time.",
        );
        out
    }
}
