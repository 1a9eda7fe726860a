//! The XML socket interface (XmlRpcPort): framing, request parsing, the original's echo
//! response format, and the connection threads.

pub mod control;
pub mod framing;
pub mod request;
pub mod response;
pub(crate) mod server;
