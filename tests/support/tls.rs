//! Certificates for the TLS tests, made with the `openssl` command line tool (a test
//! fails, naming the tool, when it is missing).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A self-signed certificate and key for "localhost" and 127.0.0.1 (and ::1), made with
/// the `openssl` command in `dir`: `(cert.pem, key.pem)`. Self-signed with CA:TRUE, so a
/// client that trusts the certificate file as a root accepts it.
pub fn self_signed_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let cert = dir.join("peer_cert.pem");
    let key = dir.join("peer_key.pem");
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl req failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

/// Writes a self-signed certificate for `domain` (also valid for 127.0.0.1 and ::1)
/// under the original's names into `dir`, and the same certificate as a trusted root.
pub fn make_cert(dir: &Path, domain: &str) {
    let cert = dir.join(format!("domain_cert_{domain}.pem"));
    let key = dir.join(format!("domain_key_{domain}.pem"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args(["-days", "2", "-subj"])
        .arg(format!("/CN={domain}"))
        .arg("-addext")
        .arg(format!("subjectAltName=DNS:{domain},IP:127.0.0.1,IP:::1"))
        .output()
        .expect("the openssl command line tool is needed for the TLS tests");
    assert!(
        status.status.success(),
        "openssl req failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    std::fs::copy(&cert, dir.join("root_cert_test.pem")).expect("copy root");
}
