//! Calls the endpoint `init` gave it once, with the label and first word
//! its argument names (`caller::argument`), waiting as long as it takes,
//! and exits with 0 if the call was answered (the `ipc` scenario ends it
//! while the server works for it); or, with a time in its argument
//! (`caller::repeating`), calls one call after another until that time has
//! passed and exits with the number answered (the `priority` scenario).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_programs::caller;
use tessera_rt::{call, find_initial_capability, println, uptime_micros, Message, ObjectType, Rights, Timeout};

tessera_rt::entry!(main);

fn main(start: tessera_rt::Start) -> u32 {
    let Some(endpoint) = find_initial_capability(ObjectType::Endpoint, Rights::SEND) else {
        println!("caller: no endpoint to call");
        return 2;
    };
    let request = Message::new(caller::label(start.argument), [caller::word(start.argument), 0, 0, 0]);
    let millis = caller::millis(start.argument);
    if millis == 0 {
        return match call(endpoint, &request, Timeout::Forever) {
            Ok(_) => 0,
            Err(error) => {
                println!("caller: the call failed: {}", error.name());
                1
            }
        };
    }
    let end = uptime_micros() + u64::from(millis) * 1000;
    let mut answered: u32 = 0;
    while uptime_micros() < end {
        if let Err(error) = call(endpoint, &request, Timeout::Forever) {
            println!("caller: call {} failed: {}", answered + 1, error.name());
            return 0;
        }
        answered += 1;
    }
    answered
}
