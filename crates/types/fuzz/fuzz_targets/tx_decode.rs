//! The transaction decoder (what `POST /v1/tx` and every block's transactions go through)
//! never panics, accepts only canonical encodings, and everything after it (stateless
//! validation, signature check, hashing) runs on whatever it accepts without panicking.
#![no_main]

use commonware_codec::Encode as _;
use libfuzzer_sys::fuzz_target;
use medchain_types::SignedTransaction;

fuzz_target!(|data: &[u8]| {
    let Ok(tx) = SignedTransaction::decode_bounded(data) else {
        return;
    };
    assert_eq!(
        tx.encode().as_ref(),
        data,
        "accepted a non-canonical encoding"
    );
    let _ = tx.validate();
    let _ = tx.verify();
    assert_eq!(tx.hash(), tx.hash());
    let again = SignedTransaction::decode_bounded(data).expect("decodes twice the same");
    assert_eq!(again.hash(), tx.hash());
});
