//! OpenSSL set-up: the server context from the original's file names, and the client
//! context that verifies servers against `root_cert_*.pem` plus the system store.

use std::fmt;
use std::path::{Path, PathBuf};

use log::{debug, warn};
use openssl::ssl::{
    Ssl, SslAcceptor, SslConnector, SslFiletype, SslMethod, SslMode, SslVerifyMode,
};
use openssl::x509::X509;

use super::config::TransportConfig;

/// The TLS contexts of the layer. `server` is absent when the certificate files are.
pub(super) struct TlsContexts {
    pub server: Option<SslAcceptor>,
    pub client: SslConnector,
}

/// The files a server certificate is read from (the C++ original's names).
pub(super) fn server_files(cert_dir: &Path, domain: &str) -> (PathBuf, PathBuf) {
    (
        cert_dir.join(format!("domain_cert_{domain}.pem")),
        cert_dir.join(format!("domain_key_{domain}.pem")),
    )
}

/// The client context could not be built (OpenSSL itself failed).
#[derive(Debug)]
pub struct TlsSetupError(pub openssl::error::ErrorStack);

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpenSSL set-up failed: {}", self.0)
    }
}

impl std::error::Error for TlsSetupError {}

// Non-blocking writes may be retried with a queue that has moved in memory, and may
// complete partially; OpenSSL must allow both.
fn write_modes() -> SslMode {
    SslMode::ENABLE_PARTIAL_WRITE | SslMode::ACCEPT_MOVING_WRITE_BUFFER
}

pub(super) fn load(cfg: &TransportConfig) -> Result<TlsContexts, TlsSetupError> {
    Ok(TlsContexts {
        server: load_server(cfg),
        client: load_client(&cfg.cert_dir).map_err(TlsSetupError)?,
    })
}

fn load_server(cfg: &TransportConfig) -> Option<SslAcceptor> {
    if cfg.tls_domain.is_empty() {
        // TLS listening turned off (TLSPort 0): nothing to warn about.
        return None;
    }
    let (cert, key) = server_files(&cfg.cert_dir, &cfg.tls_domain);
    if !cert.is_file() || !key.is_file() {
        warn!(target: "sip::transport",
            "TLS transport not started: certificate {} and key {} are needed (TLSDomainName {:?})",
            cert.display(), key.display(), cfg.tls_domain);
        return None;
    }
    let built = (|| {
        let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
        builder.set_certificate_chain_file(&cert)?;
        builder.set_private_key_file(&key, SslFiletype::PEM)?;
        builder.check_private_key()?;
        builder.set_mode(write_modes());
        Ok::<_, openssl::error::ErrorStack>(builder.build())
    })();
    match built {
        Ok(acceptor) => Some(acceptor),
        Err(e) => {
            warn!(target: "sip::transport",
                "TLS transport not started: cannot use certificate {} and key {}: {e}",
                cert.display(), key.display());
            None
        }
    }
}

fn load_client(cert_dir: &Path) -> Result<SslConnector, openssl::error::ErrorStack> {
    // The builder loads the system store and verifies the peer by default.
    let mut builder = SslConnector::builder(SslMethod::tls_client())?;
    builder.set_verify(SslVerifyMode::PEER);
    builder.set_mode(write_modes());
    for path in root_cert_files(cert_dir) {
        let loaded = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|pem| X509::stack_from_pem(&pem).map_err(|e| e.to_string()));
        match loaded {
            Ok(certs) => {
                for cert in certs {
                    if let Err(e) = builder.cert_store_mut().add_cert(cert) {
                        debug!(target: "sip::transport", "{}: {e}", path.display());
                    }
                }
                debug!(target: "sip::transport", "trusted roots loaded from {}", path.display());
            }
            Err(e) => {
                warn!(target: "sip::transport", "ignoring root certificate file {}: {e}", path.display())
            }
        }
    }
    Ok(builder.build())
}

/// `root_cert_*.pem` in `dir`, sorted so the load order is stable.
fn root_cert_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("root_cert_") && n.ends_with(".pem"))
        })
        .collect();
    files.sort();
    files
}

/// A client session that checks the server certificate for `name` (a host name, or an
/// IP address in text form) and sends it as SNI when it is a host name.
pub(super) fn client_session(
    connector: &SslConnector,
    name: &str,
) -> Result<Ssl, openssl::error::ErrorStack> {
    connector.configure()?.into_ssl(name)
}

/// A server session from the acceptor's context.
pub(super) fn server_session(acceptor: &SslAcceptor) -> Result<Ssl, openssl::error::ErrorStack> {
    Ssl::new(acceptor.context())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_give_no_server_but_a_client() {
        let cfg = TransportConfig {
            tls_domain: "example.test".into(),
            cert_dir: PathBuf::from("/nonexistent-dir-for-test"),
            ..TransportConfig::default()
        };
        let ctx = load(&cfg).unwrap();
        assert!(ctx.server.is_none());
        assert!(client_session(&ctx.client, "example.test").is_ok());
    }

    #[test]
    fn file_names_follow_the_original() {
        let (c, k) = server_files(Path::new("/d"), "sip.example.com");
        assert_eq!(c, PathBuf::from("/d/domain_cert_sip.example.com.pem"));
        assert_eq!(k, PathBuf::from("/d/domain_key_sip.example.com.pem"));
    }
}
