//! Facts about this host that std does not expose.

/// This machine's host name, or `None` if the system will not say or it is not UTF-8.
pub(crate) fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the pointer and length describe `buf`, which outlives the call;
    // gethostname writes at most `len` bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast::<libc::c_char>(), buf.len()) };
    if rc != 0 {
        return None;
    }
    // POSIX leaves truncated names possibly unterminated: stop at NUL or the buffer end.
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(buf.get(..len).unwrap_or_default()) {
        Ok(name) if !name.is_empty() => Some(name.to_owned()),
        _ => None,
    }
}
