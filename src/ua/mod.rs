//! The user-agent layer: call legs (dialogs created by our INVITEs) and the answers we give
//! to requests outside any dialog. Sans-IO: it builds and reads messages; the calls thread
//! sends them through the reactor.

pub mod leg;
pub mod notify;
pub mod out_of_dialog;

pub use leg::{DialogState, InviteOutcome, Leg, LegSpec, body_sdp};
