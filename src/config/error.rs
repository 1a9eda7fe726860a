//! What can go wrong while loading the configuration, and where it came from.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Where a setting came from, so every message can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A line of a configuration file (1-based).
    File { path: PathBuf, line: usize },
    /// A command-line option, as typed (e.g. `-sp`).
    CommandLine { arg: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
            Origin::CommandLine { arg } => write!(f, "command line {arg}"),
        }
    }
}

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// Not a number at all.
    NotANumber,
    /// A number outside the accepted range.
    OutOfRange {
        min: u64,
        max: u64,
    },
    NotABoolean,
    NotALogLevel,
    NotACallMode,
    /// CdrFormat other than `json` or `csv`.
    NotACdrFormat,
    NotAnIpAddress,
    /// Not a host name or address (with an optional port) that can be a SIP URI's.
    NotAHost,
    /// One item of the DNSServers list (given here) is not `ip` or `ip:port`.
    NotADnsServer(String),
    NotASipUri,
    /// Text that may not appear in the value (e.g. a quote in the realm).
    ForbiddenCharacter(char),
    Empty,
    /// PCRE2 rejected the pattern; its message.
    BadPattern(String),
    /// A TranslationOutput with no TranslationPattern before it.
    OutputWithoutPattern,
    /// A TranslationPattern not followed by its TranslationOutput.
    PatternWithoutOutput,
    /// An access-list item that is not a CIDR prefix; the reason.
    BadAccessList(String),
    /// Shorter than this many characters.
    TooShort(usize),
    /// Longer than this many characters.
    TooLong(usize),
    /// A key that needs another one (`HttpsCertificate` and `HttpsKey` go together).
    Needs(&'static str),
    /// A caller-identity, auto-answer or extra-header value that cannot be used; why.
    BadIdentity(String),
    /// An item of OfferCodecs (given here) that is not a codec we can offer.
    NotACodec(String),
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::NotANumber => f.write_str("not a number"),
            Invalid::OutOfRange { min, max } => {
                write!(f, "out of range (accepted: {min} to {max})")
            }
            Invalid::NotABoolean => {
                f.write_str("not a boolean (use 1|true|on|enable or 0|false|off|disable)")
            }
            Invalid::NotALogLevel => {
                f.write_str("not a log level (use NONE|CRIT|ERR|WARNING|INFO|DEBUG|STACK)")
            }
            Invalid::NotACallMode => f.write_str("not a call mode (use refer|anchored|refer-ood)"),
            Invalid::NotACdrFormat => f.write_str("not a record format (json or csv)"),
            Invalid::NotAnIpAddress => f.write_str("not an IPv4 or IPv6 address"),
            Invalid::NotAHost => f.write_str("not a host name or address, with an optional :port"),
            Invalid::NotADnsServer(item) => {
                write!(
                    f,
                    "{item:?} is not a DNS server address (use ip or ip:port, [v6]:port)"
                )
            }
            Invalid::NotASipUri => f.write_str(
                "not a SIP URI, even with sip: in front (expected sip:user@host or sips:host)",
            ),
            Invalid::ForbiddenCharacter(c) => write!(f, "must not contain {c:?}"),
            Invalid::Empty => f.write_str("must not be empty"),
            Invalid::BadPattern(msg) => write!(f, "regular expression rejected: {msg}"),
            Invalid::OutputWithoutPattern => f.write_str(
                "TranslationOutput without a TranslationPattern before it (they come in pairs)",
            ),
            Invalid::PatternWithoutOutput => f.write_str(
                "TranslationPattern without a TranslationOutput after it (they come in pairs)",
            ),
            Invalid::BadAccessList(why) => write!(f, "bad access list: {why}"),
            Invalid::TooShort(n) => write!(f, "too short (at least {n} characters)"),
            Invalid::TooLong(n) => write!(f, "too long (at most {n} characters)"),
            Invalid::Needs(other) => write!(f, "{other} must be given too"),
            Invalid::BadIdentity(why) => f.write_str(why),
            Invalid::NotACodec(item) => write!(
                f,
                "{item:?} is not a codec we offer (use PCMU, PCMA, G722, G729, GSM, G723, telephone-event)"
            ),
        }
    }
}

/// One bad setting: where, which key, the value as written, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub origin: Origin,
    /// The key as the documentation spells it.
    pub key: &'static str,
    pub value: String,
    pub reason: Invalid,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} = {:?}: {}",
            self.origin, self.key, self.value, self.reason
        )
    }
}

/// A command line that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// An option that needs a value came last, or was followed by another option.
    MissingValue { arg: String },
    /// `-x` where x is neither an option nor a configuration key.
    UnknownOption { arg: String },
    /// A word that is not an option nor the value of one.
    UnexpectedArgument { arg: String },
    /// An argument that is not valid UTF-8.
    NotUtf8 { arg: String },
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::MissingValue { arg } => write!(f, "command line {arg}: a value must follow"),
            CliError::UnknownOption { arg } => {
                write!(
                    f,
                    "command line {arg}: unknown option or configuration key (see --help)"
                )
            }
            CliError::UnexpectedArgument { arg } => {
                write!(f, "command line {arg:?}: unexpected argument (see --help)")
            }
            CliError::NotUtf8 { arg } => write!(f, "command line {arg:?}: not valid UTF-8"),
        }
    }
}

/// Loading the configuration failed; the process exits with status 1 before opening any
/// socket.
#[derive(Debug)]
pub enum ConfigError {
    Usage(CliError),
    /// The configuration file could not be read (a missing *default* file is not an error;
    /// a missing file named with `-c` is).
    Read {
        path: PathBuf,
        source: io::Error,
    },
    /// Every bad setting found, in file order, then command-line order, and the warnings
    /// found on the way (an unknown key is often the cause of a bad value's surprise).
    Invalid {
        problems: Vec<Problem>,
        warnings: Vec<Warning>,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Usage(e) => e.fmt(f),
            ConfigError::Read { path, source } => {
                write!(
                    f,
                    "cannot read configuration file {}: {source}",
                    path.display()
                )
            }
            ConfigError::Invalid { problems, .. } => {
                for (i, p) in problems.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    p.fmt(f)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<CliError> for ConfigError {
    fn from(e: CliError) -> Self {
        ConfigError::Usage(e)
    }
}

/// Something worth telling the operator that does not stop the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A key this program does not know (the original ignored these silently).
    UnknownKey { origin: Origin, key: String },
    /// A line that is neither `Name = value`, a comment nor blank.
    UnparsableLine { origin: Origin, text: String },
    /// A single-valued key given again: the later value wins.
    Repeated {
        origin: Origin,
        key: &'static str,
        first: Origin,
    },
    /// A TranslationOutput refers to `$n` the pattern does not have.
    MissingGroup { origin: Origin, group: usize },
    /// HTTP authentication is on with a well-known password: the built-in default
    /// `admin` or the shipped configuration's `change-me`.
    DefaultPassword { password: &'static str },
    /// HTTP authentication is on over plain HTTP on an address others can reach.
    PlainHttpAuth { listen: String },
    /// The configuration file holds secrets and others than its owner may read it.
    SecretsReadable {
        path: PathBuf,
        mode: u32,
        keys: Vec<&'static str>,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::UnknownKey { origin, key } => {
                write!(f, "{origin}: unknown key {key:?} ignored")
            }
            Warning::UnparsableLine { origin, text } => {
                write!(f, "{origin}: line ignored, not `Name = value`: {text:?}")
            }
            Warning::Repeated { origin, key, first } => {
                write!(
                    f,
                    "{origin}: {key} given again (first at {first}); this later value is used"
                )
            }
            Warning::MissingGroup { origin, group } => write!(
                f,
                "{origin}: TranslationOutput uses ${group} but its pattern has no group {group}; it expands to nothing"
            ),
            // The password itself is never printed, not even a public one.
            Warning::DefaultPassword { password } => write!(
                f,
                "HttpAuth is on with {}: set HttpAuthPwd to a secret",
                if *password == "admin" {
                    "the built-in default password"
                } else {
                    "the shipped configuration's public password"
                }
            ),
            Warning::PlainHttpAuth { listen } => write!(
                f,
                "HttpAuth is on over plain HTTP on {listen}: Basic passwords and Digest exchanges can be read on the network; use HttpsPort, or ApiIPAddress = 127.0.0.1"
            ),
            Warning::SecretsReadable { path, mode, keys } => write!(
                f,
                "{} holds {} and is readable by group or others (mode {:o}): chmod 600 it",
                path.display(),
                keys.join(", "),
                mode & 0o777
            ),
        }
    }
}
