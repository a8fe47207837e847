//! Envelope encryption: round trips, every error kind, the known-answer vector and the
//! constant-memory streaming contract.

mod common;
use common::assert_vectors;

use std::io::{self, Read};

use medchain_crypto::envelope::{
    self, CHUNK_SIZE_BYTES, DataKey, EnvelopeError, HEADER_SIZE_BYTES,
    REORDER_SEARCH_WINDOW_CHUNKS, TAG_SIZE_BYTES, decrypt, decrypt_stream, encrypt, encrypt_stream,
};
use medchain_crypto::rng::seeded_u64;
use proptest::prelude::*;

const SEALED_CHUNK_BYTES: usize = CHUNK_SIZE_BYTES + TAG_SIZE_BYTES;

fn key() -> DataKey {
    DataKey::from_bytes([0x42; 32])
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn sealed(len: usize) -> Vec<u8> {
    encrypt(&key(), [7; 7], &pattern(len)).unwrap().envelope
}

/// Byte range of chunk `index` inside an envelope.
fn chunk_range(index: usize, total_len: usize) -> std::ops::Range<usize> {
    let start = HEADER_SIZE_BYTES + index * SEALED_CHUNK_BYTES;
    start..(start + SEALED_CHUNK_BYTES).min(total_len)
}

#[test]
fn round_trip_at_chunk_boundaries() {
    for len in [
        0,
        1,
        CHUNK_SIZE_BYTES - 1,
        CHUNK_SIZE_BYTES,
        CHUNK_SIZE_BYTES + 1,
        3 * CHUNK_SIZE_BYTES,
    ] {
        let plaintext = pattern(len);
        let record = encrypt(&key(), [1; 7], &plaintext).unwrap();
        let expected_chunks = len.div_ceil(CHUNK_SIZE_BYTES).max(1) as u64;
        assert_eq!(record.summary.chunk_count, expected_chunks, "len {len}");
        assert_eq!(
            record.envelope.len() as u64,
            record.summary.ciphertext_len_bytes
        );
        assert_eq!(
            record.envelope.len(),
            HEADER_SIZE_BYTES + len + expected_chunks as usize * TAG_SIZE_BYTES
        );
        let (opened, summary) = decrypt(&key(), &record.envelope).unwrap();
        assert_eq!(&opened[..], &plaintext[..], "len {len}");
        assert_eq!(summary, record.summary);
    }
}

#[test]
fn content_hash_is_blake3_of_the_envelope() {
    let record = encrypt(&key(), [3; 7], &pattern(100_000)).unwrap();
    assert_eq!(
        record.summary.content_hash,
        *blake3::hash(&record.envelope).as_bytes()
    );
    assert_eq!(record.summary.plaintext_len_bytes, 100_000);
}

#[test]
fn seal_record_uses_a_fresh_key_each_time() {
    let mut rng = seeded_u64(11);
    let (key_a, a) = envelope::seal_record(&mut rng, b"same content").unwrap();
    let (key_b, b) = envelope::seal_record(&mut rng, b"same content").unwrap();
    assert_ne!(key_a.as_bytes(), key_b.as_bytes());
    assert_ne!(a.summary.content_hash, b.summary.content_hash);
    assert_eq!(
        &decrypt(&key_a, &a.envelope).unwrap().0[..],
        b"same content"
    );
    assert!(matches!(
        decrypt(&key_a, &b.envelope),
        Err(EnvelopeError::WrongKey)
    ));
}

#[test]
fn wrong_key_is_reported_before_any_chunk() {
    let envelope = sealed(1000);
    let err = decrypt(&DataKey::from_bytes([0x43; 32]), &envelope).unwrap_err();
    assert!(matches!(err, EnvelopeError::WrongKey), "{err}");
}

#[test]
fn missing_final_chunk_is_truncation() {
    let envelope = sealed(2 * CHUNK_SIZE_BYTES + 10);
    let cut = &envelope[..chunk_range(2, envelope.len()).start];
    let err = decrypt(&key(), cut).unwrap_err();
    assert!(
        matches!(err, EnvelopeError::Truncated { chunks_received: 2 }),
        "{err}"
    );
    let header_only = &envelope[..HEADER_SIZE_BYTES];
    let err = decrypt(&key(), header_only).unwrap_err();
    assert!(
        matches!(err, EnvelopeError::Truncated { chunks_received: 0 }),
        "{err}"
    );
}

#[test]
fn cut_header_is_reported_with_its_length() {
    let envelope = sealed(10);
    let err = decrypt(&key(), &envelope[..20]).unwrap_err();
    assert!(
        matches!(err, EnvelopeError::TruncatedHeader { got_bytes: 20 }),
        "{err}"
    );
}

#[test]
fn swapped_chunks_are_reported_as_reordered() {
    let envelope = sealed(3 * CHUNK_SIZE_BYTES + 10);
    let (first, second) = (
        chunk_range(0, envelope.len()),
        chunk_range(1, envelope.len()),
    );
    let mut swapped = envelope[..first.start].to_vec();
    swapped.extend_from_slice(&envelope[second.clone()]);
    swapped.extend_from_slice(&envelope[first]);
    swapped.extend_from_slice(&envelope[second.end..]);
    let err = decrypt(&key(), &swapped).unwrap_err();
    assert!(
        matches!(
            err,
            EnvelopeError::Reordered {
                found_at: 0,
                belongs_at: 1
            }
        ),
        "{err}"
    );
}

#[test]
fn reordering_search_stops_at_its_window() {
    let window = REORDER_SEARCH_WINDOW_CHUNKS as usize;
    let envelope = sealed((window + 2) * CHUNK_SIZE_BYTES + 10);
    let swap = |far: usize| {
        let (near, far) = (
            chunk_range(0, envelope.len()),
            chunk_range(far, envelope.len()),
        );
        let mut swapped = envelope.clone();
        swapped[near.clone()].copy_from_slice(&envelope[far.clone()]);
        swapped[far].copy_from_slice(&envelope[near]);
        decrypt(&key(), &swapped).unwrap_err()
    };
    let inside = swap(window);
    assert!(
        matches!(inside, EnvelopeError::Reordered { found_at: 0, belongs_at } if belongs_at == window as u64),
        "{inside}"
    );
    let beyond = swap(window + 1);
    assert!(
        matches!(beyond, EnvelopeError::Tampered { chunk: 0 }),
        "{beyond}"
    );
}

#[test]
fn duplicated_chunk_is_reported_as_reordered() {
    let envelope = sealed(2 * CHUNK_SIZE_BYTES + 10);
    let first = chunk_range(0, envelope.len());
    let mut duplicated = envelope[..first.end].to_vec();
    duplicated.extend_from_slice(&envelope[first]);
    duplicated.extend_from_slice(&envelope[chunk_range(1, envelope.len()).start..]);
    let err = decrypt(&key(), &duplicated).unwrap_err();
    assert!(
        matches!(
            err,
            EnvelopeError::Reordered {
                found_at: 1,
                belongs_at: 0
            }
        ),
        "{err}"
    );
}

#[test]
fn modified_chunk_is_reported_as_tampered() {
    let mut envelope = sealed(2 * CHUNK_SIZE_BYTES + 10);
    let middle = chunk_range(1, envelope.len()).start + 100;
    envelope[middle] ^= 0x01;
    let err = decrypt(&key(), &envelope).unwrap_err();
    assert!(matches!(err, EnvelopeError::Tampered { chunk: 1 }), "{err}");
}

#[test]
fn modified_nonce_prefix_fails_the_first_chunk() {
    let mut envelope = sealed(10);
    envelope[14] ^= 0x80;
    let err = decrypt(&key(), &envelope).unwrap_err();
    assert!(matches!(err, EnvelopeError::Tampered { chunk: 0 }), "{err}");
}

#[test]
fn modified_key_commitment_reads_as_wrong_key() {
    let mut envelope = sealed(10);
    envelope[HEADER_SIZE_BYTES - 1] ^= 0x01;
    assert!(matches!(
        decrypt(&key(), &envelope),
        Err(EnvelopeError::WrongKey)
    ));
}

#[test]
fn data_after_a_full_final_chunk_is_trailing_data() {
    let mut envelope = sealed(CHUNK_SIZE_BYTES);
    envelope.extend_from_slice(b"appended");
    let err = decrypt(&key(), &envelope).unwrap_err();
    assert!(
        matches!(err, EnvelopeError::TrailingData { final_chunk: 0 }),
        "{err}"
    );
}

type ErrorCheck = fn(&EnvelopeError) -> bool;

#[test]
fn foreign_headers_are_refused_field_by_field() {
    let envelope = sealed(10);
    let cases: [(usize, u8, ErrorCheck); 4] = [
        (0, b'X', |e| matches!(e, EnvelopeError::NotAnEnvelope)),
        (8, 2, |e| {
            matches!(e, EnvelopeError::UnsupportedVersion { version: 2 })
        }),
        (9, 9, |e| {
            matches!(e, EnvelopeError::UnsupportedAlgorithm { algorithm: 9 })
        }),
        (11, 0x02, |e| {
            matches!(
                e,
                EnvelopeError::UnsupportedChunkSize {
                    chunk_size_bytes: 0x0002_0000
                }
            )
        }),
    ];
    for (offset, value, expected) in cases {
        let mut bad = envelope.clone();
        bad[offset] = value;
        let err = decrypt(&key(), &bad).unwrap_err();
        assert!(expected(&err), "offset {offset}: {err}");
    }
}

#[test]
fn error_messages_say_what_to_do() {
    let err = decrypt(&key(), &sealed(10)[..5]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "envelope header is truncated (5 of 53 bytes): the blob was cut short, fetch it again"
    );
}

/// Yields `remaining` pseudo-random bytes and records the largest read it was asked for.
struct CountingSource {
    remaining: u64,
    largest_read_bytes: usize,
    state: u64,
}

impl Read for CountingSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.largest_read_bytes = self.largest_read_bytes.max(buf.len());
        let n = (buf.len() as u64).min(self.remaining) as usize;
        for byte in &mut buf[..n] {
            self.state = self
                .state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *byte = (self.state >> 56) as u8;
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Hashes what it is given, holding nothing.
struct HashSink(blake3::Hasher, u64);

impl io::Write for HashSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        self.1 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn streaming_reads_at_most_one_chunk_at_a_time() {
    let len = 40 * CHUNK_SIZE_BYTES as u64 + 123;
    let mut source = CountingSource {
        remaining: len,
        largest_read_bytes: 0,
        state: 5,
    };
    let mut sink = HashSink(blake3::Hasher::new(), 0);
    let summary = encrypt_stream(&key(), [0; 7], &mut source, &mut sink).unwrap();
    assert_eq!(source.largest_read_bytes, CHUNK_SIZE_BYTES);
    assert_eq!(summary.plaintext_len_bytes, len);
    assert_eq!(summary.chunk_count, 41);
    assert_eq!(sink.1, summary.ciphertext_len_bytes);
    assert_eq!(*sink.0.finalize().as_bytes(), summary.content_hash);
}

#[test]
fn streamed_decryption_matches_streamed_encryption() {
    let len = 5 * CHUNK_SIZE_BYTES as u64 + 999;
    let mut source = CountingSource {
        remaining: len,
        largest_read_bytes: 0,
        state: 9,
    };
    let mut envelope = Vec::new();
    let sealed = encrypt_stream(&key(), [2; 7], &mut source, &mut envelope).unwrap();
    let mut sink = HashSink(blake3::Hasher::new(), 0);
    let opened = decrypt_stream(&key(), &envelope[..], &mut sink).unwrap();
    let mut again = CountingSource {
        remaining: len,
        largest_read_bytes: 0,
        state: 9,
    };
    let mut expected = Vec::new();
    again.read_to_end(&mut expected).unwrap();
    assert_eq!(
        *sink.0.finalize().as_bytes(),
        *blake3::hash(&expected).as_bytes()
    );
    assert_eq!(opened, sealed);
}

/// Inputs: a fixed key and nonce prefix; a short record (whole envelope committed so the peer
/// script can open it) and a three-chunk record (hash and final chunk committed).
/// Fails every read, like a dropped connection.
struct BrokenSource;

impl Read for BrokenSource {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "peer went away",
        ))
    }
}

#[test]
fn io_errors_are_passed_on() {
    let err = encrypt_stream(&key(), [0; 7], BrokenSource, Vec::new()).unwrap_err();
    assert!(
        matches!(&err, EnvelopeError::Io(e) if e.kind() == io::ErrorKind::ConnectionReset),
        "{err}"
    );
    let err = decrypt_stream(&key(), BrokenSource, Vec::new()).unwrap_err();
    assert!(
        matches!(&err, EnvelopeError::Io(e) if e.kind() == io::ErrorKind::ConnectionReset),
        "{err}"
    );
}

#[test]
fn known_answer_vectors_match() {
    let key = DataKey::from_bytes(std::array::from_fn(|i| i as u8));
    let nonce = [0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6];
    let mut vectors = Vec::new();
    for len in [43usize, 2 * CHUNK_SIZE_BYTES + 1000] {
        let plaintext = pattern(len);
        let record = encrypt(&key, nonce, &plaintext).unwrap();
        let tail = &record.envelope[record.envelope.len() - 64..];
        let mut vector = serde_json::json!({
            "key": hex::encode(key.as_bytes()),
            "nonce_prefix": hex::encode(nonce),
            "plaintext": format!("bytes i % 251 for i in 0..{len}"),
            "plaintext_len": len,
            "content_hash": hex::encode(record.summary.content_hash),
            "envelope_len": record.envelope.len(),
            "envelope_last_64_bytes": hex::encode(tail),
        });
        if len < 100 {
            vector["envelope"] = serde_json::Value::String(hex::encode(&record.envelope));
        }
        assert_eq!(
            &decrypt(&key, &record.envelope).unwrap().0[..],
            &plaintext[..]
        );
        vectors.push(vector);
    }
    assert_vectors(
        "envelope_v1.json",
        serde_json::json!({ "scheme": "medchain envelope v1", "vectors": vectors }),
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_length_round_trips(len in 0usize..(3 * CHUNK_SIZE_BYTES + 7), seed in any::<u8>()) {
        let plaintext: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(seed)).collect();
        let record = encrypt(&key(), [seed; 7], &plaintext).unwrap();
        let (opened, _) = decrypt(&key(), &record.envelope).unwrap();
        prop_assert_eq!(&opened[..], &plaintext[..]);
    }

    #[test]
    fn any_flipped_bit_is_rejected(bit in 0usize..((HEADER_SIZE_BYTES + 2 * CHUNK_SIZE_BYTES + 100 + 3 * TAG_SIZE_BYTES) * 8)) {
        let mut envelope = sealed(2 * CHUNK_SIZE_BYTES + 100);
        envelope[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(decrypt(&key(), &envelope).is_err());
    }

    #[test]
    fn any_swap_of_two_full_chunks_is_reported_as_reordering(full_chunks in 2usize..6, a in 0usize..6, b in 0usize..6) {
        let (i, j) = (a % full_chunks, b % full_chunks);
        prop_assume!(i != j);
        let (i, j) = (i.min(j), i.max(j));
        let envelope = sealed(full_chunks * CHUNK_SIZE_BYTES + 10);
        let mut swapped = envelope.clone();
        let (ri, rj) = (chunk_range(i, envelope.len()), chunk_range(j, envelope.len()));
        swapped[ri.clone()].copy_from_slice(&envelope[rj.clone()]);
        swapped[rj].copy_from_slice(&envelope[ri]);
        let err = decrypt(&key(), &swapped).unwrap_err();
        prop_assert!(
            matches!(err, EnvelopeError::Reordered { found_at, belongs_at } if found_at == i as u64 && belongs_at == j as u64),
            "{}", err
        );
    }

    #[test]
    fn dropping_any_chunk_is_detected(chunks in 2usize..6, pick in 0usize..6) {
        let dropped = pick % chunks;
        let envelope = sealed((chunks - 1) * CHUNK_SIZE_BYTES + 10);
        let range = chunk_range(dropped, envelope.len());
        let mut shorter = envelope[..range.start].to_vec();
        shorter.extend_from_slice(&envelope[range.end..]);
        let err = decrypt(&key(), &shorter).unwrap_err();
        let last = dropped == chunks - 1;
        prop_assert!(
            if last {
                matches!(err, EnvelopeError::Truncated { chunks_received } if chunks_received == dropped as u64)
            } else {
                matches!(err, EnvelopeError::Reordered { found_at, belongs_at } if found_at == dropped as u64 && belongs_at == dropped as u64 + 1)
            },
            "{}", err
        );
    }

    #[test]
    fn any_truncation_is_rejected(keep in 0usize..(HEADER_SIZE_BYTES + 2 * CHUNK_SIZE_BYTES + 100 + 3 * TAG_SIZE_BYTES)) {
        let envelope = sealed(2 * CHUNK_SIZE_BYTES + 100);
        prop_assert!(decrypt(&key(), &envelope[..keep]).is_err());
    }
}
