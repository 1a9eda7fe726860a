//! The user-agent layer: dialogs created by our INVITEs (`Dialog`) and the answers we give
//! to requests outside any dialog. Sans-IO: it builds and reads messages; the calls thread
//! sends them through the reactor.

pub mod contact;
pub mod dialog;
pub mod digest;
pub mod notify;
pub mod out_of_dialog;
pub mod redirect;

pub use dialog::{Dialog, DialogSpec, DialogState, InviteOutcome, body_sdp};
