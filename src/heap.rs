//! The process heap: how glibc's allocator is asked to give memory back after a load
//! (issue 13 point 4). Each thread that allocates under contention gets an arena of its
//! own (up to 8 per core), and freed memory stays in those arenas: after a burst the
//! resident size stays near its peak. Two arenas serve our few busy threads (reactor,
//! calls thread, the XML writers) without contention worth having more, and an idle
//! reactor trims them. Other C libraries: no-ops.

pub(crate) use crate::sys::malloc::{limit_arenas, trim};

/// A map keeps the memory of its largest size: after a load peak, give back what is four
/// times more than it holds (a steady load keeps its room and never reallocates).
pub(crate) fn shrink_map<K: Eq + std::hash::Hash, V>(map: &mut std::collections::HashMap<K, V>) {
    if map.capacity() > 4 * map.len() + 256 {
        map.shrink_to(2 * map.len());
    }
}
