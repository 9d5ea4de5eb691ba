//! Benchmark fixture: the first thing its `main` does is read the cycle
//! counter (under `-icount` it counts instructions) and report it; `init`
//! reported the counter just before it began verifying this package, and
//! `cargo xtask bench` subtracts the two: `app_load_instructions`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

fn main(_app: App) -> Result<(), Error> {
    let now = tessera_rt::cycles();
    log!("BENCH app_started_at_cycle {}", now);
    Ok(())
}
