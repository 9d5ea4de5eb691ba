//! An IPC server on the M4: answers `init`'s `ADD`, makes its busy rounds
//! (the kernel preempts it and `init` in turn), answers `DONE` with how
//! many it made, and exits.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_m_programs::{spin, ADD, DONE, ROUNDS, ROUND_MICROS};
use tessera_rt::{find_initial_capability, println, receive, reply, Message, ObjectType, Rights, Timeout};

tessera_rt::entry!(main);

fn main(_start: tessera_rt::Start) -> u32 {
    let Some(endpoint) = find_initial_capability(ObjectType::Endpoint, Rights::RECEIVE) else {
        println!("no endpoint to receive on");
        return 1;
    };
    let mut rounds = 0;
    loop {
        let request = match receive(endpoint, Timeout::Forever) {
            Ok(request) => request,
            Err(error) => {
                println!("receive failed: {}", error.name());
                return 1;
            }
        };
        let words = request.message.words;
        let (answer, last) = match request.message.label {
            ADD => (Message::new(ADD, [words[0].wrapping_add(words[1]), 0, 0, 0]), false),
            DONE => (Message::new(DONE, [rounds, 0, 0, 0]), true),
            _ => (Message::new(0, [0; 4]), false),
        };
        if let Err(error) = reply(&answer) {
            println!("reply failed: {}", error.name());
        }
        if last {
            return 0;
        }
        if request.message.label == ADD && rounds == 0 {
            while rounds < ROUNDS {
                spin(ROUND_MICROS);
                rounds += 1;
                println!("round {rounds}");
            }
        }
    }
}
