//! The XML socket interface (XmlRpcPort): framing, request parsing, the original's echo
//! response format, and the connection threads.

pub(crate) mod control;
pub(crate) mod framing;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod server;
