//! The root task. The kernel starts it first, with the boot arguments
//! (QEMU `-append`) on its stack; it starts every other program.
//!
//! - no arguments: the demo (two busy counters interleaving under
//!   preemption and a process that faults on purpose), then idle;
//! - `scenario=NAME`: one integration test scenario, then power off with
//!   status 0 (passed) or 1 (failed); `cargo xtask test` checks the output;
//! - `bench`: the benchmarks, then power off; `cargo xtask bench` reads them.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_abi::FaultKind;
use tessera_programs::{bench, probe, spinner};
use tessera_rt::{boot_arguments, cycles, println, shutdown, sleep_micros, spawn, wait, Ended, Pid};

tessera_rt::entry!(main);

/// Priority of the programs a scenario starts (below init's).
const NORMAL: u32 = 8;

type Outcome = Result<(), &'static str>;

fn main(start: tessera_rt::Start) -> u32 {
    let boot_cycles = cycles();
    let arguments = boot_arguments(start);
    println!("init: root task started, boot arguments \"{}\"", arguments);
    let mut scenario = None;
    for word in arguments.split_whitespace() {
        if let Some(name) = word.strip_prefix("scenario=") {
            scenario = Some(name);
        } else if word == "bench" {
            scenario = Some("bench");
        }
    }
    let Some(name) = scenario else {
        if let Err(reason) = demo() {
            println!("init: demo went wrong: {}", reason);
        }
        println!("init: the system is idle. Quit QEMU with Ctrl-A then X.");
        loop {
            sleep_micros(u32::MAX);
        }
    };
    let result = match name {
        "bench" => run_benchmarks(boot_cycles),
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
        "bad-syscalls" => expect_clean_exit("badcall", 0).and_then(|()| still_alive()),
        "timeouts" => timeouts(),
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
    let _ = shutdown(status);
    status
}

fn start(name: &str, priority: u32, argument: u32) -> Result<Pid, &'static str> {
    spawn(name, priority, argument).map_err(|error| {
        println!("init: cannot start {}: {}", name, error.name());
        "spawn failed"
    })
}

fn finish(pid: Pid) -> Result<Ended, &'static str> {
    wait(Some(pid), None).map(|(_, ended)| ended).map_err(|error| {
        println!("init: wait failed: {}", error.name());
        "wait failed"
    })
}

fn report(name: &str, ended: Ended) {
    match ended {
        Ended::Exited(code) => println!("init: {} exited with code {}", name, code),
        Ended::Faulted(kind) => println!("init: {} was stopped by the kernel: {}", name, kind.name()),
    }
}

fn expect_clean_exit(name: &str, argument: u32) -> Outcome {
    let ended = finish(start(name, NORMAL, argument)?)?;
    report(name, ended);
    if ended == Ended::Exited(0) {
        Ok(())
    } else {
        Err("program did not exit cleanly")
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
    let mut clean = true;
    for (name, pid) in programs {
        let ended = finish(pid)?;
        report(name, ended);
        clean &= ended == Ended::Exited(0);
    }
    println!("init: demo finished");
    match (clean, faulted) {
        (true, Ended::Faulted(FaultKind::Permission)) => Ok(()),
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
    finish(low)?;
    if first != high {
        return Err("the low-priority spinner finished first");
    }
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
    Ok(())
}

fn run_benchmarks(boot_cycles: u32) -> Outcome {
    println!("BENCH boot_to_init_instructions {}", boot_cycles);
    expect_clean_exit("bench", bench::NULL_SYSCALL)?;
    let reporter = start("bench", NORMAL, bench::YIELD_REPORTER)?;
    let partner = start("bench", NORMAL, bench::YIELD_PARTNER)?;
    if finish(reporter)? != Ended::Exited(0) || finish(partner)? != Ended::Exited(0) {
        return Err("a benchmark failed");
    }
    Ok(())
}
