//! Click-to-call: the sessions (policy, sans-IO), the engine that runs them over SIP legs,
//! and the calls thread around the engine.

pub mod calls_thread;
pub mod command;
pub mod engine;
pub mod registry;
pub mod session;
