//! Capsule decoder: never panics, and whatever it accepts re-encodes to the same bytes (strict,
//! one encoding per capsule).
#![no_main]

use libfuzzer_sys::fuzz_target;
use medchain_crypto::umbral::Capsule;

fuzz_target!(|data: &[u8]| {
    if let Ok(capsule) = Capsule::from_bytes(data) {
        assert_eq!(capsule.to_bytes(), data);
    }
});
