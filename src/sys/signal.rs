//! Signals taken synchronously: blocked in every thread and accepted by `sigwait` in one
//! (POSIX: a signal blocked in all threads stays pending until a thread accepts it), so no
//! handler ever runs in async-signal context.

use std::io;

/// A set of signals blocked in the thread that made it and in every thread it spawns
/// afterwards (they inherit the mask).
#[derive(Clone, Copy)]
pub(crate) struct BlockedSignals(libc::sigset_t);

impl BlockedSignals {
    /// Blocks `signals` in the calling thread.
    pub(crate) fn block(signals: &[libc::c_int]) -> io::Result<BlockedSignals> {
        // SAFETY: sigset_t is plain data, initialised by sigemptyset before any other use;
        // every pointer is to a local that outlives the call.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &signal in signals {
                if libc::sigaddset(&mut set, signal) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if rc != 0 {
                return Err(io::Error::from_raw_os_error(rc));
            }
            Ok(BlockedSignals(set))
        }
    }

    /// Waits for one of the signals and returns it.
    pub(crate) fn wait(&self) -> io::Result<libc::c_int> {
        let mut signal: libc::c_int = 0;
        // SAFETY: `self.0` is an initialised sigset_t and `signal` a local the call writes.
        let rc = unsafe { libc::sigwait(&self.0, &mut signal) };
        if rc == 0 {
            Ok(signal)
        } else {
            Err(io::Error::from_raw_os_error(rc))
        }
    }
}
