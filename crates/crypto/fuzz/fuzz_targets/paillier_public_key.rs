//! Public key decoder: never panics; whatever it accepts re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medchain_crypto::paillier::PublicKey;

fuzz_target!(|data: &[u8]| {
    if let Ok(pk) = PublicKey::from_bytes(data) {
        assert_eq!(pk.to_bytes(), data, "accepted encodings are canonical");
    }
});
