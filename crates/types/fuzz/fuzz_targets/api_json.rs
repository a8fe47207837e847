//! The HTTP API's JSON bodies, both ways: what a node parses from a client (`SubmitRequest`,
//! then the hex and transaction decoding the submit handler does, and the ids in request
//! paths) and what a client parses from a node it does not trust (status, transaction status,
//! blocks, proofs, validators, errors). Nothing panics; what parses re-serializes and parses
//! back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medchain_types::{
    AccountId, ConsentId, InstitutionId, ProposalId, RecordId, SignedTransaction, TxHash,
    api::{
        BlockResponse, ErrorBody, NonceResponse, StateProof, StatusResponse, SubmitRequest,
        TxStatusResponse, ValidatorsResponse,
    },
    limits,
};
use serde::{Serialize, de::DeserializeOwned};
use std::fmt::Debug;

/// Parses `data` as `T`; what parses must survive a round trip unchanged.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(data: &[u8]) -> Option<T> {
    let value: T = serde_json::from_slice(data).ok()?;
    let json = serde_json::to_vec(&value).expect("a parsed body serializes");
    let back: T = serde_json::from_slice(&json).expect("a serialized body parses");
    assert_eq!(back, value);
    Some(value)
}

fuzz_target!(|data: &[u8]| {
    // What the submit handler does with a body, in order.
    if let Some(request) = round_trip::<SubmitRequest>(data)
        && let Ok(bytes) = hex::decode(request.transaction.trim())
        && bytes.len() <= limits::TX_SIZE_MAX_BYTES
        && let Ok(tx) = SignedTransaction::decode_bounded(&bytes)
    {
        let _ = tx.validate();
    }
    round_trip::<StatusResponse>(data);
    round_trip::<TxStatusResponse>(data);
    round_trip::<NonceResponse>(data);
    round_trip::<BlockResponse>(data);
    round_trip::<StateProof>(data);
    round_trip::<ValidatorsResponse>(data);
    round_trip::<ErrorBody>(data);
    // Path parameters.
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = text.parse::<AccountId>();
        let _ = text.parse::<TxHash>();
        let _ = text.parse::<RecordId>();
        let _ = text.parse::<ConsentId>();
        let _ = text.parse::<ProposalId>();
        let _ = InstitutionId::new(text);
    }
});
