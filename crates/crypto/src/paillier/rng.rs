//! Randomness adapters for the Paillier code: the workspace hands out `rand_core` 0.10 generators,
//! while GMP sampling (through `rug`) and `fast-paillier` (on `rand_core` 0.6) each expect their own
//! trait. Every conversion lives here so there is exactly one place to audit.

use rand_core::CryptoRng;
use rug::rand::{ThreadRandGen, ThreadRandState};

/// Borrows a workspace RNG so GMP's sampling functions draw from it.
pub(crate) struct GmpRng<'a, R: CryptoRng + ?Sized>(&'a mut R);

impl<R: CryptoRng + ?Sized> ThreadRandGen for GmpRng<'_, R> {
    fn r#gen(&mut self) -> u32 {
        self.0.next_u32()
    }
}

impl<'a, R: CryptoRng + ?Sized> GmpRng<'a, R> {
    pub(crate) fn new(rng: &'a mut R) -> Self {
        Self(rng)
    }

    /// A GMP random state that pulls every bit from the wrapped RNG (no GMP-internal generator).
    pub(crate) fn state(&mut self) -> ThreadRandState<'_> {
        ThreadRandState::new_custom(self)
    }
}

/// Presents a workspace RNG as a `rand_core` 0.6 RNG for `fast-paillier`.
pub(crate) struct Rng06<'a, R: CryptoRng + ?Sized>(&'a mut R);

impl<'a, R: CryptoRng + ?Sized> Rng06<'a, R> {
    pub(crate) fn new(rng: &'a mut R) -> Self {
        Self(rng)
    }
}

impl<R: CryptoRng + ?Sized> rand_core_06::RngCore for Rng06<'_, R> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core_06::Error> {
        self.0.fill_bytes(dest);
        Ok(())
    }
}

// The wrapped generator is a `CryptoRng`, so the 0.6 marker is truthful.
impl<R: CryptoRng + ?Sized> rand_core_06::CryptoRng for Rng06<'_, R> {}
