//! Shared definitions for the boot-image programs: what `init` passes each
//! program as its argument.
#![no_std]
#![forbid(unsafe_code)]

pub mod apps;
// The servers' protocols, where the test programs and `init` used to find
// them.
pub use tessera_servers::{gpio, uart};

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
    /// Read the PMU cycle counter (PMCCNTR): only the benchmark image allows it.
    pub const READ_CYCLE_COUNTER: u32 = 20;
    /// Stop every PMU counter for everyone (write PMCR.E = 0).
    pub const STOP_CYCLE_COUNTER: u32 = 21;
    /// Give User mode PMU access by writing PMUSERENR (privileged only).
    pub const OPEN_PMU: u32 = 22;
    /// Execute a VFP instruction (`vmrs`): cp10/cp11 are closed.
    pub const VFP: u32 = 12;
    /// Execute an Advanced SIMD instruction (`vadd.i32`).
    pub const SIMD: u32 = 13;
    /// Read ThumbEE's handler base register, TEEHBR.
    pub const THUMBEE: u32 = 14;
    /// Read the physical timer's control register, CNTP_CTL.
    pub const TIMER: u32 = 15;
    /// Address used for kernel memory: the kernel's first page.
    pub const KERNEL_ADDRESS: u32 = tessera_board_constants::memory::KERNEL_LOAD;
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

/// The `turns` program: three of them at one priority take turns by
/// yielding and log their turns in a shared page (`priority` scenario).
pub mod turns {
    /// Where `init` maps the shared page into each of them.
    pub const LOG_ADDRESS: u32 = 0x2000_0000;
    /// The word at offset 0 counts the turns logged; turn `n`'s letter is
    /// the byte at `LETTERS + n`.
    pub const LETTERS: u32 = 4;
    /// Turns each one takes.
    pub const ROUNDS: u32 = 300;
    /// Packs an argument: its letter.
    pub const fn argument(letter: u8) -> u32 {
        letter as u32
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
    /// Serve IPC calls: echo label 1, delete the capability of label 2.
    pub const IPC_SERVER: u32 = 4;
    /// Measure IPC calls, a capability transfer and a derive.
    pub const IPC_CLIENT: u32 = 5;
    /// Calls of each kind the client makes (the server answers twice this).
    pub const IPC_CALLS: u32 = 500;
    /// Signal one notification, wait on the other; measures.
    pub const PING: u32 = 6;
    /// Wait on one notification, signal the other.
    pub const PONG: u32 = 7;
    /// Round trips of PING and PONG.
    pub const ROUNDS: u32 = 500;
}

/// Arguments of `capprobe` and the addresses it and `init` agree on.
pub mod capprobe {
    /// Hold a granted read-only frame: check it, try beyond its rights, wait
    /// to be revoked, then touch the revoked mapping (faults: unmapped).
    pub const HOLDER: u32 = 1;
    /// Map the granted read-only frame and write to it (faults: permission).
    pub const WRITE_READ_ONLY: u32 = 2;
    /// Retype frames from a small granted untyped until memory runs out.
    pub const EXHAUST: u32 = 3;
    /// Read a device's registers with no capability (faults: unmapped).
    pub const DEVICE_WITHOUT_CAPABILITY: u32 = 4;
    /// Ask `CapObject` where each granted capability's object lives, with
    /// every right but `INSPECT` (each must be refused: missing right).
    pub const INSPECT: u32 = 5;
    /// Where frames are mapped in these tests.
    pub const FRAME_ADDRESS: u32 = 0x2000_0000;
    /// What `init` writes in the shared frame.
    pub const PATTERN: u32 = 0xCAFE_F00D;
    /// Bytes of untyped memory `EXHAUST` gets.
    pub const EXHAUST_BYTES: u32 = 16 * 1024;
    /// The PL031 real-time clock (from the board description).
    pub const RTC_ADDRESS: u32 = tessera_board_constants::devices::RTC_PL031;
}

/// Arguments of `secretprobe`, the hostile system program that looks for
/// the device secret (docs/pluton.md, "Who may touch it"), and what it and
/// `init` agree on.
pub mod secretprobe {
    /// Look for the secret through every capability `init` passed on:
    /// exits with the number of ways that were not denied (0: all were).
    pub const SEARCH: u32 = 1;
    /// Read the secret's page through the kernel's identity map: faults
    /// (permission), so it is a run of its own.
    pub const READ_KERNEL_MAP: u32 = 2;
    /// The page the probe looks for: the one QEMU's loader puts the Unique
    /// Device Secret in (from the board description).
    pub const SECRET_PAGE: u32 = tessera_board_constants::memory::SECRET;
    /// Bytes of untyped memory `init` moves to it (a block of its own, not
    /// all of `init`'s).
    pub const UNTYPED_BYTES: u32 = 1 << 20;
    /// The badge on its copy of the Pluton security server's endpoint: one
    /// past the last app client, so it names no caller `plutond` knows
    /// (badge 0, the loader's, would make it the loader).
    pub const PLUTON_BADGE: u32 = tessera_abi::app::pluton::MAX_CLIENTS + 1;
    /// Where it maps frames one at a time.
    pub const FRAMES_AT: u32 = 0x2000_0000;
    /// Where it maps the boot image (2 MiB of address space).
    pub const BOOT_IMAGE_AT: u32 = 0x2100_0000;
    /// QEMU `virt`'s firmware configuration device (`fw-cfg` in the device
    /// tree): the one device region `init` holds that no server drives,
    /// so the board description does not name it. The host could hand the
    /// guest files through it.
    pub const FW_CFG: u32 = 0x0902_0000;
    /// Where it maps the firmware configuration device (beside
    /// [`FRAMES_AT`]'s frames, in the same MiB).
    pub const FW_CFG_AT: u32 = FRAMES_AT + 0x8_0000;
}

/// Arguments of `cpustate`, the probe of CPU state outside the saved
/// registers (thread registers, exclusive monitor, GE bits). `probe` tries
/// the coprocessors.
pub mod cpustate {
    /// Start with zero thread registers, write a secret to TPIDRURW and
    /// GE bits, `ldrex`, yield to `SECOND`, then check the `strex` fails and
    /// its own values were kept.
    pub const FIRST: u32 = 1;
    /// Runs while `FIRST` holds the monitor: sees zero thread registers
    /// and GE bits, a `strex` with no `ldrex` of its own fails; keeps its
    /// own TPIDRURW across yields.
    pub const SECOND: u32 = 2;
    /// Started after the others ended: both thread registers are zero.
    pub const FRESH: u32 = 3;
    /// What `FIRST` writes to TPIDRURW.
    pub const SECRET: u32 = 0x5EC2_E7A1;
    /// What `SECOND` writes to TPIDRURW.
    pub const SECOND_VALUE: u32 = 0xB0B0_0002;
    /// What `init` keeps in its own TPIDRURW during the scenario.
    pub const INIT_VALUE: u32 = 0x1217_0001;
    /// The GE bits `FIRST` sets (CPSR bits 19:16).
    pub const GE_BITS: u32 = 0xA << 16;
}

/// Arguments of `storm`, the random syscall mix of `qemu:storm`.
pub mod storm {
    /// In an argument: chaos mode, any syscall number with random
    /// registers and nothing checked but that the kernel answers (on
    /// endpoints of its own, so that no checking storm process sees it).
    pub const CHAOS: u32 = 1 << 31;

    /// Packs a storm argument: its number (1..=255, also its seed and the
    /// badge `init` mints its endpoint capability with) and how many
    /// operations (below 2^23) it makes before it exits.
    pub const fn argument(id: u32, operations: u32) -> u32 {
        (id & 0xFF) | ((operations << 8) & !CHAOS)
    }

    /// The number of an argument.
    pub const fn id(argument: u32) -> u32 {
        argument & 0xFF
    }

    /// The operations of an argument.
    pub const fn operations(argument: u32) -> u32 {
        (argument & !CHAOS) >> 8
    }

    /// Whether an argument asks for chaos mode.
    pub const fn chaos(argument: u32) -> bool {
        argument & CHAOS != 0
    }
}

/// Arguments of `caller`: a label and a first word.
pub mod caller {
    /// Packs a caller argument for one call: `label` below 2^8, `word`
    /// below 2^12.
    pub const fn argument(label: u32, word: u32) -> u32 {
        repeating(label, word, 0)
    }

    /// Packs a caller argument for calls made one after another until
    /// `millis` (below 2^12) have passed: the caller exits with the number
    /// answered (0 if one failed).
    pub const fn repeating(label: u32, word: u32, millis: u32) -> u32 {
        (label & 0xFF) | (word & 0xFFF) << 8 | (millis & 0xFFF) << 20
    }

    /// The label of an argument.
    pub const fn label(argument: u32) -> u32 {
        argument & 0xFF
    }

    /// The first word of an argument.
    pub const fn word(argument: u32) -> u32 {
        (argument >> 8) & 0xFFF
    }

    /// How long an argument's calls go on (0: one call).
    pub const fn millis(argument: u32) -> u32 {
        argument >> 20
    }
}

/// The `binder` program's protocol with `init` (`ipc` scenario).
pub mod binder {
    /// The bit it signals the waiter (of a higher priority) with.
    pub const WAITER_BIT: u32 = 0x1;
    /// The bits `init` signals while it waits.
    pub const FROM_INIT: u32 = 0x4;
    /// The bits it sets before a receive.
    pub const BEFORE_RECEIVE: u32 = 0x8;
    /// The bits it sets while it serves `init`'s call.
    pub const WHILE_SERVING: u32 = 0x10;
    /// The label of `init`'s call and of its answer.
    pub const CALL: u32 = 7;
    /// The answer's first word.
    pub const ANSWER: u32 = 0x600d;
}

/// The `echo` server's protocol (labels) and the test's expectations.
pub mod echo {
    /// Answer `words[0] + words[1]`.
    pub const ADD: u32 = 1;
    /// Answer the caller's badge in `words[0]`.
    pub const WHO: u32 = 2;
    /// Answer the type and rights of the capability that came with the
    /// message (`words[0]`, `words[1]`), then delete it.
    pub const INSPECT: u32 = 3;
    /// Stay busy `words[0]` milliseconds (never yielding), then answer
    /// `SPIN`: long enough to span time slices.
    pub const SPIN: u32 = 4;
    /// Keep the capability that came with the message; answer its handle
    /// (`words[0]`).
    pub const KEEP: u32 = 5;
    /// Answer 1 (`words[0]`) if the handle in `words[0]` still names a
    /// capability, 0 if not.
    pub const HELD: u32 = 6;
    /// Wait for bit 1 of the notification the server was given (`WAIT`),
    /// then answer `AWAIT`: `init` decides when the call is answered.
    pub const AWAIT: u32 = 7;
    /// Answer `NO_RECEIVE` with `ReplyReceive` on the endpoint the server
    /// was given with `SEND` alone, a receive it may not make: refused
    /// (`MissingRight`) once the answer is out, or the server exits with 1
    /// when it ends.
    pub const NO_RECEIVE: u32 = 8;
    /// Stay busy `words[0]` milliseconds as `SPIN` does, then sleep four
    /// times as long, then answer `SPIN_THEN_SLEEP`: the caller's turn ends
    /// in the server and its peers may run and end before the answer.
    pub const SPIN_THEN_SLEEP: u32 = 9;
    /// Answer to anything else.
    pub const UNKNOWN: u32 = 0xFFFF;
    /// Requests the server answers before it exits (the clients send
    /// seven), unless its start argument names another number.
    pub const REQUESTS: u32 = 7;
}

/// The `netpass` program's roles (its start argument) and the badge of the
/// endpoint `init` joins them with (`net-handoff` scenario).
pub mod netpass {
    /// The role that opens a socket and hands it over.
    pub const GIVER: u32 = 1;
    /// The role that takes it and uses it.
    pub const TAKER: u32 = 2;
    /// The badge of the giver's side of the endpoint to the taker.
    pub const CHANNEL_BADGE: u32 = 0x77;
}

/// The `rtcdriver` and its device (QEMU virt's PL031 real-time clock).
pub mod rtc {
    /// The RTC's interrupt ID (SPI 2).
    pub const INTERRUPT: u32 = 34;
    /// Where the driver maps the registers.
    pub const MAPPED_AT: u32 = 0x3000_0000;
    /// Data register: seconds.
    pub const DATA: u32 = 0x00;
    /// Match register: interrupt when the count reaches it.
    pub const MATCH: u32 = 0x04;
    /// Interrupt mask set/clear register.
    pub const MASK: u32 = 0x10;
    /// Interrupt clear register.
    pub const CLEAR: u32 = 0x1C;
}

/// The loader (`tessera-loader`, `userland/loader`), under its old name.
pub use tessera_loader as loader;
