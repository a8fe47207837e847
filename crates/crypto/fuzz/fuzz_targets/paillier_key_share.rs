//! Key share decoder: never panics; whatever it accepts re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medchain_crypto::paillier::threshold::KeyShare;

fuzz_target!(|data: &[u8]| {
    if let Ok(share) = KeyShare::from_bytes(data) {
        assert_eq!(share.to_bytes().as_slice(), data, "accepted encodings are canonical");
    }
});
