//! Streaming `Read -> Write` encryption and decryption in constant memory (two chunk buffers),
//! using the STREAM-BE32 primitive of `aead-stream` over ChaCha20-Poly1305. Failures are
//! diagnosed (truncation, reordering, appended data, tampering) only after authentication
//! fails, so the diagnosis costs nothing on the good path.

use std::io::{self, Read, Write};

use aead_stream::{NewStream, StreamBE32, StreamPrimitive};
use chacha20poly1305::KeyInit;
use zeroize::Zeroizing;

use super::cipher::EnvelopeCipher;
use super::header::{HEADER_SIZE_BYTES, Header, NONCE_PREFIX_SIZE_BYTES};
use super::{
    CHUNK_COUNT_MAX, CHUNK_SIZE_BYTES, DataKey, EnvelopeError, EnvelopeSummary,
    REORDER_SEARCH_WINDOW_CHUNKS, TAG_SIZE_BYTES,
};

type Stream = StreamBE32<EnvelopeCipher>;

const SEALED_CHUNK_SIZE_BYTES: usize = CHUNK_SIZE_BYTES + TAG_SIZE_BYTES;

fn stream_for(key: &DataKey, nonce_prefix: &[u8; NONCE_PREFIX_SIZE_BYTES]) -> Stream {
    let aead = EnvelopeCipher::new_from_slice(key.as_bytes()).expect("data key is 32 bytes");
    Stream::from_aead(aead, &(*nonce_prefix).into())
}

/// Reads until `buf` is full or the input ends; returns the number of bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Counts bytes and hashes them on their way to the output.
struct HashingWriter<W> {
    inner: W,
    hasher: blake3::Hasher,
    written_bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)?;
        self.hasher.update(bytes);
        self.written_bytes += bytes.len() as u64;
        Ok(())
    }
}

fn position_of(index: u64) -> u32 {
    u32::try_from(index).expect("chunk index checked against CHUNK_COUNT_MAX")
}

/// Encrypts everything `input` yields into `output`. The final chunk is flagged in its nonce,
/// so a reader can tell a complete envelope from a cut one.
pub fn encrypt_stream(
    key: &DataKey,
    nonce_prefix: [u8; NONCE_PREFIX_SIZE_BYTES],
    input: impl Read,
    output: impl Write,
) -> Result<EnvelopeSummary, EnvelopeError> {
    encrypt_stream_limited(key, nonce_prefix, input, output, CHUNK_COUNT_MAX)
}

pub(super) fn encrypt_stream_limited(
    key: &DataKey,
    nonce_prefix: [u8; NONCE_PREFIX_SIZE_BYTES],
    mut input: impl Read,
    output: impl Write,
    chunk_count_max: u64,
) -> Result<EnvelopeSummary, EnvelopeError> {
    let header = Header::new(key, nonce_prefix).encode();
    let stream = stream_for(key, &nonce_prefix);
    let mut out = HashingWriter {
        inner: output,
        hasher: blake3::Hasher::new(),
        written_bytes: 0,
    };
    out.put(&header)?;
    // Capacity covers the tag, so sealing never reallocates and leaves no stray plaintext copy.
    let mut current = Zeroizing::new(vec![0u8; SEALED_CHUNK_SIZE_BYTES]);
    let mut next = Zeroizing::new(vec![0u8; SEALED_CHUNK_SIZE_BYTES]);
    let mut current_len = read_full(&mut input, &mut current[..CHUNK_SIZE_BYTES])?;
    let mut index: u64 = 0;
    let mut plaintext_len_bytes: u64 = 0;
    loop {
        if index >= chunk_count_max {
            return Err(EnvelopeError::TooManyChunks { chunk_count_max });
        }
        let next_len = if current_len == CHUNK_SIZE_BYTES {
            read_full(&mut input, &mut next[..CHUNK_SIZE_BYTES])?
        } else {
            0
        };
        let last = next_len == 0;
        plaintext_len_bytes += current_len as u64;
        current.truncate(current_len);
        stream
            .encrypt_in_place(position_of(index), last, &header, &mut *current)
            .expect("chunk within ChaCha20-Poly1305 length limits");
        out.put(&current)?;
        index += 1;
        if last {
            break;
        }
        current.resize(SEALED_CHUNK_SIZE_BYTES, 0);
        std::mem::swap(&mut current, &mut next);
        current_len = next_len;
    }
    out.inner.flush()?;
    Ok(EnvelopeSummary {
        content_hash: *out.hasher.finalize().as_bytes(),
        plaintext_len_bytes,
        ciphertext_len_bytes: out.written_bytes,
        chunk_count: index,
    })
}

/// Decrypts an envelope from `input` into `output`.
///
/// Chunks are written as soon as they authenticate, so on any error the caller must discard
/// what was written: only an `Ok` means the record is complete and unmodified.
pub fn decrypt_stream(
    key: &DataKey,
    mut input: impl Read,
    output: impl Write,
) -> Result<EnvelopeSummary, EnvelopeError> {
    let mut header_bytes = [0u8; HEADER_SIZE_BYTES];
    let got = read_full(&mut input, &mut header_bytes)?;
    let header = Header::decode(&header_bytes[..got])?;
    if !header.key_matches(key) {
        return Err(EnvelopeError::WrongKey);
    }
    let stream = stream_for(key, &header.nonce_prefix);
    let mut hasher = blake3::Hasher::new();
    hasher.update(&header_bytes);
    let mut opened = Zeroizing::new(Vec::with_capacity(SEALED_CHUNK_SIZE_BYTES));
    let mut reader = ChunkReader {
        current: vec![0u8; SEALED_CHUNK_SIZE_BYTES],
        next: vec![0u8; SEALED_CHUNK_SIZE_BYTES],
        next_len: 0,
        ciphertext_len_bytes: HEADER_SIZE_BYTES as u64,
    };
    reader.next_len = read_full(&mut input, &mut reader.next)?;
    let mut output = output;
    let mut index: u64 = 0;
    let mut plaintext_len_bytes: u64 = 0;
    loop {
        let (len, at_end) = reader.advance(&mut input)?;
        if len == 0 {
            return Err(EnvelopeError::Truncated {
                chunks_received: index,
            });
        }
        if index >= CHUNK_COUNT_MAX {
            return Err(EnvelopeError::TooManyChunks {
                chunk_count_max: CHUNK_COUNT_MAX,
            });
        }
        let sealed = &reader.current[..len];
        hasher.update(sealed);
        // Open a copy: aws-lc may garble a buffer whose tag fails, and the diagnosis needs the
        // chunk as it arrived.
        opened.clear();
        opened.extend_from_slice(sealed);
        let position = position_of(index);
        if stream
            .decrypt_in_place(position, at_end, &header_bytes, &mut *opened)
            .is_err()
        {
            return Err(diagnose(&stream, &header_bytes, sealed, index, at_end));
        }
        output.write_all(&opened)?;
        plaintext_len_bytes += opened.len() as u64;
        index += 1;
        if at_end {
            break;
        }
    }
    output.flush()?;
    Ok(EnvelopeSummary {
        content_hash: *hasher.finalize().as_bytes(),
        plaintext_len_bytes,
        ciphertext_len_bytes: reader.ciphertext_len_bytes,
        chunk_count: index,
    })
}

/// Two sealed-chunk buffers: the chunk being opened and a read-ahead that tells whether the
/// current one is the last piece of the input.
struct ChunkReader {
    current: Vec<u8>,
    next: Vec<u8>,
    next_len: usize,
    ciphertext_len_bytes: u64,
}

impl ChunkReader {
    /// Moves the read-ahead into `current`; returns its length and whether input ended after it.
    fn advance(&mut self, input: &mut impl Read) -> io::Result<(usize, bool)> {
        self.current.resize(SEALED_CHUNK_SIZE_BYTES, 0);
        std::mem::swap(&mut self.current, &mut self.next);
        let len = self.next_len;
        self.ciphertext_len_bytes += len as u64;
        self.next_len = if len == SEALED_CHUNK_SIZE_BYTES {
            self.next.resize(SEALED_CHUNK_SIZE_BYTES, 0);
            read_full(input, &mut self.next)?
        } else {
            0
        };
        Ok((len, self.next_len == 0))
    }
}

/// Works out why chunk `index` failed, by trying the other interpretations an attacker or a
/// broken transfer could have produced.
fn diagnose(
    stream: &Stream,
    header: &[u8],
    sealed: &[u8],
    index: u64,
    at_end: bool,
) -> EnvelopeError {
    let opens_as = |position: u64, last: bool| -> bool {
        let Ok(position) = u32::try_from(position) else {
            return false;
        };
        let mut scratch = sealed.to_vec();
        stream
            .decrypt_in_place(position, last, header, &mut scratch)
            .is_ok()
    };
    if at_end && opens_as(index, false) {
        return EnvelopeError::Truncated {
            chunks_received: index + 1,
        };
    }
    if !at_end && opens_as(index, true) {
        return EnvelopeError::TrailingData { final_chunk: index };
    }
    let window = u64::from(REORDER_SEARCH_WINDOW_CHUNKS);
    let low = index.saturating_sub(window);
    for position in (low..=index + window).filter(|&p| p != index) {
        if opens_as(position, false) || opens_as(position, true) {
            return EnvelopeError::Reordered {
                found_at: index,
                belongs_at: position,
            };
        }
    }
    EnvelopeError::Tampered { chunk: index }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_stops_at_chunk_count_limit() {
        let key = DataKey::from_bytes([9; 32]);
        let plaintext = vec![1u8; 3 * CHUNK_SIZE_BYTES];
        let err = encrypt_stream_limited(&key, [0; 7], &plaintext[..], Vec::new(), 2).unwrap_err();
        assert!(
            matches!(err, EnvelopeError::TooManyChunks { chunk_count_max: 2 }),
            "{err}"
        );
        let ok = encrypt_stream_limited(&key, [0; 7], &plaintext[..], Vec::new(), 3).unwrap();
        assert_eq!(ok.chunk_count, 3);
    }
}
