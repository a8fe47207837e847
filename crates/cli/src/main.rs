//! The `medchain` binary.

fn main() -> anyhow::Result<()> {
    Ok(())
}
