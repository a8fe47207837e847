//! Envelope encryption throughput against the raw speed of its AEAD, measured in the same run.
//!
//! Sketch (one core, 64 KiB chunks): the envelope does, per byte, one ChaCha20-Poly1305 pass
//! (OpenSSL/aws-lc assembly: about 3.5 GB/s here, 0.29 ns/B) and one BLAKE3 pass for the
//! content address (about 4.4 GB/s, 0.23 ns/B); STREAM framing adds a 12-byte nonce and the
//! 53-byte header as associated data per chunk, which is noise. Expected: about
//! 1 / (0.29 + 0.23) ns/B ≈ 1.9 GB/s, i.e. about half the raw AEAD speed, against a target of
//! 1 GB/s. Memory is two 64 KiB chunk buffers whatever the record size; disk and network are
//! not involved (input in memory, output discarded).

use std::hint::black_box;
use std::io;
use std::process::Command;

use chacha20poly1305::ChaCha20Poly1305;
use medchain_crypto::envelope::cipher::EnvelopeCipher;
use medchain_crypto::envelope::cipher::aead::{AeadInOut, KeyInit, Nonce};
use medchain_crypto::envelope::{self, CHUNK_SIZE_BYTES, DataKey};

/// Bytes encrypted per repetition: large enough to leave the caches, small enough for RAM.
const BUFFER_SIZE_BYTES: usize = 64 * 1024 * 1024;
/// Every measurement repeats until it has run this long and at least `REPETITIONS_MIN` times.
const MEASURE_MIN_MS: u64 = 1500;
const REPETITIONS_MIN: usize = 3;
/// The envelope must sustain this on one core.
const TARGET_GB_PER_S: f64 = 1.0;

/// Throughput of `work`, which processes `BUFFER_SIZE_BYTES` per call, in GB/s: best and median
/// by wall time, and median by thread CPU time (per core, unaffected by other processes).
struct Throughput {
    wall_best: f64,
    wall_median: f64,
    cpu_median: f64,
}

fn throughput(work: impl FnMut()) -> Throughput {
    let timing = crate::timing::time(MEASURE_MIN_MS, REPETITIONS_MIN, work);
    let gb = BUFFER_SIZE_BYTES as f64 / 1e9;
    Throughput {
        wall_best: gb / timing.wall_best_s,
        wall_median: gb / timing.wall_median_s,
        cpu_median: gb / timing.cpu_median_s,
    }
}

/// Seals every 64 KiB chunk of `buffer` in place with `cipher`, a counter as nonce.
fn raw_aead<A: AeadInOut>(cipher: &A, buffer: &mut [u8]) {
    for (counter, chunk) in buffer.chunks_mut(CHUNK_SIZE_BYTES).enumerate() {
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&(counter as u64).to_be_bytes());
        let nonce = Nonce::<A>::try_from(&nonce[..]).expect("96-bit nonce");
        let tag = cipher.encrypt_inout_detached(&nonce, b"", chunk.into());
        black_box(tag.expect("chunk within AEAD limits"));
    }
}

/// `openssl speed` for ChaCha20-Poly1305 on 64 KiB blocks, in GB/s, when openssl is installed.
fn openssl_gb_per_s() -> Option<f64> {
    let output = Command::new("openssl")
        .args([
            "speed",
            "-evp",
            "chacha20-poly1305",
            "-bytes",
            "65536",
            "-seconds",
            "2",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    // Last line: "ChaCha20-Poly1305  3758030.24k" (thousands of bytes per second).
    let last = text
        .lines()
        .rev()
        .find(|line| line.trim_end().ends_with('k'))?;
    let kilobytes: f64 = last
        .split_whitespace()
        .last()?
        .trim_end_matches('k')
        .parse()
        .ok()?;
    Some(kilobytes * 1000.0 / 1e9)
}

pub fn run() -> anyhow::Result<String> {
    let plaintext: Vec<u8> = (0..BUFFER_SIZE_BYTES).map(|i| (i % 251) as u8).collect();
    let key = DataKey::from_bytes([7; 32]);
    println!(
        "aead: {} MiB per repetition, {} KiB chunks",
        BUFFER_SIZE_BYTES >> 20,
        CHUNK_SIZE_BYTES >> 10
    );

    let envelope = throughput(|| {
        let summary = envelope::encrypt_stream(&key, [1; 7], &plaintext[..], io::sink())
            .expect("in-memory encryption cannot fail");
        black_box(summary);
    });
    let sealed = envelope::encrypt(&key, [1; 7], &plaintext)?.envelope;
    let open = throughput(|| {
        let summary =
            envelope::decrypt_stream(&key, &sealed[..], io::sink()).expect("own envelope opens");
        black_box(summary);
    });
    let mut buffer = plaintext.clone();
    let cipher = EnvelopeCipher::new_from_slice(key.as_bytes()).expect("32-byte key");
    let raw = throughput(|| raw_aead(&cipher, &mut buffer));
    let rustcrypto = ChaCha20Poly1305::new_from_slice(key.as_bytes()).expect("32-byte key");
    let rustcrypto = throughput(|| raw_aead(&rustcrypto, &mut buffer));
    let hash = throughput(|| {
        black_box(blake3::hash(&plaintext));
    });

    println!(
        "  {:<42} {:>9} {:>9} {:>9}",
        "GB/s (1 GB = 1e9 bytes)", "per core", "wall med", "wall best"
    );
    let rows = [
        ("envelope encrypt (STREAM + BLAKE3)", &envelope),
        ("envelope decrypt (STREAM + BLAKE3)", &open),
        ("raw ChaCha20-Poly1305, aws-lc (limit)", &raw),
        ("raw ChaCha20-Poly1305, RustCrypto 0.11", &rustcrypto),
        ("BLAKE3 alone", &hash),
    ];
    for (name, t) in rows {
        println!(
            "  {name:<42} {:>9.2} {:>9.2} {:>9.2}",
            t.cpu_median, t.wall_median, t.wall_best
        );
    }
    match openssl_gb_per_s() {
        Some(gb) => println!(
            "  {:<42} {gb:>9.2}   (openssl speed -evp chacha20-poly1305 -bytes 65536, 64 KiB in cache)",
            "openssl ChaCha20-Poly1305"
        ),
        None => println!(
            "  openssl ChaCha20-Poly1305: not available (openssl not installed or output not parsed)"
        ),
    }
    let verdict = if envelope.cpu_median >= TARGET_GB_PER_S {
        "met"
    } else {
        "MISSED"
    };
    println!(
        "  envelope / raw AEAD (per core) = {:.2}; target {TARGET_GB_PER_S} GB/s per core: {verdict}",
        envelope.cpu_median / raw.cpu_median
    );
    let summary = format!(
        "aead gb_per_s={:.2} limit_gb_per_s={:.2}",
        envelope.cpu_median, raw.cpu_median
    );
    println!("{summary}");
    Ok(summary)
}
