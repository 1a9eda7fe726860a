//! The SIP stack: the message layer (`msg`, `sdp`, `sipfrag`) and the reactor thread's
//! parts (transports, DNS, transactions).

pub mod dns;
pub mod msg;
pub(crate) mod reactor;
pub mod sdp;
pub mod sipfrag;
pub(crate) mod transaction;
pub mod transport;
mod transport_kind;

pub use transport_kind::Transport;
