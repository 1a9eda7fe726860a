//! Click-to-call: the sessions (policy, sans-IO), the engine that runs them over SIP legs,
//! and the calls thread around the engine.

pub(crate) mod calls_thread;
pub mod command;
pub(crate) mod engine;
pub(crate) mod identity;
pub(crate) mod registry;
pub(crate) mod session;
