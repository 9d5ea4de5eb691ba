//! The saved user register state, the pointer the entry code uses, and the
//! user-visible CPU state that follows a process from switch to switch.

/// User registers as `entry.s` saves them. The order is fixed by the
/// `stmdb sp, {r0-r14}^` / `srsia sp` pair: r0-r12, sp, lr, then pc and cpsr.
/// After them the user thread register, which the entry code saves too
/// (into the word after `cpsr`) but the kernel loads back only when the CPU
/// passes to another process ([`enter_process`]).
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
    /// Its CPSR (mode bits are User). Holds the flags, Q, the GE bits, the
    /// IT state, E (endianness) and the instruction set: all per thread.
    pub cpsr: u32,
    /// Its user read/write thread register (TPIDRURW). 0 for a new process.
    pub thread_register: u32,
}

// entry.s stores TPIDRURW 8 bytes after the `pc` field.
const _: () =
    assert!(core::mem::offset_of!(UserContext, thread_register) == core::mem::offset_of!(UserContext, pc) + 8);

impl UserContext {
    /// All zero.
    pub const ZERO: UserContext = UserContext { r: [0; 13], sp: 0, lr: 0, pc: 0, cpsr: 0, thread_register: 0 };
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
