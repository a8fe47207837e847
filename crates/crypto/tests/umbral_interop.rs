//! Cross-implementation checks against the Python wheel `umbral-pre==0.11.0` (the GPL reference,
//! run as a separate process through bench/peers/umbral_peer.py, never linked): objects made by
//! either side are decoded, verified, re-encrypted and opened by the other. Also replays a
//! committed set of objects made by the wheel, so the check runs without Python too. The live
//! tests get their interpreter from scripts/py-peers.sh, which needs PyPI on its first run.

mod common;

use common::{peer_python, repo_root};
use std::io::Write;
use std::process::{Command, Stdio};

use medchain_crypto::umbral::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};

fn bytes(doc: &Value, key: &str) -> Vec<u8> {
    hex::decode(doc[key].as_str().unwrap_or_else(|| panic!("missing {key}"))).unwrap()
}

fn list(doc: &Value, key: &str) -> Vec<Vec<u8>> {
    doc[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| hex::decode(v.as_str().unwrap()).unwrap())
        .collect()
}

/// Runs the Python peer in `mode` with `request` on stdin and returns its JSON answer.
fn python_peer(mode: &str, request: &Value) -> Value {
    let mut child = Command::new(peer_python())
        .arg(repo_root().join("bench/peers/umbral_peer.py"))
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "python peer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

type GrantKeys<'a> = (&'a PublicKey, &'a PublicKey, &'a PublicKey);

/// Decodes (re-encoding must give the same bytes) and verifies key fragments.
fn verified_kfrags(
    raws: &[Vec<u8>],
    (verifying, delegating, receiving): GrantKeys,
) -> Vec<VerifiedKeyFrag> {
    raws.iter()
        .map(|raw| {
            let kfrag = KeyFrag::from_bytes(raw).unwrap();
            assert_eq!(&kfrag.to_bytes(), raw);
            kfrag
                .verify(verifying, Some(delegating), Some(receiving))
                .unwrap()
        })
        .collect()
}

/// Decodes (re-encoding must give the same bytes) and verifies capsule fragments.
fn verified_cfrags(
    raws: &[Vec<u8>],
    capsule: &Capsule,
    (verifying, delegating, receiving): GrantKeys,
) -> Vec<VerifiedCapsuleFrag> {
    raws.iter()
        .map(|raw| {
            let cfrag = CapsuleFrag::from_bytes(raw).unwrap();
            assert_eq!(&cfrag.to_bytes(), raw);
            cfrag
                .verify(capsule, verifying, delegating, receiving)
                .unwrap()
        })
        .collect()
}

/// Everything Rust can check about a set of objects produced by umbral-pre.
fn rust_accepts_python_objects(doc: &Value) {
    let threshold = doc["threshold"].as_u64().unwrap() as usize;
    let plaintext = bytes(doc, "plaintext");
    let delegating_sk = SecretKey::from_be_bytes(&bytes(doc, "delegating_sk")).unwrap();
    let delegating_pk = PublicKey::from_compressed_bytes(&bytes(doc, "delegating_pk")).unwrap();
    let receiving_sk = SecretKey::from_be_bytes(&bytes(doc, "receiving_sk")).unwrap();
    let receiving_pk = PublicKey::from_compressed_bytes(&bytes(doc, "receiving_pk")).unwrap();
    let verifying_pk = PublicKey::from_compressed_bytes(&bytes(doc, "verifying_pk")).unwrap();
    assert_eq!(delegating_sk.public_key(), delegating_pk);
    assert_eq!(receiving_sk.public_key(), receiving_pk);

    let capsule_bytes = bytes(doc, "capsule");
    let capsule = Capsule::from_bytes(&capsule_bytes).unwrap();
    assert_eq!(
        capsule.to_bytes(),
        capsule_bytes,
        "re-encoding is byte-identical"
    );
    let ciphertext = bytes(doc, "ciphertext");
    assert_eq!(
        decrypt_original(&delegating_sk, &capsule, &ciphertext).unwrap(),
        plaintext
    );

    let keys = (&verifying_pk, &delegating_pk, &receiving_pk);
    let kfrags = verified_kfrags(&list(doc, "kfrags"), keys);
    let python_cfrags = verified_cfrags(&list(doc, "cfrags"), &capsule, keys);

    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let rust_cfrags: Vec<VerifiedCapsuleFrag> = kfrags
        .iter()
        .map(|kfrag| reencrypt(&mut rng, &capsule, kfrag).unwrap())
        .collect();
    // E1, V1, kfrag id and precursor are deterministic: the first 140 msgpack bytes agree.
    for (ours, theirs) in rust_cfrags.iter().zip(&python_cfrags) {
        assert_eq!(ours.to_bytes()[..140], theirs.to_bytes()[..140]);
    }
    let open = |cfrags: &[VerifiedCapsuleFrag]| {
        decrypt_reencrypted(&receiving_sk, &delegating_pk, &capsule, cfrags, &ciphertext)
    };
    assert_eq!(open(&python_cfrags[..threshold]).unwrap(), plaintext);
    assert_eq!(
        open(&rust_cfrags[rust_cfrags.len() - threshold..]).unwrap(),
        plaintext
    );
    let mut mixed = rust_cfrags[..1].to_vec();
    mixed.extend_from_slice(&python_cfrags[1..threshold]);
    assert_eq!(open(&mixed).unwrap(), plaintext);
    let below_threshold = match threshold - 1 {
        0 => UmbralError::NoCapsuleFrags,
        cfrags_count => UmbralError::ReencryptedKeyCheckFailed { cfrags_count },
    };
    assert_eq!(
        open(&python_cfrags[..threshold - 1]).unwrap_err(),
        below_threshold
    );
}

#[test]
fn committed_python_vectors_open_in_rust() {
    let path = repo_root().join("crates/crypto/tests/vectors/umbral_python_0.11.0.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    rust_accepts_python_objects(&doc);
}

#[test]
fn python_encrypts_and_delegates_rust_reencrypts_and_decrypts() {
    let request = json!({ "plaintext": hex::encode(b"{\"resourceType\":\"Condition\"}"), "threshold": 2, "shares": 4 });
    let mut doc = python_peer("produce", &request);
    doc["plaintext"] = request["plaintext"].clone();
    doc["threshold"] = request["threshold"].clone();
    rust_accepts_python_objects(&doc);
}

/// Rust makes a grant with the given signing flags; Python verifies, re-encrypts and decrypts;
/// Rust then opens with Python's capsule fragments.
fn python_opens_rust_grant(seed: u64, sign_delegating_key: bool, sign_receiving_key: bool) {
    println!("rng seed = {seed}, flags = ({sign_delegating_key}, {sign_receiving_key})");
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let plaintext = b"{\"resourceType\":\"Observation\",\"valueQuantity\":{\"value\":7.2}}";
    let delegating_sk = SecretKey::random(&mut rng);
    let receiving_sk = SecretKey::random(&mut rng);
    let signer = Signer::new(&SecretKey::random(&mut rng));
    let (delegating_pk, receiving_pk) = (delegating_sk.public_key(), receiving_sk.public_key());
    let (capsule, ciphertext) = encrypt(&mut rng, &delegating_pk, plaintext).unwrap();
    let params = KeyFragParams {
        threshold: 3,
        shares: 5,
        sign_delegating_key,
        sign_receiving_key,
    };
    let kfrags = generate_kfrags(&mut rng, &delegating_sk, &receiving_pk, &signer, params).unwrap();
    let cfrags: Vec<VerifiedCapsuleFrag> = kfrags
        .iter()
        .map(|kfrag| reencrypt(&mut rng, &capsule, kfrag).unwrap())
        .collect();
    let hexes = |items: Vec<Vec<u8>>| items.into_iter().map(hex::encode).collect::<Vec<_>>();
    let request = json!({
        "delegating_pk": hex::encode(delegating_pk.to_compressed_bytes()),
        "receiving_sk": hex::encode(receiving_sk.to_be_bytes().as_ref()),
        "verifying_pk": hex::encode(signer.verifying_key().to_compressed_bytes()),
        "capsule": hex::encode(capsule.to_bytes()),
        "ciphertext": hex::encode(&ciphertext),
        "kfrags": hexes(kfrags.iter().map(VerifiedKeyFrag::to_bytes).collect()),
        "cfrags": hexes(cfrags.iter().map(VerifiedCapsuleFrag::to_bytes).collect()),
        "threshold": 3,
    });
    let answer = python_peer("consume", &request);
    assert_eq!(bytes(&answer, "plaintext_with_python_cfrags"), plaintext);
    assert_eq!(bytes(&answer, "plaintext_with_rust_cfrags"), plaintext);
    assert_eq!(
        answer["kfrags_bytes_equal"],
        json!([true, true, true, true, true])
    );
    let keys = (&signer.verifying_key(), &delegating_pk, &receiving_pk);
    let python_cfrags = verified_cfrags(&list(&answer, "cfrags"), &capsule, keys);
    let opened = decrypt_reencrypted(
        &receiving_sk,
        &delegating_pk,
        &capsule,
        &python_cfrags[2..],
        &ciphertext,
    );
    assert_eq!(opened.unwrap(), plaintext);
}

#[test]
fn rust_encrypts_and_delegates_python_reencrypts_and_decrypts() {
    for (seed, sign_delegating_key, sign_receiving_key) in [
        (2026, true, true),
        (2027, true, false),
        (2028, false, true),
        (2029, false, false),
    ] {
        python_opens_rust_grant(seed, sign_delegating_key, sign_receiving_key);
    }
}

#[test]
fn every_signature_python_makes_passes_our_strict_decoder() {
    // 64 kfrags carry 128 ECDSA signatures and their cfrags 64 more; all must be low-S and
    // verify, or our refusal of high-S would break interop.
    let request = json!({ "plaintext": hex::encode(b"x"), "threshold": 1, "shares": 64 });
    let mut doc = python_peer("produce", &request);
    doc["plaintext"] = request["plaintext"].clone();
    doc["threshold"] = request["threshold"].clone();
    assert_eq!(list(&doc, "kfrags").len(), 64);
    rust_accepts_python_objects(&doc);
}

/// Checks every derivation in a `factory` answer of the peer against our SecretKeyFactory.
fn rust_matches_python_key_factory(doc: &Value) {
    let factory = SecretKeyFactory::from_secure_randomness(&bytes(doc, "seed")).unwrap();
    let derivations = doc["derivations"].as_array().unwrap();
    assert!(!derivations.is_empty());
    for derivation in derivations {
        let label = bytes(derivation, "label");
        let key = factory.make_key(&label).unwrap();
        assert_eq!(key.to_be_bytes().as_slice(), bytes(derivation, "key"));
        assert_eq!(
            factory.make_secret(&label).unwrap().as_slice(),
            bytes(derivation, "secret")
        );
        let child = factory
            .make_factory(&label)
            .unwrap()
            .make_key(b"child")
            .unwrap();
        assert_eq!(
            child.to_be_bytes().as_slice(),
            bytes(derivation, "child_key")
        );
    }
}

#[test]
fn committed_python_key_factory_vectors_match() {
    let path =
        repo_root().join("crates/crypto/tests/vectors/umbral_python_0.11.0_key_factory.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    rust_matches_python_key_factory(&doc);
}

#[test]
fn key_factory_matches_python_on_seeded_random_seeds_and_labels() {
    use rand_core::Rng;
    let mut rng = ChaCha20Rng::seed_from_u64(4242);
    println!("rng seed = 4242");
    for _ in 0..4 {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let labels: Vec<String> = (0..8)
            .map(|_| {
                let mut label = vec![0u8; (rng.next_u32() % 65) as usize];
                rng.fill_bytes(&mut label);
                hex::encode(label)
            })
            .collect();
        let answer = python_peer(
            "factory",
            &json!({ "seed": hex::encode(seed), "labels": labels }),
        );
        rust_matches_python_key_factory(&answer);
    }
}
