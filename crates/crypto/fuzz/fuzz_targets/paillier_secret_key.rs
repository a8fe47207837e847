//! Secret key decoder: never panics; whatever it accepts re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medchain_crypto::paillier::SecretKey;

fuzz_target!(|data: &[u8]| {
    if let Ok(sk) = SecretKey::from_bytes(data) {
        assert_eq!(sk.to_bytes().as_slice(), data, "accepted encodings are canonical");
    }
});
