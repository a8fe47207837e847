//! Passphrase-protected key files: the secret is sealed with XChaCha20-Poly1305 under a key
//! stretched from the passphrase by Argon2id (RFC 9106) with the parameters stored in the file.
//! The crate stays pure: this turns bytes into bytes, the caller reads and writes the file.
//!
//! Layout (version 1, integers big-endian): magic "MEDCHKEY" ‖ version ‖ kdf id ‖ aead id ‖
//! memory KiB (u32) ‖ passes (u32) ‖ lanes (u32) ‖ salt (16) ‖ nonce (24) ‖ passphrase check (32)
//! ‖ secret length (u16) ‖ ciphertext ‖ tag (16). The whole header is the AEAD's associated data.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, aead::Aead, aead::Payload};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroizing;

pub const MAGIC: [u8; 8] = *b"MEDCHKEY";
pub const VERSION: u8 = 1;
/// KDF identifier: Argon2id, version 0x13.
pub const KDF_ARGON2ID_V13: u8 = 1;
/// AEAD identifier: XChaCha20-Poly1305 (random 192-bit nonce, no nonce bookkeeping needed).
pub const AEAD_XCHACHA20POLY1305: u8 = 1;
pub const SALT_SIZE_BYTES: usize = 16;
pub const NONCE_SIZE_BYTES: usize = 24;
pub const CHECK_SIZE_BYTES: usize = 32;
pub const TAG_SIZE_BYTES: usize = 16;
pub const HEADER_SIZE_BYTES: usize =
    8 + 3 + 12 + SALT_SIZE_BYTES + NONCE_SIZE_BYTES + CHECK_SIZE_BYTES + 2;

/// Weakest Argon2id memory accepted (OWASP's minimum recommendation, 19 MiB).
pub const KEY_FILE_MEMORY_MIN_KIB: u32 = 19 * 1024;
/// Largest memory a file may demand, so a hostile file cannot exhaust the machine: 2 GiB, the
/// memory of RFC 9106's first recommended option.
pub const KEY_FILE_MEMORY_MAX_KIB: u32 = 2 * 1024 * 1024;
pub const KEY_FILE_PASSES_MIN: u32 = 2;
/// Most passes a file may demand, so a hostile file cannot stall the opener for minutes.
pub const KEY_FILE_PASSES_MAX: u32 = 64;
pub const KEY_FILE_LANES_MIN: u32 = 1;
pub const KEY_FILE_LANES_MAX: u32 = 16;
/// Largest secret a key file holds (keys and seeds are 32-64 bytes).
pub const KEY_FILE_SECRET_MAX_BYTES: usize = 4096;
/// Longest passphrase accepted.
pub const KEY_FILE_PASSPHRASE_MAX_BYTES: usize = 1024;

/// Argon2id cost parameters, stored in the file so it opens with the cost it was sealed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyFileParams {
    pub memory_kib: u32,
    pub passes: u32,
    pub lanes: u32,
}

impl KeyFileParams {
    /// RFC 9106 §4 second recommended option, with one lane (this build hashes lanes serially).
    pub const RECOMMENDED: Self = Self {
        memory_kib: 64 * 1024,
        passes: 3,
        lanes: 1,
    };
    /// The weakest parameters accepted (OWASP: 19 MiB, 2 passes, 1 lane).
    pub const MINIMUM: Self = Self {
        memory_kib: KEY_FILE_MEMORY_MIN_KIB,
        passes: KEY_FILE_PASSES_MIN,
        lanes: KEY_FILE_LANES_MIN,
    };

    fn check(&self) -> Result<(), KeyFileError> {
        let ranges = [
            (
                "memory_kib",
                self.memory_kib,
                KEY_FILE_MEMORY_MIN_KIB,
                KEY_FILE_MEMORY_MAX_KIB,
            ),
            (
                "passes",
                self.passes,
                KEY_FILE_PASSES_MIN,
                KEY_FILE_PASSES_MAX,
            ),
            ("lanes", self.lanes, KEY_FILE_LANES_MIN, KEY_FILE_LANES_MAX),
        ];
        for (name, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(KeyFileError::ParamOutOfRange {
                    name,
                    value,
                    min,
                    max,
                });
            }
        }
        Ok(())
    }
}

/// Why a key file could not be sealed or opened.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyFileError {
    #[error(
        "key file is truncated ({got_bytes} bytes, expected {expected_bytes}): restore it from a backup"
    )]
    Truncated {
        got_bytes: usize,
        expected_bytes: usize,
    },
    #[error("not a medchain key file (magic bytes differ): check the path")]
    NotAKeyFile,
    #[error(
        "key file version {version} is not supported (this build reads version 1): upgrade medchain"
    )]
    UnsupportedVersion { version: u8 },
    #[error("key file uses unknown {what} id {id}: upgrade medchain")]
    UnsupportedAlgorithm { what: &'static str, id: u8 },
    #[error(
        "key file parameter {name} = {value} is outside {min}..={max}: the file is corrupt or hostile"
    )]
    ParamOutOfRange {
        name: &'static str,
        value: u32,
        min: u32,
        max: u32,
    },
    #[error("wrong passphrase (or the file's salt or parameters were altered)")]
    WrongPassphrase,
    #[error(
        "key file failed authentication although the passphrase is right: the file was modified"
    )]
    Tampered,
    #[error("key file has {extra_bytes} bytes after its end: the file was modified")]
    TrailingBytes { extra_bytes: usize },
    #[error("secret is {got_bytes} bytes, must be 1..={KEY_FILE_SECRET_MAX_BYTES}")]
    BadSecretLength { got_bytes: usize },
    #[error("passphrase is {got_bytes} bytes, must be 1..={KEY_FILE_PASSPHRASE_MAX_BYTES}")]
    BadPassphraseLength { got_bytes: usize },
    #[error("Argon2id failed: {0}")]
    Kdf(String),
}

fn check_passphrase(passphrase: &[u8]) -> Result<(), KeyFileError> {
    if passphrase.is_empty() || passphrase.len() > KEY_FILE_PASSPHRASE_MAX_BYTES {
        return Err(KeyFileError::BadPassphraseLength {
            got_bytes: passphrase.len(),
        });
    }
    Ok(())
}

/// 64 bytes of Argon2id output: the AEAD key, then the passphrase check value.
fn stretch(
    passphrase: &[u8],
    salt: &[u8],
    params: KeyFileParams,
) -> Result<Zeroizing<[u8; 64]>, KeyFileError> {
    let argon_params = Params::new(params.memory_kib, params.passes, params.lanes, Some(64))
        .map_err(|e| KeyFileError::Kdf(e.to_string()))?;
    let mut out = Zeroizing::new([0u8; 64]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params)
        .hash_password_into(passphrase, salt, &mut *out)
        .map_err(|e| KeyFileError::Kdf(e.to_string()))?;
    Ok(out)
}

/// Seals `secret` under `passphrase`; salt and nonce come from `rng`.
pub fn seal_key_file(
    rng: &mut impl CryptoRng,
    secret: &[u8],
    passphrase: &[u8],
    params: KeyFileParams,
) -> Result<Vec<u8>, KeyFileError> {
    if secret.is_empty() || secret.len() > KEY_FILE_SECRET_MAX_BYTES {
        return Err(KeyFileError::BadSecretLength {
            got_bytes: secret.len(),
        });
    }
    check_passphrase(passphrase)?;
    params.check()?;
    let mut salt = [0u8; SALT_SIZE_BYTES];
    rng.fill_bytes(&mut salt);
    let mut nonce = [0u8; NONCE_SIZE_BYTES];
    rng.fill_bytes(&mut nonce);
    let stretched = stretch(passphrase, &salt, params)?;
    let mut file = Vec::with_capacity(HEADER_SIZE_BYTES + secret.len() + TAG_SIZE_BYTES);
    file.extend_from_slice(&MAGIC);
    file.extend_from_slice(&[VERSION, KDF_ARGON2ID_V13, AEAD_XCHACHA20POLY1305]);
    for value in [params.memory_kib, params.passes, params.lanes] {
        file.extend_from_slice(&value.to_be_bytes());
    }
    file.extend_from_slice(&salt);
    file.extend_from_slice(&nonce);
    file.extend_from_slice(&stretched[32..]);
    let secret_len = u16::try_from(secret.len()).expect("checked against the 4096-byte limit");
    file.extend_from_slice(&secret_len.to_be_bytes());
    let cipher = XChaCha20Poly1305::new_from_slice(&stretched[..32]).expect("32-byte key");
    let ciphertext = cipher
        .encrypt(
            &nonce.into(),
            Payload {
                msg: secret,
                aad: &file,
            },
        )
        .expect("secret within XChaCha20-Poly1305 limits");
    file.extend_from_slice(&ciphertext);
    Ok(file)
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4-byte field"))
}

/// Checks everything that can be checked without the passphrase and returns the parameters.
fn parse_header(file: &[u8]) -> Result<KeyFileParams, KeyFileError> {
    let truncated = |expected_bytes| KeyFileError::Truncated {
        got_bytes: file.len(),
        expected_bytes,
    };
    if file.len() < MAGIC.len() + 1 {
        return Err(truncated(HEADER_SIZE_BYTES + 1 + TAG_SIZE_BYTES));
    }
    if file[..8] != MAGIC {
        return Err(KeyFileError::NotAKeyFile);
    }
    if file[8] != VERSION {
        return Err(KeyFileError::UnsupportedVersion { version: file[8] });
    }
    if file.len() < HEADER_SIZE_BYTES {
        return Err(truncated(HEADER_SIZE_BYTES + 1 + TAG_SIZE_BYTES));
    }
    if file[9] != KDF_ARGON2ID_V13 {
        return Err(KeyFileError::UnsupportedAlgorithm {
            what: "kdf",
            id: file[9],
        });
    }
    if file[10] != AEAD_XCHACHA20POLY1305 {
        return Err(KeyFileError::UnsupportedAlgorithm {
            what: "aead",
            id: file[10],
        });
    }
    let params = KeyFileParams {
        memory_kib: read_u32(file, 11),
        passes: read_u32(file, 15),
        lanes: read_u32(file, 19),
    };
    params.check()?;
    let secret_len = usize::from(u16::from_be_bytes([
        file[HEADER_SIZE_BYTES - 2],
        file[HEADER_SIZE_BYTES - 1],
    ]));
    if secret_len == 0 || secret_len > KEY_FILE_SECRET_MAX_BYTES {
        return Err(KeyFileError::BadSecretLength {
            got_bytes: secret_len,
        });
    }
    let expected_bytes = HEADER_SIZE_BYTES + secret_len + TAG_SIZE_BYTES;
    if file.len() < expected_bytes {
        return Err(truncated(expected_bytes));
    }
    if file.len() > expected_bytes {
        return Err(KeyFileError::TrailingBytes {
            extra_bytes: file.len() - expected_bytes,
        });
    }
    Ok(params)
}

/// The cost parameters of a key file, checking everything that needs no passphrase; lets a
/// caller show or refuse the cost before paying it.
pub fn inspect_key_file(file: &[u8]) -> Result<KeyFileParams, KeyFileError> {
    parse_header(file)
}

/// Opens a key file, telling a wrong passphrase apart from a modified file.
pub fn open_key_file(file: &[u8], passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    check_passphrase(passphrase)?;
    let params = parse_header(file)?;
    let salt_at = 8 + 3 + 12;
    let nonce_at = salt_at + SALT_SIZE_BYTES;
    let check_at = nonce_at + NONCE_SIZE_BYTES;
    let stretched = stretch(passphrase, &file[salt_at..nonce_at], params)?;
    let stored_check = &file[check_at..check_at + CHECK_SIZE_BYTES];
    if !bool::from(stored_check.ct_eq(&stretched[32..])) {
        return Err(KeyFileError::WrongPassphrase);
    }
    let nonce: [u8; NONCE_SIZE_BYTES] = file[nonce_at..check_at].try_into().expect("24-byte nonce");
    let cipher = XChaCha20Poly1305::new_from_slice(&stretched[..32]).expect("32-byte key");
    let (header, ciphertext) = file.split_at(HEADER_SIZE_BYTES);
    cipher
        .decrypt(
            &nonce.into(),
            Payload {
                msg: ciphertext,
                aad: header,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| KeyFileError::Tampered)
}
