//! `make demo` (scripts/demo.sh, which `make demo` runs on the debug binary): both calls
//! reach `200 Destination`, the web page's address is printed, and a SIGINT stops the
//! script and everything it started.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{
    CALL_WAIT,
    server::{binary, manifest_dir, wait_bounded},
};

#[test]
fn the_demo_places_a_refer_and_an_anchored_call_to_200_destination_and_stops_on_sigint() {
    let mut demo = Command::new(manifest_dir().join("scripts/demo.sh"))
        .arg(binary())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run scripts/demo.sh");
    let stdout = demo.stdout.take().expect("stdout");
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + 2 * CALL_WAIT;
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.contains("Ctrl-C stops")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(_) => {
                let _ = demo.kill();
                let _ = demo.wait();
                panic!("the demo did not finish its calls:\n{}", lines.join("\n"));
            }
        }
    }
    let output = lines.join("\n");
    for label in ["refer", "anchored"] {
        assert!(
            output.contains(&format!(
                "demo: [{label}] 200 Destination Connected to destination"
            )),
            "{output}"
        );
        assert!(
            output.contains(&format!("demo: [{label}] call over")),
            "{output}"
        );
    }
    assert!(
        output.contains("the web page is at http://127.0.0.1:"),
        "{output}"
    );
    let server_pid: u32 = output
        .split("server up (pid ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no server pid in:\n{output}"));

    // SIGINT to the script (a PID this test started), as Ctrl-C would send it.
    let pid = libc::pid_t::try_from(demo.id()).expect("pid");
    // SAFETY: kill(2) on our own child's PID; no memory is involved.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = wait_bounded(&mut demo, Duration::from_secs(15));
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{output}");
    let gone = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{server_pid}")).exists() {
        assert!(
            Instant::now() < gone,
            "the demo's server {server_pid} still runs"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
