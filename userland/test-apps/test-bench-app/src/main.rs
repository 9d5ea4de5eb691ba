//! Benchmark fixture: the first thing its `main` does is read the cycle
//! counter (under `-icount` it counts instructions) and report it; `init`
//! reported the counter just before it began verifying this package, and
//! `cargo xtask bench` subtracts the two: `app_load_instructions`.
//!
//! Then it measures what an app asks of the Pluton security server
//! through `tessera_sdk`, each as the counter's difference around one SDK
//! call (the call into `plutond`, its work and the copies in and out of
//! the request buffer; docs/benchmarks.md):
//!
//! - `seal_instructions`, `unseal_instructions`: sealing 1 KiB and
//!   unsealing the result (checked to give the same bytes back);
//! - `random_instructions_per_byte`: one 4 KiB draw of random bytes,
//!   divided by 4096 and rounded; `random_4096_bytes_instructions` is the
//!   whole draw. A second draw is measured too
//!   (`random_4096_bytes_again_instructions`): neither includes a reseed,
//!   since `plutond` seeded its generator when `init` handed it the
//!   entropy source and reseeds only every 64 KiB.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_rt::cycles;
use tessera_sdk::pluton::OVERHEAD;
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// How many bytes the seal benchmark seals.
const SEALED_BYTES: usize = 1024;
/// How many random bytes one draw asks for (the request buffer's size,
/// so one request).
const RANDOM_BYTES: usize = 4096;

fn main(app: App) -> Result<(), Error> {
    let now = cycles();
    log!("BENCH app_started_at_cycle {}", now);
    let pluton = app.pluton()?;

    let plaintext = [0x5a; SEALED_BYTES];
    let mut sealed = [0; SEALED_BYTES + OVERHEAD];
    let start = cycles();
    let sealed_len = pluton.seal(&plaintext, &mut sealed)?;
    let seal = cycles().wrapping_sub(start);
    let mut opened = [0; SEALED_BYTES];
    let start = cycles();
    let opened_len = pluton.unseal(&sealed[..sealed_len], &mut opened)?;
    let unseal = cycles().wrapping_sub(start);
    if opened[..opened_len] != plaintext {
        log!("unsealing did not give the sealed bytes back");
        return Err(Error::Tampered);
    }

    let mut random = [0; RANDOM_BYTES];
    let start = cycles();
    pluton.random(&mut random)?;
    let first = cycles().wrapping_sub(start);
    let start = cycles();
    pluton.random(&mut random)?;
    let second = cycles().wrapping_sub(start);

    log!("BENCH seal_instructions {}", seal);
    log!("BENCH unseal_instructions {}", unseal);
    log!("BENCH random_4096_bytes_instructions {}", first);
    log!("BENCH random_4096_bytes_again_instructions {}", second);
    log!("BENCH random_instructions_per_byte {}", (first + RANDOM_BYTES as u32 / 2) / RANDOM_BYTES as u32);
    Ok(())
}
