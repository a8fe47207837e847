//! Umbral re-encryption and threshold decapsulation against the reference implementation, the
//! Python wheel `umbral-pre==0.11.0` (Rust core via PyO3), measured on the same machine in the
//! same run through bench/peers/umbral_peer.py.
//!
//! Sketch: no network, no disk; pure CPU. A re-encryption is 5 variable-base secp256k1
//! multiplications (E1, V1, E2, V2, U2; ~50-100 µs each) plus one SHA-256 over 9 points, so
//! ~1-2k ops/s per core. Opening t fragments is t hashes, a Lagrange step, two t-term
//! multi-scalar multiplications, three more multiplications for the consistency check and the
//! key, then HKDF and a 32-byte AEAD open, ~1k ops/s at t = 3. The peer does the same curve work
//! (k256 0.13) plus a Python call per operation, so parity or better is the expectation; both
//! sides take the best of several alternating rounds because the machine is shared.

use std::time::Instant;

use anyhow::Context;
use medchain_crypto::umbral::{
    Capsule, KeyFragParams, PublicKey, SecretKey, Signer, VerifiedCapsuleFrag, VerifiedKeyFrag,
    decrypt_reencrypted, encrypt, generate_kfrags, reencrypt,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// The consortium shape of DESIGN.md §2.3 with f = 2: t = f + 1 of n = 3f + 1 validators.
const THRESHOLD_COUNT: usize = 3;
const SHARES_COUNT: usize = 7;
const ROUNDS_COUNT: usize = 3;
const REENCRYPT_ITERATIONS_COUNT: usize = 1000;
const DECRYPT_ITERATIONS_COUNT: usize = 500;
const RNG_SEED: u64 = 0x756d6272616c;

struct Fixture {
    receiving_sk: SecretKey,
    delegating_pk: PublicKey,
    capsule: Capsule,
    ciphertext: Vec<u8>,
    kfrags: Vec<VerifiedKeyFrag>,
    cfrags: Vec<VerifiedCapsuleFrag>,
}

fn fixture(rng: &mut ChaCha20Rng) -> anyhow::Result<Fixture> {
    let delegating_sk = SecretKey::random(rng);
    let receiving_sk = SecretKey::random(rng);
    let signer = Signer::new(&SecretKey::random(rng));
    let delegating_pk = delegating_sk.public_key();
    let (capsule, ciphertext) = encrypt(rng, &delegating_pk, &[0u8; 32])?;
    let params = KeyFragParams {
        threshold: THRESHOLD_COUNT,
        shares: SHARES_COUNT,
        sign_delegating_key: true,
        sign_receiving_key: true,
    };
    let kfrags = generate_kfrags(
        rng,
        &delegating_sk,
        &receiving_sk.public_key(),
        &signer,
        params,
    )?;
    let cfrags = kfrags[..THRESHOLD_COUNT]
        .iter()
        .map(|kfrag| reencrypt(rng, &capsule, kfrag))
        .collect::<Result<_, _>>()?;
    Ok(Fixture {
        receiving_sk,
        delegating_pk,
        capsule,
        ciphertext,
        kfrags,
        cfrags,
    })
}

fn ops_per_second(
    iterations: usize,
    mut operation: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<f64> {
    operation()?;
    let start = Instant::now();
    for _ in 0..iterations {
        operation()?;
    }
    Ok(iterations as f64 / start.elapsed().as_secs_f64())
}

fn ours(rng: &mut ChaCha20Rng, fixture: &Fixture) -> anyhow::Result<(f64, f64)> {
    let reencrypt_rate = ops_per_second(REENCRYPT_ITERATIONS_COUNT, || {
        std::hint::black_box(reencrypt(rng, &fixture.capsule, &fixture.kfrags[0])?);
        Ok(())
    })?;
    let decrypt_rate = ops_per_second(DECRYPT_ITERATIONS_COUNT, || {
        let plaintext = decrypt_reencrypted(
            &fixture.receiving_sk,
            &fixture.delegating_pk,
            &fixture.capsule,
            &fixture.cfrags,
            &fixture.ciphertext,
        )?;
        std::hint::black_box(plaintext);
        Ok(())
    })?;
    Ok((reencrypt_rate, decrypt_rate))
}

/// One round of the Python peer: (reencrypt ops/s, decrypt_reencrypted ops/s).
fn theirs(python: &str) -> anyhow::Result<(f64, f64)> {
    let request = serde_json::json!({
        "reencrypt_iterations": REENCRYPT_ITERATIONS_COUNT,
        "decrypt_iterations": DECRYPT_ITERATIONS_COUNT,
        "threshold": THRESHOLD_COUNT,
        "shares": SHARES_COUNT,
    });
    let answer = crate::peer::ask(python, "umbral_peer.py", &["bench"], &request)?;
    let rate = |key: &str| {
        answer[key]
            .as_f64()
            .with_context(|| format!("peer answer lacks {key}"))
    };
    Ok((
        rate("reencrypt_ops_per_s")?,
        rate("decrypt_reencrypted_ops_per_s")?,
    ))
}

/// Prints per-round figures and returns `umbral reencrypt_ratio=<r> decap_ratio=<r>`.
pub fn run() -> anyhow::Result<String> {
    let python = crate::peer::python()?;
    let mut rng = ChaCha20Rng::seed_from_u64(RNG_SEED);
    println!(
        "umbral: rng seed {RNG_SEED:#x}, t = {THRESHOLD_COUNT} of n = {SHARES_COUNT}, 32-byte payload"
    );
    let fixture = fixture(&mut rng)?;
    let (mut best_ours, mut best_theirs) = ((0.0f64, 0.0f64), (0.0f64, 0.0f64));
    for round in 1..=ROUNDS_COUNT {
        let (our_re, our_dec) = ours(&mut rng, &fixture)?;
        let (their_re, their_dec) = theirs(&python)?;
        println!(
            "round {round}: reencrypt medchain {our_re:.0}/s umbral-pre {their_re:.0}/s | \
             decrypt_reencrypted medchain {our_dec:.0}/s umbral-pre {their_dec:.0}/s"
        );
        best_ours = (best_ours.0.max(our_re), best_ours.1.max(our_dec));
        best_theirs = (best_theirs.0.max(their_re), best_theirs.1.max(their_dec));
    }
    let reencrypt_ratio = best_ours.0 / best_theirs.0;
    let decap_ratio = best_ours.1 / best_theirs.1;
    println!(
        "best of {ROUNDS_COUNT}: reencrypt {:.0}/s vs {:.0}/s (x{reencrypt_ratio:.2}), \
         decrypt_reencrypted (t = {THRESHOLD_COUNT}) {:.0}/s vs {:.0}/s (x{decap_ratio:.2})",
        best_ours.0, best_theirs.0, best_ours.1, best_theirs.1
    );
    Ok(format!(
        "umbral reencrypt_ratio={reencrypt_ratio:.2} decap_ratio={decap_ratio:.2}"
    ))
}
