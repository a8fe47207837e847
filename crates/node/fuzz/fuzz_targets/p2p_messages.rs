//! Every message a node decodes from its p2p channels, as the engine decodes it: the consensus
//! channels' varint epoch prefix (the orchestrator's mux), then a simplex vote or certificate
//! (certificates with the codec bound of a four-validator epoch), a marshal backfill request,
//! or a block (broadcast and backfill responses). Nothing panics; what decodes re-encodes to
//! the same bytes.
#![no_main]

use bytes::Bytes;
use commonware_codec::{Decode as _, DecodeExt as _, ReadExt as _, varint::UInt};
use commonware_consensus::{
    marshal::resolver::handler::Key as BackfillKey,
    simplex::{
        scheme::ed25519 as ed25519_scheme,
        types::{Certificate, Vote},
    },
};
use commonware_cryptography::{Signer as _, certificate::Verifier as _, ed25519, sha256};
use commonware_utils::{TryCollect as _, ordered::Set};
use libfuzzer_sys::fuzz_target;
use medchain_verify::Block;
use std::sync::LazyLock;

/// The verifier of a four-validator epoch, for the certificate codec's participant bound.
static SCHEME: LazyLock<ed25519_scheme::Scheme> = LazyLock::new(|| {
    let keys: Vec<ed25519::PrivateKey> = (0..4).map(ed25519::PrivateKey::from_seed).collect();
    let set: Set<ed25519::PublicKey> = keys.iter().map(|k| k.public_key()).try_collect().unwrap();
    ed25519_scheme::Scheme::signer(&medchain_verify::consensus_namespace("fuzz"), set, keys[0].clone())
        .unwrap()
});

fn canonical<T: commonware_codec::Encode>(value: &T, data: &[u8]) {
    assert_eq!(
        value.encode().as_ref(),
        data,
        "accepted a non-canonical message"
    );
}

fuzz_target!(|data: &[u8]| {
    // Consensus channels: epoch prefix, then the simplex message.
    let mut rest = Bytes::copy_from_slice(data);
    if UInt::<u64>::read(&mut rest).is_ok() {
        if let Ok(vote) = Vote::<ed25519_scheme::Scheme, sha256::Digest>::decode(rest.clone()) {
            canonical(&vote, &rest);
        }
        if let Ok(certificate) = Certificate::<ed25519_scheme::Scheme, sha256::Digest>::decode_cfg(
            rest.clone(),
            &SCHEME.certificate_codec_config(),
        ) {
            canonical(&certificate, &rest);
        }
    }
    // Marshal backfill requests and the blocks that broadcast and backfill carry.
    if let Ok(key) = BackfillKey::<sha256::Digest>::decode(Bytes::copy_from_slice(data)) {
        canonical(&key, data);
    }
    if let Ok(block) = Block::decode(Bytes::copy_from_slice(data)) {
        canonical(&block, data);
    }
});
