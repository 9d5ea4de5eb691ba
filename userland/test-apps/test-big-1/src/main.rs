//! Test fixture: an app that takes many pages. Its image holds a table of
//! [`TABLE_BYTES`] in read-only data, so it really occupies that many more
//! pages; `test-big-1`, `-2` and `-3` (same code, each with its own
//! `ComponentId`) run beside every other app of the `apps` scenario. When
//! `init` kept a capability per page of every app, apps like these filled
//! its CSpace and later apps did not start. Each one checks its table is
//! loaded intact, says so, and stays running.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_sdk::time::{sleep, Duration};
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// Which fixture this build is.
const NAME: &str = env!("CARGO_PKG_NAME");
/// Bytes of the table: seven pages.
const TABLE_BYTES: usize = 7 * 4096;

/// Xorshift bytes, made at compile time (not zeros, so the table is data
/// in the image rather than `.bss`).
const fn table() -> [u8; TABLE_BYTES] {
    let mut bytes = [0u8; TABLE_BYTES];
    let mut state: u32 = 0x2545_F491;
    let mut index = 0;
    while index < TABLE_BYTES {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        bytes[index] = state as u8;
        index += 1;
    }
    bytes
}

/// The sum of the table's bytes, each weighted by its position.
const fn checksum(bytes: &[u8]) -> u32 {
    let mut sum: u32 = 0;
    let mut index = 0;
    while index < bytes.len() {
        sum = sum.wrapping_add((bytes[index] as u32).wrapping_mul(index as u32 + 1));
        index += 1;
    }
    sum
}

static TABLE: [u8; TABLE_BYTES] = table();
const EXPECTED: u32 = checksum(&table());

fn main(_app: App) -> Result<(), Error> {
    // Read through `black_box`, so the table must be in memory at run time.
    let sum = checksum(core::hint::black_box(&TABLE));
    if sum != EXPECTED {
        log!("{}: its table is damaged: sum {:#010x}, expected {:#010x}", NAME, sum, EXPECTED);
        return Err(Error::InvalidArgument);
    }
    log!("{}: started; its {} KiB table checks out", NAME, TABLE_BYTES / 1024);
    loop {
        sleep(Duration::from_secs(1));
    }
}
