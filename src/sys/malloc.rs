//! glibc's allocator parameters (mallopt(3), malloc_trim(3)); no-ops on other C libraries.

/// Cap the number of malloc arenas; call before the threads start.
pub(crate) fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; no pointer is involved.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Give free heap pages back to the system (every arena's free chunks, not only the top
/// of the heap); costs a walk of the free lists, so only when idle.
pub(crate) fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer and only releases memory that is free.
    unsafe {
        libc::malloc_trim(0);
    }
}
