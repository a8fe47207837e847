//! Interoperability with python `phe` 1.5 (g = n + 1): phe decrypts our ciphertexts and we decrypt
//! phe's, including negative values through the shared signed encoding. The Python environment
//! comes from `scripts/py-peers.sh`; the peer script is `bench/peers/paillier_phe.py`.

mod common;
#[path = "vectors/paillier_support.rs"]
mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{peer_python, repo_root};
use medchain_crypto::paillier::{Ciphertext, FixedPoint};
use serde_json::{Value, json};
use support::{int, key, rng, vectors};

/// Runs the peer script with `request` on stdin and returns its JSON answer.
fn run_phe(request: &Value) -> Value {
    let mut child = Command::new(peer_python())
        .arg(repo_root().join("bench/peers/paillier_phe.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("peer script starts");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(request.to_string().as_bytes())
        .expect("request written");
    let out = child.wait_with_output().expect("peer script finishes");
    assert!(
        out.status.success(),
        "peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("peer answers JSON")
}

#[test]
fn phe_decrypts_our_ciphertexts_and_we_decrypt_phes_including_negatives() {
    let (pk, sk) = key();
    let v = vectors();
    let codec = FixedPoint::new(0).expect("scale 0");
    let values: [i128; 6] = [
        0,
        1,
        -1,
        42,
        -9_876_543_210_123,
        170_141_183_460_469_231_731_687_303_715_884_105_727,
    ];
    let mut rng = rng(20);
    let ours: Vec<Ciphertext> = values
        .iter()
        .map(|&x| pk.encrypt(&codec.encode(&pk, x).expect("in range"), &mut rng))
        .collect();
    let request = json!({
        "n": v["n"], "p": v["p"], "q": v["q"],
        "decrypt": ours.iter().map(|c| c.as_integer().to_string_radix(16)).collect::<Vec<_>>(),
        "encrypt": values.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
    });
    let answer = run_phe(&request);

    let decrypted: Vec<i128> = answer["decrypted"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d.as_str().expect("decimal").parse().expect("i128"))
        .collect();
    assert_eq!(decrypted, values, "phe decrypts our ciphertexts");

    let theirs: Vec<Ciphertext> = answer["ciphertexts"]
        .as_array()
        .expect("list")
        .iter()
        .map(|c| {
            Ciphertext::from_integer(&pk, int(c)).expect("phe ciphertext is valid under our key")
        })
        .collect();
    assert_eq!(theirs.len(), values.len());
    for (ct, &want) in theirs.iter().zip(&values) {
        assert_eq!(
            codec.decode(&pk, &sk.decrypt(ct)),
            Ok(want),
            "we decrypt phe's ciphertext"
        );
    }
    // A homomorphic sum across implementations: our Enc(42) + phe's Enc(−9 876 543 210 123).
    let mixed = pk.add(&ours[3], &theirs[4]);
    assert_eq!(
        codec.decode(&pk, &sk.decrypt(&mixed)),
        Ok(42 - 9_876_543_210_123)
    );
    assert_eq!(
        answer["gmpy2"],
        Value::Bool(true),
        "the peer runs phe on gmpy2"
    );
}
