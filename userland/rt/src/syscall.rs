//! One safe function per syscall (see `abi/src/lib.rs` and `docs/abi.md`).
//! The kernel checks every argument, so even the `raw_*` calls, which pass
//! arbitrary values, are safe to make.

use core::arch::asm;
use tessera_abi::{Error, ExitKind, ExitRecord, FaultKind, Handle, ObjectType, Rights, Syscall, ANY_PROCESS, FOREVER};

/// Makes syscall `number` with `r0`..`r3` = `args`; returns `r0`..`r3`.
#[inline(always)]
pub fn raw_syscall(number: u32, args: [u32; 4]) -> [u32; 4] {
    let (r0, r1, r2, r3);
    // SAFETY: `svc` enters the kernel, which validates all arguments,
    // preserves every register other than r0-r3 and only writes user memory
    // through checked pointers.
    #[cfg(not(target_abi = "eabihf"))]
    unsafe {
        asm!(
            "svc #0",
            inlateout("r0") args[0] => r0,
            inlateout("r1") args[1] => r1,
            inlateout("r2") args[2] => r2,
            inlateout("r3") args[3] => r3,
            in("r7") number,
            options(nostack),
        );
    }
    // Thumb code (the M-profile target, whose ABI tells it apart: see
    // crate `tessera-copy`) keeps its frame pointer in r7, which inline assembly may not
    // name: the number goes in around the call.
    // SAFETY: as above; r7 is saved before and restored after the `svc`,
    // in registers the compiler gave the block (neither r0-r3 nor r7).
    #[cfg(target_abi = "eabihf")]
    unsafe {
        asm!(
            "mov {saved}, r7",
            "mov r7, {number}",
            "svc #0",
            "mov r7, {saved}",
            number = in(reg) number,
            saved = out(reg) _,
            inlateout("r0") args[0] => r0,
            inlateout("r1") args[1] => r1,
            inlateout("r2") args[2] => r2,
            inlateout("r3") args[3] => r3,
            options(nostack),
        );
    }
    [r0, r1, r2, r3]
}

fn status(r0: u32) -> Result<(), Error> {
    match r0 {
        0 => Ok(()),
        code => Err(Error::from_code(code).unwrap_or(Error::InvalidArgument)),
    }
}

/// The cheapest syscall: does nothing.
#[inline(always)]
pub fn null() {
    raw_syscall(Syscall::Null as u32, [0; 4]);
}

/// Writes bytes to the debug console.
pub fn debug_write(bytes: &[u8]) -> Result<(), Error> {
    raw_debug_write(bytes.as_ptr() as u32, bytes.len() as u32)
}

/// `DebugWrite` with any address and length (for tests of the checks).
pub fn raw_debug_write(address: u32, len: u32) -> Result<(), Error> {
    status(raw_syscall(Syscall::DebugWrite as u32, [address, len, 0, 0])[0])
}

/// Gives the CPU to another ready thread of the same priority.
#[inline(always)]
pub fn yield_now() {
    raw_syscall(Syscall::Yield as u32, [0; 4]);
}

/// Sleeps for at least `micros` microseconds.
pub fn sleep_micros(micros: u32) {
    raw_syscall(Syscall::Sleep as u32, [micros, 0, 0, 0]);
}

/// Ends this process with `code`.
pub fn exit(code: u32) -> ! {
    raw_syscall(Syscall::Exit as u32, [code, 0, 0, 0]);
    unreachable!("the kernel returned from Exit")
}

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// It called `exit` with this code.
    Exited(u32),
    /// The kernel ended it for this fault.
    Faulted(FaultKind),
    /// The last capability to it went, so the kernel ended it.
    Killed,
}

/// Waits up to `timeout_micros` (`None`: forever) for the child named by
/// `process` (`None`: any child) to end. Returns the child's process handle
/// (or [`Handle::NULL`] if this process holds none) and how it ended.
pub fn wait(process: Option<Handle>, timeout_micros: Option<u32>) -> Result<(Handle, Ended), Error> {
    let target = process.map_or(ANY_PROCESS, |p| p.0);
    let [r0, r1, r2, r3] = raw_syscall(Syscall::Wait as u32, [target, timeout_micros.unwrap_or(FOREVER), 0, 0]);
    status(r0)?;
    let ended = if r2 == ExitKind::Faulted as u32 {
        Ended::Faulted(FaultKind::from_code(r3).unwrap_or(FaultKind::OtherAbort))
    } else if r2 == ExitKind::Killed as u32 {
        Ended::Killed
    } else {
        Ended::Exited(r3)
    };
    Ok((Handle(r1), ended))
}

/// How the child this process last collected with [`wait`] ended: its
/// registers, and the faulting address if a fault ended it. `NotFound` if
/// this process has collected no child yet.
pub fn exit_record() -> Result<ExitRecord, Error> {
    let mut record = ExitRecord::default();
    // The pointer is exposed to the `svc`, which may write through it.
    let address = &mut record as *mut ExitRecord as u32;
    status(raw_syscall(Syscall::ExitRecord as u32, [address, 0, 0, 0])[0])?;
    Ok(record)
}

/// Powers off with `status`; `power` is a `PowerControl` capability.
pub fn shutdown(power: Handle, status: u32) -> Result<(), Error> {
    self::status(raw_syscall(Syscall::Shutdown as u32, [power.0, status, 0, 0])[0])
}

/// Microseconds since boot. On the A7 from the generic timer's counter,
/// which User mode may read (docs/abi.md), without a syscall
/// ([`counter_uptime_micros`]); elsewhere, or if the counter's rate is
/// 1 MHz or less, the kernel's answer ([`kernel_uptime_micros`]). Both are
/// the same clock, to the microsecond.
pub fn uptime_micros() -> u64 {
    counter_uptime_micros().unwrap_or_else(kernel_uptime_micros)
}

/// Microseconds since boot, as the kernel answers `Uptime`.
pub fn kernel_uptime_micros() -> u64 {
    let [_, low, high, _] = raw_syscall(Syscall::Uptime as u32, [0; 4]);
    ((high as u64) << 32) | low as u64
}

/// Microseconds since boot from the A7 generic timer's physical counter
/// (CNTPCT, at CNTFRQ ticks a second; the kernel's clock), read in User
/// mode: `None` on the M4, or with a counter of 1 MHz or less.
pub fn counter_uptime_micros() -> Option<u64> {
    counter_conversion().map(|conversion| conversion.micros(counter_ticks()))
}

/// The conversion of the counter's ticks to microseconds, if User mode
/// reads a counter faster than 1 MHz. Its rate is worked out at the
/// first call.
#[cfg(all(target_arch = "arm", not(target_abi = "eabihf")))]
fn counter_conversion() -> Option<tessera_abi::divide::MicrosFromTicks> {
    use core::sync::atomic::{AtomicU32, Ordering};
    use tessera_abi::divide::MicrosFromTicks;
    /// The counter's frequency once read (0: not yet; 1: no conversion),
    /// and the conversion's rate (low word, high word), written before it.
    /// A process has one thread: no other can see them half written.
    static CONVERSION: [AtomicU32; 3] = [AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0)];
    match CONVERSION[0].load(Ordering::Relaxed) {
        0 => {
            let frequency: u32;
            // SAFETY: reads CNTFRQ, which the kernel lets User mode read
            // (CNTKCTL.PL0PCTEN); no memory is touched.
            unsafe {
                core::arch::asm!("mrc p15, 0, {}, c14, c0, 0", out(reg) frequency, options(nomem, nostack, preserves_flags))
            };
            let conversion = MicrosFromTicks::new(u64::from(frequency));
            let (kept, rate) = conversion.map_or((1, 0), |conversion| (frequency, conversion.parts().1));
            CONVERSION[1].store(rate as u32, Ordering::Relaxed);
            CONVERSION[2].store((rate >> 32) as u32, Ordering::Relaxed);
            CONVERSION[0].store(kept, Ordering::Relaxed);
            conversion
        }
        1 => None,
        frequency => {
            let rate = u64::from(CONVERSION[2].load(Ordering::Relaxed)) << 32
                | u64::from(CONVERSION[1].load(Ordering::Relaxed));
            Some(MicrosFromTicks::from_parts(u64::from(frequency), rate))
        }
    }
}

/// No counter User mode reads: none on the M4.
#[cfg(not(all(target_arch = "arm", not(target_abi = "eabihf"))))]
fn counter_conversion() -> Option<tessera_abi::divide::MicrosFromTicks> {
    None
}

/// The counter's ticks (CNTPCT), where `counter_conversion` found one.
#[cfg(all(target_arch = "arm", not(target_abi = "eabihf")))]
#[inline(always)]
fn counter_ticks() -> u64 {
    let (low, high): (u32, u32);
    // SAFETY: reads CNTPCT, which the kernel lets User mode read
    // (CNTKCTL.PL0PCTEN); no memory is touched.
    unsafe {
        core::arch::asm!("mrrc p15, 0, {}, {}, c14", out(reg) low, out(reg) high, options(nomem, nostack, preserves_flags))
    };
    (u64::from(high) << 32) | u64::from(low)
}

/// Never read: `counter_conversion` finds no counter here.
#[cfg(not(all(target_arch = "arm", not(target_abi = "eabihf"))))]
fn counter_ticks() -> u64 {
    0
}

/// [`uptime_micros`] for a loop that reads the time often (a server's):
/// the counter's ticks since the last exact conversion times a rate, an
/// exact conversion again once a second has passed
/// ([`tessera_abi::divide::SteppedMicros`]: about 25 instructions instead
/// of 43, at most 2 us behind [`uptime_micros`], never back). The kernel's
/// answer where User mode reads no counter.
pub struct UptimeClock {
    stepped: Option<tessera_abi::divide::SteppedMicros>,
}

impl UptimeClock {
    /// The clock (reads the counter's rate if not yet read).
    pub fn new() -> UptimeClock {
        UptimeClock { stepped: counter_conversion().map(tessera_abi::divide::SteppedMicros::new) }
    }

    /// Microseconds since boot.
    pub fn micros(&mut self) -> u64 {
        match &mut self.stepped {
            Some(stepped) => stepped.micros(counter_ticks()),
            None => kernel_uptime_micros(),
        }
    }
}

impl Default for UptimeClock {
    fn default() -> UptimeClock {
        UptimeClock::new()
    }
}

/// The cycle counter (PMCCNTR); under QEMU `-icount` it counts
/// instructions. Only the benchmark image's kernel lets User mode read it:
/// anywhere else the read is an undefined instruction and the kernel ends
/// the process (`FaultKind::UndefinedInstruction`).
#[inline(always)]
pub fn cycles() -> u32 {
    let value: u32;
    // SAFETY: a coprocessor read with no effect on memory or other state.
    // Where the kernel has not enabled User-mode PMU reads (PMUSERENR.EN,
    // benchmark image only) it traps, which ends this process, not the
    // system.
    unsafe { asm!("mrc p15, 0, {}, c9, c13, 0", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}

/// The PMU event that counts retired instructions (ARMv7 `INST_RETIRED`).
const INSTRUCTIONS_RETIRED: u32 = 0x08;

/// Sets PMU event counter 0 to count retired instructions (in every mode
/// and process) and starts it: the benchmark image only, like
/// [`cycles`]. Under QEMU's `-icount` it counts the instructions the
/// guest runs and, unlike the cycle counter, not the time the processor
/// spends idle. Read it with [`instructions`].
pub fn start_instruction_counter() {
    // SAFETY: writes of the PMU's event selection, event type and counter
    // enable registers: no effect on memory. Where the kernel has not
    // enabled User-mode PMU access it traps, which ends this process.
    unsafe {
        asm!(
            "mcr p15, 0, {zero}, c9, c12, 5",
            "isb",
            "mcr p15, 0, {event}, c9, c13, 1",
            "mcr p15, 0, {one}, c9, c12, 1",
            "isb",
            zero = in(reg) 0u32,
            event = in(reg) INSTRUCTIONS_RETIRED,
            one = in(reg) 1u32,
            options(nomem, nostack, preserves_flags)
        )
    };
}

/// PMU event counter 0: the instructions retired since
/// [`start_instruction_counter`] (wrapping at 2^32).
pub fn instructions() -> u32 {
    let value: u32;
    // SAFETY: selects counter 0 and reads it: no effect on memory.
    unsafe {
        asm!(
            "mcr p15, 0, {zero}, c9, c12, 5",
            "isb",
            "mrc p15, 0, {value}, c9, c13, 2",
            zero = in(reg) 0u32,
            value = out(reg) value,
            options(nomem, nostack, preserves_flags)
        )
    };
    value
}

/// What a capability is: its object's type, its rights and its badge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapabilityInfo {
    /// Object type.
    pub kind: ObjectType,
    /// Rights.
    pub rights: Rights,
    /// Badge (0: none).
    pub badge: u32,
}

/// Describes capability `handle`.
pub fn cap_info(handle: Handle) -> Result<CapabilityInfo, Error> {
    let [r0, r1, r2, r3] = raw_syscall(Syscall::CapInfo as u32, [handle.0, 0, 0, 0]);
    status(r0)?;
    let kind = ObjectType::from_number(r1).ok_or(Error::InvalidArgument)?;
    Ok(CapabilityInfo { kind, rights: Rights::from_bits_retain(r2), badge: r3 })
}

/// The object of capability `handle`: (address or interrupt number, bytes).
pub fn cap_object(handle: Handle) -> Result<(u32, u32), Error> {
    let [r0, r1, r2, _] = raw_syscall(Syscall::CapObject as u32, [handle.0, 0, 0, 0]);
    status(r0).map(|()| (r1, r2))
}

/// Derives a child of `handle` keeping only `rights`, minting `badge` if
/// not 0.
pub fn cap_derive(handle: Handle, rights: Rights, badge: u32) -> Result<Handle, Error> {
    let [r0, r1, _, _] = raw_syscall(Syscall::CapDerive as u32, [handle.0, rights.bits(), badge, 0]);
    status(r0).map(|()| Handle(r1))
}

/// Derives from frame `frame` a frame of its `bytes` at `offset` (a power
/// of two, at least a page, at an address that is a multiple of its size),
/// keeping only `rights`.
pub fn frame_slice(frame: Handle, offset: u32, bytes: u32, rights: Rights) -> Result<Handle, Error> {
    let [r0, r1, _, _] = raw_syscall(Syscall::FrameSlice as u32, [frame.0, offset, bytes, rights.bits()]);
    status(r0).map(|()| Handle(r1))
}

/// Deletes `handle` and everything derived from it.
pub fn cap_delete(handle: Handle) -> Result<(), Error> {
    status(raw_syscall(Syscall::CapDelete as u32, [handle.0, 0, 0, 0])[0])
}

/// Destroys everything derived from `handle`, in every process.
pub fn cap_revoke(handle: Handle) -> Result<(), Error> {
    status(raw_syscall(Syscall::CapRevoke as u32, [handle.0, 0, 0, 0])[0])
}

/// Copies `handle` (keeping only `rights`) into the CSpace of `process`;
/// returns its handle there.
pub fn cap_grant(handle: Handle, process: Handle, rights: Rights) -> Result<Handle, Error> {
    let [r0, r1, _, _] = raw_syscall(Syscall::CapGrant as u32, [handle.0, process.0, rights.bits(), 0]);
    status(r0).map(|()| Handle(r1))
}

/// Moves `handle` (and everything derived from it) into the CSpace of
/// `process`; returns its handle there.
pub fn cap_move(handle: Handle, process: Handle) -> Result<Handle, Error> {
    cap_move_narrowed(handle, process, Rights::all())
}

/// [`cap_move`], keeping only the rights in `keep`: the receiver gets a
/// capability that can do less than the one moved.
pub fn cap_move_narrowed(handle: Handle, process: Handle, keep: Rights) -> Result<Handle, Error> {
    let [r0, r1, _, _] = raw_syscall(Syscall::CapMove as u32, [handle.0, process.0, keep.bits(), 0]);
    status(r0).map(|()| Handle(r1))
}

/// Carves a `kind` object of `bytes` from untyped memory `untyped`.
pub fn retype(untyped: Handle, kind: ObjectType, bytes: u32) -> Result<Handle, Error> {
    let [r0, r1, _, _] = raw_syscall(Syscall::Retype as u32, [untyped.0, kind as u32, bytes, 0]);
    status(r0).map(|()| Handle(r1))
}

/// Maps frame or device region `handle` at `address` with `rights`.
pub fn map(handle: Handle, address: u32, rights: Rights) -> Result<(), Error> {
    status(raw_syscall(Syscall::Map as u32, [handle.0, address, rights.bits(), 0])[0])
}

/// Maps frame or device region `handle` at `address` with `rights` into
/// the address space of `process` (a `Process` capability with `WRITE`).
pub fn map_into(handle: Handle, process: Handle, address: u32, rights: Rights) -> Result<(), Error> {
    status(raw_syscall(Syscall::Map as u32, [handle.0, address, rights.bits(), process.0])[0])
}

/// Sets where a process made by `retype` starts: entry point, stack
/// pointer and the argument it gets in `r0`.
pub fn process_setup(process: Handle, entry: u32, stack: u32, argument: u32) -> Result<(), Error> {
    status(raw_syscall(Syscall::ProcessSetup as u32, [process.0, entry, stack, argument])[0])
}

/// Names a process made by `retype` (the name fault reports show).
pub fn process_name(process: Handle, name: &str) -> Result<(), Error> {
    status(raw_syscall(Syscall::ProcessName as u32, [process.0, name.as_ptr() as u32, name.len() as u32, 0])[0])
}

/// Starts a process made by `retype` at `priority` (at most the caller's).
pub fn process_start(process: Handle, priority: u32) -> Result<(), Error> {
    status(raw_syscall(Syscall::ProcessStart as u32, [process.0, priority, 0, 0])[0])
}

/// Unmaps what `handle` mapped.
pub fn unmap(handle: Handle) -> Result<(), Error> {
    status(raw_syscall(Syscall::Unmap as u32, [handle.0, 0, 0, 0])[0])
}

/// A capability of `kind` holding all of `rights` among this process's
/// initial capabilities (the last one found), if there is one.
pub fn find_initial_capability(kind: ObjectType, rights: Rights) -> Option<Handle> {
    let mut found = None;
    for_each_initial_capability(|handle, info| {
        if info.kind == kind && info.rights.contains(rights) {
            found = Some(handle);
        }
    });
    found
}

/// Every capability this process holds: (handle, what it is), for slots
/// still at their first generation (as at start-up). Calls `visit` for each.
pub fn for_each_initial_capability(mut visit: impl FnMut(Handle, CapabilityInfo)) {
    for index in 1..tessera_abi::capability::CSPACE_SLOTS {
        let handle = Handle::new(index, 0);
        if let Ok(info) = cap_info(handle) {
            visit(handle, info);
        }
    }
}

/// Memory mapped through a capability, read and written a word at a time
/// with bounds checks.
#[derive(Clone, Copy, Debug)]
pub struct Mapping {
    address: u32,
    size: u32,
}

impl Mapping {
    /// Maps frame or device region `handle` at `address` with `rights`.
    pub fn new(handle: Handle, address: u32, rights: Rights) -> Result<Mapping, Error> {
        let (_, size) = cap_object(handle)?;
        map(handle, address, rights)?;
        Ok(Mapping { address, size })
    }

    /// Maps frame `handle` at `address` with `rights`, or, if the
    /// capability is mapped already, takes that mapping: where memory maps
    /// only at its own address (the M4) that is the only place it can be.
    /// For the root task's boot image, which the kernel maps for it when
    /// its code runs from there (docs/mt3620.md, "Code in place").
    pub fn new_or_existing(handle: Handle, address: u32, rights: Rights) -> Result<Mapping, Error> {
        let (at, size) = cap_object(handle)?;
        match map(handle, address, rights) {
            Ok(()) => Ok(Mapping { address, size }),
            Err(Error::SlotOccupied) if at == address => Ok(Mapping { address, size }),
            Err(error) => Err(error),
        }
    }

    /// A mapping the loader made before the process started (the app's
    /// Pluton buffer): accesses rely on it, and fault (ending this process
    /// only) if it is gone.
    pub(crate) fn assume_mapped(address: u32, size: u32) -> Mapping {
        Mapping { address, size }
    }

    /// Maps frame `handle` at `address` with `rights` and gives access to
    /// its first page only: for a capability without `INSPECT` (a
    /// client's buffer), whose size cannot be asked. Every frame is at
    /// least a page, so a mapping that succeeded covers that page.
    pub fn first_page(handle: Handle, address: u32, rights: Rights) -> Result<Mapping, Error> {
        map(handle, address, rights)?;
        Ok(Mapping { address, size: tessera_abi::layout::PAGE_SIZE as u32 })
    }

    #[inline]
    fn word(&self, offset: u32) -> *mut u32 {
        assert!(offset.is_multiple_of(4) && offset < self.size, "offset {offset:#x} outside the mapping");
        (self.address + offset) as *mut u32
    }

    /// Reads the word at `offset`.
    pub fn read_u32(&self, offset: u32) -> u32 {
        // SAFETY: the kernel mapped `size` bytes at `address` readable
        // (Mapping::new), and `word` keeps the access inside them. If the
        // mapping is revoked meanwhile the access faults and the kernel ends
        // this process; it never reads other memory.
        unsafe { core::ptr::read_volatile(self.word(offset)) }
    }

    /// Copies `bytes` into the mapping at `offset`.
    pub fn write_bytes(&self, offset: u32, bytes: &[u8]) {
        let end = offset as usize + bytes.len();
        assert!(end <= self.size as usize, "{} bytes at {offset:#x} outside the mapping", bytes.len());
        // SAFETY: the range lies inside the mapping (checked above), which
        // the kernel mapped at `address` for `size` bytes; a read-only or
        // revoked mapping makes the MMU stop the write (the process ends).
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), (self.address + offset) as *mut u8, bytes.len()) }
    }

    /// The mapped bytes, read-only, for as long as the mapping stays.
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: the kernel mapped `size` readable bytes at `address`
        // (Mapping::new). If the mapping is revoked while the slice is in
        // use, accesses fault and the kernel ends this process.
        unsafe { core::slice::from_raw_parts(self.address as *const u8, self.size as usize) }
    }

    /// Writes the word at `offset` (faults if the mapping is read-only).
    pub fn write_u32(&self, offset: u32, value: u32) {
        // SAFETY: as for `read_u32`; a read-only mapping makes the MMU stop
        // the write.
        unsafe { core::ptr::write_volatile(self.word(offset), value) }
    }
}

/// Makes an IPC syscall: `r0`..`r5` and `r12` (the timeout of `Send` and
/// `Call`) in; `r0`..`r5` and `r7` (the badge) out.
#[inline(always)]
fn ipc_syscall(number: Syscall, args: [u32; 6], timeout: u32) -> ([u32; 6], u32) {
    raw_ipc_syscall(number as u32, args, timeout)
}

/// Makes syscall `number` with any `r0`..`r5` and `r12`; returns `r0`..`r5`
/// and `r7`: for tests that hand the kernel what no wrapper would.
#[inline(always)]
pub fn raw_ipc_syscall(number: u32, args: [u32; 6], timeout: u32) -> ([u32; 6], u32) {
    let (r0, r1, r2, r3, r4, r5, r7);
    // SAFETY: as for `raw_syscall`; the kernel may change r0-r5 and r7,
    // which are all declared as outputs here.
    #[cfg(not(target_abi = "eabihf"))]
    unsafe {
        asm!(
            "svc #0",
            inlateout("r0") args[0] => r0,
            inlateout("r1") args[1] => r1,
            inlateout("r2") args[2] => r2,
            inlateout("r3") args[3] => r3,
            inlateout("r4") args[4] => r4,
            inlateout("r5") args[5] => r5,
            inlateout("r7") number => r7,
            in("r12") timeout,
            options(nostack),
        );
    }
    // Thumb: r7 around the call, as in `raw_syscall`.
    // SAFETY: as above; the badge is read out of r7 before r7 is restored.
    #[cfg(target_abi = "eabihf")]
    unsafe {
        asm!(
            "mov {saved}, r7",
            "mov r7, {number}",
            "svc #0",
            "mov {badge}, r7",
            "mov r7, {saved}",
            number = in(reg) number,
            saved = out(reg) _,
            badge = out(reg) r7,
            inlateout("r0") args[0] => r0,
            inlateout("r1") args[1] => r1,
            inlateout("r2") args[2] => r2,
            inlateout("r3") args[3] => r3,
            inlateout("r4") args[4] => r4,
            inlateout("r5") args[5] => r5,
            in("r12") timeout,
            options(nostack),
        );
    }
    ([r0, r1, r2, r3, r4, r5], r7)
}

/// How long a blocking IPC call may wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    /// As long as it takes.
    Forever,
    /// Do not block: fail with `TimedOut` if the other side is not there.
    NoWait,
    /// At most this many milliseconds (up to about 71 minutes; 0 is
    /// taken as 1 µs, a timeout, not `NoWait`).
    Millis(u32),
    /// At most this many microseconds (0 is taken as 1).
    Micros(u32),
}

impl Timeout {
    /// The ABI's one timeout encoding: microseconds, with
    /// [`tessera_abi::NO_WAIT`] and [`tessera_abi::FOREVER`].
    pub fn micros(self) -> u32 {
        let limited = |micros: u32| micros.clamp(1, tessera_abi::FOREVER - 1);
        match self {
            Timeout::Forever => tessera_abi::FOREVER,
            Timeout::NoWait => tessera_abi::NO_WAIT,
            Timeout::Millis(ms) => limited(ms.saturating_mul(1000)),
            Timeout::Micros(micros) => limited(micros),
        }
    }
}

/// A message: a label, four words, and up to two capabilities, which travel
/// in the last words (`words[3]`, then `words[2]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// What the message means (protocol-defined, 16 bits).
    pub label: u32,
    /// Data words; with capabilities, the last one or two are handles.
    pub words: [u32; 4],
    /// How many of the last words are capability handles (0..=2).
    pub caps: u32,
}

impl Message {
    /// A message of `label` and `words`, with no capabilities.
    pub const fn new(label: u32, words: [u32; 4]) -> Message {
        Message { label, words, caps: 0 }
    }

    /// A message carrying capability `handle` in its last word.
    pub const fn with_capability(label: u32, words: [u32; 3], handle: Handle) -> Message {
        Message { label, words: [words[0], words[1], words[2], handle.0], caps: 1 }
    }

    fn registers(&self, target: u32) -> [u32; 6] {
        let info = tessera_abi::ipc::info(self.label, self.caps);
        [target, info, self.words[0], self.words[1], self.words[2], self.words[3]]
    }

    /// The capability handles it carries (0 for one that did not arrive):
    /// a copy of them, so that the message need not stay in memory (a
    /// server loop keeps it in registers).
    pub fn capabilities(&self) -> impl Iterator<Item = Handle> {
        let words = self.words;
        (self.first_handle()..4).map(move |position| Handle(words[position]))
    }

    /// Where the capability handles begin among the words.
    fn first_handle(&self) -> usize {
        4 - (self.caps as usize).min(4)
    }
}

/// A message received, with the badge of the capability it was sent through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// The message.
    pub message: Message,
    /// The sender's badge (0 for a reply or an unbadged capability).
    pub badge: u32,
}

impl Received {
    /// Deletes the capabilities that came with the message, which then
    /// carries none (`caps` 0; the words stay). A server that takes none
    /// calls it for every request, so no client can fill its CSpace with
    /// copies of its own capabilities.
    #[inline]
    pub fn drop_capabilities(&mut self) {
        if self.message.caps != 0 {
            self.message = delete_handles(self.message);
        }
    }
}

/// The deleting half of [`Received::drop_capabilities`], out of line and
/// handing the message back: with a `CapDelete` call inside a server's loop
/// the compiler would keep the request's words away from the registers the
/// call uses, for every request; here only a request that carries
/// capabilities pays.
#[cold]
#[inline(never)]
fn delete_handles(message: Message) -> Message {
    // The words themselves, not `capabilities()`'s copy: 9 instructions
    // less for each request that carries a capability.
    for &handle in &message.words[message.first_handle()..] {
        if handle != Handle::NULL.0 {
            let _ = cap_delete(Handle(handle));
        }
    }
    Message { caps: 0, ..message }
}

fn received(registers: [u32; 6], badge: u32) -> Result<Received, Error> {
    status(registers[0])?;
    let info = registers[1];
    let message = Message {
        label: tessera_abi::ipc::label(info),
        words: [registers[2], registers[3], registers[4], registers[5]],
        caps: tessera_abi::ipc::caps(info),
    };
    Ok(Received { message, badge })
}

/// Sends `message` on `endpoint` (needs `SEND`), waiting up to `timeout`
/// for a receiver.
pub fn send(endpoint: Handle, message: &Message, timeout: Timeout) -> Result<(), Error> {
    status(ipc_syscall(Syscall::Send, message.registers(endpoint.0), timeout.micros()).0[0])
}

/// Sends `message` on `endpoint` and waits for the answer.
#[inline]
pub fn call(endpoint: Handle, message: &Message, timeout: Timeout) -> Result<Received, Error> {
    let (registers, badge) = ipc_syscall(Syscall::Call, message.registers(endpoint.0), timeout.micros());
    received(registers, badge)
}

/// Waits up to `timeout` for a message on `endpoint` (needs `RECEIVE`).
pub fn receive(endpoint: Handle, timeout: Timeout) -> Result<Received, Error> {
    let (registers, badge) = ipc_syscall(Syscall::Receive, [endpoint.0, timeout.micros(), 0, 0, 0, 0], 0);
    received(registers, badge)
}

/// Answers the last call received.
pub fn reply(message: &Message) -> Result<(), Error> {
    status(ipc_syscall(Syscall::Reply, message.registers(0), 0).0[0])
}

/// Answers the last call received (if any), then waits for the next message
/// on `endpoint`: one syscall per request in a server loop.
pub fn reply_receive(endpoint: Handle, answer: &Message) -> Result<Received, Error> {
    reply_receive_timeout(endpoint, answer, Timeout::Forever)
}

/// [`reply_receive`], waiting up to `timeout` for the next message
/// (`TimedOut` if none came; the answer goes out as `reply_receive`'s does).
pub fn reply_receive_timeout(endpoint: Handle, answer: &Message, timeout: Timeout) -> Result<Received, Error> {
    let (registers, badge) = ipc_syscall(Syscall::ReplyReceive, answer.registers(endpoint.0), timeout.micros());
    received(registers, badge)
}

/// Sets `bits` in `notification` (needs `SIGNAL`).
pub fn signal(notification: Handle, bits: u32) -> Result<(), Error> {
    status(raw_syscall(Syscall::Signal as u32, [notification.0, bits, 0, 0])[0])
}

/// Waits up to `timeout` for a bit of `mask` in `notification` (needs
/// `WAIT`); returns and clears the bits that were set.
pub fn wait_notification(notification: Handle, mask: u32, timeout: Timeout) -> Result<u32, Error> {
    let [r0, r1, _, _] = raw_syscall(Syscall::WaitNotification as u32, [notification.0, mask, timeout.micros(), 0]);
    status(r0).map(|()| r1)
}

/// Takes the bits of `mask` set in `notification` without blocking (0 if
/// none).
pub fn poll(notification: Handle, mask: u32) -> Result<u32, Error> {
    let [r0, r1, _, _] = raw_syscall(Syscall::Poll as u32, [notification.0, mask, 0, 0]);
    status(r0).map(|()| r1)
}

/// Delivers interrupt `interrupt` to bit `bit` of `notification` and
/// enables it.
pub fn interrupt_bind(interrupt: Handle, notification: Handle, bit: u32) -> Result<(), Error> {
    status(raw_syscall(Syscall::InterruptBind as u32, [interrupt.0, notification.0, bit, 0])[0])
}

/// Binds `notification` (needs `WAIT`) to this process: its `receive` on
/// any endpoint then also ends when the notification has bits set,
/// answering with badge `tessera_abi::NOTIFIED_BADGE` and the bits in word
/// 0 (docs/abi.md, `NotificationBind`).
pub fn notification_bind(notification: Handle) -> Result<(), Error> {
    status(raw_syscall(Syscall::NotificationBind as u32, [notification.0, 0, 0, 0])[0])
}

/// Re-enables `interrupt` after handling it.
pub fn interrupt_ack(interrupt: Handle) -> Result<(), Error> {
    status(raw_syscall(Syscall::InterruptAck as u32, [interrupt.0, 0, 0, 0])[0])
}
