//! The configuration keys and their spellings.

/// Every key the configuration file and the `-<key> value` command-line form accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    IpAddress,
    DnsServers,
    ClickToCallIdentity,
    UdpTcpPort,
    TlsPort,
    TlsDomainName,
    KeepAlives,
    OutboundProxy,
    LogLevel,
    LogFilename,
    LogFileMaxLines,
    XmlRpcPort,
    HttpPort,
    HttpAuth,
    HttpAuthPwd,
    TranslationPattern,
    TranslationOutput,
    RingTimeout,
    HttpMaxConnections,
    HttpAuthRealm,
    XmlRpcMaxConnections,
    ApiIpAddress,
    HttpMaxConnectionsPerPeer,
    XmlMaxConnectionsPerPeer,
    HttpRequestTimeout,
    HttpAllow,
    XmlAllow,
    HttpsPort,
    XmlTlsPort,
    HttpsCertificate,
    HttpsKey,
    XmlAuthToken,
    MaxConcurrentCalls,
    MaxCallsPerSecond,
    MaxCallsPerSecondPerClient,
    SipTransactionMemory,
    DestinationAllow,
    DestinationDeny,
    InitiatorAllow,
    InitiatorDeny,
    SipAllow,
    SipAuthUser,
    SipAuthPassword,
    SipAuthRealm,
    MaxRedirects,
    ExternalAddress,
    OutboundProxyAll,
    TelUriDomain,
    FixNatContact,
    InstanceName,
    MetricsAuth,
    CallMode,
    CdrFilename,
    CdrFormat,
    CdrFileMaxLines,
    CdrMaskDigits,
    InitiatorFromDisplayName,
    InitiatorFrom,
    InitiatorPAssertedIdentity,
    InitiatorPrivacyId,
    InitiatorAutoAnswer,
    InitiatorExtraHeader,
    DestinationFromDisplayName,
    DestinationFrom,
    DestinationPAssertedIdentity,
    DestinationPrivacyId,
    OfferCodecs,
}

impl Key {
    /// All keys, in the order settings are printed.
    pub const ALL: [Key; 67] = [
        Key::IpAddress,
        Key::ExternalAddress,
        Key::DnsServers,
        Key::ClickToCallIdentity,
        Key::UdpTcpPort,
        Key::TlsPort,
        Key::TlsDomainName,
        Key::KeepAlives,
        Key::OutboundProxy,
        Key::OutboundProxyAll,
        Key::FixNatContact,
        Key::SipAuthUser,
        Key::SipAuthPassword,
        Key::SipAuthRealm,
        Key::MaxRedirects,
        Key::InitiatorFromDisplayName,
        Key::InitiatorFrom,
        Key::InitiatorPAssertedIdentity,
        Key::InitiatorPrivacyId,
        Key::InitiatorAutoAnswer,
        Key::InitiatorExtraHeader,
        Key::DestinationFromDisplayName,
        Key::DestinationFrom,
        Key::DestinationPAssertedIdentity,
        Key::DestinationPrivacyId,
        Key::OfferCodecs,
        Key::LogLevel,
        Key::LogFilename,
        Key::LogFileMaxLines,
        Key::CdrFilename,
        Key::CdrFormat,
        Key::CdrFileMaxLines,
        Key::CdrMaskDigits,
        Key::ApiIpAddress,
        Key::XmlRpcPort,
        Key::XmlRpcMaxConnections,
        Key::HttpPort,
        Key::HttpAuth,
        Key::HttpAuthPwd,
        Key::HttpAuthRealm,
        Key::HttpMaxConnections,
        Key::HttpMaxConnectionsPerPeer,
        Key::MetricsAuth,
        Key::HttpRequestTimeout,
        Key::HttpAllow,
        Key::HttpsPort,
        Key::HttpsCertificate,
        Key::HttpsKey,
        Key::XmlMaxConnectionsPerPeer,
        Key::XmlAllow,
        Key::XmlTlsPort,
        Key::XmlAuthToken,
        Key::InstanceName,
        Key::MaxConcurrentCalls,
        Key::MaxCallsPerSecond,
        Key::MaxCallsPerSecondPerClient,
        Key::SipTransactionMemory,
        Key::DestinationAllow,
        Key::DestinationDeny,
        Key::InitiatorAllow,
        Key::InitiatorDeny,
        Key::RingTimeout,
        Key::CallMode,
        Key::SipAllow,
        Key::TranslationPattern,
        Key::TranslationOutput,
        Key::TelUriDomain,
    ];

    /// The documented spelling.
    pub fn name(self) -> &'static str {
        match self {
            Key::IpAddress => "IPAddress",
            Key::DnsServers => "DNSServers",
            Key::ClickToCallIdentity => "ClickToCallIdentity",
            Key::UdpTcpPort => "UDPTCPPort",
            Key::TlsPort => "TLSPort",
            Key::TlsDomainName => "TLSDomainName",
            Key::KeepAlives => "KeepAlives",
            Key::OutboundProxy => "OutboundProxy",
            Key::LogLevel => "LogLevel",
            Key::LogFilename => "LogFilename",
            Key::LogFileMaxLines => "LogFileMaxLines",
            Key::XmlRpcPort => "XmlRpcPort",
            Key::HttpPort => "HttpPort",
            Key::HttpAuth => "HttpAuth",
            Key::HttpAuthPwd => "HttpAuthPwd",
            Key::TranslationPattern => "TranslationPattern",
            Key::TranslationOutput => "TranslationOutput",
            Key::RingTimeout => "RingTimeout",
            Key::HttpMaxConnections => "HttpMaxConnections",
            Key::HttpAuthRealm => "HttpAuthRealm",
            Key::XmlRpcMaxConnections => "XmlRpcMaxConnections",
            Key::ApiIpAddress => "ApiIPAddress",
            Key::HttpMaxConnectionsPerPeer => "HttpMaxConnectionsPerPeer",
            Key::XmlMaxConnectionsPerPeer => "XmlMaxConnectionsPerPeer",
            Key::HttpRequestTimeout => "HttpRequestTimeout",
            Key::HttpAllow => "HttpAllow",
            Key::XmlAllow => "XmlAllow",
            Key::HttpsPort => "HttpsPort",
            Key::XmlTlsPort => "XmlTlsPort",
            Key::HttpsCertificate => "HttpsCertificate",
            Key::HttpsKey => "HttpsKey",
            Key::XmlAuthToken => "XmlAuthToken",
            Key::MaxConcurrentCalls => "MaxConcurrentCalls",
            Key::MaxCallsPerSecond => "MaxCallsPerSecond",
            Key::MaxCallsPerSecondPerClient => "MaxCallsPerSecondPerClient",
            Key::SipTransactionMemory => "SipTransactionMemory",
            Key::DestinationAllow => "DestinationAllow",
            Key::DestinationDeny => "DestinationDeny",
            Key::InitiatorAllow => "InitiatorAllow",
            Key::InitiatorDeny => "InitiatorDeny",
            Key::SipAllow => "SipAllow",
            Key::SipAuthUser => "SipAuthUser",
            Key::SipAuthPassword => "SipAuthPassword",
            Key::SipAuthRealm => "SipAuthRealm",
            Key::MaxRedirects => "MaxRedirects",
            Key::ExternalAddress => "ExternalAddress",
            Key::OutboundProxyAll => "OutboundProxyAll",
            Key::TelUriDomain => "TelUriDomain",
            Key::FixNatContact => "FixNatContact",
            Key::InstanceName => "InstanceName",
            Key::MetricsAuth => "MetricsAuth",
            Key::CallMode => "CallMode",
            Key::CdrFilename => "CdrFilename",
            Key::CdrFormat => "CdrFormat",
            Key::CdrFileMaxLines => "CdrFileMaxLines",
            Key::CdrMaskDigits => "CdrMaskDigits",
            Key::InitiatorFromDisplayName => "InitiatorFromDisplayName",
            Key::InitiatorFrom => "InitiatorFrom",
            Key::InitiatorPAssertedIdentity => "InitiatorPAssertedIdentity",
            Key::InitiatorPrivacyId => "InitiatorPrivacyId",
            Key::InitiatorAutoAnswer => "InitiatorAutoAnswer",
            Key::InitiatorExtraHeader => "InitiatorExtraHeader",
            Key::DestinationFromDisplayName => "DestinationFromDisplayName",
            Key::DestinationFrom => "DestinationFrom",
            Key::DestinationPAssertedIdentity => "DestinationPAssertedIdentity",
            Key::DestinationPrivacyId => "DestinationPrivacyId",
            Key::OfferCodecs => "OfferCodecs",
        }
    }

    /// Looks a key up by name, ignoring case. `TLSDomain` is the spelling the C++
    /// original actually reads (its documentation says `TLSDomainName`): both work.
    pub fn from_name(name: &str) -> Option<Key> {
        if name.eq_ignore_ascii_case("TLSDomain") {
            return Some(Key::TlsDomainName);
        }
        Key::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// Keys that may be given many times (the translation rules and the destination and
    /// initiator pattern lists); every other key keeps its last value.
    pub fn repeats(self) -> bool {
        matches!(self, Key::TranslationPattern | Key::TranslationOutput) || self.is_pattern_list()
    }

    /// The destination and initiator rules: each line adds one pattern.
    pub fn is_pattern_list(self) -> bool {
        matches!(
            self,
            Key::DestinationAllow | Key::DestinationDeny | Key::InitiatorAllow | Key::InitiatorDeny
        )
    }

    /// Keys whose value is a secret: never logged, masked by `--check-config`, and worth
    /// a warning when the file holding them is readable by others.
    pub fn is_secret(self) -> bool {
        matches!(
            self,
            Key::HttpAuthPwd | Key::XmlAuthToken | Key::SipAuthPassword
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_case_insensitively() {
        for key in Key::ALL {
            assert_eq!(Key::from_name(key.name()), Some(key));
            assert_eq!(Key::from_name(&key.name().to_ascii_lowercase()), Some(key));
            assert_eq!(Key::from_name(&key.name().to_ascii_uppercase()), Some(key));
        }
    }

    #[test]
    fn tls_domain_is_an_alias() {
        assert_eq!(Key::from_name("tlsdomain"), Some(Key::TlsDomainName));
        assert_eq!(Key::from_name("TLSDomainName"), Some(Key::TlsDomainName));
    }

    #[test]
    fn unknown_names_are_none() {
        assert_eq!(Key::from_name("HttpPorts"), None);
        assert_eq!(Key::from_name(""), None);
    }

    #[test]
    fn all_lists_each_key_once() {
        let mut keys = Key::ALL.to_vec();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), Key::ALL.len());
    }
}
