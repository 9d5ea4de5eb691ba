//! The user-visible CPU state that follows a process from switch to switch,
//! and the way back to user mode. (The saved registers themselves are
//! `kernel_core::kernel::UserContext`.)

use kernel_core::kernel::UserContext;

/// CPSR for a new user thread: User mode, IRQs enabled, FIQs masked, Arm
/// (Thumb if `thumb`).
pub const fn initial_cpsr(thumb: bool) -> u32 {
    0x10 | (1 << 6) | ((thumb as u32) << 5)
}

/// Gives the CPU's user-visible state outside the saved registers to the
/// process whose context is `context`: its own thread register, and an
/// open exclusive monitor, so no `ldrex` of the previous process can make
/// a `strex` succeed (nor one of this process's from before the switch).
/// TPIDRURO stays 0 (set at boot, never written); VFP, Advanced SIMD and
/// ThumbEE's handler register are closed to User mode (`close_user_state`).
#[inline(always)]
pub fn enter_process(context: &UserContext) {
    // SAFETY: TPIDRURW is a scratch register for User mode; the kernel
    // keeps nothing in it. `clrex` only resets the local exclusive monitor.
    unsafe {
        super::cp15::write_tpidrurw(context.thread_register);
        core::arch::asm!("clrex", options(nomem, nostack, preserves_flags));
    }
}

unsafe extern "C" {
    /// Restores the context whose `pc` field is at `resume` and enters user
    /// mode, or with `resume` null goes to the idle wait (svc.s).
    fn tessera_return_to_user(resume: *mut u32) -> !;
}

/// Enters user mode with the context whose `pc` field is at `resume` (null:
/// svc.s's idle wait, with no thread ready; see `Platform::idles_outside`).
///
/// # Safety
/// `resume` must come from `kernel_core::kernel::resume_pointer` on a context that stays valid
/// and in place while the thread runs, whose CPSR selects User mode, or
/// from `prepare_return` (null).
pub unsafe fn enter_user(resume: *mut u32) -> ! {
    // SAFETY: forwarded from the caller.
    unsafe { tessera_return_to_user(resume) }
}
