//! Armv7-A short-descriptor translation table entries, computed as plain
//! integers (the arch layer writes them into tables).
//!
//! Tessera sets TTBCR.N = 2: TTBR0 translates the user gigabyte
//! `0..0x4000_0000` through a per-process 4 KiB first-level table of
//! [`USER_L1_ENTRIES`] entries, and TTBR1 translates everything above through
//! one kernel table shared by all processes. SCTLR.AFE = 0 and TRE = 0, so
//! AP[2:0] encodes access permissions directly.

use crate::Access;

/// Bytes mapped by one first-level entry.
pub const SECTION_SIZE: u32 = 1 << 20;
/// First-level entries in a user (TTBR0, N = 2) table.
pub const USER_L1_ENTRIES: usize = 1024;
/// Second-level entries in a coarse page table (each maps 4 KiB).
pub const L2_ENTRIES: usize = 256;
/// Bytes in a second-level table.
pub const L2_TABLE_BYTES: usize = L2_ENTRIES * 4;

/// Memory type of a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryType {
    /// Normal memory, write-back write-allocate cacheable, shareable.
    Normal,
    /// Shareable device memory (MMIO); never executable.
    Device,
}

/// Who may use a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Privilege {
    /// Only PL1 (the kernel).
    Kernel,
    /// PL0 with the given rights; the kernel may read (and write if writable).
    User,
}

/// AP[2] and AP[1:0] for a mapping.
const fn access_bits(privilege: Privilege, access: Access) -> (u32, u32) {
    match (privilege, access.write) {
        (Privilege::Kernel, true) => (0, 0b01),
        (Privilege::Kernel, false) => (1, 0b01),
        (Privilege::User, true) => (0, 0b11),
        (Privilege::User, false) => (1, 0b11),
    }
}

/// (TEX, C, B) for a memory type.
const fn type_bits(memory: MemoryType) -> (u32, u32, u32) {
    match memory {
        MemoryType::Normal => (0b001, 1, 1),
        MemoryType::Device => (0b000, 0, 1),
    }
}

/// First-level entry pointing at a second-level table at physical `table`
/// (1 KiB aligned). PXN is set: the kernel never executes user pages.
pub const fn l1_table(table: u32) -> u32 {
    (table & !0x3FF) | (1 << 2) | 0b01
}

/// First-level entry pointing at a second-level table that maps the
/// kernel's own pages (PXN clear: kernel text lives there).
pub const fn l1_kernel_table(table: u32) -> u32 {
    (table & !0x3FF) | 0b01
}

/// First-level 1 MiB section entry for physical `base` (1 MiB aligned).
/// Sections are only used for the kernel's own mappings, so they are global.
pub const fn l1_section(base: u32, privilege: Privilege, access: Access, memory: MemoryType) -> u32 {
    let (ap2, ap) = access_bits(privilege, access);
    let (tex, c, b) = type_bits(memory);
    let xn = !access.execute || matches!(memory, MemoryType::Device);
    (base & 0xFFF0_0000)
        | (1 << 16) // shareable
        | (ap2 << 15)
        | (tex << 12)
        | (ap << 10)
        | ((xn as u32) << 4)
        | (c << 3)
        | (b << 2)
        | 0b10
}

/// Second-level small-page entry for physical `frame` (4 KiB aligned).
/// User pages are non-global (tagged with the process's ASID).
pub const fn l2_page(frame: u32, privilege: Privilege, access: Access, memory: MemoryType) -> u32 {
    let (ap2, ap) = access_bits(privilege, access);
    let (tex, c, b) = type_bits(memory);
    let xn = !access.execute || matches!(memory, MemoryType::Device);
    let not_global = matches!(privilege, Privilege::User);
    (frame & 0xFFFF_F000)
        | ((not_global as u32) << 11)
        | (1 << 10) // shareable
        | (ap2 << 9)
        | (tex << 6)
        | (ap << 4)
        | (c << 3)
        | (b << 2)
        | 0b10
        | (xn as u32)
}

/// Index of the first-level entry translating `address`.
pub const fn l1_index(address: u32) -> usize {
    (address >> 20) as usize
}

/// Index of the second-level entry translating `address`.
pub const fn l2_index(address: u32) -> usize {
    ((address >> 12) & 0xFF) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_page_is_read_only_executable_non_global() {
        let entry = l2_page(0x4020_3000, Privilege::User, Access::READ_EXECUTE, MemoryType::Normal);
        assert_eq!(entry & 0xFFFF_F000, 0x4020_3000);
        assert_eq!(entry & 1, 0, "executable");
        assert_eq!((entry >> 9) & 1, 1, "AP[2] read-only");
        assert_eq!((entry >> 4) & 3, 0b11, "user accessible");
        assert_eq!((entry >> 11) & 1, 1, "non-global");
        assert_eq!(entry & 2, 2, "small page");
    }

    #[test]
    fn user_data_page_is_execute_never() {
        let entry = l2_page(0x4020_4000, Privilege::User, Access::READ_WRITE, MemoryType::Normal);
        assert_eq!(entry & 1, 1);
        assert_eq!((entry >> 9) & 1, 0);
        assert_eq!((entry >> 4) & 3, 0b11);
    }

    #[test]
    fn device_section_is_kernel_only_and_never_executable() {
        let entry = l1_section(0x0900_0000, Privilege::Kernel, Access::READ_WRITE, MemoryType::Device);
        assert_eq!(entry & 0b11, 0b10);
        assert_eq!((entry >> 4) & 1, 1, "XN");
        assert_eq!((entry >> 10) & 3, 0b01, "PL1 only");
        assert_eq!((entry >> 12) & 7, 0, "TEX 0");
        assert_eq!((entry >> 2) & 3, 0b01, "C=0 B=1: device");
    }

    #[test]
    fn kernel_pages() {
        let text = l2_page(0x4010_0000, Privilege::Kernel, Access::READ_EXECUTE, MemoryType::Normal);
        assert_eq!(text & 1, 0, "executable");
        assert_eq!(((text >> 9) & 1, (text >> 4) & 3), (1, 0b01), "PL1 read-only");
        assert_eq!((text >> 11) & 1, 0, "global");
        let data = l2_page(0x4011_0000, Privilege::Kernel, Access::READ_WRITE, MemoryType::Normal);
        assert_eq!(data & 1, 1, "execute-never");
        assert_eq!(((data >> 9) & 1, (data >> 4) & 3), (0, 0b01), "PL1 read-write");
    }

    #[test]
    fn indices() {
        assert_eq!(l1_index(0x3FFF_0000), 1023);
        assert_eq!(l2_index(0x3FFE_F000), 0xEF);
        assert_eq!(l1_table(0x4030_0400), 0x4030_0400 | 0b101);
        assert_eq!(l1_kernel_table(0x4030_0400), 0x4030_0401);
    }
}
