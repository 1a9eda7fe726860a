//! DNS messages (RFC 1035 §4): encoding one-question queries and decoding responses into
//! the few record types SIP needs (A, AAAA, CNAME, SOA, SRV, NAPTR). Every read is
//! bounds-checked; a hostile or broken datagram yields a [`WireError`], never a panic.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::name::{self, NameDecodeError, NameError};

const HEADER_LEN: usize = 12;
/// RFC 1035 §3.2.4: class IN.
const CLASS_IN: u16 = 1;
/// RFC 1035 §4.1.1 flag bits.
const FLAG_QR: u16 = 0x8000;
const FLAG_TC: u16 = 0x0200;
const FLAG_RD: u16 = 0x0100;

/// The record types the resolver asks for or follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    A,
    Cname,
    Soa,
    Aaaa,
    Srv,
    Naptr,
}

impl RecordType {
    pub fn code(self) -> u16 {
        match self {
            RecordType::A => 1,      // RFC 1035
            RecordType::Cname => 5,  // RFC 1035
            RecordType::Soa => 6,    // RFC 1035
            RecordType::Aaaa => 28,  // RFC 3596
            RecordType::Srv => 33,   // RFC 2782
            RecordType::Naptr => 35, // RFC 3403
        }
    }

    pub fn from_code(code: u16) -> Option<Self> {
        Some(match code {
            1 => RecordType::A,
            5 => RecordType::Cname,
            6 => RecordType::Soa,
            28 => RecordType::Aaaa,
            33 => RecordType::Srv,
            35 => RecordType::Naptr,
            _ => return None,
        })
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordType::A => "A",
            RecordType::Cname => "CNAME",
            RecordType::Soa => "SOA",
            RecordType::Aaaa => "AAAA",
            RecordType::Srv => "SRV",
            RecordType::Naptr => "NAPTR",
        })
    }
}

/// RFC 1035 §4.1.1 RCODE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rcode {
    NoError,
    FormatError,
    ServerFailure,
    NameError,
    NotImplemented,
    Refused,
    Other(u8),
}

impl Rcode {
    fn from_bits(bits: u8) -> Self {
        match bits {
            0 => Rcode::NoError,
            1 => Rcode::FormatError,
            2 => Rcode::ServerFailure,
            3 => Rcode::NameError,
            4 => Rcode::NotImplemented,
            5 => Rcode::Refused,
            other => Rcode::Other(other),
        }
    }
}

/// RFC 2782 SRV RDATA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// "" when the target is "." (service decidedly not available).
    pub target: String,
}

/// RFC 3403 §4.1 NAPTR RDATA. `flags` and `services` are lower-cased (they compare
/// case-insensitively); `regexp` is kept only to recognise that it is non-empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaptrRecord {
    pub order: u16,
    pub preference: u16,
    pub flags: String,
    pub services: String,
    pub regexp: Vec<u8>,
    pub replacement: String,
}

/// Decoded RDATA of the types we use; anything else is `Other` and skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(String),
    /// Only the fields negative caching needs (RFC 2308 §5).
    Soa {
        minimum: u32,
    },
    Srv(SrvRecord),
    Naptr(NaptrRecord),
    Other,
}

/// One resource record of class IN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub rtype: u16,
    pub ttl: u32,
    pub data: RData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
}

/// A decoded response. For a truncated one (TC set) only the header and question are
/// read: the rest may be cut anywhere and is re-fetched over TCP (RFC 1035 §4.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub id: u16,
    pub truncated: bool,
    pub rcode: Rcode,
    pub question: Question,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
}

/// Why a received message was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// Ended before a field that had to be there (byte offset).
    Truncated(usize),
    BadName(NameDecodeError),
    /// QR bit clear: a query, not a response.
    NotAResponse,
    /// Opcode other than QUERY.
    BadOpcode(u8),
    /// RFC 1035 §4.1.2: we ask exactly one question and expect it echoed.
    QuestionCount(u16),
    /// RDATA shorter or longer than its type needs (record type, offset).
    BadRdata(u16, usize),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated(at) => write!(f, "message truncated at byte {at}"),
            WireError::BadName(e) => write!(f, "bad name: {e:?}"),
            WireError::NotAResponse => f.write_str("not a response (QR clear)"),
            WireError::BadOpcode(op) => write!(f, "unexpected opcode {op}"),
            WireError::QuestionCount(n) => write!(f, "{n} questions instead of 1"),
            WireError::BadRdata(t, at) => write!(f, "bad RDATA for type {t} at byte {at}"),
        }
    }
}

impl std::error::Error for WireError {}

impl From<NameDecodeError> for WireError {
    fn from(e: NameDecodeError) -> Self {
        WireError::BadName(e)
    }
}

/// Builds a standard query with recursion desired (RFC 1035 §4.1.1) for `name`/`qtype`.
pub fn encode_query(id: u16, qname: &str, qtype: RecordType) -> Result<Vec<u8>, NameError> {
    let mut out = Vec::with_capacity(HEADER_LEN + qname.len() + 6);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&FLAG_RD.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    out.extend_from_slice(&[0; 6]); // ANCOUNT, NSCOUNT, ARCOUNT
    name::encode_name(qname, &mut out)?;
    out.extend_from_slice(&qtype.code().to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(out)
}

/// A bounds-checked reader over the whole message (names need the whole message for
/// compression pointers).
struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, WireError> {
        let b = *self
            .msg
            .get(self.pos)
            .ok_or(WireError::Truncated(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(WireError::Truncated(self.pos))?;
        let b = self
            .msg
            .get(self.pos..end)
            .ok_or(WireError::Truncated(self.pos))?;
        self.pos = end;
        Ok(b)
    }

    fn name(&mut self) -> Result<String, WireError> {
        let (n, after) = name::decode_name(self.msg, self.pos)?;
        self.pos = after;
        Ok(n)
    }

    /// RFC 1035 §3.3 <character-string>: a length byte and that many bytes.
    fn char_string(&mut self) -> Result<&'a [u8], WireError> {
        let len = self.u8()?;
        self.bytes(usize::from(len))
    }
}

/// Decodes a response. Records of classes other than IN and of unknown types are kept
/// as `RData::Other`; the additional section is not read (we never trust glue we did not
/// ask for, and it saves work).
pub fn decode_response(msg: &[u8]) -> Result<Response, WireError> {
    let mut r = Reader { msg, pos: 0 };
    let id = r.u16()?;
    let flags = r.u16()?;
    let qdcount = r.u16()?;
    let ancount = r.u16()?;
    let nscount = r.u16()?;
    let _arcount = r.u16()?;
    if flags & FLAG_QR == 0 {
        return Err(WireError::NotAResponse);
    }
    let opcode = ((flags >> 11) & 0x0F) as u8;
    if opcode != 0 {
        return Err(WireError::BadOpcode(opcode));
    }
    if qdcount != 1 {
        return Err(WireError::QuestionCount(qdcount));
    }
    let question = Question {
        name: r.name()?,
        qtype: r.u16()?,
        qclass: r.u16()?,
    };
    let truncated = flags & FLAG_TC != 0;
    let rcode = Rcode::from_bits((flags & 0x000F) as u8);
    let mut answers = Vec::new();
    let mut authority = Vec::new();
    if !truncated {
        for _ in 0..ancount {
            answers.push(read_record(&mut r)?);
        }
        for _ in 0..nscount {
            authority.push(read_record(&mut r)?);
        }
    }
    Ok(Response {
        id,
        truncated,
        rcode,
        question,
        answers,
        authority,
    })
}

fn read_record(r: &mut Reader<'_>) -> Result<Record, WireError> {
    let name = r.name()?;
    let rtype = r.u16()?;
    let class = r.u16()?;
    // RFC 2181 §8: a TTL with the top bit set is treated as zero.
    let raw_ttl = r.u32()?;
    let ttl = if raw_ttl & 0x8000_0000 != 0 {
        0
    } else {
        raw_ttl
    };
    let rdlength = usize::from(r.u16()?);
    let rdata_start = r.pos;
    let rdata_end = rdata_start
        .checked_add(rdlength)
        .filter(|end| *end <= r.msg.len())
        .ok_or(WireError::Truncated(rdata_start))?;
    let data = if class == CLASS_IN {
        read_rdata(r, rtype, rdata_end)?
    } else {
        RData::Other
    };
    // Whatever the type consumed, the next record starts after RDLENGTH bytes.
    r.pos = rdata_end;
    Ok(Record {
        name,
        rtype,
        ttl,
        data,
    })
}

fn read_rdata(r: &mut Reader<'_>, rtype: u16, end: usize) -> Result<RData, WireError> {
    let start = r.pos;
    let bad = WireError::BadRdata(rtype, start);
    let len = end - start;
    let data = match RecordType::from_code(rtype) {
        Some(RecordType::A) => {
            let b: [u8; 4] = r.bytes(len)?.try_into().map_err(|_| bad.clone())?;
            RData::A(Ipv4Addr::from(b))
        }
        Some(RecordType::Aaaa) => {
            let b: [u8; 16] = r.bytes(len)?.try_into().map_err(|_| bad.clone())?;
            RData::Aaaa(Ipv6Addr::from(b))
        }
        Some(RecordType::Cname) => RData::Cname(r.name()?),
        Some(RecordType::Soa) => {
            let _mname = r.name()?;
            let _rname = r.name()?;
            r.bytes(16)?; // SERIAL, REFRESH, RETRY, EXPIRE
            RData::Soa { minimum: r.u32()? }
        }
        Some(RecordType::Srv) => RData::Srv(SrvRecord {
            priority: r.u16()?,
            weight: r.u16()?,
            port: r.u16()?,
            // RFC 2782 forbids compressing the target, but RFC 3597 §4 asks receivers
            // to accept it anyway.
            target: r.name()?,
        }),
        Some(RecordType::Naptr) => {
            let order = r.u16()?;
            let preference = r.u16()?;
            let flags = String::from_utf8_lossy(r.char_string()?).to_ascii_lowercase();
            let services = String::from_utf8_lossy(r.char_string()?).to_ascii_lowercase();
            let regexp = r.char_string()?.to_vec();
            RData::Naptr(NaptrRecord {
                order,
                preference,
                flags,
                services,
                regexp,
                replacement: r.name()?,
            })
        }
        None => RData::Other,
    };
    // A record whose fields ran past its own RDLENGTH is malformed, even if the bytes
    // happened to be in the message.
    if r.pos > end {
        return Err(bad);
    }
    Ok(data)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Test helper: builds a response with the given answers, each as
    /// (owner, type, ttl, rdata bytes), names uncompressed except where the rdata says.
    pub(crate) fn response(
        id: u16,
        flags: u16,
        qname: &str,
        qtype: u16,
        answers: &[(&str, u16, u32, Vec<u8>)],
    ) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&(flags | FLAG_QR).to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m.extend_from_slice(&(answers.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        name::encode_name(qname, &mut m).unwrap();
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&CLASS_IN.to_be_bytes());
        for (owner, t, ttl, rdata) in answers {
            name::encode_name(owner, &mut m).unwrap();
            m.extend_from_slice(&t.to_be_bytes());
            m.extend_from_slice(&CLASS_IN.to_be_bytes());
            m.extend_from_slice(&ttl.to_be_bytes());
            m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            m.extend_from_slice(rdata);
        }
        m
    }

    pub(crate) fn srv_rdata(priority: u16, weight: u16, port: u16, target: &str) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&priority.to_be_bytes());
        v.extend_from_slice(&weight.to_be_bytes());
        v.extend_from_slice(&port.to_be_bytes());
        name::encode_name(target, &mut v).unwrap();
        v
    }

    #[test]
    fn query_has_rd_one_question_and_class_in() {
        let q = encode_query(0xBEEF, "Example.com", RecordType::Naptr).unwrap();
        let mut expected = vec![0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        expected.extend_from_slice(b"\x07example\x03com\x00\x00\x23\x00\x01");
        assert_eq!(q, expected);
        assert!(encode_query(1, "bad name", RecordType::A).is_err());
    }

    #[test]
    fn decodes_a_aaaa_srv_naptr_answers() {
        let mut naptr = vec![0, 10, 0, 50, 1, b'S', 7];
        naptr.extend_from_slice(b"SIP+D2U");
        naptr.push(0);
        name::encode_name("_sip._udp.ex.com", &mut naptr).unwrap();
        let msg = response(
            7,
            0x0180,
            "ex.com",
            35,
            &[
                ("ex.com", 35, 60, naptr),
                ("a.ex.com", 1, 30, vec![192, 0, 2, 1]),
                (
                    "a.ex.com",
                    28,
                    30,
                    [0x20, 1, 0x0d, 0xb8]
                        .iter()
                        .copied()
                        .chain([0; 11])
                        .chain([1])
                        .collect(),
                ),
                (
                    "_sip._udp.ex.com",
                    33,
                    0x8000_0001,
                    srv_rdata(1, 2, 5060, "a.ex.com"),
                ),
            ],
        );
        let r = decode_response(&msg).unwrap();
        assert_eq!(r.id, 7);
        assert_eq!(r.rcode, Rcode::NoError);
        assert!(!r.truncated);
        assert_eq!(r.question.name, "ex.com");
        assert_eq!(
            r.answers[0].data,
            RData::Naptr(NaptrRecord {
                order: 10,
                preference: 50,
                flags: "s".into(),
                services: "sip+d2u".into(),
                regexp: vec![],
                replacement: "_sip._udp.ex.com".into(),
            })
        );
        assert_eq!(r.answers[1].data, RData::A(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(
            r.answers[2].data,
            RData::Aaaa("2001:db8::1".parse().unwrap())
        );
        assert_eq!(r.answers[3].ttl, 0, "RFC 2181 §8: top bit set means 0");
        assert_eq!(
            r.answers[3].data,
            RData::Srv(SrvRecord {
                priority: 1,
                weight: 2,
                port: 5060,
                target: "a.ex.com".into()
            })
        );
    }

    #[test]
    fn follows_compression_inside_rdata() {
        // SRV target "a" + pointer to the question name at offset 12.
        let mut rdata = vec![0, 1, 0, 1, 0x13, 0xC4, 1, b'a', 0xC0, 12];
        let msg = response(
            9,
            0,
            "ex.com",
            33,
            &[("ex.com", 33, 5, std::mem::take(&mut rdata))],
        );
        let r = decode_response(&msg).unwrap();
        match &r.answers[0].data {
            RData::Srv(s) => assert_eq!(s.target, "a.ex.com"),
            other => panic!("not SRV: {other:?}"),
        }
    }

    #[test]
    fn every_truncation_of_a_valid_response_is_an_error_not_a_panic() {
        let msg = response(
            3,
            0,
            "ex.com",
            33,
            &[(
                "_sip._udp.ex.com",
                33,
                60,
                srv_rdata(1, 2, 5060, "a.ex.com"),
            )],
        );
        assert!(decode_response(&msg).is_ok());
        for cut in 0..msg.len() {
            assert!(decode_response(&msg[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn malformed_rdata_and_headers_are_rejected() {
        // A record with 5 bytes of RDATA.
        let msg = response(1, 0, "a", 1, &[("a", 1, 1, vec![1, 2, 3, 4, 5])]);
        assert!(matches!(
            decode_response(&msg),
            Err(WireError::BadRdata(1, _))
        ));
        // SRV whose target runs past RDLENGTH (rdata claims 7 bytes).
        let mut m = response(1, 0, "a", 33, &[("a", 33, 1, srv_rdata(0, 0, 1, "abc"))]);
        let rdlen_at = m.len() - 11 - 2;
        m[rdlen_at..rdlen_at + 2].copy_from_slice(&7u16.to_be_bytes());
        assert!(decode_response(&m).is_err());
        // A query, not a response.
        let q = encode_query(1, "a", RecordType::A).unwrap();
        assert_eq!(decode_response(&q), Err(WireError::NotAResponse));
        // Two questions.
        let mut two = response(1, 0, "a", 1, &[]);
        two[5] = 2;
        assert_eq!(decode_response(&two), Err(WireError::QuestionCount(2)));
        // Opcode 2 (STATUS).
        let mut op = response(1, 0x1000, "a", 1, &[]);
        op[2] |= 0x80;
        assert_eq!(decode_response(&op), Err(WireError::BadOpcode(2)));
    }

    #[test]
    fn truncated_flag_skips_the_cut_records() {
        let mut msg = response(
            5,
            FLAG_TC,
            "ex.com",
            33,
            &[("ex.com", 33, 60, srv_rdata(0, 0, 1, "x"))],
        );
        msg.truncate(msg.len() - 4);
        let r = decode_response(&msg).unwrap();
        assert!(r.truncated);
        assert!(r.answers.is_empty());
    }

    #[test]
    fn rcode_and_unknown_types() {
        let msg = response(5, 3, "ex.com", 1, &[("ex.com", 99, 60, vec![1, 2, 3])]);
        let r = decode_response(&msg).unwrap();
        assert_eq!(r.rcode, Rcode::NameError);
        assert_eq!(r.answers[0].data, RData::Other);
    }

    #[test]
    fn random_garbage_never_panics() {
        // A fixed xorshift stream: deterministic, no external RNG needed.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let base = response(
            3,
            0,
            "ex.com",
            33,
            &[(
                "_sip._udp.ex.com",
                33,
                60,
                srv_rdata(1, 2, 5060, "a.ex.com"),
            )],
        );
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut m = base.clone();
            let at = (x as usize) % m.len();
            m[at] = (x >> 32) as u8;
            let at2 = ((x >> 16) as usize) % m.len();
            m[at2] = (x >> 48) as u8;
            let _ = decode_response(&m);
            let _ = decode_response(&m[..at]);
        }
    }
}
