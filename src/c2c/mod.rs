//! Click-to-call sessions: REFER mode, anchored mode, fallback, progress events.

pub mod command;
pub mod session;
