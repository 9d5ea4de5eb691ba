//! The Armv7-A platform under the portable kernel
//! (`kernel_core::kernel::Platform`): the generic timer, the GICv2, the
//! short-descriptor translation tables, cache maintenance, the PL011
//! console and power-off. Each method is a thin forward to `arch`.

use crate::arch::{self, context, gic, mmu, timer};
use core::sync::atomic::{AtomicBool, Ordering};
use kernel_core::console::Written;
use kernel_core::frames::FRAME_SIZE;
use kernel_core::kernel::{FrameSource, Platform, Ram, UserContext, UserLayout};
use kernel_core::pagetable::MemoryType;
use kernel_core::Access;

/// The machine: a Cortex-A7 with a GICv2 and the generic timer (QEMU
/// `virt`; the MT3620's application core has the same architecture).
pub struct Armv7a;

/// Set when booted with the `bench` argument: the kernel reports its own
/// figures at shutdown.
static BENCHMARK_MODE: AtomicBool = AtomicBool::new(false);

/// Makes the kernel print its own benchmark figures at shutdown.
#[cfg(feature = "bench")]
pub fn set_benchmark_mode(on: bool) {
    BENCHMARK_MODE.store(on, Ordering::Relaxed);
}

/// Prints `BENCH` lines for `cargo xtask bench`: what a process costs in
/// kernel memory: its 16 KiB process object (translation tables, CSpace and
/// its process-table entry), which its creator pays for from untyped
/// memory. (The kernel's own share is the two-byte generation every 16 KiB
/// block of RAM has, used or not.)
fn report_benchmarks() {
    use kernel_core::kernel::{PROCESS_ENTRY_BYTES, PROCESS_OBJECT_BYTES};
    use kernel_core::text::Line;
    crate::console::begin_kernel_line();
    let bench = |key: &str, value: u32| {
        crate::console::write_bytes(Line::new().str("BENCH ").str(key).str(" ").dec(value).str("\n").as_bytes())
    };
    bench("kernel_bytes_per_process", PROCESS_OBJECT_BYTES);
    bench("process_entry_bytes", PROCESS_ENTRY_BYTES as u32);
    #[cfg(feature = "path-meter")]
    {
        let (longest, what) = crate::path_meter::longest();
        let (kind, number) = crate::path_meter::describe(what);
        bench("max_kernel_path_instructions", longest);
        crate::log!(|line| line
            .str("the longest run with interrupts masked: ")
            .dec(longest)
            .str(" instructions, in ")
            .str(kind)
            .str(" ")
            .dec(number));
    }
}

impl Platform for Armv7a {
    type AddressSpace = mmu::UserTable;

    /// svc.s answers them, with timeouts and bound notifications.
    const IPC_FAST_PATH_OUTSIDE: bool = true;

    /// svc.s's `idle_wait`: the interrupts of an idle CPU take the
    /// assembly IRQ path's common case first.
    #[inline(always)]
    fn idles_outside(&self) -> bool {
        true
    }

    #[inline(always)]
    fn now(&self) -> u64 {
        timer::now()
    }

    fn timer_frequency(&self) -> u64 {
        timer::frequency()
    }

    #[inline(always)]
    fn set_deadline(&self, deadline: u64) {
        timer::set_deadline(deadline)
    }

    #[inline(always)]
    fn timer_interrupt(&self) -> u32 {
        timer::interrupt()
    }

    #[inline(always)]
    fn acknowledge_interrupt(&self) -> Option<u32> {
        let id = gic::acknowledge();
        (id < gic::SPURIOUS).then_some(id)
    }

    #[inline(always)]
    fn end_of_interrupt(&self, id: u32) {
        gic::end_of_interrupt(id)
    }

    #[inline(always)]
    fn interrupt_pending(&self) -> bool {
        gic::pending()
    }

    fn enable_interrupt(&self, id: u32) {
        gic::enable(id)
    }

    fn disable_interrupt(&self, id: u32) {
        gic::disable(id)
    }

    fn unmask_interrupt(&self, id: u32) {
        gic::unmask(id)
    }

    fn wait_for_interrupt(&self) {
        // Unused: this kernel idles in svc.s (`idles_outside`). An idle
        // wait ends a run with interrupts masked (the interrupt that ends
        // it is taken at once): the benchmark image's path meter counts
        // the two sides apart.
        crate::path_meter::end();
        arch::wait_for_interrupt();
        crate::path_meter::begin(crate::path_meter::what::IDLE_WAKE);
    }

    #[inline(always)]
    fn user_layout(&self) -> UserLayout {
        UserLayout::Translated
    }

    #[inline(always)]
    fn address_space(&self, object: u32) -> mmu::UserTable {
        mmu::UserTable::at(object)
    }

    fn table_word(&self, object: u32) -> u32 {
        mmu::table_word(object)
    }

    #[inline]
    fn map_page(
        &self,
        space: mmu::UserTable,
        address: u32,
        frame: u32,
        access: Access,
        memory: MemoryType,
        tables: &mut impl FrameSource,
    ) -> Option<()> {
        space.map_page_as(address, frame, access, memory, tables)
    }

    fn unmap_page(&self, space: mmu::UserTable, address: u32, asid: u8) {
        space.unmap_page(address, asid)
    }

    fn destroy_address_space(&self, space: mmu::UserTable, asid: u8, frames: &mut impl FrameSource) {
        space.destroy(asid, frames)
    }

    #[inline(always)]
    fn switch_address_space(&self, space: mmu::UserTable, asid: u8) {
        mmu::switch_to(space, asid)
    }

    fn switch_to_empty(&self) {
        mmu::switch_to_empty()
    }

    fn flush_translations(&self) {
        mmu::flush_all()
    }

    #[inline(always)]
    fn enter_process(&self, context: &UserContext) {
        context::enter_process(context)
    }

    #[inline(always)]
    fn ram(&self) -> Ram {
        // All RAM is mapped for the kernel at its physical address (the
        // assembly fast paths in svc.s rely on it too).
        Ram::IDENTITY
    }

    unsafe fn read_user<R>(&self, _space: mmu::UserTable, address: u32, len: u32, f: impl FnOnce(&[u8]) -> R) -> R {
        // SAFETY: the caller's contract: the `len` bytes at `address` are
        // mapped readable in the loaded address space, below the kernel's
        // part of the address space; nothing writes them while the kernel
        // runs (one core, IRQs masked).
        f(unsafe { core::slice::from_raw_parts(address as *const u8, len as usize) })
    }

    unsafe fn write_user(&self, _space: mmu::UserTable, address: u32, bytes: &[u8]) {
        // SAFETY: the caller's contract: the bytes at `address` are mapped
        // writable in the loaded address space, below the kernel's part of
        // the address space.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), address as *mut u8, bytes.len()) }
    }

    #[inline(never)]
    unsafe fn zero(&self, address: u32, bytes: u32) {
        if address.is_multiple_of(FRAME_SIZE) && bytes.is_multiple_of(FRAME_SIZE) {
            for frame in (address..address + bytes).step_by(FRAME_SIZE as usize) {
                // SAFETY: the caller's contract: RAM the kernel owns and
                // nothing else uses, identity mapped; whole aligned frames.
                unsafe { mmu::zero_frame(frame) };
            }
        } else {
            // SAFETY: the caller's contract, for a smaller object.
            unsafe { core::ptr::write_bytes(address as *mut u8, 0, bytes as usize) };
        }
    }

    unsafe fn copy_into(&self, address: u32, bytes: &[u8]) {
        let frame = address & !(FRAME_SIZE - 1);
        assert!((address - frame) as usize + bytes.len() <= FRAME_SIZE as usize, "a copy across a frame boundary");
        // SAFETY: the caller's contract: RAM the kernel owns and nothing
        // else uses, identity mapped; within one frame (checked above).
        unsafe { mmu::copy_into_frame(frame, (address - frame) as usize, bytes) }
    }

    #[inline(never)]
    fn clean_for_execution(&self, frame: u32) {
        mmu::clean_frame_for_execution(frame)
    }

    fn invalidate_instruction_cache(&self) {
        mmu::invalidate_instruction_cache()
    }

    #[inline(always)]
    fn initial_status(&self, thumb: bool) -> u32 {
        context::initial_cpsr(thumb)
    }

    #[inline(always)]
    fn is_thumb(&self, status: u32) -> bool {
        status & (1 << 5) != 0
    }

    #[inline(never)]
    fn log(&self, line: &kernel_core::text::Line) {
        crate::console::log_bytes(line.as_bytes());
    }

    fn write_process(&self, pid: u32, label: &[u8], text: &[u8], limit: u32) -> Written {
        crate::console::write_process(pid, label, text, limit)
    }

    fn power_off(&self, status: u32) {
        if BENCHMARK_MODE.load(Ordering::Relaxed) {
            report_benchmarks();
        }
        arch::power_off(status)
    }
}
