//! A node whose HTTP API cannot bind its address stops at once with a non-zero exit and says
//! how to fix it, instead of running consensus without an API.

use std::{
    net::TcpListener,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

/// Longest the node may take to load its files and give up on the taken port.
const EXIT_WAIT_MAX_MS: u64 = 60_000;

/// A port nothing listens on right now (the OS picks it; the listener is dropped at once).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_node_whose_api_port_is_taken_exits_non_zero_and_says_how_to_fix_it() {
    let dir = std::env::temp_dir().join(format!("medchain-api-bind-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Another program holds the port the first validator's API is configured on.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let http = taken.local_addr().unwrap();
    let init = Command::new(env!("CARGO_BIN_EXE_medchain"))
        .args(["init", "--validators", "4", "--data-dir"])
        .arg(&dir)
        .args([
            "--http",
            &http.to_string(),
            "--p2p-port",
            &free_port().to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "init failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );

    let mut node = Command::new(env!("CARGO_BIN_EXE_medchain"))
        .args(["node", "--config"])
        .arg(dir.join("validators/node-0/node.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_millis(EXIT_WAIT_MAX_MS);
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = node.kill();
            panic!("the node kept running without its API");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::io::read_to_string(node.stderr.take().unwrap()).unwrap();
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!("error: the HTTP API cannot listen on {http}:")),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("set http_listen in node.toml to a free address"),
        "stderr: {stderr}"
    );
    drop(taken);
    let _ = std::fs::remove_dir_all(&dir);
}
