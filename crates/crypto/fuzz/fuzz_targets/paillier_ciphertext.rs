//! Ciphertext decoder: never panics; whatever it accepts re-encodes to the same bytes.
#![no_main]

#[path = "paillier_fixture.rs"]
mod fixture;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use medchain_crypto::paillier::{Ciphertext, PublicKey};

static KEY: LazyLock<PublicKey> = LazyLock::new(fixture::public_key);

fuzz_target!(|data: &[u8]| {
    if let Ok(ct) = Ciphertext::from_bytes(&KEY, data) {
        assert_eq!(ct.to_bytes(&KEY), data, "accepted encodings are canonical");
    }
});
