//! Ring, public key, key image and signature decoders never panic and accept only canonical
//! encodings (what decodes re-encodes to the same bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use medchain_crypto::ring::{KeyImage, Ring, RingPublicKey, RingSignature};

fuzz_target!(|data: &[u8]| {
    if let Ok(signature) = RingSignature::from_bytes(data) {
        assert_eq!(signature.to_bytes(), data);
    }
    if let Ok(ring) = Ring::from_bytes(data) {
        assert_eq!(ring.to_bytes(), data);
    }
    if let Ok(element) = <[u8; 32]>::try_from(data) {
        if let Ok(key) = RingPublicKey::from_bytes(&element) {
            assert_eq!(key.to_bytes(), element);
        }
        if let Ok(image) = KeyImage::from_bytes(&element) {
            assert_eq!(image.to_bytes(), element);
        }
    }
});
