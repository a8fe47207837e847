//! Helpers shared by the crypto integration tests.

/// Compares `computed` with the committed vector file, or rewrites the file when
/// `MEDCHAIN_WRITE_VECTORS=1` (then review the diff and run the peer script).
pub fn assert_vectors(name: &str, computed: serde_json::Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    if std::env::var_os("MEDCHAIN_WRITE_VECTORS").is_some() {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&computed).unwrap() + "\n",
        )
        .unwrap();
    }
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        committed, computed,
        "{name} differs from the committed known answers"
    );
}
