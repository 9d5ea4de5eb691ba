//! What the kernel needs from the machine it runs on: the one interface an
//! architecture supplies (docs/kernel-platform.md).
//!
//! The kernel's logic (`super`) decides; a [`Platform`] carries decisions
//! out: it reads the clock and arms the deadline, acknowledges and masks
//! interrupt lines, writes translation tables and switches between them,
//! keeps the caches coherent, reaches user memory, and prints. The Armv7-A
//! layer (`kernel/src/platform.rs`) is one implementation; the host tests'
//! fake (`kernel/core/tests/support`) is another, which is what lets the
//! whole kernel run under `cargo test`.
//!
//! Every method takes `&self`: a platform is either stateless (the Armv7-A
//! one is a zero-sized type over the hardware) or keeps its state in cells
//! (the fake), so the kernel can call it while it holds borrows of its own
//! state.

use super::context::UserContext;
use crate::console::Written;
use crate::pagetable::MemoryType;
use crate::Access;
use core::fmt;
use tessera_abi::layout::PAGE_SIZE;

/// Where the memory for translation tables comes from when a mapping needs
/// a new one (the process object's own tables, or the kernel's pool).
pub trait FrameSource {
    /// A fresh zeroed table or frame, or `None` when memory is exhausted.
    fn allocate_zeroed(&mut self) -> Option<u32>;
    /// Gives a frame back.
    fn release(&mut self, frame: u32);
}

/// How the kernel reaches RAM by physical address: the CPU address of
/// physical address `a` is `a + offset`. The Armv7-A kernel maps all RAM at
/// its physical address (offset 0); the host fake keeps the emulated RAM in
/// an ordinary allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ram {
    offset: usize,
    /// The physical range reachable (checked in debug builds, so the host
    /// tests catch a stray address): `start` and `bytes` from it.
    start: u32,
    bytes: u32,
}

impl Ram {
    /// RAM is where its physical addresses say (the kernel's own mapping).
    pub const IDENTITY: Ram = Ram { offset: 0, start: 0, bytes: u32::MAX };

    /// The `bytes` of RAM at physical address `start`, whose first byte is
    /// at CPU address `pointer`.
    pub fn at(start: u32, pointer: *mut u8, bytes: u32) -> Ram {
        Ram { offset: (pointer as usize).wrapping_sub(start as usize), start, bytes }
    }

    /// The physical address of the `len` bytes at CPU address `pointer`,
    /// if they lie in this RAM.
    pub fn address_of(self, pointer: *const u8, len: usize) -> Option<u32> {
        let address = u32::try_from((pointer as usize).wrapping_sub(self.offset)).ok()?;
        let within = address.wrapping_sub(self.start);
        (within < self.bytes && len <= (self.bytes - within) as usize).then_some(address)
    }

    /// The CPU address of physical address `address`. Dereferencing it is
    /// the caller's business (and its `SAFETY` comment's).
    #[inline(always)]
    pub fn pointer<T>(self, address: u32) -> *mut T {
        debug_assert!(
            address.wrapping_sub(self.start) < self.bytes
                && address.wrapping_sub(self.start) as usize + core::mem::size_of::<T>() <= self.bytes as usize,
            "the kernel reached for {address:#x}, outside RAM"
        );
        (address as usize).wrapping_add(self.offset) as *mut T
    }
}

/// How a platform's user addresses relate to physical ones
/// (docs/mt3620.md, step 3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserLayout {
    /// Each process has translation tables of its own (Armv7-A's MMU): any
    /// frame may back any page below `tessera_abi::layout::USER_END`, and
    /// the kernel gives a program a fresh stack below `STACK_TOP`.
    Translated,
    /// One address space that each process sees only its own regions of
    /// (Armv7-M's MPU): a page's user address is its frame's physical
    /// address, user mappings lie below `end` (at most the last page of
    /// the address space), and a program's stack is the end of its lowest
    /// writable segment.
    Identity {
        /// One past the highest user address.
        end: u32,
    },
}

impl UserLayout {
    /// One past the highest address a user mapping may reach.
    pub fn end(self) -> u32 {
        match self {
            UserLayout::Translated => tessera_abi::layout::USER_END as u32,
            UserLayout::Identity { end } => end,
        }
    }
}

/// Why the running process stopped with a fault, as the CPU reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserFault {
    /// An instruction the CPU does not know (or the process may not run).
    Undefined,
    /// An instruction fetch failed: the fault status and address registers.
    Prefetch { status: u32, address: u32 },
    /// A load or store failed: the fault status and address registers.
    Data { status: u32, address: u32 },
    /// An Armv7-M MemManage, bus or usage fault: `CFSR` and the two
    /// address registers as the fault left them (read before `CFSR` is
    /// cleared), classified with `crate::fault::classify_armv7m`.
    Armv7m { cfsr: u32, mmfar: u32, bfar: u32 },
}

/// The machine under the kernel (see the module documentation).
pub trait Platform {
    /// A user address space: on Armv7-A, the first-level translation table
    /// at the start of the process object.
    type AddressSpace: Copy + Eq + fmt::Debug;

    /// The architecture answers `Call`, `ReplyReceive` and
    /// `WaitNotification` on a fast path of its own before the kernel is
    /// entered (the A7's svc.s), in every case `Kernel::fast_call`,
    /// `Kernel::fast_reply_receive` and `Kernel::fast_wait_notification`
    /// take but the rare ones the general path answers just as well (a
    /// partner without an ASID, timer work pending): the
    /// kernel then leaves those Rust paths out, and their text (`Poll`
    /// keeps its Rust one).
    const IPC_FAST_PATH_OUTSIDE: bool = false;

    /// The architecture waits for interrupts itself when no thread is
    /// ready (the A7's `idle_wait` in svc.s, whose interrupts take the
    /// assembly IRQ path's common case first): `prepare_return` then marks
    /// no thread current, arms the timer (`program_timer`) and returns a
    /// null resume pointer instead of idling in the kernel's own loop
    /// (`wait_for_interrupt`, then the GIC polled), and the architecture's
    /// entries take the interrupts that come. Every way the architecture
    /// goes back to user mode must then take a null resume pointer as
    /// that wait (the A7's `tessera_return_to_user`).
    fn idles_outside(&self) -> bool {
        false
    }

    // --- clock ---------------------------------------------------------------

    /// The free-running counter, in ticks.
    fn now(&self) -> u64;
    /// Counter ticks per second.
    fn timer_frequency(&self) -> u64;
    /// Raises the timer interrupt once the counter reaches `deadline`
    /// (`u64::MAX`: never).
    fn set_deadline(&self, deadline: u64);

    // --- interrupt lines -------------------------------------------------------

    /// The timer's interrupt ID.
    fn timer_interrupt(&self) -> u32;
    /// The highest pending interrupt, acknowledged, or `None`.
    fn acknowledge_interrupt(&self) -> Option<u32>;
    /// Ends the handling of interrupt `id` (acknowledged before).
    fn end_of_interrupt(&self, id: u32);
    /// True if an interrupt is waiting (long operations stop for it).
    fn interrupt_pending(&self) -> bool;
    /// Lets interrupt `id` through.
    fn enable_interrupt(&self, id: u32);
    /// Stops interrupt `id`.
    fn disable_interrupt(&self, id: u32);
    /// Lets interrupt `id` through again after its driver handled it.
    fn unmask_interrupt(&self, id: u32);
    /// Waits until an interrupt is pending (with interrupts still masked for
    /// the kernel, so the next `acknowledge_interrupt` finds it).
    fn wait_for_interrupt(&self);

    // --- address spaces ----------------------------------------------------------

    /// Whether user addresses are translated or physical.
    fn user_layout(&self) -> UserLayout;

    /// The address space whose zeroed first-level table is at the start of
    /// the process object at `object`.
    fn address_space(&self, object: u32) -> Self::AddressSpace;
    /// The word an architecture's own switch (the A7's assembly) loads
    /// into its translation base register for the process object at
    /// `object`, kept in the process's entry: by default the address.
    fn table_word(&self, object: u32) -> u32 {
        object
    }
    /// Maps the 4 KiB page at user address `address` to physical `frame`;
    /// `None` if a table was needed and `tables` had none.
    fn map_page(
        &self,
        space: Self::AddressSpace,
        address: u32,
        frame: u32,
        access: Access,
        memory: MemoryType,
        tables: &mut impl FrameSource,
    ) -> Option<()>;
    /// Removes the mapping of the page at `address` (if any) and drops its
    /// cached translation for `asid`.
    fn unmap_page(&self, space: Self::AddressSpace, address: u32, asid: u8);
    /// Maps the frame of `bytes` at physical `frame` at `address` (what
    /// `Map` does with a frame capability); `None`, with nothing mapped, if
    /// a table or region was needed and none was free. Page by page unless
    /// the platform maps whole frames better (the M4's MPU: one region for
    /// a large aligned frame).
    #[allow(clippy::too_many_arguments)]
    fn map_block(
        &self,
        space: Self::AddressSpace,
        address: u32,
        frame: u32,
        bytes: u32,
        access: Access,
        memory: MemoryType,
        asid: u8,
        tables: &mut impl FrameSource,
    ) -> Option<()> {
        for offset in (0..bytes).step_by(PAGE_SIZE) {
            if self.map_page(space, address + offset, frame + offset, access, memory, tables).is_none() {
                for done in (0..offset).step_by(PAGE_SIZE) {
                    self.unmap_page(space, address + done, asid);
                }
                return None;
            }
        }
        Some(())
    }
    /// Removes the mapping [`map_block`](Self::map_block) made of the frame
    /// of `bytes` at `address`.
    fn unmap_block(&self, space: Self::AddressSpace, address: u32, bytes: u32, asid: u8) {
        for page in (address..address + bytes).step_by(PAGE_SIZE) {
            self.unmap_page(space, page, asid);
        }
    }
    /// Gives every page and table of `space` back to `frames` (those not
    /// from the pool are refused there) and drops `asid`'s translations.
    fn destroy_address_space(&self, space: Self::AddressSpace, asid: u8, frames: &mut impl FrameSource);
    /// Makes `space`, tagged `asid`, the current user address space.
    fn switch_address_space(&self, space: Self::AddressSpace, asid: u8);
    /// Makes an address space with no user mappings current.
    fn switch_to_empty(&self);
    /// Drops every cached translation (every ASID taken back; called with
    /// no address space loaded, after `switch_to_empty`).
    fn flush_translations(&self);
    /// Hands the CPU state outside the saved registers to the process whose
    /// context is `context` (thread register, exclusive monitor).
    fn enter_process(&self, context: &UserContext);

    // --- memory --------------------------------------------------------------------

    /// Where RAM is for the kernel.
    fn ram(&self) -> Ram;
    /// Calls `f` with the `len` bytes at user address `address` of `space`.
    ///
    /// # Safety
    /// `space` is the loaded address space, and the kernel checked (its
    /// region map) that all `len` bytes are mapped readable in it, below
    /// the kernel's part of the address space.
    unsafe fn read_user<R>(&self, space: Self::AddressSpace, address: u32, len: u32, f: impl FnOnce(&[u8]) -> R) -> R;
    /// Writes `bytes` at user address `address` of `space`.
    ///
    /// # Safety
    /// As for `read_user`, mapped writable.
    unsafe fn write_user(&self, space: Self::AddressSpace, address: u32, bytes: &[u8]);
    /// Zeroes `bytes` of RAM at `address`.
    ///
    /// # Safety
    /// The range is RAM the kernel owns and nothing else uses (a frame from
    /// its pool, or memory `Retype` just carved); `bytes` is a multiple of
    /// 64 and `address` 64-byte aligned.
    unsafe fn zero(&self, address: u32, bytes: u32);
    /// Copies `bytes` into RAM at `address`.
    ///
    /// # Safety
    /// As for `zero`, and the range lies within one 4 KiB frame.
    unsafe fn copy_into(&self, address: u32, bytes: &[u8]);
    /// Makes instructions written to the 4 KiB at `frame` visible to
    /// instruction fetches (call `invalidate_instruction_cache` after).
    fn clean_for_execution(&self, frame: u32);
    /// Drops stale instructions from the instruction caches.
    fn invalidate_instruction_cache(&self);

    // --- the processor's user state ---------------------------------------------

    /// The status word of a new user thread (User mode, interrupts on),
    /// Thumb if `thumb`.
    fn initial_status(&self, thumb: bool) -> u32;
    /// True if a thread with status word `status` runs Thumb code (2-byte
    /// instructions may be stepped over).
    fn is_thumb(&self, status: u32) -> bool;

    // --- console and power ----------------------------------------------------------

    /// Prints a kernel line (`kernel: ` and the text).
    fn log(&self, line: &crate::text::Line);
    /// Prints what process `pid` named `label` wrote, at most `limit` bytes
    /// of output, labelled and escaped (`crate::console::Lines`).
    fn write_process(&self, pid: u32, label: &[u8], text: &[u8], limit: u32) -> Written;
    /// Switches the machine off with exit status `status` (on hardware it
    /// does not return; a fake records it and returns).
    fn power_off(&self, status: u32);
}
