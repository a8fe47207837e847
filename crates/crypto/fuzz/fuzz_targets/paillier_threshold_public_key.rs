//! Threshold public key decoder: never panics; whatever it accepts re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medchain_crypto::paillier::threshold::ThresholdPublicKey;

fuzz_target!(|data: &[u8]| {
    if let Ok(tpk) = ThresholdPublicKey::from_bytes(data) {
        assert_eq!(tpk.to_bytes(), data, "accepted encodings are canonical");
    }
});
