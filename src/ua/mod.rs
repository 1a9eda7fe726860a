//! The user-agent layer: dialogs created by our INVITEs (`Dialog`) and the answers we give
//! to requests outside any dialog. Sans-IO: it builds and reads messages; the calls thread
//! sends them through the reactor.

pub(crate) mod contact;
pub(crate) mod dialog;
pub(crate) mod digest;
pub(crate) mod notify;
pub(crate) mod out_of_dialog;
pub(crate) mod redirect;

pub(crate) use dialog::DialogState;
