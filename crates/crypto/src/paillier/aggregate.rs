//! Many-ciphertext work spread over the machine's cores: the homomorphic sum of a slice of
//! ciphertexts (the product in Z*_{n²}, Paillier 1999 §2), CRT decryption (§7) of a batch, and one
//! decryption with its two CRT halves on two threads.
//! Each thread handles one contiguous chunk with `std::thread::scope`; results are combined in
//! chunk order, so the output is the same residue as the sequential computation, bit for bit.

use std::num::NonZeroUsize;
use std::thread;

use super::keys::{Ciphertext, Plaintext, PublicKey, SecretKey};

/// Fewest ciphertexts [`PublicKey::sum`] gives one thread: 64 additions (~0.3 ms for a 2048-bit
/// key) outweigh starting a thread (~20–50 µs), so small sums stay on the calling thread.
pub const SUM_THREAD_MIN_CIPHERTEXTS: usize = 64;

/// Most threads one call starts, whatever the caller or the machine asks for: one thread per
/// core beyond this only adds stacks and scheduling.
pub const PARALLELISM_MAX_THREADS: usize = 256;

impl PublicKey {
    /// Homomorphic sum of `ciphertexts`, Enc(Σ m_i) = Π c_i mod n², on all cores
    /// (`std::thread::available_parallelism`). Equal to folding [`PublicKey::add_assign`] over the
    /// slice from [`PublicKey::zero_ciphertext`]; an empty slice gives the zero ciphertext.
    ///
    /// Per addition this is one GMP multiplication and one division by n², as in
    /// [`PublicKey::add_assign`]. Measured alternatives at 64 limbs (BENCHMARKS.md, "Paillier"):
    /// multiplying pairs unreduced before one reduction is ~20% slower; `mpn_mul_n` +
    /// `mpn_tdiv_qr` into reused buffers and Montgomery REDC with GMP's `mpn_redc_1` gain nothing;
    /// GMP's `mpn_redc_n` gains ~15% but is internal to GMP (undeclared in `gmp.h`, free to
    /// change between releases), so it is not used.
    pub fn sum(&self, ciphertexts: &[Ciphertext]) -> Ciphertext {
        let threads = sum_thread_count(ciphertexts.len(), available_threads());
        self.sum_on_threads(ciphertexts, threads)
    }

    /// [`PublicKey::sum`] on at most `threads` threads (at most one per ciphertext and at most
    /// [`PARALLELISM_MAX_THREADS`]); `threads = 1` runs on the calling thread only.
    pub fn sum_on_threads(&self, ciphertexts: &[Ciphertext], threads: NonZeroUsize) -> Ciphertext {
        let partials = map_chunks(ciphertexts, threads, |chunk| self.sum_sequential(chunk));
        // Multiplication in Z*_{n²} is commutative and associative and every partial is reduced,
        // so the combined residue equals the sequential one exactly.
        let mut total = self.zero_ciphertext();
        for partial in &partials {
            self.add_assign(&mut total, partial);
        }
        total
    }

    fn sum_sequential(&self, ciphertexts: &[Ciphertext]) -> Ciphertext {
        let mut acc = self.zero_ciphertext();
        for c in ciphertexts {
            self.add_assign(&mut acc, c);
        }
        acc
    }
}

impl SecretKey {
    /// Decrypts every ciphertext, in order, on all cores. Each decryption is the CRT decryption of
    /// [`SecretKey::decrypt`] with its side-channel-resistant exponentiations.
    pub fn decrypt_batch(&self, ciphertexts: &[Ciphertext]) -> Vec<Plaintext> {
        self.decrypt_batch_on_threads(ciphertexts, available_threads())
    }

    /// [`SecretKey::decrypt`] with its two CRT halves (mod p and mod q) on two threads: for one
    /// latency-critical decryption on an otherwise idle machine. It costs the same CPU time plus
    /// a thread start, so for many ciphertexts [`SecretKey::decrypt_batch`] gives more throughput.
    pub fn decrypt_on_two_threads(&self, c: &Ciphertext) -> Plaintext {
        thread::scope(|scope| {
            let half_p = thread::Builder::new().spawn_scoped(scope, || self.decrypt_mod_p(c));
            let m_q = self.decrypt_mod_q(c);
            let m_p = match half_p {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(_) => self.decrypt_mod_p(c),
            };
            self.recombine(m_p, m_q)
        })
    }

    /// [`SecretKey::decrypt_batch`] on at most `threads` threads (at most one per ciphertext and
    /// at most [`PARALLELISM_MAX_THREADS`]). A decryption costs milliseconds, so even one
    /// ciphertext per thread pays for the thread.
    pub fn decrypt_batch_on_threads(
        &self,
        ciphertexts: &[Ciphertext],
        threads: NonZeroUsize,
    ) -> Vec<Plaintext> {
        let chunks = map_chunks(ciphertexts, threads, |chunk| {
            chunk.iter().map(|c| self.decrypt(c)).collect::<Vec<_>>()
        });
        chunks.into_iter().flatten().collect()
    }
}

/// Threads for a sum of `len` ciphertexts: every thread gets at least
/// [`SUM_THREAD_MIN_CIPHERTEXTS`], and no more threads than the machine has cores.
fn sum_thread_count(len: usize, cores: NonZeroUsize) -> NonZeroUsize {
    let by_work = len / SUM_THREAD_MIN_CIPHERTEXTS;
    NonZeroUsize::new(by_work.min(cores.get())).unwrap_or(NonZeroUsize::MIN)
}

fn available_threads() -> NonZeroUsize {
    // Unknown parallelism (an unusual platform or a restricted container) means one thread.
    thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

/// Length of each contiguous chunk when `len` items are split over `threads` threads; the last
/// chunk may be shorter. Never 0, so `slice::chunks` accepts it for an empty slice too.
fn chunk_len(len: usize, threads: NonZeroUsize) -> usize {
    let threads = threads.get().min(PARALLELISM_MAX_THREADS).min(len.max(1));
    len.div_ceil(threads).max(1)
}

/// Runs `work` on each chunk of `items`, one scoped thread per chunk (the last chunk on the
/// calling thread), and returns the results in chunk order. A thread the OS refuses to start
/// has its chunk done on the calling thread instead; a panic in `work` is re-raised here.
fn map_chunks<T, R, F>(items: &[T], threads: NonZeroUsize, work: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&[T]) -> R + Sync,
{
    let mut chunks = items.chunks(chunk_len(items.len(), threads));
    let Some(last) = chunks.next_back() else {
        return Vec::new();
    };
    let work = &work;
    thread::scope(|scope| {
        let started: Vec<_> = chunks
            .map(|chunk| {
                thread::Builder::new()
                    .spawn_scoped(scope, move || work(chunk))
                    .map_err(|_| chunk)
            })
            .collect();
        let last_result = work(last);
        let mut results: Vec<R> = started
            .into_iter()
            .map(|handle| match handle {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(chunk) => work(chunk),
            })
            .collect();
        results.push(last_result);
        results
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threads(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).unwrap()
    }

    #[test]
    fn sums_below_two_thread_minimums_stay_on_one_thread() {
        let cores = threads(8);
        assert_eq!(sum_thread_count(0, cores).get(), 1);
        assert_eq!(
            sum_thread_count(2 * SUM_THREAD_MIN_CIPHERTEXTS - 1, cores).get(),
            1
        );
        assert_eq!(
            sum_thread_count(2 * SUM_THREAD_MIN_CIPHERTEXTS, cores).get(),
            2
        );
        assert_eq!(sum_thread_count(1_000_000, cores).get(), 8);
    }

    #[test]
    fn chunks_cover_the_slice_with_at_most_the_thread_cap() {
        assert_eq!(chunk_len(0, threads(4)), 1);
        assert_eq!(chunk_len(3, threads(8)), 1, "one item per thread at most");
        assert_eq!(chunk_len(10, threads(4)), 3, "chunks of 3, 3, 3, 1");
        let len = 10 * PARALLELISM_MAX_THREADS;
        assert_eq!(chunk_len(len, threads(PARALLELISM_MAX_THREADS + 1)), 10);
        assert_eq!(chunk_len(len, threads(usize::MAX)), 10);
    }

    #[test]
    fn map_chunks_returns_results_in_slice_order() {
        let items: Vec<u32> = (0..103).collect();
        let sums = map_chunks(&items, threads(4), |chunk| chunk.to_vec());
        assert_eq!(sums.len(), 4);
        assert_eq!(sums.concat(), items);
        assert!(map_chunks(&[] as &[u32], threads(4), |c| c.len()).is_empty());
    }
}
