//! Ring signature (bLSAG over ristretto255) signing and verification time for 16, 64 and 256
//! members, against the time of one ristretto255 scalar multiplication measured in the same run.
//!
//! Sketch: verification costs, per member, one variable-time double scalar multiplication with
//! the base point, one variable-time two-point multiscalar multiplication, one hash-to-point
//! (SHA-512 and two Elligator maps) and one SHA-512: about 3 scalar multiplications. With a
//! scalar multiplication near 30 µs on this shared core that is about 90 µs per member, 6 ms
//! for 64 members; the target is under 5 ms, so the ratio column (cost per member in scalar
//! multiplications) is what to watch. Signing uses constant-time arithmetic throughout (so the
//! signer's position does not show in timing) and costs roughly twice a verification.
//! "prepared" is verification against a [`PreparedRing`] (hash-to-point bases cached per study),
//! the common case when a study checks all its contributions; "verify" includes everything.
//! Times are medians of thread CPU time (the machine is shared with other builds, which
//! inflates wall time by up to 2x); wall-clock median and best are printed beside.

use std::hint::black_box;

use crate::timing::Timing;

use curve25519_dalek::{ristretto::RistrettoPoint, scalar::Scalar};
use medchain_crypto::ring::{PreparedRing, Ring, RingSecretKey, sign, verify};
use medchain_crypto::rng::seeded_u64;

const RING_SIZES_MEMBERS: [usize; 3] = [16, 64, 256];
/// Each measurement repeats until it has run this long and at least `REPETITIONS_MIN` times.
const MEASURE_MIN_MS: u64 = 1000;
const REPETITIONS_MIN: usize = 5;
const SEED: u64 = 2026;
const CONTEXT: &[u8] = b"study:bench";
const MESSAGE: &[u8] = b"contribution";

fn time(work: impl FnMut()) -> Timing {
    crate::timing::time(MEASURE_MIN_MS, REPETITIONS_MIN, work)
}

/// One constant-time ristretto255 variable-base scalar multiplication, in microseconds.
fn scalar_mul_us() -> f64 {
    let point = RistrettoPoint::mul_base(&Scalar::from(12345u64));
    let scalar = Scalar::from_bytes_mod_order([0x5a; 32]);
    const BATCH: usize = 200;
    let timing = time(|| {
        let mut acc = point;
        for _ in 0..BATCH {
            acc = black_box(scalar) * acc;
        }
        black_box(acc);
    });
    timing.cpu_median_s / BATCH as f64 * 1e6
}

pub fn run() -> anyhow::Result<String> {
    println!(
        "ring: bLSAG over ristretto255, seed {SEED}; times are thread CPU time unless marked wall"
    );
    let reference_us = scalar_mul_us();
    println!("  reference: one ristretto255 scalar multiplication = {reference_us:.1} µs");
    println!(
        "  {:>7} {:>9} {:>10} {:>10} {:>10} {:>12} {:>12} {:>14}",
        "members",
        "sign ms",
        "verify ms",
        "wall med",
        "wall best",
        "prepared ms",
        "verify µs/m",
        "scalar-muls/m"
    );
    let mut rng = seeded_u64(SEED);
    let mut at_64 = (0.0, 0.0);
    for members in RING_SIZES_MEMBERS {
        let secrets: Vec<RingSecretKey> = (0..members)
            .map(|_| RingSecretKey::generate(&mut rng))
            .collect();
        let ring = Ring::new(secrets.iter().map(RingSecretKey::public_key).collect())?;
        let signer = &secrets[members / 3];
        let signing = time(|| {
            black_box(sign(&mut rng, signer, &ring, CONTEXT, MESSAGE).expect("signer is a member"));
        });
        let signature = sign(&mut rng, signer, &ring, CONTEXT, MESSAGE)?;
        let verifying = time(|| {
            verify(&ring, CONTEXT, MESSAGE, &signature).expect("fresh signature verifies");
        });
        let prepared = PreparedRing::new(ring.clone(), CONTEXT)?;
        let prepared_verifying = time(|| {
            prepared
                .verify(MESSAGE, &signature)
                .expect("fresh signature verifies");
        });
        let (sign_ms, verify_ms) = (signing.cpu_median_s * 1e3, verifying.cpu_median_s * 1e3);
        let per_member_us = verify_ms * 1e3 / members as f64;
        println!(
            "  {members:>7} {sign_ms:>9.2} {verify_ms:>10.2} {:>10.2} {:>10.2} {:>12.2} {per_member_us:>12.1} {:>14.2}",
            verifying.wall_median_s * 1e3,
            verifying.wall_best_s * 1e3,
            prepared_verifying.cpu_median_s * 1e3,
            per_member_us / reference_us
        );
        if members == 64 {
            at_64 = (sign_ms, verify_ms);
        }
    }
    println!(
        "  target: 64-member verify under 5 ms: {}",
        if at_64.1 < 5.0 { "met" } else { "MISSED" }
    );
    let summary = format!("ring n=64 sign_ms={:.2} verify_ms={:.2}", at_64.0, at_64.1);
    println!("{summary}");
    Ok(summary)
}
