//! The SIP stack: message layer (`msg`, `sdp`), and the reactor thread's parts
//! (transports, DNS, transactions).
