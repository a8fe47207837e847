//! Pseudonym key derivation, HPKE sealing to a public key and passphrase key files.

mod common;
use common::assert_vectors;

use commonware_cryptography::{Signer as _, Verifier as _};
use medchain_crypto::keys::file::{
    self, KEY_FILE_LANES_MAX, KEY_FILE_LANES_MIN, KEY_FILE_MEMORY_MAX_KIB, KEY_FILE_MEMORY_MIN_KIB,
    KEY_FILE_PASSES_MAX, KEY_FILE_PASSES_MIN, KEY_FILE_PASSPHRASE_MAX_BYTES,
    KEY_FILE_SECRET_MAX_BYTES, KeyFileError, KeyFileParams, open_key_file, seal_key_file,
};
use medchain_crypto::keys::hpke::{SEAL_OVERHEAD_BYTES, SEAL_PLAINTEXT_MAX_BYTES};
use medchain_crypto::keys::{
    DERIVED_SIZE_MAX_BYTES, EncryptionSecretKey, INSTITUTION_ID_SIZE_MAX_BYTES, KeyError,
    KeyPurpose, MasterSeed, open_with, seal_to,
};
use medchain_crypto::ring::{Ring, sign, verify};
use medchain_crypto::rng::seeded_u64;
use proptest::prelude::*;

fn seed() -> MasterSeed {
    MasterSeed::from_bytes(std::array::from_fn(|i| i as u8))
}

#[test]
fn derivation_is_deterministic() {
    let a = seed().pseudonym_keys(b"hospital-a").unwrap().public_keys();
    let b = seed().pseudonym_keys(b"hospital-a").unwrap().public_keys();
    assert_eq!(a, b);
}

#[test]
fn pseudonyms_at_two_institutions_share_no_key() {
    let at_a = seed().pseudonym_keys(b"hospital-a").unwrap();
    let at_b = seed().pseudonym_keys(b"hospital-b").unwrap();
    let (pa, pb) = (at_a.public_keys(), at_b.public_keys());
    assert_ne!(pa.signing, pb.signing);
    assert_ne!(pa.encryption, pb.encryption);
    assert_ne!(pa.ring, pb.ring);
    assert_ne!(at_a.pre.as_bytes(), at_b.pre.as_bytes());
    // Even the linkability tag differs: the two pseudonyms' key images in one study are unrelated.
    let mut rng = seeded_u64(1);
    let ring = Ring::new(vec![pa.ring, pb.ring]).unwrap();
    let sig_a = sign(&mut rng, &at_a.ring, &ring, b"study:x", b"m").unwrap();
    let sig_b = sign(&mut rng, &at_b.ring, &ring, b"study:x", b"m").unwrap();
    assert!(!sig_a.links_to(&sig_b));
}

#[test]
fn purposes_get_independent_bytes() {
    let purposes = [
        KeyPurpose::Signing,
        KeyPurpose::Encryption,
        KeyPurpose::ProxyReEncryption,
        KeyPurpose::Ring,
    ];
    let outputs: Vec<[u8; 32]> = purposes
        .iter()
        .map(|&p| {
            let mut out = [0u8; 32];
            seed().derive_bytes(b"hospital-a", p, &mut out).unwrap();
            out
        })
        .collect();
    for i in 0..outputs.len() {
        for j in i + 1..outputs.len() {
            assert_ne!(
                outputs[i], outputs[j],
                "{:?} vs {:?}",
                purposes[i], purposes[j]
            );
        }
    }
}

#[test]
fn institution_id_limits_are_enforced() {
    assert_eq!(
        seed().pseudonym_keys(b"").unwrap_err(),
        KeyError::EmptyInstitutionId
    );
    let longest = vec![b'i'; INSTITUTION_ID_SIZE_MAX_BYTES];
    assert!(seed().pseudonym_keys(&longest).is_ok());
    let too_long = vec![b'i'; INSTITUTION_ID_SIZE_MAX_BYTES + 1];
    assert_eq!(
        seed().pseudonym_keys(&too_long).unwrap_err(),
        KeyError::InstitutionIdTooLong {
            got_bytes: INSTITUTION_ID_SIZE_MAX_BYTES + 1
        }
    );
}

#[test]
fn derivation_length_limit_is_enforced() {
    let mut longest = [0u8; DERIVED_SIZE_MAX_BYTES];
    seed()
        .derive_bytes(b"hospital-a", KeyPurpose::Ring, &mut longest)
        .unwrap();
    let mut prefix = [0u8; 32];
    seed()
        .derive_bytes(b"hospital-a", KeyPurpose::Ring, &mut prefix)
        .unwrap();
    assert_eq!(
        prefix[..],
        longest[..32],
        "HKDF output is a prefix-stable stream"
    );
    let mut too_long = [0u8; DERIVED_SIZE_MAX_BYTES + 1];
    assert_eq!(
        seed()
            .derive_bytes(b"hospital-a", KeyPurpose::Ring, &mut too_long)
            .unwrap_err(),
        KeyError::DerivedTooLong {
            got_bytes: DERIVED_SIZE_MAX_BYTES + 1
        }
    );
}

#[test]
fn master_seed_length_is_checked() {
    assert_eq!(
        MasterSeed::from_slice(&[1u8; 31]).unwrap_err(),
        KeyError::BadSeedLength { got_bytes: 31 }
    );
    assert_eq!(
        MasterSeed::from_slice(&[1u8; 32]).unwrap().as_bytes(),
        &[1u8; 32]
    );
}

#[test]
fn derived_keys_sign_verify_and_ring_sign() {
    let keys = seed().pseudonym_keys(b"hospital-a").unwrap();
    let public = keys.public_keys();
    let signature = keys.signing.sign(b"medchain-tx", b"consent granted");
    assert!(
        public
            .signing
            .verify(b"medchain-tx", b"consent granted", &signature)
    );
    assert!(
        !public
            .signing
            .verify(b"medchain-tx", b"consent revoked", &signature)
    );
    let mut rng = seeded_u64(2);
    let other = MasterSeed::generate(&mut rng)
        .pseudonym_keys(b"hospital-a")
        .unwrap();
    let ring = Ring::new(vec![other.public_keys().ring, public.ring]).unwrap();
    let ring_signature = sign(&mut rng, &keys.ring, &ring, b"study:y", b"m").unwrap();
    assert_eq!(verify(&ring, b"study:y", b"m", &ring_signature), Ok(()));
}

#[test]
fn secrets_never_show_in_debug_output() {
    let keys = seed().pseudonym_keys(b"hospital-a").unwrap();
    assert_eq!(format!("{:?}", seed()), "MasterSeed(<redacted>)");
    assert_eq!(format!("{keys:?}"), "PseudonymKeys(<redacted>)");
    assert_eq!(format!("{:?}", keys.pre), "PreSecret(<redacted>)");
    assert_eq!(
        format!("{:?}", keys.encryption),
        "EncryptionSecretKey(<redacted>)"
    );
    assert!(!format!("{:?}", keys.signing).contains(&hex::encode(&seed().as_bytes()[..4])));
}

#[test]
fn known_answer_derivation_matches() {
    let mut vectors = Vec::new();
    for institution in [&b"hospital-a"[..], b"lab-b"] {
        let mut derived = serde_json::Map::new();
        for (name, purpose, len) in [
            ("signing_seed", KeyPurpose::Signing, 32),
            ("encryption_ikm", KeyPurpose::Encryption, 32),
            ("pre_secret", KeyPurpose::ProxyReEncryption, 32),
            ("ring_wide", KeyPurpose::Ring, 64),
        ] {
            let mut out = vec![0u8; len];
            seed().derive_bytes(institution, purpose, &mut out).unwrap();
            derived.insert(name.into(), hex::encode(out).into());
        }
        let public = seed().pseudonym_keys(institution).unwrap().public_keys();
        vectors.push(serde_json::json!({
            "institution": String::from_utf8_lossy(institution),
            "derived": derived,
            "ed25519_public": hex::encode(public.signing.as_ref()),
            "x25519_public": hex::encode(public.encryption.to_bytes()),
            "ristretto255_ring_public": hex::encode(public.ring.to_bytes()),
        }));
    }
    assert_vectors(
        "keys_derivation_v1.json",
        serde_json::json!({
            "scheme": "HKDF-SHA256, salt 'medchain/pseudonym-keys', info 'medchain/pseudonym-keys/v1' || u8 len || institution || u8 len || purpose",
            "master_seed": hex::encode(seed().as_bytes()),
            "vectors": vectors,
        }),
    );
}

/// A key file sealed with the minimum Argon2id cost, salt and nonce from ChaCha20 seeded with
/// 32 bytes of 0x33; the peer script re-derives the key with libsodium and opens it.
#[test]
fn known_answer_key_file_matches() {
    let mut rng = medchain_crypto::rng::seeded([0x33; 32]);
    let secret: [u8; 32] = std::array::from_fn(|i| 0xc0 ^ i as u8);
    let passphrase = b"correct horse battery staple";
    let sealed = seal_key_file(&mut rng, &secret, passphrase, KeyFileParams::MINIMUM).unwrap();
    assert_eq!(&open_key_file(&sealed, passphrase).unwrap()[..], &secret);
    assert_vectors(
        "keys_file_v1.json",
        serde_json::json!({
            "scheme": "medchain key file v1: Argon2id v0x13 -> 64 bytes (key || check), XChaCha20-Poly1305, AD = header",
            "rng": "ChaCha20Rng seeded with 32 bytes 0x33 (salt, then nonce)",
            "params": { "memory_kib": KeyFileParams::MINIMUM.memory_kib, "passes": KeyFileParams::MINIMUM.passes, "lanes": KeyFileParams::MINIMUM.lanes },
            "passphrase": String::from_utf8_lossy(passphrase),
            "secret": hex::encode(secret),
            "file": hex::encode(&sealed),
        }),
    );
}

#[test]
fn sealed_message_opens_only_for_its_recipient() {
    let mut rng = seeded_u64(3);
    let (secret, public) = EncryptionSecretKey::generate(&mut rng);
    let (other, _) = EncryptionSecretKey::generate(&mut rng);
    let sealed = seal_to(
        &mut rng,
        &public,
        b"kfrag",
        b"validator-2",
        b"fragment bytes",
    )
    .unwrap();
    assert_eq!(sealed.len(), b"fragment bytes".len() + SEAL_OVERHEAD_BYTES);
    assert_eq!(
        &open_with(&secret, b"kfrag", b"validator-2", &sealed).unwrap()[..],
        b"fragment bytes"
    );
    assert_eq!(
        open_with(&other, b"kfrag", b"validator-2", &sealed).unwrap_err(),
        KeyError::OpenFailed
    );
    assert_eq!(
        open_with(&secret, b"other", b"validator-2", &sealed).unwrap_err(),
        KeyError::OpenFailed
    );
    assert_eq!(
        open_with(&secret, b"kfrag", b"validator-3", &sealed).unwrap_err(),
        KeyError::OpenFailed
    );
    let mut tampered = sealed.clone();
    tampered[40] ^= 1;
    assert_eq!(
        open_with(&secret, b"kfrag", b"validator-2", &tampered).unwrap_err(),
        KeyError::OpenFailed
    );
    assert_eq!(
        open_with(
            &secret,
            b"kfrag",
            b"validator-2",
            &sealed[..SEAL_OVERHEAD_BYTES - 1]
        )
        .unwrap_err(),
        KeyError::SealedTooShort {
            got_bytes: SEAL_OVERHEAD_BYTES - 1
        }
    );
}

#[test]
fn seal_size_limit_is_enforced() {
    let mut rng = seeded_u64(4);
    let (secret, public) = EncryptionSecretKey::generate(&mut rng);
    let largest = vec![9u8; SEAL_PLAINTEXT_MAX_BYTES];
    let sealed = seal_to(&mut rng, &public, b"", b"", &largest).unwrap();
    assert_eq!(
        open_with(&secret, b"", b"", &sealed).unwrap().len(),
        SEAL_PLAINTEXT_MAX_BYTES
    );
    let too_large = vec![9u8; SEAL_PLAINTEXT_MAX_BYTES + 1];
    let expected = KeyError::SealPlaintextTooLarge {
        got_bytes: SEAL_PLAINTEXT_MAX_BYTES + 1,
    };
    assert_eq!(
        seal_to(&mut rng, &public, b"", b"", &too_large).unwrap_err(),
        expected
    );
    let oversized = vec![0u8; SEAL_PLAINTEXT_MAX_BYTES + 1 + SEAL_OVERHEAD_BYTES];
    assert_eq!(
        open_with(&secret, b"", b"", &oversized).unwrap_err(),
        expected
    );
}

#[test]
fn small_order_and_off_curve_encryption_keys_are_refused() {
    let mut u_one = [0u8; 32];
    u_one[0] = 1;
    // u = 2^255 - 20 (= p + 1, non-canonical encoding of u = 1).
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    // u = 2: its Edwards y = 1/3 has no x, so the point lies on the twist, not the curve.
    let mut twist = [0u8; 32];
    twist[0] = 2;
    for bad in [[0u8; 32], u_one, non_canonical, twist] {
        assert_eq!(
            medchain_crypto::keys::EncryptionPublicKey::from_bytes(&bad).unwrap_err(),
            KeyError::InvalidEncryptionKey,
            "{}",
            hex::encode(bad)
        );
    }
}

#[test]
fn encryption_key_bytes_round_trip() {
    let mut rng = seeded_u64(5);
    let (secret, public) = EncryptionSecretKey::generate(&mut rng);
    let restored = EncryptionSecretKey::from_bytes(&secret.to_bytes());
    assert_eq!(restored.public_key(), public);
    let restored_public =
        medchain_crypto::keys::EncryptionPublicKey::from_bytes(&public.to_bytes()).unwrap();
    assert_eq!(restored_public, public);
}

const FAST: KeyFileParams = KeyFileParams::MINIMUM;

fn sealed_file() -> Vec<u8> {
    let mut rng = seeded_u64(6);
    seal_key_file(&mut rng, &[0x11; 32], b"correct horse", FAST).unwrap()
}

#[test]
fn key_file_round_trips() {
    let file = sealed_file();
    assert_eq!(
        file.len(),
        file::HEADER_SIZE_BYTES + 32 + file::TAG_SIZE_BYTES
    );
    assert_eq!(
        &open_key_file(&file, b"correct horse").unwrap()[..],
        &[0x11; 32]
    );
}

#[test]
fn inspection_shows_the_cost_without_the_passphrase() {
    assert_eq!(file::inspect_key_file(&sealed_file()).unwrap(), FAST);
    assert_eq!(
        file::inspect_key_file(b"MEDCHKEY").unwrap_err(),
        KeyFileError::Truncated {
            got_bytes: 8,
            expected_bytes: file::HEADER_SIZE_BYTES + 1 + file::TAG_SIZE_BYTES
        }
    );
}

#[test]
fn key_file_errors_are_distinct() {
    let file = sealed_file();
    assert_eq!(
        open_key_file(&file, b"wrong horse").unwrap_err(),
        KeyFileError::WrongPassphrase
    );
    let mut tampered = file.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert_eq!(
        open_key_file(&tampered, b"correct horse").unwrap_err(),
        KeyFileError::Tampered
    );
    let expected_bytes = file.len();
    assert_eq!(
        open_key_file(&file[..file.len() - 1], b"correct horse").unwrap_err(),
        KeyFileError::Truncated {
            got_bytes: expected_bytes - 1,
            expected_bytes
        }
    );
    assert!(matches!(
        open_key_file(&file[..40], b"x").unwrap_err(),
        KeyFileError::Truncated { got_bytes: 40, .. }
    ));
    let mut longer = file.clone();
    longer.push(0);
    assert_eq!(
        open_key_file(&longer, b"correct horse").unwrap_err(),
        KeyFileError::TrailingBytes { extra_bytes: 1 }
    );
    let mut future = file.clone();
    future[8] = 2;
    assert_eq!(
        open_key_file(&future, b"correct horse").unwrap_err(),
        KeyFileError::UnsupportedVersion { version: 2 }
    );
    let mut foreign = file.clone();
    foreign[0] = b'X';
    assert_eq!(
        open_key_file(&foreign, b"correct horse").unwrap_err(),
        KeyFileError::NotAKeyFile
    );
    let mut kdf = file.clone();
    kdf[9] = 7;
    assert_eq!(
        open_key_file(&kdf, b"correct horse").unwrap_err(),
        KeyFileError::UnsupportedAlgorithm { what: "kdf", id: 7 }
    );
    let mut aead = file.clone();
    aead[10] = 7;
    assert_eq!(
        open_key_file(&aead, b"correct horse").unwrap_err(),
        KeyFileError::UnsupportedAlgorithm {
            what: "aead",
            id: 7
        }
    );
}

#[test]
fn hostile_key_file_parameters_are_refused_before_hashing() {
    let file = sealed_file();
    let mut greedy = file.clone();
    greedy[11..15].copy_from_slice(&(KEY_FILE_MEMORY_MAX_KIB + 1).to_be_bytes());
    assert_eq!(
        open_key_file(&greedy, b"correct horse").unwrap_err(),
        KeyFileError::ParamOutOfRange {
            name: "memory_kib",
            value: KEY_FILE_MEMORY_MAX_KIB + 1,
            min: KEY_FILE_MEMORY_MIN_KIB,
            max: KEY_FILE_MEMORY_MAX_KIB
        }
    );
    let mut slow = file.clone();
    slow[15..19].copy_from_slice(&(KEY_FILE_PASSES_MAX + 1).to_be_bytes());
    assert!(matches!(
        open_key_file(&slow, b"correct horse").unwrap_err(),
        KeyFileError::ParamOutOfRange { name: "passes", .. }
    ));
    let mut wide = file.clone();
    wide[19..23].copy_from_slice(&(KEY_FILE_LANES_MAX + 1).to_be_bytes());
    assert!(matches!(
        open_key_file(&wide, b"correct horse").unwrap_err(),
        KeyFileError::ParamOutOfRange { name: "lanes", .. }
    ));
}

#[test]
fn key_file_seal_limits_are_enforced() {
    let mut rng = seeded_u64(7);
    let weak = KeyFileParams {
        memory_kib: KEY_FILE_MEMORY_MIN_KIB - 1,
        ..FAST
    };
    assert!(matches!(
        seal_key_file(&mut rng, &[1], b"p", weak).unwrap_err(),
        KeyFileError::ParamOutOfRange {
            name: "memory_kib",
            ..
        }
    ));
    let one_pass = KeyFileParams {
        passes: KEY_FILE_PASSES_MIN - 1,
        ..FAST
    };
    assert!(matches!(
        seal_key_file(&mut rng, &[1], b"p", one_pass).unwrap_err(),
        KeyFileError::ParamOutOfRange {
            name: "passes",
            value: 1,
            ..
        }
    ));
    let no_lanes = KeyFileParams {
        lanes: KEY_FILE_LANES_MIN - 1,
        ..FAST
    };
    assert!(matches!(
        seal_key_file(&mut rng, &[1], b"p", no_lanes).unwrap_err(),
        KeyFileError::ParamOutOfRange {
            name: "lanes",
            value: 0,
            ..
        }
    ));
    assert_eq!(
        seal_key_file(&mut rng, &[], b"p", FAST).unwrap_err(),
        KeyFileError::BadSecretLength { got_bytes: 0 }
    );
    let too_big = vec![1u8; KEY_FILE_SECRET_MAX_BYTES + 1];
    assert_eq!(
        seal_key_file(&mut rng, &too_big, b"p", FAST).unwrap_err(),
        KeyFileError::BadSecretLength {
            got_bytes: KEY_FILE_SECRET_MAX_BYTES + 1
        }
    );
    let largest = vec![1u8; KEY_FILE_SECRET_MAX_BYTES];
    let file = seal_key_file(&mut rng, &largest, b"p", FAST).unwrap();
    assert_eq!(
        open_key_file(&file, b"p").unwrap().len(),
        KEY_FILE_SECRET_MAX_BYTES
    );
    assert_eq!(
        seal_key_file(&mut rng, &[1], b"", FAST).unwrap_err(),
        KeyFileError::BadPassphraseLength { got_bytes: 0 }
    );
    let long = vec![b'p'; KEY_FILE_PASSPHRASE_MAX_BYTES + 1];
    assert_eq!(
        seal_key_file(&mut rng, &[1], &long, FAST).unwrap_err(),
        KeyFileError::BadPassphraseLength {
            got_bytes: KEY_FILE_PASSPHRASE_MAX_BYTES + 1
        }
    );
}

#[test]
fn master_seed_survives_a_key_file() {
    let mut rng = seeded_u64(8);
    let file = seal_key_file(&mut rng, seed().as_bytes(), b"pass", FAST).unwrap();
    let restored = MasterSeed::from_slice(&open_key_file(&file, b"pass").unwrap()).unwrap();
    assert_eq!(
        restored
            .pseudonym_keys(b"hospital-a")
            .unwrap()
            .public_keys(),
        seed().pseudonym_keys(b"hospital-a").unwrap().public_keys()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// The Argon2 cost fields (bytes 11..23) are left out: a flip there can legitimately ask
    /// for gigabytes of memory; `hostile_key_file_parameters_are_refused_before_hashing` and the
    /// range checks cover them.
    #[test]
    fn any_flipped_key_file_bit_is_rejected(pick in 0usize..((file::HEADER_SIZE_BYTES + 32 + file::TAG_SIZE_BYTES - 12) * 8)) {
        let bit = if pick < 11 * 8 { pick } else { pick + 12 * 8 };
        let mut file = sealed_file();
        file[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(open_key_file(&file, b"correct horse").is_err());
    }
}
