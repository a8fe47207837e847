//! What the end-to-end tests share: `medchain` processes on 127.0.0.1 with their own ports,
//! the CLI run as a user runs it, and the demo identities `medchain init` writes.
#![allow(dead_code)] // each test binary uses its own subset

use commonware_cryptography::ed25519;
use medchain_client::Client;
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub const HOSPITAL: &str = "st-mary-hospital";
pub const TIMEOUT: Duration = Duration::from_secs(120);

pub fn medchain() -> Command {
    Command::new(env!("CARGO_BIN_EXE_medchain"))
}

/// Ports unlikely to collide with a `medchain up` on the defaults or another test run, and all
/// below Linux's ephemeral range (32768 and up), where a port the system hands an outgoing
/// connection could take a node's listening port before it binds.
/// Each test takes its own ports (validators, then observers, joining nodes and services)
/// among the [`PORTS_PER_PROCESS`] above this base.
pub fn base_ports() -> (u16, u16) {
    // The highest HTTP port is 17000 + 99 * 48 + 47 = 21799, below the lowest p2p port; the
    // highest p2p port is 22000 + 99 * 48 + 47 = 26799.
    let offset = (std::process::id() % 100) as u16 * PORTS_PER_PROCESS;
    (17_000 + offset, 22_000 + offset)
}

/// Ports one test process spreads its tests over.
pub const PORTS_PER_PROCESS: u16 = 48;

pub struct Node {
    pub child: Child,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_node(dir: &Path, index: usize) -> Node {
    start_process(&dir.join(format!("validators/node-{index}")))
}

pub fn start_observer(dir: &Path, index: usize) -> Node {
    start_process(&dir.join(format!("observers/node-{index}")))
}

pub fn start_process(node_dir: &Path) -> Node {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(node_dir.join("node.log"))
        .unwrap();
    let child = medchain()
        .args(["node", "--config"])
        .arg(node_dir.join("node.toml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("medchain node starts");
    Node { child }
}

/// A fresh consortium directory made by `medchain init`; returns it and the first API port.
pub fn init_consortium(name: &str, validators: usize, port_offset: u16) -> (PathBuf, u16) {
    init_consortium_with(name, validators, port_offset, &[])
}

/// `init_consortium` with more `medchain init` arguments.
pub fn init_consortium_with(
    name: &str,
    validators: usize,
    port_offset: u16,
    extra: &[&str],
) -> (PathBuf, u16) {
    let dir = std::env::temp_dir().join(format!("medchain-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (http, p2p) = base_ports();
    let (http, p2p) = (http + port_offset, p2p + port_offset);
    let init = medchain()
        .args([
            "init",
            "--validators",
            &validators.to_string(),
            "--data-dir",
        ])
        .arg(&dir)
        .args([
            "--http",
            &format!("127.0.0.1:{http}"),
            "--p2p-port",
            &p2p.to_string(),
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "init failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    (dir, http)
}

pub async fn wait_for(what: &str, mut ready: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !ready().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn height(client: &Client) -> u64 {
    client.status().await.map(|s| s.height).unwrap_or(0)
}

/// The hospital's admin, who co-signs its patients' pseudonyms: read from the demo identities
/// that `medchain init` wrote into `dir`.
pub fn registrar(dir: &std::path::Path) -> ed25519::PrivateKey {
    demo_keys(dir, &format!("admin-{HOSPITAL}")).signing
}

/// The keys at the hospital of demo identity `name`, from the identities `medchain init` wrote.
pub fn demo_keys(dir: &std::path::Path, name: &str) -> medchain_crypto::keys::PseudonymKeys {
    demo_keys_at(dir, name, HOSPITAL)
}

/// The keys at `institution` of demo identity `name` (a member's home institution gives its
/// registered keys).
pub fn demo_keys_at(
    dir: &std::path::Path,
    name: &str,
    institution: &str,
) -> medchain_crypto::keys::PseudonymKeys {
    let text = std::fs::read_to_string(dir.join("demo").join("identities.toml")).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    let seed = table["identities"][name]["seed"].as_str().unwrap();
    let seed = medchain_crypto::keys::MasterSeed::from_slice(&hex::decode(seed).unwrap()).unwrap();
    seed.pseudonym_keys(institution.as_bytes()).unwrap()
}

/// Runs the CLI with a key file's passphrase set; returns (success, stdout, stderr).
pub fn cli_with_passphrase(args: &[&str]) -> (bool, String, String) {
    let output = medchain()
        .args(args)
        .env("MEDCHAIN_PASSPHRASE", "correct horse battery staple")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// The CLI's error for a command that must fail.
#[track_caller]
pub fn cli_refuses(args: &[&str]) -> String {
    let (ok, stdout, stderr) = cli_with_passphrase(args);
    assert!(!ok, "medchain {} succeeded: {stdout}", args.join(" "));
    stderr
}

/// The value after `label` on a line of `text`.
pub fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|line| line.trim().strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in {text}"))
        .trim()
}

/// Deterministic bytes (a xorshift stream from `seed`), so a failure can be replayed.
pub fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.max(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// The files under `dir` named `name`, at any depth.
pub fn files_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_named(&path, name));
        } else if path.file_name().is_some_and(|n| n == name) {
            found.push(path);
        }
    }
    found
}

/// POSTs a raw body and returns (status, error code).
pub async fn post_raw(url: &str, content_type: &str, body: Vec<u8>) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.expect("errors are JSON");
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// The API error code of a call that must be refused.
#[track_caller]
pub fn refused_code<T>(result: Result<T, medchain_client::ClientError>) -> String {
    match result {
        Err(medchain_client::ClientError::Api { code, .. }) => code.as_str().to_string(),
        Ok(_) => panic!("the validator accepted what it must refuse"),
        Err(other) => panic!("unexpected error {other}"),
    }
}

/// Runs the CLI and returns its standard output, failing the test with its errors otherwise.
pub fn cli(args: &[&str]) -> String {
    let output = medchain().args(args).output().unwrap();
    assert!(
        output.status.success(),
        "medchain {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A new patient key file `key_path` registered at the hospital through the CLI, co-signed by
/// the hospital's demo admin; answers the pseudonym (hex).
pub fn register_patient(key_path: &str, api: &str, data_dir: &str) -> String {
    assert!(cli_with_passphrase(&["keys", "generate", "--out", key_path]).0);
    let (_, shown, _) =
        cli_with_passphrase(&["keys", "show", "--key", key_path, "--institution", HOSPITAL]);
    let pseudonym = field(&shown, "account:").to_string();
    let registrar = format!("admin-{HOSPITAL}");
    let (ok, _, stderr) = cli_with_passphrase(&[
        "patient",
        "register",
        "--key",
        key_path,
        "--institution",
        HOSPITAL,
        "--registrar-as",
        &registrar,
        "--api",
        api,
        "--data-dir",
        data_dir,
    ]);
    assert!(ok, "patient register failed: {stderr}");
    pseudonym
}
