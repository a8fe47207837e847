//! HPKE opening and public-key decoding never panic on arbitrary bytes, and nothing opens that
//! was not sealed to the key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medchain_crypto::keys::{EncryptionPublicKey, EncryptionSecretKey, open_with};

fuzz_target!(|data: &[u8]| {
    let (secret, _) = EncryptionSecretKey::derive(&[9; 32]);
    assert!(open_with(&secret, b"fuzz", b"", data).is_err());
    if let Ok(bytes) = <[u8; 32]>::try_from(data) {
        if let Ok(public) = EncryptionPublicKey::from_bytes(&bytes) {
            assert_eq!(public.to_bytes(), bytes);
        }
    }
});
