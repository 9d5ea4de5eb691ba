//! Translation tables: one kernel table behind TTBR1 shared by every address
//! space, and one small first-level table per process behind TTBR0.
//!
//! TTBCR.N = 2 splits the space at 1 GiB: `0..0x4000_0000` is user space
//! (TTBR0, [`USER_L1_ENTRIES`] entries, 4 KiB), everything above is the
//! kernel's (TTBR1). RAM is identity mapped for the kernel by 1 MiB sections,
//! so a physical frame address is also its kernel virtual address. Device
//! registers are mapped high, at [`DEVICE_WINDOW`].

use super::cp15;
use core::sync::atomic::{AtomicU32, Ordering};
use kernel_core::frames::FRAME_SIZE;
use kernel_core::kernel::FrameSource;
use kernel_core::pagetable::{
    l1_index, l1_kernel_table, l1_section, l1_table, l2_index, l2_page, MemoryType, Privilege, L2_ENTRIES,
    SECTION_SIZE, USER_L1_ENTRIES,
};
use kernel_core::Access;

/// Kernel virtual address where the first device section is mapped.
pub const DEVICE_WINDOW: u32 = 0xF800_0000;
/// TTBR walk attributes: inner and outer write-back write-allocate, shareable.
pub(super) const WALK_ATTRIBUTES: u32 = (1 << 6) | (1 << 3) | (1 << 1);

#[repr(C, align(16384))]
struct KernelTable([AtomicU32; 4096]);

#[repr(C, align(4096))]
struct EmptyUserTable([AtomicU32; USER_L1_ENTRIES]);

static KERNEL_TABLE: KernelTable = KernelTable([const { AtomicU32::new(0) }; 4096]);
/// TTBR0 while no process runs: every user address faults.
static EMPTY_USER_TABLE: EmptyUserTable = EmptyUserTable([const { AtomicU32::new(0) }; USER_L1_ENTRIES]);

/// A device to map: physical section base, kernel virtual address.
pub struct DeviceSection {
    /// Physical address (1 MiB aligned).
    pub physical: u32,
    /// Kernel virtual address (1 MiB aligned, at or above DEVICE_WINDOW).
    pub virtual_address: u32,
}

/// The kernel image's layout, from the linker script's symbols.
pub struct KernelImage {
    /// First byte of text (page aligned, the start of the image).
    pub text_start: u32,
    /// End of text (page aligned).
    pub text_end: u32,
    /// End of read-only data (page aligned).
    pub rodata_end: u32,
}

#[repr(C, align(1024))]
struct KernelPages([AtomicU32; L2_ENTRIES]);

/// Second-level table for the 1 MiB section holding the kernel's text.
static KERNEL_PAGES: KernelPages = KernelPages([const { AtomicU32::new(0) }; L2_ENTRIES]);

/// Builds the kernel table and turns the MMU and caches on. All RAM is
/// mapped read-write and execute-never for the kernel, except the section
/// holding the kernel's text, which is mapped by pages: text read-only and
/// executable, rodata read-only, the rest read-write and execute-never. The
/// image's text and rodata must fit in that one section (checked). Runs once, at boot, with the
/// MMU off.
pub fn init(ram_start: u32, ram_size: u32, image: &KernelImage, devices: &[DeviceSection]) {
    let text_section = image.text_start & !(SECTION_SIZE - 1);
    assert!(image.rodata_end - text_section <= SECTION_SIZE, "kernel text and rodata cross a section");
    let mut section = ram_start & !(SECTION_SIZE - 1);
    let ram_end = ram_start.saturating_add(ram_size);
    while section < ram_end {
        let entry = if section == text_section {
            for (index, slot) in KERNEL_PAGES.0.iter().enumerate() {
                let page = section + (index as u32) * FRAME_SIZE;
                let access = if (image.text_start..image.text_end).contains(&page) {
                    Access::READ_EXECUTE
                } else if (image.text_end..image.rodata_end).contains(&page) {
                    Access::READ
                } else {
                    Access::READ_WRITE
                };
                slot.store(l2_page(page, Privilege::Kernel, access, MemoryType::Normal), Ordering::Relaxed);
            }
            l1_kernel_table(KERNEL_PAGES.0.as_ptr() as u32)
        } else {
            l1_section(section, Privilege::Kernel, Access::READ_WRITE, MemoryType::Normal)
        };
        KERNEL_TABLE.0[l1_index(section)].store(entry, Ordering::Relaxed);
        section = match section.checked_add(SECTION_SIZE) {
            Some(next) => next,
            None => break,
        };
    }
    for device in devices {
        let entry = l1_section(device.physical, Privilege::Kernel, Access::READ_WRITE, MemoryType::Device);
        KERNEL_TABLE.0[l1_index(device.virtual_address)].store(entry, Ordering::Relaxed);
    }
    let kernel_table = KERNEL_TABLE.0.as_ptr() as u32;
    let empty_table = EMPTY_USER_TABLE.0.as_ptr() as u32;
    aarch32_cpu::asm::dsb();
    // SAFETY: the tables above identity-map all RAM (so the code and data in
    // use stay at the same addresses once translation starts) and map the
    // devices the kernel uses; TTBCR.N = 2 makes TTBR1 translate everything
    // from 1 GiB up, which covers RAM at 0x4000_0000. Domain 0 is "client",
    // so permissions in the entries apply.
    unsafe {
        cp15::write_ttbcr(2);
        cp15::write_ttbr1(kernel_table | WALK_ATTRIBUTES);
        cp15::write_ttbr0(empty_table | WALK_ATTRIBUTES);
        cp15::write_dacr(0b01);
        cp15::write_contextidr(0);
        cp15::write_tlbiall(0);
        cp15::write_iciallu(0);
        cp15::write_bpiall(0);
        aarch32_cpu::asm::dsb();
        aarch32_cpu::asm::isb();
        // M (MMU), C (data cache), Z (branch prediction), I (instruction
        // cache); A (alignment checks) stays off; AFE and TRE stay off.
        // V (high vectors) is cleared: VBAR holds our table.
        let sctlr = cp15::read_sctlr() | (1 << 0) | (1 << 2) | (1 << 11) | (1 << 12);
        cp15::write_sctlr(sctlr & !(1 << 1) & !(1 << 13) & !(1 << 28) & !(1 << 29));
        aarch32_cpu::asm::isb();
    }
}

/// Zeroes one frame.
///
/// # Safety
/// `frame` must be a frame the kernel owns (allocated from the frame
/// allocator and not mapped anywhere else writable), identity-mapped.
pub unsafe fn zero_frame(frame: u32) {
    // 32 bytes per store: four times fewer instructions than a word loop,
    // and frames are zeroed for every page a process gets.
    // SAFETY: forwarded from the caller: the frame is ours, mapped and 4 KiB
    // aligned; the loop writes exactly FRAME_SIZE bytes from `frame`.
    unsafe {
        core::arch::asm!(
            "mov r2, #0", "mov r3, #0", "mov r4, #0", "mov r5, #0",
            "mov r8, #0", "mov r9, #0", "mov r10, #0", "mov r12, #0",
            "2:",
            "stmia {address}!, {{r2-r5, r8-r10, r12}}",
            "cmp {address}, {end}",
            "blo 2b",
            address = inout(reg) frame => _,
            end = in(reg) frame + FRAME_SIZE,
            out("r2") _, out("r3") _, out("r4") _, out("r5") _,
            out("r8") _, out("r9") _, out("r10") _, out("r12") _,
            options(nostack)
        );
    }
}

/// Copies `bytes` into the frame at `frame`, starting `offset` bytes in.
///
/// # Safety
/// As for [`zero_frame`]; `offset + bytes.len()` must not exceed a frame.
pub unsafe fn copy_into_frame(frame: u32, offset: usize, bytes: &[u8]) {
    debug_assert!(offset + bytes.len() <= FRAME_SIZE as usize);
    // `memcpy` is the kernel's own (crate `tessera-copy`): 32 bytes per
    // `ldm`/`stm` pair when both sides are word aligned, as program
    // segments are.
    // SAFETY: forwarded from the caller: `bytes.len()` bytes from
    // `frame + offset` lie in a frame the kernel owns, which a kernel slice
    // cannot overlap.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), (frame as usize + offset) as *mut u8, bytes.len()) };
}

/// Makes instructions just written to `frame` visible to instruction
/// fetches: cleans the frame's data cache lines to the point of
/// unification. Call [`invalidate_instruction_cache`] once afterwards.
pub fn clean_frame_for_execution(frame: u32) {
    // CTR.DminLine: log2 of the smallest data cache line, in words.
    let line = 4u32 << ((cp15::read_ctr() >> 16) & 0xF);
    let mut address = frame;
    while address < frame + FRAME_SIZE {
        // SAFETY: cleaning a cache line by address only writes dirty data
        // back; `frame` is identity-mapped RAM the kernel owns.
        unsafe { cp15::write_dccmvau(address) };
        address += line;
    }
}

/// Invalidates the instruction caches and branch predictors, after code was
/// written (see [`clean_frame_for_execution`]).
pub fn invalidate_instruction_cache() {
    // SAFETY: invalidation only forces refetches.
    unsafe {
        aarch32_cpu::asm::dsb();
        cp15::write_iciallu(0);
        cp15::write_bpiall(0);
        aarch32_cpu::asm::dsb();
        aarch32_cpu::asm::isb();
    }
}

fn table_entry(table: u32, index: usize) -> *mut u32 {
    (table as usize + index * 4) as *mut u32
}

/// A process's first-level table, held in one frame. The frame and every
/// second-level table and page it maps belong to the address space and are
/// returned by [`UserTable::destroy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserTable {
    l1: u32,
}

impl UserTable {
    /// The table whose zeroed first level is the 4 KiB at `l1` (4 KiB
    /// aligned), memory its owner provides (a process object).
    pub fn at(l1: u32) -> UserTable {
        debug_assert!(l1.is_multiple_of(4096));
        UserTable { l1 }
    }

    /// What TTBR0 holds while the table is current.
    fn ttbr0(self) -> u32 {
        self.l1 | WALK_ATTRIBUTES
    }

    /// Maps the 4 KiB page at user address `address` to physical `frame`
    /// as `memory` (device memory is never executable).
    pub fn map_page_as(
        &self,
        address: u32,
        frame: u32,
        access: Access,
        memory: MemoryType,
        frames: &mut impl FrameSource,
    ) -> Option<()> {
        let index = l1_index(address);
        assert!(index < USER_L1_ENTRIES, "user address out of range");
        // SAFETY: `self.l1` is this table's frame (4 KiB = USER_L1_ENTRIES
        // words) and `index` is in range; second-level tables are frames the
        // table owns. The kernel runs with IRQs masked, so nothing else
        // touches them.
        unsafe {
            let l1_entry = table_entry(self.l1, index);
            let l2 = if *l1_entry & 0b11 == 0b01 {
                *l1_entry & !0x3FF
            } else {
                let l2 = frames.allocate_zeroed()?;
                *l1_entry = l1_table(l2);
                l2
            };
            *table_entry(l2, l2_index(address)) = l2_page(frame, Privilege::User, access, memory);
        }
        aarch32_cpu::asm::dsb();
        Some(())
    }

    /// Removes the mapping of the page at user address `address` (if any)
    /// and drops its TLB entry for `asid`. The frame is not freed: it
    /// belongs to whoever mapped it.
    pub fn unmap_page(&self, address: u32, asid: u8) {
        let index = l1_index(address);
        assert!(index < USER_L1_ENTRIES, "user address out of range");
        // SAFETY: as in `map_page`.
        unsafe {
            let l1_entry = *table_entry(self.l1, index);
            if l1_entry & 0b11 != 0b01 {
                return;
            }
            *table_entry(l1_entry & !0x3FF, l2_index(address)) = 0;
        }
        // SAFETY: invalidating a TLB entry only forces a table walk.
        unsafe {
            aarch32_cpu::asm::dsb();
            cp15::write_tlbimva((address & !0xFFF) | asid as u32);
            cp15::write_bpiall(0);
            aarch32_cpu::asm::dsb();
            aarch32_cpu::asm::isb();
        }
    }

    /// Returns every page, second-level table and the table itself to
    /// `frames`, and drops the ASID's stale TLB entries. Pages mapped through
    /// capabilities must have been unmapped first (they are not the frame
    /// pool's).
    pub fn destroy(self, asid: u8, frames: &mut impl FrameSource) {
        for index in 0..USER_L1_ENTRIES {
            // SAFETY: as in `map_page`; the process no longer runs, so the
            // table is not in use by the MMU (TTBR0 points elsewhere).
            let entry = unsafe { *table_entry(self.l1, index) };
            if entry & 0b11 != 0b01 {
                continue;
            }
            let l2 = entry & !0x3FF;
            for page in 0..L2_ENTRIES {
                // SAFETY: `l2` is one of this table's second-level frames.
                let page_entry = unsafe { *table_entry(l2, page) };
                if page_entry & 0b10 != 0 {
                    frames.release(page_entry & 0xFFFF_F000);
                }
            }
            frames.release(l2);
        }
        frames.release(self.l1);
        flush_asid(asid);
    }
}

/// TTBR0's value for the first-level table of the process object at
/// `object` (fast_switch loads it from the process's entry).
pub fn table_word(object: u32) -> u32 {
    UserTable::at(object).ttbr0()
}

/// Makes `table` (tagged `asid`) the current user address space.
pub fn switch_to(table: UserTable, asid: u8) {
    // SAFETY: the kernel's own mappings are global and behind TTBR1, so they
    // are unaffected. Going through reserved ASID 0 keeps translations of the
    // new table from being cached under the old ASID.
    unsafe {
        cp15::write_contextidr(0);
        aarch32_cpu::asm::isb();
        cp15::write_ttbr0(table.ttbr0());
        aarch32_cpu::asm::isb();
        cp15::write_contextidr(asid as u32);
        aarch32_cpu::asm::isb();
    }
}

/// Drops every TLB entry (when ASIDs are handed out anew).
pub fn flush_all() {
    // SAFETY: invalidating TLB entries only forces table walks; the kernel's
    // own entries are refilled from its tables behind TTBR1.
    unsafe {
        aarch32_cpu::asm::dsb();
        cp15::write_tlbiall(0);
        cp15::write_bpiall(0);
        aarch32_cpu::asm::dsb();
        aarch32_cpu::asm::isb();
    }
}

/// Drops every TLB entry tagged `asid`.
pub fn flush_asid(asid: u8) {
    // SAFETY: invalidating TLB entries only forces table walks.
    unsafe {
        aarch32_cpu::asm::dsb();
        cp15::write_tlbiasid(asid as u32);
        cp15::write_bpiall(0);
        aarch32_cpu::asm::dsb();
        aarch32_cpu::asm::isb();
    }
}

/// Points TTBR0 at the empty table (no user mappings), e.g. before the
/// loaded address space is destroyed.
pub fn switch_to_empty() {
    let empty_table = EMPTY_USER_TABLE.0.as_ptr() as u32;
    // SAFETY: the empty table maps nothing; the kernel's mappings are behind
    // TTBR1 and unaffected.
    unsafe {
        cp15::write_contextidr(0);
        aarch32_cpu::asm::isb();
        cp15::write_ttbr0(empty_table | WALK_ATTRIBUTES);
        aarch32_cpu::asm::isb();
    }
}
