//! The QEMU scenario table: each boot `cargo xtask test` makes and what its console must show.
//!
//! Each scenario boots the kernel with `scenario=<name>` as bootargs. The
//! root task runs that scenario, prints `init: scenario <name> passed` and
//! shuts down with status 0, or prints `init: scenario <name> FAILED: <why>`
//! and shuts down with status 1. A kernel panic ends QEMU with
//! [`tessera_abi::PANIC_EXIT_STATUS`].

use crate::harness::{Mode, TALK_LINE};
use crate::image::Image;
use crate::Result;

/// Output no scenario may contain, whatever its own `forbid` list says.
pub const ALWAYS_FORBIDDEN: &str = "kernel panic";

/// One boot of the system under QEMU and the checks on its console output.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// Short name, used in `qemu:<name>`, in `--only` and for the log file.
    pub name: &'static str,
    /// One line saying what the scenario shows.
    pub about: &'static str,
    /// The image it boots: the test image, or the user's own to check what
    /// `cargo xtask qemu` shows.
    pub image: Image,
    /// The kernel command line.
    pub bootargs: &'static str,
    /// QEMU is stopped after this many seconds.
    pub timeout_secs: u64,
    /// True if the run is expected to go on until the timeout stops it
    /// (then the exit status is not checked).
    pub stopped_by_timeout: bool,
    /// The exit status QEMU must end with.
    pub exit_status: i32,
    /// Substrings the console output must contain.
    pub expect: &'static [&'static str],
    /// True if the `expect` strings must appear in the order given.
    pub in_order: bool,
    /// Substrings the console output must not contain.
    pub forbid: &'static [&'static str],
    /// A further check on the console output.
    pub check: Option<fn(&str) -> Result<()>>,
    /// True if this scenario makes the kernel panic on purpose, so
    /// [`ALWAYS_FORBIDDEN`] does not apply.
    pub allow_panic: bool,
    /// What is at the app UART's other end: with `Some`, a harness on the
    /// host (`harness::EchoServer`) in that mode, which must then have
    /// received something (in `Talk` mode, its own line back). With `None`
    /// QEMU listens on a port nobody connects to.
    pub uart: Option<Mode>,
}

/// The values a scenario has unless it says otherwise.
const DEFAULTS: Scenario = Scenario {
    name: "",
    about: "",
    image: Image::Test,
    bootargs: "",
    timeout_secs: 30,
    stopped_by_timeout: false,
    exit_status: 0,
    expect: &[],
    in_order: false,
    forbid: &[ALWAYS_FORBIDDEN],
    check: None,
    allow_panic: false,
    uart: None,
};

/// Every scenario, in the order `cargo xtask test` runs them.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "boot",
        about: "the kernel boots, starts init, and init runs a user program",
        bootargs: "scenario=boot",
        expect: &["kernel: Tessera", "hello: running in user mode", "init: scenario boot passed"],
        ..DEFAULTS
    },
    Scenario {
        name: "preempt",
        about: "the timer preempts two equal-priority busy loops so both make progress",
        bootargs: "scenario=preempt",
        expect: &["init: scenario preempt passed"],
        check: Some(both_spinners_progress_before_either_is_done),
        ..DEFAULTS
    },
    Scenario {
        name: "priority",
        about: "a higher-priority thread runs to completion before a lower one starts; a call lends its priority; a caller whose turn ends in a server goes behind its peers, and is queued when answered with nothing else ready; yields take turns",
        bootargs: "scenario=priority",
        expect: &[
            "spinner H: start",
            "spinner H: done",
            "spinner L: start",
            "spinner L: done",
            "init: the call lent its priority",
            "init: a spinner beside a caller of a busy server",
            "init: a caller whose turn ended in a server was answered with nothing else ready",
            "init: yielding threads took turns",
            "init: scenario priority passed",
        ],
        in_order: true,
        ..DEFAULTS
    },
    Scenario {
        name: "kernel-read",
        about: "a user read of kernel memory faults the process, and the system goes on",
        bootargs: "scenario=kernel-read",
        expect: &[
            "kernel: fault in process 'probe'",
            "permission fault, address 0x40",
            "hello: running in user mode",
            "init: scenario kernel-read passed",
        ],
        ..DEFAULTS
    },
    Scenario {
        name: "kernel-write",
        about: "a user write to kernel memory faults the process, and the system goes on",
        bootargs: "scenario=kernel-write",
        expect: &[
            "kernel: fault in process 'probe'",
            "permission fault, address 0x40",
            "hello: running in user mode",
            "init: scenario kernel-write passed",
        ],
        ..DEFAULTS
    },
    Scenario {
        name: "isolation",
        about: "one process cannot see or change another's memory at the same address",
        bootargs: "scenario=isolation",
        expect: &[
            "probe: owner's secret intact",
            "probe: intruder sees its own memory",
            "init: scenario isolation passed",
        ],
        ..DEFAULTS
    },
    Scenario {
        name: "exec-data",
        about: "jumping into data memory is an execute-never fault",
        bootargs: "scenario=exec-data",
        expect: &["execute from non-executable memory", "init: scenario exec-data passed"],
        ..DEFAULTS
    },
    Scenario {
        name: "fault-kinds",
        about: "each kind of user fault is reported by name",
        bootargs: "scenario=fault-kinds",
        expect: &[
            "unmapped address",
            "undefined instruction",
            "alignment fault",
            "permission fault",
            "init: scenario fault-kinds passed",
        ],
        ..DEFAULTS
    },
    Scenario {
        name: "pmu",
        about: "outside the benchmark image User mode can neither read, stop nor open the performance monitor",
        bootargs: "scenario=pmu",
        expect: &[
            "probe: reading the cycle counter (PMCCNTR)",
            "probe: stopping the PMU counters (PMCR.E = 0)",
            "probe: writing PMUSERENR to open the PMU to User mode",
            "hello: running in user mode",
            "init: scenario pmu passed",
        ],
        forbid: &[ALWAYS_FORBIDDEN, "must never print"],
        check: Some(three_undefined_instruction_faults),
        ..DEFAULTS
    },
    Scenario {
        name: "console",
        about: "every line a process prints starts with its own name, control bytes are escaped, and a flood is cut to the output budget",
        bootargs: "scenario=console",
        expect: &[
            "forger: init: failure #1: app=blinky component=forged",
            "forger: kernel: fault in process 'init' (forged)\\x0d",
            "forger: screen wipe \\x1b[2J\\x1b[H and bell \\x07 and CSI \\xc2\\x9b",
            "forger: carriage return\\x0dinit: scenario console FAILED: forged",
            "kernel: process 'forger' (pid ",
            "bytes of its output dropped: over its budget",
            "forger: after the flood",
            "forger: after the trickle",
            "init: naming a process \"kernel\" is refused",
            "init: naming a process \"init: x\" is refused",
            "init: naming a process \"\" is refused",
            "init: scenario console passed",
        ],
        check: Some(forged_lines_keep_their_origin),
        ..DEFAULTS
    },
    Scenario {
        name: "cpu-state",
        about: "CPU state outside the saved registers is per process or closed: thread registers, exclusive monitor, GE bits; VFP, SIMD, ThumbEE and timer access fault, the counter reads as the kernel's clock; the runtime's memcpy and checksum loop are right at every alignment and start",
        bootargs: "scenario=cpu-state",
        expect: &[
            "cpustate first: at start TPIDRURW 0x00000000, TPIDRURO 0x00000000",
            "cpustate second: at start TPIDRURW 0x00000000, TPIDRURO 0x00000000",
            "cpustate second: GE bits 0x0 at start",
            "cpustate second: strex without its own ldrex failed",
            "cpustate first: strex after switches failed",
            "cpustate first: own TPIDRURW 0x5ec2e7a1, GE bits 0xa after switches",
            "cpustate second: own TPIDRURW 0xb0b00002 after switches",
            "init: cpustate exited with code 0",
            "cpustate fresh: at start TPIDRURW 0x00000000, TPIDRURO 0x00000000",
            "cpustate fresh: the counter's uptime lies between the kernel's",
            "probe: executing a VFP instruction",
            "kernel: fault in process 'probe'",
            "init: probe was stopped by the kernel: undefined instruction",
            "probe: executing an Advanced SIMD instruction",
            "probe: reading ThumbEE's TEEHBR",
            "probe: reading the physical timer's control register",
            "init: memcpy gave the right bytes in 19264 copies at every alignment",
            "init: memset gave the right bytes in 4816 fills at every alignment",
            "init: the checksum loop agreed with a plain sum in 2408 sums at every start",
            "hello: running in user mode",
            "init: scenario cpu-state passed",
        ],
        forbid: &[ALWAYS_FORBIDDEN, "must never print", "SUCCEEDED", "0x5ec2e7a1, TPIDRURO", "0x12170001, TPIDRURO"],
        ..DEFAULTS
    },
    Scenario {
        name: "bad-syscalls",
        about: "malformed syscalls get errors, not crashes, and the system goes on",
        bootargs: "scenario=bad-syscalls",
        expect: &["badcall: all checks passed", "hello: running in user mode", "init: scenario bad-syscalls passed"],
        ..DEFAULTS
    },
    Scenario {
        name: "demo",
        about: "the demo: two counters run side by side while a faulting process is contained",
        bootargs: "scenario=demo",
        expect: &[
            "counter A:",
            "counter B:",
            "kernel: fault in process 'faulter'",
            "init: faulter's exit record: pc 0x000",
            ", address 0x40100000",
            "init: demo finished",
            "init: scenario demo passed",
        ],
        ..DEFAULTS
    },
    Scenario {
        name: "timeouts",
        about: "Sleep sleeps at least as long as asked; Wait, Receive, Send, Call and WaitNotification take one timeout encoding and time out no sooner than asked, and not seconds later, alone and beside a busy process of init's priority (the A7's assembly paths for a timed wait), and after a wait that ended early left its deadline as the kernel's bound",
        bootargs: "scenario=timeouts",
        expect: &[
            "init: wait timed out as expected",
            "sleeper: slept",
            "init: sleeper exited with code 0",
            "(asked 3000 us, alone)",
            "(asked 2000 us, alone)",
            "(asked 2500 us, alone)",
            "(asked 4000 us, alone)",
            "spinner T: start",
            "(asked 3000 us, beside a spinner)",
            "(asked 2000 us, beside a spinner)",
            "(asked 2500 us, beside a spinner)",
            "(asked 4000 us, beside a spinner)",
            "init: spinner exited with code",
            "(asked 2000000 us, after a wait that ended early)",
            "init: scenario timeouts passed",
        ],
        in_order: true,
        ..DEFAULTS
    },
    Scenario {
        name: "capabilities",
        about: "init holds untyped, device and interrupt capabilities; a hostile holder is refused what it lacks and loses a revoked mapping; deleting a mapped frame's capability unmaps it",
        bootargs: "scenario=capabilities",
        expect: &[
            "KiB of untyped memory",
            "init: the device secret's page 0x43fff000 is outside its untyped memory",
            "init: mapping write and execute together: refused (invalid argument)",
            "init: mapping over the null-pointer guard: refused (bad address)",
            "init: mapping over the stack guard page: refused (bad address)",
            "init: mapping over the kernel: refused",
            "capprobe: 200 of 200 random handles refused",
            "map read-write with a read-only capability: refused (missing right)",
            "derive without DERIVE: refused (missing right)",
            "map a device it has no capability to: refused",
            "capprobe: reads init's data through a read-only mapping",
            "init: revoked everything derived from its frame",
            "use of a revoked capability: refused",
            "kernel: fault in process 'capprobe'",
            "unmapped address",
            "permission fault",
            "capprobe: retyped 4 frames, then: out of memory",
            "init: still retypes memory after capprobe ran out of its own",
            "init: the RTC, mapped through its device capability",
            "init: deleted frame copies first, in the middle and last in their derivation list; the revoke found the rest",
            "of frame copies at random agreed with a model of their tree",
            "init: deleting a mapped frame's capability unmapped it",
            "capprobe: CapObject without INSPECT: refused (missing right)",
            "capprobe: CapObject on each of its 5 capabilities: 5 refused (missing right)",
            "capprobe: CapObject on a copy derived with every right: refused (missing right)",
            "init: scenario capabilities passed",
        ],
        ..DEFAULTS
    },
    Scenario {
        name: "secret",
        about: "a hostile system program given a copy of every capability init can pass on looks for the device secret every way it can and is denied each; its read of the secret's page through the kernel's identity map faults",
        bootargs: "scenario=secret",
        expect: &[
            "init: gave secretprobe 1024 KiB of untyped memory, ",
            "secretprobe: holds ",
            "handles it was not given (every slot, generations 0 to 3): denied (invalid or stale handle",
            "secretprobe: CapObject on its DeviceRegion in slot ",
            "secretprobe: CapObject on its Frame in slot ",
            "interrupts: denied (interrupt numbers, no memory)",
            "secretprobe: the firmware configuration holds \"etc/table-loader\"",
            "among the firmware configuration's ",
            "files: denied (none is named like uds.bin: QEMU's loader puts it in RAM only)",
            "secretprobe: map the boot image and look for the secret's file among its ",
            "none is named like uds.bin)",
            "at the secret's address 0x43fff000 as a virtual address: denied (bad address)",
            "secretprobe: carve a block of all of RAM (64 MiB) from its untyped memory: denied (out of memory)",
            "and ask where each is: denied (all within ",
            "fresh frames and read what they hold: denied (1024 KiB of zeros",
            "secretprobe: receive on the Pluton security server's endpoint (to read others' requests): denied (missing right)",
            "(to call as the loader, badge 0): denied (the copy keeps badge 17)",
            "secretprobe: ask the Pluton security server for DEVICE_ID with badge 17: denied (permission denied)",
            "secretprobe: ask the Pluton security server for ATTEST with badge 17: denied (permission denied)",
            "secretprobe: ask the Pluton security server for ENTROPY_SOURCE with badge 17: denied (permission denied)",
            " attempts, every one denied",
            "init: secretprobe exited with code 0",
            "kernel: fault in process 'secretprobe'",
            "permission fault, address 0x43fff000",
            "init: secretprobe was stopped by the kernel: permission fault",
            "init: secretprobe's read of 0x43fff000 through the kernel's identity map faulted",
            "init: scenario secret passed",
        ],
        in_order: true,
        forbid: &[ALWAYS_FORBIDDEN, "FOUND", "secretprobe: cannot try"],
        check: Some(the_secret_stays_hidden),
        ..DEFAULTS
    },
    Scenario {
        name: "ipc",
        about: "client/server IPC across address spaces: badges, a capability passed with and without GRANT, a dead server; notification bits, bound notifications answering receives, a caller ended while served, a caller whose ASID was taken back while served, a ReplyReceive on an endpoint held without RECEIVE, capabilities passed at the deepest level and into a full CSpace",
        bootargs: "scenario=ipc",
        expect: &[
            "client A: the server sees badge 1",
            "client B: the server sees badge 2",
            "client A: 20 + 22 = 42 across address spaces",
            "client A: passed a frame capability; the server received it with",
            "client A: passing a capability without GRANT: refused (missing right)",
            "client A: the server's copy of its frame went with its revoke",
            "echo: served 7 requests, exiting",
            "client A: call after the server ended: refused",
            "client B: call after the server ended: refused",
            "waiter: took bits 0x4",
            "init: notifications delivered the bits they were for",
            "binder: its notification's bits answered each receive",
            "init: a bound notification's bits answered each receive",
            "init: a caller ended while the server worked for it; the server answered the next",
            "init: a caller whose ASID was taken back while served (260 processes ran) was answered",
            "init: a ReplyReceive on an endpoint held without RECEIVE answered and was refused",
            "and one into a full CSpace (after",
            "init: scenario ipc passed",
        ],
        ..DEFAULTS
    },
    Scenario {
        name: "interrupt",
        about: "an acknowledgement of an interrupt bound to nothing is refused; a user-space driver receives the RTC's interrupt through a notification; then as the bits of a notification bound to its Receive, above a busy process, after more processes ran than there are ASIDs; then below a busy process, which it must not preempt; then second of two receivers on its endpoint; then keeps its bits while it waits on another notification with nothing else running",
        bootargs: "scenario=interrupt",
        expect: &[
            "init: acknowledging an interrupt bound to nothing: refused (invalid argument)",
            "rtcdriver: RTC interrupt delivered through its notification",
            "rtcdriver: interrupt cleared and acknowledged",
            "init: rtcdriver exited with code 0",
            "waiting in a receive, the notification bound",
            "kernel: all 255 ASIDs are in use",
            "init: 260 processes ran while the driver waited",
            "rtcdriver: RTC interrupt answered the receive after",
            "rtcdriver: interrupt cleared and acknowledged",
            "init: rtcdriver exited with code 0",
            "init: spinner exited with code",
            "init: the driver below a busy process got its interrupt when the spinner ended",
            "init: the driver second of two receivers got its interrupt; the first still answered",
            "waiting on another notification",
            "the interrupt's bit waited in its notification",
            "rtcdriver: interrupt cleared and acknowledged",
            "init: rtcdriver exited with code 0",
            "init: scenario interrupt passed",
        ],
        in_order: true,
        ..DEFAULTS
    },
    Scenario {
        name: "gpio",
        about: "a user-space GPIO server shares the PL061: the app granted pin 3 drives pin 3 but not pin 4, and the other way round; an app granted nothing holds nothing",
        bootargs: "scenario=gpio",
        expect: &[
            "gpiod: serving 8 pins",
            "gpioprobe: pin 3 driven high then low and read back; pin 4 refused: permission denied",
            "gpioprobe: pin 4 driven high then low and read back; pin 3 refused: permission denied",
            "gpioprobe: no GPIO grant: holds 0 GPIO capabilities and 0 device regions; guessed handles map nothing: true",
            "kernel: process 'gpiod' (pid ",
            "init: scenario gpio passed",
        ],
        ..DEFAULTS
    },
    Scenario {
        name: "apps",
        about: "signed app packages become processes holding exactly their manifest's grants: tampered, unsigned and unsupported packages are refused while the rest boot, and so are a second app with blinky's ComponentId, one asking for blinky's pin and one asking for echoserver's TCP port; hostile apps are denied everything else; three apps of many pages start beside the rest and the summary counts what started; a crash-looping app is restarted with back-off, logged and held while blinky keeps running; an app that allocates until its heap runs out crashes alone and is held the same way, while blinky keeps its history on its heap",
        bootargs: "scenario=apps",
        expect: &[
            "init: app 'test-tampered' refused: untrusted package: signature does not match key",
            "init: app 'test-unsigned' refused: untrusted package: package is not signed",
            "init: app 'test-truncated' refused: malformed package: truncated",
            "init: app 'test-app-area' refused: its program has a segment in the MiB of the app's start information and heap",
            "init: app 'test-needs-i2c' refused: I2cMaster 0: QEMU virt has no I2cMaster to grant",
            "init: app 'test-dup-component' refused: ComponentId 9e454ffb-8a9f-4032-994f-372f10c230de is already used by app 'blinky'",
            "init: app 'test-pin-thief' refused: GPIO 5 is already granted to app 'blinky'",
            "init: app 'test-port-thief' refused: TCP server port 7 is already granted to app 'echoserver'",
            "test-big-1: started; its 28 KiB table checks out",
            "test-big-2: started; its 28 KiB table checks out",
            "test-big-3: started; its 28 KiB table checks out",
            "init: app 'hostile': network grants recorded for the network server",
            "init: app 'hostile': MutableStorage recorded for the storage server",
            "init: app 'blinky' (Blinky, component ",
            "blinky: tick 1: LED high (reads high)",
            "hostile: GPIO pin 6 (granted) works",
            "hostile: GPIO pin 4: denied (denied: outside what the manifest granted)",
            "hostile: read GPIO pin 5 (blinky's): denied (denied: outside what the manifest granted)",
            // Denied: the server still answers, or (when QEMU's entropy
            // device answered before the server waited for it, every
            // time) it never waited mid-request.
            "hostile: take its Pluton buffer away while the server answers a request: denied (the Pluton server ",
            "hostile: Pluton: ask for evidence 8 times in a row: denied (refused as busy once its share was spent)",
            "hostile: open UART 0: denied (not granted: the manifest has no Uart)",
            "hostile: use GPIO: denied (not granted: the manifest has no Gpio)",
            "hostile: map a device through a guessed handle: denied",
            "hostile: power the machine off: denied",
            "hostile: re-badge its GPIO capability to every pin: denied (missing right)",
            "hostile: CapObject on its capability in slot 1: denied (missing right)",
            "hostile: copy its page capability in slot 1: denied (missing right)",
            "widen its page in slot 1 (Rights(READ | EXECUTE)): denied (only its mapping's rights)",
            "init: app 'hostile' finished (exit 0)",
            "init: app 'test-hostile-bare' finished (exit 0)",
            "test-heap-hog: 64 KiB of heap; allocating 1024 byte blocks until it runs out",
            "test-heap-hog: holds 48 KiB",
            "memory allocation of 1024 bytes failed",
            "init: app 'test-heap-hog' restarts in 100 ms",
            "init: app 'test-heap-hog' held: 3 crashes within 10 s; not restarted",
            ": app=crasher component=",
            "ended=fault \"unmapped address\" pc=0x",
            "init: app 'crasher' restarts in 100 ms",
            "init: app 'crasher' restarts in 200 ms",
            "init: app 'crasher' held: 3 crashes within 10 s; not restarted",
            "init: failure log: 6 entries kept, 6 crashes since boot",
            "blinky: last 8 reads HLHLHLHL (kept on its heap, ",
            "init: app 'uartecho' (UartEcho, component ",
            "uartecho: echoed \"host: hello, uartecho\"",
            "init: scenario apps passed",
        ],
        forbid: &[
            ALWAYS_FORBIDDEN,
            "ALLOWED",
            "test-needs-i2c: started",
            "test-dup-component: started",
            "test-pin-thief: started",
            "drove GPIO 5",
            "test-port-thief: started",
            "listening on TCP port 7",
            "could not be started",
            "failure #7",
            "app error",
        ],
        check: Some(apps_check),
        uart: Some(Mode::Talk(TALK_LINE)),
        ..DEFAULTS
    },
    Scenario {
        name: "loader",
        about: "init loads a program from the boot image into a process carved from its own memory; a process ends with its last capability",
        bootargs: "scenario=loader",
        expect: &[
            "init: reads the boot image through its read-only capability",
            "hello: running in user mode",
            "init: hello (loaded by init) exited with code 0",
            "kernel: process 'sleeper' (pid ",
            ") ended: its last capability is gone",
            "init: the sleeper ended with its last capability",
            "init: made 64 processes from 1 MiB, then: out of memory",
            "kernel: all 255 ASIDs are in use; from now on they are taken back and handed out anew when they run out",
            "init: 300 processes ran, each in its own address space",
            "init: processes holding the only capability to themselves ended cleanly",
            "init: a process does not fit in 8 KiB of untyped memory",
            "init: scenario loader passed",
        ],
        in_order: true,
        ..DEFAULTS
    },
    Scenario {
        name: "revoke",
        about: "a revoke stopped at every step by a (simulated) pending interrupt restarts and finishes the same",
        bootargs: "scenario=revoke kernel.preempt-test",
        expect: &[
            "kernel: revoke stopped at a pending interrupt; the call restarts where it stopped",
            "init: after the revoke, 0 of 30 descendants are left",
            "init: scenario revoke passed",
        ],
        in_order: true,
        ..DEFAULTS
    },
    Scenario {
        name: "storm",
        about: "processes at two priorities make random syscalls at each other, good and bad (handles, rights, kinds, reserved bits, capabilities passed, derived, deleted and revoked, timeouts), each answer checked, one more ended in the middle, and two that make any syscall with random registers; the test kernel checks its invariants at every entry",
        bootargs: "scenario=storm",
        timeout_secs: 120,
        expect: &[
            "init: storm 5 ended in the middle of the storm",
            "init: storm 6 (chaos) ended in the middle of the storm",
            "init: storm 7 (chaos) ended in the middle of the storm",
            "init: 4 storm processes ended cleanly, 3 more were ended in the middle",
            "init: two servers on one endpoint answered",
            "init: scenario storm passed",
        ],
        in_order: true,
        forbid: &[ALWAYS_FORBIDDEN, "WRONG"],
        check: Some(storm_was_a_storm),
        ..DEFAULTS
    },
    Scenario {
        name: "server-garbage",
        about: "an app sends the GPIO, UART and Pluton servers 1,000 random calls each (some naming capabilities, which the kernel refuses to pass), each answered, and each server still serves it",
        bootargs: "scenario=server-garbage",
        timeout_secs: 60,
        expect: &[
            "test-solo-server-garbage: 1000 garbage calls to the GPIO server: ",
            "test-solo-server-garbage: 1000 garbage calls to the UART server: ",
            "test-solo-server-garbage: 1000 garbage calls to the Pluton server: ",
            "test-solo-server-garbage: the GPIO server still serves: pin 6 set high, reads high",
            "test-solo-server-garbage: the UART server still serves: a line written",
            "test-solo-server-garbage: the Pluton security server still serves: random bytes, DeviceID ",
            "init: scenario server-garbage passed",
        ],
        in_order: true,
        forbid: &[ALWAYS_FORBIDDEN, "UNEXPECTED"],
        ..DEFAULTS
    },
    Scenario {
        name: "kernel-panic",
        about: "a kernel panic prints where it was raised and ends QEMU with status 101",
        bootargs: "kernel.panic-test",
        exit_status: 101,
        expect: &["kernel panic: raised at kernel/src/main.rs:"],
        forbid: &["init: root task started"],
        allow_panic: true,
        ..DEFAULTS
    },
    Scenario {
        name: "uart",
        about: "a user-space UART server drives QEMU's virtio console: the app granted UART 0 writes a line and reads the host's echo back; a capability without the UART is refused",
        bootargs: "scenario=uart",
        expect: &[
            "uartd: serving UART 0: the virtio console at 0x0a00",
            "uartprobe: write through the capability with no badge: refused (permission denied)",
            "uartprobe: read through the capability with no badge: refused (permission denied)",
            "uartprobe: write to UART 1, which the board does not have: refused (invalid argument)",
            "uartprobe: write through a handle it does not hold: refused (invalid handle)",
            "uartprobe: wrote 39 bytes to UART 0 and read them back from the echo: \"tessera: hello over the virtio console\"",
            "init: uartprobe exited with code 0",
            "kernel: process 'uartd' (pid ",
            "init: scenario uart passed",
        ],
        in_order: true,
        uart: Some(Mode::Echo),
        ..DEFAULTS
    },
    Scenario {
        name: "user-image",
        about: "the image `cargo xtask qemu` boots holds no test program or hook; its crasher sample faults, is reported, restarted with back-off and held while blinky keeps running; the network server gets its address from QEMU's user network by DHCP",
        image: Image::User,
        bootargs: "",
        timeout_secs: 8,
        stopped_by_timeout: true,
        expect: &[
            "kernel: Tessera",
            "plutond: DeviceID ",
            "init: DeviceID ",
            "init: app 'blinky' (Blinky, component ",
            "init: app 'crasher' (Crasher, component ",
            "crasher: started; working for 1 s",
            "kernel: fault in process 'crasher'",
            "init: failure #1: app=crasher",
            "init: app 'crasher' restarts in 100 ms",
            "init: failure #2: app=crasher",
            "init: app 'crasher' restarts in 200 ms",
            "init: failure #3: app=crasher",
            "init: app 'crasher' held: 3 crashes within 10 s; not restarted",
        ],
        in_order: true,
        forbid: &[ALWAYS_FORBIDDEN, "test-", "scenario", "BENCH", "must never print", "failure #4"],
        check: Some(user_image_programs_and_blinky),
        ..DEFAULTS
    },
];

/// The `preempt` check: lines with `spinner A: progress` and
/// `spinner B: progress` both come before the first line containing
/// `: done`, so each spinner made progress while the other was still
/// running. With no `: done` line at all, both progress lines must appear.
pub fn both_spinners_progress_before_either_is_done(output: &str) -> Result<()> {
    let lines: Vec<&str> = output.lines().collect();
    let done = lines.iter().position(|line| line.contains(": done"));
    let before = &lines[..done.unwrap_or(lines.len())];
    let missing: Vec<String> = ["spinner A: progress", "spinner B: progress"]
        .into_iter()
        .filter(|wanted| !before.iter().any(|line| line.contains(wanted)))
        .map(|wanted| format!("`{wanted}`"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let place = match done {
        Some(index) => format!("before the first `: done` line (`{}`)", lines[index].trim_end()),
        None => "anywhere".to_string(),
    };
    Err(format!("no {} line {place}", missing.join(" or ")))
}

/// What the `storm` scenario's four processes together must at least have
/// seen (their summary lines' counts, added up; a run sees about four
/// times as many of each): without them the storm did not cover what it is
/// there for.
const STORM_FLOOR: [(&str, u64); 6] = [
    ("calls answered", 1_000),
    ("answers passing a capability", 50),
    ("requests served", 1_000),
    ("takes of notification bits", 400),
    ("refusals as predicted", 4_000),
    ("revokes of the frame", 200),
];

/// The storm processes in chaos mode, and the operations each must report
/// before `init` ends it.
const CHAOS: [u32; 2] = [6, 7];
const CHAOS_FLOOR: u32 = 5_000;

/// The `storm` check: each of the four storm processes printed its summary
/// with nothing wrong, and together they saw at least [`STORM_FLOOR`];
/// each in chaos mode made at least [`CHAOS_FLOOR`] syscalls.
pub fn storm_was_a_storm(output: &str) -> Result<()> {
    for id in CHAOS {
        let progress = format!("storm {id}: {CHAOS_FLOOR} operations of chaos");
        if !output.contains(&progress) {
            return Err(format!("no `{progress}`: the chaos did not run"));
        }
    }
    let mut seen = [0u64; STORM_FLOOR.len()];
    for id in 1..=4 {
        let prefix = format!("storm {id}: ");
        // The console names the process first: `storm: storm 1: ...`.
        let (line, summary) = output
            .lines()
            .find_map(|line| {
                Some((line, line.split_once(&prefix)?.1)).filter(|(_, rest)| rest.contains(" operations: "))
            })
            .ok_or_else(|| format!("no summary line from storm {id}"))?;
        let numbers: Vec<u64> = summary
            .split(|c: char| !c.is_ascii_digit())
            .filter(|word| !word.is_empty())
            .map(|word| word.parse().unwrap_or(u64::MAX))
            .collect();
        // operations, answered, carried, served, bits, refused, timed out,
        // revokes, wrong
        let [_, answered, carried, served, bits, refused, _, revokes, wrong] = numbers[..] else {
            return Err(format!("storm {id}'s summary is not as expected: `{line}`"));
        };
        if wrong != 0 {
            return Err(format!("storm {id} found {wrong} wrong answers"));
        }
        for (total, count) in seen.iter_mut().zip([answered, carried, served, bits, refused, revokes]) {
            *total = total.saturating_add(count);
        }
    }
    for ((what, floor), seen) in STORM_FLOOR.into_iter().zip(seen) {
        if seen < floor {
            return Err(format!(
                "the storm processes saw {seen} {what}, fewer than {floor}: the storm did not cover it"
            ));
        }
    }
    Ok(())
}

/// The `apps` scenario's checks: the summary counts what really started,
/// blinky still ticks after the crash loop was held, and the Pluton
/// security server reports the provisioned DeviceID and never the secret.
pub fn apps_check(output: &str) -> Result<()> {
    for who in ["init", "plutond"] {
        stack_headroom(output, who)?;
    }
    summary_matches_the_apps(output)?;
    blinky_goes_on_after_the_hold(output)?;
    network_up_and_seeded(output)?;
    device_id_is_the_provisioned_one(output)
}

/// The least stack a program must have left (its stack is 16 KiB, with an
/// unmapped page below: going past it is a fault).
const STACK_HEADROOM: usize = 2048;

/// `who` reported its stack's high-water mark (`who: stack high-water N of
/// M bytes`) with at least [`STACK_HEADROOM`] bytes to spare.
fn stack_headroom(output: &str, who: &str) -> Result<()> {
    let prefix = format!("{who}: stack high-water ");
    let line = output
        .lines()
        .find_map(|line| line.trim_end().strip_prefix(&prefix))
        .ok_or_else(|| format!("no `{prefix}N of M bytes` line"))?;
    let numbers: Vec<usize> = line.split(' ').filter_map(|word| word.parse().ok()).collect();
    match numbers[..] {
        [used, size] if used + STACK_HEADROOM <= size => Ok(()),
        [used, size] => Err(format!("{who} used {used} of its {size}-byte stack: less than {STACK_HEADROOM} to spare")),
        _ => Err(format!("cannot read `{prefix}{line}`")),
    }
}

/// The Pluton security server's DeviceID, as it and `init` print it, is the
/// one in this checkout's DeviceID certificate (`.tessera/device-id.pem`,
/// `cargo xtask provision`): the secret reached it and nobody else.
pub fn device_id_is_the_provisioned_one(output: &str) -> Result<()> {
    let provisioned = crate::provision::ensure(&crate::workspace_root())?;
    let wanted = tessera_pluton_core::identifier(provisioned.device_id_key.verifying_key());
    let wanted: String = wanted.iter().map(|byte| format!("{byte:02x}")).collect();
    for who in ["plutond", "init"] {
        let prefix = format!("{who}: DeviceID ");
        let line = output
            .lines()
            .find_map(|line| line.trim_end().strip_prefix(&prefix))
            .ok_or_else(|| format!("no `{prefix}...` line: the Pluton security server did not start or answer"))?;
        if line != wanted {
            return Err(format!("{who} reports DeviceID {line}, but the provisioned certificate's is {wanted}"));
        }
    }
    no_part_of_the_secret(output, provisioned.uds.expose())
}

/// No part of the secret ever reaches the console: no 8-byte run of it, in
/// hex either way round, nor as raw bytes.
fn no_part_of_the_secret(output: &str, secret: &[u8]) -> Result<()> {
    for window in secret.windows(8) {
        let hex: String = window.iter().map(|byte| format!("{byte:02x}")).collect();
        let upper = hex.to_uppercase();
        if output.contains(&hex) || output.contains(&upper) || output.as_bytes().windows(8).any(|w| w == window) {
            return Err("the console shows part of the Unique Device Secret".to_string());
        }
    }
    Ok(())
}

/// The `secret` scenario: the secret reached `plutond` and no one else
/// (the provisioned DeviceID, no part of the UDS on the console), and the
/// test image's boot image, which the probe reads but cannot search for a
/// secret it does not know, holds no part of it either.
pub fn the_secret_stays_hidden(output: &str) -> Result<()> {
    device_id_is_the_provisioned_one(output)?;
    let provisioned = crate::provision::ensure(&crate::workspace_root())?;
    let runs: std::collections::HashSet<&[u8]> = provisioned.uds.expose().windows(8).collect();
    let path = crate::image::boot_image_path(Image::Test);
    let image = std::fs::read(&path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    if image.windows(8).any(|bytes| runs.contains(bytes)) {
        return Err(format!("{} holds part of the Unique Device Secret", path.display()));
    }
    Ok(())
}

/// The line `init: N apps started, M refused` agrees with the lines before
/// it: N apps were started (each has its `init: app 'x' (Name, component
/// ...) verified` line and none `could not be started`) and M refusal
/// lines.
pub fn summary_matches_the_apps(output: &str) -> Result<()> {
    let lines: Vec<&str> = output.lines().collect();
    let at = lines
        .iter()
        .position(|line| line.contains("init: ") && line.contains(" apps started, "))
        .ok_or("no `init: N apps started, M refused` line")?;
    let summary = lines[at].trim_end();
    let numbers: Vec<usize> =
        summary.split(|c: char| !c.is_ascii_digit()).filter_map(|word| word.parse().ok()).collect();
    let count =
        |what: &str| lines[..at].iter().filter(|line| line.contains("init: app '") && line.contains(what)).count();
    let (verified, failed, refused) =
        (count(") verified; grants:"), count("' could not be started:"), count("' refused: "));
    let expected =
        if failed == 0 { vec![verified, refused] } else { vec![verified.saturating_sub(failed), refused, failed] };
    if numbers == expected {
        Ok(())
    } else {
        Err(format!(
            "`{summary}` does not match the log before it: {verified} apps verified, {failed} could not be started, {refused} refused"
        ))
    }
}

/// The `apps` scenario: blinky still ticks after the crash loop was held.
/// The `console` scenario: no line the forger printed starts as a kernel
/// or init line would, no raw control byte reached the console, an open
/// line was ended before the next writer's, the flood was cut to the
/// output budget (16 KiB at once, 4 KiB a second), and the kernel's
/// reports of what was dropped were paid from it.
pub fn forged_lines_keep_their_origin(output: &str) -> Result<()> {
    for line in output.lines() {
        if line.contains("forged") && !line.starts_with("forger: ") {
            return Err(format!("a forged line lost its origin: `{line}`"));
        }
        if line.starts_with("flood: ") {
            return Err(format!("a flood line lost its origin: `{line}`"));
        }
    }
    if let Some(byte) = output.bytes().find(|&byte| byte != b'\n' && byte != b'\r' && !(0x20..0x7F).contains(&byte)) {
        return Err(format!("a raw control or non-ASCII byte {byte:#04x} reached the console"));
    }
    if !output.lines().any(|line| line == "forger: an unfinished line") {
        return Err("the unfinished line was not ended before the next writer's".to_string());
    }
    let flood =
        output.lines().filter(|line| line.starts_with("forger: flood: ")).map(|line| line.len() + 1).sum::<usize>();
    if !(8 * 1024..=20 * 1024).contains(&flood) {
        return Err(format!("{flood} bytes of the 64 KiB flood were printed; the budget allows 16 KiB at once"));
    }
    // One report after the flood, and after the trickle at most what
    // 300 ms and a second earn (about 5 KiB) pays for at 160 bytes each.
    let reports = output.matches("kernel: process 'forger' (pid ").count();
    if !(2..=40).contains(&reports) {
        return Err(format!("{reports} reports of the forger's dropped output; its budget pays for 2 to 40"));
    }
    Ok(())
}

/// The `pmu` scenario: each of its three probes ended with an undefined
/// instruction fault.
pub fn three_undefined_instruction_faults(output: &str) -> Result<()> {
    let faults = output.matches("kernel: fault in process 'probe'").count();
    let undefined = output.matches(tessera_abi::FaultKind::UndefinedInstruction.name()).count();
    if faults == 3 && undefined >= 3 {
        Ok(())
    } else {
        Err(format!("expected 3 probe faults by undefined instruction, saw {faults} faults and {undefined} mentions"))
    }
}

/// The line the network server prints once QEMU's user network (slirp)
/// has given it its address by DHCP.
pub const NETWORK_UP: &str = "netd: 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3 (DHCP)";

/// What the network server prints when `init` could not give it 32 bits
/// from the Pluton security server's generator for its random seed.
pub const NETWORK_UNSEEDED: &str = "netd: no random seed from the Pluton security server";

/// The network server got its address by DHCP and its random seed from
/// the Pluton security server.
fn network_up_and_seeded(output: &str) -> Result<()> {
    if !output.lines().any(|line| line.trim_end() == NETWORK_UP) {
        return Err(format!("the network server did not print `{NETWORK_UP}`"));
    }
    if let Some(line) = output.lines().find(|line| line.contains(NETWORK_UNSEEDED)) {
        return Err(format!("the network server was started without a random seed: `{}`", line.trim_end()));
    }
    Ok(())
}

/// The user image: the kernel found only init, the system servers, the
/// sample apps and the trusted keys in its boot image (no test program or
/// fixture), blinky went on after the crasher was held, and the network
/// server got its address by DHCP ([`NETWORK_UP`], checked here rather
/// than among the scenario's `expect` lines, which must come in order:
/// when the lease arrives among the apps' lines varies from run to run).
pub fn user_image_programs_and_blinky(output: &str) -> Result<()> {
    stack_headroom(output, "init")?;
    let line = output
        .lines()
        .find(|line| line.contains("programs in the boot image"))
        .ok_or("the kernel did not say how many programs its boot image holds")?;
    let count: usize = line
        .split_whitespace()
        .skip_while(|word| *word != "kernel:")
        .nth(1)
        .and_then(|word| word.parse().ok())
        .ok_or_else(|| format!("cannot read the program count in `{}`", line.trim_end()))?;
    // The samples an A7 image holds: not the real-time ones (the M4's).
    let samples = crate::apps::discover()?
        .iter()
        .filter(|app| !crate::apps::is_test_app(&app.name) && !crate::apps::is_real_time(app))
        .count();
    let wanted = crate::image::SYSTEM_PROGRAMS.len() + samples + 1;
    if count != wanted {
        return Err(format!(
            "the user image holds {count} programs, expected {wanted}: the system programs, {samples} sample apps and the trusted keys"
        ));
    }
    blinky_goes_on_after_the_hold(output)?;
    network_up_and_seeded(output)?;
    device_id_is_the_provisioned_one(output)
}

pub fn blinky_goes_on_after_the_hold(output: &str) -> Result<()> {
    let held = output.find("init: app 'crasher' held").ok_or("the crash loop was never held")?;
    if output[held..].contains("blinky: tick ") {
        Ok(())
    } else {
        Err("blinky did not tick after the crash loop was held".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut names = std::collections::HashSet::new();
        for scenario in SCENARIOS {
            assert!(names.insert(scenario.name), "duplicate scenario {}", scenario.name);
            assert!(!scenario.about.is_empty());
            if scenario.allow_panic {
                // Ends in the kernel, before init runs a scenario.
                assert_eq!(scenario.exit_status, tessera_abi::PANIC_EXIT_STATUS as i32);
                assert!(!scenario.forbid.contains(&ALWAYS_FORBIDDEN), "{}", scenario.name);
                continue;
            }
            assert!(scenario.timeout_secs > 0);
            assert!(scenario.forbid.contains(&ALWAYS_FORBIDDEN), "{}", scenario.name);
            if scenario.image == Image::User {
                // What a user sees: it runs until stopped.
                assert!(scenario.bootargs.is_empty() && scenario.stopped_by_timeout, "{}", scenario.name);
                continue;
            }
            assert!(scenario.bootargs.starts_with(&format!("scenario={}", scenario.name)), "{}", scenario.name);
            let passed = format!("init: scenario {} passed", scenario.name);
            assert_eq!(scenario.expect.last(), Some(&passed.as_str()), "{}", scenario.name);
        }
        assert_eq!(SCENARIOS.len(), 27);
    }

    #[test]
    fn virt_runs_every_scenario_of_the_table() {
        // qemu/virt/board.json records the scenarios the board runs; virt,
        // the everyday board, runs them all.
        let board = tessera_board::Board::load("virt").unwrap();
        let table: Vec<&str> = SCENARIOS.iter().map(|scenario| scenario.name).collect();
        assert_eq!(board.scenarios, table);
    }

    #[test]
    fn no_part_of_the_secret_may_reach_the_console() {
        // Printable bytes, so the raw run can be part of a string.
        let secret: Vec<u8> = (b'A'..b'A' + 32).collect();
        assert_eq!(no_part_of_the_secret("init: DeviceID 0102030405060708 ABCDEFG\n", &secret), Ok(()));
        let hex: String = secret[5..13].iter().map(|byte| format!("{byte:02x}")).collect();
        assert!(no_part_of_the_secret(&format!("leak {hex}\n"), &secret).is_err());
        assert!(no_part_of_the_secret(&format!("leak {}\n", hex.to_uppercase()), &secret).is_err());
        let raw = String::from_utf8(secret[20..28].to_vec()).unwrap();
        assert!(no_part_of_the_secret(&format!("leak {raw}\n"), &secret).is_err());
    }

    #[test]
    fn fault_strings_match_the_abi_names() {
        use tessera_abi::FaultKind;
        let fault_kinds = SCENARIOS.iter().find(|s| s.name == "fault-kinds").unwrap();
        for kind in [FaultKind::Unmapped, FaultKind::UndefinedInstruction, FaultKind::Alignment, FaultKind::Permission]
        {
            assert!(fault_kinds.expect.contains(&kind.name()), "{}", kind.name());
        }
        let exec_data = SCENARIOS.iter().find(|s| s.name == "exec-data").unwrap();
        assert_eq!(exec_data.expect[0], FaultKind::ExecuteNever.name());
        let kernel_read = SCENARIOS.iter().find(|s| s.name == "kernel-read").unwrap();
        assert!(kernel_read.expect[1].starts_with(FaultKind::Permission.name()));
    }

    #[test]
    fn the_apps_summary_must_count_what_started() {
        let log = "init: app 'a' refused: GPIO 5 is already granted to app 'b'\n\
                   init: app 'b' (B, component 1) verified; grants: GPIO pins 0x20, UARTs 0x0\n\
                   init: app 'c' (C, component 2) verified; grants: GPIO pins 0x00, UARTs 0x0\n";
        assert_eq!(summary_matches_the_apps(&format!("{log}init: 2 apps started, 1 refused\n")), Ok(()));
        let err = summary_matches_the_apps(&format!("{log}init: 3 apps started, 1 refused\n")).unwrap_err();
        assert!(err.contains("2 apps verified"), "{err}");
        let failed = format!("{log}init: app 'c' could not be started: slot occupied\n");
        assert!(summary_matches_the_apps(&format!("{failed}init: 2 apps started, 1 refused\n")).is_err());
        assert_eq!(
            summary_matches_the_apps(&format!("{failed}init: 1 apps started, 1 refused, 1 could not be started\n")),
            Ok(())
        );
        assert!(summary_matches_the_apps(log).is_err());
    }

    #[test]
    fn preempt_check_accepts_interleaved_spinners() {
        let output = "init: starting\n\
                      spinner A: progress 1\n\
                      spinner B: progress 1\n\
                      spinner A: progress 2\n\
                      spinner A: done\n\
                      spinner B: progress 2\n\
                      spinner B: done\n\
                      init: scenario preempt passed\n";
        assert_eq!(both_spinners_progress_before_either_is_done(output), Ok(()));
        let crlf = "spinner B: progress\r\nspinner A: progress\r\nspinner B: done\r\n";
        assert_eq!(both_spinners_progress_before_either_is_done(crlf), Ok(()));
    }

    #[test]
    fn preempt_check_rejects_one_spinner_running_to_completion() {
        let output = "spinner A: progress 1\n\
                      spinner A: progress 2\n\
                      spinner A: done\n\
                      spinner B: progress 1\n\
                      spinner B: done\n";
        let err = both_spinners_progress_before_either_is_done(output).unwrap_err();
        assert!(err.contains("spinner B: progress"), "{err}");
        assert!(err.contains("spinner A: done"), "{err}");
        assert!(!err.contains("spinner A: progress"), "{err}");
    }

    #[test]
    fn preempt_check_without_done_lines() {
        assert_eq!(both_spinners_progress_before_either_is_done("spinner A: progress\nspinner B: progress\n"), Ok(()));
        let err = both_spinners_progress_before_either_is_done("kernel: Tessera\n").unwrap_err();
        assert!(err.contains("anywhere"), "{err}");
        assert!(err.contains("spinner A: progress") && err.contains("spinner B: progress"), "{err}");
    }
}
