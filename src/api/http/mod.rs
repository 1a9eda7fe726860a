//! The HTTP interface (HttpPort): request parsing, authentication, pages, connections.

mod auth;
mod pages;
mod request;
mod response;
pub(crate) mod server;
