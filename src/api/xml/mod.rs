//! The XML socket interface (XmlRpcPort): framing, request parsing, the original's echo
//! response format, and the connection threads.

mod framing;
mod request;
mod response;
pub(crate) mod server;
