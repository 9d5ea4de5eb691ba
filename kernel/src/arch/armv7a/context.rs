//! The saved user register state and the pointer the entry code uses.

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

/// The address the entry code resumes from: that of the context's `pc`
/// field (`entry.s` restores r0-r14 below it and pc, cpsr from it).
pub fn resume_pointer(context: &mut UserContext) -> *mut u32 {
    core::ptr::addr_of_mut!(context.pc)
}

unsafe extern "C" {
    /// Restores the context whose `pc` field is at `resume` and enters user
    /// mode (entry.s).
    fn tessera_return_to_user(resume: *mut u32) -> !;
}

/// Enters user mode with the context whose `pc` field is at `resume`.
///
/// # Safety
/// `resume` must come from [`resume_pointer`] on a context that stays valid
/// and in place while the thread runs, whose CPSR selects User mode.
pub unsafe fn enter_user(resume: *mut u32) -> ! {
    // SAFETY: forwarded from the caller.
    unsafe { tessera_return_to_user(resume) }
}
