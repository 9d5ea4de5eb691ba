//! The root task on the M4: calls `echo`, then makes floating-point rounds
//! while `echo` makes its own (preemption interleaves them, and each must
//! keep its FPU registers), starts a child whose
//! stack pointer aims at the kernel's data (its boot arguments name the
//! address), which must end in a fault before it runs, and switches the
//! machine off with 0 if every answer was right.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_m_programs::{address_argument, fp_round, ADD, DONE, INSPECT, PING, ROUNDS, ROUND_SPINS, YIELD};
use tessera_rt::{
    call, cap_derive, cap_grant, cap_move, cap_object, cap_revoke, find_initial_capability,
    for_each_initial_capability, interrupt_ack, interrupt_bind, map_into, null, println, process_name, process_setup,
    process_start, retype, shutdown, uptime_micros, wait, wait_notification, yield_now, Ended, Error, FaultKind,
    Handle, Mapping, Message, ObjectType, Rights, Timeout,
};

tessera_rt::entry!(main);

mod apps;

// The devices the board description grants `init` (`DEVICES`) and where
// the app slots are (`APP_SLOTS`).
include!(concat!(env!("OUT_DIR"), "/devices.rs"));

/// The device region of the board device named `name` (from `DEVICES`).
fn device(name: &str) -> Result<Handle, Error> {
    let (_, base) = DEVICES.iter().find(|(device, _)| *device == name).ok_or(Error::NotFound)?;
    let mut found = None;
    for_each_initial_capability(|handle, info| {
        if info.kind == ObjectType::DeviceRegion && cap_object(handle).is_ok_and(|(at, _)| at == *base) {
            found = Some(handle);
        }
    });
    found.ok_or(Error::NotFound)
}

/// The timer `init` drives and the UART the UART server drives for apps.
const TIMER: &str = "CMSDK timer 0";
const APP_UART: &str = "CMSDK UART 1";
/// The UART server's priority: below `init`, above the apps.
const UARTD_PRIORITY: u32 = 8;

/// Loads the UART server into its slot with the apps' UART and an
/// endpoint to receive on, starts it, and returns `init`'s copy of the
/// endpoint (to mint the apps' badged copies from).
fn start_uartd(memory: &Memory, untyped: Handle) -> Result<Handle, Error> {
    let uart = device(APP_UART)?;
    let (elf, slot) = memory.program("uartd")?;
    let endpoint = retype(untyped, ObjectType::Endpoint, 64)?;
    let started = tessera_loader::identity::load(slot, Some(memory.frame), "uartd", elf, 0).and_then(|placed| {
        if let Some(code) = placed.code_in_place {
            println!("uartd's code runs in place at {code:#010x}");
        }
        cap_move(uart, placed.process)?;
        cap_grant(endpoint, placed.process, Rights::RECEIVE)?;
        process_start(placed.process, UARTD_PRIORITY)
    });
    if let Err(error) = started {
        // Whatever was made goes back to the slot (the UART with it).
        let _ = cap_revoke(slot);
        let _ = tessera_rt::cap_delete(endpoint);
        return Err(error);
    }
    Ok(endpoint)
}

/// Makes a process whose code page is its own but whose stack pointer is
/// `stack`, starts it, and says how it ended.
fn start_aimed_at(untyped: Handle, stack: u32) -> Result<Ended, Error> {
    let process = retype(untyped, ObjectType::Process, tessera_abi::PROCESS_OBJECT_BYTES)?;
    let code = retype(untyped, ObjectType::Frame, 4096)?;
    // User addresses are physical: the frame maps at its own address.
    let (at, _) = cap_object(code)?;
    map_into(code, process, at, Rights::READ | Rights::EXECUTE)?;
    process_name(process, "stack-aimer")?;
    process_setup(process, at, stack, 0)?;
    process_start(process, 1)?;
    wait(Some(process), Some(1_000_000)).map(|(_, ended)| ended)
}

/// The CMSDK timer's registers (the board description's device for
/// programs): control (bit 0 enable, bit 3 interrupt enable), reload
/// value, and interrupt status (write 1 to clear).
const TIMER_CTRL: u32 = 0x0;
const TIMER_VALUE: u32 = 0x4;
const TIMER_RELOAD: u32 = 0x8;
const TIMER_INTCLEAR: u32 = 0xC;
/// Timer interrupts to take: each through the NVIC, the kernel, the
/// notification and the acknowledgement.
const TICKS: u32 = 3;

/// Drives the timer the kernel granted (its registers and its interrupt
/// line): a millisecond period, [`TICKS`] interrupts each waited for on a
/// notification and acknowledged, then off. Returns how many came.
fn timer_ticks(untyped: Handle) -> Result<u32, Error> {
    let device = device(TIMER)?;
    let interrupt = find_initial_capability(ObjectType::Interrupt, Rights::empty()).ok_or(Error::NotFound)?;
    // User addresses are physical: the registers map at their own address.
    let (base, _) = cap_object(device)?;
    let timer = Mapping::new(device, base, Rights::READ | Rights::WRITE)?;
    let notification = retype(untyped, ObjectType::Notification, 64)?;
    interrupt_bind(interrupt, notification, 0)?;
    // 25,000 ticks of the 25 MHz peripheral clock: a millisecond.
    timer.write_u32(TIMER_RELOAD, 25_000);
    timer.write_u32(TIMER_VALUE, 25_000);
    timer.write_u32(TIMER_CTRL, 0b1001);
    let mut ticks = 0;
    while ticks < TICKS {
        let bits = wait_notification(notification, 1, Timeout::Millis(100))?;
        if bits & 1 == 0 {
            break;
        }
        timer.write_u32(TIMER_INTCLEAR, 1);
        interrupt_ack(interrupt)?;
        ticks += 1;
    }
    timer.write_u32(TIMER_CTRL, 0);
    Ok(ticks)
}

/// How long `init` supervises the apps in the scenario's build: `crasher`
/// is held after about 3.5 s (it works a second before each of its three
/// crashes); `uartecho`, and any app of yours that runs forever, is left
/// running.
const SCENARIO_APPS_MICROS: u64 = 6_000_000;

/// The boot image the kernel granted (read-only, mapped at its own
/// address; readable and executable, and mapped by the kernel, as init's
/// code runs from it) and the untyped memory `init` was given: the largest block is
/// for objects, the others are program slots.
struct Memory {
    image: Mapping,
    /// The boot image's frame, to slice programs' code from (code in
    /// place).
    frame: tessera_loader::identity::BootImageFrame,
    general: Handle,
}

impl Memory {
    fn find() -> Result<Memory, Error> {
        let handle = find_initial_capability(ObjectType::Frame, Rights::READ).ok_or(Error::NotFound)?;
        let (at, bytes) = cap_object(handle)?;
        // Mapped already when init's own code runs from it.
        let image = Mapping::new_or_existing(handle, at, Rights::READ)?;
        let frame = tessera_loader::identity::BootImageFrame { frame: handle, base: at, bytes };
        let mut general = None;
        let mut largest = 0;
        for_each_initial_capability(|handle, info| {
            if info.kind == ObjectType::Untyped {
                if let Ok((_, bytes)) = cap_object(handle) {
                    if bytes > largest {
                        (general, largest) = (Some(handle), bytes);
                    }
                }
            }
        });
        Ok(Memory { image, frame, general: general.ok_or(Error::NotFound)? })
    }

    /// The boot image.
    fn image(&self) -> Result<tessera_abi::bootimage::BootImage<'_>, Error> {
        // The mapping is whole pages; the image says how long it is.
        let bytes = self.image.as_bytes();
        let size = tessera_abi::bootimage::declared_size(bytes).filter(|&size| size <= bytes.len());
        tessera_abi::bootimage::BootImage::parse(&bytes[..size.ok_or(Error::BadImage)?]).map_err(|_| Error::BadImage)
    }

    /// Program `name` of the boot image, and the slot it is linked for.
    fn program(&self, name: &str) -> Result<(&[u8], Handle), Error> {
        let elf = self.image()?.find(name).ok_or(Error::NotFound)?.elf;
        Ok((elf, self.slot_for(elf).ok_or(Error::NotFound)?))
    }

    /// The slot `elf` is linked for: the untyped block (a program slot or
    /// an app slot) that starts where one of its segments does: its first,
    /// or, when its code runs in place in the boot image, its stack.
    fn slot_for(&self, elf: &[u8]) -> Option<Handle> {
        let plan = tessera_abi::elf::parse_within(elf, 0x1_0000, 0xE000_0000).ok()?;
        let mut found = None;
        for_each_initial_capability(|handle, info| {
            let slot = info.kind == ObjectType::Untyped && handle != self.general;
            if found.is_none()
                && slot
                && cap_object(handle).is_ok_and(|(base, _)| plan.segments().any(|segment| segment.page_start() == base))
            {
                found = Some(handle);
            }
        });
        found
    }
}

/// Loads program `name` into its slot, waits for it, and says whether it
/// ended in a fault of `kind`; takes the slot back either way.
fn expect_fault(memory: &Memory, name: &str, kind: FaultKind) -> Result<bool, Error> {
    let (elf, slot) = memory.program(name)?;
    let placed = tessera_loader::identity::start(slot, Some(memory.frame), name, elf, 0, 1)?;
    let (_, ended) = wait(Some(placed.process), Some(1_000_000))?;
    println!("{name} ended: {ended:?}");
    cap_revoke(slot)?;
    Ok(ended == Ended::Faulted(kind))
}

/// How many times each benchmark repeats its operation.
const ITERATIONS: u32 = 20_000;

/// Instructions `f` takes under QEMU's `-icount shift=0`, where one
/// instruction is one virtual nanosecond: the uptime's microseconds times
/// 1000 (over `ITERATIONS` operations, a twentieth of an instruction each).
fn instructions(f: impl FnOnce()) -> u64 {
    let start = uptime_micros();
    f();
    (uptime_micros() - start) * 1000
}

/// Per operation, rounded: (`total` less `baseline`) over `ways` times
/// `ITERATIONS`.
fn per_operation(total: u64, baseline: u64, ways: u64) -> u64 {
    let n = ways * u64::from(ITERATIONS);
    (total.saturating_sub(baseline) + n / 2) / n
}

/// The benchmarks (`cargo xtask bench`, boot argument `bench`): the null
/// syscall, an IPC round trip to `echo` (its `ReplyReceive` loop), and the
/// switch between two processes yielding to each other, each over an empty
/// loop; `BENCH` lines for xtask.
fn benchmarks(echo: Handle) -> bool {
    let baseline = instructions(|| {
        for i in 0..ITERATIONS {
            core::hint::black_box(i);
        }
    });
    let nulls = instructions(|| {
        for _ in 0..ITERATIONS {
            null();
        }
    });
    let mut answered = true;
    let calls = instructions(|| {
        for i in 0..ITERATIONS {
            let answer = call(echo, &Message::new(PING, [i, 0, 0, 0]), Timeout::Forever);
            answered &= answer.is_ok_and(|answer| answer.message.words[0] == i);
        }
    });
    // `echo` answers, then yields as many times: each yield of one hands
    // the core to the other.
    answered &= call(echo, &Message::new(YIELD, [ITERATIONS, 0, 0, 0]), Timeout::Forever).is_ok();
    let yields = instructions(|| {
        for _ in 0..ITERATIONS {
            yield_now();
        }
    });
    println!("BENCH mps2_null_syscall_instructions {}", per_operation(nulls, baseline, 1));
    println!("BENCH mps2_ipc_roundtrip_instructions {}", per_operation(calls, baseline, 1));
    println!("BENCH mps2_context_switch_instructions {}", per_operation(yields, baseline, 2));
    answered
}

fn main(start: tessera_rt::Start) -> u32 {
    println!("running under the portable kernel, linked at {:#010x}", main as *const () as usize);
    let memory = match Memory::find() {
        Ok(memory) => memory,
        Err(error) => {
            println!("cannot find the boot image or untyped memory: {}", error.name());
            return 1;
        }
    };
    let (Some(echo), Some(power), Some(kernel_word)) = (
        find_initial_capability(ObjectType::Endpoint, Rights::SEND),
        find_initial_capability(ObjectType::PowerControl, Rights::empty()),
        address_argument(tessera_rt::boot_arguments(start)),
    ) else {
        println!("missing the echo endpoint, the power capability or the kernel word's address");
        return 1;
    };
    let untyped = memory.general;
    if tessera_rt::boot_arguments(start).split_whitespace().any(|word| word == "bench") {
        let good = benchmarks(echo);
        let _ = call(echo, &Message::new(DONE, [0; 4]), Timeout::Millis(1000));
        let status = u32::from(!good);
        if let Err(error) = shutdown(power, status) {
            println!("cannot switch off: {}", error.name());
        }
        return status;
    }
    let mut good = true;
    // A capability through IPC: a badged copy of the endpoint itself (send
    // and grant: a capability travels only with GRANT), which `echo`
    // receives into its own CSpace and describes.
    let sent = cap_derive(echo, Rights::SEND | Rights::GRANT, 7)
        .and_then(|copy| call(echo, &Message::with_capability(INSPECT, [0; 3], copy), Timeout::Millis(1000)));
    match sent {
        Ok(answer) if answer.message.label == INSPECT => {
            let [kind, rights, badge, _] = answer.message.words;
            let endpoint =
                kind == ObjectType::Endpoint as u32 && rights == (Rights::SEND | Rights::GRANT).bits() && badge == 7;
            println!(
                "echo received the capability sent to it: {}",
                if endpoint { "an endpoint, send and grant, badge 7" } else { "NOT WHAT WAS SENT" }
            );
            good &= endpoint;
        }
        other => {
            println!("sending echo a capability failed: {other:?}");
            good = false;
        }
    }
    match timer_ticks(untyped) {
        Ok(ticks) => {
            println!("{ticks} of {TICKS} timer interrupts received and acknowledged");
            good &= ticks == TICKS;
        }
        Err(error) => {
            println!("driving the timer failed: {}", error.name());
            good = false;
        }
    }
    // `echo` answers this, then starts its rounds: everything before must
    // not wait on it.
    match call(echo, &Message::new(ADD, [40, 2, 0, 0]), Timeout::Millis(1000)) {
        Ok(answer) => {
            println!("echo answered 40 + 2 = {}", answer.message.words[0]);
            good &= answer.message.words[0] == 42;
        }
        Err(error) => {
            println!("the call to echo failed: {}", error.name());
            good = false;
        }
    }
    // Floating-point rounds: its FPU registers must survive every switch
    // to `echo`, which makes rounds of its own with other values.
    for round in 1..=ROUNDS {
        let changed = fp_round(0x1000_0000 + round * 64, round % 4, ROUND_SPINS);
        if changed == 0 {
            println!("round {round}");
        } else {
            println!("round {round}: {changed} FPU registers changed under it");
            good = false;
        }
    }
    match call(echo, &Message::new(DONE, [0; 4]), Timeout::Millis(10_000)) {
        Ok(answer) => {
            let [rounds, broken, ..] = answer.message.words;
            println!("echo made {rounds} rounds, {broken} with FPU registers changed");
            good &= rounds == ROUNDS && broken == 0;
        }
        Err(error) => {
            println!("the last call to echo failed: {}", error.name());
            good = false;
        }
    }
    // The kernel writes a process's exception frame with its own rights:
    // it must refuse a stack pointer that leads into its data.
    match start_aimed_at(untyped, kernel_word + 32) {
        Ok(Ended::Faulted(FaultKind::Unmapped)) => {
            println!("the child aimed at the kernel's data faulted before it ran")
        }
        Ok(other) => {
            println!("the child aimed at the kernel's data ended as {other:?}");
            good = false;
        }
        Err(error) => {
            println!("cannot start the child aimed at the kernel's data: {}", error.name());
            good = false;
        }
    }
    // A syscall whose frame cannot be stacked, and a breakpoint: each ends
    // its process only.
    for (name, kind) in [("svc-stacker", FaultKind::Unmapped), ("bkpt-er", FaultKind::OtherAbort)] {
        match expect_fault(&memory, name, kind) {
            Ok(as_expected) => good &= as_expected,
            Err(error) => {
                println!("loading {name} failed: {}", error.name());
                good = false;
            }
        }
    }
    // Then the apps of the boot image, until none is left to run (or, in
    // the scenario's build, for at most `SCENARIO_APPS_MICROS`).
    let scenario = tessera_rt::boot_arguments(start).split_whitespace().any(|word| word == "scenario");
    // The apps' servers first: the UART server (without it, apps asking
    // for a UART are refused).
    let uart = start_uartd(&memory, untyped)
        .inspect_err(|error| println!("cannot start the UART server: {}", error.name()))
        .ok();
    match apps::Apps::check(&memory, apps::Servers { uart }) {
        Ok(mut apps) => apps.run(scenario.then(|| uptime_micros() + SCENARIO_APPS_MICROS)),
        Err(error) => println!("cannot read the apps of the boot image: {}", error.name()),
    }
    println!("done: {}", if good { "all answers right" } else { "WRONG ANSWERS" });
    let status = u32::from(!good);
    if let Err(error) = shutdown(power, status) {
        println!("cannot switch off: {}", error.name());
    }
    status
}
