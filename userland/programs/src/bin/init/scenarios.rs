//! The integration test scenarios and the benchmarks `init` runs in the
//! test and benchmark images (`scenario=NAME`, `bench`): compiled only
//! with the `scenarios` feature, so the user image's root task holds none
//! of it. Each scenario starts test programs with `init`'s own loader and
//! program table and checks how they end; `cargo xtask test` checks the
//! console output (xtask/src/scenarios.rs).

use super::*;

use tessera_abi::layout::{PAGE_SIZE, STACK_SIZE, STACK_TOP};
use tessera_abi::FaultKind;
use tessera_programs::{bench, capprobe, cpustate, probe, rtc, spinner};
use tessera_rt::{call, cap_delete, cap_info, cycles, map, raw_debug_write, wait, Mapping, Message, Timeout};

/// Runs scenario `name` (`bench`: the benchmarks) and says whether it
/// passed; returns the status to power off with (0: passed).
pub fn run(name: &str) -> u32 {
    let result = match name {
        "bench" => run_benchmarks(),
        "bench-net" => network_benchmarks(),
        "net-stress" => network_stress(),
        "net-handoff" => network_handoff(),
        "paths" => longest_paths(),
        "boot" => expect_clean_exit("hello", 0),
        "demo" => demo(),
        "preempt" => preempt(),
        "priority" => priority(),
        "kernel-read" => expect_fault(probe::READ_KERNEL, FaultKind::Permission).and_then(|()| still_alive()),
        "kernel-write" => expect_fault(probe::WRITE_KERNEL, FaultKind::Permission).and_then(|()| still_alive()),
        "isolation" => isolation(),
        "exec-data" => expect_fault(probe::EXECUTE_DATA, FaultKind::ExecuteNever)
            .and_then(|()| expect_fault(probe::EXECUTE_STACK, FaultKind::ExecuteNever))
            .and_then(|()| still_alive()),
        "fault-kinds" => fault_kinds(),
        "pmu" => pmu(),
        "console" => console(),
        "cpu-state" => cpu_state(),
        "bad-syscalls" => bad_syscalls().and_then(|()| still_alive()),
        "timeouts" => timeouts(),
        "capabilities" => capabilities(),
        "secret" => secret_scenario(),
        "ipc" => ipc_scenario(),
        "interrupt" => interrupt_scenario(),
        "gpio" => gpio_scenario(),
        "apps" => apps_scenario(),
        "loader" => loader_scenario(),
        "revoke" => revoke_scenario(),
        "storm" => storm_scenario(),
        "uart" => uart_scenario(),
        "pluton-probe" => solo_app("test-solo-pluton"),
        "pluton-other" => solo_app("test-solo-pluton-other"),
        "server-garbage" => solo_app("test-solo-server-garbage"),
        _ => Err("unknown scenario"),
    };
    let status = match result {
        Ok(()) => {
            println!("init: scenario {} passed", name);
            0
        }
        Err(reason) => {
            println!("init: scenario {} FAILED: {}", name, reason);
            1
        }
    };
    status
}

/// Priority of the programs a scenario starts (below init's).
const NORMAL: u32 = 8;

/// Starts boot-image program `name`: loaded by init into memory init pays
/// for (see `tessera_programs::loader`), reusing the memory of a program that
/// ended when there is some.
fn start(name: &str, priority: u32, argument: u32) -> Result<Handle, &'static str> {
    start_with(name, priority, argument, Pages::Kept)
}

fn finish(process: Handle) -> Result<Ended, &'static str> {
    let ended = wait(Some(process), None).map(|(_, ended)| ended).map_err(|error| {
        println!("init: wait failed: {}", error.name());
        "wait failed"
    })?;
    collect(process);
    Ok(ended)
}

/// `badcall` with capabilities to misuse: a frame (read-only), an
/// endpoint it may only receive on, a notification it may only wait on.
/// A server waits on the endpoint, so that its call without `SEND` finds
/// one (on the A7, the assembly `Call` must see the missing right and leave
/// the call to the general path, which refuses it).
fn bad_syscalls() -> Outcome {
    let untyped = untyped_memory()?;
    let (server, endpoint, send) = echo_on_a_new_endpoint(10, 1)?;
    let process = start("badcall", NORMAL, 0)?;
    for (kind, bytes, rights) in [(ObjectType::Frame, 4096, Rights::READ), (ObjectType::Notification, 64, Rights::WAIT)]
    {
        let object = retype(untyped, kind, bytes).map_err(|_| "retype failed")?;
        give(object, process, rights)?;
    }
    give(endpoint, process, Rights::RECEIVE)?;
    finish_clean("badcall", process, "program did not exit cleanly")?;
    collect(server);
    for capability in [send, endpoint] {
        let _ = cap_delete(capability);
    }
    Ok(())
}

fn expect_clean_exit(name: &str, argument: u32) -> Outcome {
    finish_clean(name, start(name, NORMAL, argument)?, "program did not exit cleanly")
}

/// Waits for `process` (program `name`) and reports how it ended: `failure`
/// unless it exited with 0.
fn finish_clean(name: &str, process: Handle, failure: &'static str) -> Outcome {
    let ended = finish(process)?;
    report(name, ended);
    if ended == Ended::Exited(0) {
        Ok(())
    } else {
        Err(failure)
    }
}

/// A fresh program still starts and runs after whatever came before.
fn still_alive() -> Outcome {
    expect_clean_exit("hello", 0)
}

fn expect_fault(argument: u32, kind: FaultKind) -> Outcome {
    let ended = finish(start("probe", NORMAL, argument)?)?;
    report("probe", ended);
    if ended == Ended::Faulted(kind) {
        Ok(())
    } else {
        Err("probe did not fault as expected")
    }
}

fn demo() -> Outcome {
    println!("init: demo: two busy counters share the CPU by preemption; a third process faults on purpose");
    let programs =
        [("counter", start("counter", NORMAL, b'A' as u32)?), ("counter", start("counter", NORMAL, b'B' as u32)?)];
    let faulter = start("faulter", NORMAL, 0)?;
    let faulted = finish(faulter)?;
    report("faulter", faulted);
    let record = tessera_rt::exit_record().map_err(|_| "no exit record")?;
    println!("init: faulter's exit record: pc {:#010x}, address {:#010x}", record.pc, record.fault_address);
    let mut clean = true;
    for (name, process) in programs {
        let ended = finish(process)?;
        report(name, ended);
        clean &= ended == Ended::Exited(0);
    }
    println!("init: demo finished");
    match (clean, faulted) {
        (true, Ended::Faulted(FaultKind::Permission)) if record.fault_address == probe::KERNEL_ADDRESS => Ok(()),
        _ => Err("a demo program did not end as expected"),
    }
}

fn preempt() -> Outcome {
    let a = start("spinner", NORMAL, spinner::argument(b'A', 300))?;
    let b = start("spinner", NORMAL, spinner::argument(b'B', 300))?;
    let (Ended::Exited(count_a), Ended::Exited(count_b)) = (finish(a)?, finish(b)?) else {
        return Err("a spinner did not exit");
    };
    println!("init: spinner iterations: A {}, B {}", count_a, count_b);
    let (low, high) = (count_a.min(count_b), count_a.max(count_b));
    if low == 0 || low < high / 4 {
        return Err("the spinners did not share the CPU fairly");
    }
    Ok(())
}

fn priority() -> Outcome {
    // Started low first: the high one must still run first, and to the end.
    let low = start("spinner", 4, spinner::argument(b'L', 100))?;
    let high = start("spinner", 12, spinner::argument(b'H', 100))?;
    let first = wait(None, None).map_err(|_| "wait failed")?.0;
    collect(first);
    finish(low)?;
    if first != high {
        return Err("the low-priority spinner finished first");
    }
    call_lends_priority()?;
    spent_turn_goes_to_the_back()?;
    spent_turn_with_nothing_ready()?;
    yields_go_round()
}

/// Three threads of one priority that yield take turns in order: A, B, C,
/// A, B, C... (on the A7 each yield takes the assembly fast path, which
/// moves the yielder to the back of its queue). Each logs its turns in a
/// page they share. A slice's end may preempt one between its turns,
/// which can swap two neighbours once (a slow host fits a few slices into
/// the run: up to 30 such pairs are allowed); a thread lost from the
/// queue, run twice in a row or queued at the front instead of the back
/// breaks the order hundreds of times.
fn yields_go_round() -> Outcome {
    use tessera_programs::turns::{argument, LETTERS, LOG_ADDRESS, ROUNDS};
    const LETTERS_IN_ORDER: [u8; 3] = [b'A', b'B', b'C'];
    let untyped = untyped_memory()?;
    let page = retype(untyped, ObjectType::Frame, PAGE_SIZE as u32).map_err(|_| "retype failed")?;
    let log = Mapping::new(page, LOG_ADDRESS, Rights::READ | Rights::WRITE).map_err(|_| "map failed")?;
    let mut takers = [Handle::NULL; 3];
    for (taker, letter) in takers.iter_mut().zip(LETTERS_IN_ORDER) {
        // Below init's priority, they run only once init waits, in start
        // order.
        *taker = start("turns", 4, argument(letter))?;
        give(page, *taker, Rights::READ | Rights::WRITE)?;
    }
    for taker in takers {
        if finish(taker)? != Ended::Exited(0) {
            return Err("a turn taker did not end cleanly");
        }
    }
    let logged = log.read_u32(0);
    let bytes = log.as_bytes();
    let turns = &bytes[LETTERS as usize..][..(logged as usize).min(bytes.len() - LETTERS as usize)];
    let out_of_order = turns.windows(2).filter(|pair| {
        let at = |letter| LETTERS_IN_ORDER.iter().position(|&l| l == letter);
        !matches!((at(pair[0]), at(pair[1])), (Some(a), Some(b)) if b == (a + 1) % 3)
    });
    let out_of_order = out_of_order.count();
    let each = LETTERS_IN_ORDER.map(|letter| turns.iter().filter(|&&l| l == letter).count() as u32);
    println!(
        "init: {} yields logged ({} {} {}), {} out of round-robin order",
        logged, each[0], each[1], each[2], out_of_order
    );
    // A taker preempted between reading the count and writing it back
    // loses the turn another logged meanwhile (the log is not atomic): a
    // few may go, as few as the swaps below; more, or too many of one
    // letter, is turns lost or taken twice.
    let lost = (3 * ROUNDS).checked_sub(logged);
    if lost.is_none_or(|lost| lost > ROUNDS / 10) || each.iter().any(|&count| count > ROUNDS) {
        return Err("the yielders' turns were not all logged");
    }
    // A slice's end costs at most one pair; a slow host may fit a few
    // slices into the run. A thread lost, run twice in a row or queued at
    // the front instead of the back costs hundreds.
    if out_of_order > (ROUNDS / 10) as usize {
        return Err("yielding threads did not take turns in order");
    }
    println!("init: yielding threads took turns");
    Ok(())
}

/// A call lends the caller's priority to the server for as long as it
/// serves (on the A7 the call takes the assembly fast path, which must do
/// it as the Rust one does): `echo` at priority 4 stays busy 30 ms, three
/// time slices, for `init` at 16 while a spinner at 8 is ready. Lent, the
/// call takes about 30 ms; not lent, the first slice's end hands the CPU
/// to the spinner for its 400 ms. Then the server answers at its own
/// priority again: six quick calls (echo serves seven requests).
fn call_lends_priority() -> Outcome {
    use tessera_programs::echo::{ADD, REQUESTS, SPIN};
    const SPIN_MILLIS: u32 = 30;
    let untyped = untyped_memory()?;
    let endpoint = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    let send = cap_derive(endpoint, Rights::SEND, 0).map_err(|_| "derive failed")?;
    let server = start("echo", 4, 0)?;
    cap_move(endpoint, server).map_err(|_| "move failed")?;
    // Let the server reach its receive before anything else is ready.
    tessera_rt::sleep_micros(20_000);
    let spinner = start("spinner", 8, spinner::argument(b'S', 400))?;
    let before = tessera_rt::uptime_micros();
    let spun = call(send, &Message::new(SPIN, [SPIN_MILLIS, 0, 0, 0]), Timeout::Forever);
    let took = tessera_rt::uptime_micros() - before;
    if !matches!(spun, Ok(ref answer) if answer.message.label == SPIN) {
        return Err("the busy call was not answered");
    }
    println!(
        "init: a {} ms call to a server of priority 4 took {} us beside a spinner of priority 8",
        SPIN_MILLIS, took
    );
    if took > 200_000 {
        return Err("the server did not run at its caller's priority: the spinner ran first");
    }
    for n in 1..REQUESTS {
        match call(send, &Message::new(ADD, [n, 1, 0, 0]), Timeout::Forever) {
            Ok(answer) if answer.message.words[0] == n + 1 => {}
            _ => return Err("a quick call got a wrong answer"),
        }
    }
    let server_ended = finish(server)?;
    finish(spinner)?;
    if server_ended != Ended::Exited(0) {
        return Err("the server did not end cleanly");
    }
    println!("init: the call lent its priority");
    Ok(())
}

/// A caller whose turn ends while a server of a higher priority works for
/// it is answered at the back of its queue, behind the threads of its
/// priority that waited (`Process::slice_spent`; on the A7 the assembly
/// `ReplyReceive` must leave such an answer to the general path): a
/// `caller` at 6 calls `echo` at 12 to spin 2 ms, again and again for 300
/// ms, beside a spinner at 6 for as long. Each call spends the rest of the
/// caller's turn in the server, so a turn ends in the server every few
/// calls, and the spinner must then run its turn: it gets about half of the
/// CPU. Were the caller answered at once instead, the spinner would run
/// only when a turn ended in the caller's own few instructions between its
/// calls: barely at all. The spinner must make at least a quarter of the
/// iterations that one alone makes in 150 ms.
fn spent_turn_goes_to_the_back() -> Outcome {
    use tessera_programs::caller::repeating;
    use tessera_programs::echo::SPIN;
    const MILLIS: u32 = 300;
    // Serves until collected below.
    let (server, endpoint, send) = echo_on_a_new_endpoint(12, u32::MAX)?;
    let spinner = start("spinner", 6, spinner::argument(b'T', MILLIS))?;
    let caller = start("caller", 6, repeating(SPIN, 2, MILLIS))?;
    give(send, caller, Rights::SEND)?;
    let (Ended::Exited(beside), Ended::Exited(calls)) = (finish(spinner)?, finish(caller)?) else {
        return Err("the spinner or the caller did not exit");
    };
    collect(server);
    let Ended::Exited(alone) = finish(start("spinner", 6, spinner::argument(b'U', MILLIS / 2))?)? else {
        return Err("the spinner did not exit");
    };
    println!(
        "init: a spinner beside a caller of a busy server: {} iterations in {} ms ({} alone in {} ms); the caller's calls: {}",
        beside,
        MILLIS,
        alone,
        MILLIS / 2,
        calls
    );
    if calls == 0 {
        return Err("the caller's calls failed");
    }
    if beside < alone / 4 {
        return Err("a caller whose turn ended in a server kept the CPU from its peer");
    }
    for capability in [send, endpoint] {
        let _ = cap_delete(capability);
    }
    Ok(())
}

/// A caller whose turn ends in a server while a peer of its priority is
/// ready, answered after that peer has ended (the server sleeps after its
/// work: `echo::SPIN_THEN_SLEEP`), when nothing is ready: its turn is still
/// spent, so the answer queues it (on the A7 the assembly `ReplyReceive`
/// must leave it to the general path even with nothing ready; a caller
/// resumed with its turn spent fails the test kernel's invariant check,
/// "only a caller awaiting a reply has its turn spent").
fn spent_turn_with_nothing_ready() -> Outcome {
    use tessera_programs::caller::argument;
    use tessera_programs::echo::SPIN_THEN_SLEEP;
    /// The server's work: more than a slice (10 ms) from the caller's
    /// start, after the peer's first slice; the peer spins twice as long
    /// from its own start and has ended long before the server's sleep
    /// (four times the work) does.
    const WORK_MILLIS: u32 = 15;
    // Two requests: the caller's is answered with `ReplyReceive`.
    let (server, endpoint, send) = echo_on_a_new_endpoint(12, 2)?;
    let peer = start("spinner", 6, spinner::argument(b'P', 2 * WORK_MILLIS))?;
    let caller = start("caller", 6, argument(SPIN_THEN_SLEEP, WORK_MILLIS))?;
    give(send, caller, Rights::SEND)?;
    finish_clean("caller", caller, "a caller whose turn was spent was not answered")?;
    report("spinner", finish(peer)?);
    last_request(server, send, "the server did not answer or end after a caller whose turn was spent")?;
    for capability in [send, endpoint] {
        let _ = cap_delete(capability);
    }
    println!("init: a caller whose turn ended in a server was answered with nothing else ready");
    Ok(())
}

fn isolation() -> Outcome {
    let owner = start("probe", 10, probe::OWNER)?;
    let intruder = start("probe", 9, probe::INTRUDER)?;
    let intruder_end = finish(intruder)?;
    report("intruder", intruder_end);
    let owner_end = finish(owner)?;
    report("owner", owner_end);
    if owner_end != Ended::Exited(0) {
        return Err("the owner's memory was changed");
    }
    if intruder_end != Ended::Faulted(FaultKind::Permission) {
        return Err("the intruder was not stopped at physical RAM");
    }
    Ok(())
}

fn fault_kinds() -> Outcome {
    let cases = [
        (probe::READ_UNMAPPED, FaultKind::Unmapped),
        (probe::READ_NULL, FaultKind::Unmapped),
        (probe::UNDEFINED, FaultKind::UndefinedInstruction),
        (probe::MISALIGNED, FaultKind::Alignment),
        (probe::WRITE_TEXT, FaultKind::Permission),
    ];
    for (argument, kind) in cases {
        expect_fault(argument, kind)?;
    }
    still_alive()
}

/// Outside the benchmark image User mode has no access to the performance
/// monitor: reading the cycle counter, stopping it and opening the PMU to
/// User mode are each an undefined instruction that ends the program.
fn pmu() -> Outcome {
    for argument in [probe::READ_CYCLE_COUNTER, probe::STOP_CYCLE_COUNTER, probe::OPEN_PMU] {
        expect_fault(argument, FaultKind::UndefinedInstruction)?;
    }
    still_alive()
}

/// A process cannot pass itself off as another on the console: the forger
/// runs (xtask checks how its lines came out), and no process may be given
/// the kernel's name or one that could fake a label.
fn console() -> Outcome {
    expect_clean_exit("forger", 0)?;
    let process = start("sleeper", NORMAL, 10_000)?;
    for name in ["kernel", "init: x", "two words", "bell\u{7}", ""] {
        match tessera_rt::process_name(process, name) {
            Err(tessera_rt::Error::InvalidArgument) => println!("init: naming a process {:?} is refused", name),
            _ => return Err("a process was given a name that could fake a label"),
        }
    }
    finish(process)?;
    Ok(())
}

/// CPU state outside the saved registers is each process's own or closed
/// to User mode (docs/architecture.md, "CPU state a process can see").
fn cpu_state() -> Outcome {
    tessera_rt::set_thread_register(cpustate::INIT_VALUE);
    // The first two run together at one priority and take turns by
    // yielding: the second runs while the first holds a secret in
    // TPIDRURW and an open `ldrex`. A fresh one after them starts clean.
    let together = [start("cpustate", NORMAL, cpustate::FIRST)?, start("cpustate", NORMAL, cpustate::SECOND)?];
    for mode in cpustate::FIRST..=cpustate::FRESH {
        let process = match together.get(mode as usize - 1) {
            Some(&process) => process,
            None => start("cpustate", NORMAL, mode)?,
        };
        let ended = finish(process)?;
        report("cpustate", ended);
        if ended != Ended::Exited(0) {
            return Err("a process saw CPU state that was not its own");
        }
    }
    // No coprocessor state to share: VFP, Advanced SIMD, ThumbEE's
    // register and the timers are closed to User mode.
    for argument in [probe::VFP, probe::SIMD, probe::THUMBEE, probe::TIMER] {
        expect_fault(argument, FaultKind::UndefinedInstruction)?;
    }
    if tessera_rt::thread_register() != cpustate::INIT_VALUE {
        return Err("init's thread register changed");
    }
    // The runtime's own memory copy (tessera_rt::copy), which every
    // program links, against a byte loop.
    match tessera_rt::copy::check() {
        Ok(copies) => println!("init: memcpy gave the right bytes in {} copies at every alignment", copies),
        Err((from, to, len)) => {
            println!("init: memcpy of {} bytes from offset {} to offset {} came out wrong", len, from, to);
            return Err("the runtime's memcpy is wrong");
        }
    }
    // And its fill (memset, __aeabi_memclr).
    match tessera_rt::copy::check_fill() {
        Ok(fills) => println!("init: memset gave the right bytes in {} fills at every alignment", fills),
        Err((at, len)) => {
            println!("init: memset of {} bytes at offset {} came out wrong", len, at);
            return Err("the runtime's memset is wrong");
        }
    }
    // And its checksum loop (tessera_rt::checksum), against a plain sum.
    match tessera_rt::checksum::check() {
        Ok(sums) => println!("init: the checksum loop agreed with a plain sum in {} sums at every start", sums),
        Err((start, len)) => {
            println!("init: the checksum loop's sum of {} words from word {} came out wrong", len, start);
            return Err("the runtime's checksum loop is wrong");
        }
    }
    still_alive()
}

fn timeouts() -> Outcome {
    let sleeper = start("sleeper", NORMAL, 50_000)?;
    let before = tessera_rt::uptime_micros();
    match wait(Some(sleeper), Some(5_000)) {
        Err(tessera_rt::Error::TimedOut) => {
            let waited = tessera_rt::uptime_micros() - before;
            println!("init: wait timed out as expected after {} us", waited);
            if waited < 5_000 {
                return Err("wait returned before its timeout");
            }
        }
        other => {
            println!("init: wait with a 5 ms timeout returned {:?}", other);
            return Err("wait did not time out");
        }
    }
    let ended = finish(sleeper)?;
    report("sleeper", ended);
    if ended != Ended::Exited(0) {
        return Err("the sleeper did not sleep long enough");
    }
    ipc_timeouts()
}

/// Every blocking IPC call takes the same timeout as `Wait`: with nobody on
/// the other side, a timeout of N µs returns `TimedOut` no sooner than N µs
/// later (and not seconds later), and `NoWait` returns at once. Twice:
/// with nothing else ready, and with a busy process of init's priority
/// ready, so that a wait that blocks hands it the CPU at once (on the A7,
/// the assembly's paths for a timed `Receive` and `WaitNotification`).
fn ipc_timeouts() -> Outcome {
    ipc_timeouts_once("alone")?;
    let busy = start("spinner", tessera_abi::ROOT_PRIORITY, spinner::argument(b'T', 200))?;
    let outcome = ipc_timeouts_once("beside a spinner");
    let ended = finish(busy)?;
    report("spinner", ended);
    outcome?;
    timeout_after_an_early_wake()
}

/// A wait that ends early (a child's exit ends `Wait`) leaves its deadline
/// behind as the kernel's lower bound on the earliest one; a longer wait
/// after it, with nothing else running, must still end on time: the timer
/// fires at the old deadline with nothing due (on the A7 the idle wait's
/// check in assembly), and the new one must be armed then.
fn timeout_after_an_early_wake() -> Outcome {
    use tessera_rt::{wait_notification, Error};
    /// The first wait's timeout (ample for the sleeper's 5 ms on a busy
    /// host) ends before the second wait's, so that its deadline is the
    /// bound the timer fires at first.
    const FIRST_MICROS: u32 = 1_000_000;
    const MICROS: u32 = 2_000_000;
    let untyped = untyped_memory()?;
    let notification = retype(untyped, ObjectType::Notification, 64).map_err(|_| "retype failed")?;
    let sleeper = start("sleeper", NORMAL, 5_000)?;
    match wait(Some(sleeper), Some(FIRST_MICROS)) {
        Ok((_, Ended::Exited(0))) => collect(sleeper),
        other => {
            println!("init: the sleeper's wait gave {:?}", other);
            return Err("the sleeper did not end in time");
        }
    }
    let before = tessera_rt::uptime_micros();
    let result = wait_notification(notification, 1, Timeout::Micros(MICROS));
    let waited = tessera_rt::uptime_micros() - before;
    let _ = cap_delete(notification);
    if result != Err(Error::TimedOut) || waited < u64::from(MICROS) || waited > u64::from(MICROS) + 2_000_000 {
        println!("init: WaitNotification after a wait that ended early gave {:?} after {} us", result, waited);
        return Err("a timeout after a wait that ended early did not hold");
    }
    println!(
        "init: WaitNotification timed out after {} us (asked {} us, after a wait that ended early)",
        waited, MICROS
    );
    Ok(())
}

fn ipc_timeouts_once(beside: &str) -> Outcome {
    use tessera_rt::{call, receive, send, wait_notification, Error, Message, Timeout};
    /// The most a timed-out call may overrun its timeout: a slice of the
    /// spinner and the host's hiccups, far below a deadline gone wrong.
    const LATE_MICROS: u64 = 2_000_000;
    let untyped = untyped_memory()?;
    let endpoint = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    let notification = retype(untyped, ObjectType::Notification, 64).map_err(|_| "retype failed")?;
    let message = Message::new(1, [0; 4]);
    type Blocking<'a> = (&'a str, u32, &'a dyn Fn(Timeout) -> Result<u32, Error>);
    let calls: [Blocking; 4] = [
        ("Receive", 3_000, &|timeout| receive(endpoint, timeout).map(|_| 0)),
        ("Send", 2_000, &|timeout| send(endpoint, &message, timeout).map(|()| 0)),
        ("Call", 2_500, &|timeout| call(endpoint, &message, timeout).map(|_| 0)),
        ("WaitNotification", 4_000, &|timeout| wait_notification(notification, 1, timeout)),
    ];
    for (name, micros, blocking) in calls {
        let before = tessera_rt::uptime_micros();
        let result = blocking(Timeout::Micros(micros));
        let waited = tessera_rt::uptime_micros() - before;
        if result != Err(Error::TimedOut) || waited < u64::from(micros) || waited > u64::from(micros) + LATE_MICROS {
            println!("init: {} with a {} us timeout gave {:?} after {} us ({})", name, micros, result, waited, beside);
            return Err("an IPC timeout did not hold");
        }
        println!("init: {} timed out after {} us (asked {} us, {})", name, waited, micros, beside);
        let result = blocking(Timeout::NoWait);
        let expected = if name == "WaitNotification" { Ok(0) } else { Err(Error::TimedOut) };
        if result != expected {
            println!("init: {} without waiting gave {:?}", name, result);
            return Err("an IPC call with NoWait did not return at once");
        }
    }
    for capability in [endpoint, notification] {
        let _ = cap_delete(capability);
    }
    Ok(())
}

/// Starts `capprobe` in `mode`, hands it `capability` (granted with
/// `rights`, or moved if `rights` is None) and waits for it.
fn probe_with(
    mode: u32,
    capability: Handle,
    rights: Option<Rights>,
    while_running: impl FnOnce() -> Outcome,
) -> Result<Ended, &'static str> {
    let child = start("capprobe", NORMAL, mode)?;
    let given = match rights {
        Some(rights) => cap_grant(capability, child, rights),
        None => cap_move(capability, child),
    };
    given.map_err(|error| {
        println!("init: cannot give capprobe its capability: {}", error.name());
        "grant failed"
    })?;
    while_running()?;
    let ended = finish(child)?;
    report("capprobe", ended);
    Ok(ended)
}

fn capabilities() -> Outcome {
    // What init was given.
    let (mut untyped, mut regions, mut interrupts, mut rtc, mut interrupt) = (None, 0, 0, None, None);
    for_each_initial_capability(|handle, info| match info.kind {
        ObjectType::Untyped => untyped = Some(handle),
        ObjectType::DeviceRegion => {
            regions += 1;
            if cap_object(handle).map(|object| object.0) == Ok(capprobe::RTC_ADDRESS) {
                rtc = Some(handle);
            }
        }
        ObjectType::Interrupt => {
            interrupts += 1;
            interrupt = Some(handle);
        }
        _ => {}
    });
    let untyped = untyped.ok_or("no untyped memory")?;
    let (base, bytes) = cap_object(untyped).map_err(|_| "cap_object failed")?;
    println!(
        "init: holds {} KiB of untyped memory at {:#010x}, {} device regions, {} interrupts",
        bytes / 1024,
        base,
        regions,
        interrupts
    );
    // The device secret's page (docs/pluton.md) is no untyped memory of
    // init's: no object init makes can ever cover it.
    let secret = tessera_board_constants::memory::SECRET;
    if base.checked_add(bytes).is_some_and(|end| end <= secret) {
        println!("init: the device secret's page {:#010x} is outside its untyped memory", secret);
    } else {
        println!("init: its untyped memory covers the device secret's page {:#010x}", secret);
    }

    // A frame of its own, mapped read-write.
    let frame = retype(untyped, ObjectType::Frame, 4096).map_err(|_| "retype failed")?;
    let mapping =
        Mapping::new(frame, capprobe::FRAME_ADDRESS, Rights::READ | Rights::WRITE).map_err(|_| "map failed")?;
    mapping.write_u32(0, capprobe::PATTERN);
    if mapping.read_u32(0) != capprobe::PATTERN {
        return Err("the frame does not keep what was written");
    }
    println!("init: retyped a frame, mapped it read-write and wrote {:#010x}", capprobe::PATTERN);

    // Mappings the kernel refuses even with every right.
    let spare = retype(untyped, ObjectType::Frame, 4096).map_err(|_| "retype failed")?;
    let refusals = [
        ("write and execute together", map(spare, 0x2100_0000, Rights::READ | Rights::WRITE | Rights::EXECUTE)),
        ("over the null-pointer guard", map(spare, 0x1000, Rights::READ)),
        ("over the stack guard page", map(spare, (STACK_TOP - STACK_SIZE - PAGE_SIZE) as u32, Rights::READ)),
        ("over the kernel", map(spare, 0x4000_0000, Rights::READ)),
    ];
    for (what, result) in refusals {
        match result {
            Err(error) => println!("init: mapping {}: refused ({})", what, error.name()),
            Ok(()) => {
                println!("init: mapping {} was ALLOWED", what);
                return Err("a dangerous mapping was allowed");
            }
        }
    }

    // A read-only copy for a hostile holder, revoked while it runs.
    let read_only = cap_derive(frame, Rights::READ | Rights::GRANT, 0).map_err(|_| "derive failed")?;
    let holder = probe_with(capprobe::HOLDER, read_only, Some(Rights::READ), || {
        sleep_micros(50_000);
        cap_revoke(frame).map_err(|_| "revoke failed")?;
        println!("init: revoked everything derived from its frame");
        Ok(())
    })?;
    if holder != Ended::Faulted(FaultKind::Unmapped) {
        return Err("the holder kept its mapping after the revoke");
    }
    if mapping.read_u32(0) != capprobe::PATTERN {
        return Err("init's own mapping changed");
    }

    // Writing through a read-only mapping.
    let read_only = cap_derive(frame, Rights::READ | Rights::GRANT, 0).map_err(|_| "derive failed")?;
    if probe_with(capprobe::WRITE_READ_ONLY, read_only, Some(Rights::READ), || Ok(()))?
        != Ended::Faulted(FaultKind::Permission)
    {
        return Err("a read-only mapping was writable");
    }
    if mapping.read_u32(0) != capprobe::PATTERN {
        return Err("the read-only holder changed init's frame");
    }

    // Exhausting its own memory affects nobody else.
    let small = retype(untyped, ObjectType::Untyped, capprobe::EXHAUST_BYTES).map_err(|_| "retype failed")?;
    if probe_with(capprobe::EXHAUST, small, None, || Ok(()))? != Ended::Exited(0) {
        return Err("memory exhaustion was not reported as expected");
    }
    retype(untyped, ObjectType::Frame, 4096).map_err(|_| "init could not retype after the exhaustion")?;
    println!("init: still retypes memory after capprobe ran out of its own");

    // A device it holds no capability to.
    let device = start("capprobe", NORMAL, capprobe::DEVICE_WITHOUT_CAPABILITY)?;
    let ended = finish(device)?;
    report("capprobe", ended);
    if ended != Ended::Faulted(FaultKind::Unmapped) {
        return Err("a device was reachable without a capability");
    }

    // The same device through init's capability.
    let rtc = rtc.ok_or("no capability for the RTC")?;
    let clock = Mapping::new(rtc, 0x3000_0000, Rights::READ).map_err(|_| "cannot map the RTC")?;
    let seconds = clock.read_u32(0);
    println!("init: the RTC, mapped through its device capability, reads {} s since 1970", seconds);
    if seconds < 1_600_000_000 {
        return Err("the RTC reads nonsense");
    }

    // A handle to a deleted capability stays stale when its slot is reused.
    let first = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    cap_delete(first).map_err(|_| "delete failed")?;
    let second = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    let stale = cap_info(first);
    println!("init: old handle {:#x} after its slot was reused by {:#x}: {:?}", first.0, second.0, stale.map(|_| ()));
    if first.index() == second.index() && stale != Err(tessera_rt::Error::StaleHandle) {
        return Err("a stale handle named the new capability");
    }

    // Copies of a frame deleted where they sit in its derivation list (on
    // the A7 an unmapped copy with nothing derived from it is deleted in
    // assembly, svc.s): each goes, its handle turns stale, and the list
    // still holds the rest, as the revoke at the end shows.
    derivation_list_after_deletes(frame)?;
    derivation_tree_against_a_model(frame)?;
    deleting_a_mapped_frame_unmaps_it(untyped)?;

    // Where objects live is not for a holder without INSPECT: a probe
    // given a capability of each kind, with every right but INSPECT,
    // must be refused by CapObject on each.
    let inspector = start("capprobe", NORMAL, capprobe::INSPECT)?;
    let interrupt = interrupt.ok_or("no interrupt capability")?;
    for capability in [frame, second, rtc, interrupt, inspector] {
        give(capability, inspector, Rights::all() - Rights::INSPECT)?;
    }
    if finish(inspector)? != Ended::Exited(0) {
        return Err("CapObject told a holder without INSPECT where an object is");
    }
    Ok(())
}

/// Deleting the capability of a mapped frame unmaps it (the general path's
/// `CapDelete`; the A7's assembly one takes only a frame mapped nowhere):
/// its address is no longer memory of init's, which `DebugWrite`'s check of
/// its buffer tells (a newline there, written while it was mapped, goes to
/// the console then). With the frame left mapped, a process could keep
/// using memory whose capability it gave up, which its owner may revoke
/// and hand to another.
fn deleting_a_mapped_frame_unmaps_it(untyped: Handle) -> Outcome {
    const ADDRESS: u32 = capprobe::FRAME_ADDRESS + 0x8000;
    let frame = retype(untyped, ObjectType::Frame, 4096).map_err(|_| "retype failed")?;
    let mapping = Mapping::new(frame, ADDRESS, Rights::READ | Rights::WRITE).map_err(|_| "map failed")?;
    mapping.write_u32(0, u32::from(b'\n'));
    if raw_debug_write(ADDRESS, 1).is_err() {
        return Err("DebugWrite refused a buffer in a mapped frame");
    }
    cap_delete(frame).map_err(|_| "deleting a mapped frame failed")?;
    if raw_debug_write(ADDRESS, 1) != Err(tessera_rt::Error::BadAddress) {
        return Err("a deleted frame's capability left it mapped");
    }
    println!("init: deleting a mapped frame's capability unmapped it");
    Ok(())
}

/// Random derives, deletes and revokes of copies of `frame` (on the A7 a
/// delete of a leaf is the assembly's, of anything else Rust's), checked
/// after each step against a model of their derivation tree kept here:
/// every copy the model holds answers `CapInfo`, every one it dropped is
/// stale. A delete or revoke the kernel's list got wrong shows as a copy
/// that stays or goes when the model says otherwise.
fn derivation_tree_against_a_model(frame: Handle) -> Outcome {
    /// Copies alive at once (well within init's CSpace), and steps.
    const MOST: usize = 24;
    const STEPS: u32 = 1500;
    // The model: each copy's handle, parent (an index here, or none for a
    // child of `frame`), depth below `frame`, and whether it lives.
    let mut nodes = [(Handle::NULL, usize::MAX, 0u32, false); 4 * MOST];
    let mut used = 0;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut random = |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    let live = |nodes: &[(Handle, usize, u32, bool)]| nodes.iter().filter(|node| node.3).count();
    // `index` and everything below it leave the model.
    let drop_below = |nodes: &mut [(Handle, usize, u32, bool)], index: usize, with_itself: bool| {
        // Parents come before their children in the array: one pass.
        let mut gone = [false; 4 * MOST];
        gone[index] = true;
        for at in index + 1..nodes.len() {
            if nodes[at].3 && nodes[at].1 != usize::MAX && gone[nodes[at].1] {
                gone[at] = true;
                nodes[at].3 = false;
            }
        }
        if with_itself {
            nodes[index].3 = false;
        }
    };
    let (mut derived, mut deleted, mut revoked) = (0, 0, 0);
    for _ in 0..STEPS {
        let count = live(&nodes[..used]);
        let pick = |nodes: &[(Handle, usize, u32, bool)], n: usize| {
            nodes.iter().enumerate().filter(|(_, node)| node.3).nth(n).map(|(index, _)| index)
        };
        match random(8) {
            // Derive from `frame` or a live copy not at the deepest level.
            0..=3 if count < MOST && used < nodes.len() => {
                let parent = if count == 0 || random(4) == 0 { None } else { pick(&nodes[..used], random(count)) };
                let (from, depth) = parent.map_or((frame, 1), |p| (nodes[p].0, nodes[p].2 + 1));
                if depth > 12 {
                    continue;
                }
                let child = cap_derive(from, Rights::READ | Rights::GRANT | Rights::DERIVE, 0)
                    .map_err(|_| "a derive in the model run failed")?;
                nodes[used] = (child, parent.unwrap_or(usize::MAX), depth, true);
                used += 1;
                derived += 1;
            }
            4..=6 if count > 0 => {
                let Some(index) = pick(&nodes[..used], random(count)) else { continue };
                cap_delete(nodes[index].0).map_err(|_| "a delete in the model run failed")?;
                drop_below(&mut nodes[..used], index, true);
                deleted += 1;
            }
            7 if count > 0 => {
                let Some(index) = pick(&nodes[..used], random(count)) else { continue };
                cap_revoke(nodes[index].0).map_err(|_| "a revoke in the model run failed")?;
                drop_below(&mut nodes[..used], index, false);
                revoked += 1;
            }
            _ => {}
        }
        for node in &nodes[..used] {
            let answered = cap_info(node.0).is_ok();
            if answered != node.3 {
                println!(
                    "init: after {} derives, {} deletes and {} revokes, copy {:#x} {} though the model says {}",
                    derived,
                    deleted,
                    revoked,
                    node.0 .0,
                    if answered { "lives" } else { "is gone" },
                    if node.3 { "it lives" } else { "it went" }
                );
                return Err("the derivation tree disagreed with its model");
            }
        }
        // Reuse the array's tail once everything in it is gone.
        while used > 0 && !nodes[used - 1].3 {
            used -= 1;
        }
    }
    // What is left goes: each live copy from the top of its tree down.
    for index in 0..used {
        if nodes[index].3 {
            cap_delete(nodes[index].0).map_err(|_| "a final delete failed")?;
            drop_below(&mut nodes[..used], index, true);
        }
    }
    println!(
        "init: {} derives, {} deletes and {} revokes of frame copies at random agreed with a model of their tree",
        derived, deleted, revoked
    );
    Ok(())
}

/// Derives copies of `frame` under one parent and deletes them first,
/// in the middle and last in their derivation list, one with a copy of
/// its own, then revokes the parent: every deleted handle must be stale,
/// the rest live until the revoke, and the revoke must reach them all.
fn derivation_list_after_deletes(frame: Handle) -> Outcome {
    let rights = Rights::READ | Rights::GRANT | Rights::DERIVE;
    let derive = |from: Handle| cap_derive(from, rights, 0).map_err(|_| "derive failed");
    let stale = |handle: Handle| cap_info(handle) == Err(tessera_rt::Error::StaleHandle);
    let live = |handle: Handle| cap_info(handle).is_ok();
    let parent = derive(frame)?;
    // Each copy goes right after its parent: the list is parent, d, c, b,
    // then b's own copy, then a.
    let a = derive(parent)?;
    let b = derive(parent)?;
    let b_copy = derive(b)?;
    let c = derive(parent)?;
    let d = derive(parent)?;
    // First after the parent, then last in the list.
    cap_delete(d).map_err(|_| "deleting the first copy failed")?;
    cap_delete(a).map_err(|_| "deleting the last copy failed")?;
    if !stale(d) || !stale(a) || ![parent, b, b_copy, c].into_iter().all(live) {
        return Err("deleting a frame copy took the wrong capability");
    }
    // One with a copy of its own: the copy goes with it.
    cap_delete(b).map_err(|_| "deleting a copy with a copy failed")?;
    if !stale(b) || !stale(b_copy) || !live(c) {
        return Err("deleting a frame copy left its own copy or took another");
    }
    // A stale handle and slot 0 are refused, and change nothing.
    if cap_delete(d) != Err(tessera_rt::Error::StaleHandle) || cap_delete(Handle::NULL).is_ok() {
        return Err("a stale or null handle was deleted");
    }
    // Two more, the one between two others deleted, then the parent
    // revoked: what is left of its list goes, the parent stays.
    let e = derive(parent)?;
    let f = derive(parent)?;
    cap_delete(e).map_err(|_| "deleting a copy failed")?;
    cap_revoke(parent).map_err(|_| "revoke failed")?;
    if !live(parent) || !stale(c) || !stale(e) || !stale(f) {
        return Err("the revoke did not reach every copy left in the list");
    }
    cap_delete(parent).map_err(|_| "deleting the parent failed")?;
    println!(
        "init: deleted frame copies first, in the middle and last in their derivation list; the revoke found the rest"
    );
    Ok(())
}

/// The device secret stays `plutond`'s (docs/pluton.md, "Who may touch
/// it"): `secretprobe`, a hostile system program, gets a copy of every
/// capability init can pass on, with every right init has (`INSPECT`
/// too): a block of untyped memory of its own (moved: untyped memory is
/// never copied; not all of init's), every device region, the boot image,
/// every interrupt, `PowerControl`, and the Pluton security server's
/// endpoint minted with a badge `plutond` refuses (an unbadged copy would
/// make it the loader). It must be denied every way to the secret it
/// tries, and its read of the secret's page through the kernel's identity
/// map, a run of its own, must fault there. The frames init made itself
/// (the loader's pages, the entropy source's buffer) are its working
/// memory, not something it passes on.
fn secret_scenario() -> Outcome {
    use tessera_abi::capability::CSPACE_SLOTS;
    use tessera_programs::secretprobe::{PLUTON_BADGE, READ_KERNEL_MAP, SEARCH, SECRET_PAGE, UNTYPED_BYTES};
    let pluton = *PLUTON.get().ok_or("no Pluton security server")?;
    let (mut originals, mut count) = ([Handle::NULL; CSPACE_SLOTS], 0);
    let (mut regions, mut interrupts, mut images, mut power) = (0, 0, 0, 0);
    for_each_initial_capability(|handle, info| {
        match info.kind {
            ObjectType::DeviceRegion => regions += 1,
            ObjectType::Interrupt => interrupts += 1,
            ObjectType::PowerControl => power += 1,
            // The boot image, the one frame init was given read-only.
            ObjectType::Frame if !info.rights.contains(Rights::WRITE) => images += 1,
            _ => return,
        }
        originals[count] = handle;
        count += 1;
    });
    if images != 1 || power != 1 || regions == 0 || interrupts == 0 {
        return Err("init does not hold the capabilities the kernel gives it");
    }
    let block = retype(untyped_memory()?, ObjectType::Untyped, UNTYPED_BYTES).map_err(|_| "retype failed")?;
    let badged =
        cap_derive(pluton, Rights::SEND | Rights::GRANT | Rights::DERIVE, PLUTON_BADGE).map_err(|_| "mint failed")?;
    let probe = start("secretprobe", NORMAL, SEARCH)?;
    cap_move(block, probe).map_err(|_| "move failed")?;
    for &capability in &originals[..count] {
        give(capability, probe, Rights::all())?;
    }
    give(badged, probe, Rights::all())?;
    println!(
        "init: gave secretprobe {} KiB of untyped memory, {} device regions, the boot image, {} interrupts, \
         PowerControl and the Pluton security server's endpoint with badge {}",
        UNTYPED_BYTES / 1024,
        regions,
        interrupts,
        PLUTON_BADGE
    );
    let searched = finish(probe)?;
    report("secretprobe", searched);
    let _ = cap_delete(badged);
    if searched != Ended::Exited(0) {
        return Err("secretprobe was not denied every way to the device secret");
    }

    let reader = finish(start("secretprobe", NORMAL, READ_KERNEL_MAP)?)?;
    report("secretprobe", reader);
    let record = tessera_rt::exit_record().map_err(|_| "no exit record")?;
    if reader != Ended::Faulted(FaultKind::Permission) || record.fault_address != SECRET_PAGE {
        println!("init: secretprobe's last fault was at {:#010x}", record.fault_address);
        return Err("secretprobe's read of the secret's page through the kernel's identity map did not fault there");
    }
    println!("init: secretprobe's read of {:#010x} through the kernel's identity map faulted", SECRET_PAGE);
    Ok(())
}

fn ipc_scenario() -> Outcome {
    let untyped = untyped_memory()?;
    let endpoint = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    // Minted send-only capabilities: the badge tells the server who calls.
    let for_a = cap_derive(endpoint, Rights::SEND | Rights::GRANT, 1).map_err(|_| "mint failed")?;
    let for_b = cap_derive(endpoint, Rights::SEND | Rights::GRANT, 2).map_err(|_| "mint failed")?;
    let server = start("echo", 10, 0)?;
    // The server alone may receive: init gives its capability away.
    cap_move(endpoint, server).map_err(|_| "move failed")?;
    let a = start("client", NORMAL, b'A' as u32)?;
    give(for_a, a, Rights::SEND | Rights::GRANT)?;
    let frame = retype(untyped, ObjectType::Frame, 4096).map_err(|_| "retype failed")?;
    give(frame, a, Rights::READ | Rights::WRITE | Rights::GRANT)?;
    give(frame, a, Rights::READ | Rights::WRITE)?;
    let b = start("client", NORMAL, b'B' as u32)?;
    give(for_b, b, Rights::SEND | Rights::GRANT)?;
    let mut clean = true;
    for (name, process) in [("client A", a), ("client B", b), ("echo", server)] {
        let ended = finish(process)?;
        report(name, ended);
        clean &= ended == Ended::Exited(0);
    }
    if !clean {
        return Err("an IPC party did not end cleanly");
    }
    notifications_deliver_their_bits()?;
    two_servers_share_an_endpoint()?;
    a_caller_ends_while_served()?;
    a_caller_loses_its_asid_while_served()?;
    a_receive_without_receive_is_refused()?;
    transfers_at_the_edges()
}

/// A server answers with `ReplyReceive` on an endpoint it holds with
/// `SEND` alone: the answer goes out and the receive is refused
/// (`echo::NO_RECEIVE`; on the A7 the assembly `ReplyReceive` must see the
/// missing right and leave the call to the general path, which answers and
/// refuses the receive: the server exits with 1 if it was not refused).
fn a_receive_without_receive_is_refused() -> Outcome {
    use tessera_programs::echo::NO_RECEIVE;
    let untyped = untyped_memory()?;
    let (server, endpoint, send) = echo_on_a_new_endpoint(10, 2)?;
    let other = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    give(other, server, Rights::SEND)?;
    match call(send, &Message::new(NO_RECEIVE, [0; 4]), Timeout::Forever) {
        Ok(answer) if answer.message.label == NO_RECEIVE => {}
        _ => return Err("a server's answer with a receive it may not make did not come"),
    }
    last_request(server, send, "a receive without RECEIVE was not refused")?;
    for capability in [other, send, endpoint] {
        let _ = cap_delete(capability);
    }
    println!("init: a ReplyReceive on an endpoint held without RECEIVE answered and was refused");
    Ok(())
}

/// `echo`'s last request (through `send`), an `ADD` answered before it
/// ends: `failure` if it is not, or the server does not exit with 0.
fn last_request(server: Handle, send: Handle, failure: &'static str) -> Outcome {
    use tessera_programs::echo::ADD;
    match call(send, &Message::new(ADD, [2, 3, 0, 0]), Timeout::Forever) {
        Ok(answer) if answer.message.words[0] == 5 => finish_clean("echo", server, failure),
        _ => Err(failure),
    }
}

/// Starts and ends 260 processes two at a time: more than there are ASIDs
/// (255), so every process that waits meanwhile has its ASID taken back.
fn run_more_processes_than_asids() -> Outcome {
    for pair in 0..130 {
        let first = start("hello", NORMAL, 2 * pair + 1)?;
        let second = start("hello", NORMAL, 2 * pair + 2)?;
        if (finish(first)?, finish(second)?) != (Ended::Exited(0), Ended::Exited(0)) {
            return Err("a process started past the ASIDs' take-back failed");
        }
    }
    Ok(())
}

/// A caller whose ASID is taken back while the server works for it: more
/// processes run meanwhile than there are ASIDs, so when the server answers
/// with `ReplyReceive` the caller holds none (the A7's assembly
/// `ReplyReceive` must leave it to Rust, which gives it one: resumed
/// without one, it would run under reserved ASID 0, which the test
/// kernel's invariant check finds at its next entry). The server answers
/// when `init` signals it (`echo::AWAIT`).
fn a_caller_loses_its_asid_while_served() -> Outcome {
    use tessera_programs::caller::argument;
    use tessera_programs::echo::AWAIT;
    let untyped = untyped_memory()?;
    // Two requests: the first is answered with `ReplyReceive`, the
    // second (init's) with a plain reply before the server exits.
    let (server, endpoint, send) = echo_on_a_new_endpoint(10, 2)?;
    let go = retype(untyped, ObjectType::Notification, 64).map_err(|_| "retype failed")?;
    give(go, server, Rights::WAIT)?;
    let caller = start("caller", NORMAL, argument(AWAIT, 0))?;
    give(send, caller, Rights::SEND)?;
    run_more_processes_than_asids()?;
    tessera_rt::signal(go, 1).map_err(|_| "signal failed")?;
    finish_clean("caller", caller, "the caller whose ASID was taken back was not answered")?;
    last_request(server, send, "the server did not answer or end after the caller whose ASID was taken back")?;
    for capability in [go, send, endpoint] {
        let _ = cap_delete(capability);
    }
    println!("init: a caller whose ASID was taken back while served (260 processes ran) was answered");
    Ok(())
}

/// A capability passed where the receiver cannot take it arrives as handle
/// 0, and the call is answered (the general path's transfer; the A7's
/// assembly `Call` must leave both cases to it): a copy at the deepest
/// level of the derivation tree (its copy would be deeper than
/// `capability::MAX_DEPTH`), and one into a server whose CSpace is full.
/// `echo` keeps what it is passed (`KEEP`) and answers its handle.
fn transfers_at_the_edges() -> Outcome {
    use tessera_abi::capability::CSPACE_SLOTS;
    use tessera_programs::echo::{ADD, KEEP};
    let untyped = untyped_memory()?;
    let (server, endpoint, send) = echo_on_a_new_endpoint(10, 1000)?;
    let keep = |handle: Handle| -> Result<u32, &'static str> {
        match call(send, &Message::with_capability(KEEP, [0; 3], handle), Timeout::Forever) {
            Ok(answer) if answer.message.label == KEEP => Ok(answer.message.words[0]),
            _ => Err("a call passing a capability was not answered"),
        }
    };
    // Copies of a frame derived one from the other down to the deepest
    // level: one more is refused.
    let frame = retype(untyped, ObjectType::Frame, 4096).map_err(|_| "retype failed")?;
    let copyable = Rights::READ | Rights::GRANT | Rights::DERIVE;
    let mut deepest = frame;
    let mut levels = 0;
    while let Ok(copy) = cap_derive(deepest, copyable, 0) {
        deepest = copy;
        levels += 1;
        if levels > 64 {
            return Err("copies were derived past any depth bound");
        }
    }
    // A first call: the server waits for the next when it answers, so
    // each call below meets it waiting (on the A7, `Call`'s assembly path).
    if !matches!(call(send, &Message::new(ADD, [1, 2, 0, 0]), Timeout::Forever), Ok(answer) if answer.message.words[0] == 3)
    {
        return Err("the server did not answer");
    }
    if levels == 0 || keep(deepest)? != 0 {
        return Err("a capability at the deepest level was passed on one level deeper");
    }
    // The server's CSpace filled with copies of the frame: the next one
    // comes as handle 0, and so does one more.
    let mut kept = 0;
    while keep(frame)? != 0 {
        kept += 1;
        if kept > CSPACE_SLOTS {
            return Err("a server kept more capabilities than its CSpace holds");
        }
    }
    if keep(frame)? != 0 {
        return Err("a transfer into a full CSpace did not come as handle 0");
    }
    println!("init: a capability {} levels down and one into a full CSpace (after {}) came as handle 0", levels, kept);
    collect(server);
    cap_revoke(frame).map_err(|_| "revoke failed")?;
    for capability in [frame, send, endpoint] {
        let _ = cap_delete(capability);
    }
    Ok(())
}

/// `echo` started at `priority` to serve `requests` (0: `echo::REQUESTS`)
/// on a new endpoint, which it alone receives on: the server, the endpoint
/// and a capability to call it (`SEND` and `GRANT`, to give on; no badge).
fn echo_on_a_new_endpoint(priority: u32, requests: u32) -> Result<(Handle, Handle, Handle), &'static str> {
    let untyped = untyped_memory()?;
    let endpoint = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    let send = cap_derive(endpoint, Rights::SEND | Rights::GRANT, 0).map_err(|_| "derive failed")?;
    let server = start("echo", priority, requests)?;
    give(endpoint, server, Rights::RECEIVE)?;
    Ok((server, endpoint, send))
}

/// A caller ended while the server works for its call: the server's answer
/// finds it gone (the A7's assembly `ReplyReceive` must leave a gone caller
/// to Rust, where the answer fails and the receive goes on: with nobody
/// else queued the assembly would otherwise take it), and the server
/// answers the next caller.
fn a_caller_ends_while_served() -> Outcome {
    use tessera_programs::caller::argument;
    use tessera_programs::echo::{ADD, REQUESTS, SPIN};
    /// How long the server works for the caller; `init` ends the caller
    /// after a tenth of it (the caller calls at once: it needs well under
    /// a millisecond).
    const SPIN_MILLIS: u32 = 200;
    let (server, endpoint, send) = echo_on_a_new_endpoint(10, 0)?;
    let caller = start("caller", NORMAL, argument(SPIN, SPIN_MILLIS))?;
    give(send, caller, Rights::SEND)?;
    tessera_rt::sleep_micros(SPIN_MILLIS * 1000 / 10);
    collect(caller);
    // Once the server has answered nobody and waits again, the next
    // caller; then the rest of the server's requests, so that it ends.
    tessera_rt::sleep_micros(SPIN_MILLIS * 1000);
    for n in 1..REQUESTS {
        match call(send, &Message::new(ADD, [n, 41, 0, 0]), Timeout::Forever) {
            Ok(answer) if answer.message.words[0] == n + 41 => {}
            _ => return Err("the server did not answer the caller after the one that ended"),
        }
    }
    finish_clean("echo", server, "the server whose caller ended did not end cleanly")?;
    for capability in [send, endpoint] {
        let _ = cap_delete(capability);
    }
    println!("init: a caller ended while the server worked for it; the server answered the next");
    Ok(())
}

/// Two servers receiving on one endpoint: the calls go to them in turn,
/// each server answering and waiting again behind the other, so the
/// queue's links are made and cleared at every call (on the A7 in
/// assembly, whose states the test kernel checks at every entry into
/// Rust), and each serves its share.
fn two_servers_share_an_endpoint() -> Outcome {
    use tessera_programs::echo::{REQUESTS, WHO};
    let untyped = untyped_memory()?;
    let endpoint = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    let send = cap_derive(endpoint, Rights::SEND, 3).map_err(|_| "mint failed")?;
    let servers = [start("echo", 10, 0)?, start("echo", 10, 0)?];
    for server in servers {
        give(endpoint, server, Rights::RECEIVE)?;
    }
    // Both wait on the endpoint before the first call (they run below
    // init's priority).
    tessera_rt::sleep_micros(20_000);
    for _ in 0..2 * REQUESTS {
        let answer = call(send, &Message::new(WHO, [0; 4]), Timeout::Forever)
            .map_err(|_| "a call to one of two servers failed")?;
        if answer.message.words[0] != 3 {
            return Err("one of two servers saw the wrong badge");
        }
    }
    for server in servers {
        finish_clean("echo", server, "one of two servers on one endpoint did not end cleanly")?;
    }
    for capability in [send, endpoint] {
        let _ = cap_delete(capability);
    }
    println!("init: two servers on one endpoint answered {} calls", 2 * REQUESTS);
    Ok(())
}

/// Signal and wait (on the A7 the assembly fast paths take each of these):
/// bits no one waits for stay, a wait takes only its mask's bits, a wait
/// that may not block returns none, a waiter is woken by the bits of its
/// mask and not by others, and the bits it did not take stay behind.
fn notifications_deliver_their_bits() -> Outcome {
    use tessera_rt::{poll, signal, wait_notification};
    let untyped = untyped_memory()?;
    let notification = retype(untyped, ObjectType::Notification, 64).map_err(|_| "retype failed")?;
    let wrong = |what| {
        println!("init: notifications: {}", what);
        "a notification did not deliver the bits it was for"
    };
    // On its own: 0b101 set, a wait for 0b100 takes 0b100 at once, one for
    // 0b010 that may not block takes nothing, and 0b001 is still there.
    signal(notification, 0b101).map_err(|_| "signal failed")?;
    if wait_notification(notification, 0b100, Timeout::Forever) != Ok(0b100) {
        return Err(wrong("a wait did not take its bit at once"));
    }
    if wait_notification(notification, 0b010, Timeout::NoWait) != Ok(0) {
        return Err(wrong("a wait that may not block took bits it had no right to"));
    }
    if poll(notification, 0b001) != Ok(0b001) {
        return Err(wrong("a bit nobody took was lost"));
    }
    // A waiter for 0b0110 at a lower priority: 0b0001 does not wake it,
    // 0b0100 does and it takes only that; 0b0001 stays for init.
    let waiter = start("waiter", 4, 0b0110)?;
    give(notification, waiter, Rights::WAIT)?;
    tessera_rt::sleep_micros(20_000);
    signal(notification, 0b0001).map_err(|_| "signal failed")?;
    signal(notification, 0b0100).map_err(|_| "signal failed")?;
    let ended = finish(waiter)?;
    if ended != Ended::Exited(0b0100) {
        report("waiter", ended);
        return Err(wrong("the waiter did not take exactly the bit of its mask"));
    }
    if poll(notification, 0b1111) != Ok(0b0001) {
        return Err(wrong("the bit the waiter did not want was not left"));
    }
    // Two waiters queued on one notification in turn (the second linked
    // after the first: on the A7 the assembly's queue link), woken in the
    // other order, each by the bits of its mask.
    let first = start("waiter", 4, 0b0010)?;
    give(notification, first, Rights::WAIT)?;
    let second = start("waiter", 4, 0b1000)?;
    give(notification, second, Rights::WAIT)?;
    tessera_rt::sleep_micros(20_000);
    signal(notification, 0b1000).map_err(|_| "signal failed")?;
    let ended = finish(second)?;
    if ended != Ended::Exited(0b1000) {
        report("second waiter", ended);
        return Err(wrong("the second of two queued waiters did not take its bit"));
    }
    signal(notification, 0b0010).map_err(|_| "signal failed")?;
    let ended = finish(first)?;
    if ended != Ended::Exited(0b0010) {
        report("first waiter", ended);
        return Err(wrong("the first of two queued waiters did not take its bit"));
    }
    println!("init: notifications delivered the bits they were for");
    bound_notifications_answer_receives()
}

/// A notification bound to a process's receives (`NotificationBind`)
/// answers them whenever its bits are set: `binder` checks each case (see
/// its source), which on the A7 an assembly fast path must leave to the
/// general one: a `Signal` to it while it waits in a `Receive`, its
/// `Receive` and its `ReplyReceive` with bits already set. First it wakes a
/// waiter of a higher priority with a `Signal`, which must switch to it at
/// once. A spinner below them keeps a thread ready, so that their waits may
/// take the fast paths.
fn bound_notifications_answer_receives() -> Outcome {
    use tessera_programs::binder::*;
    use tessera_rt::signal;
    let untyped = untyped_memory()?;
    let endpoint = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    let send = cap_derive(endpoint, Rights::SEND, 0).map_err(|_| "derive failed")?;
    let bound = retype(untyped, ObjectType::Notification, 64).map_err(|_| "retype failed")?;
    let theirs = retype(untyped, ObjectType::Notification, 64).map_err(|_| "retype failed")?;
    let waiter = start("waiter", 12, WAITER_BIT)?;
    give(theirs, waiter, Rights::WAIT)?;
    let spinner = start("spinner", 4, spinner::argument(b'N', 300))?;
    let binder = start("binder", 10, 0)?;
    give(endpoint, binder, Rights::RECEIVE)?;
    give(bound, binder, Rights::WAIT | Rights::SIGNAL)?;
    give(theirs, binder, Rights::SIGNAL)?;
    // It binds, wakes the waiter and waits; then the signal; then it sets
    // bits before its next receive and waits for the call.
    tessera_rt::sleep_micros(20_000);
    signal(bound, FROM_INIT).map_err(|_| "signal failed")?;
    tessera_rt::sleep_micros(20_000);
    let answered =
        matches!(call(send, &Message::new(CALL, [0; 4]), Timeout::Forever), Ok(a) if a.message.words[0] == ANSWER);
    let ended = wait(Some(binder), Some(500_000)).map(|(_, ended)| ended);
    collect(binder);
    let woken = finish(waiter)?;
    finish(spinner)?;
    for capability in [send, endpoint, bound, theirs] {
        let _ = cap_delete(capability);
    }
    if woken != Ended::Exited(WAITER_BIT) {
        report("waiter", woken);
        return Err("the waiter did not take its bit");
    }
    match ended {
        Ok(Ended::Exited(0)) if answered => {}
        Ok(ended) => {
            report("binder", ended);
            return Err("a bound notification's bits did not answer a receive");
        }
        Err(_) => return Err("binder did not end: its bits did not answer its last receive"),
    }
    println!("init: a bound notification's bits answered each receive");
    Ok(())
}

fn interrupt_scenario() -> Outcome {
    let untyped = untyped_memory()?;
    let (mut registers, mut interrupt) = (None, None);
    for_each_initial_capability(|handle, info| match info.kind {
        ObjectType::DeviceRegion if cap_object(handle).map(|o| o.0) == Ok(capprobe::RTC_ADDRESS) => {
            registers = Some(handle)
        }
        ObjectType::Interrupt if cap_object(handle).map(|o| o.0) == Ok(rtc::INTERRUPT) => interrupt = Some(handle),
        _ => {}
    });
    let registers = registers.ok_or("no capability for the RTC's registers")?;
    let interrupt = interrupt.ok_or("no capability for the RTC's interrupt")?;
    // Bound to no notification yet: an acknowledgement is refused and
    // leaves it masked (on the A7 the assembly `InterruptAck` must leave
    // it to the general path).
    if tessera_rt::interrupt_ack(interrupt) != Err(tessera_rt::Error::InvalidArgument) {
        return Err("an interrupt bound to nothing was acknowledged");
    }
    println!("init: acknowledging an interrupt bound to nothing: refused (invalid argument)");
    let notification = retype(untyped, ObjectType::Notification, 64).map_err(|_| "retype failed")?;
    let driver = start("rtcdriver", NORMAL, 0)?;
    give(registers, driver, DRIVER_DEVICE_RIGHTS)?;
    give(interrupt, driver, Rights::empty())?;
    give(notification, driver, Rights::SIGNAL | Rights::WAIT)?;
    finish_clean("rtcdriver", driver, "the driver did not get its interrupt")?;

    // Again with the driver waiting as a server does (its notification
    // bound to a `Receive`) above a busy process, across a take-back of
    // the ASIDs: while it waits, more processes run than there are ASIDs,
    // so when the interrupt comes the driver has none (the A7's IRQ path
    // in assembly must leave that to Rust, which gives it one).
    let endpoint = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    let notification = retype(untyped, ObjectType::Notification, 64).map_err(|_| "retype failed")?;
    let driver = start("rtcdriver", NORMAL + 2, 1)?;
    give(registers, driver, DRIVER_DEVICE_RIGHTS)?;
    give(interrupt, driver, Rights::empty())?;
    give(notification, driver, Rights::SIGNAL | Rights::WAIT)?;
    give(endpoint, driver, Rights::RECEIVE)?;
    sleep_micros(20_000);
    run_more_processes_than_asids()?;
    println!("init: 260 processes ran while the driver waited");
    let busy = start("spinner", NORMAL, spinner::argument(b'R', 3_500))?;
    finish_clean("rtcdriver", driver, "the driver did not get its interrupt in a receive")?;
    let ended = finish(busy)?;
    report("spinner", ended);
    for capability in [endpoint, notification] {
        let _ = cap_delete(capability);
    }

    // Again with the driver below the busy process: the interrupt comes
    // while the spinner runs and must not preempt it (on the A7 the IRQ
    // path in assembly must leave a bound process that does not outrank
    // the interrupted thread to Rust, which only makes it ready; the test
    // kernel's check at the driver's next entry would find the spinner
    // ready above it). The driver takes the bits when the spinner ends.
    let endpoint = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    let notification = retype(untyped, ObjectType::Notification, 64).map_err(|_| "retype failed")?;
    let driver = start("rtcdriver", NORMAL - 2, 1)?;
    give(registers, driver, DRIVER_DEVICE_RIGHTS)?;
    give(interrupt, driver, Rights::empty())?;
    give(notification, driver, Rights::SIGNAL | Rights::WAIT)?;
    give(endpoint, driver, Rights::RECEIVE)?;
    sleep_micros(20_000);
    let busy = start("spinner", NORMAL, spinner::argument(b'Q', 3_500))?;
    finish_clean("rtcdriver", driver, "the driver below a busy process did not get its interrupt")?;
    finish(busy)?;
    println!("init: the driver below a busy process got its interrupt when the spinner ended");
    for capability in [endpoint, notification] {
        let _ = cap_delete(capability);
    }

    // Again with the driver second of two receivers on its endpoint (an
    // `echo` waits there first): the interrupt's bits answer the driver's
    // receive and the other stays queued (on the A7 the IRQ path in
    // assembly takes only a bound process first in its endpoint's queue).
    let endpoint = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    let notification = retype(untyped, ObjectType::Notification, 64).map_err(|_| "retype failed")?;
    let first = start("echo", NORMAL, 0)?;
    give(endpoint, first, Rights::RECEIVE)?;
    sleep_micros(20_000);
    let driver = start("rtcdriver", NORMAL, 1)?;
    give(registers, driver, DRIVER_DEVICE_RIGHTS)?;
    give(interrupt, driver, Rights::empty())?;
    give(notification, driver, Rights::SIGNAL | Rights::WAIT)?;
    give(endpoint, driver, Rights::RECEIVE)?;
    finish_clean("rtcdriver", driver, "the driver second on its endpoint did not get its interrupt")?;
    // The first receiver still waits there: a call reaches it.
    let send = cap_derive(endpoint, Rights::SEND, 0).map_err(|_| "derive failed")?;
    let answer = call(send, &Message::new(tessera_programs::echo::ADD, [40, 2, 0, 0]), Timeout::Forever);
    collect(first);
    if !matches!(answer, Ok(ref a) if a.message.words[0] == 42) {
        return Err("the receiver queued before the driver was lost");
    }
    println!("init: the driver second of two receivers got its interrupt; the first still answered");
    for capability in [send, endpoint, notification] {
        let _ = cap_delete(capability);
    }

    // Again with the driver waiting on another notification while nothing
    // else runs: the interrupt comes while the kernel idles (on the A7 in
    // its assembly idle wait), its bits must stay and the wait go on.
    let notification = retype(untyped, ObjectType::Notification, 64).map_err(|_| "retype failed")?;
    let other = retype(untyped, ObjectType::Notification, 64).map_err(|_| "retype failed")?;
    let driver = start("rtcdriver", NORMAL, 2)?;
    give(registers, driver, DRIVER_DEVICE_RIGHTS)?;
    give(interrupt, driver, Rights::empty())?;
    give(notification, driver, Rights::SIGNAL | Rights::WAIT)?;
    give(other, driver, Rights::SIGNAL | Rights::WAIT)?;
    finish_clean("rtcdriver", driver, "the driver's interrupt was not kept while it waited elsewhere")?;
    for capability in [notification, other] {
        let _ = cap_delete(capability);
    }
    Ok(())
}

/// The GPIO server and three clients sharing the PL061: one granted pin
/// 3, one pin 4, one nothing. Each capability's badge is its pin mask.
fn gpio_scenario() -> Outcome {
    use tessera_programs::gpio::{probe_argument, NONE, PL061_ADDRESS};
    let untyped = untyped_memory()?;
    let registers = device_region(PL061_ADDRESS).ok_or("no capability for the PL061's registers")?;
    let endpoint = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    let pin3 = cap_derive(endpoint, Rights::SEND | Rights::GRANT, 1 << 3).map_err(|_| "mint failed")?;
    let pin4 = cap_derive(endpoint, Rights::SEND | Rights::GRANT, 1 << 4).map_err(|_| "mint failed")?;
    let server = start_server("gpiod", 10)?;
    give(registers, server, DRIVER_DEVICE_RIGHTS)?;
    cap_move(endpoint, server).map_err(|_| "move failed")?;
    let a = start("gpioprobe", NORMAL, probe_argument(3, 4))?;
    give(pin3, a, Rights::SEND)?;
    let b = start("gpioprobe", NORMAL, probe_argument(4, 3))?;
    give(pin4, b, Rights::SEND)?;
    let c = start("gpioprobe", NORMAL, NONE)?;
    let mut clean = true;
    for (name, process) in [("gpioprobe (pin 3)", a), ("gpioprobe (pin 4)", b), ("gpioprobe (no grant)", c)] {
        let ended = finish(process)?;
        report(name, ended);
        clean &= ended == Ended::Exited(0);
    }
    // The server runs until its memory is taken back.
    collect(server);
    if clean {
        Ok(())
    } else {
        Err("a GPIO grant was not enforced")
    }
}

/// Every package of the boot image, fixtures included: the tampered,
/// unsigned and I2C-wanting ones are refused, and so are the one with
/// blinky's `ComponentId` and the one asking for blinky's pin; the hostile
/// apps are denied everything they were not granted, the crash-looping one
/// is restarted with back-off and held, three apps of many pages start
/// beside all of them, and blinky keeps running through all of it.
fn apps_scenario() -> Outcome {
    let mut apps = start_apps(true)?;
    let deadline = tessera_rt::uptime_micros() + 10_000_000;
    let settled = |apps: &Apps| {
        apps.status("crasher") == Some(Status::Held)
            && apps.status("test-heap-hog") == Some(Status::Held)
            && apps.status("hostile") == Some(Status::Finished)
            && apps.status("test-hostile-bare") == Some(Status::Finished)
    };
    apps.supervise(Some(deadline), settled, ended_elsewhere);
    // Blinky must go on after the crash loop was held.
    let held_at = tessera_rt::uptime_micros();
    apps.supervise(Some(held_at + 700_000), |_| false, ended_elsewhere);
    apps.print_failure_log();
    let expected = [
        ("test-tampered", Status::Refused),
        ("test-unsigned", Status::Refused),
        ("test-truncated", Status::Refused),
        ("test-needs-i2c", Status::Refused),
        ("test-dup-component", Status::Refused),
        ("test-pin-thief", Status::Refused),
        ("test-port-thief", Status::Refused),
        ("test-big-1", Status::Running),
        ("test-big-2", Status::Running),
        ("test-big-3", Status::Running),
        ("crasher", Status::Held),
        ("test-heap-hog", Status::Held),
        ("hostile", Status::Finished),
        ("test-hostile-bare", Status::Finished),
        ("blinky", Status::Running),
        ("uartecho", Status::Running),
    ];
    let mut good = statuses_are(&apps, &expected);
    let failed = apps.count(Status::Failed);
    if failed != 0 {
        println!("init: {} apps could not be started", failed);
        good = false;
    }
    let crashes = apps.failure_log().len();
    if crashes != 6 {
        println!(
            "init: the failure log has {} entries, expected 6 (one per crash: crasher's and test-heap-hog's)",
            crashes
        );
        good = false;
    }
    if good {
        Ok(())
    } else {
        Err("an app did not end up as expected")
    }
}

/// Starts the servers and app `name` alone (a `test-solo-` fixture the
/// host talks to on the UART) and waits up to 30 s for it to finish.
fn solo_app(name: &str) -> Outcome {
    let servers = crate::start_servers();
    let mut apps = APPS.lock();
    apps.attach(loader()?, servers, crate::PLUTON.get().copied());
    if !apps.start_one(name) {
        return Err("the app did not start");
    }
    let deadline = tessera_rt::uptime_micros() + 30_000_000;
    let done =
        |apps: &Apps| !matches!(apps.status(name), Some(Status::Running | Status::Checked | Status::RestartAt(_)));
    apps.supervise(Some(deadline), done, ended_elsewhere);
    match apps.status(name) {
        Some(Status::Finished) => Ok(()),
        status => {
            println!("init: app '{}' is {:?}, expected Finished", name, status);
            Err("the app did not finish")
        }
    }
}

fn loader_scenario() -> Outcome {
    let loader = loader()?;
    let image = loader.image().map_err(|_| "no boot image")?;
    println!("init: reads the boot image through its read-only capability: {} programs", image.len());

    // Every program here is loaded by init into memory init pays for.
    let ended = finish(start("hello", NORMAL, 0)?)?;
    report("hello (loaded by init)", ended);
    if ended != Ended::Exited(0) {
        return Err("the loaded program did not run");
    }

    // A process lives while a capability names it.
    let sleeper = start("sleeper", NORMAL, 5_000_000)?;
    sleep_micros(20_000);
    cap_delete(sleeper).map_err(|_| "delete failed")?;
    // Its entry was in its object, now free: nothing is left to wait for.
    match wait(None, Some(0)) {
        Err(tessera_rt::Error::NotFound) => println!("init: the sleeper ended with its last capability"),
        other => {
            println!("init: wait after the sleeper's last capability went gave {:?}", other.map(|_| ()));
            return Err("the process outlived its last capability");
        }
    }
    // Take its memory back by the handle the loader gave.
    collect(sleeper);

    // How many processes exist at once is bounded by memory only: make
    // processes from 1 MiB until it runs out, then take it all back.
    let block = retype(loader.untyped(), ObjectType::Untyped, 1 << 20).map_err(|_| "retype failed")?;
    let mut made = 0;
    let error = loop {
        match retype(block, ObjectType::Process, tessera_abi::PROCESS_OBJECT_BYTES) {
            Ok(_) => made += 1,
            Err(error) => break error,
        }
    };
    println!("init: made {} processes from 1 MiB, then: {}", made, error.name());
    cap_delete(block).map_err(|_| "delete failed")?;
    if made != 64 || error != tessera_rt::Error::OutOfMemory {
        return Err("processes were not bounded by memory alone");
    }

    // More processes than there are ASIDs (255), two at a time: each
    // stores a value, yields to the other and checks it reads its own back.
    const RUNS: u32 = 300;
    for pair in 0..RUNS / 2 {
        let first = start("hello", NORMAL, 2 * pair + 1)?;
        let second = start("hello", NORMAL, 2 * pair + 2)?;
        let results = (finish(first)?, finish(second)?);
        if results != (Ended::Exited(0), Ended::Exited(0)) {
            println!("init: pair {} ended with {:?}", pair, results);
            return Err("a process saw memory that was not its own");
        }
    }
    println!("init: {} processes ran, each in its own address space", RUNS);

    // A process holding the only capability to itself: ending it destroys
    // that capability while it ends. Unwaited for, it leaves nothing;
    // waited for, its parent gets its exit.
    for waited in [false, true] {
        let selfish = start("sleeper", NORMAL, 1_000)?;
        cap_move(selfish, selfish).map_err(|_| "move failed")?;
        let ended = if waited {
            wait(None, Some(1_000_000)).map(|(handle, ended)| (handle, Some(ended)))
        } else {
            sleep_micros(30_000);
            wait(None, Some(0)).map(|(handle, ended)| (handle, Some(ended)))
        };
        match (waited, ended) {
            (false, Err(tessera_rt::Error::NotFound)) | (true, Ok((Handle::NULL, Some(Ended::Exited(0))))) => {}
            (_, other) => {
                println!("init: a process naming only itself ended with {:?}", other);
                return Err("a process holding its own last capability did not end cleanly");
            }
        }
        collect(selfish);
    }
    println!("init: processes holding the only capability to themselves ended cleanly");

    // Processes come out of the creator's memory: a small untyped runs out.
    let small = retype(loader.untyped(), ObjectType::Untyped, 8192).map_err(|_| "retype failed")?;
    match retype(small, ObjectType::Process, tessera_abi::PROCESS_OBJECT_BYTES) {
        Err(tessera_rt::Error::OutOfMemory) => println!("init: a process does not fit in 8 KiB of untyped memory"),
        other => {
            println!("init: a process from 8 KiB gave {:?}", other.map(|_| ()));
            return Err("a process was made from too little memory");
        }
    }
    Ok(())
}

/// Storm processes at two priorities make random syscalls at each other
/// through two endpoints (one badged per process), two notifications and
/// a frame (`storm`, which checks every answer); a fifth on the same
/// objects, and two more in chaos mode (any syscall, random registers) on
/// endpoints of their own, are ended in the middle of it by revoking their
/// memory; the test kernel checks its invariants at every entry into Rust.
/// Then the four must have found nothing wrong, and IPC must still work.
fn storm_scenario() -> Outcome {
    use tessera_programs::storm::{argument, CHAOS};
    const STORMS: u32 = 4;
    const OPERATIONS: u32 = 20_000;
    /// Operations the ended ones would make: more than they get to.
    const UNFINISHED: u32 = 1_000_000;
    /// Chaos runs 8,000 to 16,000 syscalls a second a process on this
    /// project's machines: long enough for three times xtask's floor at
    /// the slowest (half a second was not always enough for 5,000).
    const CHAOS_MICROS: u32 = 1_500_000;
    let untyped = untyped_memory()?;
    let retyped = |kind, bytes| retype(untyped, kind, bytes).map_err(|_| "retype failed");
    let shared = [retyped(ObjectType::Endpoint, 64)?, retyped(ObjectType::Endpoint, 64)?];
    let chaotic = [retyped(ObjectType::Endpoint, 64)?, retyped(ObjectType::Endpoint, 64)?];
    let notifications = [retyped(ObjectType::Notification, 64)?, retyped(ObjectType::Notification, 64)?];
    let frame = retyped(ObjectType::Frame, PAGE_SIZE as u32)?;
    let ipc = Rights::SEND | Rights::RECEIVE | Rights::GRANT | Rights::DERIVE;
    let start_storm = |id: u32, priority: u32, argument: u32, endpoints: [Handle; 2]| {
        let process = start("storm", priority, argument)?;
        // Its badged endpoint capability: a server answers with the badge
        // it saw, which the caller checks.
        let badged = cap_derive(endpoints[0], ipc, id).map_err(|_| "mint failed")?;
        cap_move(badged, process).map_err(|_| "move failed")?;
        give(endpoints[1], process, ipc)?;
        for notification in notifications {
            give(notification, process, Rights::SIGNAL | Rights::WAIT | Rights::GRANT | Rights::DERIVE)?;
        }
        give(frame, process, Rights::READ | Rights::WRITE | Rights::GRANT | Rights::DERIVE)?;
        Ok::<_, &'static str>(process)
    };
    let mut storms = [Handle::NULL; STORMS as usize];
    for (id, storm) in (1..).zip(storms.iter_mut()) {
        *storm = start_storm(id, NORMAL + id % 2, argument(id, OPERATIONS), shared)?;
    }
    // Its memory revoked, a process object goes with it: the kernel ends
    // the process in whatever state the storm left it.
    let doomed = start_storm(STORMS + 1, NORMAL, argument(STORMS + 1, UNFINISHED), shared)?;
    tessera_rt::sleep_micros(15_000);
    collect(doomed);
    println!("init: storm {} ended in the middle of the storm", STORMS + 1);
    let mut chaos = [Handle::NULL; 2];
    for (id, process) in (STORMS + 2..).zip(chaos.iter_mut()) {
        *process = start_storm(id, NORMAL, argument(id, UNFINISHED) | CHAOS, chaotic)?;
    }
    // Long enough for thousands of syscalls each, among the storm's.
    tessera_rt::sleep_micros(CHAOS_MICROS);
    for (id, process) in (STORMS + 2..).zip(chaos) {
        collect(process);
        println!("init: storm {} (chaos) ended in the middle of the storm", id);
        tessera_rt::sleep_micros(5_000);
    }
    for (id, storm) in (1..).zip(storms) {
        let ended = finish(storm)?;
        if ended != Ended::Exited(0) {
            report("a storm process", ended);
            println!("init: storm {} did not end cleanly", id);
            return Err("a storm process found a wrong answer or did not end cleanly");
        }
    }
    for capability in shared.into_iter().chain(chaotic).chain(notifications).chain([frame]) {
        let _ = cap_delete(capability);
    }
    println!("init: {} storm processes ended cleanly, 3 more were ended in the middle", STORMS);
    two_servers_share_an_endpoint().and_then(|()| still_alive())
}

/// Revokes a capability with many descendants (run with the
/// `kernel.preempt-test` boot argument, the revoke restarts after every
/// step) and checks every descendant is gone and the rest untouched.
fn revoke_scenario() -> Outcome {
    let untyped = loader()?.untyped();
    let frame = retype(untyped, ObjectType::Frame, 4096).map_err(|_| "retype failed")?;
    let keep = retype(untyped, ObjectType::Frame, 4096).map_err(|_| "retype failed")?;
    let mut children = [Handle::NULL; 30];
    for n in 0..children.len() {
        // Half of them derived from the previous child, half from the frame.
        let parent = if n % 2 == 1 { children[n - 1] } else { frame };
        children[n] = cap_derive(parent, Rights::READ | Rights::DERIVE, 0).map_err(|_| "derive failed")?;
    }
    cap_revoke(frame).map_err(|_| "revoke failed")?;
    let left = children.iter().filter(|&&child| cap_info(child).is_ok()).count();
    println!("init: after the revoke, {} of {} descendants are left", left, children.len());
    if left != 0 || cap_info(frame).is_err() || cap_info(keep).is_err() {
        return Err("the revoke left descendants or took too much");
    }
    Ok(())
}

fn run_benchmarks() -> Outcome {
    expect_clean_exit("bench", bench::NULL_SYSCALL)?;
    let reporter = start("bench", NORMAL, bench::YIELD_REPORTER)?;
    let partner = start("bench", NORMAL, bench::YIELD_PARTNER)?;
    if finish(reporter)? != Ended::Exited(0) || finish(partner)? != Ended::Exited(0) {
        return Err("a benchmark failed");
    }
    // IPC between two address spaces at the same priority.
    let untyped = untyped_memory()?;
    let endpoint = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    let frame = retype(untyped, ObjectType::Frame, 4096).map_err(|_| "retype failed")?;
    let server = start("bench", NORMAL, bench::IPC_SERVER)?;
    give(endpoint, server, Rights::RECEIVE)?;
    let client = start("bench", NORMAL, bench::IPC_CLIENT)?;
    give(endpoint, client, Rights::SEND)?;
    give(frame, client, Rights::READ | Rights::GRANT | Rights::DERIVE)?;
    if finish(client)? != Ended::Exited(0) || finish(server)? != Ended::Exited(0) {
        return Err("the IPC benchmark failed");
    }
    // Notification ping-pong.
    let there = retype(untyped, ObjectType::Notification, 64).map_err(|_| "retype failed")?;
    let back = retype(untyped, ObjectType::Notification, 64).map_err(|_| "retype failed")?;
    let ping = start("bench", NORMAL, bench::PING)?;
    give(there, ping, Rights::SIGNAL)?;
    give(back, ping, Rights::WAIT)?;
    let pong = start("bench", NORMAL, bench::PONG)?;
    give(there, pong, Rights::WAIT)?;
    give(back, pong, Rights::SIGNAL)?;
    if finish(ping)? != Ended::Exited(0) || finish(pong)? != Ended::Exited(0) {
        return Err("the notification benchmark failed");
    }
    // Loading an app: from the start of its package's verification to the
    // first statement of its `main` (the app reports the counter there).
    // The app then measures sealing and randomness through the Pluton
    // security server and exits.
    let mut apps = APPS.lock();
    apps.attach(loader()?, Servers::new(), crate::PLUTON.get().copied());
    let started_at = cycles();
    if !apps.start_one("test-bench-app") {
        return Err("the benchmark app did not start");
    }
    apps.supervise(None, |apps| apps.status("test-bench-app") != Some(Status::Running), ended_elsewhere);
    println!("BENCH app_load_started_at_cycle {}", started_at);
    if apps.status("test-bench-app") != Some(Status::Finished) {
        return Err("the benchmark app failed");
    }
    drop(apps);
    verification_benchmark()?;
    attestation_benchmark()
}

/// The network benchmarks (`cargo xtask bench` runs the host's servers):
/// the system servers as a user boots them, and `test-bench-net`, which
/// measures through the network server and reports its figures.
#[inline(never)]
fn network_benchmarks() -> Outcome {
    let servers = crate::start_servers();
    let mut apps = APPS.lock();
    apps.attach(loader()?, servers, crate::PLUTON.get().copied());
    if !apps.start_one("test-bench-net") {
        return Err("the network benchmark app did not start");
    }
    apps.supervise(None, |apps| apps.status("test-bench-net") != Some(Status::Running), ended_elsewhere);
    if apps.status("test-bench-net") != Some(Status::Finished) {
        return Err("the network benchmark app failed");
    }
    Ok(())
}

/// Where `init` maps a frame it writes for a moment (the `net-handoff`
/// giver's registration record).
const SCRATCH_AT: u32 = 0x3600_0000;

/// The network client number the `net-handoff` giver is registered as
/// (no app runs in that scenario).
const HANDOFF_CLIENT: u32 = 16;

/// A socket handed over as a capability (`qemu:net-handoff` runs the host's
/// echo server): `netpass` as the giver, registered with the network
/// server like an app whose manifest lists 10.0.2.2, and `netpass` as the
/// taker, which holds nothing of the network, joined by an endpoint.
/// Passes when both exit 0 (their lines say what they checked).
#[inline(never)]
fn network_handoff() -> Outcome {
    use tessera_abi::manifest::ComponentId;
    use tessera_programs::netpass::{CHANNEL_BADGE, GIVER, TAKER};
    use tessera_servers::net::registration::Registration;
    use tessera_servers::net::{REGISTER_APP, UNREGISTER_APP, WINDOW_BYTES};
    let servers = crate::start_servers();
    let net = servers.get(ServerKind::NET).ok_or("no network server")?;
    let untyped = untyped_memory()?;
    // The giver's window, with its policy in the record at its start.
    let window = retype(untyped, ObjectType::Frame, WINDOW_BYTES as u32).map_err(|_| "retype failed")?;
    let registration = Registration::new(ComponentId([0x4e; 16])).with_host("10.0.2.2");
    let mut record = [0u8; 64];
    let size = registration.encode(&mut record).ok_or("the record does not fit")?;
    Mapping::new(window, SCRATCH_AT, Rights::READ | Rights::WRITE)
        .map_err(|_| "cannot map the window")?
        .write_bytes(0, &record[..size]);
    let _ = tessera_rt::unmap(window);
    // Its readiness notification (netpass does not wait on it).
    let ready = retype(untyped, ObjectType::Notification, 64).map_err(|_| "retype failed")?;
    let registered = tessera_rt::call(
        net,
        &tessera_rt::Message { label: REGISTER_APP, words: [HANDOFF_CLIENT, 0, ready.0, window.0], caps: 2 },
        tessera_rt::Timeout::Millis(2000),
    );
    if !registered.is_ok_and(|answer| answer.message.label == 0) {
        return Err("the network server did not register the giver");
    }
    let client = cap_derive(net, Rights::SEND | Rights::GRANT, HANDOFF_CLIENT).map_err(|_| "derive failed")?;
    let channel = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    let to_taker = cap_derive(channel, Rights::SEND | Rights::GRANT, CHANNEL_BADGE).map_err(|_| "derive failed")?;
    let frame = retype(untyped, ObjectType::Frame, PAGE_SIZE as u32).map_err(|_| "retype failed")?;
    let giver = start("netpass", NORMAL, GIVER)?;
    give(client, giver, Rights::SEND)?;
    give(window, giver, Rights::READ | Rights::WRITE | Rights::INSPECT)?;
    give(to_taker, giver, Rights::SEND | Rights::GRANT)?;
    let taker = start("netpass", NORMAL, TAKER)?;
    give(channel, taker, Rights::RECEIVE)?;
    give(frame, taker, Rights::READ | Rights::WRITE | Rights::INSPECT | Rights::GRANT)?;
    let (given, taken) = (finish(giver)?, finish(taker)?);
    let _ = tessera_rt::call(
        net,
        &tessera_rt::Message::new(UNREGISTER_APP, [HANDOFF_CLIENT, 0, 0, 0]),
        tessera_rt::Timeout::Millis(2000),
    );
    report("netpass (giver)", given);
    report("netpass (taker)", taken);
    if given == Ended::Exited(0) && taken == Ended::Exited(0) {
        Ok(())
    } else {
        Err("the socket was not handed over as it should be")
    }
}

/// How long `test-solo-net-worker` runs alone before the others start.
const WORKER_HEAD_START_MICROS: u64 = 6_000_000;
/// How long the stress scenario may take.
const STRESS_MICROS: u64 = 60_000_000;

/// The network under stress (`qemu:net-stress` runs the host's servers):
/// the system servers, `test-solo-net-worker` alone (its first transfer), then
/// the two hogs, `test-solo-net-dier` and `test-solo-net-garbage` beside it
/// (its second transfer). Passes when the worker and the garbage sender
/// finished cleanly, the dier crashed into being held, and the hog still
/// runs; the apps' own lines say how (xtask checks them).
#[inline(never)]
fn network_stress() -> Outcome {
    let servers = crate::start_servers();
    let mut apps = APPS.lock();
    apps.attach(loader()?, servers, crate::PLUTON.get().copied());
    if !apps.start_one("test-solo-net-worker") {
        return Err("test-solo-net-worker did not start");
    }
    let head_start = tessera_rt::uptime_micros() + WORKER_HEAD_START_MICROS;
    apps.supervise(Some(head_start), |_| false, ended_elsewhere);
    for name in ["test-solo-net-hog", "test-solo-net-hog-2", "test-solo-net-dier", "test-solo-net-garbage"] {
        if !apps.start_one(name) {
            return Err("a stress app did not start");
        }
    }
    let deadline = tessera_rt::uptime_micros() + STRESS_MICROS;
    let settled = |apps: &Apps| {
        apps.status("test-solo-net-worker") != Some(Status::Running)
            && apps.status("test-solo-net-garbage") != Some(Status::Running)
            && apps.status("test-solo-net-dier") == Some(Status::Held)
    };
    apps.supervise(Some(deadline), settled, ended_elsewhere);
    let expected = [
        ("test-solo-net-worker", Status::Finished),
        ("test-solo-net-garbage", Status::Finished),
        ("test-solo-net-dier", Status::Held),
        ("test-solo-net-hog", Status::Running),
        ("test-solo-net-hog-2", Status::Running),
    ];
    if statuses_are(&apps, &expected) {
        Ok(())
    } else {
        Err("an app of the stress scenario did not end up as expected")
    }
}

/// Whether each app of `expected` has its status; says which has not.
fn statuses_are(apps: &Apps, expected: &[(&str, Status)]) -> bool {
    let mut good = true;
    for &(name, status) in expected {
        let actual = apps.status(name);
        if actual != Some(status) {
            println!("init: app '{}' is {:?}, expected {:?}", name, actual, status);
            good = false;
        }
    }
    good
}

/// `package_verification_instructions`: one `VERIFY_PACKAGE` call to the
/// Pluton security server for the benchmark app's package (the signature
/// check that `app_load_instructions` includes, twice: `RECORD_APP`
/// checks the package again before it records it).
fn verification_benchmark() -> Outcome {
    use tessera_servers::pluton::VERIFY_PACKAGE;
    let pluton = *PLUTON.get().ok_or("no Pluton security server")?;
    let image = loader()?.image().map_err(|_| "no boot image")?;
    let entry = (0..image.len())
        .find(|&index| image.get(index).is_some_and(|program| program.name == "test-bench-app"))
        .ok_or("the boot image holds no test-bench-app")?;
    let request = tessera_rt::Message::new(VERIFY_PACKAGE, [entry as u32, 0, 0, 0]);
    let start = cycles();
    let answer = tessera_rt::call(pluton, &request, tessera_rt::Timeout::Forever);
    let elapsed = cycles().wrapping_sub(start);
    if answer.map_err(|_| "the VERIFY_PACKAGE call failed")?.message.label != 0 {
        return Err("the Pluton security server refused the benchmark app's package");
    }
    println!("BENCH package_verification_instructions {}", elapsed);
    Ok(())
}

/// `attestation_instructions`: one `ATTEST` call to the Pluton security
/// server, from the nonce in the frame to the evidence in it (the evidence
/// covers layer 0 and the benchmark app, which has run by now). Like
/// `attest` in main.rs, without printing the evidence.
fn attestation_benchmark() -> Outcome {
    use tessera_servers::pluton::{ATTEST, BUFFER_BYTES};
    /// A verifier's nonce: 32 bytes, as `cargo xtask attest` sends.
    const NONCE: [u8; 32] = [0xa5; 32];
    let pluton = *PLUTON.get().ok_or("no Pluton security server")?;
    let frame = retype(untyped_memory()?, ObjectType::Frame, BUFFER_BYTES as u32).map_err(|_| "retype failed")?;
    let result = (|| {
        let mapping =
            Mapping::new(frame, ATTEST_FRAME_AT, Rights::READ | Rights::WRITE).map_err(|_| "cannot map the frame")?;
        mapping.write_bytes(0, &NONCE);
        let request = tessera_rt::Message::with_capability(ATTEST, [NONCE.len() as u32, 0, 0], frame);
        let start = cycles();
        let answer = tessera_rt::call(pluton, &request, tessera_rt::Timeout::Forever);
        let elapsed = cycles().wrapping_sub(start);
        let answer = answer.map_err(|_| "the ATTEST call failed")?;
        if answer.message.label != 0 {
            return Err("the Pluton security server refused ATTEST");
        }
        println!("init: attestation evidence, {} bytes", answer.message.words[0]);
        println!("BENCH attestation_instructions {}", elapsed);
        Ok(())
    })();
    let _ = cap_delete(frame);
    result
}

/// The UART server on QEMU's virtio console and a probe holding two
/// capabilities to it: one minted with UART 0's badge, one with none. The
/// probe writes a line, reads the host harness's echo back and is refused
/// what its grant does not cover.
fn uart_scenario() -> Outcome {
    use tessera_programs::uart::badge;
    let (server, minter) = start_uartd()?;
    let uart0 = cap_derive(minter, Rights::SEND | Rights::GRANT, badge(0)).map_err(|_| "mint failed")?;
    let nothing = cap_derive(minter, Rights::SEND | Rights::GRANT, 0).map_err(|_| "derive failed")?;
    let probe = start("uartprobe", NORMAL, 0)?;
    give(uart0, probe, Rights::SEND)?;
    give(nothing, probe, Rights::SEND)?;
    let ended = finish(probe)?;
    report("uartprobe", ended);
    // The server runs until its memory is taken back.
    collect(server);
    if ended == Ended::Exited(0) {
        Ok(())
    } else {
        Err("the UART echo or a refusal did not hold")
    }
}

/// For the path-meter kernel (`cargo xtask bench`'s second run): the longest
/// kernel operations init can make, each one syscall with interrupts masked
/// unless the kernel stops it at a preemption point. The kernel reports the
/// longest at shutdown.
fn longest_paths() -> Outcome {
    let untyped = untyped_memory()?;
    // A revoke of as wide a derivation tree as init's CSpace holds.
    let endpoint = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    let mut copies = 0;
    while cap_derive(endpoint, Rights::SEND | Rights::GRANT, 0).is_ok() {
        copies += 1;
    }
    cap_revoke(endpoint).map_err(|_| "revoke failed")?;
    println!("init: revoked {} copies of an endpoint in one call", copies);
    // Ending a process whose CSpace is full.
    let sleeper = start("sleeper", NORMAL, 10_000_000)?;
    let mut given = 0;
    while cap_grant(endpoint, sleeper, Rights::SEND).is_ok() {
        given += 1;
    }
    let _ = cap_delete(sleeper);
    collect(sleeper);
    println!("init: ended a process holding {} capabilities", given);
    // The largest retypes, each zeroed in one go: a process object (16 KiB)
    // and the largest frame.
    let block = retype(untyped, ObjectType::Untyped, 1 << 20).map_err(|_| "retype failed")?;
    let process = retype(block, ObjectType::Process, tessera_abi::PROCESS_OBJECT_BYTES).map_err(|_| "retype failed")?;
    let _ = cap_delete(process);
    let frame =
        retype(block, ObjectType::Frame, tessera_abi::capability::MAX_FRAME_BYTES).map_err(|_| "retype failed")?;
    let _ = cap_delete(frame);
    let _ = cap_revoke(block);
    let _ = cap_delete(endpoint);
    println!("init: retyped a process object and a {} KiB frame", tessera_abi::capability::MAX_FRAME_BYTES / 1024);
    // The longest console write: every byte escaped, up to the per-write
    // cap on what reaches the console.
    let _ = tessera_rt::debug_write(&[0x1b; tessera_abi::DEBUG_WRITE_MAX]);
    println!();
    println!("init: wrote {} escape bytes in one DebugWrite", tessera_abi::DEBUG_WRITE_MAX);
    Ok(())
}
