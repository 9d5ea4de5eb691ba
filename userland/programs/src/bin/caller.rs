//! Calls the endpoint `init` gave it once, with the label and first word
//! its argument names (`caller::argument`), waiting as long as it takes,
//! and exits with 0 if the call was answered (the `ipc` scenario ends it
//! while the server works for it).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_programs::caller;
use tessera_rt::{call, find_initial_capability, println, Message, ObjectType, Rights, Timeout};

tessera_rt::entry!(main);

fn main(start: tessera_rt::Start) -> u32 {
    let Some(endpoint) = find_initial_capability(ObjectType::Endpoint, Rights::SEND) else {
        println!("caller: no endpoint to call");
        return 2;
    };
    let request = Message::new(caller::label(start.argument), [caller::word(start.argument), 0, 0, 0]);
    match call(endpoint, &request, Timeout::Forever) {
        Ok(_) => 0,
        Err(error) => {
            println!("caller: the call failed: {}", error.name());
            1
        }
    }
}
