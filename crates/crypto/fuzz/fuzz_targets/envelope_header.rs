//! The header decoder never panics, and what it accepts re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medchain_crypto::envelope::header::{HEADER_SIZE_BYTES, Header};

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = Header::decode(data) {
        assert_eq!(&header.encode()[..], &data[..HEADER_SIZE_BYTES]);
    }
});
