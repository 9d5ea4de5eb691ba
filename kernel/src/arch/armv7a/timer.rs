//! The Arm generic timer: the non-secure physical timer drives preemption
//! and timeouts with one-shot deadlines (no periodic tick).

use super::cp15;
use core::sync::atomic::{AtomicU32, Ordering};

/// Interrupt ID of the non-secure physical timer (PPI 14, ID 30, on virt),
/// from the device tree: [`init`] sets it before any interrupt is unmasked.
/// Zero until then, so it lives in `.bss` and the kernel has no `.data`.
/// The timer's interrupt ID (svc.s's IRQ path reads it too).
pub(super) static TIMER_INTERRUPT: AtomicU32 = AtomicU32::new(0);

/// The timer's interrupt ID.
pub fn interrupt() -> u32 {
    TIMER_INTERRUPT.load(Ordering::Relaxed)
}

/// Counter ticks per second.
pub fn frequency() -> u64 {
    cp15::read_cntfrq() as u64
}

/// Current counter value.
pub fn now() -> u64 {
    cp15::read_cntpct()
}

/// Enables the timer, whose interrupt is `interrupt`, with no deadline.
pub fn init(interrupt: u32) {
    TIMER_INTERRUPT.store(interrupt, Ordering::Relaxed);
    cp15::write_cntp_cval(u64::MAX);
    // SAFETY: ENABLE=1, IMASK=0 only controls the timer interrupt.
    unsafe { cp15::write_cntp_ctl(1) };
}

/// Raises the timer interrupt once the counter reaches `deadline`.
pub fn set_deadline(deadline: u64) {
    cp15::write_cntp_cval(deadline);
}
