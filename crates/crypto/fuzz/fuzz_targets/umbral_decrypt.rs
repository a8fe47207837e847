//! DEM decryption of arbitrary ciphertexts under a fixed key and capsule: never panics, and
//! nothing but the one genuine ciphertext could authenticate (the fuzzer cannot forge a tag).
#![no_main]

use libfuzzer_sys::fuzz_target;
use medchain_crypto::umbral::{Capsule, SecretKey, decrypt_original};

// A fixed key pair and a capsule for it; the capsule bytes come from the fuzzer's first 105
// bytes when they decode, so both the capsule and the ciphertext decoders are exercised.
fuzz_target!(|data: &[u8]| {
    let secret_key = SecretKey::from_be_bytes(&[7u8; 32]).expect("7..7 is a valid scalar");
    let Some((capsule_bytes, ciphertext)) = data.split_at_checked(105) else {
        return;
    };
    if let Ok(capsule) = Capsule::from_bytes(capsule_bytes) {
        let _ = decrypt_original(&secret_key, &capsule, ciphertext);
    }
});
