//! The Tessera ABI: everything the kernel, userland and xtask must agree on.
//!
//! Nothing here is defined twice anywhere else. The crate is `no_std`, its
//! one dependency is `bitflags` (the optional `verify` feature adds the
//! Ed25519 and SHA-256 crates for `package::verify`), and it holds only
//! data definitions and pure functions, so it
//! builds for the host (xtask, tests) and for Armv7-A (kernel, userland).
//!
//! # Syscall calling convention
//!
//! A thread enters the kernel with `svc #0`. The syscall number is in `r7`,
//! arguments are in `r0`..`r5`. On return `r0` holds the status (0 for
//! success, otherwise an [`Error`] code) and `r1`..`r3` hold results. All
//! other registers are preserved. See `docs/abi.md` for every call.
#![no_std]
#![forbid(unsafe_code)]

pub mod app;
pub mod bootimage;
pub mod capability;
pub mod divide;
pub mod elf;
pub mod gpio;
pub mod layout;
pub mod manifest;
pub mod package;
pub mod rate;
pub mod uart;

/// Memory access rights of a user mapping, of an ELF segment, or needed by a
/// syscall argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Access {
    /// May be read.
    pub read: bool,
    /// May be written.
    pub write: bool,
    /// May be executed.
    pub execute: bool,
}

impl Access {
    /// Read only.
    pub const READ: Access = Access { read: true, write: false, execute: false };
    /// Read and write.
    pub const READ_WRITE: Access = Access { read: true, write: true, execute: false };
    /// Read and execute.
    pub const READ_EXECUTE: Access = Access { read: true, write: false, execute: true };

    /// True if every right in `needed` is in `self`.
    pub const fn allows(self, needed: Access) -> bool {
        (self.read || !needed.read) && (self.write || !needed.write) && (self.execute || !needed.execute)
    }
}

pub use capability::{Handle, ObjectType, Rights};

/// Syscall numbers (passed in `r7`).
///
/// The numbering is stable: new calls take new numbers. Every call that
/// needs authority takes a capability. Number 5 (once `Spawn`) is retired:
/// processes are made with `Retype` and started with `ProcessSetup` and
/// `ProcessStart`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Syscall {
    /// Does nothing and returns success. Used to measure the syscall path.
    Null = 0,
    /// Writes `r1` bytes at address `r0` to the debug console.
    DebugWrite = 1,
    /// Gives up the rest of the time slice to threads of the same priority.
    Yield = 2,
    /// Blocks for at least `r0` microseconds (0 behaves like `Yield`).
    Sleep = 3,
    /// Ends the calling process with exit code `r0`. Does not return.
    Exit = 4,
    /// Waits up to timeout `r1` ([`FOREVER`], [`NO_WAIT`]) for the caller's
    /// child named by the `Process` capability `r0` (or any child if `r0` is
    /// [`ANY_PROCESS`]) to end. Returns the child's process handle in `r1`
    /// (0 if the caller no longer holds one), [`ExitKind`] in `r2`, exit code
    /// or fault kind in `r3`.
    Wait = 6,
    /// Powers the machine off with exit status `r1`; needs the
    /// `PowerControl` capability `r0` (the kernel gives `init` the only one).
    Shutdown = 7,
    /// Returns the microseconds since boot as a u64 in `r1` (low) and `r2` (high).
    Uptime = 8,
    /// Describes capability `r0`: type in `r1`, rights in `r2`, badge in `r3`.
    CapInfo = 9,
    /// The object of capability `r0`: address (or interrupt number) in `r1`,
    /// size in bytes in `r2`.
    CapObject = 10,
    /// Derives a child of capability `r0` with rights `r0`'s AND `r1`, and
    /// badge `r2` if not 0 (minting). Needs `DERIVE`. New handle in `r1`.
    CapDerive = 11,
    /// Deletes capability `r0` and everything derived from it.
    CapDelete = 12,
    /// Destroys everything derived from capability `r0`, in every process.
    CapRevoke = 13,
    /// Copies capability `r0` (rights AND `r2`) into the CSpace of the
    /// process named by `Process` capability `r1`. Needs `GRANT` on `r0` and
    /// `WRITE` on `r1`. The handle in that CSpace is returned in `r1`.
    CapGrant = 14,
    /// Carves an object of type `r1` ([`ObjectType`]) and `r2` bytes (the
    /// size the type takes: [`ObjectType::valid_size`]) from untyped memory
    /// `r0`. New handle in `r1`.
    Retype = 15,
    /// Maps frame or device region `r0` at address `r1` with rights `r2`
    /// (`READ`, plus `WRITE` or `EXECUTE` if the capability has them) into
    /// the caller's address space, or, if `r3` is not 0, into the process
    /// named by `Process` capability `r3` (needs `WRITE` on it).
    Map = 16,
    /// Unmaps what capability `r0` mapped.
    Unmap = 17,
    /// Moves capability `r0` (with everything derived from it) into the
    /// CSpace of the process named by `Process` capability `r1`: how untyped
    /// memory is given away. It keeps only the rights in `r2`. Needs
    /// `GRANT` on `r0` and `WRITE` on `r1`. The handle in that CSpace is
    /// returned in `r1`.
    CapMove = 18,
    /// Sends a message on endpoint `r0` (needs `SEND`): info word `r1`
    /// ([`ipc`]), data words `r2`..`r5` (the last one or two carry
    /// capability handles if the info word says so), waiting up to timeout
    /// `r12` ([`FOREVER`], [`NO_WAIT`]) for a receiver.
    Send = 19,
    /// Receives on endpoint `r0` (needs `RECEIVE`), waiting up to timeout
    /// `r1`. Returns info in `r1`, words in `r2`..`r5`, the sender's badge in
    /// `r7`; a `Call` leaves the receiver the right to `Reply`.
    Receive = 20,
    /// Sends like `Send`, then waits for the answer (`r1`..`r5` as for
    /// `Receive`). The receiver runs at least at the caller's priority until
    /// it replies.
    Call = 21,
    /// Answers the last `Call` received: info `r1`, words `r2`..`r5`.
    Reply = 22,
    /// `Reply` (if there is a call to answer), then `Receive` on endpoint `r0`.
    ReplyReceive = 23,
    /// ORs bits `r1` into notification `r0` (needs `SIGNAL`).
    Signal = 24,
    /// Waits until notification `r0` (needs `WAIT`) has a bit of mask `r1`
    /// set, up to timeout `r2`; returns and clears those bits
    /// (in `r1`).
    WaitNotification = 25,
    /// Like `WaitNotification` without blocking (`r1` = 0 if none).
    Poll = 26,
    /// Binds interrupt `r0` to notification `r1` (needs `SIGNAL`), bit
    /// number `r2`, and enables it.
    InterruptBind = 27,
    /// Re-enables interrupt `r0` after its handler is done.
    InterruptAck = 28,
    /// Sets the entry point `r1`, stack pointer `r2` and first argument
    /// (`r0` at start) `r3` of the process made by `Retype` and named by
    /// `Process` capability `r0` (needs `WRITE`), which has not started.
    ProcessSetup = 29,
    /// Starts the process named by `Process` capability `r0` (needs
    /// `WRITE`) at priority `r1`, at most the caller's own.
    ProcessStart = 30,
    /// Names the process of `Process` capability `r0` (needs `WRITE`) with
    /// the `r2` bytes at `r1` (UTF-8, at most [`NAME_MAX`]): the name fault
    /// reports use.
    ProcessName = 31,
    /// Copies the [`ExitRecord`] of the child the caller last collected
    /// with `Wait` to the [`EXIT_RECORD_BYTES`] bytes at `r0` (4-byte
    /// aligned, writable).
    ExitRecord = 32,
    /// Binds notification `r0` (needs `WAIT`) to the caller: from then on
    /// its `Receive` (and `ReplyReceive`) on any endpoint also ends when
    /// the notification has bits set, taking them all: the badge is
    /// [`NOTIFIED_BADGE`], word 0 the bits, the label 0. One process per
    /// notification (`SlotOccupied` if another has it); binding another
    /// notification replaces the binding. It ends when either goes.
    NotificationBind = 33,
    /// Derives from frame `r0` (needs `DERIVE`) a frame of the `r2` bytes
    /// at offset `r1` in it (a power of two, at least a page, at an address
    /// that is a multiple of its size) with rights `r0`'s AND `r3`: how
    /// `init` hands a program the part of the boot image that holds its
    /// code, to run in place (docs/mt3620.md, "Code in place"). New handle
    /// in `r1`; deleting or revoking `r0` destroys it.
    FrameSlice = 34,
}

/// The badge a `Receive` answers with when the caller's bound notification
/// (`NotificationBind`) ended it: no capability can carry it (badges are
/// chosen by `CapDerive`, which refuses it).
pub const NOTIFIED_BADGE: u32 = u32::MAX;

/// The IPC info word: a label and how many capabilities travel.
pub mod ipc {
    /// Bits 0..16: the label (meaning is up to the protocol).
    pub const LABEL_MASK: u32 = 0xFFFF;
    /// Bits 16..18: capabilities in the message (0..=2), in the last data
    /// words (`r5`, then `r4`).
    pub const CAPS_SHIFT: u32 = 16;
    /// Most capabilities in one message.
    pub const MAX_CAPS: u32 = 2;
    /// Bits 18..32 are reserved: a message with any of them set is refused
    /// (`InvalidArgument`).
    pub const RESERVED_MASK: u32 = !0x3_FFFF;

    /// An info word.
    pub const fn info(label: u32, caps: u32) -> u32 {
        (label & LABEL_MASK) | ((caps & 0b11) << CAPS_SHIFT)
    }

    /// The label of an info word.
    pub const fn label(info: u32) -> u32 {
        info & LABEL_MASK
    }

    /// The number of capabilities of an info word.
    pub const fn caps(info: u32) -> u32 {
        (info >> CAPS_SHIFT) & 0b11
    }

    /// Bytes of a received request spelled out (label, the four words,
    /// the capability count, the badge: little-endian `u32`s), the input
    /// format of the servers' request-decoder fuzz targets and seeds.
    pub const RECEIVED_BYTES: usize = 7 * 4;

    /// A received request as [`RECEIVED_BYTES`] bytes.
    pub fn received_to_bytes(label: u32, words: [u32; 4], caps: u32, badge: u32) -> [u8; RECEIVED_BYTES] {
        let mut out = [0; RECEIVED_BYTES];
        let values = [label, words[0], words[1], words[2], words[3], caps, badge];
        for (chunk, value) in out.chunks_exact_mut(4).zip(values) {
            chunk.copy_from_slice(&value.to_le_bytes());
        }
        out
    }

    /// The request in `data` as (label, words, capability count, badge):
    /// missing bytes are zero, extra bytes ignored.
    pub fn received_from_bytes(data: &[u8]) -> (u32, [u32; 4], u32, u32) {
        let mut values = [0u32; 7];
        for (value, chunk) in values.iter_mut().zip(data.chunks(4)) {
            let mut bytes = [0; 4];
            bytes[..chunk.len()].copy_from_slice(chunk);
            *value = u32::from_le_bytes(bytes);
        }
        let [label, word0, word1, word2, word3, caps, badge] = values;
        (label, [word0, word1, word2, word3], caps, badge)
    }
}

impl Syscall {
    /// Every syscall, in number order.
    pub const ALL: [Syscall; 34] = [
        Syscall::Null,
        Syscall::DebugWrite,
        Syscall::Yield,
        Syscall::Sleep,
        Syscall::Exit,
        Syscall::Wait,
        Syscall::Shutdown,
        Syscall::Uptime,
        Syscall::CapInfo,
        Syscall::CapObject,
        Syscall::CapDerive,
        Syscall::CapDelete,
        Syscall::CapRevoke,
        Syscall::CapGrant,
        Syscall::Retype,
        Syscall::Map,
        Syscall::Unmap,
        Syscall::CapMove,
        Syscall::Send,
        Syscall::Receive,
        Syscall::Call,
        Syscall::Reply,
        Syscall::ReplyReceive,
        Syscall::Signal,
        Syscall::WaitNotification,
        Syscall::Poll,
        Syscall::InterruptBind,
        Syscall::InterruptAck,
        Syscall::ProcessSetup,
        Syscall::ProcessStart,
        Syscall::ProcessName,
        Syscall::ExitRecord,
        Syscall::NotificationBind,
        Syscall::FrameSlice,
    ];

    /// The syscall with number `number`, if there is one.
    pub const fn from_number(number: u32) -> Option<Syscall> {
        match number {
            0 => Some(Syscall::Null),
            1 => Some(Syscall::DebugWrite),
            2 => Some(Syscall::Yield),
            3 => Some(Syscall::Sleep),
            4 => Some(Syscall::Exit),
            6 => Some(Syscall::Wait),
            7 => Some(Syscall::Shutdown),
            8 => Some(Syscall::Uptime),
            9 => Some(Syscall::CapInfo),
            10 => Some(Syscall::CapObject),
            11 => Some(Syscall::CapDerive),
            12 => Some(Syscall::CapDelete),
            13 => Some(Syscall::CapRevoke),
            14 => Some(Syscall::CapGrant),
            15 => Some(Syscall::Retype),
            16 => Some(Syscall::Map),
            17 => Some(Syscall::Unmap),
            18 => Some(Syscall::CapMove),
            19 => Some(Syscall::Send),
            20 => Some(Syscall::Receive),
            21 => Some(Syscall::Call),
            22 => Some(Syscall::Reply),
            23 => Some(Syscall::ReplyReceive),
            24 => Some(Syscall::Signal),
            25 => Some(Syscall::WaitNotification),
            26 => Some(Syscall::Poll),
            27 => Some(Syscall::InterruptBind),
            28 => Some(Syscall::InterruptAck),
            29 => Some(Syscall::ProcessSetup),
            30 => Some(Syscall::ProcessStart),
            31 => Some(Syscall::ProcessName),
            32 => Some(Syscall::ExitRecord),
            33 => Some(Syscall::NotificationBind),
            34 => Some(Syscall::FrameSlice),
            _ => None,
        }
    }
}

/// `Wait` argument meaning "any child".
pub const ANY_PROCESS: u32 = u32::MAX;
/// Every blocking call (`Wait`, `Send`, `Call`, `Receive`,
/// `WaitNotification`) takes its timeout in one encoding: a number of
/// microseconds, rounded up to timer ticks, with two special values. This
/// one waits without a limit.
pub const FOREVER: u32 = u32::MAX;
/// The timeout that does not block at all: the call fails with `TimedOut`
/// (`WaitNotification` returns no bits) where it would have waited.
pub const NO_WAIT: u32 = 0;
/// Longest buffer `DebugWrite` accepts, in bytes.
pub const DEBUG_WRITE_MAX: usize = 1024;
/// Longest process name, in bytes.
pub const NAME_MAX: usize = 24;
/// Number of scheduling priorities. 0 is the lowest, `PRIORITY_LEVELS - 1` the highest.
pub const PRIORITY_LEVELS: u32 = 32;
/// Priority of the root task.
pub const ROOT_PRIORITY: u32 = 16;

/// Size of a process object (`Retype` of a `Process`): on Armv7-A its
/// first-level translation table, six 1 KiB second-level tables, its
/// CSpace and the kernel's entry.
#[cfg(not(all(target_arch = "arm", target_os = "none", target_abi = "eabihf")))]
pub const PROCESS_OBJECT_BYTES: u32 = 16384;
/// Size of a process object on Armv7-M (`thumbv7em-none-eabihf`, the M4;
/// selected as bare-metal hard-float Arm, which only that target is here):
/// no translation tables, only the MPU state and saved registers, the
/// CSpace and the kernel's entry.
#[cfg(all(target_arch = "arm", target_os = "none", target_abi = "eabihf"))]
pub const PROCESS_OBJECT_BYTES: u32 = 8192;
// Every retypable size is a power of two: the kernel aligns objects with a
// mask (`kernel_core::capability::retype`).
const _: () = assert!(PROCESS_OBJECT_BYTES.is_power_of_two());

/// Errors a syscall returns in `r0`. Zero means success and is not an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Error {
    /// No syscall has this number.
    UnknownSyscall = 1,
    /// A pointer argument is null, points into the kernel, or names memory
    /// the caller has not mapped with the rights the call needs.
    BadAddress = 2,
    /// A pointer plus its length reaches or wraps past the end of the 4 GiB
    /// address space.
    AddressWraps = 3,
    /// A length is larger than the call allows.
    TooLong = 4,
    /// An argument is out of range (e.g. a priority) or malformed (e.g. UTF-8).
    InvalidArgument = 5,
    /// No boot-image program, or no such process, has that name or id.
    NotFound = 6,
    /// The kernel could not find memory or a table slot for the request.
    OutOfMemory = 7,
    /// The caller lacks the authority for this call.
    PermissionDenied = 8,
    /// A blocking call's timeout expired.
    TimedOut = 9,
    /// The program image is not a loadable Armv7-A executable.
    BadImage = 10,
    /// The handle names an empty slot or no slot at all.
    InvalidHandle = 11,
    /// The handle's slot has been emptied (and maybe reused) since the
    /// handle was made.
    StaleHandle = 12,
    /// The capability names an object of another type than the call needs.
    WrongType = 13,
    /// The capability lacks a right the call needs.
    MissingRight = 14,
    /// The destination CSpace slot is taken, or the CSpace is full.
    SlotOccupied = 15,
    /// The other side is gone: an endpoint without receivers, a caller or
    /// server that ended, a process that is no longer alive.
    PeerGone = 16,
    /// Deriving would make the derivation tree deeper than the kernel allows.
    TooDeep = 17,
    /// A server refused a request for now: the caller used up its share
    /// (the Pluton security server's costly requests); try again later.
    Busy = 18,
}

impl Error {
    /// The error for code `code`, if `code` is one.
    pub const fn from_code(code: u32) -> Option<Error> {
        match code {
            1 => Some(Error::UnknownSyscall),
            2 => Some(Error::BadAddress),
            3 => Some(Error::AddressWraps),
            4 => Some(Error::TooLong),
            5 => Some(Error::InvalidArgument),
            6 => Some(Error::NotFound),
            7 => Some(Error::OutOfMemory),
            8 => Some(Error::PermissionDenied),
            9 => Some(Error::TimedOut),
            10 => Some(Error::BadImage),
            11 => Some(Error::InvalidHandle),
            12 => Some(Error::StaleHandle),
            13 => Some(Error::WrongType),
            14 => Some(Error::MissingRight),
            15 => Some(Error::SlotOccupied),
            16 => Some(Error::PeerGone),
            17 => Some(Error::TooDeep),
            18 => Some(Error::Busy),
            _ => None,
        }
    }

    /// A short human-readable name.
    pub const fn name(self) -> &'static str {
        match self {
            Error::UnknownSyscall => "unknown syscall",
            Error::BadAddress => "bad address",
            Error::AddressWraps => "address wraps",
            Error::TooLong => "too long",
            Error::InvalidArgument => "invalid argument",
            Error::NotFound => "not found",
            Error::OutOfMemory => "out of memory",
            Error::PermissionDenied => "permission denied",
            Error::TimedOut => "timed out",
            Error::BadImage => "bad image",
            Error::InvalidHandle => "invalid handle",
            Error::StaleHandle => "stale handle",
            Error::WrongType => "wrong object type",
            Error::MissingRight => "missing right",
            Error::SlotOccupied => "slot occupied",
            Error::PeerGone => "peer gone",
            Error::TooDeep => "derivation too deep",
            Error::Busy => "busy: try again later",
        }
    }
}

/// How a process ended, as `Wait` reports it in `r2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ExitKind {
    /// The process called `Exit`; `r3` is its exit code.
    Exited = 0,
    /// The kernel ended the process for a fault; `r3` is the [`FaultKind`].
    Faulted = 1,
    /// The last capability to the process went, so the kernel ended it.
    Killed = 2,
}

/// How a child ended, in detail: what `ExitRecord` copies out for the
/// child the caller last collected with `Wait` (a supervisor's failure
/// log). The registers are the child's at its end: for a fault, at the
/// faulting instruction.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitRecord {
    /// The child's pid (as in the kernel's fault report).
    pub pid: u32,
    /// [`ExitKind`] as a number.
    pub kind: u32,
    /// Exit code, or [`FaultKind`] as a number.
    pub value: u32,
    /// The faulting address for a data or prefetch abort (0 otherwise).
    pub fault_address: u32,
    /// r0..r12.
    pub registers: [u32; 13],
    /// Stack pointer, link register, program counter and CPSR.
    pub sp: u32,
    pub lr: u32,
    pub pc: u32,
    pub cpsr: u32,
}

/// Size of an [`ExitRecord`] in bytes.
pub const EXIT_RECORD_BYTES: u32 = core::mem::size_of::<ExitRecord>() as u32;

impl ExitRecord {
    /// The record as it lies in memory (`repr(C)`, all words, little-endian).
    pub fn to_bytes(&self) -> [u8; EXIT_RECORD_BYTES as usize] {
        let words = [self.pid, self.kind, self.value, self.fault_address];
        let tail = [self.sp, self.lr, self.pc, self.cpsr];
        let mut bytes = [0; EXIT_RECORD_BYTES as usize];
        let all = words.iter().chain(self.registers.iter()).chain(tail.iter());
        for (chunk, word) in bytes.chunks_exact_mut(4).zip(all) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        bytes
    }
}

/// Why the kernel ended a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum FaultKind {
    /// Access to an address with no mapping (translation fault).
    Unmapped = 1,
    /// Access the mapping does not permit (e.g. user access to kernel memory,
    /// a write to read-only memory).
    Permission = 2,
    /// Instruction fetch from memory mapped execute-never.
    ExecuteNever = 3,
    /// Misaligned access that the architecture does not allow.
    Alignment = 4,
    /// Undefined or privileged instruction.
    UndefinedInstruction = 5,
    /// Any other abort (external, TLB conflict, ...).
    OtherAbort = 6,
    /// A syscall was made in a way the kernel cannot resume (reserved).
    BadSyscall = 7,
}

impl FaultKind {
    /// The fault kind for code `code`, if `code` is one.
    pub const fn from_code(code: u32) -> Option<FaultKind> {
        match code {
            1 => Some(FaultKind::Unmapped),
            2 => Some(FaultKind::Permission),
            3 => Some(FaultKind::ExecuteNever),
            4 => Some(FaultKind::Alignment),
            5 => Some(FaultKind::UndefinedInstruction),
            6 => Some(FaultKind::OtherAbort),
            7 => Some(FaultKind::BadSyscall),
            _ => None,
        }
    }

    /// The name used in the kernel's fault report line.
    pub const fn name(self) -> &'static str {
        match self {
            FaultKind::Unmapped => "unmapped address",
            FaultKind::Permission => "permission fault",
            FaultKind::ExecuteNever => "execute from non-executable memory",
            FaultKind::Alignment => "alignment fault",
            FaultKind::UndefinedInstruction => "undefined instruction",
            FaultKind::OtherAbort => "abort",
            FaultKind::BadSyscall => "bad syscall",
        }
    }
}

/// Exit status QEMU reports when the kernel panics.
pub const PANIC_EXIT_STATUS: u32 = 101;

#[cfg(test)]
mod tests {
    use super::Error;

    /// Every code from 1 up names one error, whose code is that number
    /// and whose name is its own; the first number past them names none.
    #[test]
    fn error_codes_round_trip() {
        let mut names = [""; 64];
        let mut count = 0;
        for code in 1..64u32 {
            let Some(error) = Error::from_code(code) else { break };
            assert_eq!(error as u32, code);
            assert!(!names[..count].contains(&error.name()), "{code}: {}", error.name());
            names[count] = error.name();
            count += 1;
        }
        assert_eq!(count, Error::Busy as usize, "a code below Busy names no error");
        assert_eq!(Error::from_code(0), None);
        assert_eq!(Error::from_code(count as u32 + 1), None);
    }
}
