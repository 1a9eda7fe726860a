//! Deadlines of the calls' legs, in time order for `handle_timeout` and in call order so
//! a call that ends takes its own out at the cost of its own entries: scanning every
//! call's deadlines at each call's end made ending a call cost as much as the calls
//! alive (quadratic under sustained load, issue 13).

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use super::SessionId;
use crate::c2c::command::Role;

/// Deadlines `(when, call, leg, what)`.
#[derive(Debug)]
pub(super) struct DueSet<P: Ord + Copy> {
    by_time: BTreeSet<(Instant, SessionId, Role, P)>,
    /// The same, by call: a call has a handful.
    by_call: HashMap<SessionId, Vec<(Instant, Role, P)>>,
}

impl<P: Ord + Copy> Default for DueSet<P> {
    fn default() -> Self {
        DueSet {
            by_time: BTreeSet::new(),
            by_call: HashMap::new(),
        }
    }
}

impl<P: Ord + Copy> DueSet<P> {
    pub(super) fn insert(&mut self, (t, sid, leg, what): (Instant, SessionId, Role, P)) {
        if self.by_time.insert((t, sid, leg, what)) {
            self.by_call.entry(sid).or_default().push((t, leg, what));
        }
    }

    pub(super) fn remove(&mut self, &(t, sid, leg, what): &(Instant, SessionId, Role, P)) {
        if self.by_time.remove(&(t, sid, leg, what))
            && let Some(mine) = self.by_call.get_mut(&sid)
        {
            mine.retain(|e| *e != (t, leg, what));
            if mine.is_empty() {
                self.by_call.remove(&sid);
            }
        }
    }

    /// The earliest deadline.
    pub(super) fn first(&self) -> Option<&(Instant, SessionId, Role, P)> {
        self.by_time.first()
    }

    pub(super) fn len(&self) -> usize {
        self.by_time.len()
    }

    /// Take out every deadline of call `sid`.
    pub(super) fn remove_call(&mut self, sid: SessionId) {
        for (t, leg, what) in self.by_call.remove(&sid).unwrap_or_default() {
            self.by_time.remove(&(t, sid, leg, what));
        }
        crate::heap::shrink_map(&mut self.by_call);
    }

    /// Take out the deadlines of call `sid` that `which` picks.
    pub(super) fn remove_matching(&mut self, sid: SessionId, which: impl Fn(Role, P) -> bool) {
        let Some(mine) = self.by_call.get_mut(&sid) else {
            return;
        };
        let by_time = &mut self.by_time;
        mine.retain(|&(t, leg, what)| {
            let pick = which(leg, what);
            if pick {
                by_time.remove(&(t, sid, leg, what));
            }
            !pick
        });
        if mine.is_empty() {
            self.by_call.remove(&sid);
        }
    }

    #[cfg(test)]
    pub(super) fn contains(&self, entry: &(Instant, SessionId, Role, P)) -> bool {
        self.by_time.contains(entry)
    }

    #[cfg(test)]
    pub(super) fn iter(&self) -> impl Iterator<Item = &(Instant, SessionId, Role, P)> {
        self.by_time.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_call_takes_out_only_its_own_deadlines_and_time_order_stays() {
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        let mut due: DueSet<u8> = DueSet::default();
        due.insert((at(3), 1, Role::Initiator, 0));
        due.insert((at(1), 2, Role::Destination, 0));
        due.insert((at(2), 1, Role::Destination, 7));
        due.insert((at(2), 1, Role::Destination, 7)); // again: still one
        due.insert((at(4), 3, Role::Initiator, 0));
        assert_eq!(due.len(), 4);
        assert_eq!(due.first(), Some(&(at(1), 2, Role::Destination, 0)));
        due.remove_call(1);
        assert_eq!(
            due.iter().copied().collect::<Vec<_>>(),
            vec![
                (at(1), 2, Role::Destination, 0),
                (at(4), 3, Role::Initiator, 0)
            ]
        );
        due.remove_matching(3, |leg, _| leg == Role::Destination);
        assert_eq!(due.len(), 2);
        due.remove_matching(3, |leg, _| leg == Role::Initiator);
        due.remove(&(at(1), 2, Role::Destination, 0));
        assert_eq!((due.len(), due.first()), (0, None));
        assert!(due.by_call.is_empty(), "nothing left by call either");
    }
}
