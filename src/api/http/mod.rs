//! The HTTP interface (HttpPort): request parsing, authentication, pages, connections.

pub mod auth;
mod calls_api;
mod metrics;
mod pages;
pub mod request;
mod response;
pub(crate) mod server;
