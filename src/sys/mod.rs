//! Every call into libc that std and mio do not wrap, and so every `unsafe` block of the
//! crate but one (the SSE2 scan in `sip::msg::lines`): sockets, the UDP error queue,
//! poll(2), signals, the host name and the allocator's parameters. Each function here is
//! safe to call; the `unsafe` inside is documented where it stands.

pub(crate) mod errqueue;
pub(crate) mod host;
pub(crate) mod malloc;
pub(crate) mod poll;
pub(crate) mod signal;
pub(crate) mod socket;
