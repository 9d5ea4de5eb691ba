//! The app's heap: how much it has and how much is free.
//!
//! `init` maps every app a heap (64 KiB today) carved from the app's own
//! memory block, and [`App::from_start`](crate::App::from_start) hands it
//! to the global allocator before `main` runs, so `alloc`'s collections
//! work (`extern crate alloc;`). Running out is an allocation error: the
//! app panics and ends (`init`'s supervisor sees a crash); no other app is
//! touched.
//!
//! ```ignore
//! extern crate alloc;
//! use alloc::{string::String, vec::Vec};
//!
//! let mut readings: Vec<u32> = Vec::with_capacity(16);
//! readings.push(42);
//! let mut line = String::new();
//! line.push_str("kept on the heap");
//! log!("{} bytes of {} free", tessera_sdk::heap::free(), tessera_sdk::heap::size());
//! ```

/// Bytes of heap the app has.
pub fn size() -> usize {
    tessera_rt::app::heap::size()
}

/// Bytes of heap not allocated (possibly fragmented).
pub fn free() -> usize {
    tessera_rt::app::heap::free_bytes()
}
