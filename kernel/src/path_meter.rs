//! The longest run of kernel instructions with interrupts masked, measured by a benchmark kernel of its own.
//!
//! The kernel is not preemptible: every entry from user mode runs with IRQs
//! masked until it returns, so the longest entry bounds how late an
//! interrupt can be taken. A kernel built with the feature `path-meter`
//! (`cargo xtask bench` boots one besides the benchmark image, under QEMU's
//! `-icount shift=0`, where the cycle counter counts instructions) times
//! each entry's Rust part (an idle wait, `wfi`, is outside any: svc.s's,
//! after an entry returned); and the kernel reports the longest at shutdown
//! (`BENCH max_kernel_path_instructions`). The entry and exit assembly
//! around it (about 10 instructions) is not counted. The metering costs
//! instructions on every entry, so the other benchmarks run on a kernel
//! without it; in every other kernel these functions are empty.

#[cfg(feature = "path-meter")]
mod meter {
    use core::sync::atomic::{AtomicU32, Ordering};

    use crate::arch::cp15;

    /// Cycle counter at the start of the current run.
    static STARTED: AtomicU32 = AtomicU32::new(0);
    /// What the current run is (see [`super::what`]).
    static CURRENT: AtomicU32 = AtomicU32::new(0);
    /// The longest run so far and what it was.
    static LONGEST: AtomicU32 = AtomicU32::new(0);
    static LONGEST_WHAT: AtomicU32 = AtomicU32::new(0);

    pub fn begin(what: u32) {
        CURRENT.store(what, Ordering::Relaxed);
        STARTED.store(cp15::read_pmccntr(), Ordering::Relaxed);
    }

    pub fn end() {
        let length = cp15::read_pmccntr().wrapping_sub(STARTED.load(Ordering::Relaxed));
        if length > LONGEST.load(Ordering::Relaxed) {
            LONGEST.store(length, Ordering::Relaxed);
            LONGEST_WHAT.store(CURRENT.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    pub fn longest() -> (u32, u32) {
        (LONGEST.load(Ordering::Relaxed), LONGEST_WHAT.load(Ordering::Relaxed))
    }
}

/// What a run is: a syscall number (below [`IRQ`]), an interrupt, a user
/// fault, or the rest of an entry after an idle wait.
pub mod what {
    /// An interrupt from user mode.
    pub const IRQ: u32 = 1000;
    /// A user fault (plus its kind: 0 undefined, 1 prefetch, 2 data abort).
    pub const FAULT: u32 = 2000;
    /// The kernel woke from an idle wait in Rust (`Kernel::idle`, which
    /// this kernel leaves to svc.s: `Platform::idles_outside`).
    pub const IDLE_WAKE: u32 = 3000;
}

/// Starts timing a run of kind `what`.
#[inline(always)]
pub fn begin(what: u32) {
    #[cfg(feature = "path-meter")]
    meter::begin(what);
    #[cfg(not(feature = "path-meter"))]
    let _ = what;
}

/// Ends the current run.
#[inline(always)]
pub fn end() {
    #[cfg(feature = "path-meter")]
    meter::end();
}

/// The longest run measured and what it was.
#[cfg(feature = "path-meter")]
pub fn longest() -> (u32, u32) {
    meter::longest()
}

/// A name for a run kind, for the report.
#[cfg(feature = "path-meter")]
pub fn describe(what: u32) -> (&'static str, u32) {
    match what {
        what::IRQ => ("an interrupt", 0),
        what::IDLE_WAKE => ("the wake from an idle wait", 0),
        kind if kind >= what::FAULT => ("a user fault of kind", kind - what::FAULT),
        number => ("syscall", number),
    }
}
