//! Stream framer: never panics, never claims more bytes than it has, and its answer on a
//! prefix is consistent with its answer on the whole buffer.
#![no_main]

use clicktocall::sip::msg::{Frame, Message, frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole = frame(data, 65536);
    if let Ok(Frame::Complete(n) | Frame::Ping(n) | Frame::Pong(n)) = whole {
        assert!(n <= data.len() && n > 0);
        if let Ok(Frame::Complete(n)) = whole {
            let _ = Message::parse(&data[..n]);
        }
    }
    // A prefix never completes with a different length than the whole.
    for cut in [data.len() / 3, data.len() / 2, data.len().saturating_sub(1)] {
        if let Ok(Frame::Complete(k)) = frame(&data[..cut], 65536) {
            assert_eq!(whole, Ok(Frame::Complete(k)));
        }
    }
});
