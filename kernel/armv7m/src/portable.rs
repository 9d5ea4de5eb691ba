//! The portable kernel (`kernel_core::kernel::Kernel`) on Armv7-M: the
//! platform under it and the exception entry and exit around it
//! (docs/mt3620.md, steps 3.4 to 3.8).
//!
//! In the system build, [`boot`] runs [`start`] straight after the boot
//! checks, from the reset handler; in the build with the mechanism checks
//! (feature `checks`), once they pass, [`restart`] leaves the exception
//! they ended in for privileged Thread mode and runs it. [`start`]
//! switches to this module's vector table and starts the programs of the
//! boot image, which xtask links at the board's program slots: user
//! addresses are physical under the MPU (`UserLayout::Identity`). In the
//! system build that is `init` alone; with the checks, also `echo`, the
//! probes and `fp-reader`. `init` gets the other slots, the boot image and
//! the board's devices for programs, and loads programs of its own
//! (`tessera_loader::identity`): the servers and the apps.
//!
//! Exceptions. The kernel runs in the handlers of SVC, PendSV and the
//! MemManage, bus and usage faults, all at the lowest priority, so they
//! never nest; a HardFault from Thread mode is a process's fault, one from
//! Handler mode the kernel's panic path. SysTick and the device interrupts
//! run above them and do almost nothing: SysTick counts a reload of the
//! 64-bit clock and, once the kernel's deadline has passed, pends PendSV; a
//! device line is masked, noted and pends PendSV. PendSV is the kernel's
//! interrupt entry, which takes what they noted
//! (`Platform::acknowledge_interrupt`). Those two may interrupt the kernel
//! itself (they touch only their own state), which is what wakes an idle
//! kernel from `wfi`.
//!
//! A process's registers: the trampoline saves r4-r11 (and, for a process
//! that uses the FPU, s16-s31) into the running process's `UserContext`
//! and object, and [`tp_kernel`] copies the frame the hardware stacked on
//! its process stack (r0-r3, r12, lr, pc, xPSR; s0-s15 and FPSCR in an
//! extended frame). On the way out, [`tp_kernel`] writes the next
//! process's frame below its stack pointer, after checking that the
//! process may write there (the kernel writes with its own rights, and a
//! process may aim its stack pointer anywhere), and the trampoline loads
//! r4-r11 (and s16-s31, or clears the FPU for a process that never used
//! it) and returns to Thread mode on the process stack, unprivileged.

use core::cell::UnsafeCell;
use core::fmt::Write;
use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

#[cfg(feature = "checks")]
use kernel_core::capability::Capability;
use kernel_core::console::{Lines, Written};
use kernel_core::fault::cfsr;
use kernel_core::kernel::{
    process_object_of, Boot, FrameSource, Kernel, Platform, Ram, RootGrants, UserContext, UserFault, UserLayout,
    PROCESS_OBJECT_BYTES,
};
use kernel_core::mpu::{RegionTable, REGIONS};
use kernel_core::pagetable::MemoryType;
use kernel_core::time::PeriodicCounter;
use kernel_core::Access;
use tessera_abi::bootimage::BootImage;
use tessera_abi::ObjectType;
#[cfg(feature = "checks")]
use tessera_abi::{Rights, ROOT_PRIORITY};

use crate::board;
use crate::regs::{
    BFAR, CFSR, CPACR, FPCCR, ICSR, ICSR_PENDSTSET, ICSR_PENDSVSET, MMFAR, MPU_CTRL, MPU_RASR, MPU_RBAR, NVIC_ICER,
    NVIC_ICPR, NVIC_IPR, NVIC_ISER, SHCSR, SHPR1, SHPR2, SHPR3, SYST_CSR, SYST_CVR, SYST_RVR, VTOR,
};
#[cfg(feature = "checks")]
use crate::regs::{ICSR_PENDSTCLR, ICSR_PENDSVCLR};
use crate::Uart;

/// SysTick's exception number: the timer's interrupt ID. Device line `n`
/// is ID `16 + n`, its exception number.
const SYSTICK: u32 = 15;
const FIRST_LINE: u32 = 16;

/// What the trampolines pass [`tp_kernel`].
const KIND_SVC: u32 = 0;
const KIND_PENDSV: u32 = 1;
const KIND_HARDFAULT: u32 = 5;

/// `SHCSR`: the synchronous exceptions pending (usage, MemManage, bus
/// fault, SVCall).
const SHCSR_SYNC_PENDING: u32 = 0b1111 << 12;
/// `HFSR` and its debug-event bit (a `bkpt` with no debugger attached).
const HFSR: u32 = 0xE000_ED2C;
const HFSR_DEBUGEVT: u32 = 1 << 31;

/// SysTick's period: a millisecond (the clock's reload, and the finest a
/// deadline can be kept).
const TICK_PERIOD: u32 = board::CLOCK_HZ / 1000;

/// Priorities: the kernel's exceptions lowest, SysTick and device lines
/// highest (a smaller number is more urgent).
const KERNEL_PRIORITY: u32 = 0xFF;
const TICK_PRIORITY: u32 = 0x00;

/// The programs the kernel starts itself, beside `init`, in the build with
/// the checks: the board's slot 1 holds `echo`'s code (which `peeker`
/// reads), and `kernel-reader` aims at [`KERNEL_WORD`], `uart-writer` at
/// the console.
#[cfg(feature = "checks")]
const ECHO_PRIORITY: u32 = ROOT_PRIORITY;
#[cfg(feature = "checks")]
const PROBE_PRIORITY: u32 = ROOT_PRIORITY + 1;
/// The slots of the programs the kernel starts itself (`init`, and with
/// the checks `echo` and the four probes); `init` loads programs into the
/// rest.
#[cfg(feature = "checks")]
const KERNEL_SLOTS: u32 = 6;
#[cfg(not(feature = "checks"))]
const KERNEL_SLOTS: u32 = 1;
const _: () = assert!(
    board::PROGRAM_SLOTS == 0 || board::PROGRAM_SLOTS.saturating_sub(KERNEL_SLOTS) != 0,
    "the board description leaves init no program slot to load into"
);
// The kernel's pool (its own frames and the slots of the programs it
// starts, `start`) is all managed by the frame allocator.
const _: () = assert!(
    (board::KERNEL_POOL_BYTES + KERNEL_SLOTS * board::PROGRAM_SLOT_BYTES) / 4096
        <= kernel_core::kernel::POOL_FRAMES_MAX,
    "the kernel's pool and the slots of the programs it starts outgrow its frame allocator (POOL_FRAMES_MAX)"
);

/// `init`'s rights to `echo`'s endpoint: send, with capabilities along
/// (`GRANT`), and make badged copies (`DERIVE`).
#[cfg(feature = "checks")]
const ROOT_ENDPOINT_RIGHTS: Rights = Rights::SEND.union(Rights::GRANT).union(Rights::DERIVE);

/// Process objects for the programs the kernel starts (aligned to their
/// size, in the kernel's RAM: outside the pool and untyped memory).
#[repr(C, align(8192))]
struct ObjectMemory([AtomicU32; PROCESS_OBJECT_BYTES as usize / 4]);
const _: () = assert!(core::mem::align_of::<ObjectMemory>() == PROCESS_OBJECT_BYTES as usize);

/// One per program the kernel starts; none on a board without program
/// slots, where nothing uses them.
const OBJECTS: usize = if board::PROGRAM_SLOTS != 0 { KERNEL_SLOTS as usize } else { 0 };
// First in BSS (link.x), which starts at RAM's start: no padding to their
// alignment.
#[link_section = ".bss.tessera_process_objects"]
static PROCESS_OBJECTS: [ObjectMemory; OBJECTS] =
    [const { ObjectMemory([const { AtomicU32::new(0) }; PROCESS_OBJECT_BYTES as usize / 4]) }; OBJECTS];

/// A word of kernel data the `kernel-reader` probe aims at.
#[cfg(feature = "checks")]
static KERNEL_WORD: AtomicU32 = AtomicU32::new(KERNEL_WORD_VALUE);
#[cfg(feature = "checks")]
const KERNEL_WORD_VALUE: u32 = 0x5ec2_e7a1;

#[repr(C, align(4))]
struct Aligned<T: ?Sized>(T);

/// The programs xtask packed for this board (`TESSERA_M_BOOT_IMAGE`;
/// empty when the kernel was built without them).
const BOOT_IMAGE_BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/boot.img"));
#[link_section = ".bootimage"]
static BOOT_IMAGE: Aligned<[u8; BOOT_IMAGE_BYTES.len()]> =
    Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/boot.img")));

/// The frame `init` reads the boot image through (start, bytes): the
/// `.bootimage` section, which link.x aligns and pads to
/// `__boot_image_frame` bytes (build.rs: a power of two of at least 64 KiB;
/// 0 without an image) and checks is exactly that.
fn boot_image_frame() -> (u32, u32) {
    extern "C" {
        static __boot_image_start: u8;
        static __boot_image_frame: u8;
    }
    // Only the symbols' addresses are taken (the second is a number the
    // linker defines, not memory).
    let start = core::ptr::addr_of!(__boot_image_start) as u32;
    let frame = core::ptr::addr_of!(__boot_image_frame) as u32;
    (start, frame)
}

/// Reads the 32-bit register at `address`.
fn read(address: u32) -> u32 {
    // SAFETY: only called with the system control, SysTick, NVIC and MPU
    // registers above, which are always mapped for privileged code on
    // Armv7-M and which the kernel alone drives.
    unsafe { read_volatile(address as *const u32) }
}

/// Writes `value` to the 32-bit register at `address`.
fn write(address: u32, value: u32) {
    // SAFETY: as for `read`.
    unsafe { write_volatile(address as *mut u32, value) }
}

/// Whether the board has program slots and the boot image programs: the
/// portable kernel has something to run.
pub fn ready() -> bool {
    board::PROGRAM_SLOTS != 0 && BootImage::parse(&BOOT_IMAGE.0).is_ok_and(|image| image.elf("init").is_some())
}

// --- the kernel instance -------------------------------------------------------

/// The machine: a Cortex-M4 with the NVIC, SysTick and the MPU.
pub struct Armv7m;

/// The one kernel instance, entered by each kernel exception for its
/// whole run.
static KERNEL: KernelCell =
    KernelCell { entered: AtomicBool::new(false), kernel: UnsafeCell::new(Kernel::new(Armv7m)) };

struct KernelCell {
    entered: AtomicBool,
    kernel: UnsafeCell<Kernel<Armv7m>>,
}

// SAFETY: the kernel is reached only through `enter`, whose flag lets one
// guard exist at a time; the kernel's exceptions share one priority, so
// they never interleave, and the handlers above them never enter.
unsafe impl Sync for KernelCell {}

impl KernelCell {
    fn enter(&self) -> KernelGuard<'_> {
        // A load and a store, not a swap: entries never overlap (see
        // `Sync` above), so this only checks that, without an exclusive
        // access loop and barrier on every entry.
        if self.entered.load(Ordering::Relaxed) {
            panic!("kernel entered while already running");
        }
        self.entered.store(true, Ordering::Relaxed);
        KernelGuard { cell: self }
    }
}

struct KernelGuard<'a> {
    cell: &'a KernelCell,
}

impl core::ops::Deref for KernelGuard<'_> {
    type Target = Kernel<Armv7m>;
    fn deref(&self) -> &Kernel<Armv7m> {
        // SAFETY: this guard is the only one (see `KernelCell::enter`).
        unsafe { &*self.cell.kernel.get() }
    }
}

impl core::ops::DerefMut for KernelGuard<'_> {
    fn deref_mut(&mut self) -> &mut Kernel<Armv7m> {
        // SAFETY: this guard is the only one (see `KernelCell::enter`).
        unsafe { &mut *self.cell.kernel.get() }
    }
}

impl Drop for KernelGuard<'_> {
    fn drop(&mut self) {
        self.cell.entered.store(false, Ordering::Relaxed);
    }
}

/// State shared with SysTick's handler, touched with interrupts masked.
struct Masked<T>(UnsafeCell<T>);

// SAFETY: `with` masks interrupts (PRIMASK) for the whole access, on the
// one core, so accesses never overlap.
unsafe impl<T> Sync for Masked<T> {}

impl<T> Masked<T> {
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let primask: u32;
        // SAFETY: reads PRIMASK and masks interrupts; no memory effects.
        unsafe { core::arch::asm!("mrs {}, primask", "cpsid i", out(reg) primask, options(nostack, preserves_flags)) };
        // SAFETY: interrupts are masked until the end of this call, so
        // nothing else reaches the value meanwhile.
        let result = f(unsafe { &mut *self.0.get() });
        if primask & 1 == 0 {
            // SAFETY: unmasks what was unmasked before.
            unsafe { core::arch::asm!("cpsie i", options(nostack, preserves_flags)) };
        }
        result
    }
}

/// The clock and the kernel's deadline.
struct Timer {
    counter: PeriodicCounter,
    deadline: u64,
}

static TIMER: Masked<Timer> =
    Masked(UnsafeCell::new(Timer { counter: PeriodicCounter::new(TICK_PERIOD), deadline: u64::MAX }));

/// Set by SysTick's handler when the deadline has passed.
static TIMER_DUE: AtomicBool = AtomicBool::new(false);
/// Device lines masked and noted by their handler, not yet taken.
static NOTED: [AtomicU32; board::INTERRUPTS.div_ceil(32)] =
    [const { AtomicU32::new(0) }; board::INTERRUPTS.div_ceil(32)];

/// The time in ticks, with interrupts masked by the caller.
fn now_in(timer: &Timer) -> u64 {
    let pending = || read(ICSR) & ICSR_PENDSTSET != 0;
    let first = pending();
    let mut value = read(SYST_CVR);
    let second = pending();
    if first != second {
        value = read(SYST_CVR);
    }
    timer.counter.now(value, second)
}

fn pend_kernel() {
    write(ICSR, ICSR_PENDSVSET);
}

/// The console's line state (`kernel_core::console::Lines`): only the
/// kernel prints, from its exceptions, which never overlap, so it needs no
/// masking (SysTick and the lines must not wait on the UART).
static LINES: KernelOnly<u64> = KernelOnly(UnsafeCell::new(0));

/// State only the kernel's exceptions touch.
struct KernelOnly<T>(UnsafeCell<T>);

// SAFETY: reached only from the kernel's exceptions (SVC, PendSV, the
// faults), which share one priority and so never overlap; the handlers
// above them never touch it.
unsafe impl<T> Sync for KernelOnly<T> {}

impl<T> KernelOnly<T> {
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: see `Sync` above: one access at a time.
        f(unsafe { &mut *self.0.get() })
    }
}

fn put_bytes(bytes: &[u8]) {
    bytes.iter().copied().for_each(Uart::put);
}

/// A process's MPU state in its object (the first bytes, where the A7
/// keeps its first-level table): the region table's words, then the
/// encoded `RBAR`/`RASR` pairs the switch loads, then the frame the
/// hardware last stacked for it (see [`place_frame`]).
const TABLE_WORDS: usize = REGIONS;
const REGISTER_WORDS: usize = 2 * REGIONS;
const STACKED_WORD: usize = TABLE_WORDS + REGISTER_WORDS;
/// Then the FPU state of a process that uses it (docs/mt3620.md step 3.8):
/// s16-s31 (the trampoline saves and loads them), s0-s15 and FPSCR (from
/// and into its exception frame), and whether it uses the FPU at all.
const FP_HIGH_WORD: usize = 32;
const FP_LOW_WORD: usize = FP_HIGH_WORD + 16;
const FPSCR_WORD: usize = FP_LOW_WORD + 16;
const FP_ACTIVE_WORD: usize = FPSCR_WORD + 1;
/// The FP part of an extended frame: s0-s15, FPSCR and a reserved word.
const FP_FRAME_WORDS: usize = 18;
// The pieces in order, all in the object's bytes that are the platform's,
// before the CSpace.
const _: () = assert!(
    STACKED_WORD < FP_HIGH_WORD && (FP_ACTIVE_WORD + 1) * 4 <= kernel_core::kernel::OBJECT_PLATFORM_BYTES as usize
);
/// How the trampoline returns (`tp_kernel`'s second result).
const RETURN_BASIC: u32 = 0;
const RETURN_BASIC_CLEARED: u32 = 1;
const RETURN_FP: u32 = 2;

/// The frame address the hardware last stacked for the process in
/// `object` with the process's own rights, plus 1 for an extended (FP)
/// frame (0: none since the mapping under it last changed).
fn stacked_frame(object: u32) -> *mut u32 {
    // SAFETY: within the object's first 4 KiB (checked below).
    unsafe { object_words(object).add(STACKED_WORD) }
}

fn object_words(object: u32) -> *mut u32 {
    object as *mut u32
}

fn load_table(object: u32) -> RegionTable {
    let mut words = [0; TABLE_WORDS];
    for (index, word) in words.iter_mut().enumerate() {
        // SAFETY: `object` is a process object (RAM the kernel
        // owns); its first words hold the table, zero when new.
        *word = unsafe { object_words(object).add(index).read_volatile() };
    }
    RegionTable::from_words(&words)
}

fn store_table(object: u32, table: &RegionTable) {
    let registers = table.registers();
    for (index, word) in table.words().into_iter().enumerate() {
        // SAFETY: as in `load_table`.
        unsafe { object_words(object).add(index).write_volatile(word) };
    }
    for (index, (rbar, rasr)) in registers.into_iter().enumerate() {
        // SAFETY: as in `load_table`: the words after the table.
        unsafe {
            object_words(object).add(TABLE_WORDS + 2 * index).write_volatile(rbar);
            object_words(object).add(TABLE_WORDS + 2 * index + 1).write_volatile(rasr);
        }
    }
}

/// The object whose regions the MPU holds (0: none).
static LOADED: AtomicU32 = AtomicU32::new(0);

/// Loads the MPU from the registers stored in `object`: four `ldm`/`stm`
/// pairs through `MPU_RBAR`/`MPU_RASR` and their three aliases, two
/// regions each (every stored `RBAR` names its region).
fn program_mpu(object: u32) {
    let registers = object + 4 * TABLE_WORDS as u32;
    // SAFETY: the object's register words (see `load_table`).
    if unsafe { (registers as *const u32).read_volatile() } == 0 {
        // Never stored (no page mapped yet): every region off.
        store_table(object, &RegionTable::new());
    }
    // SAFETY: reads the 16 register words of the object and writes them to
    // the MPU's region registers (RBAR, RASR and the aliases A1-A3 are
    // consecutive words from MPU_RBAR), which only the kernel drives.
    unsafe {
        core::arch::asm!(
            "ldm {from}!, {{r0-r3}}",
            "stm {to}, {{r0-r3}}",
            "ldm {from}!, {{r0-r3}}",
            "stm {to}, {{r0-r3}}",
            "ldm {from}!, {{r0-r3}}",
            "stm {to}, {{r0-r3}}",
            "ldm {from}!, {{r0-r3}}",
            "stm {to}, {{r0-r3}}",
            "dsb",
            "isb",
            from = inout(reg) registers => _,
            to = in(reg) MPU_RBAR,
            out("r0") _,
            out("r1") _,
            out("r2") _,
            out("r3") _,
            options(nostack, preserves_flags)
        )
    };
}

fn barrier() {
    // SAFETY: barriers only.
    unsafe { core::arch::asm!("dsb", "isb", options(nostack, preserves_flags)) };
}

impl Platform for Armv7m {
    type AddressSpace = u32;

    fn now(&self) -> u64 {
        TIMER.with(|timer| now_in(timer))
    }

    fn timer_frequency(&self) -> u64 {
        u64::from(board::CLOCK_HZ)
    }

    fn set_deadline(&self, deadline: u64) {
        let due = TIMER.with(|timer| {
            timer.deadline = deadline;
            deadline != u64::MAX && now_in(timer) >= deadline
        });
        if due {
            TIMER_DUE.store(true, Ordering::Relaxed);
            pend_kernel();
        }
    }

    fn timer_interrupt(&self) -> u32 {
        SYSTICK
    }

    fn acknowledge_interrupt(&self) -> Option<u32> {
        if TIMER_DUE.swap(false, Ordering::Relaxed) {
            return Some(SYSTICK);
        }
        for (word, noted) in NOTED.iter().enumerate() {
            let bits = noted.load(Ordering::Relaxed);
            if bits != 0 {
                let bit = bits.trailing_zeros();
                noted.fetch_and(!(1 << bit), Ordering::Relaxed);
                return Some(FIRST_LINE + word as u32 * 32 + bit);
            }
        }
        None
    }

    fn end_of_interrupt(&self, _id: u32) {}

    fn interrupt_pending(&self) -> bool {
        TIMER_DUE.load(Ordering::Relaxed) || NOTED.iter().any(|noted| noted.load(Ordering::Relaxed) != 0)
    }

    fn enable_interrupt(&self, id: u32) {
        if let Some(line) = id.checked_sub(FIRST_LINE).filter(|&line| line < board::INTERRUPTS as u32) {
            let priority = NVIC_IPR + (line & !3);
            let shift = (line % 4) * 8;
            write(priority, (read(priority) & !(0xFF << shift)) | (TICK_PRIORITY << shift));
            write(NVIC_ISER + (line / 32) * 4, 1 << (line % 32));
        }
    }

    fn disable_interrupt(&self, id: u32) {
        if let Some(line) = id.checked_sub(FIRST_LINE).filter(|&line| line < board::INTERRUPTS as u32) {
            write(NVIC_ICER + (line / 32) * 4, 1 << (line % 32));
            write(NVIC_ICPR + (line / 32) * 4, 1 << (line % 32));
            NOTED[line as usize / 32].fetch_and(!(1 << (line % 32)), Ordering::Relaxed);
        }
    }

    fn unmask_interrupt(&self, id: u32) {
        if let Some(line) = id.checked_sub(FIRST_LINE).filter(|&line| line < board::INTERRUPTS as u32) {
            write(NVIC_ISER + (line / 32) * 4, 1 << (line % 32));
        }
    }

    fn wait_for_interrupt(&self) {
        // SysTick and the device lines outrank the kernel's exception, so
        // they are taken here and end the wait; their handlers note what
        // the kernel acknowledges next.
        // Masked between the check and the `wfi`, which a pending
        // interrupt still ends: one arriving after the check is taken once
        // the mask lifts, instead of being slept through until the next.
        // SAFETY: masks interrupts; no memory effects.
        unsafe { core::arch::asm!("cpsid i", options(nomem, nostack, preserves_flags)) };
        if !self.interrupt_pending() {
            // SAFETY: waits for an interrupt; no memory effects.
            unsafe { core::arch::asm!("wfi", options(nomem, nostack, preserves_flags)) };
        }
        // SAFETY: unmasks them again; the pending handler runs now.
        unsafe { core::arch::asm!("cpsie i", options(nomem, nostack, preserves_flags)) };
    }

    fn user_layout(&self) -> UserLayout {
        // Below the system region (0xE000_0000), which unprivileged code
        // can never reach.
        UserLayout::Identity { end: 0xE000_0000 }
    }

    fn address_space(&self, object: u32) -> u32 {
        object
    }

    fn map_page(
        &self,
        space: u32,
        address: u32,
        frame: u32,
        access: Access,
        memory: MemoryType,
        tables: &mut impl FrameSource,
    ) -> Option<()> {
        self.map_block(space, address, frame, 4096, access, memory, 0, tables)
    }

    fn unmap_page(&self, space: u32, address: u32, _asid: u8) {
        self.unmap_block(space, address, 4096, 0);
    }

    fn map_block(
        &self,
        space: u32,
        address: u32,
        frame: u32,
        bytes: u32,
        access: Access,
        memory: MemoryType,
        _asid: u8,
        _tables: &mut impl FrameSource,
    ) -> Option<()> {
        debug_assert_eq!(address, frame, "identity mapping");
        let mut table = load_table(space);
        // A large aligned frame is one region; anything else page by page.
        // No region free (a ninth window, or rights a window's region does
        // not have): the kernel reports it as out of memory.
        table.map_block(address, bytes, access, memory).ok()?;
        store_table(space, &table);
        if LOADED.load(Ordering::Relaxed) == space {
            program_mpu(space);
        }
        Some(())
    }

    fn unmap_block(&self, space: u32, address: u32, bytes: u32, _asid: u8) {
        // A frame in this range (or reaching into it) is no longer known to
        // be the process's to write.
        // SAFETY: the object's word (see `stacked_frame`).
        unsafe {
            let stacked = stacked_frame(space).read_volatile() & !1;
            let frame_end = stacked + 4 * (8 + FP_FRAME_WORDS as u32);
            if stacked != 0 && stacked < address.saturating_add(bytes) && address < frame_end {
                stacked_frame(space).write_volatile(0);
            }
        }
        let mut table = load_table(space);
        if table.unmap_block(address, bytes) {
            store_table(space, &table);
            if LOADED.load(Ordering::Relaxed) == space {
                program_mpu(space);
            }
        }
    }

    fn destroy_address_space(&self, space: u32, _asid: u8, frames: &mut impl FrameSource) {
        let table = load_table(space);
        for (page, memory) in table.pages() {
            if memory == MemoryType::Normal {
                // Pages mapped through capabilities are not the pool's: it
                // refuses them.
                frames.release(page);
            }
        }
        store_table(space, &RegionTable::new());
        // SAFETY: the object's word (see `stacked_frame`).
        unsafe { stacked_frame(space).write_volatile(0) };
    }

    fn switch_address_space(&self, space: u32, _asid: u8) {
        if LOADED.swap(space, Ordering::Relaxed) != space {
            program_mpu(space);
        }
    }

    fn switch_to_empty(&self) {
        LOADED.store(0, Ordering::Relaxed);
        for index in 0..REGIONS as u32 {
            write(MPU_RBAR, (1 << 4) | index);
            write(MPU_RASR, 0);
        }
        barrier();
    }

    fn flush_translations(&self) {}

    fn enter_process(&self, _context: &UserContext) {}

    fn ram(&self) -> Ram {
        Ram::IDENTITY
    }

    unsafe fn read_user<R>(&self, _space: u32, address: u32, len: u32, f: impl FnOnce(&[u8]) -> R) -> R {
        // SAFETY: the caller's contract: the kernel checked the range
        // against the process's regions, which name its own RAM or devices.
        f(unsafe { core::slice::from_raw_parts(address as *const u8, len as usize) })
    }

    unsafe fn write_user(&self, _space: u32, address: u32, bytes: &[u8]) {
        // SAFETY: the caller's contract, mapped writable.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), address as *mut u8, bytes.len()) }
    }

    unsafe fn zero(&self, address: u32, bytes: u32) {
        // SAFETY: the caller's contract: RAM the kernel owns and nothing
        // else uses.
        unsafe { core::ptr::write_bytes(address as *mut u8, 0, bytes as usize) }
    }

    unsafe fn copy_into(&self, address: u32, bytes: &[u8]) {
        // SAFETY: the caller's contract: RAM the kernel owns, within one
        // frame.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), address as *mut u8, bytes.len()) }
    }

    // The M4 has no caches to keep coherent here (the MT3620's flash
    // cache holds no code the kernel writes).
    fn clean_for_execution(&self, _frame: u32) {}

    fn invalidate_instruction_cache(&self) {}

    fn initial_status(&self, _thumb: bool) -> u32 {
        // Armv7-M runs Thumb only: xPSR.T.
        1 << 24
    }

    fn is_thumb(&self, status: u32) -> bool {
        status & (1 << 24) != 0
    }

    fn log(&self, line: &kernel_core::text::Line) {
        LINES.with(|bits| {
            let mut lines = Lines::from_bits(*bits);
            lines.kernel_line(&mut put_bytes);
            *bits = lines.to_bits();
        });
        put_bytes(b"kernel: ");
        put_bytes(line.as_bytes());
        put_bytes(b"\n");
    }

    fn write_process(&self, pid: u32, label: &[u8], text: &[u8], limit: u32) -> Written {
        LINES.with(|bits| {
            let mut lines = Lines::from_bits(*bits);
            let written = lines.write(pid, label, text, limit as usize, &mut put_bytes);
            *bits = lines.to_bits();
            written
        })
    }

    fn power_off(&self, status: u32) {
        write(SYST_CSR, 0);
        // The probes and `init`'s child aimed at this word.
        #[cfg(feature = "checks")]
        let status = {
            let intact = KERNEL_WORD.load(Ordering::Relaxed) == KERNEL_WORD_VALUE;
            self.log(kernel_core::text::Line::new().str(if intact {
                "kernel data intact at shutdown"
            } else {
                "kernel data OVERWRITTEN at shutdown"
            }));
            if intact {
                status
            } else {
                1
            }
        };
        crate::exit(status)
    }
}

// --- exceptions ------------------------------------------------------------------

/// The running process's context (the resume pointer `prepare_return`
/// gave, less the offset of `pc`): where the trampoline saves r4-r11.
#[no_mangle]
static TP_CONTEXT: AtomicU32 = AtomicU32::new(0);

const PC_OFFSET: usize = core::mem::offset_of!(UserContext, pc);
const _: () = assert!(core::mem::offset_of!(UserContext, r) == 0 && PC_OFFSET == 60);

// The vector table this module uses once `start` sets VTOR: 16 system
// entries and one per device line, aligned as VTOR needs (the table's size
// rounded up to a power of two; 512 bytes covers 112 lines).
core::arch::global_asm!(
    ".section .rodata.tessera_vectors_portable, \"a\", %progbits",
    ".p2align 9",
    ".global tessera_vectors_portable",
    "tessera_vectors_portable:",
    "    .word __stack_top",
    "    .word tessera_reset",
    "    .word tessera_fault, tp_hardfault",
    "    .word tp_memmanage, tp_busfault, tp_usagefault",
    "    .word 0, 0, 0, 0",
    "    .word tp_svc, tessera_fault, 0, tp_pendsv, tp_systick",
    "    .rept {interrupts}",
    "    .word tp_irq",
    "    .endr",
    ".section .text.tessera_portable_traps, \"ax\", %progbits",
    ".thumb",
    ".syntax unified",
    ".global tp_svc",
    ".thumb_func",
    "tp_svc:",
    // Null (number 0 in r7, which the hardware does not stack) needs no
    // kernel state: success in the stacked r0, at once. A process's SVC
    // comes from Thread mode, so the frame is on its stack, where the
    // hardware just wrote it with the process's own rights.
    "    cbnz r7, 4f",
    "    tst lr, #4",
    "    beq 4f",
    "    mrs r0, psp",
    "    str r7, [r0]",
    "    bx lr",
    "4:  movs r0, #{svc}",
    "    b 1f",
    ".global tp_pendsv",
    ".thumb_func",
    "tp_pendsv:",
    // The first PendSV comes from `start` in privileged Thread mode on the
    // main stack: it enters the first process instead.
    "    mrs r0, control",
    "    tst r0, #1",
    "    beq 2f",
    "    movs r0, #{pendsv}",
    "    b 1f",
    // HardFault: from Thread mode it is a process's (a `bkpt` with no
    // debugger, a fault escalated); from Handler mode the kernel's.
    ".global tp_hardfault",
    ".thumb_func",
    "tp_hardfault:",
    "    tst lr, #4",
    "    beq.w tessera_fault",
    "    movs r0, #{hardfault}",
    "    b 1f",
    ".global tp_memmanage",
    ".thumb_func",
    "tp_memmanage:",
    "    movs r0, #2",
    "    b 1f",
    ".global tp_busfault",
    ".thumb_func",
    "tp_busfault:",
    "    movs r0, #3",
    "    b 1f",
    ".global tp_usagefault",
    ".thumb_func",
    "tp_usagefault:",
    "    movs r0, #4",
    // From Handler mode (EXC_RETURN bit 2 clear, the main stack): the
    // kernel's own exception, which no process may be blamed for.
    "1:  tst lr, #4",
    "    beq.w tessera_fault",
    "    ldr r2, =TP_CONTEXT",
    "    ldr r2, [r2]",
    "    adds r3, r2, #16",
    "    stm r3, {{r4-r11}}",
    // An extended frame (EXC_RETURN bit 4 clear): the process uses the
    // FPU. The hardware stacked s0-s15 and FPSCR; s16-s31 go in its
    // object (the block of PROCESS_OBJECT_BYTES holding the context)
    // before any kernel code runs.
    "    tst lr, #0x10",
    "    bne 5f",
    "    lsrs r3, r2, #{object_shift}",
    "    lsls r3, r3, #{object_shift}",
    "    adds r3, r3, #{fp_high}",
    "    vstmia r3, {{s16-s31}}",
    "5:  mrs r1, psp",
    "    mov r2, lr",
    "    bl tp_kernel",
    // r0: the context to resume, whose frame `tp_kernel` wrote; r1: a
    // basic frame, the same with the FPU registers cleared first (the last
    // process to run used them), or an extended frame with s16-s31 from
    // the process's object.
    "3:  adds r2, r0, #16",
    "    ldm r2, {{r4-r11}}",
    "    cmp r1, #{basic_cleared}",
    "    beq 6f",
    "    bhi 7f",
    "    ldr lr, =0xfffffffd",
    "    bx lr",
    "6:  ldr r2, =TP_FP_ZEROS",
    "    vldmia r2, {{s0-s31}}",
    "    movs r2, #0",
    "    vmsr fpscr, r2",
    "    ldr lr, =0xfffffffd",
    "    bx lr",
    "7:  lsrs r2, r0, #{object_shift}",
    "    lsls r2, r2, #{object_shift}",
    "    adds r2, r2, #{fp_high}",
    "    vldmia r2, {{s16-s31}}",
    "    ldr lr, =0xffffffed",
    "    bx lr",
    // The first entry: the boot code's stack is not needed again; Thread
    // mode becomes unprivileged and returns to the first process's frame.
    "2:  ldr r0, =__stack_top",
    "    msr msp, r0",
    "    mrs r0, control",
    "    orr r0, r0, #1",
    "    msr control, r0",
    "    isb",
    "    ldr r0, =TP_CONTEXT",
    "    ldr r0, [r0]",
    // The mechanism checks' programs left values in the FPU: cleared.
    "    movs r1, #{basic_cleared}",
    "    b 3b",
    ".ltorg",
    fp_high = const FP_HIGH_WORD * 4,
    object_shift = const PROCESS_OBJECT_BYTES.trailing_zeros(),
    hardfault = const KIND_HARDFAULT,
    basic_cleared = const RETURN_BASIC_CLEARED,
    interrupts = const board::INTERRUPTS,
    svc = const KIND_SVC,
    pendsv = const KIND_PENDSV,
);

/// SysTick: one more period on the clock; once the deadline has passed,
/// the kernel's turn (PendSV).
#[no_mangle]
extern "C" fn tp_systick() {
    let due = TIMER.with(|timer| {
        timer.counter.reloaded();
        now_in(timer) >= timer.deadline
    });
    if due {
        TIMER_DUE.store(true, Ordering::Relaxed);
        pend_kernel();
    }
}

/// A device line: masked until its driver acknowledges it (as on the
/// A7's GIC), noted, and the kernel's turn.
#[no_mangle]
extern "C" fn tp_irq() {
    let ipsr: u32;
    // SAFETY: reads the exception number; no other effect.
    unsafe { core::arch::asm!("mrs {}, ipsr", out(reg) ipsr, options(nomem, nostack, preserves_flags)) };
    let line = (ipsr & 0x1FF).wrapping_sub(FIRST_LINE);
    if line < board::INTERRUPTS as u32 {
        write(NVIC_ICER + (line / 32) * 4, 1 << (line % 32));
        NOTED[line as usize / 32].fetch_or(1 << (line % 32), Ordering::Relaxed);
        pend_kernel();
    }
}

/// The kernel's exceptions from a process: `kind` says which, `psp` is its
/// stack with the frame the hardware pushed, `exc_return` how it came.
/// The trampoline saved r4-r11 already. Returns the context to resume,
/// whose frame is written and whose stack is the process stack.
#[no_mangle]
extern "C" fn tp_kernel(kind: u32, psp: u32, exc_return: u32) -> u64 {
    let mut kernel = KERNEL.enter();
    let context = TP_CONTEXT.load(Ordering::Relaxed) as *mut UserContext;
    let fault = (kind > KIND_PENDSV).then(|| {
        // The address registers first: on the M4 MMFAR and BFAR share one
        // register, and clearing CFSR's valid bits may end what they hold.
        let (mmfar, bfar) = (read(MMFAR), read(BFAR));
        let status = read(CFSR);
        write(CFSR, status);
        if kind == KIND_HARDFAULT {
            // Write ones to clear (a debug event, or an escalated fault
            // whose cause is in CFSR).
            write(HFSR, read(HFSR) | HFSR_DEBUGEVT);
        }
        // The process faulting may have left another synchronous
        // exception pending (an SVC whose stacking failed stays pending
        // under the MemManage fault that failure raised): it is the
        // process's, and must not be taken in the next one.
        write(SHCSR, read(SHCSR) & !SHCSR_SYNC_PENDING);
        (status, mmfar, bfar)
    });
    // A stacking error leaves no frame to trust.
    let frame_good = fault.is_none_or(|(status, _, _)| status & cfsr::STACKING == 0);
    // An extended frame: the process uses the FPU.
    let extended = exc_return & (1 << 4) == 0;
    // SAFETY: TP_CONTEXT is the running process's context in the process
    // table (set when it was resumed; it cannot have ended since, as it
    // ran until this exception); the frame is what the hardware stacked at
    // `psp`, with the process's own rights, so in its memory; the object's
    // words are the platform's (see `load_table`).
    unsafe {
        let context = &mut *context;
        let object = process_object_of(context);
        if frame_good {
            let frame = (psp as *const [u32; 8]).read();
            // Word by word: a slice copy here is a library call.
            context.r[0] = frame[0];
            context.r[1] = frame[1];
            context.r[2] = frame[2];
            context.r[3] = frame[3];
            context.r[12] = frame[4];
            context.lr = frame[5];
            context.pc = frame[6];
            let xpsr = frame[7];
            let mut words = 8;
            if extended {
                // s0-s15 and FPSCR, after the basic frame.
                let fp = (psp as *const u32).add(8);
                core::ptr::copy_nonoverlapping(fp, object_words(object).add(FP_LOW_WORD), 17);
                object_words(object).add(FP_ACTIVE_WORD).write_volatile(1);
                // The registers hold its values now, even if this is its
                // first use of the FPU.
                FP_DIRTY.store(true, Ordering::Relaxed);
                words += FP_FRAME_WORDS as u32;
            }
            // The hardware wrote it there with the process's own rights.
            stacked_frame(object).write_volatile(psp | u32::from(extended));
            // Bit 9: the hardware aligned the frame to 8 bytes with a pad.
            context.sp = psp + 4 * words + if xpsr & (1 << 9) != 0 { 4 } else { 0 };
            context.cpsr = xpsr & !0x3FF;
        } else {
            context.sp = psp;
        }
    }
    let mut resume = match (kind, fault) {
        (KIND_SVC, _) => kernel.syscall(),
        (KIND_PENDSV, _) => kernel.interrupt(),
        (_, Some((status, mmfar, bfar))) => kernel.user_fault(UserFault::Armv7m { cfsr: status, mmfar, bfar }),
        // The trampolines pass no other kind.
        _ => kernel.user_fault(UserFault::Armv7m { cfsr: 0, mmfar: 0, bfar: 0 }),
    };
    loop {
        // SAFETY: `resume` is `resume_pointer` of the context of the
        // process the kernel runs next, in the process table.
        let next = unsafe { resume.cast::<u8>().sub(PC_OFFSET).cast::<UserContext>() };
        // SAFETY: as above; the kernel is entered (the guard), so nothing
        // else touches the context.
        if let Some((frame, how)) = place_frame(&kernel, unsafe { &*next }) {
            // SAFETY: the process stack becomes the frame just written; the
            // exception returns through it.
            unsafe { core::arch::asm!("msr psp, {}", in(reg) frame, options(nostack, preserves_flags)) };
            TP_CONTEXT.store(next as u32, Ordering::Relaxed);
            return u64::from(next as u32) | (u64::from(how) << 32);
        }
        // Its stack pointer leads outside its memory: the hardware would
        // have refused to stack there, and so does the kernel.
        resume = kernel.user_fault(UserFault::Armv7m { cfsr: cfsr::MSTKERR, mmfar: 0, bfar: 0 });
    }
}

/// Zeros the trampoline loads into the FPU's registers when a process that
/// did not use the FPU runs after one that did.
#[no_mangle]
static TP_FP_ZEROS: [AtomicU32; 32] = [const { AtomicU32::new(0) }; 32];

/// Whether the FPU's registers may hold a process's values (one that uses
/// the FPU ran since they were last cleared).
static FP_DIRTY: AtomicBool = AtomicBool::new(true);

/// Writes the exception frame that returns to `context` (the current
/// process's) below its stack pointer, 8-byte aligned as the hardware
/// aligns it (xPSR bit 9 says so), if the process may write there: a basic
/// frame, or for a process that uses the FPU an extended one with its
/// s0-s15 and FPSCR. Returns the frame's address, the process stack to
/// return on, and how the trampoline returns.
fn place_frame(kernel: &Kernel<Armv7m>, context: &UserContext) -> Option<(u32, u32)> {
    let object = process_object_of(context);
    // SAFETY: the object's words (see `load_table`).
    let extended = unsafe { object_words(object).add(FP_ACTIVE_WORD).read_volatile() } != 0;
    let bytes = 4 * (8 + if extended { FP_FRAME_WORDS as u32 } else { 0 });
    let top = context.sp & !3;
    let pad = top % 8;
    let frame = top.checked_sub(bytes + pad)?;
    // Where the hardware last stacked this process's frame, of this size
    // (and nothing unmapped since: `unmap_page` forgets it), the process
    // may write; else ask the kernel.
    // SAFETY: the object's word (see `stacked_frame`).
    let stacked = unsafe { stacked_frame(object).read_volatile() };
    if stacked == 0 || frame | u32::from(extended) != stacked {
        // Writable for the process, and ordinary memory: a device's
        // registers could refuse the kernel's write with a bus fault, which
        // in the kernel halts the machine.
        let table = load_table(object);
        let normal = |address: u32| table.lookup(address).is_some_and(|(_, memory)| memory == MemoryType::Normal);
        if !kernel.current_may_write(frame, bytes) || !normal(frame) || !normal(frame + bytes - 1) {
            return None;
        }
    }
    let words = [
        context.r[0],
        context.r[1],
        context.r[2],
        context.r[3],
        context.r[12],
        context.lr,
        context.pc & !1,
        // Thumb always; the exception number (Thread mode: 0) and the
        // alignment bit are the kernel's to set.
        (context.cpsr & !0x3FF) | (1 << 24) | if pad != 0 { 1 << 9 } else { 0 },
    ];
    // SAFETY: the bytes at `frame` are the current process's own writable
    // memory (checked just above); word aligned. The FP part comes from
    // the object's words.
    unsafe {
        (frame as *mut [u32; 8]).write(words);
        if extended {
            let to = (frame as *mut u32).add(8);
            core::ptr::copy_nonoverlapping(object_words(object).add(FP_LOW_WORD).cast_const(), to, 17);
            to.add(17).write(0);
        }
    }
    let how = if extended {
        FP_DIRTY.store(true, Ordering::Relaxed);
        RETURN_FP
    } else if FP_DIRTY.load(Ordering::Relaxed) {
        // (A load and a store: the kernel's exceptions never overlap, and
        // a swap would be an exclusive-access loop on every return.)
        FP_DIRTY.store(false, Ordering::Relaxed);
        RETURN_BASIC_CLEARED
    } else {
        RETURN_BASIC
    };
    Some((frame, how))
}

// --- start -----------------------------------------------------------------------

/// The system build's way in, from the reset handler (privileged Thread
/// mode on the main stack, nothing enabled yet): [`start`], or, with no
/// `init` to run, the reason and a halt.
#[cfg(not(feature = "checks"))]
pub fn boot() -> ! {
    if !ready() {
        let _ = writeln!(
            Uart,
            "kernel: nothing to run: {} has no program slots or the kernel was built without a boot image holding init",
            board::NAME
        );
        crate::exit(1)
    }
    start()
}

/// Leaves the exception the mechanism checks ended in for privileged
/// Thread mode on a fresh main stack, running [`start`]. Called from
/// Handler mode (preempt.rs's last SVC).
#[cfg(feature = "checks")]
pub fn restart() -> ! {
    write(SYST_CSR, 0);
    write(ICSR, ICSR_PENDSVCLR | ICSR_PENDSTCLR);
    // SAFETY: from Handler mode: Thread mode becomes privileged with no FP
    // context (CONTROL 0), lazy FP state left by the checks' programs is
    // dropped (FPCCR.LSPACT), and a fresh frame at the top of the main
    // stack returns into `start` (xPSR: Thumb). Nothing on the main stack
    // below it is needed again.
    unsafe {
        core::arch::asm!(
            "msr control, r0",
            "isb",
            "ldr r2, [r1]",
            "bic r2, r2, #1",
            "str r2, [r1]",
            "ldr r2, =__stack_top",
            "sub r2, r2, #32",
            "msr msp, r2",
            "str r0, [r2, #0]",
            "str r0, [r2, #4]",
            "str r0, [r2, #8]",
            "str r0, [r2, #12]",
            "str r0, [r2, #16]",
            "str r0, [r2, #20]",
            "str r3, [r2, #24]",
            "str r12, [r2, #28]",
            "ldr lr, =0xfffffff9",
            "bx lr",
            ".ltorg",
            in("r0") 0u32,
            in("r1") FPCCR,
            in("r2") 0u32,
            in("r3") start as *const () as u32 & !1,
            in("r12") 1u32 << 24,
            options(noreturn)
        )
    }
}

/// Whether `init` runs the benchmarks (feature `bench`, bench.rs).
#[cfg(feature = "checks")]
static BENCH_MODE: AtomicBool = AtomicBool::new(false);

/// [`restart`] with `init` running the benchmarks.
#[cfg(feature = "bench")]
pub fn restart_bench() -> ! {
    BENCH_MODE.store(true, Ordering::Relaxed);
    restart()
}

/// Starts the portable kernel: its vector table, priorities, the MPU and
/// the clock, then `init` and the programs beside it, and enters the
/// first.
extern "C" fn start() -> ! {
    // SAFETY: masks interrupts until the first process is entered.
    unsafe { core::arch::asm!("cpsid i", options(nomem, nostack, preserves_flags)) };
    #[cfg(feature = "checks")]
    let bench = BENCH_MODE.load(Ordering::Relaxed);
    #[cfg(not(feature = "checks"))]
    let bench = false;
    if bench {
        // SysTick runs free (no interrupt) until the first entry, which
        // `mps2_boot_to_first_app_instructions` counts to.
        write(SYST_RVR, 0x00FF_FFFF);
        write(SYST_CVR, 0);
        write(SYST_CSR, 0b101);
    }
    extern "C" {
        static tessera_vectors_portable: u32;
    }
    write(VTOR, core::ptr::addr_of!(tessera_vectors_portable) as u32);
    // MemManage, bus and usage faults, SVC and PendSV at the kernel's
    // priority; SysTick above them.
    write(SHPR1, KERNEL_PRIORITY * 0x0001_0101);
    write(SHPR2, KERNEL_PRIORITY << 24);
    write(SHPR3, (TICK_PRIORITY << 24) | (KERNEL_PRIORITY << 16));
    write(SHCSR, read(SHCSR) | (0b111 << 16));
    // The FPU for everyone (CP10 and CP11 full access), its state stacked
    // at once on an exception (FPCCR: ASPEN without LSPEN), so an extended
    // frame always holds s0-s15 and FPSCR and no lazy save is left pending
    // across a switch.
    write(CPACR, read(CPACR) | (0xF << 20));
    write(FPCCR, 1 << 31);
    // The MPU on, every region off, the kernel on the default map.
    write(MPU_CTRL, 0b101);
    Armv7m.switch_to_empty();
    let _ = writeln!(
        Uart,
        "kernel: the portable kernel on {}: programs linked at their slots from {:#010x}",
        board::NAME,
        board::PROGRAMS_BASE
    );

    let boot_image = BootImage::parse(&BOOT_IMAGE.0).ok();
    let objects = |index: usize| PROCESS_OBJECTS[index].0.as_ptr() as u32;
    let programs_end = board::PROGRAMS_BASE + board::PROGRAM_SLOTS * board::PROGRAM_SLOT_BYTES;
    // The app slots follow (the description checks they are above the
    // program slots); `init`'s general untyped memory is what lies above both.
    let apps_end = board::APPS_BASE + board::APP_SLOTS * board::APP_SLOT_BYTES;
    let untyped_base = programs_end.max(apps_end);
    // The slots of the programs the kernel starts are the pool's (it
    // places their pages there); the rest are `init`'s, as untyped memory
    // one slot each, for the programs it loads itself.
    let kernel_slots_end = board::PROGRAMS_BASE + KERNEL_SLOTS * board::PROGRAM_SLOT_BYTES;
    let ram_end = board::RAM_BASE + board::RAM_BYTES;
    let mut kernel = KERNEL.enter();
    kernel.init(Boot {
        ram: (board::RAM_BASE, board::RAM_BYTES),
        pool: (board::PROGRAMS_BASE - board::KERNEL_POOL_BYTES, kernel_slots_end),
        root_object: objects(0),
        boot_image,
        // Identity-mapped: where the code memory holds it.
        boot_image_address: BOOT_IMAGE.0.as_ptr() as u32,
        preempt_test: false,
    });
    #[cfg(feature = "checks")]
    let (echo_endpoint, mut root_arguments, mut length) = start_checks(&mut kernel);
    #[cfg(not(feature = "checks"))]
    let (mut root_arguments, mut length) = ([0u8; 32], 0);
    // `bench` (the benchmarks instead of the checks) or `scenario` (a bound
    // on the apps' supervision) where the build says so.
    let mode: &[u8] = if bench {
        b" bench"
    } else if cfg!(feature = "scenario") {
        b" scenario"
    } else {
        b""
    };
    let mode = if length == 0 { mode.trim_ascii_start() } else { mode };
    root_arguments[length..length + mode.len()].copy_from_slice(mode);
    length += mode.len();
    let root = kernel
        .spawn_root(&root_arguments[..length])
        .unwrap_or_else(|error| panic!("cannot start init: {}", error.name()));
    // The board description's devices for programs (a timer on
    // `mps2-an386`), and their lines.
    // And the boot image, read-only, to load programs from.
    let grants = RootGrants {
        untyped: (untyped_base, ram_end - untyped_base),
        device_regions: &board::USER_DEVICES,
        interrupts: &board::USER_INTERRUPTS,
        // The whole section, which link.x aligns and pads to the frame.
        boot_image: boot_image_frame(),
    };
    // The program slots the kernel does not use, those of a second RAM
    // (the MT3620's SYSRAM: `init` carves their programs' process objects
    // from its own memory, as the kernel refuses them there), then the app
    // slots, one untyped block each, for the programs and apps `init`
    // loads from the boot image. Empty on a board without slots (where
    // nothing here runs: `ready` is false).
    let rights = ObjectType::Untyped.meaningful_rights();
    #[allow(clippy::reversed_empty_ranges)]
    let slots = (KERNEL_SLOTS..board::PROGRAM_SLOTS)
        .map(|slot| (board::PROGRAMS_BASE + slot * board::PROGRAM_SLOT_BYTES, board::PROGRAM_SLOT_BYTES))
        .chain(
            (0..board::SECOND_RAM_SLOTS).map(|slot| {
                (board::SECOND_RAM_SLOTS_BASE + slot * board::PROGRAM_SLOT_BYTES, board::PROGRAM_SLOT_BYTES)
            }),
        )
        .chain(
            (0..board::APP_SLOTS).map(|slot| (board::APPS_BASE + slot * board::APP_SLOT_BYTES, board::APP_SLOT_BYTES)),
        )
        .map(|(base, bytes)| kernel_core::capability::Capability::new(ObjectType::Untyped, rights, base, bytes));
    #[cfg(feature = "checks")]
    let endpoint_given =
        kernel.give(root, Capability::new(ObjectType::Endpoint, ROOT_ENDPOINT_RIGHTS, echo_endpoint, 64)).is_ok();
    #[cfg(not(feature = "checks"))]
    let endpoint_given = true;
    if kernel.give_root_capabilities((root & 0xFFFF) as usize, &grants).is_err()
        || !endpoint_given
        || slots.map(|slot| kernel.give(root, slot)).any(|given| given.is_err())
    {
        panic!("cannot give init its capabilities");
    }
    // The first process's frame, then the clock, then PendSV enters it.
    let resume = kernel.prepare_return();
    // SAFETY: as in `tp_kernel`: the context of the process to run.
    let first = unsafe { resume.cast::<u8>().sub(PC_OFFSET) } as u32;
    TP_CONTEXT.store(first, Ordering::Relaxed);
    #[cfg(feature = "bench")]
    if bench {
        let boot = crate::bench::boot_checks_instructions() + crate::bench::instructions_since_start(read(SYST_CVR));
        let _ = writeln!(Uart, "BENCH mps2_boot_to_first_app_instructions {boot}");
    }
    write(SYST_RVR, TICK_PERIOD - 1);
    write(SYST_CVR, 0);
    write(SYST_CSR, 0b111);
    // SAFETY: the first process's context, in the process table; it has
    // not run.
    let (frame, _) = place_frame(&kernel, unsafe { &*(first as *const UserContext) })
        .unwrap_or_else(|| panic!("the first process's stack is not its own"));
    drop(kernel);
    // SAFETY: the process stack is the frame just written; PendSV (its
    // first time, from privileged Thread mode) drops to it, and interrupts
    // come on for good.
    unsafe {
        core::arch::asm!("msr psp, {}", in(reg) frame, options(nomem, nostack, preserves_flags));
    }
    pend_kernel();
    // SAFETY: unmasks interrupts: PendSV is taken now and never returns
    // here.
    unsafe { core::arch::asm!("cpsie i", "isb", options(nomem, nostack, preserves_flags)) };
    loop {
        core::hint::spin_loop();
    }
}

/// The programs the kernel starts beside `init` in the build with the
/// checks: the probes first (they run first, at a higher priority, and
/// must each end in a fault), `fp-reader`, then the server `init` calls.
/// Returns `echo`'s endpoint and `init`'s first boot argument, the kernel
/// word's address (it aims a child's stack there), and its length.
#[cfg(feature = "checks")]
fn start_checks(kernel: &mut Kernel<Armv7m>) -> (u32, [u8; 32], usize) {
    let objects = |index: usize| PROCESS_OBJECTS[index].0.as_ptr() as u32;
    let word = core::ptr::addr_of!(KERNEL_WORD) as u32;
    let echo_code = board::PROGRAMS_BASE + board::PROGRAM_SLOT_BYTES;
    let mut arguments = [[0u8; 16]; 3];
    let probes = [("peeker", echo_code), ("kernel-reader", word), ("uart-writer", board::UART)];
    for (index, (name, address)) in probes.into_iter().enumerate() {
        let text = hex(address, &mut arguments[index]);
        if let Err(error) = kernel.spawn_program(name, objects(2 + index), PROBE_PRIORITY, text) {
            panic!("cannot start {name}: {}", error.name());
        }
    }
    // Runs when everything else waits: it reads the FPU's registers, which
    // must not hold what another process left there.
    if let Err(error) = kernel.spawn_program("fp-reader", objects(5), 1, b"") {
        panic!("cannot start fp-reader: {}", error.name());
    }
    let echo = kernel.spawn_program("echo", objects(1), ECHO_PRIORITY, b"").unwrap_or_else(|error| {
        panic!("cannot start echo: {}", error.name());
    });
    let endpoint = kernel.kernel_endpoint().unwrap_or_else(|_| panic!("no memory for echo's endpoint"));
    if kernel.give(echo, Capability::new(ObjectType::Endpoint, Rights::RECEIVE, endpoint, 64)).is_err() {
        panic!("cannot give echo its endpoint");
    }
    let mut root_arguments = [0u8; 32];
    let length = hex(word, &mut root_arguments).len();
    (endpoint, root_arguments, length)
}

/// `0x` and `value` in hex, written into `buffer`.
#[cfg(feature = "checks")]
fn hex(value: u32, buffer: &mut [u8]) -> &[u8] {
    buffer[..2].copy_from_slice(b"0x");
    for (index, byte) in buffer[2..10].iter_mut().enumerate() {
        let nibble = (value >> (28 - 4 * index)) & 0xF;
        *byte = b"0123456789abcdef"[nibble as usize];
    }
    &buffer[..10]
}
