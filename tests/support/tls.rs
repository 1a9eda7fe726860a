//! Certificates for the TLS tests, made with the `openssl` command line tool (a test
//! fails, naming the tool, when it is missing).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslConnector, SslMethod, SslStream};
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, SubjectAlternativeName};
use openssl::x509::{X509, X509NameBuilder};

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

fn ec_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("curve");
    PKey::from_ec_key(EcKey::generate(&group).expect("ec key")).expect("pkey")
}

/// A CA certificate (`issuer` `None`), or a server certificate for localhost and
/// 127.0.0.1 signed by `issuer`.
fn certificate(cn: &str, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>) -> X509 {
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", cn).expect("cn");
    let name = name.build();
    let mut b = X509::builder().expect("builder");
    b.set_version(2).expect("version");
    let mut serial = BigNum::new().expect("bn");
    serial.rand(64, MsbOption::MAYBE_ZERO, false).expect("rand");
    b.set_serial_number(&serial.to_asn1_integer().expect("serial"))
        .expect("serial");
    b.set_subject_name(&name).expect("subject");
    b.set_pubkey(key).expect("pubkey");
    b.set_not_before(&Asn1Time::days_from_now(0).expect("time"))
        .expect("not before");
    b.set_not_after(&Asn1Time::days_from_now(2).expect("time"))
        .expect("not after");
    match issuer {
        None => {
            b.set_issuer_name(&name).expect("issuer");
            b.append_extension(BasicConstraints::new().critical().ca().build().expect("bc"))
                .expect("ext");
            b.sign(key, MessageDigest::sha256()).expect("sign");
        }
        Some((ca, ca_key)) => {
            b.set_issuer_name(ca.subject_name()).expect("issuer");
            let san = SubjectAlternativeName::new()
                .dns("localhost")
                .ip("127.0.0.1")
                .build(&b.x509v3_context(Some(ca), None))
                .expect("san");
            b.append_extension(san).expect("ext");
            b.append_extension(ExtendedKeyUsage::new().server_auth().build().expect("eku"))
                .expect("ext");
            b.sign(ca_key, MessageDigest::sha256()).expect("sign");
        }
    }
    b.build()
}

/// Writes a test CA (`ca.pem`) and a server certificate it signed for localhost and
/// 127.0.0.1 (`cert.pem`, `key.pem`) into `dir`, made in-process (the front doors' HTTPS
/// and XML-over-TLS ports; a client verifies them against `ca.pem`).
pub fn make_ca_and_server_cert(dir: &Path) {
    let ca_key = ec_key();
    let ca = certificate("front-door test CA", &ca_key, None);
    let key = ec_key();
    let cert = certificate("localhost", &key, Some((&ca, &ca_key)));
    std::fs::write(dir.join("ca.pem"), ca.to_pem().expect("pem")).expect("ca.pem");
    std::fs::write(dir.join("cert.pem"), cert.to_pem().expect("pem")).expect("cert.pem");
    std::fs::write(
        dir.join("key.pem"),
        key.private_key_to_pem_pkcs8().expect("pem"),
    )
    .expect("key.pem");
}

/// A TLS connection to 127.0.0.1:`port` for "localhost", verified against `ca_file`.
pub fn connect_verified(ca_file: &Path, port: u16) -> SslStream<TcpStream> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).expect("connector");
    b.set_ca_file(ca_file).expect("ca");
    let tcp = super::wire::connect_from(std::net::Ipv4Addr::LOCALHOST, port);
    b.build()
        .connect("localhost", tcp)
        .expect("TLS handshake verified against the test CA")
}
