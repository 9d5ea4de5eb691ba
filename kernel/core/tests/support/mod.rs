//! The whole kernel on the host: a fake [`Platform`] (RAM in a vector, a
//! clock the test moves, interrupt lines the test raises, address spaces as
//! page maps) and a [`System`] that boots the kernel on it and plays the
//! part of user code: it puts a syscall's arguments in the running
//! process's registers, enters the kernel, and reads what came back.
//!
//! Shared by the kernel's host tests (`tests/kernel.rs`, `tests/model.rs`).
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

use kernel_core::console::{Lines, Written};
use kernel_core::elf::{build_test_elf, FLAGS_RW, FLAGS_RX};
use kernel_core::kernel::{
    Boot, FrameSource, Kernel, Platform, ProcessInfo, Ram, RootGrants, Status, UserContext, UserLayout,
};
use kernel_core::pagetable::MemoryType;
use kernel_core::Access;
use tessera_abi::bootimage::{self, BootImage};
use tessera_abi::{Error, Handle, ObjectType, Syscall};

/// Where the fake's RAM starts, and how much there is.
pub const RAM_START: u32 = 0x4000_0000;
pub const RAM_BYTES: u32 = 16 << 20;
/// The root task's process object: the first 16 KiB of RAM.
pub const ROOT_OBJECT: u32 = RAM_START;
/// The kernel's pool, after the root object.
pub const POOL: (u32, u32) = (RAM_START + 0x4000, RAM_START + (2 << 20));
/// Untyped memory for the root task: the rest.
pub const UNTYPED: (u32, u32) = (RAM_START + (2 << 20), RAM_BYTES - (2 << 20));
/// A device register page the root task gets, outside RAM.
pub const DEVICE: (u32, u32) = (0x0900_0000, 0x1000);
/// Device interrupt lines the root task gets.
pub const INTERRUPTS: [u32; 2] = [40, 41];
/// The timer's line.
pub const TIMER_INTERRUPT: u32 = 30;
/// Counter ticks per second: one per microsecond.
pub const FREQUENCY: u64 = 1_000_000;

/// Where the root task's code and data are, and its entry point.
pub const ROOT_CODE: u32 = 0x0001_0000;
pub const ROOT_DATA: u32 = 0x0002_0000;

/// Under `System::boot_identity`: where user addresses end (Armv7-M's
/// system region), and the root task's code, and its data page followed by
/// its stack (the end of its lowest writable segment), in the pool.
pub const IDENTITY_END: u32 = 0xE000_0000;
pub const IDENTITY_ROOT_CODE: u32 = RAM_START + 0x0010_0000;
pub const IDENTITY_ROOT_DATA: u32 = RAM_START + 0x0010_4000;
pub const IDENTITY_ROOT_STACK_PAGES: u32 = 2;
/// Where `System::boot_root_in_place` puts the boot image (in code
/// memory, as on mps2-an386, below RAM).
pub const IN_PLACE_IMAGE: u32 = 0x0010_0000;

/// One user address space: page -> (frame, access, memory type), and the
/// tables taken for each 1 MiB (as the Armv7-A tables take a second-level
/// table per MiB).
#[derive(Default, Debug)]
pub struct Space {
    pub pages: BTreeMap<u32, (u32, Access, MemoryType)>,
    tables: BTreeMap<u32, u32>,
}

/// The fake machine.
pub struct Fake {
    /// RAM_BYTES of emulated RAM (8-byte aligned, as process entries need),
    /// reached only through raw pointers: the kernel holds `Ram` views of it.
    ram: *mut u64,
    pub now: Cell<u64>,
    pub deadline: Cell<u64>,
    /// Raised device lines not yet acknowledged.
    pub raised: RefCell<BTreeSet<u32>>,
    /// Lines the kernel enabled.
    pub enabled: RefCell<BTreeSet<u32>>,
    /// Address spaces by the object holding their first-level table.
    pub spaces: RefCell<BTreeMap<u32, Space>>,
    /// The loaded space and its ASID.
    pub loaded: Cell<Option<(u32, u8)>>,
    /// Whole-TLB flushes so far (each with no address space loaded).
    pub flushes: Cell<u32>,
    /// Everything printed.
    pub console: RefCell<Vec<u8>>,
    lines: Cell<u64>,
    pub powered_off: Cell<Option<u32>>,
    /// Every interrupt line looks pending (to stop long operations).
    pub always_pending: Cell<bool>,
    /// Status words are Armv7-M's xPSR (Thumb is bit 24), not a CPSR.
    pub xpsr: Cell<bool>,
    /// How user addresses relate to physical ones (`System::boot_identity`
    /// makes them physical, as under an MPU).
    pub layout: Cell<UserLayout>,
    /// It waits for interrupts itself when no thread is ready, as the A7
    /// does (`Platform::idles_outside`).
    pub idle_outside: Cell<bool>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        let ram = std::ptr::slice_from_raw_parts_mut(self.ram, RAM_BYTES as usize / 8);
        // SAFETY: `ram` came from `Box::into_raw` of this length in `new`
        // and the kernel that used it is being dropped with the fake.
        drop(unsafe { Box::from_raw(ram) });
    }
}

/// Panic payload when the kernel would idle with nothing that could wake
/// it: every process blocked for good.
pub struct IdleForever;

impl Fake {
    fn new() -> Fake {
        Fake {
            ram: Box::into_raw(vec![0u64; RAM_BYTES as usize / 8].into_boxed_slice()) as *mut u64,
            now: Cell::new(0),
            deadline: Cell::new(u64::MAX),
            raised: RefCell::new(BTreeSet::new()),
            enabled: RefCell::new(BTreeSet::new()),
            spaces: RefCell::new(BTreeMap::new()),
            loaded: Cell::new(None),
            flushes: Cell::new(0),
            console: RefCell::new(Vec::new()),
            lines: Cell::new(0),
            powered_off: Cell::new(None),
            always_pending: Cell::new(false),
            xpsr: Cell::new(false),
            layout: Cell::new(UserLayout::Translated),
            idle_outside: Cell::new(false),
        }
    }

    fn base(&self) -> *mut u8 {
        self.ram as *mut u8
    }

    /// The RAM byte at physical `address`.
    fn ram_index(&self, address: u32) -> usize {
        assert!((RAM_START..RAM_START + RAM_BYTES).contains(&address), "kernel touched {address:#x}, outside RAM");
        (address - RAM_START) as usize
    }

    fn byte(&self, address: u32) -> u8 {
        let at = self.ram_index(address);
        // SAFETY: `at` is inside the RAM_BYTES allocation; no reference to
        // it is live (the kernel uses raw pointers, one call at a time).
        unsafe { self.base().add(at).read() }
    }

    fn set_byte(&self, address: u32, byte: u8) {
        let at = self.ram_index(address);
        // SAFETY: as for `byte`.
        unsafe { self.base().add(at).write(byte) }
    }

    /// The physical address user address `address` of the space at
    /// `object` maps to, and the page's access.
    pub fn translate(&self, object: u32, address: u32) -> Option<(u32, Access)> {
        let spaces = self.spaces.borrow();
        let (frame, access, _) = *spaces.get(&object)?.pages.get(&(address & !0xFFF))?;
        Some((frame + (address & 0xFFF), access))
    }

    /// Reads user memory of the space at `object` as its owner would.
    pub fn read_user_bytes(&self, object: u32, address: u32, len: u32) -> Vec<u8> {
        (0..len)
            .map(|offset| {
                let (physical, _) = self.translate(object, address + offset).expect("user address mapped");
                self.byte(physical)
            })
            .collect()
    }

    /// Writes user memory of the space at `object` as its owner would
    /// (only where it may write).
    pub fn write_user_bytes(&self, object: u32, address: u32, bytes: &[u8]) {
        for (offset, &byte) in bytes.iter().enumerate() {
            let (physical, access) = self.translate(object, address + offset as u32).expect("user address mapped");
            assert!(access.write, "user code writing read-only memory");
            self.set_byte(physical, byte);
        }
    }

    /// The console text so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.console.borrow()).into_owned()
    }
}

impl Platform for Fake {
    type AddressSpace = u32;

    fn now(&self) -> u64 {
        self.now.get()
    }
    fn timer_frequency(&self) -> u64 {
        FREQUENCY
    }
    fn set_deadline(&self, deadline: u64) {
        self.deadline.set(deadline);
    }
    fn timer_interrupt(&self) -> u32 {
        TIMER_INTERRUPT
    }
    fn acknowledge_interrupt(&self) -> Option<u32> {
        if self.now.get() >= self.deadline.get() {
            return Some(TIMER_INTERRUPT);
        }
        let enabled = self.enabled.borrow();
        let mut raised = self.raised.borrow_mut();
        let id = raised.iter().copied().find(|id| enabled.contains(id))?;
        raised.remove(&id);
        Some(id)
    }
    fn end_of_interrupt(&self, _id: u32) {}
    fn interrupt_pending(&self) -> bool {
        self.always_pending.get()
            || self.now.get() >= self.deadline.get()
            || self.raised.borrow().iter().any(|id| self.enabled.borrow().contains(id))
    }
    fn enable_interrupt(&self, id: u32) {
        self.enabled.borrow_mut().insert(id);
    }
    fn disable_interrupt(&self, id: u32) {
        self.enabled.borrow_mut().remove(&id);
    }
    fn unmask_interrupt(&self, id: u32) {
        self.enabled.borrow_mut().insert(id);
    }
    fn idles_outside(&self) -> bool {
        self.idle_outside.get()
    }
    fn wait_for_interrupt(&self) {
        if self.interrupt_pending() {
            return;
        }
        // Time passes until the timer fires; with no deadline and no line
        // raised, nothing can ever wake the kernel.
        if self.deadline.get() == u64::MAX {
            std::panic::panic_any(IdleForever);
        }
        self.now.set(self.deadline.get());
    }

    fn user_layout(&self) -> UserLayout {
        self.layout.get()
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
        assert!(address.is_multiple_of(4096) && frame.is_multiple_of(4096));
        assert!(address < self.layout.get().end(), "user mapping in the kernel's part");
        if let UserLayout::Identity { .. } = self.layout.get() {
            assert_eq!(address, frame, "an identity-mapped page away from its frame");
        }
        let mut spaces = self.spaces.borrow_mut();
        let entry = spaces.entry(space).or_default();
        let section = address >> 20;
        if let std::collections::btree_map::Entry::Vacant(vacant) = entry.tables.entry(section) {
            vacant.insert(tables.allocate_zeroed()?);
        }
        entry.pages.insert(address, (frame, access, memory));
        Some(())
    }
    fn unmap_page(&self, space: u32, address: u32, _asid: u8) {
        if let Some(entry) = self.spaces.borrow_mut().get_mut(&space) {
            entry.pages.remove(&address);
        }
    }
    fn destroy_address_space(&self, space: u32, _asid: u8, frames: &mut impl FrameSource) {
        assert_ne!(self.loaded.get().map(|(loaded, _)| loaded), Some(space), "destroying the loaded space");
        if let Some(entry) = self.spaces.borrow_mut().remove(&space) {
            for (frame, _, _) in entry.pages.values() {
                frames.release(*frame);
            }
            for table in entry.tables.values() {
                frames.release(*table);
            }
        }
    }
    fn switch_address_space(&self, space: u32, asid: u8) {
        assert_ne!(asid, 0, "ASID 0 is reserved");
        self.loaded.set(Some((space, asid)));
    }
    fn switch_to_empty(&self) {
        self.loaded.set(None);
    }
    fn flush_translations(&self) {
        assert_eq!(self.loaded.get(), None, "a TLB flush with an address space loaded (its walks could refill it)");
        self.flushes.set(self.flushes.get() + 1);
    }
    fn enter_process(&self, _context: &UserContext) {}

    fn ram(&self) -> Ram {
        Ram::at(RAM_START, self.base(), RAM_BYTES)
    }
    unsafe fn read_user<R>(&self, space: u32, address: u32, len: u32, f: impl FnOnce(&[u8]) -> R) -> R {
        assert_eq!(self.loaded.get().map(|(loaded, _)| loaded), Some(space), "reading a space not loaded");
        let bytes = self.read_user_bytes(space, address, len);
        f(&bytes)
    }
    unsafe fn write_user(&self, space: u32, address: u32, bytes: &[u8]) {
        assert_eq!(self.loaded.get().map(|(loaded, _)| loaded), Some(space), "writing a space not loaded");
        self.write_user_bytes(space, address, bytes);
    }
    unsafe fn zero(&self, address: u32, bytes: u32) {
        assert!(address.is_multiple_of(64) && bytes.is_multiple_of(64), "zeroing {bytes} bytes at {address:#x}");
        for offset in 0..bytes {
            self.set_byte(address + offset, 0);
        }
    }
    unsafe fn copy_into(&self, address: u32, bytes: &[u8]) {
        assert!((address & 0xFFF) as usize + bytes.len() <= 4096, "a copy across a frame boundary");
        for (offset, &byte) in bytes.iter().enumerate() {
            self.set_byte(address + offset as u32, byte);
        }
    }
    fn clean_for_execution(&self, _frame: u32) {}
    fn invalidate_instruction_cache(&self) {}

    fn initial_status(&self, thumb: bool) -> u32 {
        if self.xpsr.get() {
            1 << 24
        } else {
            0x10 | ((thumb as u32) << 5)
        }
    }
    fn is_thumb(&self, status: u32) -> bool {
        if self.xpsr.get() {
            status & (1 << 24) != 0
        } else {
            status & (1 << 5) != 0
        }
    }

    fn log(&self, line: &kernel_core::text::Line) {
        let mut lines = Lines::from_bits(self.lines.get());
        let mut console = self.console.borrow_mut();
        lines.kernel_line(&mut |bytes: &[u8]| console.extend_from_slice(bytes));
        self.lines.set(lines.to_bits());
        console.extend_from_slice(b"kernel: ");
        console.extend_from_slice(line.as_bytes());
        console.push(b'\n');
    }
    fn write_process(&self, pid: u32, label: &[u8], text: &[u8], limit: u32) -> Written {
        let mut lines = Lines::from_bits(self.lines.get());
        let mut console = self.console.borrow_mut();
        let written =
            lines.write(pid, label, text, limit as usize, &mut |bytes: &[u8]| console.extend_from_slice(bytes));
        self.lines.set(lines.to_bits());
        written
    }
    fn power_off(&self, status: u32) {
        self.powered_off.set(Some(status));
    }
}

/// What a syscall gave back: r0 as a result, r1..r3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    pub result: Result<(), Error>,
    pub values: [u32; 3],
}

impl Answer {
    fn from_registers(r: &[u32; 13]) -> Answer {
        let result = if r[0] == 0 { Ok(()) } else { Err(Error::from_code(r[0]).expect("an error number")) };
        Answer { result, values: [r[1], r[2], r[3]] }
    }

    /// The new handle a successful call returned in r1.
    pub fn handle(&self) -> Handle {
        assert_eq!(self.result, Ok(()), "the call failed");
        Handle(self.values[0])
    }
}

/// The booted kernel and the fake under it.
pub struct System {
    pub kernel: Box<Kernel<Fake>>,
    pub root: u32,
    /// Where the root task's code page and first data page are.
    pub root_code: u32,
    pub root_data: u32,
    /// The root task's capabilities as the kernel gave them.
    pub untyped: Handle,
    pub device: Handle,
    pub power: Handle,
    pub interrupts: [Handle; 2],
}

/// The root task's program: a code page at `code` and a data page (and
/// `more` pages of bss) at `data`.
fn root_program(code: u32, data: u32, more: u32) -> Vec<u8> {
    let mut out = vec![0u8; 16384];
    let text = [0u8; 64];
    let bytes = [0u8; 64];
    let len =
        build_test_elf(code, &[(code, FLAGS_RX, &text, 4096), (data, FLAGS_RW, &bytes, 4096 * (1 + more))], &mut out);
    out.truncate(len);
    out
}

/// A program whose code page (4096 bytes of 0x5A) is at file offset 4096,
/// so that it lies on a page of the boot image (whose entries start on
/// pages), and whose `data_bytes` of writable pages are at `data` (32
/// bytes of 0xA5 from the file, the rest zero).
pub fn in_place_program(code: u32, data: u32, data_bytes: u32) -> Vec<u8> {
    let text = vec![0x5Au8; 4096];
    let bytes = [0xA5u8; 32];
    let mut out = vec![0u8; 3 * 4096];
    let len =
        build_test_elf(code | 1, &[(code, FLAGS_RX, &text, 4096), (data, FLAGS_RW, &bytes, data_bytes)], &mut out);
    // The headers (two program headers), then the code moved to the next
    // page of the file and the data after it.
    let headers = 52 + 2 * 32;
    let mut elf = out[..headers].to_vec();
    elf.resize(4096, 0);
    elf.extend_from_slice(&text);
    elf.extend_from_slice(&bytes);
    for (header, offset) in [(0, 4096u32), (1, 8192)] {
        let at = 52 + header * 32 + 4;
        elf[at..at + 4].copy_from_slice(&offset.to_le_bytes());
    }
    assert_eq!(len, headers + text.len() + bytes.len());
    elf
}

/// A boot image of `programs`.
fn pack(programs: &[(&str, &[u8])]) -> Vec<u8> {
    let mut image = vec![0u8; bootimage::image_size(programs.iter().map(|(_, elf)| elf.len()))];
    bootimage::write(programs, &mut image).expect("the image packs");
    image
}

/// Keeps the expected `IdleForever` unwinds off the test output (and
/// spares them a backtrace each).
fn quiet_idle_forever() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<IdleForever>() {
                default(info);
            }
        }));
    });
}

impl System {
    /// Boots the kernel with the root task `init` running.
    pub fn boot() -> System {
        let elf = root_program(ROOT_CODE, ROOT_DATA, 0);
        System::boot_with(UserLayout::Translated, (ROOT_CODE, ROOT_DATA), &[("init", &elf)], 0, (0, 0))
    }

    /// Boots the kernel on a fake whose user addresses are physical (as on
    /// the M4's MPU), with the root task linked in the pool
    /// (`IDENTITY_ROOT_CODE`, `IDENTITY_ROOT_DATA`) and `more` programs in
    /// the boot image.
    pub fn boot_identity(more: &[(&str, &[u8])]) -> System {
        System::boot_identity_at(more, 0)
    }

    /// `boot_identity`, with the boot image lying at physical address
    /// `boot_image_address` (`Boot::boot_image_address`; 0: unknown).
    pub fn boot_identity_at(more: &[(&str, &[u8])], boot_image_address: u32) -> System {
        let elf = root_program(IDENTITY_ROOT_CODE, IDENTITY_ROOT_DATA, IDENTITY_ROOT_STACK_PAGES);
        let mut programs: Vec<(&str, &[u8])> = vec![("init", &elf)];
        programs.extend_from_slice(more);
        System::boot_with(
            UserLayout::Identity { end: IDENTITY_END },
            (IDENTITY_ROOT_CODE, IDENTITY_ROOT_DATA),
            &programs,
            boot_image_address,
            (0, 0),
        )
    }

    /// Boots the kernel on the identity fake with the root task linked to
    /// run its code in place: its code page lies in the boot image, which
    /// lies at `IN_PLACE_IMAGE` (`frame` bytes, the capability the root
    /// gets) with the root's ELF first, its code page 4096 bytes into the
    /// file. Returns the system, or why the kernel refused to start it.
    pub fn boot_root_in_place(frame: u32, image_at: u32) -> Result<System, Error> {
        let code = IN_PLACE_IMAGE + 2 * 4096;
        let elf = in_place_program(code, IDENTITY_ROOT_DATA, 4096 * (1 + IDENTITY_ROOT_STACK_PAGES));
        System::try_boot(
            UserLayout::Identity { end: IDENTITY_END },
            (code, IDENTITY_ROOT_DATA),
            &[("init", &elf)],
            IN_PLACE_IMAGE,
            (image_at, frame),
        )
    }

    /// Where the bytes of the program `name` start in the boot image that
    /// `boot_identity(more)` packs (an offset from its first byte).
    pub fn identity_image_offset(more: &[(&str, &[u8])], name: &str) -> u32 {
        let elf = root_program(IDENTITY_ROOT_CODE, IDENTITY_ROOT_DATA, IDENTITY_ROOT_STACK_PAGES);
        let mut programs: Vec<(&str, &[u8])> = vec![("init", &elf)];
        programs.extend_from_slice(more);
        let image = pack(&programs);
        let parsed = BootImage::parse(&image).expect("the image parses");
        let program = parsed.elf(name).expect("the program is in the image");
        (program.as_ptr() as usize - image.as_ptr() as usize) as u32
    }

    /// `boot`, or `boot_identity` with no more programs.
    pub fn boot_in(identity: bool) -> System {
        if identity {
            System::boot_identity(&[])
        } else {
            System::boot()
        }
    }

    fn boot_with(
        layout: UserLayout,
        root: (u32, u32),
        programs: &[(&str, &[u8])],
        boot_image_address: u32,
        boot_image_grant: (u32, u32),
    ) -> System {
        System::try_boot(layout, root, programs, boot_image_address, boot_image_grant)
            .expect("the root task gets its capabilities")
    }

    /// `boot_with`, or why the kernel could not give the root task its
    /// capabilities.
    fn try_boot(
        layout: UserLayout,
        (root_code, root_data): (u32, u32),
        programs: &[(&str, &[u8])],
        boot_image_address: u32,
        boot_image_grant: (u32, u32),
    ) -> Result<System, Error> {
        quiet_idle_forever();
        let image: &'static [u8] = Box::leak(pack(programs).into_boxed_slice());
        let fake = Fake::new();
        fake.layout.set(layout);
        let mut kernel = Box::new(Kernel::new(fake));
        kernel.init(Boot {
            ram: (RAM_START, RAM_BYTES),
            pool: POOL,
            root_object: ROOT_OBJECT,
            boot_image: Some(BootImage::parse(image).expect("the image parses")),
            boot_image_address,
            preempt_test: false,
        });
        let root = kernel.spawn_root(b"test").expect("the root task starts");
        kernel.give_root_capabilities(
            (root & 0xFFFF) as usize,
            &RootGrants {
                untyped: UNTYPED,
                device_regions: &[DEVICE],
                interrupts: &INTERRUPTS,
                boot_image: boot_image_grant,
            },
        )?;
        kernel.prepare_return();
        let find = |kind: ObjectType, nth: usize| {
            kernel.capabilities(root).filter(|(_, c)| c.kind == kind).nth(nth).expect("a root capability").0
        };
        let system = System {
            untyped: find(ObjectType::Untyped, 0),
            device: find(ObjectType::DeviceRegion, 0),
            power: find(ObjectType::PowerControl, 0),
            interrupts: [find(ObjectType::Interrupt, 0), find(ObjectType::Interrupt, 1)],
            root,
            root_code,
            root_data,
            kernel,
        };
        system.check();
        Ok(system)
    }

    pub fn fake(&self) -> &Fake {
        self.kernel.platform()
    }

    /// The running process.
    pub fn current(&self) -> u32 {
        self.kernel.current_pid().expect("a process runs")
    }

    pub fn info(&self, pid: u32) -> ProcessInfo {
        self.kernel.process(pid).expect("the process is in the table")
    }

    pub fn status(&self, pid: u32) -> Option<Status> {
        self.kernel.process(pid).map(|info| info.status)
    }

    /// Checks the kernel's invariants (`Kernel::check_invariants`).
    pub fn check(&self) {
        if let Err(violation) = self.kernel.check_invariants() {
            let process = self.kernel.process(violation.pid);
            panic!("kernel invariant broken: {violation:?}\n{process:?}\nconsole:\n{}", self.fake().output());
        }
    }

    /// The running process makes syscall `number` with `args` (r0..r5 and
    /// r12); returns what it got back, if it is not blocked, and checks the
    /// invariants afterwards.
    pub fn syscall_raw(&mut self, number: u32, args: [u32; 7]) -> Option<Answer> {
        let caller = self.current();
        let context = self.kernel.context_mut(caller).expect("the caller lives");
        context.r[..6].copy_from_slice(&args[..6]);
        context.r[12] = args[6];
        context.r[7] = number;
        context.pc += 4;
        let resume = self.kernel.syscall();
        self.resume(resume);
        self.check();
        self.take_due_timer();
        self.answer_of(caller)
    }

    /// What `pid`'s last syscall gave back, if it is not blocked in it.
    pub fn answer_of(&self, pid: u32) -> Option<Answer> {
        let info = self.kernel.process(pid)?;
        match info.status {
            Status::Running | Status::Ready => Some(Answer::from_registers(&self.kernel.context(pid)?.r)),
            _ => None,
        }
    }

    /// `syscall_raw` with up to six arguments and no r12.
    pub fn call(&mut self, syscall: Syscall, args: &[u32]) -> Option<Answer> {
        let mut all = [0u32; 7];
        all[..args.len()].copy_from_slice(args);
        self.syscall_raw(syscall as u32, all)
    }

    /// A call that must not block; panics if it does.
    pub fn now(&mut self, syscall: Syscall, args: &[u32]) -> Answer {
        self.call(syscall, args).unwrap_or_else(|| panic!("{syscall:?} blocked"))
    }

    /// A call that must succeed at once.
    pub fn ok(&mut self, syscall: Syscall, args: &[u32]) -> [u32; 3] {
        let answer = self.now(syscall, args);
        assert_eq!(answer.result, Ok(()), "{syscall:?}{args:?}");
        answer.values
    }

    /// Retypes an object from the running process's untyped `untyped`.
    pub fn retype(&mut self, untyped: Handle, kind: ObjectType, bytes: u32) -> Handle {
        Handle(self.ok(Syscall::Retype, &[untyped.0, kind as u32, bytes])[0])
    }

    /// The root task makes a process named `name` at `priority` from its
    /// untyped memory: a code page (and stack page) mapped, set up and
    /// started. Returns its pid and the root's capability to it. The root
    /// must be running.
    pub fn spawn(&mut self, name: &str, priority: u32) -> (u32, Handle) {
        assert_eq!(self.current(), self.root, "the root task spawns");
        let untyped = self.untyped;
        let process = self.retype(untyped, ObjectType::Process, tessera_abi::PROCESS_OBJECT_BYTES);
        let code = self.retype(untyped, ObjectType::Frame, 4096);
        let stack = self.retype(untyped, ObjectType::Frame, 4096);
        // Where the layout puts them: anywhere, or at their own addresses.
        let (code_at, stack_at) = match self.fake().layout.get() {
            UserLayout::Translated => (ROOT_CODE, 0x3FFE_F000),
            UserLayout::Identity { .. } => (self.object_at(code), self.object_at(stack)),
        };
        self.ok(Syscall::Map, &[code.0, code_at, 0b101, process.0]);
        self.ok(Syscall::Map, &[stack.0, stack_at, 0b011, process.0]);
        // The name, from the root's data page.
        let root_object = ROOT_OBJECT;
        self.fake().write_user_bytes(root_object, self.root_data, name.as_bytes());
        self.ok(Syscall::ProcessName, &[process.0, self.root_data, name.len() as u32]);
        self.ok(Syscall::ProcessSetup, &[process.0, code_at, stack_at + 4096, 0]);
        self.ok(Syscall::ProcessStart, &[process.0, priority]);
        let object = self.kernel.capability(self.root, process).expect("the root holds the process").object;
        let pid = self.kernel.pids().find(|&pid| self.object_of(pid) == object);
        (pid.expect("the new process is in the table"), process)
    }

    /// Where the root task's capability `handle` names memory.
    pub fn object_at(&self, handle: Handle) -> u32 {
        self.kernel.capability(self.root, handle).expect("the root holds the handle").object
    }

    /// The object a process lives in (its pid's index names its block).
    pub fn object_of(&self, pid: u32) -> u32 {
        RAM_START + (pid & 0xFFFF) * tessera_abi::PROCESS_OBJECT_BYTES
    }

    /// Moves the clock by `micros` and takes the timer interrupt if it is
    /// due (as if it came while a process ran).
    pub fn advance(&mut self, micros: u64) {
        let fake = self.kernel.platform();
        fake.now.set(fake.now.get() + micros);
        self.take_due_timer();
    }

    /// A deadline armed in the past fires as soon as the kernel returns to
    /// user mode, as the hardware timer would. The kernel must not keep
    /// arming one: more than a few in a row is a storm.
    pub fn take_due_timer(&mut self) {
        let mut taken = 0;
        while self.fake().now.get() >= self.fake().deadline.get() {
            let resume = self.kernel.interrupt();
            self.resume(resume);
            self.check();
            taken += 1;
            assert!(taken < 4, "the timer keeps firing with nothing to do: an interrupt storm");
        }
    }

    /// Where the kernel said to resume, as the architecture takes it: on a
    /// fake that idles outside the kernel (`Fake::idle_outside`, as the A7
    /// does), a null pointer is its idle wait, which lasts until the timer
    /// fires or a line is raised (`wait_for_interrupt`: time passes to the
    /// armed deadline) and hands the interrupt to the kernel, until a
    /// thread runs. Elsewhere the kernel idled itself.
    pub fn resume(&mut self, mut resume: *mut u32) {
        while resume.is_null() && self.fake().idle_outside.get() {
            self.check();
            self.fake().wait_for_interrupt();
            resume = self.kernel.interrupt();
        }
    }

    /// Raises device line `id` and takes the interrupt.
    pub fn raise(&mut self, id: u32) {
        self.fake().raised.borrow_mut().insert(id);
        let resume = self.kernel.interrupt();
        self.resume(resume);
        self.check();
    }

    /// Raises device line `id` and takes the interrupt as an architecture
    /// that acknowledges it before the kernel does (the A7's assembly
    /// entry, `Kernel::interrupt_acknowledged`), if the line is enabled (a
    /// masked line is not signalled: nothing is taken).
    pub fn raise_acknowledged(&mut self, id: u32) {
        self.fake().raised.borrow_mut().insert(id);
        if self.fake().enabled.borrow().contains(&id) {
            self.fake().raised.borrow_mut().remove(&id);
            let resume = self.kernel.interrupt_acknowledged(id);
            self.resume(resume);
        }
        self.check();
    }
}
