//! Waking the reactor thread only when it sleeps. A `mio::Waker` is an eventfd write (a
//! system call, and an epoll wake-up when the reactor is blocked); under load the reactor
//! is often still at work when the calls thread hands it commands, and it takes every
//! queued command before it blocks again, so the write is then only cost.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering, fence};

/// The reactor's waker, with a flag the reactor raises just before it blocks in `poll`.
pub(crate) struct ReactorWaker {
    waker: mio::Waker,
    asleep: AtomicBool,
}

impl ReactorWaker {
    pub(crate) fn new(waker: mio::Waker) -> ReactorWaker {
        ReactorWaker {
            waker,
            asleep: AtomicBool::new(false),
        }
    }

    /// Call after queueing commands: wakes the reactor if it is (about to be) blocked.
    pub(crate) fn wake(&self) -> io::Result<()> {
        // Pairs with the fence in `going_to_sleep`: either the reactor sees the queued
        // command when it looks at the channel after raising the flag, or we see the
        // flag here (store-buffering; both sides need sequential consistency).
        fence(Ordering::SeqCst);
        if self.asleep.swap(false, Ordering::SeqCst) {
            self.waker.wake()
        } else {
            Ok(())
        }
    }

    /// The reactor is about to block: raise the flag, then the caller must look at the
    /// command channel once more and not block if anything is queued.
    pub(super) fn going_to_sleep(&self) {
        self.asleep.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// The reactor is back from `poll`: senders need not wake it until it blocks again.
    pub(super) fn awake(&self) {
        self.asleep.store(false, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll, Token};
    use std::time::Duration;

    fn woken(poll: &mut Poll) -> bool {
        let mut events = Events::with_capacity(4);
        poll.poll(&mut events, Some(Duration::ZERO)).expect("poll");
        !events.is_empty()
    }

    #[test]
    fn only_a_sleeping_reactor_is_woken() {
        let mut poll = Poll::new().expect("poll");
        let w = ReactorWaker::new(mio::Waker::new(poll.registry(), Token(0)).expect("waker"));
        // Awake: no eventfd write, nothing for poll.
        w.wake().expect("wake");
        assert!(!woken(&mut poll));
        // About to sleep: the first wake writes, and clears the flag for the next.
        w.going_to_sleep();
        w.wake().expect("wake");
        assert!(woken(&mut poll));
        w.wake().expect("wake");
        assert!(!woken(&mut poll));
        w.going_to_sleep();
        w.awake();
        w.wake().expect("wake");
        assert!(!woken(&mut poll));
    }
}
