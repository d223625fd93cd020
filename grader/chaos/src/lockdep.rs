//! The lock-order graph, as Linux's lockdep keeps it.
//!
//! Each time a thread that holds lock `h` blocks to take lock `n`, the edge
//! `h -> n` is recorded, with the locks the thread took before `h` and still
//! holds (its *gates*). Over all the times the edge is seen, only the gates
//! common to every sighting are kept. A cycle `h -> n -> ... -> h` means two
//! threads can each hold one lock of the cycle and wait for the next: a
//! possible deadlock, even when this run did not deadlock. A cycle is
//! harmless when one lock is a gate of every edge on it (every thread takes
//! that outer lock first, so they never run the inner orders at once), and
//! when one thread alone took every order of it (a single-threaded test of
//! a lock-order bug loses no points for it; the concurrent tests do).
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
    /// One sighting for each of the first two threads seen taking this edge
    /// (by serial number); a sighting that narrowed `gates` replaces its
    /// thread's, so a report shows the unprotected one.
    examples: Vec<(usize, Sighting)>,
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
    serial: usize,
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
                        examples: vec![(serial, sighting)],
                    },
                );
                true
            }
            Some(edge) => {
                let before = edge.gates.len();
                edge.gates.retain(|g| gates.contains(g));
                let narrowed = edge.gates.len() != before;
                let known = edge.examples.iter().position(|(t, _)| *t == serial);
                let new_thread = known.is_none() && edge.examples.len() < 2;
                match known {
                    Some(index) if narrowed => edge.examples[index].1 = sighting,
                    None if new_thread || narrowed => {
                        edge.examples.truncate(1);
                        edge.examples.push((serial, sighting));
                    }
                    _ => {}
                }
                narrowed || new_thread
            }
        };
        if changed
            && let Some(cycle) = graph.unprotected_cycle(h.id, new)
            && graph.threads_on(&cycle) >= 2
        {
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

    /// How many distinct threads took the edges of `cycle` (capped at 2).
    fn threads_on(&self, cycle: &[(LockId, LockId)]) -> usize {
        let mut seen: Vec<usize> = Vec::new();
        for &(a, b) in cycle {
            for (t, _) in &self.out[&a][&b].examples {
                if !seen.contains(t) {
                    seen.push(*t);
                }
            }
        }
        seen.len()
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
        // One sighting per edge, from different threads where possible.
        let mut chosen: Vec<&Sighting> = Vec::new();
        let mut used: Vec<usize> = Vec::new();
        for &(a, b) in &cycle {
            let examples = &self.out[&a][&b].examples;
            let pick = examples
                .iter()
                .find(|(t, _)| !used.contains(t))
                .unwrap_or(&examples[0]);
            used.push(pick.0);
            chosen.push(&pick.1);
        }
        let step = |index: usize| -> String {
            let (a, b) = cycle[index];
            let sighting = chosen[index];
            format!(
                "{} {} ({}) then {} {} ({})",
                sighting.first.0.noun(),
                name(a),
                sighting.first.1,
                sighting.second.0.noun(),
                name(b),
                sighting.second.1
            )
        };
        let mut out = String::from("possible deadlock (locks taken in opposite orders): ");
        if cycle.len() == 2 {
            let who = if chosen[0].thread == chosen[1].thread {
                format!("another {}", chosen[1].thread)
            } else {
                chosen[1].thread.clone()
            };
            out.push_str(&format!(
                "{} takes {}; {who} takes them the other way round: {}.",
                chosen[0].thread,
                step(0),
                step(1)
            ));
        } else {
            let parts: Vec<String> = (0..cycle.len())
                .map(|i| format!("{} takes {}", chosen[i].thread, step(i)))
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
