//! The key-file decoder never panics on arbitrary bytes. Inputs whose (valid) cost parameters
//! ask for more than 64 MiB are only inspected, not opened, to stay inside libFuzzer's memory
//! limit; the range checks on those parameters run either way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medchain_crypto::keys::file::{inspect_key_file, open_key_file};

/// Largest Argon2 memory the fuzzer lets a file spend.
const FUZZ_MEMORY_MAX_KIB: u32 = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    match inspect_key_file(data) {
        Ok(params) if params.memory_kib <= FUZZ_MEMORY_MAX_KIB && params.passes <= 4 => {
            assert!(open_key_file(data, b"fuzz passphrase").is_err());
        }
        Ok(_) => {}
        Err(inspect_error) => {
            assert_eq!(open_key_file(data, b"fuzz passphrase").unwrap_err(), inspect_error);
        }
    }
});
