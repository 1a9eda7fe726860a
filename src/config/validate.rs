//! Turning `Name = value` entries (file first, then command line) into a typed [`Config`],
//! refusing bad values with their origin instead of ignoring them as the original did.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use super::error::{Invalid, Origin, Problem, Warning};
use super::file::Entry;
use super::keys::Key;
use super::{AUTO_PORT, CdrFormat, Config, Loaded, LogLevel};
use crate::access::AccessList;
use crate::c2c::command::AutoAnswer;
use crate::c2c::identity;
use crate::translate::{self, PatternList, Translator};

/// Port DNS servers listen on when the entry names none (RFC 1035 §4.2).
const DNS_PORT: u16 = 53;

/// Builds the configuration from the file's entries and the command line's, which win.
pub(super) fn build(
    source: Option<PathBuf>,
    file: Vec<Entry>,
    cli: Vec<Entry>,
    mut warnings: Vec<Warning>,
) -> Result<Loaded, (Vec<Problem>, Vec<Warning>)> {
    let mut problems = Vec::new();
    let mut single: HashMap<Key, Entry> = HashMap::new();
    let mut rules_file = Vec::new();
    let mut rules_cli = Vec::new();
    // DestinationAllow & co.: every line adds a pattern, file and command line alike.
    let mut lists: HashMap<Key, Vec<Entry>> = HashMap::new();
    let mut file_secrets: Vec<&'static str> = Vec::new();

    for (entries, rules, from_cli) in [(file, &mut rules_file, false), (cli, &mut rules_cli, true)]
    {
        let mut seen_here: HashMap<Key, Origin> = HashMap::new();
        let mut pending: Option<Entry> = None;
        for entry in entries {
            let Some(key) = Key::from_name(&entry.name) else {
                warnings.push(Warning::UnknownKey {
                    origin: entry.origin,
                    key: entry.name,
                });
                continue;
            };
            if !from_cli
                && key.is_secret()
                && !entry.value.is_empty()
                && !file_secrets.contains(&key.name())
            {
                file_secrets.push(key.name());
            }
            match key {
                _ if key.is_pattern_list() => {
                    if !entry.value.is_empty() {
                        lists.entry(key).or_default().push(entry);
                    }
                }
                Key::TranslationPattern => {
                    if let Some(orphan) = pending.replace(entry) {
                        problems.push(problem(key, orphan, Invalid::PatternWithoutOutput));
                    }
                }
                Key::TranslationOutput => match pending.take() {
                    Some(pattern) => rules.push((pattern, entry)),
                    None => problems.push(problem(key, entry, Invalid::OutputWithoutPattern)),
                },
                _ => {
                    // The same key twice in one source: the later one wins, as in the
                    // original, but say so. A command-line value replacing a file value
                    // is the point of the command line and needs no warning.
                    if let Some(first) = seen_here.insert(key, entry.origin.clone())
                        && !from_cli
                    {
                        warnings.push(Warning::Repeated {
                            origin: entry.origin.clone(),
                            key: key.name(),
                            first,
                        });
                    }
                    single.insert(key, entry);
                }
            }
        }
        if let Some(orphan) = pending {
            problems.push(problem(
                Key::TranslationPattern,
                orphan,
                Invalid::PatternWithoutOutput,
            ));
        }
    }

    let mut config = Config {
        source,
        file_secrets,
        ..Config::default()
    };
    let mut tls_files: [Option<Entry>; 2] = [None, None];
    let mut identity_given = false;
    // Keys in a fixed order so problems come out in a stable order.
    let mut given: Vec<(Key, Entry)> = single.into_iter().collect();
    given.sort_by_key(|(key, _)| *key);
    for (key, entry) in given {
        // An empty value leaves the default: the legacy files carry `Key =` lines.
        if entry.value.is_empty() {
            continue;
        }
        if key == Key::ClickToCallIdentity {
            identity_given = true;
        }
        if key == Key::HttpsCertificate {
            tls_files[0] = Some(entry.clone());
        } else if key == Key::HttpsKey {
            tls_files[1] = Some(entry.clone());
        }
        if let Err(reason) = apply(&mut config, key, &entry.value) {
            problems.push(problem(key, entry, reason));
        }
    }
    match tls_files {
        [Some(cert), None] => problems.push(problem(
            Key::HttpsCertificate,
            cert,
            Invalid::Needs("HttpsKey"),
        )),
        [None, Some(key)] => problems.push(problem(
            Key::HttpsKey,
            key,
            Invalid::Needs("HttpsCertificate"),
        )),
        _ => {}
    }
    let mut list_keys: Vec<Key> = lists.keys().copied().collect();
    list_keys.sort();
    for key in list_keys {
        let entries = lists.remove(&key).unwrap_or_default();
        let mut ok = true;
        for entry in &entries {
            if let Err(message) = translate::check_pattern(&entry.value) {
                ok = false;
                problems.push(problem(key, entry.clone(), Invalid::BadPattern(message)));
            }
        }
        if !ok {
            continue;
        }
        match PatternList::new(entries.iter().map(|e| e.value.clone())) {
            Ok(list) => {
                let list = Arc::new(list);
                match key {
                    Key::DestinationAllow => config.destination_allow = list,
                    Key::DestinationDeny => config.destination_deny = list,
                    Key::InitiatorAllow => config.initiator_allow = list,
                    _ => config.initiator_deny = list,
                }
            }
            Err(e) => {
                if let Some(entry) = entries.get(e.index) {
                    problems.push(problem(key, entry.clone(), Invalid::BadPattern(e.message)));
                }
            }
        }
    }
    if !identity_given {
        config.click_to_call_identity = default_identity(config.ip_address, &super::hostname());
    }

    // Command-line rules first: the first matching rule wins, and the command line beats
    // the file.
    let pairs: Vec<(Entry, Entry)> = rules_cli.into_iter().chain(rules_file).collect();
    let mut pattern_ok = true;
    for (pattern, _) in &pairs {
        if let Err(message) = translate::check_pattern(&pattern.value) {
            pattern_ok = false;
            problems.push(problem(
                Key::TranslationPattern,
                pattern.clone(),
                Invalid::BadPattern(message),
            ));
        }
    }
    if pattern_ok {
        let texts = pairs
            .iter()
            .map(|(p, o)| (p.value.clone(), o.value.clone()));
        match Translator::new(texts) {
            Ok(translator) => {
                for (index, groups) in translator.missing_groups() {
                    if let Some((_, output)) = pairs.get(index) {
                        for group in groups {
                            warnings.push(Warning::MissingGroup {
                                origin: output.origin.clone(),
                                group,
                            });
                        }
                    }
                }
                config.translator = Arc::new(translator);
            }
            // check_pattern accepted each one, so this is not expected; still report it.
            Err(e) => {
                if let Some((pattern, _)) = pairs.get(e.index) {
                    problems.push(problem(
                        Key::TranslationPattern,
                        pattern.clone(),
                        Invalid::BadPattern(e.message),
                    ));
                }
            }
        }
    }

    if !problems.is_empty() {
        // File lines in order, then the command line in its order.
        problems.sort_by_key(|p| match &p.origin {
            Origin::File { line, .. } => (0, *line),
            Origin::CommandLine { .. } => (1, 0),
        });
        return Err((problems, warnings));
    }
    if config.http_auth && config.http_port.is_some() {
        // The built-in default and the shipped configuration's value are both public.
        if let Some(password) = WELL_KNOWN_PASSWORDS
            .into_iter()
            .find(|p| *p == config.http_auth_pwd)
        {
            warnings.push(Warning::DefaultPassword { password });
        }
    }
    Ok(Loaded { config, warnings })
}

/// OfferCodecs: encoding names separated by commas or blanks, in the order offered; a
/// name given twice is offered once.
fn parse_codecs(value: &str) -> Result<Vec<crate::sip::sdp::Codec>, Invalid> {
    let mut codecs = Vec::new();
    for item in value.split([',', ' ', '\t']).filter(|i| !i.is_empty()) {
        let codec = crate::sip::sdp::Codec::from_name(item)
            .ok_or_else(|| Invalid::NotACodec(item.into()))?;
        if !codecs.contains(&codec) {
            codecs.push(codec);
        }
    }
    if codecs.is_empty() {
        return Err(Invalid::Empty);
    }
    Ok(codecs)
}

/// Passwords anyone can look up: the original's default and `conf/clicktocall.config`'s.
const WELL_KNOWN_PASSWORDS: [&str; 2] = ["admin", "change-me"];

fn problem(key: Key, entry: Entry, reason: Invalid) -> Problem {
    Problem {
        origin: entry.origin,
        key: key.name(),
        // A secret is not repeated in an error message either.
        value: if key.is_secret() {
            "********".to_owned()
        } else {
            entry.value
        },
        reason,
    }
}

/// Parses `value` for `key` into `config`.
fn apply(config: &mut Config, key: Key, value: &str) -> Result<(), Invalid> {
    match key {
        Key::IpAddress => config.ip_address = Some(parse_ip(value).ok_or(Invalid::NotAnIpAddress)?),
        Key::ExternalAddress => {
            let ip = parse_ip(value).ok_or(Invalid::NotAnIpAddress)?;
            if ip.is_unspecified() {
                // Peers cannot send to 0.0.0.0 or ::.
                return Err(Invalid::NotAnIpAddress);
            }
            config.external_address = Some(ip)
        }
        Key::DnsServers => config.dns_servers = parse_dns_servers(value)?,
        Key::ClickToCallIdentity => config.click_to_call_identity = parse_sip_uri(value)?,
        Key::UdpTcpPort => {
            config.udp_tcp_port = if is_auto(value) {
                AUTO_PORT
            } else {
                parse_port(value, 1)?
            }
        }
        Key::TlsPort => config.tls_port = optional_port(value)?,
        Key::TlsDomainName => config.tls_domain_name = value.to_owned(),
        Key::KeepAlives => config.keep_alives = parse_bool(value)?,
        Key::OutboundProxy => config.outbound_proxy = Some(parse_sip_uri(value)?),
        Key::OutboundProxyAll => config.outbound_proxy_all = parse_bool(value)?,
        Key::FixNatContact => config.fix_nat_contact = parse_bool(value)?,
        Key::TelUriDomain => {
            // The hostport of the SIP URIs we make of tel: URIs (RFC 3261 §19.1.6).
            let as_uri = crate::sip::msg::Uri::parse(&format!("sip:{value}"));
            if !as_uri
                .is_ok_and(|u| u.user.is_none() && u.params.is_empty() && u.headers.is_empty())
            {
                return Err(Invalid::NotAHost);
            }
            config.tel_uri_domain = Some(value.to_owned())
        }
        // The user and realm are written as they are in quoted-strings of our
        // Authorization (RFC 3261 §25.1): no quote, backslash or control character. The
        // password is only hashed.
        Key::SipAuthUser => config.sip_auth_user = parse_realm(value)?,
        Key::SipAuthPassword => config.sip_auth_password = parse_text(value)?,
        Key::SipAuthRealm => config.sip_auth_realm = parse_realm(value)?,
        Key::MaxRedirects => {
            config.max_redirects = u8::try_from(parse_number(value, 0, 20)?)
                .map_err(|_| Invalid::OutOfRange { min: 0, max: 20 })?
        }
        Key::CallMode => {
            config.call_mode =
                crate::c2c::command::CallMode::parse(value).ok_or(Invalid::NotACallMode)?
        }
        Key::OfferCodecs => config.offer_codecs = parse_codecs(value)?,
        Key::LogLevel => {
            config.log_level = LogLevel::from_str(value).map_err(|_| Invalid::NotALogLevel)?
        }
        Key::LogFilename => config.log_filename = PathBuf::from(value),
        Key::LogFileMaxLines => config.log_file_max_lines = parse_number(value, 0, u64::MAX)?,
        Key::CdrFilename => config.cdr_filename = Some(PathBuf::from(value)),
        Key::CdrFormat => {
            config.cdr_format = match value.to_ascii_lowercase().as_str() {
                "json" => CdrFormat::Json,
                "csv" => CdrFormat::Csv,
                _ => return Err(Invalid::NotACdrFormat),
            }
        }
        Key::CdrFileMaxLines => config.cdr_file_max_lines = parse_number(value, 0, u64::MAX)?,
        Key::CdrMaskDigits => {
            config.cdr_mask_digits = usize::try_from(parse_number(value, 0, 32)?)
                .map_err(|_| Invalid::OutOfRange { min: 0, max: 32 })?
        }
        Key::XmlRpcPort => config.xml_rpc_port = optional_port(value)?,
        Key::HttpPort => config.http_port = optional_port(value)?,
        Key::HttpAuth => config.http_auth = parse_bool(value)?,
        Key::HttpAuthPwd => config.http_auth_pwd = value.to_owned(),
        Key::RingTimeout => {
            config.ring_timeout = Duration::from_secs(parse_number(value, 1, 86_400)?)
        }
        Key::HttpMaxConnections => config.http_max_connections = parse_count(value)?,
        Key::HttpAuthRealm => config.http_auth_realm = parse_realm(value)?,
        Key::ApiIpAddress => {
            config.api_ip_address = Some(parse_ip(value).ok_or(Invalid::NotAnIpAddress)?)
        }
        Key::XmlRpcMaxConnections => config.xml_rpc_max_connections = parse_count(value)?,
        Key::HttpMaxConnectionsPerPeer => {
            config.http_max_connections_per_peer = parse_count(value)?
        }
        Key::XmlMaxConnectionsPerPeer => config.xml_max_connections_per_peer = parse_count(value)?,
        Key::HttpRequestTimeout => {
            config.http_request_timeout = Duration::from_secs(parse_number(value, 1, 300)?)
        }
        Key::HttpAllow => config.http_allow = parse_access_list(value)?,
        Key::XmlAllow => config.xml_allow = parse_access_list(value)?,
        Key::SipAllow => config.sip_allow = parse_access_list(value)?,
        Key::HttpsPort => config.https_port = optional_port(value)?,
        Key::XmlTlsPort => config.xml_tls_port = optional_port(value)?,
        Key::HttpsCertificate => config.https_certificate = Some(PathBuf::from(value)),
        Key::HttpsKey => config.https_key = Some(PathBuf::from(value)),
        Key::XmlAuthToken => config.xml_auth_token = Some(parse_token(value)?),
        Key::MetricsAuth => config.metrics_auth = parse_bool(value)?,
        Key::InstanceName => config.instance_name = Some(parse_instance_name(value)?),
        Key::MaxConcurrentCalls => {
            config.max_concurrent_calls = usize::try_from(parse_number(value, 0, 1_000_000)?)
                .map_err(|_| Invalid::OutOfRange {
                    min: 0,
                    max: 1_000_000,
                })?
        }
        Key::MaxCallsPerSecond => config.max_calls_per_second = parse_rate(value)?,
        Key::MaxCallsPerSecondPerClient => {
            config.max_calls_per_second_per_client = parse_rate(value)?
        }
        Key::SipTransactionMemory => {
            config.sip_transaction_memory_mb = usize::try_from(parse_number(value, 16, 65_536)?)
                .map_err(|_| Invalid::OutOfRange {
                    min: 16,
                    max: 65_536,
                })?
        }
        // Caller identity (`c2c::identity` reads them again at start-up): checked here
        // with the same parsers, so a bad one is a file:line error.
        Key::InitiatorFromDisplayName => {
            identity::parse_display_name(value).map_err(bad_identity)?;
            config.initiator_from_display_name = value.to_owned()
        }
        Key::DestinationFromDisplayName => {
            identity::parse_display_name(value).map_err(bad_identity)?;
            config.destination_from_display_name = value.to_owned()
        }
        Key::InitiatorFrom => {
            identity::parse_from(value).map_err(bad_identity)?;
            config.initiator_from = value.to_owned()
        }
        Key::DestinationFrom => {
            identity::parse_from(value).map_err(bad_identity)?;
            config.destination_from = value.to_owned()
        }
        Key::InitiatorPAssertedIdentity => {
            identity::parse_asserted(value).map_err(bad_identity)?;
            config.initiator_p_asserted_identity = value.to_owned()
        }
        Key::DestinationPAssertedIdentity => {
            identity::parse_asserted(value).map_err(bad_identity)?;
            config.destination_p_asserted_identity = value.to_owned()
        }
        Key::InitiatorPrivacyId => config.initiator_privacy_id = parse_bool(value)?,
        Key::DestinationPrivacyId => config.destination_privacy_id = parse_bool(value)?,
        Key::InitiatorAutoAnswer => {
            let mode = AutoAnswer::parse(value).ok_or_else(|| {
                Invalid::BadIdentity(
                    "not one of none, call-info, alert-info, answer-mode".to_owned(),
                )
            })?;
            config.initiator_auto_answer = mode.as_str().to_owned()
        }
        Key::InitiatorExtraHeader => {
            let h = identity::ExtraHeader::parse(value).map_err(bad_identity)?;
            config.initiator_extra_header = format!("{}: {}", h.name, h.value)
        }
        // Handled as pairs or lists by the caller.
        Key::TranslationPattern
        | Key::TranslationOutput
        | Key::DestinationAllow
        | Key::DestinationDeny
        | Key::InitiatorAllow
        | Key::InitiatorDeny => {}
    }
    Ok(())
}

fn bad_identity(e: identity::BadValue) -> Invalid {
    Invalid::BadIdentity(e.0)
}

/// `auto` (any case): bind any free port at start-up. Not `0`, which keeps its legacy
/// meaning ("disabled") for TLSPort, XmlRpcPort and HttpPort.
fn is_auto(value: &str) -> bool {
    value.eq_ignore_ascii_case("auto")
}

/// TLSPort, XmlRpcPort, HttpPort: `0` = disabled (`None`), `auto` = any free port
/// (`Some(AUTO_PORT)`), else the port.
fn optional_port(value: &str) -> Result<Option<u16>, Invalid> {
    if is_auto(value) {
        return Ok(Some(AUTO_PORT));
    }
    let port = parse_port(value, 0)?;
    Ok((port != 0).then_some(port))
}

fn parse_access_list(value: &str) -> Result<AccessList, Invalid> {
    AccessList::parse(value).map_err(|e| Invalid::BadAccessList(e.to_string()))
}

/// Calls a second: 0 (no limit) to 100000.
fn parse_rate(value: &str) -> Result<u32, Invalid> {
    let n = parse_number(value, 0, 100_000)?;
    u32::try_from(n).map_err(|_| Invalid::OutOfRange {
        min: 0,
        max: 100_000,
    })
}

/// A token is compared byte for byte: no control characters (a stray CR from a DOS file
/// would make every request fail), and at least 16 characters so it is not guessable.
fn parse_token(value: &str) -> Result<String, Invalid> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(Invalid::ForbiddenCharacter(c));
    }
    if value.chars().count() < 16 {
        return Err(Invalid::TooShort(16));
    }
    Ok(value.to_owned())
}

/// Any text without control characters.
fn parse_text(value: &str) -> Result<String, Invalid> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(Invalid::ForbiddenCharacter(c));
    }
    Ok(value.to_owned())
}

/// An `InstanceName`: it starts every call id, which travels in URL paths, HTTP fields
/// and XML, so only letters, digits, `.`, `_` and `-`, 32 at most.
fn parse_instance_name(value: &str) -> Result<String, Invalid> {
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(Invalid::ForbiddenCharacter(c));
    }
    if value.len() > 32 {
        return Err(Invalid::TooLong(32));
    }
    Ok(value.to_owned())
}

/// A decimal number in `min..=max`.
fn parse_number(value: &str, min: u64, max: u64) -> Result<u64, Invalid> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::NotANumber);
    }
    // All digits: the only parse failure left is overflow, which is out of range.
    let n = value
        .parse::<u64>()
        .map_err(|_| Invalid::OutOfRange { min, max })?;
    if n < min || n > max {
        return Err(Invalid::OutOfRange { min, max });
    }
    Ok(n)
}

fn parse_port(value: &str, min: u16) -> Result<u16, Invalid> {
    let n = parse_number(value, u64::from(min), u64::from(u16::MAX))?;
    u16::try_from(n).map_err(|_| Invalid::OutOfRange {
        min: min.into(),
        max: u16::MAX.into(),
    })
}

/// A connection limit: at least 1, at most what a thread-per-connection server can hold.
fn parse_count(value: &str) -> Result<usize, Invalid> {
    let n = parse_number(value, 1, 65_535)?;
    usize::try_from(n).map_err(|_| Invalid::OutOfRange {
        min: 1,
        max: 65_535,
    })
}

/// `1|true|on|enable` and `0|false|off|disable`, any case.
pub(super) fn parse_bool(value: &str) -> Result<bool, Invalid> {
    const TRUE: [&str; 4] = ["1", "true", "on", "enable"];
    const FALSE: [&str; 4] = ["0", "false", "off", "disable"];
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(value)) {
        Ok(true)
    } else if FALSE.iter().any(|f| f.eq_ignore_ascii_case(value)) {
        Ok(false)
    } else {
        Err(Invalid::NotABoolean)
    }
}

/// An IPv4 or IPv6 address; IPv6 may be written in brackets.
fn parse_ip(value: &str) -> Option<IpAddr> {
    let bare = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(value);
    IpAddr::from_str(bare).ok()
}

/// A comma-separated list of `ip`, `ip:port` or `[v6]:port`; blank items are skipped.
fn parse_dns_servers(value: &str) -> Result<Vec<SocketAddr>, Invalid> {
    let mut servers = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let addr = match SocketAddr::from_str(item) {
            Ok(addr) => addr,
            Err(_) => SocketAddr::new(
                parse_ip(item).ok_or_else(|| Invalid::NotADnsServer(item.to_owned()))?,
                DNS_PORT,
            ),
        };
        if addr.port() == 0 {
            return Err(Invalid::NotADnsServer(item.to_owned()));
        }
        servers.push(addr);
    }
    Ok(servers)
}

/// A SIP URI; like the original, a value that is not one is tried again with `sip:` in
/// front (so `click2call@example.com` is accepted as `sip:click2call@example.com`).
fn parse_sip_uri(value: &str) -> Result<String, Invalid> {
    if is_sip_uri(value) {
        return Ok(value.to_owned());
    }
    let prefixed = format!("sip:{value}");
    if is_sip_uri(&prefixed) {
        Ok(prefixed)
    } else {
        Err(Invalid::NotASipUri)
    }
}

/// Shape check of a SIP URI (RFC 3261 §19.1.1: `sip:`/`sips:` scheme, optional
/// `user[:password]@`, host, optional port, then `;params` and `?headers`).
///
/// Deliberately small and self-contained: the configuration is validated before the SIP
/// message layer is involved. This is the one place to swap for the full URI parser of
/// `sip::msg` once that exists.
pub fn is_sip_uri(value: &str) -> bool {
    let rest = match value.split_once(':') {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") =>
        {
            rest
        }
        _ => return false,
    };
    if rest.is_empty()
        || rest
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
    {
        return false;
    }
    let before_headers = rest.split('?').next().unwrap_or(rest);
    // The user part may itself contain ';' (telephone-subscriber), so the host starts
    // after the last '@'.
    let host_and_params = match before_headers.rsplit_once('@') {
        Some((user, host)) => {
            if user.is_empty() || user.starts_with(':') {
                return false;
            }
            host
        }
        None => before_headers,
    };
    let hostport = host_and_params.split(';').next().unwrap_or(host_and_params);
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return false;
        };
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after.strip_prefix(':') {
            Some(port) => (addr, Some(port)),
            None if after.is_empty() => (addr, None),
            None => return false,
        }
    } else {
        match hostport.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    let host_ok = !host.is_empty()
        && (hostport.starts_with('[')
            || host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')));
    let port_ok = port.is_none_or(|p| parse_port(p, 1).is_ok());
    host_ok && port_ok
}

/// The digest realm goes inside a quoted string (RFC 7616 §3.3): keep it printable and
/// free of quotes and backslashes.
fn parse_realm(value: &str) -> Result<String, Invalid> {
    if let Some(c) = value
        .chars()
        .find(|c| matches!(c, '"' | '\\') || c.is_control())
    {
        return Err(Invalid::ForbiddenCharacter(c));
    }
    Ok(value.to_owned())
}

/// `sip:click2call@<address>` where the address is IPAddress when one is set, else the
/// host name.
fn default_identity(ip: Option<IpAddr>, hostname: &str) -> String {
    match ip {
        Some(IpAddr::V4(v4)) if !v4.is_unspecified() => format!("sip:click2call@{v4}"),
        Some(IpAddr::V6(v6)) if !v6.is_unspecified() => format!("sip:click2call@[{v6}]"),
        _ => format!("sip:click2call@{hostname}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_in_every_spelling() {
        for t in ["1", "true", "TRUE", "On", "enable", "ENABLE"] {
            assert_eq!(parse_bool(t), Ok(true), "{t}");
        }
        for f in ["0", "false", "Off", "disable", "DISABLE"] {
            assert_eq!(parse_bool(f), Ok(false), "{f}");
        }
        for bad in ["yes", "no", "2", "", "tru"] {
            assert_eq!(parse_bool(bad), Err(Invalid::NotABoolean), "{bad}");
        }
    }

    #[test]
    fn ports_and_ranges() {
        assert_eq!(parse_port("5072", 1), Ok(5072));
        assert_eq!(parse_port("0", 0), Ok(0));
        assert_eq!(
            parse_port("0", 1),
            Err(Invalid::OutOfRange { min: 1, max: 65535 })
        );
        assert_eq!(
            parse_port("65536", 0),
            Err(Invalid::OutOfRange { min: 0, max: 65535 })
        );
        assert_eq!(
            parse_port("99999999999999999999999", 0),
            Err(Invalid::OutOfRange { min: 0, max: 65535 })
        );
        for bad in ["abc", "-1", "+5", "50 72", "0x10"] {
            assert_eq!(parse_port(bad, 0), Err(Invalid::NotANumber), "{bad}");
        }
    }

    #[test]
    fn dns_servers_v4_v6_with_and_without_port() {
        let list = parse_dns_servers("8.8.8.8, 127.0.0.1:5353,::1,[2001:db8::1]:54,[::2],")
            .expect("valid");
        let text: Vec<String> = list.iter().map(|a| a.to_string()).collect();
        assert_eq!(
            text,
            [
                "8.8.8.8:53",
                "127.0.0.1:5353",
                "[::1]:53",
                "[2001:db8::1]:54",
                "[::2]:53"
            ]
        );
        assert_eq!(parse_dns_servers(""), Ok(Vec::new()));
        assert_eq!(
            parse_dns_servers("8.8.8.8,dns.example.com"),
            Err(Invalid::NotADnsServer("dns.example.com".into()))
        );
        assert_eq!(
            parse_dns_servers("1.2.3.4:0"),
            Err(Invalid::NotADnsServer("1.2.3.4:0".into()))
        );
        assert_eq!(
            parse_dns_servers("1.2.3.4:x"),
            Err(Invalid::NotADnsServer("1.2.3.4:x".into()))
        );
    }

    #[test]
    fn sip_uri_shapes() {
        for ok in [
            "sip:click2call@127.0.0.1",
            "sips:host.example.com",
            "SIP:alice@example.com:5060;transport=tcp",
            "sip:+1-905-555-1234;phone-context=x@gw.example.com;user=phone",
            "sip:bob@[2001:db8::1]:5061",
            "sip:[::1]",
            "sip:alice:secret@example.com",
            "sip:alice@example.com?subject=hi",
        ] {
            assert!(is_sip_uri(ok), "{ok} should be accepted");
        }
        for bad in [
            "",
            "sip:",
            "http://example.com",
            "sip:alice@",
            "sip:@example.com",
            "sip:alice @example.com",
            "<sip:alice@example.com>",
            "sip:alice@example.com>",
            "sip:alice@[::1",
            "sip:alice@[nothex]",
            "sip:alice@host:99999",
            "sip:alice@host:",
            "sip:a\"b@host",
            "tel:+15551234",
        ] {
            assert!(!is_sip_uri(bad), "{bad:?} should be refused");
        }
    }

    #[test]
    fn sip_uri_is_retried_with_sip_prefix_like_the_original() {
        assert_eq!(
            parse_sip_uri("c2c@example.com").as_deref(),
            Ok("sip:c2c@example.com")
        );
        assert_eq!(
            parse_sip_uri("sips:c2c@example.com").as_deref(),
            Ok("sips:c2c@example.com")
        );
        assert_eq!(parse_sip_uri("not a uri"), Err(Invalid::NotASipUri));
    }

    #[test]
    fn realm_rejects_quotes() {
        assert_eq!(
            parse_realm("click\"tocall"),
            Err(Invalid::ForbiddenCharacter('"'))
        );
        assert_eq!(
            parse_realm("clicktocall@example.com").as_deref(),
            Ok("clicktocall@example.com")
        );
    }

    #[test]
    fn default_identity_prefers_the_configured_address() {
        assert_eq!(
            default_identity(parse_ip("127.0.0.1"), "h"),
            "sip:click2call@127.0.0.1"
        );
        assert_eq!(
            default_identity(parse_ip("::1"), "h"),
            "sip:click2call@[::1]"
        );
        assert_eq!(
            default_identity(parse_ip("0.0.0.0"), "h"),
            "sip:click2call@h"
        );
        assert_eq!(
            default_identity(None, "host.example"),
            "sip:click2call@host.example"
        );
    }
}
