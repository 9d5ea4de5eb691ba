//! A small IPC server: answers `echo::REQUESTS` calls on the endpoint it was
//! given (see `echo` in lib.rs for the protocol), or as many as its start
//! argument says if not 0, then exits. Badges tell it which client is
//! calling.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_programs::echo::*;
use tessera_rt::server::{self, Answer, Capabilities};
use tessera_rt::{cap_delete, cap_info, find_initial_capability, println, Message, ObjectType, Received, Rights};

tessera_rt::entry!(main);

fn answer(request: &Received) -> Message {
    let message = &request.message;
    match message.label {
        ADD => Message::new(ADD, [message.words[0].wrapping_add(message.words[1]), 0, 0, 0]),
        WHO => Message::new(WHO, [request.badge, 0, 0, 0]),
        INSPECT => {
            let Some(handle) = message.capabilities().next() else {
                return Message::new(UNKNOWN, [0; 4]);
            };
            let described = match cap_info(handle) {
                Ok(info) => Message::new(INSPECT, [info.kind as u32, info.rights.bits(), 0, 0]),
                Err(_) => Message::new(UNKNOWN, [0; 4]),
            };
            let _ = cap_delete(handle);
            described
        }
        KEEP => match message.capabilities().next() {
            Some(handle) => Message::new(KEEP, [handle.0, 0, 0, 0]),
            None => Message::new(UNKNOWN, [0; 4]),
        },
        HELD => Message::new(HELD, [u32::from(cap_info(tessera_rt::Handle(message.words[0])).is_ok()), 0, 0, 0]),
        SPIN => {
            let end = tessera_rt::uptime_micros() + message.words[0] as u64 * 1000;
            while tessera_rt::uptime_micros() < end {}
            Message::new(SPIN, [0; 4])
        }
        _ => Message::new(UNKNOWN, [0; 4]),
    }
}

fn main(start: tessera_rt::Start) -> u32 {
    let requests = if start.argument == 0 { REQUESTS } else { start.argument };
    let Some(endpoint) = find_initial_capability(ObjectType::Endpoint, Rights::RECEIVE) else {
        println!("echo: no endpoint to receive on");
        return 1;
    };
    let mut served = 0;
    let result = server::serve(endpoint, Capabilities::Keep, |request| {
        served += 1;
        let message = answer(request);
        if served == requests {
            Answer::Last(message)
        } else {
            Answer::Reply(message)
        }
    });
    if let Err(error) = result {
        println!("echo: receive failed: {}", error.name());
        return 1;
    }
    println!("echo: served {} requests, exiting", requests);
    0
}
