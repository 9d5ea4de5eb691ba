//! Sample: the smallest useful app. It asks for no capability, so it runs
//! on every board Tessera has, the M4 included: it counts down from 3, one
//! step every 200 ms, keeps the time of each step in a `Vec` on its heap,
//! then says how far apart the steps were (a floating-point mean) and
//! finishes with exit code 0, which the supervisor does not restart.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use tessera_sdk::time::{sleep, Duration, Instant};
use tessera_sdk::{heap, log, App, Error};

tessera_sdk::app!(main);

/// Where it counts down from.
const FROM: u32 = 3;

fn main(_app: App) -> Result<(), Error> {
    log!("countdown: started with {} bytes of heap", heap::free());
    let mut steps: Vec<Instant> = Vec::new();
    for left in (1..=FROM).rev() {
        steps.push(Instant::now());
        log!("countdown: {left}");
        sleep(Duration::from_millis(200));
    }
    steps.push(Instant::now());
    let gaps: Vec<f32> = steps.windows(2).map(|pair| pair[1].duration_since(pair[0]).as_micros() as f32).collect();
    let mean = gaps.iter().sum::<f32>() / gaps.len() as f32 / 1000.0;
    log!("countdown: done, {} steps {mean:.1} ms apart", gaps.len());
    Ok(())
}
