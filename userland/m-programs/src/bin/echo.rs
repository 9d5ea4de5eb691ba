//! An IPC server on the M4: answers `init`'s `ADD`, makes its floating-point rounds
//! (the kernel preempts it and `init` in turn), answers `DONE` with how
//! many it made, and exits. For the benchmarks it answers `PING` at once
//! and, asked to, yields in a loop with `init`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_m_programs::{fp_round, ADD, DONE, INSPECT, PING, ROUNDS, ROUND_SPINS, YIELD};
use tessera_rt::{
    cap_delete, cap_info, find_initial_capability, println, receive, reply_receive, yield_now, Message, ObjectType,
    Received, Rights, Timeout,
};

tessera_rt::entry!(main);

fn main(_start: tessera_rt::Start) -> u32 {
    let Some(endpoint) = find_initial_capability(ObjectType::Endpoint, Rights::RECEIVE) else {
        println!("no endpoint to receive on");
        return 1;
    };
    let mut rounds = 0;
    let mut broken = 0;
    let mut request: Received = match receive(endpoint, Timeout::Forever) {
        Ok(request) => request,
        Err(error) => {
            println!("receive failed: {}", error.name());
            return 1;
        }
    };
    loop {
        let words = request.message.words;
        let label = request.message.label;
        let answer = match label {
            ADD => Message::new(ADD, [words[0].wrapping_add(words[1]), 0, 0, 0]),
            DONE => Message::new(DONE, [rounds, broken, 0, 0]),
            PING => Message::new(PING, [words[0], 0, 0, 0]),
            YIELD => Message::new(YIELD, [0; 4]),
            INSPECT => match request.message.capabilities().next() {
                Some(handle) => {
                    let answer = match cap_info(handle) {
                        Ok(info) => Message::new(INSPECT, [info.kind as u32, info.rights.bits(), info.badge, 0]),
                        Err(error) => Message::new(0, [error as u32, 0, 0, 0]),
                    };
                    let _ = cap_delete(handle);
                    answer
                }
                None => Message::new(0, [0; 4]),
            },
            _ => Message::new(0, [0; 4]),
        };
        if label == DONE {
            // The last answer; then this program ends.
            return match tessera_rt::reply(&answer) {
                Ok(()) => 0,
                Err(error) => {
                    println!("reply failed: {}", error.name());
                    1
                }
            };
        }
        if label == ADD && rounds == 0 || label == YIELD {
            // Answer first, then the busy rounds or the yields, then wait
            // for the next request.
            if let Err(error) = tessera_rt::reply(&answer) {
                println!("reply failed: {}", error.name());
            }
            if label == YIELD {
                for _ in 0..words[0] {
                    yield_now();
                }
            } else {
                while rounds < ROUNDS {
                    rounds += 1;
                    let changed = fp_round(0x2000_0000 + rounds * 64, (rounds + 1) % 4, ROUND_SPINS);
                    if changed == 0 {
                        println!("round {rounds}");
                    } else {
                        println!("round {rounds}: {changed} FPU registers changed under it");
                        broken += 1;
                    }
                }
            }
            request = match receive(endpoint, Timeout::Forever) {
                Ok(request) => request,
                Err(error) => {
                    println!("receive failed: {}", error.name());
                    return 1;
                }
            };
            continue;
        }
        request = match reply_receive(endpoint, &answer) {
            Ok(request) => request,
            Err(error) => {
                println!("reply-receive failed: {}", error.name());
                return 1;
            }
        };
    }
}
