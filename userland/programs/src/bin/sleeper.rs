//! Sleeps for the number of microseconds in its argument and checks, with
//! the uptime clock, that it slept at least that long.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_rt::{println, sleep_micros, uptime_micros};

tessera_rt::entry!(main);

fn main(start: tessera_rt::Start) -> u32 {
    let asked = start.argument;
    let before = uptime_micros();
    sleep_micros(asked);
    let slept = uptime_micros() - before;
    println!("sleeper: slept {} us (asked for {} us)", slept, asked);
    if slept >= asked as u64 {
        0
    } else {
        println!("sleeper: woke up too early");
        1
    }
}
