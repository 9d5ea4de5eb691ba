//! Waits, with no time limit, for a bit of the mask its argument gives in
//! the notification `init` gave it, and exits with the bits it took (the
//! `ipc` scenario checks them): 0xFFFF if the wait failed.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_rt::{find_initial_capability, println, wait_notification, ObjectType, Rights, Timeout};

tessera_rt::entry!(main);

fn main(start: tessera_rt::Start) -> u32 {
    let Some(notification) = find_initial_capability(ObjectType::Notification, Rights::WAIT) else {
        println!("waiter: no notification to wait on");
        return 0xFFFF;
    };
    match wait_notification(notification, start.argument, Timeout::Forever) {
        Ok(bits) => {
            println!("waiter: took bits {:#x}", bits);
            bits
        }
        Err(error) => {
            println!("waiter: wait failed: {}", error.name());
            0xFFFF
        }
    }
}
