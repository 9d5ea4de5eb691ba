//! The kernel proper: the process table, scheduling, syscalls and faults,
//! over any [`Platform`] (docs/kernel-platform.md).
//!
//! Every entry from user mode (syscall, interrupt, fault) runs one handler
//! here to completion with IRQs masked, then [`Kernel::prepare_return`]
//! picks the thread to resume. Blocked threads hold no kernel stack: a
//! blocking call leaves its result in the thread's saved registers when it
//! is woken.
//!
//! This is the one part of `kernel-core` that uses `unsafe`: process
//! entries, CSpaces and IPC objects live in RAM the kernel reaches by
//! physical address ([`Ram`]), inside objects carved from untyped memory.

mod capabilities;
mod context;
pub mod fast_path;
mod inspect;
mod ipc;
pub mod platform;
mod table;

pub use capabilities::RootGrants;
pub use context::{process_object_of, resume_pointer, UserContext};
pub use inspect::{ProcessInfo, Status, Violation};
pub use platform::{FrameSource, Platform, Ram, UserFault, UserLayout};

use crate::asid::Asids;
use crate::capability::Slot;
use crate::console::Budget;
use crate::elf;
use crate::fault::{classify_armv7m, classify_data_abort, classify_prefetch_abort};
use crate::frames::{FrameAllocator, FRAME_SIZE};
use crate::pagetable::MemoryType;
use crate::sched::{preempts, Queues};
use crate::syscall::{decode, Call};
use crate::time::Clock;
use crate::user_memory::{Region, RegionMap};
use crate::Access;
use tessera_abi::bootimage::BootImage;
use tessera_abi::capability::CSPACE_SLOTS;
use tessera_abi::layout::{BOOTARGS_AREA, PAGE_SIZE, STACK_SIZE, STACK_TOP, USER_IMAGE_BASE};
use tessera_abi::{
    Error, ExitKind, ExitRecord, FaultKind, Handle, ObjectType, Rights, Syscall, ANY_PROCESS, EXIT_RECORD_BYTES,
    NAME_MAX, ROOT_PRIORITY,
};

/// Prints a kernel line through the platform: `klog!(kernel, "text")`, or
/// `klog!(kernel, |line| ...)` to build it (`crate::text::Line`).
macro_rules! klog {
    ($kernel:expr, $text:literal) => {
        $kernel.platform.log(crate::text::Line::new().str($text))
    };
    ($kernel:expr, |$line:ident| $build:expr) => {{
        let mut $line = crate::text::Line::new();
        $build;
        $kernel.platform.log(&$line)
    }};
}
use klog;

/// Frames the allocator can manage: 2048 words of 32 bits = 256 MiB (an
/// 8 KiB bitmap), or, on Armv7-M, where the pool is only the kernel's own
/// frames and the slots of the programs it starts (docs/mt3620.md), 32
/// words = 4 MiB (128 bytes: the MT3620's M4 has 192 KiB of TCM). The
/// target test is `tessera_abi::PROCESS_OBJECT_BYTES`'s.
#[cfg(not(all(target_arch = "arm", target_os = "none", target_abi = "eabihf")))]
const FRAME_WORDS: usize = 2048;
#[cfg(all(target_arch = "arm", target_os = "none", target_abi = "eabihf"))]
const FRAME_WORDS: usize = 32;
/// The most frames a pool (`Boot::pool`) may have: the allocator leaves
/// any past these unmanaged, so a platform checks its pool against it.
pub const POOL_FRAMES_MAX: u32 = (FRAME_WORDS * 32) as u32;
/// The bytes of `record` as they lie in memory, which are
/// `ExitRecord::to_bytes`'s (`repr(C)`, all `u32`s, little-endian; a host
/// test compares them): a view, not the 240 bytes of code a copy word by
/// word took in a kernel measured by the page.
fn exit_record_bytes(record: &tessera_abi::ExitRecord) -> &[u8] {
    const _: () = assert!(cfg!(target_endian = "little"), "the exit record's bytes are its little-endian form");
    // SAFETY: `ExitRecord` is `repr(C)` with only `u32` fields, so it has no
    // padding and every byte of it is initialised; the slice borrows it.
    unsafe {
        core::slice::from_raw_parts(
            (record as *const tessera_abi::ExitRecord).cast::<u8>(),
            core::mem::size_of::<tessera_abi::ExitRecord>(),
        )
    }
}

/// Length of a time slice.
const TIME_SLICE_MICROS: u32 = 10_000;

/// `repr(u32)`: a `u32` tag, then each variant's fields laid out as a
/// `repr(C)` struct after it, so an architecture's hand-written fast path
/// can read and write the states it handles (`fast_path::Layout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
enum State {
    /// 0: the A7's fast paths store it from a register that holds 0.
    Running = 0,
    Ready = 1,
    Sleeping {
        until: u64,
    },
    Waiting {
        target: u32,
        until: u64,
    },
    /// Blocked in IPC (what for: `Process::ipc`).
    Ipc {
        until: u64,
    },
    Zombie {
        kind: ExitKind,
        value: u32,
    },
    /// Being ended by `end_process` (its capabilities are being destroyed,
    /// which may destroy the last capability to it).
    Ending,
    /// Made by `Retype`, not started yet.
    Inactive,
}

impl State {
    /// When a blocked thread's wait ends by itself, if it does.
    fn deadline(&self) -> Option<u64> {
        match *self {
            State::Sleeping { until } | State::Waiting { until, .. } | State::Ipc { until } if until != u64::MAX => {
                Some(until)
            }
            _ => None,
        }
    }
}

/// `repr(C)`: the saved registers first (every entry touches them). The
/// CSpace lives in the process object (`memory`).
#[repr(C)]
struct Process {
    context: UserContext,
    /// What an architecture's own switch loads into its translation base
    /// register for it (`Platform::table_word` of `memory`, kept so that
    /// the switch need not compute it). Right after the context's last
    /// word, the thread register: the A7's switch loads both, and the two
    /// fields after this one, with one `ldmib` (svc.s, `SWITCH`; checked
    /// in fast_path.rs).
    table_word: u32,
    /// Its own index in the process table (set by `ProcessTable::insert`):
    /// the A7's fast paths reach a process by its link and need its index
    /// for `Kernel::current`. Right after the table word, and its object's
    /// address right after it: the A7's switch loads the thread register,
    /// the table word, the index and the object with one `ldmib` and stores
    /// the last two as `Kernel::current`'s index and `Kernel::loaded` with
    /// one `strd` (svc.s, `SWITCH`; checked in fast_path.rs).
    index: u32,
    /// The address of its process object (`PROCESS_OBJECT_BYTES`: on the A7 its first-level table, six
    /// 1 KiB second-level tables, CSpace, and this entry): carved by
    /// `Retype`, or the root object for init.
    memory: u32,
    /// The caller waiting for this process's reply: its link (its entry's
    /// address, `ProcessTable::link`), or `ipc::NO_CALLER`, or
    /// `ipc::CALLER_GONE` (both above every link). Right before `bound`,
    /// below an offset of 256: the A7's `ReplyReceive` reads both with one
    /// `ldrd` (checked in fast_path.rs).
    reply_to: u32,
    /// The notification bound to its receives (`NotificationBind`): the
    /// object's address, 0: none.
    bound: u32,
    /// Next process in the IPC queue it waits in (its link,
    /// `ProcessTable::link`; 0: none). (Here, where a word keeps `state`
    /// at a boundary of 8 bytes.)
    ipc_next: u32,
    state: State,
    /// What it waits for when blocked in IPC. Right after `state`: the
    /// A7's fast paths write a blocked process's state, deadline, reason
    /// and its argument with one `stm` (svc.s, `BLOCK_FOREVER_FOR`).
    ipc: ipc::Ipc,
    name: [u8; NAME_MAX],
    /// Its ASID: its own, or 0 while it has none (it has not run since it
    /// started or since the ASIDs were last taken back, `crate::asid`).
    /// At an even offset below 256 with `slice_spent` the byte after it:
    /// the A7's `ReplyReceive` reads both with one `ldrh`, whose offset is
    /// a byte (checked in fast_path.rs).
    asid: u8,
    /// Its time slice ran out while a server worked for it (and others of
    /// its priority were ready): answered, it goes to the back of its run
    /// queue instead of going on at once, as if it had been running. Set
    /// at the slice's end, read by the fast paths (which leave such an
    /// answer to the general path), cleared when it is made ready.
    slice_spent: bool,
    /// Bytes of `name` in use (at most `NAME_MAX`, which fits in a byte).
    name_len: u8,
    /// Priority + 1 of the run queue holding it (0: none).
    run_level: u8,
    priority: u32,
    /// It has an address space (from `Retype` until it ends).
    mapped: bool,
    /// The kernel made it (`spawn_program`): its second-level tables come
    /// from the kernel's pool, not from its object.
    kernel_made: bool,
    /// Which of the object's second-level tables are in use (bit per table).
    tables_used: u16,
    regions: RegionMap,
    /// Index of the process that made it, while that one lives.
    /// (`NO_PARENT`: none; a word, not an `Option`, for the entry's room.)
    parent: u32,
    /// Next process in its run queue (index + 1, 0: none).
    run_next: u32,
    /// Neighbours in the list of live processes (index + 1, 0: none).
    live_next: u32,
    live_previous: u32,
    /// Its own priority (`priority` may be raised while serving a call).
    base_priority: u32,
    /// Capabilities naming a process made by `Retype`; it ends at 0.
    references: u32,
    /// The faulting address of the fault that ended it (0: none).
    fault_address: u32,
    /// How the child it last collected with `Wait` ended (`ExitRecord`).
    last_exit: Option<ExitRecord>,
    /// How much more it may print (`DebugWrite`).
    output: Budget,
}

const _: () = assert!(NAME_MAX <= u8::MAX as usize);

/// What a syscall answers its caller. `Kernel::handle_syscall` writes it to
/// the caller's registers: the one place the general path does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Success: r0 = 0, the other registers as the call left them (a
    /// delivered message or a collected child is already in place; a call
    /// that blocked gets the rest from whoever wakes it).
    Done,
    /// Success with results: r0 = 0, r1..r3 = these.
    Values([u32; 3]),
    /// The call ended its own caller: there is nobody to answer.
    CallerEnded,
    /// The call stopped at a preemption point and runs again from the
    /// start (its `pc` was moved back): its registers stay as they are.
    Restart,
}

/// Size of a process object (the ABI's): on Armv7-A its first-level
/// translation table, six 1 KiB second-level tables, its CSpace and the
/// entry; on Armv7-M (8 KiB) the platform's 512 bytes (MPU state, saved
/// registers), the CSpace and the entry.
pub const PROCESS_OBJECT_BYTES: u32 = tessera_abi::PROCESS_OBJECT_BYTES;
/// Second-level tables in a process object, after its first-level table.
#[cfg(not(all(target_arch = "arm", target_os = "none", target_abi = "eabihf")))]
pub const OBJECT_TABLES: u32 = 6;
/// Where the CSpace starts in a process object.
#[cfg(not(all(target_arch = "arm", target_os = "none", target_abi = "eabihf")))]
pub(crate) const CSPACE_OFFSET: u32 = TABLES_OFFSET + OBJECT_TABLES * 1024;
/// Armv7-M keeps no translation tables in a process object.
#[cfg(all(target_arch = "arm", target_os = "none", target_abi = "eabihf"))]
pub const OBJECT_TABLES: u32 = 0;
/// Where the CSpace starts in a process object: after the platform's
/// 512 bytes.
#[cfg(all(target_arch = "arm", target_os = "none", target_abi = "eabihf"))]
pub(crate) const CSPACE_OFFSET: u32 = 512;
/// Where the second-level tables start in a process object (after the
/// 4 KiB first-level table; none on Armv7-M).
pub(crate) const TABLES_OFFSET: u32 = 4096;
const _: () = assert!(OBJECT_TABLES == 0 || TABLES_OFFSET + OBJECT_TABLES * 1024 <= CSPACE_OFFSET);
/// The bytes at the start of a process object that are the platform's
/// (translation tables, MPU state, saved registers): the CSpace follows.
pub const OBJECT_PLATFORM_BYTES: u32 = CSPACE_OFFSET;
const _: () =
    assert!(CSPACE_OFFSET as usize + CSPACE_SLOTS * core::mem::size_of::<Slot>() <= table::ENTRY_OFFSET as usize);

/// `Process::parent` of a process whose maker has ended (or that has none).
const NO_PARENT: u32 = u32::MAX;

impl Process {
    /// The index of the process that made it, while that one lives.
    fn parent(&self) -> Option<usize> {
        (self.parent != NO_PARENT).then_some(self.parent as usize)
    }

    /// A new process entry for the object at `memory`, not started yet.
    #[inline(never)]
    fn new(memory: u32, table_word: u32, name: &str, parent: Option<usize>) -> Process {
        let mut process = Process {
            context: UserContext::ZERO,
            state: State::Inactive,
            name: [0; NAME_MAX],
            name_len: 0,
            priority: 0,
            mapped: true,
            kernel_made: false,
            regions: RegionMap::new(),
            parent: parent.map_or(NO_PARENT, |parent| parent as u32),
            ipc: ipc::Ipc::None,
            reply_to: ipc::NO_CALLER,
            ipc_next: 0,
            index: 0,
            bound: 0,
            run_next: 0,
            run_level: 0,
            asid: 0,
            live_next: 0,
            live_previous: 0,
            base_priority: 0,
            memory,
            table_word,
            tables_used: 0,
            references: 0,
            fault_address: 0,
            last_exit: None,
            output: Budget::new(),
            slice_spent: false,
        };
        let len = name.len().min(NAME_MAX);
        process.name[..len].copy_from_slice(&name.as_bytes()[..len]);
        process.name_len = len as u8;
        process
    }

    /// Printable ASCII (`crate::console::valid_label`, checked by
    /// `ProcessName`; the kernel's own names are too).
    fn name(&self) -> &[u8] {
        // `name_len` never exceeds the buffer; the `min` spares each caller
        // a bounds check and its panic site.
        &self.name[..usize::from(self.name_len).min(self.name.len())]
    }
}

/// What a process costs the kernel in memory: its process object
/// (`PROCESS_OBJECT_BYTES`: translation tables on the A7, CSpace and this
/// entry), paid for from untyped memory by its creator; the entry's share
/// of it.
pub const PROCESS_ENTRY_BYTES: usize = core::mem::size_of::<Process>();

/// Maps `frame` at `page`, or gives the frame back if the mapping needs a
/// table that cannot be allocated (the table would not free it).
fn map_or_release<P: Platform>(
    platform: &P,
    space: P::AddressSpace,
    page: u32,
    frame: u32,
    access: Access,
    frames: &mut Frames<'_, P>,
) -> Result<(), Error> {
    if platform.map_page(space, page, frame, access, MemoryType::Normal, frames).is_some() {
        Ok(())
    } else {
        frames.release(frame);
        Err(Error::OutOfMemory)
    }
}

/// The frame allocator, handing out zeroed frames for tables and pages.
struct Frames<'a, P> {
    allocator: &'a mut FrameAllocator<FRAME_WORDS>,
    platform: &'a P,
}

impl<P: Platform> Frames<'_, P> {
    /// Takes the pool's frame at `frame` itself (an identity-mapped page),
    /// zeroed if `zero`; `None` if it is not the pool's or is in use.
    fn allocate_zeroed_at(&mut self, frame: u32, zero: bool) -> Option<u32> {
        let frame = self.allocator.allocate_at(frame)?;
        if zero {
            // SAFETY: the pool just handed this frame out (RAM, 4 KiB
            // aligned), so nothing else uses it.
            unsafe { self.platform.zero(frame, FRAME_SIZE) };
        }
        Some(frame)
    }
}

impl<P: Platform> FrameSource for Frames<'_, P> {
    fn allocate_zeroed(&mut self) -> Option<u32> {
        let frame = self.allocator.allocate()?;
        // SAFETY: the pool just handed this frame out (RAM, 4 KiB aligned),
        // so nothing else uses it.
        unsafe { self.platform.zero(frame, FRAME_SIZE) };
        Some(frame)
    }

    fn release(&mut self, frame: u32) {
        // Pages mapped through capabilities (untyped or device memory) are
        // not the pool's: the allocator refuses them, which is right. A
        // frame mapped through a capability that was moved to another
        // process is still in the mover's tables when it ends.
        self.allocator.release(frame);
    }
}

/// What the kernel starts with (`Kernel::init`).
pub struct Boot {
    /// All RAM: (physical address, bytes); aligned to `PROCESS_OBJECT_BYTES`.
    pub ram: (u32, u32),
    /// The kernel's own pool, free RAM `[start, end)`, page aligned: the
    /// process table's generations, then frames for the root task.
    pub pool: (u32, u32),
    /// The root task's process object: `PROCESS_OBJECT_BYTES` of zeroed RAM, aligned to its size,
    /// outside the pool and the untyped memory given to the root task.
    pub root_object: u32,
    /// The programs the root task may start; `init` among them.
    pub boot_image: Option<BootImage<'static>>,
    /// Where the boot image's first byte lies in physical memory. Where
    /// user addresses are physical (`UserLayout::Identity`, the M4), a
    /// read-only page of a program linked to run where its bytes lie in
    /// the boot image is mapped there, not copied into RAM
    /// (docs/mt3620.md, "Code in place").
    pub boot_image_address: u32,
    /// Long operations stop after every step (the test image's
    /// `kernel.preempt-test`).
    pub preempt_test: bool,
}

/// All kernel state.
/// Laid out by hand (`repr(C)`): the small fields the syscall and switch
/// paths touch come first, within reach of a load's 12-bit offset; the large
/// process table and frame bitmap come last.
#[repr(C)]
pub struct Kernel<P: Platform> {
    current: Option<usize>,
    /// The object (`Process::memory`) of the process whose address space
    /// is loaded (whose table TTBR0 holds on the A7), 0: none. An address,
    /// not an `Option` of an index: right after `current`'s index, so that
    /// the A7's switch writes both with one `strd` (fast_path.rs).
    loaded: u32,
    /// The timer deadline must be recomputed before returning to user mode.
    timer_dirty: bool,
    slice_end: u64,
    slice_ticks: u64,
    /// The deadline the timer is armed with.
    armed_deadline: u64,
    /// No later than the earliest deadline of a sleeping or waiting process
    /// (`u64::MAX`: none). A deadline that goes away early (the wait ended
    /// by a message, a signal, the process's end) is left in it: the timer
    /// then fires once for nothing, and `timer_expired`'s scan, which wakes
    /// the expired, sets it exact again (in the A7's idle wait, the same scan
    /// in assembly when nothing is due: svc.s's `idle_timer`). So adding a deadline is a `min`
    /// and ending one costs nothing, where a scan of every process at each
    /// ended wait (a server's timed `Receive` answered, say) cost more than
    /// the rare interrupt for nothing.
    earliest_wakeup: u64,
    /// The timer's rate and the conversions to and from microseconds.
    clock: Clock,
    queues: Queues,
    /// Hands out ASIDs, and says when to take them all back (`kernel_core::asid`).
    asids: Asids,
    processes: table::ProcessTable,
    /// Interrupts delivered to notifications.
    bindings: [ipc::Binding; ipc::MAX_BINDINGS],
    boot_image: Option<BootImage<'static>>,
    /// `Boot::boot_image_address`.
    boot_image_address: u32,
    /// The root task's code runs in place from the boot image, which
    /// `give_root_capabilities` maps for it through its capability to the
    /// image (`spawn_root`).
    root_code_in_image: bool,
    /// The root task's process object (the kernel makes it, not `Retype`).
    root_object: u32,
    /// Long operations act as if an interrupt were pending after every
    /// step (the test image's `kernel.preempt-test`), so the test suite can
    /// check that restarting them gives the same result.
    preempt_test: bool,
    /// The first such stop was logged.
    preempt_reported: bool,
    /// The machine.
    platform: P,
    /// Syscalls the IPC fast paths served (debug builds only: the host
    /// tests check that a fast path ran).
    #[cfg(debug_assertions)]
    fast_paths: u32,
    frames: FrameAllocator<FRAME_WORDS>,
}

impl<P: Platform> Kernel<P> {
    /// A kernel with nothing in it, over `platform`. All zeros (when `P` is
    /// a zero-sized type), so a static kernel lives in `.bss`; `init` sets
    /// the real values before anything runs.
    pub const fn new(platform: P) -> Kernel<P> {
        Kernel {
            platform,
            root_object: 0,
            preempt_test: false,
            preempt_reported: false,
            #[cfg(debug_assertions)]
            fast_paths: 0,
            processes: table::ProcessTable::empty(),
            queues: Queues::new(),
            asids: Asids::new(),
            bindings: [ipc::Binding::ZERO; ipc::MAX_BINDINGS],
            current: None,
            loaded: 0,
            frames: FrameAllocator::empty(),
            boot_image: None,
            boot_image_address: 0,
            root_code_in_image: false,
            clock: Clock::UNSET,
            slice_ticks: 0,
            slice_end: 0,
            timer_dirty: false,
            earliest_wakeup: 0,
            armed_deadline: 0,
        }
    }

    /// Sets the kernel up as `boot` says: the process table's generations
    /// come first out of the kernel's pool, the rest is the frame pool.
    pub fn init(&mut self, boot: Boot) {
        let (ram_start, ram_bytes) = boot.ram;
        let (start, end) = boot.pool;
        let table_bytes = table::ProcessTable::generation_bytes(ram_bytes).next_multiple_of(FRAME_SIZE);
        assert!(start + table_bytes <= end, "no room for the process table");
        // SAFETY: `[start, end)` is free kernel RAM (`Boot::pool`); its first
        // `table_bytes` go to the table and the rest to the frame pool.
        unsafe { self.processes.init(self.platform.ram(), ram_start, ram_bytes, start) };
        self.frames.reset(start + table_bytes, end);
        self.asids = Asids::new();
        self.boot_image = boot.boot_image;
        self.boot_image_address = boot.boot_image_address;
        self.root_object = boot.root_object;
        self.preempt_test = boot.preempt_test;
        self.clock = Clock::new(self.platform.timer_frequency());
        self.slice_ticks = self.clock.ticks(TIME_SLICE_MICROS);
        self.earliest_wakeup = u64::MAX;
        self.armed_deadline = u64::MAX;
        self.timer_dirty = true;
    }

    /// The machine the kernel runs on.
    pub fn platform(&self) -> &P {
        &self.platform
    }

    /// Free frames, for the boot log.
    pub fn free_frames(&self) -> usize {
        self.frames.free_frames()
    }

    /// The uptime in microseconds, as `Uptime` answers it.
    pub fn uptime_micros(&self) -> u64 {
        self.clock.micros(self.platform.now())
    }

    // --- processes ---------------------------------------------------------

    /// Starts the root task `init` with the boot arguments on its stack
    /// (the only process the kernel makes itself; every other one is made
    /// by `Retype` and filled by a loader in user space).
    ///
    /// Where user addresses are physical and `init` was linked to run its
    /// code where it lies in the boot image, its code segments are not
    /// mapped page by page: `give_root_capabilities` maps the whole image
    /// (readable and executable) through the capability to it that `init`
    /// gets, as its code and its view of the other programs at once (a
    /// page of its own code could not be mapped beside the image: the two
    /// would overlap).
    pub fn spawn_root(&mut self, bootargs: &[u8]) -> Result<u32, Error> {
        let (pid, code_in_image) = self.spawn("init", self.root_object, ROOT_PRIORITY, bootargs, true)?;
        self.root_code_in_image = code_in_image;
        Ok(pid)
    }

    /// Starts program `name` of the boot image as a process the kernel
    /// makes itself, in the zeroed process object at `object`
    /// (outside untyped memory and the pool), at `priority`, with `bootargs`
    /// on its stack: the root task, and the Pluton security server, which
    /// must exist before the root task so that the device secret never
    /// passes through it (docs/pluton.md).
    pub fn spawn_program(&mut self, name: &str, object: u32, priority: u32, bootargs: &[u8]) -> Result<u32, Error> {
        self.spawn(name, object, priority, bootargs, false).map(|(pid, _)| pid)
    }

    /// `spawn_program`; with `image_maps_code`, a read-only segment lying
    /// whole in the boot image where it was linked is left for the boot
    /// image's mapping (`spawn_root`): says whether one was.
    fn spawn(
        &mut self,
        name: &str,
        object: u32,
        priority: u32,
        bootargs: &[u8],
        image_maps_code: bool,
    ) -> Result<(u32, bool), Error> {
        let image = self.boot_image.ok_or(Error::NotFound)?;
        let image_address = self.boot_image_address;
        let program = image.elf(name).ok_or(Error::NotFound)?;
        let layout = self.platform.user_layout();
        let plan = match layout {
            UserLayout::Translated => elf::parse(program),
            UserLayout::Identity { end } => elf::parse_within(program, USER_IMAGE_BASE as u32, end),
        }
        .map_err(|_| Error::BadImage)?;
        // The stack: a fresh one below STACK_TOP, or (identity) the end of
        // the lowest writable segment, where the program's linker script
        // reserved it.
        let stack_top = match layout {
            UserLayout::Translated => STACK_TOP as u32,
            UserLayout::Identity { .. } => {
                plan.segments().find(|segment| segment.access.write).ok_or(Error::BadImage)?.page_end()
            }
        };
        let platform = &self.platform;
        let mut frames = Frames { allocator: &mut self.frames, platform };
        // Its first-level table and CSpace are in its object; its
        // second-level tables come from the kernel's pool.
        let memory = object;
        let space = platform.address_space(memory);
        let mut regions = RegionMap::new();
        let mut top_stack_frame = 0;
        let mut code_in_image = false;
        // Where user addresses are physical: true if the read-only page
        // `page`, whose file bytes are `bytes`, is a whole page lying in the
        // boot image at its own address (a program linked to run in place).
        let lies_in_place = |page: u32, bytes: &core::ops::Range<usize>, write: bool| {
            let whole = bytes.len() == PAGE_SIZE;
            let offset = program[bytes.clone()].as_ptr() as usize - image.as_bytes().as_ptr() as usize;
            matches!(layout, UserLayout::Identity { .. })
                && whole
                && !write
                && image_address != 0
                && (image_address as usize).checked_add(offset) == Some(page as usize)
        };
        let built = (|| -> Result<(), Error> {
            for segment in plan.segments() {
                let region = Region { start: segment.page_start(), end: segment.page_end(), access: segment.access };
                if image_maps_code
                    && (region.start..region.end)
                        .step_by(PAGE_SIZE)
                        .all(|page| lies_in_place(page, &segment.page_contents(page).1, segment.access.write))
                {
                    // The boot image's mapping covers it.
                    code_in_image = true;
                    continue;
                }
                regions.insert_below(region, layout.end()).map_err(|_| Error::BadImage)?;
                for page in (region.start..region.end).step_by(PAGE_SIZE) {
                    let (offset, bytes) = segment.page_contents(page);
                    // A page the file fills whole needs no zeroing first.
                    let whole = bytes.len() == PAGE_SIZE;
                    // A read-only page the file fills whole, lying on a
                    // page of RAM in the boot image (which keeps entries
                    // page-aligned), is mapped where it lies, not copied;
                    // it is not the pool's, so it never goes back to it.
                    let source = &program[bytes.clone()];
                    let in_place = match layout {
                        UserLayout::Translated if whole && !segment.access.write => platform
                            .ram()
                            .address_of(source.as_ptr(), PAGE_SIZE)
                            .filter(|address| address.is_multiple_of(PAGE_SIZE as u32)),
                        // Where user addresses are physical: a program
                        // linked to run its read-only pages where they lie
                        // in the boot image (code in place, the M4).
                        UserLayout::Identity { .. } if lies_in_place(page, &bytes, segment.access.write) => Some(page),
                        _ => None,
                    };
                    if let Some(frame) = in_place {
                        if segment.access.execute {
                            platform.clean_for_execution(frame);
                        }
                        map_or_release(platform, space, page, frame, segment.access, &mut frames)?;
                        continue;
                    }
                    let frame = match layout {
                        UserLayout::Translated if whole => frames.allocator.allocate().ok_or(Error::OutOfMemory)?,
                        UserLayout::Translated => frames.allocate_zeroed().ok_or(Error::OutOfMemory)?,
                        // The page itself: a program linked where the pool
                        // has no free frame cannot be placed.
                        UserLayout::Identity { .. } => {
                            frames.allocate_zeroed_at(page, !whole).ok_or(Error::BadImage)?
                        }
                    };
                    // SAFETY: the pool just handed `frame` out for this
                    // page; `page_contents` keeps offset + length within
                    // it. A frame not zeroed is overwritten whole.
                    unsafe { platform.copy_into(frame + offset as u32, source) };
                    if segment.access.execute {
                        platform.clean_for_execution(frame);
                    }
                    map_or_release(platform, space, page, frame, segment.access, &mut frames)?;
                    if page + PAGE_SIZE as u32 == stack_top {
                        top_stack_frame = frame;
                    }
                }
            }
            if layout == UserLayout::Translated {
                let stack = Region {
                    start: (STACK_TOP - STACK_SIZE) as u32,
                    end: STACK_TOP as u32,
                    access: Access::READ_WRITE,
                };
                regions.insert(stack).map_err(|_| Error::BadImage)?;
                for page in (stack.start..stack.end).step_by(PAGE_SIZE) {
                    let frame = frames.allocate_zeroed().ok_or(Error::OutOfMemory)?;
                    map_or_release(platform, space, page, frame, Access::READ_WRITE, &mut frames)?;
                    top_stack_frame = frame;
                }
            }
            Ok(())
        })();
        if let Err(error) = built {
            // It never ran: ASID 0 (reserved) has none of its TLB entries.
            platform.destroy_address_space(space, 0, &mut frames);
            return Err(error);
        }
        platform.invalidate_instruction_cache();

        let table_word = self.platform.table_word(memory);
        let index = self.processes.insert(memory, Process::new(memory, table_word, name, None))?;
        let process = &mut self.processes[index];
        process.context.pc = plan.entry & !1;
        process.context.cpsr = self.platform.initial_status(plan.entry & 1 != 0);
        let len = bootargs.len().min(BOOTARGS_AREA as usize);
        // SAFETY: the top stack frame came from the pool for this process,
        // which has not run; the arguments (at most BOOTARGS_AREA bytes) go
        // in its last BOOTARGS_AREA bytes.
        unsafe { self.platform.copy_into(top_stack_frame + FRAME_SIZE - BOOTARGS_AREA, &bootargs[..len]) };
        process.context.sp = stack_top - BOOTARGS_AREA;
        process.context.r[0] = process.context.sp;
        process.context.r[1] = len as u32;
        process.priority = priority;
        process.base_priority = priority;
        process.kernel_made = true;
        process.regions = regions;
        let pid = self.processes.pid(index);
        self.make_ready(index);
        Ok((pid, code_in_image))
    }

    fn make_ready(&mut self, index: usize) {
        // A deadline it had stays in `earliest_wakeup` (a bound, see there).
        // (The running thread's slice is always armed, so a thread made
        // ready at its priority gets its turn when that slice ends.)
        self.processes[index].state = State::Ready;
        self.processes[index].slice_spent = false;
        let priority = self.processes[index].priority;
        self.queues.push_back(&mut self.processes, index, priority);
    }

    /// Ends process `index`: frees its memory now, and either tells its
    /// waiting parent, leaves a zombie for the parent to collect, or (no
    /// parent, or no capability names it any more) takes it out of the
    /// table.
    fn end_process(&mut self, index: usize, kind: ExitKind, value: u32) {
        // Destroying its capabilities below may destroy the last one naming
        // it (it can hold a capability to itself): `destroyed` leaves an
        // ending process to finish here.
        self.processes[index].state = State::Ending;
        self.queues.remove(&mut self.processes, index);
        if self.current == Some(index) {
            self.current = None;
        }
        // Out of IPC first (callers waiting on it fail), then capabilities:
        // unmapping what was mapped through them needs the address space.
        self.ipc_process_ending(index);
        self.clear_cspace(index);
        if self.loaded == self.processes[index].memory {
            self.platform.switch_to_empty();
            self.loaded = 0;
        }
        if core::mem::take(&mut self.processes[index].mapped) {
            let space = self.platform.address_space(self.processes[index].memory);
            let mut frames = Frames { allocator: &mut self.frames, platform: &self.platform };
            self.platform.destroy_address_space(space, self.processes[index].asid, &mut frames);
        }
        self.processes[index].regions = RegionMap::new();
        let pid = self.processes.pid(index);
        if self.processes[index].memory == self.root_object {
            klog!(self, "root task ended; processes made from its memory end with it");
        }
        // Orphan the children; collect the ones already ended.
        let mut cursor = self.processes.first_live();
        while let Some(child) = cursor {
            cursor = self.processes.next_live(child);
            if self.processes[child].parent() == Some(index) {
                self.processes[child].parent = NO_PARENT;
                if matches!(self.processes[child].state, State::Zombie { .. }) {
                    self.release_process(child);
                }
            }
        }
        self.processes[index].state = State::Zombie { kind, value };
        let parent = self.processes[index].parent();
        if let Some(parent) = parent {
            if let State::Waiting { target, .. } = self.processes[parent].state {
                if target == ANY_PROCESS || target == pid {
                    self.deliver_exit(parent, index);
                }
            }
        }
        // A zombie waits for its parent only while a capability names it:
        // its entry is in its object, which its untyped memory may hand out
        // again once none does.
        if self.processes.is_live(index) && (parent.is_none() || self.processes[index].references == 0) {
            self.release_process(index);
        }
        self.timer_dirty = true;
    }

    /// Takes an ended process out of the table. `clear_cspace` already
    /// emptied and unlinked every slot; the object goes back with the
    /// untyped memory it came from, once no capability names it.
    fn release_process(&mut self, index: usize) {
        self.processes.remove(index);
    }

    /// Completes `parent`'s `Wait` with the zombie `child` and frees it.
    fn deliver_exit(&mut self, parent: usize, child: usize) {
        let State::Zombie { kind, value } = self.processes[child].state else { return };
        let pid = self.processes.pid(child);
        // The parent's handle for the child, if it still holds one.
        let handle = (1..CSPACE_SLOTS)
            .find(|&slot| {
                self.processes.cspace(parent)[slot]
                    .capability()
                    .is_some_and(|c| c.kind == ObjectType::Process && self.pid_named(c) == Some(pid))
            })
            .map_or(0, |slot| Handle::new(slot, self.processes.cspace(parent)[slot].generation()).0);
        let ended = &self.processes[child];
        let record = ExitRecord {
            pid,
            kind: kind as u32,
            value,
            fault_address: ended.fault_address,
            registers: ended.context.r,
            sp: ended.context.sp,
            lr: ended.context.lr,
            pc: ended.context.pc,
            cpsr: ended.context.cpsr,
        };
        self.processes[parent].last_exit = Some(record);
        let context = &mut self.processes[parent].context;
        context.r[0] = 0;
        context.r[1] = handle;
        context.r[2] = kind as u32;
        context.r[3] = value;
        self.release_process(child);
        if self.processes[parent].state != State::Running {
            self.make_ready(parent);
        }
    }

    // --- syscalls ----------------------------------------------------------

    /// Handles the syscall the current process just made; returns where to
    /// resume.
    pub fn syscall(&mut self) -> *mut u32 {
        if let Some(index) = self.current {
            let number = self.processes[index].context.r[7];
            if let Some(resume) = self.ipc_fastpath(index, number) {
                #[cfg(debug_assertions)]
                {
                    self.fast_paths += 1;
                }
                return resume;
            }
            self.handle_syscall(index, number);
        }
        self.prepare_return()
    }

    /// Makes `index` (already marked Running) the current thread without a
    /// scheduling decision: loads its address space and returns its resume
    /// pointer. It continues the time slice of the thread it replaces.
    fn switch_to_thread(&mut self, index: usize) -> *mut u32 {
        self.current = Some(index);
        if self.loaded != self.processes[index].memory {
            self.load_address_space(index);
        }
        if self.timer_dirty {
            self.program_timer();
        }
        resume_pointer(&mut self.processes[index].context)
    }

    /// Points TTBR0 at process `index`'s table, giving it an ASID first if
    /// it has none. When the 255 ASIDs run out, every one is taken back:
    /// every live process's is cleared (each gets a fresh one when it next
    /// runs) and the whole TLB is flushed, with no address space loaded
    /// (through reserved ASID 0 and the empty table, so that no walk of the
    /// table that was loaded refills the TLB under an ASID about to be
    /// handed out again).
    ///
    /// The CPU state outside the saved registers changes hands here too,
    /// since this runs exactly when the CPU passes to another process: the
    /// incoming process's thread register is loaded (the entry code saved
    /// the outgoing one's) and the exclusive monitor is cleared.
    #[inline]
    fn load_address_space(&mut self, index: usize) {
        self.platform.enter_process(&self.processes[index].context);
        if self.processes[index].mapped {
            let assignment = self.asids.assign(self.processes[index].asid);
            if assignment.first_rollover {
                klog!(
                    self,
                    "all 255 ASIDs are in use; from now on they are taken back and handed out anew when they run out"
                );
            }
            if assignment.take_back {
                self.take_back_asids();
            }
            let process = &mut self.processes[index];
            process.asid = assignment.asid;
            let space = self.platform.address_space(process.memory);
            self.platform.switch_address_space(space, assignment.asid);
        }
        self.loaded = self.processes[index].memory;
    }

    /// Takes every ASID back (`crate::asid`): no live process holds one,
    /// and the TLB holds no entry tagged with one.
    #[inline(never)]
    fn take_back_asids(&mut self) {
        let mut next = self.processes.first_live();
        while let Some(live) = next {
            self.processes[live].asid = 0;
            next = self.processes.next_live(live);
        }
        self.platform.switch_to_empty();
        self.platform.flush_translations();
        self.loaded = 0;
    }

    fn handle_syscall(&mut self, index: usize, number: u32) {
        let registers = &self.processes[index].context.r;
        if number == Syscall::Yield as u32 {
            // No arguments to decode: the common switch goes straight here.
            self.processes[index].context.r[0] = 0;
            self.requeue_current();
            return;
        }
        let arguments =
            [registers[0], registers[1], registers[2], registers[3], registers[4], registers[5], registers[12]];
        let result = decode(number, arguments).and_then(|call| self.invoke(index, call));
        // The one place a syscall's answer reaches its caller's registers.
        let context = match result {
            // The call ended its own caller (`Exit`, or destroying the last
            // capability to itself): there is nobody to answer.
            Ok(Reply::CallerEnded | Reply::Restart) => return,
            Err(_) if !self.processes.is_live(index) => return,
            _ => &mut self.processes[index].context,
        };
        match result {
            Ok(Reply::Done) => context.r[0] = 0,
            Ok(Reply::Values(values)) => {
                context.r[0] = 0;
                context.r[1..4].copy_from_slice(&values);
            }
            Ok(Reply::CallerEnded | Reply::Restart) => {}
            Err(error) => context.r[0] = error as u32,
        }
    }

    /// Performs a decoded call: its checks (which may fail and change
    /// nothing), then its effect; says what to answer the caller, which
    /// `handle_syscall` writes. A call that blocks answers `Done` now (r0 =
    /// 0) and whoever wakes it writes the rest.
    fn invoke(&mut self, index: usize, call: Call) -> Result<Reply, Error> {
        Ok(match call {
            Call::Null => Reply::Done,
            Call::DebugWrite { address, len } => {
                let range = self.processes[index].regions.check(address, len, Access::READ)?;
                if !range.is_empty() {
                    let now = self.uptime_micros();
                    let pid = self.processes.pid(index);
                    let process = &mut self.processes[index];
                    // The budget pays for what reaches the console: labels and
                    // escapes included, at most `Budget::CALL_MAX` a write.
                    // The report of what was dropped is paid for first: its
                    // line is at most 127 bytes and the name (the open line's
                    // end, `kernel: `, the longest pid and count, the newline).
                    const _: () = assert!(127 + tessera_abi::NAME_MAX <= Budget::REPORT_BYTES as usize);
                    if let Some(dropped) = process.output.report(now) {
                        klog!(self, |line| line
                            .str("process ")
                            .process(process.name(), pid)
                            .str(": ")
                            .dec(dropped)
                            .str(" bytes of its output dropped: over its budget of ")
                            .dec(u32::from(Budget::BURST))
                            .str(" bytes at once, ")
                            .dec(Budget::BYTES_PER_SECOND)
                            .str(" a second"));
                    }
                    let available = process.output.available(now);
                    let space = self.platform.address_space(process.memory);
                    let platform = &self.platform;
                    // SAFETY: `check` proved every byte is mapped readable
                    // in the caller, whose address space is loaded.
                    let (written, len) = unsafe {
                        platform.read_user(space, range.address(), range.len(), |bytes| {
                            (platform.write_process(pid, process.name(), bytes, available), bytes.len())
                        })
                    };
                    process.output.charge(written.output as u32, (len - written.text) as u32);
                }
                Reply::Done
            }
            Call::Yield => {
                self.requeue_current();
                Reply::Done
            }
            Call::Sleep { micros } => {
                if micros == 0 {
                    self.requeue_current();
                } else {
                    let until = self.platform.now().saturating_add(self.clock.ticks(micros));
                    self.block_current(State::Sleeping { until });
                }
                Reply::Done
            }
            Call::Exit { code } => {
                self.end_process(index, ExitKind::Exited, code);
                Reply::CallerEnded
            }
            Call::Wait { process, timeout_micros } => {
                let target = if process == ANY_PROCESS {
                    ANY_PROCESS
                } else {
                    let capability = self.capability_at(self.lookup(index, Handle(process))?);
                    if capability.kind != ObjectType::Process {
                        return Err(Error::WrongType);
                    }
                    if !capability.rights.contains(Rights::READ) {
                        return Err(Error::MissingRight);
                    }
                    self.pid_named(&capability).ok_or(Error::NotFound)?
                };
                // A child that ended already is delivered now (its results
                // are in place); otherwise the caller blocks.
                self.wait(index, target, timeout_micros)?;
                Reply::Done
            }
            Call::Shutdown { power, status } => {
                if self.capability_at(self.lookup(index, power)?).kind != ObjectType::PowerControl {
                    return Err(Error::WrongType);
                }
                klog!(self, |line| line
                    .str("shutdown requested by '")
                    .bytes(self.processes[index].name())
                    .str("', status ")
                    .dec(status));
                // On hardware this does not return.
                self.platform.power_off(status);
                Reply::Done
            }
            Call::ExitRecord { address } => {
                let record = self.processes[index].last_exit.ok_or(Error::NotFound)?;
                let range = self.processes[index].regions.check(address, EXIT_RECORD_BYTES, Access::READ_WRITE)?;
                let space = self.platform.address_space(self.processes[index].memory);
                // SAFETY: `check` proved the whole buffer is mapped writable
                // in the caller, whose address space is loaded; the record's
                // bytes are `ExitRecord::to_bytes`'s (see `exit_record_bytes`).
                unsafe { self.platform.write_user(space, range.address(), exit_record_bytes(&record)) };
                Reply::Done
            }
            Call::Uptime => {
                let micros = self.uptime_micros();
                Reply::Values([micros as u32, (micros >> 32) as u32, 0])
            }
            Call::CapInfo { .. }
            | Call::CapObject { .. }
            | Call::CapDerive { .. }
            | Call::FrameSlice { .. }
            | Call::CapDelete { .. }
            | Call::CapRevoke { .. }
            | Call::CapGrant { .. }
            | Call::Retype { .. }
            | Call::Map { .. }
            | Call::Unmap { .. }
            | Call::CapMove { .. }
            | Call::ProcessSetup { .. }
            | Call::ProcessStart { .. }
            | Call::ProcessName { .. } => self.invoke_capability(index, call)?,
            Call::Send { .. }
            | Call::Receive { .. }
            | Call::Reply { .. }
            | Call::ReplyReceive { .. }
            | Call::Signal { .. }
            | Call::NotificationBind { .. }
            | Call::WaitNotification { .. }
            | Call::InterruptBind { .. }
            | Call::InterruptAck { .. } => self.invoke_ipc(index, call)?,
        })
    }

    fn wait(&mut self, index: usize, target: u32, timeout_micros: u32) -> Result<(), Error> {
        let mut any_child = false;
        let mut ended = None;
        for (child, process) in self.processes.live() {
            if process.parent() == Some(index) && (target == ANY_PROCESS || self.processes.pid(child) == target) {
                any_child = true;
                if matches!(process.state, State::Zombie { .. }) {
                    ended = Some(child);
                    break;
                }
            }
        }
        if let Some(child) = ended {
            self.deliver_exit(index, child);
            return Ok(());
        }
        if !any_child {
            return Err(Error::NotFound);
        }
        let until = self.clock.deadline(self.platform.now(), timeout_micros).until().ok_or(Error::TimedOut)?;
        self.block_current(State::Waiting { target, until });
        Ok(())
    }

    #[inline]
    /// The slice that ran out while `server` ran for a caller (and that
    /// caller's callers, a bounded chain) was the caller's: each caller
    /// with others of its priority ready goes to the back of its queue
    /// when answered (`Process::slice_spent`), as the general path's
    /// reply puts it, so no app gets more than its share of the CPU by
    /// calling a server of a higher priority (a hostile review's finding,
    /// December 2026).
    fn callers_slices_spent(&mut self, server: usize) {
        /// Nested calls followed at most (each link is one process).
        const MAX_CHAIN: usize = 8;
        let top = self.queues.highest_priority();
        let mut at = server;
        for _ in 0..MAX_CHAIN {
            let Some(caller) = self.processes.waiting_caller(self.processes[at].reply_to) else { return };
            if !self.processes.is_live(caller) {
                return;
            }
            if top >= Some(self.processes[caller].priority) {
                self.processes[caller].slice_spent = true;
            }
            at = caller;
        }
    }

    fn requeue_current(&mut self) {
        if let Some(index) = self.current.take() {
            self.processes[index].state = State::Ready;
            let priority = self.processes[index].priority;
            self.queues.push_back(&mut self.processes, index, priority);
        }
    }

    fn block_current(&mut self, state: State) {
        if let Some(index) = self.current.take() {
            if let Some(deadline) = state.deadline() {
                self.earliest_wakeup = self.earliest_wakeup.min(deadline);
                self.timer_dirty = true;
            }
            self.processes[index].state = state;
        }
    }

    // --- interrupts and faults ---------------------------------------------

    /// Handles an IRQ from user mode (or the A7's idle wait in assembly,
    /// with no thread current); returns where to resume.
    pub fn interrupt(&mut self) -> *mut u32 {
        self.handle_interrupts();
        self.prepare_return()
    }

    /// Handles an IRQ whose interrupt `id` the architecture's entry
    /// acknowledged already (the A7's assembly, which answers the common
    /// case itself and leaves the rest here, from a thread or from its idle
    /// wait), then any other pending one, as [`Kernel::interrupt`] does;
    /// returns where to resume.
    pub fn interrupt_acknowledged(&mut self, id: u32) -> *mut u32 {
        self.handle_interrupt(id);
        self.interrupt()
    }

    fn handle_interrupts(&mut self) {
        while let Some(id) = self.platform.acknowledge_interrupt() {
            self.handle_interrupt(id);
        }
    }

    /// The acknowledged interrupt `id`: the timer's, or one bound to a
    /// notification; then its end.
    fn handle_interrupt(&mut self, id: u32) {
        if id == self.platform.timer_interrupt() {
            self.timer_expired();
        } else {
            self.deliver_interrupt(id);
        }
        self.platform.end_of_interrupt(id);
    }

    fn timer_expired(&mut self) {
        let now = self.platform.now();
        // Push the deadline out so the level-triggered interrupt drops until
        // `prepare_return` programs the next one.
        self.platform.set_deadline(u64::MAX);
        self.armed_deadline = u64::MAX;
        self.timer_dirty = true;
        // The scan that wakes the expired also finds the next deadline, so
        // a deadline that went away by another path (a woken receiver, an
        // ended process) is never armed twice.
        let mut earliest = u64::MAX;
        let mut cursor = self.processes.first_live();
        while let Some(index) = cursor {
            cursor = self.processes.next_live(index);
            match self.processes[index].state {
                State::Sleeping { until } if until <= now => self.make_ready(index),
                State::Waiting { until, .. } if until <= now => {
                    self.processes[index].context.r[0] = Error::TimedOut as u32;
                    self.make_ready(index);
                }
                State::Ipc { until } if until <= now => self.ipc_timed_out(index),
                state => earliest = earliest.min(state.deadline().unwrap_or(u64::MAX)),
            }
        }
        self.earliest_wakeup = earliest;
        if let Some(index) = self.current {
            if now >= self.slice_end {
                if self.queues.highest_priority() >= Some(self.processes[index].priority) {
                    self.requeue_current();
                } else {
                    // Nobody to share with: a fresh slice. If it serves a
                    // call, the slice that ran out was its caller's turn.
                    self.slice_end = now + self.slice_ticks;
                    self.callers_slices_spent(index);
                }
            }
        }
    }

    /// Ends the current process for `fault` and returns where to resume.
    pub fn user_fault(&mut self, fault: UserFault) -> *mut u32 {
        self.handle_fault(fault);
        self.prepare_return()
    }

    fn handle_fault(&mut self, fault: UserFault) {
        let Some(index) = self.current else { return };
        let pid = self.processes.pid(index);
        let process = &mut self.processes[index];
        let thumb = self.platform.is_thumb(process.context.cpsr);
        let (fault, address) = match fault {
            UserFault::Undefined => {
                if thumb {
                    process.context.pc += 2;
                }
                process.fault_address = 0;
                (FaultKind::UndefinedInstruction, process.context.pc)
            }
            UserFault::Prefetch { status, address } => {
                let data_page = process.regions.access_at(address).is_some_and(|access| !access.execute);
                process.fault_address = address;
                (classify_prefetch_abort(status, data_page), address)
            }
            UserFault::Data { status, address } => {
                process.fault_address = address;
                (classify_data_abort(status), address)
            }
            UserFault::Armv7m { cfsr, mmfar, bfar } => {
                let regions = &process.regions;
                let (kind, address) =
                    classify_armv7m(cfsr, mmfar, bfar, process.context.pc, |address| regions.access_at(address));
                process.fault_address = address.unwrap_or(0);
                (kind, address.unwrap_or(0))
            }
        };
        klog!(self, |line| line
            .str("fault in process ")
            .process(process.name(), pid)
            .str(": ")
            .str(fault.name())
            .str(", address ")
            .hex(address)
            .str(", pc ")
            .hex(process.context.pc));
        self.end_process(index, ExitKind::Faulted, fault as u32);
    }

    // --- back to user mode -------------------------------------------------

    /// Chooses the thread to run next (idling until one is ready), loads its
    /// address space and returns the resume pointer of its context; null
    /// with none ready on a platform that idles outside the kernel
    /// (`Platform::idles_outside`: its idle wait goes on from there).
    pub fn prepare_return(&mut self) -> *mut u32 {
        let top = self.queues.highest_priority();
        let index = match self.current {
            // The running thread keeps the CPU unless a higher one is ready.
            Some(index) if top.is_none_or(|top| !preempts(top, self.processes[index].priority)) => index,
            current => {
                if let Some(index) = current {
                    self.processes[index].state = State::Ready;
                    let priority = self.processes[index].priority;
                    self.queues.push_front(&mut self.processes, index, priority);
                }
                let next = match self.queues.pop_highest(&mut self.processes) {
                    Some(next) => next,
                    // The architecture's own idle wait (`Platform::idles_outside`).
                    None if self.platform.idles_outside() => {
                        self.current = None;
                        self.program_timer();
                        return core::ptr::null_mut();
                    }
                    None => self.idle(),
                };
                self.processes[next].state = State::Running;
                self.current = Some(next);
                self.slice_end = self.platform.now() + self.slice_ticks;
                // The armed deadline may be later than this slice's end only
                // if nothing was armed for the previous slice.
                if self.armed_deadline > self.slice_end {
                    self.timer_dirty = true;
                }
                next
            }
        };
        if self.timer_dirty {
            self.program_timer();
        }
        if self.loaded != self.processes[index].memory {
            self.load_address_space(index);
        }
        resume_pointer(&mut self.processes[index].context)
    }

    /// Waits for interrupts until a thread is ready, and takes it off its queue.
    fn idle(&mut self) -> usize {
        self.current = None;
        loop {
            self.program_timer();
            self.platform.wait_for_interrupt();
            self.handle_interrupts();
            if let Some(next) = self.queues.pop_highest(&mut self.processes) {
                return next;
            }
        }
    }

    /// Arms the timer for the earliest of the running thread's slice end and
    /// the sleepers' deadlines. A deadline that passes early (a slice that
    /// was extended by a switch) just re-arms it.
    #[inline(never)]
    fn program_timer(&mut self) {
        self.timer_dirty = false;
        let slice = if self.current.is_some() { self.slice_end } else { u64::MAX };
        self.armed_deadline = slice.min(self.earliest_wakeup);
        self.platform.set_deadline(self.armed_deadline);
    }
}

#[cfg(test)]
mod exit_record_tests {
    use super::exit_record_bytes;
    use tessera_abi::ExitRecord;

    #[test]
    fn an_exit_records_memory_is_its_byte_form() {
        let mut registers = [0u32; 13];
        for (index, register) in registers.iter_mut().enumerate() {
            *register = 0x0101_0101 * index as u32 + 0x0403_0201;
        }
        let record = ExitRecord {
            pid: 0x0001_0007,
            kind: 2,
            value: 0xDEAD_BEEF,
            fault_address: 0x1000_0010,
            registers,
            sp: 0x2000_8000,
            lr: 0x0001_0203,
            pc: 0x0040_0080,
            cpsr: 0x6000_0010,
        };
        assert_eq!(exit_record_bytes(&record), record.to_bytes());
    }
}
