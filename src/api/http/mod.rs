//! The HTTP interface (HttpPort): request parsing, authentication, pages, connections.

pub(crate) mod auth;
mod calls_api;
mod metrics;
mod pages;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod server;
