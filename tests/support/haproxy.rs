//! HAProxy (Debian package `haproxy`) in front of servers, for the scale-out recipe's test:
//! the shipped `docs/scale-out/haproxy.cfg` with its ports filled in, run in the
//! foreground. HAProxy cannot report a port it chose, so its front ports are candidates
//! (see `ports`); it is started again on new ones when it could not bind them.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::WAIT;
use super::ports::{Bound, Proto, candidate_port, wait_owned};
use super::server::manifest_dir;

/// Starts before a port clash is a failure.
const ATTEMPTS: usize = 5;

/// One running HAProxy.
pub struct Haproxy {
    child: Child,
    pub http_port: u16,
    pub xml_port: u16,
}

impl Haproxy {
    /// Runs the recipe's configuration with `ports`' `@NAME@` placeholders filled in
    /// (`FRONT_HTTP_PORT` and `FRONT_XML_PORT` are chosen here), its files in `dir`.
    /// Panics, naming the package, when haproxy is not installed.
    pub fn start(dir: &Path, ports: &[(&str, u16)]) -> Haproxy {
        let template = std::fs::read_to_string(manifest_dir().join("docs/scale-out/haproxy.cfg"))
            .expect("docs/scale-out/haproxy.cfg");
        for _ in 0..ATTEMPTS {
            let (http_port, xml_port) = (candidate_port(), candidate_port());
            let mut text = template
                .replace("@FRONT_HTTP_PORT@", &http_port.to_string())
                .replace("@FRONT_XML_PORT@", &xml_port.to_string());
            for (name, port) in ports {
                text = text.replace(&format!("@{name}@"), &port.to_string());
            }
            assert!(
                !text.lines().any(|l| !l.starts_with('#') && l.contains('@')),
                "a placeholder left in:\n{text}"
            );
            let cfg = dir.join("haproxy.cfg");
            std::fs::write(&cfg, text).expect("write haproxy.cfg");
            let log = std::fs::File::create(dir.join("haproxy.log")).expect("haproxy.log");
            let mut child = Command::new("haproxy")
                .arg("-db")
                .arg("-f")
                .arg(&cfg)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start haproxy ({e}): install the Debian package haproxy")
                });
            let pid = child.id();
            let mut bound = |port| {
                wait_owned(pid, Proto::TcpListen, port, WAIT, || {
                    child.try_wait().ok().flatten().is_some()
                })
            };
            match (bound(http_port), bound(xml_port)) {
                (Bound::Owned, Bound::Owned) => {
                    return Haproxy {
                        child,
                        http_port,
                        xml_port,
                    };
                }
                (Bound::TimedOut, _) | (_, Bound::TimedOut) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "haproxy did not listen within {WAIT:?}:\n{}",
                        std::fs::read_to_string(dir.join("haproxy.log")).unwrap_or_default()
                    );
                }
                // It could not bind a port another process took: again, on new ones.
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        panic!("haproxy could not bind its ports in {ATTEMPTS} attempts");
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
