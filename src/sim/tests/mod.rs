//! Protocol timing on the virtual clock: transaction timers in `timers`, call-level timers
//! (session refresh, ring time-out, Timer C) in `calls`. This module holds what both use.

mod auth;
mod calls;
mod loss;
mod redirect;
mod timers;

use std::time::Duration;

use crossbeam_channel::Receiver;

use crate::c2c::command::{Progress, Role};
use crate::sip::msg::Message;

const INITIATOR: &str = "127.0.0.1:5061";
const DESTINATION: &str = "127.0.0.1:5062";
const INITIATOR_URI: &str = "sip:100@127.0.0.1:5061";
const DESTINATION_URI: &str = "sip:200@127.0.0.1:5062";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The instants of `list`, in milliseconds since the start.
fn millis<'a, T: 'a>(list: impl IntoIterator<Item = &'a (Duration, T)>) -> Vec<u64> {
    list.into_iter()
        .map(|(at, _)| at.as_millis() as u64)
        .collect()
}

fn progress(rx: &Receiver<Progress>) -> Vec<(u16, Role)> {
    rx.try_iter().map(|p| (p.code, p.leg)).collect()
}

fn branch(m: &Message) -> String {
    m.top_via()
        .ok()
        .and_then(|v| v.branch().map(str::to_string))
        .expect("a branch")
}
