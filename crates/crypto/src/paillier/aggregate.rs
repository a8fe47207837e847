//! Many-ciphertext work spread over the machine's cores: the homomorphic sum of a slice of
//! ciphertexts (the product in Z*_{n²}, Paillier 1999 §2), CRT decryption (§7) of a batch, and one
//! decryption with its two CRT halves on two threads. Threads (`std::thread::scope`) claim small
//! pieces of the slice from a shared counter, so a thread the OS deschedules on a busy machine
//! holds up at most one piece; results are combined so that they equal the sequential ones.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use super::keys::{Ciphertext, Plaintext, PublicKey, SecretKey};

/// Fewest ciphertexts [`PublicKey::sum`] gives one thread, and the piece a thread claims at a
/// time: 64 additions (~0.3 ms for a 2048-bit key) outweigh starting a thread (~20–50 µs) or
/// claiming a piece, so small sums stay on the calling thread.
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

    /// [`PublicKey::sum`] on at most `threads` threads (at most one per piece of
    /// [`SUM_THREAD_MIN_CIPHERTEXTS`] and at most [`PARALLELISM_MAX_THREADS`]); `threads = 1` runs
    /// on the calling thread only.
    pub fn sum_on_threads(&self, ciphertexts: &[Ciphertext], threads: NonZeroUsize) -> Ciphertext {
        let partials = fold_pieces(
            ciphertexts,
            threads,
            SUM_THREAD_MIN_CIPHERTEXTS,
            || self.zero_ciphertext(),
            |acc, _, piece| {
                for c in piece {
                    self.add_assign(acc, c);
                }
            },
        );
        // Multiplication in Z*_{n²} is commutative and associative and every partial is reduced,
        // so however the pieces were shared out, the combined residue is the sequential one.
        let mut total = self.zero_ciphertext();
        for partial in &partials {
            self.add_assign(&mut total, partial);
        }
        total
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
    /// a thread start, so for many ciphertexts [`SecretKey::decrypt_batch`] gives more throughput,
    /// and on a busy machine waiting for the second half can make it slower than `decrypt`.
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
        let per_thread = fold_pieces(ciphertexts, threads, 1, Vec::new, |done, index, piece| {
            done.extend(piece.iter().map(|c| (index, self.decrypt(c))));
        });
        let mut numbered: Vec<(usize, Plaintext)> = per_thread.into_iter().flatten().collect();
        numbered.sort_unstable_by_key(|(index, _)| *index);
        debug_assert!(
            numbered
                .iter()
                .enumerate()
                .all(|(i, (index, _))| i == *index)
        );
        numbered.into_iter().map(|(_, m)| m).collect()
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

/// Threads for `pieces` pieces of work when `requested` are asked for: never more than there are
/// pieces or than [`PARALLELISM_MAX_THREADS`], never fewer than one.
fn thread_count(pieces: usize, requested: NonZeroUsize) -> usize {
    requested
        .get()
        .min(PARALLELISM_MAX_THREADS)
        .min(pieces)
        .max(1)
}

/// Cuts `items` into pieces of `piece_len` (the last may be shorter) and folds every piece into
/// a per-thread accumulator, `fold(acc, piece_index, piece)`, on up to `threads` threads that
/// claim the next piece from a shared counter. Returns one accumulator per thread that ran; each
/// piece is folded exactly once, but which thread folds it depends on scheduling. A thread the OS
/// refuses to start leaves its share to the others; a panic in `fold` is re-raised here.
fn fold_pieces<T, A, I, F>(
    items: &[T],
    threads: NonZeroUsize,
    piece_len: usize,
    init: I,
    fold: F,
) -> Vec<A>
where
    T: Sync,
    A: Send,
    I: Fn() -> A + Sync,
    F: Fn(&mut A, usize, &[T]) + Sync,
{
    assert!(piece_len > 0, "pieces hold at least one item");
    let pieces = items.len().div_ceil(piece_len);
    let next_piece = AtomicUsize::new(0);
    let run = || {
        let mut acc = init();
        loop {
            let piece = next_piece.fetch_add(1, Ordering::Relaxed);
            if piece >= pieces {
                return acc;
            }
            let start = piece * piece_len;
            let end = items.len().min(start + piece_len);
            fold(&mut acc, piece, &items[start..end]);
        }
    };
    let threads = thread_count(pieces, threads);
    if threads == 1 {
        return vec![run()];
    }
    thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| thread::Builder::new().spawn_scoped(scope, run).ok())
            .collect();
        let mut accs = vec![run()];
        for helper in helpers {
            accs.push(
                helper
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        accs
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
    fn thread_count_is_capped_by_pieces_and_the_thread_maximum() {
        assert_eq!(thread_count(0, threads(4)), 1);
        assert_eq!(
            thread_count(3, threads(8)),
            3,
            "one piece per thread at most"
        );
        assert_eq!(thread_count(1000, threads(4)), 4);
        let many = 10 * PARALLELISM_MAX_THREADS;
        assert_eq!(
            thread_count(many, threads(PARALLELISM_MAX_THREADS + 1)),
            PARALLELISM_MAX_THREADS
        );
        assert_eq!(
            thread_count(many, threads(usize::MAX)),
            PARALLELISM_MAX_THREADS
        );
    }

    #[test]
    fn fold_pieces_folds_every_piece_exactly_once() {
        let items: Vec<u32> = (0..103).collect();
        let per_thread = fold_pieces(&items, threads(4), 7, Vec::new, |seen, index, piece| {
            seen.push((index, piece.to_vec()));
        });
        assert!((1..=4).contains(&per_thread.len()));
        let mut pieces: Vec<(usize, Vec<u32>)> = per_thread.into_iter().flatten().collect();
        pieces.sort();
        let indices: Vec<usize> = pieces.iter().map(|(i, _)| *i).collect();
        assert_eq!(indices, (0..15).collect::<Vec<_>>());
        assert_eq!(pieces[14].1, vec![98, 99, 100, 101, 102]);
        let flat: Vec<u32> = pieces.into_iter().flat_map(|(_, p)| p).collect();
        assert_eq!(flat, items);
    }

    #[test]
    fn fold_pieces_of_nothing_gives_one_untouched_accumulator() {
        let accs = fold_pieces(
            &[] as &[u32],
            threads(4),
            3,
            || 17u32,
            |acc, _, _| *acc += 1,
        );
        assert_eq!(accs, vec![17]);
    }
}
