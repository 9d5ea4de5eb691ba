//! Makes every kind of bad syscall and checks each gets the right error:
//! the kernel must answer, not fault, and keep running.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_abi::layout::{PAGE_SIZE, STACK_SIZE, STACK_TOP};
use tessera_abi::Syscall;
use tessera_abi::{Error, DEBUG_WRITE_MAX};
use tessera_rt::{
    call, find_initial_capability, poll, println, process_start, raw_debug_write, raw_syscall, reply_receive, signal,
    wait, wait_notification, Handle, Message, ObjectType, Rights, Timeout,
};

tessera_rt::entry!(main);

/// A check: what it tries, what the kernel answered, what it should answer.
type Check = (&'static str, Result<(), Error>, Result<(), Error>);

fn error_of(r0: u32) -> Result<(), Error> {
    match r0 {
        0 => Ok(()),
        code => Err(Error::from_code(code).unwrap_or(Error::InvalidArgument)),
    }
}

fn main(_start: tessera_rt::Start) -> u32 {
    let text = b"ok";
    let valid = text.as_ptr() as u32;
    let stack_top = STACK_TOP as u32;
    let guard = (STACK_TOP - STACK_SIZE - PAGE_SIZE) as u32;
    let checks: [Check; 17] = [
        ("syscall number 99", error_of(raw_syscall(99, [0; 4])[0]), Err(Error::UnknownSyscall)),
        ("syscall number 0xffff", error_of(raw_syscall(0xFFFF, [0; 4])[0]), Err(Error::UnknownSyscall)),
        ("syscall number u32::MAX", error_of(raw_syscall(u32::MAX, [1; 4])[0]), Err(Error::UnknownSyscall)),
        ("null pointer", raw_debug_write(0, 4), Err(Error::BadAddress)),
        ("kernel pointer", raw_debug_write(tessera_board_constants::memory::KERNEL_LOAD, 4), Err(Error::BadAddress)),
        ("high kernel pointer", raw_debug_write(0xFFFF_0000, 16), Err(Error::BadAddress)),
        ("unmapped pointer", raw_debug_write(0x2000_0000, 4), Err(Error::BadAddress)),
        ("stack guard page", raw_debug_write(guard, 4), Err(Error::BadAddress)),
        ("range wrapping past 4 GiB", raw_debug_write(0xFFFF_FF00, 0x200), Err(Error::AddressWraps)),
        ("range past the top of the stack", raw_debug_write(stack_top - 2, 8), Err(Error::BadAddress)),
        ("range into the kernel", raw_debug_write(0x3FFF_FFF0, 0x20), Err(Error::BadAddress)),
        ("too long", raw_debug_write(valid, DEBUG_WRITE_MAX as u32 + 1), Err(Error::TooLong)),
        ("empty write", raw_debug_write(0, 0), Ok(())),
        ("the retired Spawn (number 5)", error_of(raw_syscall(5, [0; 4])[0]), Err(Error::UnknownSyscall)),
        ("start a process with no capability", process_start(Handle::new(100, 0), 1), Err(Error::InvalidHandle)),
        ("shutdown without a capability", tessera_rt::shutdown(Handle::NULL, 0), Err(Error::InvalidHandle)),
        ("wait without children", wait(None, Some(0)).map(|_| ()), Err(Error::NotFound)),
    ];
    // The IPC and notification calls the kernel answers in its fast paths
    // (in assembly on the A7): every bad handle, wrong kind and reserved
    // bit must get the general path's error.
    let message = Message::new(1, [1, 2, 3, 4]);
    let unit = |result: Result<tessera_rt::Received, Error>| result.map(|_| ());
    let bits = |result: Result<u32, Error>| result.map(|_| ());
    let empty = Handle::new(127, 0);
    let out_of_range = Handle(200);
    let fast: [Check; 14] = [
        ("call through handle 0", unit(call(Handle::NULL, &message, Timeout::Forever)), Err(Error::InvalidHandle)),
        ("call through slot 200", unit(call(out_of_range, &message, Timeout::Forever)), Err(Error::InvalidHandle)),
        ("call through an empty slot", unit(call(empty, &message, Timeout::Forever)), Err(Error::InvalidHandle)),
        (
            "call with reserved info bits",
            error_of(raw_syscall(Syscall::Call as u32, [empty.0, 1 << 31, 0, 0])[0]),
            Err(Error::InvalidArgument),
        ),
        ("reply-receive through handle 0", unit(reply_receive(Handle::NULL, &message)), Err(Error::InvalidHandle)),
        ("reply-receive through an empty slot", unit(reply_receive(empty, &message)), Err(Error::InvalidHandle)),
        ("signal through handle 0", signal(Handle::NULL, 1), Err(Error::InvalidHandle)),
        ("signal through slot 200", signal(out_of_range, 1), Err(Error::InvalidHandle)),
        ("wait through an empty slot", bits(wait_notification(empty, 1, Timeout::Forever)), Err(Error::InvalidHandle)),
        (
            "wait, no time, through handle 0",
            bits(wait_notification(Handle::NULL, 1, Timeout::NoWait)),
            Err(Error::InvalidHandle),
        ),
        (
            "timed wait through slot 200",
            bits(wait_notification(out_of_range, 1, Timeout::Millis(1))),
            Err(Error::InvalidHandle),
        ),
        ("poll through an empty slot", bits(poll(empty, 1)), Err(Error::InvalidHandle)),
        ("yield", error_of(raw_syscall(Syscall::Yield as u32, [0; 4])[0]), Ok(())),
        ("yield with junk in its registers", error_of(raw_syscall(Syscall::Yield as u32, [u32::MAX; 4])[0]), Ok(())),
    ];
    // Capabilities `init` gave it to misuse: a frame (neither an endpoint
    // nor a notification), an endpoint it may only receive on and a
    // notification it may only wait on.
    let (Some(frame), Some(endpoint), Some(notification)) = (
        find_initial_capability(ObjectType::Frame, Rights::READ),
        find_initial_capability(ObjectType::Endpoint, Rights::RECEIVE),
        find_initial_capability(ObjectType::Notification, Rights::WAIT),
    ) else {
        println!("badcall: init did not give it a frame, an endpoint and a notification to misuse");
        return 1;
    };
    let stale = Handle::new(frame.index(), frame.generation() + 1);
    let typed: [Check; 9] = [
        ("call through a frame", unit(call(frame, &message, Timeout::Forever)), Err(Error::WrongType)),
        ("signal through a frame", signal(frame, 1), Err(Error::WrongType)),
        ("wait on a frame", bits(wait_notification(frame, 1, Timeout::Forever)), Err(Error::WrongType)),
        ("call through a stale handle", unit(call(stale, &message, Timeout::Forever)), Err(Error::StaleHandle)),
        ("call without SEND", unit(call(endpoint, &message, Timeout::Forever)), Err(Error::MissingRight)),
        ("signal an endpoint", signal(endpoint, 1), Err(Error::WrongType)),
        ("wait on an endpoint", bits(wait_notification(endpoint, 1, Timeout::Forever)), Err(Error::WrongType)),
        ("signal without SIGNAL", signal(notification, 1), Err(Error::MissingRight)),
        (
            "wait, no time, for no bits",
            wait_notification(notification, 1, Timeout::NoWait).and_then(|got| {
                if got == 0 {
                    Ok(())
                } else {
                    Err(Error::InvalidArgument)
                }
            }),
            Ok(()),
        ),
    ];
    let mut failed = 0;
    for (name, got, expected) in checks.iter().chain(&fast).chain(&typed) {
        if got != expected {
            println!("badcall: {}: expected {:?}, got {:?}", name, expected, got);
            failed += 1;
        }
    }
    if failed == 0 {
        println!("badcall: all checks passed ({} checks)", checks.len() + fast.len() + typed.len());
        0
    } else {
        println!("badcall: {} of {} checks FAILED", failed, checks.len() + fast.len() + typed.len());
        1
    }
}
