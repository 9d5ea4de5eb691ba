//! Demo: counts while staying busy (never yields), so two counters only
//! interleave because the kernel preempts them. Argument: its letter.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_rt::{println, uptime_micros};

tessera_rt::entry!(main);

const STEPS: u32 = 5;
const STEP_MICROS: u64 = 100_000;

fn main(start: tessera_rt::Start) -> u32 {
    let letter = (start.argument & 0xFF) as u8 as char;
    for step in 1..=STEPS {
        let until = uptime_micros() + STEP_MICROS;
        while uptime_micros() < until {}
        println!("counter {}: {} of {} (busy, never yields)", letter, step, STEPS);
    }
    0
}
