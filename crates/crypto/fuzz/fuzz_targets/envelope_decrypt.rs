//! Any bytes given to the envelope decoder get an error or a plaintext that seals back to the
//! very same envelope (the format has exactly one encoding per key, nonce and plaintext).
#![no_main]

use libfuzzer_sys::fuzz_target;
use medchain_crypto::envelope::{DataKey, decrypt, encrypt, header::Header};

fuzz_target!(|data: &[u8]| {
    let key = DataKey::from_bytes([0x42; 32]);
    if let Ok((plaintext, summary)) = decrypt(&key, data) {
        let header = Header::decode(data).expect("a decrypted envelope has a valid header");
        let again = encrypt(&key, header.nonce_prefix, &plaintext).expect("re-encryption succeeds");
        assert_eq!(again.envelope, data);
        assert_eq!(again.summary, summary);
    }
});
