//! Verification of arbitrary signatures against a fixed ring never panics and never accepts:
//! forging a signature for this ring would need one of its secret keys.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medchain_crypto::ring::{Ring, RingSecretKey, RingSignature, verify};

fuzz_target!(|data: &[u8]| {
    let members = (1u8..=3)
        .map(|i| RingSecretKey::from_bytes(&[i; 32]).expect("small constant keys are valid").public_key())
        .collect();
    let ring = Ring::new(members).expect("three distinct members");
    if let Ok(signature) = RingSignature::from_bytes(data) {
        assert!(verify(&ring, b"fuzz", b"message", &signature).is_err());
    }
});
