//! Capsule fragment decoder: never panics, accepted input re-encodes identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medchain_crypto::umbral::CapsuleFrag;

fuzz_target!(|data: &[u8]| {
    if let Ok(cfrag) = CapsuleFrag::from_bytes(data) {
        assert_eq!(cfrag.to_bytes(), data);
    }
});
