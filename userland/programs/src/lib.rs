//! Shared definitions for the boot-image programs: what `init` passes each
//! program as its argument.
#![no_std]
#![forbid(unsafe_code)]

/// Arguments of the `probe` program: what it tries to do.
pub mod probe {
    /// Read kernel memory.
    pub const READ_KERNEL: u32 = 1;
    /// Write kernel memory.
    pub const WRITE_KERNEL: u32 = 2;
    /// Execute code copied into a data page.
    pub const EXECUTE_DATA: u32 = 3;
    /// Execute code copied onto the stack.
    pub const EXECUTE_STACK: u32 = 4;
    /// Read an unmapped user address.
    pub const READ_UNMAPPED: u32 = 5;
    /// Read through a null pointer.
    pub const READ_NULL: u32 = 6;
    /// Execute an undefined instruction.
    pub const UNDEFINED: u32 = 7;
    /// Misaligned multi-word load.
    pub const MISALIGNED: u32 = 8;
    /// Write to its own (read-only) code.
    pub const WRITE_TEXT: u32 = 9;
    /// Keep a secret in memory and check nobody changed it.
    pub const OWNER: u32 = 10;
    /// Look for the owner's secret at the same address, then try physical RAM.
    pub const INTRUDER: u32 = 11;
    /// Address used for kernel memory: the kernel's first page.
    pub const KERNEL_ADDRESS: u32 = 0x4010_0000;
    /// Address of nothing in any process.
    pub const UNMAPPED_ADDRESS: u32 = 0x2000_0000;
}

/// Arguments of `spinner`: a letter and a busy time in milliseconds.
pub mod spinner {
    /// Packs a spinner argument.
    pub const fn argument(letter: u8, millis: u32) -> u32 {
        letter as u32 | (millis << 8)
    }
    /// Unpacks a spinner argument.
    pub const fn unpack(argument: u32) -> (char, u32) {
        ((argument & 0xFF) as u8 as char, argument >> 8)
    }
}

/// Arguments of `bench`.
pub mod bench {
    /// Measure the null syscall and report.
    pub const NULL_SYSCALL: u32 = 1;
    /// Yield in a loop (run two at once to measure switches); the first
    /// reports.
    pub const YIELD_REPORTER: u32 = 2;
    /// Yield in a loop without reporting.
    pub const YIELD_PARTNER: u32 = 3;
    /// Yields each measuring process makes.
    pub const YIELDS: u32 = 2000;
    /// Null syscalls measured.
    pub const NULL_CALLS: u32 = 2000;
}
