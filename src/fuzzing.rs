//! The front doors' parsers for the fuzz targets in fuzz/ (cargo-fuzz builds with
//! `--cfg fuzzing`); not part of the library otherwise. The SIP parsers are public API
//! (`sip::msg`, `sip::sdp`, `sip::sipfrag`) and need nothing here.

pub mod http {
    pub use crate::api::http::auth::{AuthOutcome, Authenticator, parse_auth_params};
    pub use crate::api::http::request::{
        HeadError, MAX_BODY, MAX_HEAD, find_head_end, leading_empty_lines, parse_head, parse_query,
        query_param,
    };
}

pub mod xml {
    pub use crate::api::xml::framing::{DocumentError, Framer, MAX_DOCUMENT};
    pub use crate::api::xml::request::{ClickToCallRequest, parse_request};
    pub use crate::api::xml::response::EchoTemplate;
}
