//! A small IPC server: answers `echo::REQUESTS` calls on the endpoint it was
//! given (see `echo` in lib.rs for the protocol), or as many as its start
//! argument says if not 0, then exits. Badges tell it which client is
//! calling.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_programs::echo::*;
use tessera_rt::server::{self, Answer, Capabilities};
use tessera_rt::{
    cap_delete, cap_info, find_initial_capability, println, reply_receive_timeout, wait_notification, Message,
    ObjectType, Received, Rights, Timeout,
};

tessera_rt::entry!(main);

/// Busy for `millis` milliseconds, never yielding.
fn spin(millis: u32) {
    let end = tessera_rt::uptime_micros() + u64::from(millis) * 1000;
    while tessera_rt::uptime_micros() < end {}
}

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
            spin(message.words[0]);
            Message::new(SPIN, [0; 4])
        }
        SPIN_THEN_SLEEP => {
            spin(message.words[0]);
            tessera_rt::sleep_micros(message.words[0].saturating_mul(4000));
            Message::new(SPIN_THEN_SLEEP, [0; 4])
        }
        AWAIT => match find_initial_capability(ObjectType::Notification, Rights::WAIT) {
            Some(go) if wait_notification(go, 1, Timeout::Forever).is_ok() => Message::new(AWAIT, [0; 4]),
            _ => Message::new(UNKNOWN, [0; 4]),
        },
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
    let mut misused = false;
    let result = server::serve(endpoint, Capabilities::Keep, |request| {
        served += 1;
        let message = if request.message.label == NO_RECEIVE {
            // The answer goes out with the receive (a timed one, so that a
            // receive wrongly let through ends): the call is answered
            // whatever comes of the receive, and the loop's next reply
            // finds no caller.
            let unreceivable = find_initial_capability(ObjectType::Endpoint, Rights::SEND);
            let refused = unreceivable.map(|handle| {
                reply_receive_timeout(handle, &Message::new(NO_RECEIVE, [0; 4]), Timeout::Millis(20)).err()
            });
            if refused != Some(Some(tessera_rt::Error::MissingRight)) {
                println!("echo: a receive without RECEIVE was not refused");
                misused = true;
            }
            Message::new(NO_RECEIVE, [0; 4])
        } else {
            answer(request)
        };
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
    u32::from(misused)
}
