//! The smallest program: proves a process starts, prints and exits.
//!
//! With a nonzero argument it stays quiet instead: it stores the argument
//! in its own memory, yields, and exits with 0 only if it reads the same
//! value back (init runs hundreds of these to check address spaces stay
//! apart while ASIDs are reused).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicU32, Ordering};

tessera_rt::entry!(main);

static STORED: AtomicU32 = AtomicU32::new(0);

fn main(start: tessera_rt::Start) -> u32 {
    if start.argument == 0 {
        tessera_rt::println!("hello: running in user mode");
        return 0;
    }
    STORED.store(start.argument, Ordering::Relaxed);
    tessera_rt::yield_now();
    u32::from(STORED.load(Ordering::Relaxed) != start.argument)
}
