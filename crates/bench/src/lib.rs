//! Benchmarks of medchain against peer libraries and the machine's own limits.
//!
//! Each benchmark group prints its figures, the reference measured in the same run, the ratio,
//! and ends with one summary line `name key=value ...` so results can be tracked from run to run.
//! The `medchain bench <group>` command calls into this crate.

pub mod aead;
mod peer;
pub mod ring;
pub mod study;
mod timing;
pub mod umbral;
