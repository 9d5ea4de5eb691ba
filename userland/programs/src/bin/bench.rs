//! Benchmarks run under QEMU `-icount shift=0`, where the cycle counter
//! counts instructions exactly. Prints `BENCH <key> <value>` lines that
//! `cargo xtask bench` collects.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_programs::bench::*;
use tessera_rt::{
    call, cap_delete, cap_derive, cycles, find_initial_capability, null, println, reply, reply_receive, signal,
    wait_notification, yield_now, Message, ObjectType, Rights, Timeout,
};

tessera_rt::entry!(main);

/// Cost of two back-to-back counter reads, subtracted from every figure.
fn counter_overhead() -> u32 {
    (0..16)
        .map(|_| {
            let start = cycles();
            let end = cycles();
            end.wrapping_sub(start)
        })
        .min()
        .unwrap_or(0)
}

fn main(start: tessera_rt::Start) -> u32 {
    match start.argument {
        NULL_SYSCALL => {
            let overhead = counter_overhead();
            let best = (0..NULL_CALLS)
                .map(|_| {
                    let start = cycles();
                    null();
                    let end = cycles();
                    end.wrapping_sub(start)
                })
                .min()
                .unwrap_or(0);
            println!("BENCH null_syscall_instructions {}", best.saturating_sub(overhead));
            // The general path: decode, pointer check (nothing to check for
            // an empty write) and the scheduler's "keep running" test.
            let general = (0..NULL_CALLS)
                .map(|_| {
                    let start = cycles();
                    let _ = tessera_rt::debug_write(&[]);
                    let end = cycles();
                    end.wrapping_sub(start)
                })
                .min()
                .unwrap_or(0);
            println!("BENCH syscall_general_path_instructions {}", general.saturating_sub(overhead));
        }
        YIELD_REPORTER => {
            let start = cycles();
            for _ in 0..YIELDS {
                yield_now();
            }
            let total = cycles().wrapping_sub(start);
            // Each yield by either process is one switch to the other.
            println!("BENCH context_switch_instructions {}", total / (2 * YIELDS));
        }
        YIELD_PARTNER => {
            for _ in 0..YIELDS {
                yield_now();
            }
        }
        IPC_SERVER => return ipc_server(),
        IPC_CLIENT => return ipc_client(),
        PING | PONG => return ping_pong(start.argument == PING),
        other => {
            println!("bench: unknown argument {}", other);
            return 2;
        }
    }
    0
}

fn ipc_server() -> u32 {
    let Some(endpoint) = find_initial_capability(ObjectType::Endpoint, Rights::RECEIVE) else { return 1 };
    let Ok(mut request) = tessera_rt::receive(endpoint, Timeout::Forever) else { return 1 };
    // Requests that came with the capability transfer's frame: every one of
    // the second half, which a server that keeps what it is passed could
    // not take (its CSpace would fill up, and a transfer to a full CSpace
    // delivers the message with handle 0 in the capability's place).
    let mut carried = 0;
    for served in 1..=2 * IPC_CALLS {
        // Dropped, as a server that takes none drops what it is passed.
        if request.message.caps != 0 {
            carried += u32::from(request.message.words[3] != 0);
            request.drop_capabilities();
        }
        let answer = Message::new(1, request.message.words);
        if served == 2 * IPC_CALLS {
            let _ = reply(&answer);
            break;
        }
        match reply_receive(endpoint, &answer) {
            Ok(next) => request = next,
            Err(_) => return 1,
        }
    }
    if carried != IPC_CALLS {
        println!("bench: {} of {} transfers came with their capability", carried, IPC_CALLS);
        return 1;
    }
    0
}

/// The fewest cycles `operation` took over `rounds` runs, less the counter's
/// own cost.
fn best(rounds: u32, mut operation: impl FnMut() -> bool) -> Option<u32> {
    let overhead = counter_overhead();
    let mut best = u32::MAX;
    for _ in 0..rounds {
        let start = cycles();
        if !operation() {
            return None;
        }
        best = best.min(cycles().wrapping_sub(start));
    }
    Some(best.saturating_sub(overhead))
}

fn ipc_client() -> u32 {
    let (Some(endpoint), Some(frame)) = (
        find_initial_capability(ObjectType::Endpoint, Rights::SEND),
        find_initial_capability(ObjectType::Frame, Rights::GRANT | Rights::DERIVE),
    ) else {
        return 1;
    };
    let message = Message::new(1, [1, 2, 3, 4]);
    let Some(roundtrip) = best(IPC_CALLS, || call(endpoint, &message, Timeout::Forever).is_ok()) else { return 1 };
    println!("BENCH ipc_roundtrip_instructions {}", roundtrip);
    let transfer = Message::with_capability(2, [1, 2, 3], frame);
    let Some(transfer) = best(IPC_CALLS, || call(endpoint, &transfer, Timeout::Forever).is_ok()) else { return 1 };
    println!("BENCH cap_transfer_roundtrip_instructions {}", transfer);
    let overhead = counter_overhead();
    let mut derive = u32::MAX;
    for _ in 0..IPC_CALLS {
        let start = cycles();
        let Ok(child) = cap_derive(frame, Rights::READ, 0) else { return 1 };
        derive = derive.min(cycles().wrapping_sub(start));
        let _ = cap_delete(child);
    }
    println!("BENCH cap_derive_instructions {}", derive.saturating_sub(overhead));
    0
}

fn ping_pong(ping: bool) -> u32 {
    let (Some(mine), Some(theirs)) = (
        find_initial_capability(ObjectType::Notification, Rights::WAIT),
        find_initial_capability(ObjectType::Notification, Rights::SIGNAL),
    ) else {
        return 1;
    };
    if ping {
        // Timed in chunks: the best chunk is the path's cost, as the other
        // figures take the fewest cycles, so that another process running
        // meanwhile (a server's interrupt) is not counted; the average over
        // all rounds is reported beside it.
        const CHUNK: u32 = 50;
        const _: () = assert!(ROUNDS.is_multiple_of(CHUNK), "the pong side answers ROUNDS signals");
        let mut best = u32::MAX;
        let mut total = 0u32;
        for _ in 0..ROUNDS / CHUNK {
            let start = cycles();
            for _ in 0..CHUNK {
                if signal(theirs, 1).is_err() || wait_notification(mine, 1, Timeout::Forever).is_err() {
                    return 1;
                }
            }
            let spent = cycles().wrapping_sub(start);
            best = best.min(spent);
            total = total.wrapping_add(spent);
        }
        // Each round trip is two wake-ups (each with its switch).
        println!("BENCH notification_wakeup_instructions {}", best / (2 * CHUNK));
        println!("BENCH notification_wakeup_average_instructions {}", total / (2 * ROUNDS));
    } else {
        for _ in 0..ROUNDS {
            if wait_notification(mine, 1, Timeout::Forever).is_err() || signal(theirs, 1).is_err() {
                return 1;
            }
        }
    }
    0
}
