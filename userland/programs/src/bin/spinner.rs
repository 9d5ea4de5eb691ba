//! A busy process that never yields or sleeps: only preemption lets others
//! run beside it. Argument: a letter and a busy time (see `spinner` in
//! lib.rs). Exits with the number of loop iterations it made.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_programs::spinner;
use tessera_rt::{println, uptime_micros};

tessera_rt::entry!(main);

fn main(start: tessera_rt::Start) -> u32 {
    let (letter, millis) = spinner::unpack(start.argument);
    println!("spinner {}: start", letter);
    let begin = uptime_micros();
    let end = begin + millis as u64 * 1000;
    let mut next_report = begin + 50_000;
    let mut iterations: u32 = 0;
    loop {
        let now = uptime_micros();
        if now >= end {
            break;
        }
        if now >= next_report {
            println!("spinner {}: progress {}", letter, iterations);
            next_report += 50_000;
        }
        iterations = iterations.wrapping_add(1);
    }
    println!("spinner {}: done after {} iterations", letter, iterations);
    iterations
}
