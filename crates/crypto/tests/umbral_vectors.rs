//! Known-answer vectors for our own outputs: with a seeded RNG every Umbral operation is
//! deterministic, so the committed file pins capsules, key fragments, capsule fragments and DEM
//! ciphertexts byte for byte. (The same objects are accepted by umbral-pre 0.11.0: see
//! umbral_interop.rs.) Regenerate deliberately with `UMBRAL_WRITE_VECTORS=1 cargo test ...`.

use std::path::PathBuf;

use medchain_crypto::umbral::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};

const SEED: u64 = 20260511;

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/umbral_rust_seeded.json")
}

fn hexes(items: impl IntoIterator<Item = Vec<u8>>) -> Vec<String> {
    items.into_iter().map(hex::encode).collect()
}

fn seeded_outputs() -> Value {
    println!("rng seed = {SEED}");
    let mut rng = ChaCha20Rng::seed_from_u64(SEED);
    let delegating_sk = SecretKey::random(&mut rng);
    let receiving_sk = SecretKey::random(&mut rng);
    let signer_sk = SecretKey::random(&mut rng);
    let signer = Signer::new(&signer_sk);
    let plaintext = b"{\"resourceType\":\"Immunization\"}";
    let (capsule, ciphertext) = encrypt(&mut rng, &delegating_sk.public_key(), plaintext).unwrap();
    let params = KeyFragParams {
        threshold: 2,
        shares: 3,
        sign_delegating_key: true,
        sign_receiving_key: true,
    };
    let kfrags = generate_kfrags(
        &mut rng,
        &delegating_sk,
        &receiving_sk.public_key(),
        &signer,
        params,
    )
    .unwrap();
    let cfrags: Vec<_> = kfrags
        .iter()
        .map(|k| reencrypt(&mut rng, &capsule, k).unwrap())
        .collect();
    let seed = decapsulate_reencrypted(
        &receiving_sk,
        &delegating_sk.public_key(),
        &capsule,
        &cfrags[..2],
    )
    .unwrap();
    json!({
        "_about": "medchain Umbral outputs from ChaCha20Rng::seed_from_u64(seed); draw order: delegating sk, receiving sk, signer sk, encrypt, generate_kfrags, reencrypt per kfrag",
        "seed": SEED,
        "delegating_sk": hex::encode(delegating_sk.to_be_bytes().as_ref()),
        "receiving_sk": hex::encode(receiving_sk.to_be_bytes().as_ref()),
        "signer_sk": hex::encode(signer_sk.to_be_bytes().as_ref()),
        "plaintext": hex::encode(plaintext),
        "capsule": hex::encode(capsule.to_bytes()),
        "ciphertext": hex::encode(&ciphertext),
        "kfrags": hexes(kfrags.iter().map(VerifiedKeyFrag::to_bytes)),
        "cfrags": hexes(cfrags.iter().map(VerifiedCapsuleFrag::to_bytes)),
        "key_seed": hex::encode(seed.as_bytes()),
    })
}

#[test]
fn seeded_outputs_match_committed_vectors() {
    let actual = seeded_outputs();
    if std::env::var_os("UMBRAL_WRITE_VECTORS").is_some() {
        let text = serde_json::to_string_pretty(&actual).unwrap();
        std::fs::write(vectors_path(), text + "\n").unwrap();
    }
    let expected: Value = serde_json::from_slice(&std::fs::read(vectors_path()).unwrap()).unwrap();
    assert_eq!(actual, expected);
}

#[test]
fn committed_vectors_decode_verify_and_open() {
    let doc: Value = serde_json::from_slice(&std::fs::read(vectors_path()).unwrap()).unwrap();
    let field = |key: &str| hex::decode(doc[key].as_str().unwrap()).unwrap();
    let delegating_sk = SecretKey::from_be_bytes(&field("delegating_sk")).unwrap();
    let receiving_sk = SecretKey::from_be_bytes(&field("receiving_sk")).unwrap();
    let verifying_pk = SecretKey::from_be_bytes(&field("signer_sk"))
        .unwrap()
        .public_key();
    let (delegating_pk, receiving_pk) = (delegating_sk.public_key(), receiving_sk.public_key());
    let capsule = Capsule::from_bytes(&field("capsule")).unwrap();
    let ciphertext = field("ciphertext");
    assert_eq!(
        decrypt_original(&delegating_sk, &capsule, &ciphertext).unwrap(),
        field("plaintext")
    );
    for raw in doc["kfrags"].as_array().unwrap() {
        let kfrag = KeyFrag::from_bytes(&hex::decode(raw.as_str().unwrap()).unwrap()).unwrap();
        kfrag
            .verify(&verifying_pk, Some(&delegating_pk), Some(&receiving_pk))
            .unwrap();
    }
    let cfrags: Vec<_> = doc["cfrags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|raw| {
            let cfrag =
                CapsuleFrag::from_bytes(&hex::decode(raw.as_str().unwrap()).unwrap()).unwrap();
            cfrag
                .verify(&capsule, &verifying_pk, &delegating_pk, &receiving_pk)
                .unwrap()
        })
        .collect();
    let seed =
        decapsulate_reencrypted(&receiving_sk, &delegating_pk, &capsule, &cfrags[1..]).unwrap();
    assert_eq!(seed.as_bytes().as_slice(), field("key_seed"));
    let opened = decrypt_reencrypted(
        &receiving_sk,
        &delegating_pk,
        &capsule,
        &cfrags[..2],
        &ciphertext,
    );
    assert_eq!(opened.unwrap(), field("plaintext"));
}
