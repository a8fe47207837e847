//! Key fragment decoder: never panics, accepted input re-encodes identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medchain_crypto::umbral::KeyFrag;

fuzz_target!(|data: &[u8]| {
    if let Ok(kfrag) = KeyFrag::from_bytes(data) {
        assert_eq!(kfrag.to_bytes(), data);
    }
});
