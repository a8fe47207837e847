//! The Python peer implementations the benchmarks compare against: found through
//! `scripts/py-peers.sh` (which creates their virtual environment on first use) and asked
//! through one JSON request on stdin, one JSON answer on stdout.

use anyhow::{Context as _, bail};
use serde_json::Value;
use std::{
    io::Write as _,
    path::PathBuf,
    process::{Command, Stdio},
};

/// The repository root: the first ancestor of the working directory holding
/// `scripts/py-peers.sh`, else the checkout this crate was built from.
pub fn repo_root() -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    let built_from = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    cwd.ancestors()
        .map(PathBuf::from)
        .chain(std::iter::once(built_from))
        .find(|dir| dir.join("scripts/py-peers.sh").is_file())
        .context("scripts/py-peers.sh not found: run from the medchain checkout")
}

/// The peers' Python interpreter, installing them first if needed.
pub fn python() -> anyhow::Result<String> {
    let setup = Command::new(repo_root()?.join("scripts/py-peers.sh"))
        .output()
        .context("running scripts/py-peers.sh (needs python3 with venv)")?;
    if !setup.status.success() {
        bail!(
            "scripts/py-peers.sh failed: {}",
            String::from_utf8_lossy(&setup.stderr)
        );
    }
    Ok(String::from_utf8(setup.stdout)?.trim().to_owned())
}

/// Runs `bench/peers/<script> <args>` with `request` on stdin and returns its JSON answer.
pub fn ask(python: &str, script: &str, args: &[&str], request: &Value) -> anyhow::Result<Value> {
    let mut child = Command::new(python)
        .arg(repo_root()?.join("bench/peers").join(script))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {script} with {python}"))?;
    child
        .stdin
        .take()
        .context("peer stdin")?
        .write_all(request.to_string().as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("{script} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}
