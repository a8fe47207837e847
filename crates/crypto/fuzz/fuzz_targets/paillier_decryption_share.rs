//! Decryption share decoder and proof verifier: never panic; accepted encodings are canonical.
#![no_main]

#[path = "paillier_fixture.rs"]
mod fixture;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use medchain_crypto::paillier::threshold::{DecryptionShare, ThresholdPublicKey};
use medchain_crypto::paillier::{Ciphertext, Integer};

static KEY: LazyLock<(ThresholdPublicKey, Ciphertext)> = LazyLock::new(|| {
    let (tpk, _) = fixture::threshold_key();
    let ct = Ciphertext::from_integer(tpk.public_key(), Integer::from(tpk.public_key().n() + 1u32))
        .expect("1 + n encrypts 1");
    (tpk, ct)
});

fuzz_target!(|data: &[u8]| {
    let (tpk, ct) = &*KEY;
    if let Ok(share) = DecryptionShare::from_bytes(tpk, data) {
        assert_eq!(share.to_bytes(tpk), data, "accepted encodings are canonical");
        let _ = tpk.verify_share(ct, &share);
    }
});
