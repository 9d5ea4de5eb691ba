//! Test fixture: allocates 1 KiB blocks from its heap, and keeps them,
//! until an allocation fails. The failure is an allocation error in this
//! app only: it panics and ends, `init`'s supervisor logs a crash,
//! restarts it with back-off and holds it, and every other app goes on
//! (the `apps` scenario checks it).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::boxed::Box;
use tessera_sdk::{heap, log, App, Error};

tessera_sdk::app!(main);

/// Bytes per allocation.
const BLOCK: usize = 1024;

fn main(_app: App) -> Result<(), Error> {
    log!("test-heap-hog: {} KiB of heap; allocating {} byte blocks until it runs out", heap::size() / 1024, BLOCK);
    for count in 1.. {
        // Kept for good: nothing is ever freed (`black_box` keeps the
        // compiler from proving the allocation unused and removing it).
        let block: &mut [u8; BLOCK] = Box::leak(core::hint::black_box(Box::new([count as u8; BLOCK])));
        if block[BLOCK - 1] != count as u8 {
            return Err(Error::InvalidArgument);
        }
        if count % 16 == 0 {
            log!("test-heap-hog: holds {} KiB, {} bytes free", count * BLOCK / 1024, heap::free());
        }
    }
    Ok(())
}
