//! `init`'s checks of the kernel on the M4 (feature `checks`: the build
//! `qemu:mps2-boot` and `cargo xtask bench` boot, with `echo` and the
//! probes the kernel starts): IPC and a capability sent to `echo`, a
//! timer's interrupts, floating-point rounds under preemption, a child
//! whose stack pointer aims at the kernel's data, programs that end in
//! faults, or the benchmarks.

use tessera_m_programs::{address_argument, fp_round, ADD, DONE, INSPECT, PING, ROUNDS, ROUND_SPINS, YIELD};
use tessera_rt::{
    call, cap_derive, cap_object, cap_revoke, find_initial_capability, interrupt_ack, interrupt_bind, map_into, null,
    println, process_name, process_setup, process_start, retype, shutdown, uptime_micros, wait, wait_notification,
    yield_now, Ended, Error, FaultKind, Handle, Mapping, Message, ObjectType, Rights, Timeout,
};

use crate::{device, Memory};

/// How the checks ended: answers checked (`init` goes on to the apps), or
/// the run is over (the benchmarks, or something missing) with a status.
pub enum Outcome {
    Checked(bool),
    Finished(u32),
}

/// The checks, or the benchmarks with boot argument `bench`.
pub fn run(start: tessera_rt::Start, memory: &Memory, power: Handle) -> Outcome {
    let (Some(echo), Some(kernel_word)) = (
        find_initial_capability(ObjectType::Endpoint, Rights::SEND),
        address_argument(tessera_rt::boot_arguments(start)),
    ) else {
        println!("missing the echo endpoint or the kernel word's address");
        return Outcome::Finished(1);
    };
    let untyped = memory.general;
    if tessera_rt::boot_arguments(start).split_whitespace().any(|word| word == "bench") {
        let good = benchmarks(echo);
        let _ = call(echo, &Message::new(DONE, [0; 4]), Timeout::Millis(1000));
        let status = u32::from(!good);
        if let Err(error) = shutdown(power, status) {
            println!("cannot switch off: {}", error.name());
        }
        return Outcome::Finished(status);
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
        match expect_fault(memory, name, kind) {
            Ok(as_expected) => good &= as_expected,
            Err(error) => {
                println!("loading {name} failed: {}", error.name());
                good = false;
            }
        }
    }
    Outcome::Checked(good)
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

/// The timer `init` drives (a device of the board description).
const TIMER: &str = "CMSDK timer 0";

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
