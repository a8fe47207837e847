//! Overwrites the limbs of GMP integers that hold secrets. `rug::Integer` frees its buffer without
//! clearing it, so secret-holding types call [`wipe`] from their `Zeroize` implementation.
//! Limitation: temporaries inside GMP (e.g. `mpz_powm` scratch space) are freed uncleared.

use rug::Integer;

/// Sets every allocated limb of `x` to zero with volatile writes, then sets `x` to 0.
// rug exposes no safe way to reach the limbs it frees uncleared.
#[allow(unsafe_code)]
pub(crate) fn wipe(x: &mut Integer) {
    // SAFETY: `as_raw_mut` points at a live, initialised `mpz_t`. GMP guarantees `d` points at
    // `alloc` limbs owned by this integer (rug never creates an `mpz_t` with `alloc == 0` and a
    // dangling `d` that we would then write through: when `alloc` is 0 the loop does not run).
    unsafe {
        let raw = x.as_raw_mut();
        let alloc = usize::try_from((*raw).alloc).unwrap_or(0);
        let limbs = (*raw).d.as_ptr();
        for i in 0..alloc {
            core::ptr::write_volatile(limbs.add(i), 0);
        }
        (*raw).size = 0;
    }
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
}

/// Wipes each integer in turn; for structs with several secret fields.
pub(crate) fn wipe_all(xs: &mut [&mut Integer]) {
    for x in xs.iter_mut() {
        wipe(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    // Reading the limbs back is the only way to see that they were wiped.
    #[allow(unsafe_code)]
    fn wiped_integer_has_all_limbs_zero_and_stays_usable() {
        let mut x = (Integer::from(1) << 4000) - 1u32; // every limb all ones
        wipe(&mut x);
        assert_eq!(x, 0);
        // SAFETY: reads the `alloc` limbs the integer still owns after the wipe.
        let all_zero = unsafe {
            let raw = x.as_raw();
            let limbs = core::slice::from_raw_parts((*raw).d.as_ptr(), (*raw).alloc as usize);
            assert!(limbs.len() >= 63, "the buffer is kept, not freed");
            limbs.iter().all(|&l| l == 0)
        };
        assert!(all_zero);
        x += 5;
        assert_eq!(x, 5);
    }
}
