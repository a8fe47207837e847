//! Timing shared by the benchmark groups: wall time and this thread's CPU time per call, so a
//! figure taken on a machine busy with other work still shows the cost per core.

use std::time::{Duration, Instant};

/// Seconds per call of some work: median and best wall time, median thread CPU time.
pub struct Timing {
    pub wall_median_s: f64,
    pub wall_best_s: f64,
    pub cpu_median_s: f64,
}

/// CPU time consumed by this thread, in seconds: unlike wall time it leaves out the time other
/// processes on this shared machine hold the core, so it measures the code, per core.
pub fn thread_cpu_seconds() -> f64 {
    cpu_seconds(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// One of Linux's CPU-time clocks (`CLOCK_THREAD_CPUTIME_ID`).
// The standard library has no CPU-time clock; libc's is the only way to it.
#[allow(unsafe_code)]
fn cpu_seconds(clock: libc::clockid_t) -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec and the callers pass clock ids Linux supports.
    let status = unsafe { libc::clock_gettime(clock, &mut now) };
    assert_eq!(
        status, 0,
        "the CPU-time clock {clock} is available on Linux"
    );
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

/// Runs `work` until it has run for `measure_min_ms` and at least `repetitions_min` times.
pub fn time(measure_min_ms: u64, repetitions_min: usize, mut work: impl FnMut()) -> Timing {
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    let started = Instant::now();
    while walls.len() < repetitions_min || started.elapsed() < Duration::from_millis(measure_min_ms)
    {
        let (wall, cpu) = (Instant::now(), thread_cpu_seconds());
        work();
        cpus.push(thread_cpu_seconds() - cpu);
        walls.push(wall.elapsed().as_secs_f64());
    }
    walls.sort_by(f64::total_cmp);
    cpus.sort_by(f64::total_cmp);
    Timing {
        wall_median_s: walls[walls.len() / 2],
        wall_best_s: walls[0],
        cpu_median_s: cpus[cpus.len() / 2],
    }
}
