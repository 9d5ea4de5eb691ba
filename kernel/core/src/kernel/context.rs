//! A thread's saved user registers, in the order of `ExitRecord` (and of
//! the Armv7-A entry code, which saves and restores them in place).

/// User registers as `entry.s` saves them. The order is fixed by the
/// `stmdb sp, {r0-r14}^` / `srsia sp` pair: r0-r12, sp, lr, then pc and cpsr.
/// After them the user thread register, which the entry code saves too
/// (into the word after `cpsr`) but the kernel loads back only when the CPU
/// passes to another process (`Platform::enter_process`).
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

/// The address the entry code resumes from: that of the context's `pc`
/// field (the Armv7-A entry code restores r0-r14 below it and pc, cpsr
/// from it).
pub fn resume_pointer(context: &mut UserContext) -> *mut u32 {
    core::ptr::addr_of_mut!(context.pc)
}

/// The process object holding `context`: a process's entry, and so its
/// saved context, lies in the last bytes of its own size-aligned process
/// object (`table.rs`), so the object is the context's address rounded
/// down, where the kernel reaches RAM at its physical addresses
/// (`Ram::IDENTITY`, as on both devices). A platform keeps per-process state of its own there (the Armv7-M
/// one: its MPU registers and the last frame the hardware stacked).
pub fn process_object_of(context: *const UserContext) -> u32 {
    (context as usize as u32) & !(super::PROCESS_OBJECT_BYTES - 1)
}
