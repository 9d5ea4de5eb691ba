//! The root task on the M4: calls `echo`, then makes busy rounds while
//! `echo` makes its own (preemption interleaves them), starts a child whose
//! stack pointer aims at the kernel's data (its boot arguments name the
//! address), which must end in a fault before it runs, and switches the
//! machine off with 0 if every answer was right.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_m_programs::{address_argument, spin, ADD, DONE, ROUNDS, ROUND_MICROS};
use tessera_rt::{
    call, cap_object, find_initial_capability, map_into, println, process_name, process_setup, process_start, retype,
    shutdown, wait, Ended, Error, FaultKind, Handle, Message, ObjectType, Rights, Timeout,
};

tessera_rt::entry!(main);

/// Makes a process whose code page is its own but whose stack pointer is
/// `stack`, starts it, and says how it ended.
fn start_aimed_at(untyped: Handle, stack: u32) -> Result<Ended, Error> {
    let process = retype(untyped, ObjectType::Process, 16384)?;
    let code = retype(untyped, ObjectType::Frame, 4096)?;
    // User addresses are physical: the frame maps at its own address.
    let (at, _) = cap_object(code)?;
    map_into(code, process, at, Rights::READ | Rights::EXECUTE)?;
    process_name(process, "stack-aimer")?;
    process_setup(process, at, stack, 0)?;
    process_start(process, 1)?;
    wait(Some(process), Some(1_000_000)).map(|(_, ended)| ended)
}

fn main(start: tessera_rt::Start) -> u32 {
    println!("running under the portable kernel, linked at {:#010x}", main as *const () as usize);
    let (Some(echo), Some(power), Some(untyped), Some(kernel_word)) = (
        find_initial_capability(ObjectType::Endpoint, Rights::SEND),
        find_initial_capability(ObjectType::PowerControl, Rights::empty()),
        find_initial_capability(ObjectType::Untyped, Rights::empty()),
        address_argument(tessera_rt::boot_arguments(start)),
    ) else {
        println!("missing the echo endpoint, the power capability, untyped memory or the kernel word's address");
        return 1;
    };
    let mut good = true;
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
    for round in 1..=ROUNDS {
        spin(ROUND_MICROS);
        println!("round {round}");
    }
    match call(echo, &Message::new(DONE, [0; 4]), Timeout::Millis(5000)) {
        Ok(answer) => {
            println!("echo made {} rounds", answer.message.words[0]);
            good &= answer.message.words[0] == ROUNDS;
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
    println!("done: {}", if good { "all answers right" } else { "WRONG ANSWERS" });
    let status = u32::from(!good);
    if let Err(error) = shutdown(power, status) {
        println!("cannot switch off: {}", error.name());
    }
    status
}
