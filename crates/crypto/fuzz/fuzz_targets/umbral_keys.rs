//! Public key, secret key and signature decoders: never panic, accepted input round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medchain_crypto::umbral::{PublicKey, SecretKey, Signature};

fuzz_target!(|data: &[u8]| {
    if let Ok(public_key) = PublicKey::from_compressed_bytes(data) {
        assert_eq!(public_key.to_compressed_bytes().as_slice(), data);
    }
    if let Ok(secret_key) = SecretKey::from_be_bytes(data) {
        assert_eq!(secret_key.to_be_bytes().as_slice(), data);
    }
    if let Ok(signature) = Signature::from_be_bytes(data) {
        assert_eq!(signature.to_be_bytes().as_slice(), data);
    }
});
