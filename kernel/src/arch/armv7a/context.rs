//! The saved user register state and the pointer the entry code uses.

use core::sync::atomic::{AtomicUsize, Ordering};

/// User registers as `entry.s` saves them. The order is fixed by the
/// `stmdb sp, {r0-r14}^` / `srsia sp` pair: r0-r12, sp, lr, then pc and cpsr.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct UserContext {
    /// r0..r12.
    pub r: [u32; 13],
    /// User stack pointer.
    pub sp: u32,
    /// User link register.
    pub lr: u32,
    /// Where the thread resumes.
    pub pc: u32,
    /// Its CPSR (mode bits are User).
    pub cpsr: u32,
}

impl UserContext {
    /// All zero.
    pub const ZERO: UserContext = UserContext { r: [0; 13], sp: 0, lr: 0, pc: 0, cpsr: 0 };
}

/// CPSR for a new user thread: User mode, IRQs enabled, FIQs masked, Arm
/// (Thumb if `thumb`).
pub const fn initial_cpsr(thumb: bool) -> u32 {
    0x10 | (1 << 6) | ((thumb as u32) << 5)
}

/// Address of the running thread's `UserContext::pc`; the entry code saves
/// below it and restores from it. Written only by the kernel with IRQs
/// masked, just before returning to user mode.
#[no_mangle]
pub static TESSERA_CURRENT_CONTEXT: AtomicUsize = AtomicUsize::new(0);

/// Makes `context` the one the next return to user mode restores.
pub fn set_current(context: &mut UserContext) {
    TESSERA_CURRENT_CONTEXT.store(core::ptr::addr_of_mut!(context.pc) as usize, Ordering::Relaxed);
}

unsafe extern "C" {
    /// Restores the current context and enters user mode (entry.s).
    fn tessera_return_to_user() -> !;
}

/// Enters user mode with the context last passed to [`set_current`].
///
/// # Safety
/// [`set_current`] must have named a context that stays valid and in place
/// while the thread runs, whose CPSR selects User mode.
pub unsafe fn enter_user() -> ! {
    // SAFETY: forwarded from the caller.
    unsafe { tessera_return_to_user() }
}
