//! Bounds on what clients can hold: counted slots (calls, streams, connections) that are
//! refused at once past their ceiling, and the registry of open connections through
//! which a stream that can no longer be ended gracefully has its connection closed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// A count of things in progress under a ceiling. Taking one past the ceiling fails at
/// once: nothing waits for a slot, so excess load is refused instead of queued.
///
/// One atomic add to take, one to give back: no lock, so calls on every worker thread
/// take slots without waiting on each other.
#[derive(Debug)]
pub struct Slots {
    max: usize,
    taken: AtomicUsize,
}

impl Slots {
    /// Slots for at most `max` holders at once (at least one).
    pub fn new(max: usize) -> Slots {
        Slots {
            max: max.max(1),
            taken: AtomicUsize::new(0),
        }
    }

    /// The ceiling.
    pub fn max(&self) -> usize {
        self.max
    }

    /// How many are held now.
    pub fn taken(&self) -> usize {
        self.taken.load(Ordering::Relaxed)
    }

    /// Takes a slot, given back when the guard drops; `None` when all are held.
    pub fn try_take(&self) -> Option<Slot<'_>> {
        self.take_one().then(|| Slot(self))
    }

    /// Takes a slot that owns its share of the slots, to move into a stream or a
    /// connection that outlives the caller; `None` when all are held.
    pub fn try_take_owned(self: &Arc<Self>) -> Option<OwnedSlot> {
        self.take_one().then(|| OwnedSlot(self.clone()))
    }

    fn take_one(&self) -> bool {
        // Add first, then check: one atomic operation on the common path. A refused taker
        // holds a slot for a moment, so a racing one may be refused too: never more than
        // `max` are granted.
        if self.taken.fetch_add(1, Ordering::Relaxed) < self.max {
            true
        } else {
            self.give_back();
            false
        }
    }

    fn give_back(&self) {
        self.taken.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A slot borrowed from [`Slots`], given back on drop.
#[derive(Debug)]
pub struct Slot<'a>(&'a Slots);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.give_back();
    }
}

/// A slot that keeps its [`Slots`] alive, given back on drop.
#[derive(Debug)]
pub struct OwnedSlot(Arc<Slots>);

impl Drop for OwnedSlot {
    fn drop(&mut self) {
        self.0.give_back();
    }
}

/// The open connections of a listener, by peer address, so that a stream's watchdog can
/// close the connection of a stream that cannot be ended any other way (its client reads
/// nothing, so the stream's end is never sent).
///
/// A connection registers when it opens and leaves when it closes: a lock per connection,
/// none per call.
#[derive(Debug, Default)]
pub struct Connections {
    open: Mutex<HashMap<SocketAddr, Arc<Closer>>>,
}

/// The close switch of one connection: its reads and writes fail once it is thrown.
#[derive(Debug, Default)]
pub struct Closer(AtomicBool);

impl Closer {
    /// Whether the connection is to be closed.
    pub fn is_closed(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl Connections {
    /// Registers a connection from `peer`; it leaves the registry with [`Connections::leave`].
    pub fn join(&self, peer: SocketAddr) -> Arc<Closer> {
        let closer = Arc::new(Closer::default());
        self.lock().insert(peer, closer.clone());
        closer
    }

    /// Removes the connection from `peer` whose switch is `closer` (a newer connection
    /// from the same address stays).
    pub fn leave(&self, peer: SocketAddr, closer: &Arc<Closer>) {
        let mut open = self.lock();
        if open.get(&peer).is_some_and(|c| Arc::ptr_eq(c, closer)) {
            open.remove(&peer);
        }
    }

    /// Marks the connection from `peer` to be closed; false when there is none. It closes
    /// at its next read or write (at the latest the next keepalive ping).
    pub fn close(&self, peer: SocketAddr) -> bool {
        match self.lock().get(&peer) {
            Some(closer) => {
                closer.0.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Arc<Closer>>> {
        // The map holds no invariant a panic could break half-way.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_refuse_past_the_ceiling_and_come_back_on_drop() {
        let slots = Arc::new(Slots::new(2));
        let a = slots.try_take().unwrap();
        let b = slots.try_take_owned().unwrap();
        assert!(slots.try_take().is_none());
        assert!(slots.try_take_owned().is_none());
        assert_eq!(slots.taken(), 2, "a refusal gives back what it took");
        drop(a);
        let c = slots.try_take().unwrap();
        drop(b);
        drop(c);
        assert_eq!(slots.taken(), 0);
        assert_eq!(Slots::new(0).max(), 1);
    }

    #[test]
    fn a_connection_is_closed_only_while_it_is_registered() {
        let connections = Connections::default();
        let peer = SocketAddr::from(([127, 0, 0, 1], 4000));
        let closer = connections.join(peer);
        assert!(!closer.is_closed());
        assert!(connections.close(peer));
        assert!(closer.is_closed());
        let newer = connections.join(peer);
        connections.leave(peer, &closer);
        assert_eq!(
            connections.len(),
            1,
            "the newer connection from that address stays"
        );
        connections.leave(peer, &newer);
        assert!(connections.is_empty());
        assert!(!connections.close(peer));
    }
}
