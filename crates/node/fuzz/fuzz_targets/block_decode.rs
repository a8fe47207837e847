//! The block decoder (blocks arrive by broadcast and by marshal backfill from any peer) never
//! panics and accepts only canonical encodings; a block it accepts digests, and its roster and
//! transactions are within their limits.
#![no_main]

use commonware_codec::{DecodeExt as _, Encode as _};
use commonware_cryptography::Digestible as _;
use libfuzzer_sys::fuzz_target;
use medchain_verify::Block;
use medchain_types::limits;

fuzz_target!(|data: &[u8]| {
    let Ok(block) = Block::decode(bytes::Bytes::copy_from_slice(data)) else {
        return;
    };
    assert_eq!(
        block.encode().as_ref(),
        data,
        "accepted a non-canonical block"
    );
    assert!(block.transactions.len() <= limits::BLOCK_TRANSACTIONS_MAX);
    assert!(block.next_roster.len() <= limits::VALIDATORS_MAX);
    assert_eq!(block.digest(), block.digest());
    for tx in &block.transactions {
        let _ = tx.validate();
    }
});
