//! Sample: a bug, contained. It works for a second, then reads an address
//! nothing maps, every time it starts. The kernel stops it with a one-line
//! report, `init`'s supervisor logs the crash, restarts it after 100 ms,
//! then 200 ms, and holds it after three crashes within 10 s, while the
//! other apps keep running (docs/apps.md, "Supervision").
#![no_std]
#![no_main]

use tessera_sdk::time::{sleep, Duration};
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// An address no process has mapped (the null-pointer guard region).
const UNMAPPED: usize = 0x10;

fn main(_app: App) -> Result<(), Error> {
    log!("crasher: started; working for 1 s, then reading {:#x}", UNMAPPED);
    sleep(Duration::from_secs(1));
    // SAFETY: none, on purpose: this is the bug the sample shows. The read
    // faults and the kernel ends this process; it touches no memory of this
    // or any other process.
    let value = unsafe { core::ptr::read_volatile(UNMAPPED as *const u32) };
    log!("crasher: read {:#x} and did not crash", value);
    Ok(())
}
