//! The envelope's AEAD: ChaCha20-Poly1305 (RFC 8439). On x86_64 and aarch64 it runs on
//! aws-lc-rs (the assembly commonware already links for its own ChaCha20-Poly1305), elsewhere on
//! RustCrypto's `chacha20poly1305`; both sit behind the `aead` 0.6 traits that `aead-stream`'s
//! STREAM drives, and produce identical bytes (tested against each other below).

/// The `aead` traits the cipher implements, for callers that drive it directly (benchmarks).
pub use aead_stream::aead;

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub use self::aws_lc::EnvelopeCipher;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub type EnvelopeCipher = chacha20poly1305::ChaCha20Poly1305;

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod aws_lc {
    use aead_stream::aead::{
        self, AeadCore, AeadInOut, Key, KeyInit, KeySizeUser, Nonce, Tag, TagPosition,
        array::typenum::{U12, U16, U32},
        inout::InOutBuf,
    };
    use aws_lc_rs::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce as LcNonce, UnboundKey};
    use zeroize::Zeroize;

    /// ChaCha20-Poly1305 on aws-lc. The key lives in an aws-lc context that aws-lc cleanses
    /// when it is freed on drop.
    pub struct EnvelopeCipher(LessSafeKey);

    impl AeadCore for EnvelopeCipher {
        type NonceSize = U12;
        type TagSize = U16;
        const TAG_POSITION: TagPosition = TagPosition::Postfix;
    }

    impl KeySizeUser for EnvelopeCipher {
        type KeySize = U32;
    }

    impl KeyInit for EnvelopeCipher {
        fn new(key: &Key<Self>) -> Self {
            let unbound = UnboundKey::new(&CHACHA20_POLY1305, key.as_slice())
                .expect("a 32-byte key is valid for ChaCha20-Poly1305");
            Self(LessSafeKey::new(unbound))
        }
    }

    fn lc_nonce(nonce: &Nonce<EnvelopeCipher>) -> LcNonce {
        let bytes: [u8; 12] = nonce.as_slice().try_into().expect("96-bit nonce");
        LcNonce::assume_unique_for_key(bytes)
    }

    impl AeadInOut for EnvelopeCipher {
        fn encrypt_inout_detached(
            &self,
            nonce: &Nonce<Self>,
            associated_data: &[u8],
            buffer: InOutBuf<'_, '_, u8>,
        ) -> aead::Result<Tag<Self>> {
            let data = buffer.into_out_with_copied_in();
            let tag = self
                .0
                .seal_in_place_separate_tag(lc_nonce(nonce), Aad::from(associated_data), data)
                .map_err(|_| aead::Error)?;
            Tag::<Self>::try_from(tag.as_ref()).map_err(|_| aead::Error)
        }

        fn decrypt_inout_detached(
            &self,
            nonce: &Nonce<Self>,
            associated_data: &[u8],
            buffer: InOutBuf<'_, '_, u8>,
            tag: &Tag<Self>,
        ) -> aead::Result<()> {
            let data = buffer.into_out_with_copied_in();
            let opened = self.0.open_in_place_separate_tag(
                lc_nonce(nonce),
                Aad::from(associated_data),
                tag.as_slice(),
                data,
            );
            if opened.is_err() {
                // aws-lc decrypts before it compares tags: never leave unauthenticated plaintext.
                data.zeroize();
                return Err(aead::Error);
            }
            Ok(())
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::rng::seeded_u64;
        use chacha20poly1305::ChaCha20Poly1305;
        use rand_core::Rng;

        #[test]
        fn aws_lc_and_rustcrypto_produce_the_same_bytes() {
            let mut rng = seeded_u64(20);
            for len in [0usize, 1, 63, 64, 65, 1000, 65536] {
                let mut key = [0u8; 32];
                let mut nonce = [0u8; 12];
                let mut plaintext = vec![0u8; len];
                rng.fill_bytes(&mut key);
                rng.fill_bytes(&mut nonce);
                rng.fill_bytes(&mut plaintext);
                let ours = EnvelopeCipher::new_from_slice(&key).unwrap();
                let peer = ChaCha20Poly1305::new_from_slice(&key).unwrap();
                let mut a = plaintext.clone();
                let mut b = plaintext.clone();
                ours.encrypt_in_place(&nonce.into(), b"ad", &mut a).unwrap();
                peer.encrypt_in_place(&nonce.into(), b"ad", &mut b).unwrap();
                assert_eq!(a, b, "len {len}");
                peer.decrypt_in_place(&nonce.into(), b"ad", &mut a).unwrap();
                ours.decrypt_in_place(&nonce.into(), b"ad", &mut b).unwrap();
                assert_eq!(a, plaintext);
                assert_eq!(b, plaintext);
            }
        }

        #[test]
        fn failed_open_leaves_no_plaintext() {
            let cipher = EnvelopeCipher::new_from_slice(&[1u8; 32]).unwrap();
            let mut sealed = b"secret record".to_vec();
            cipher
                .encrypt_in_place(&[0u8; 12].into(), b"", &mut sealed)
                .unwrap();
            sealed[0] ^= 1;
            let before_tag = sealed.len() - 16;
            assert!(
                cipher
                    .decrypt_in_place(&[0u8; 12].into(), b"", &mut sealed)
                    .is_err()
            );
            assert_eq!(&sealed[..before_tag], &[0u8; 13]);
        }
    }
}
