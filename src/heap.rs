//! The process heap: how glibc's allocator is asked to give memory back after a load
//! (issue 13 point 4). Each thread that allocates under contention gets an arena of its
//! own (up to 8 per core), and freed memory stays in those arenas: after a burst the
//! resident size stays near its peak. Two arenas serve our few busy threads (reactor,
//! calls thread, the XML writers) without contention worth having more, and an idle
//! reactor trims them. Other C libraries: no-ops.

/// Cap the number of malloc arenas; call before the threads start.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; no pointer is involved.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Give free heap pages back to the system (every arena's free chunks, not only the top
/// of the heap); costs a walk of the free lists, so only when idle.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer and only releases memory that is free.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A map keeps the memory of its largest size: after a load peak, give back what is four
/// times more than it holds (a steady load keeps its room and never reallocates).
pub fn shrink_map<K: Eq + std::hash::Hash, V>(map: &mut std::collections::HashMap<K, V>) {
    if map.capacity() > 4 * map.len() + 256 {
        map.shrink_to(2 * map.len());
    }
}
