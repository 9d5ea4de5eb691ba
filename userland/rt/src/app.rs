//! What an app was started with: its start information and its heap.
//!
//! `init`'s loader maps the start information (`tessera_abi::app`) at
//! [`APP_INFO_AT`] and the heap at [`APP_HEAP_AT`], and starts the app
//! with `r0 = APP_INFO_AT`. The app SDK reads both through this module
//! (the SDK itself has no `unsafe`).

use tessera_abi::app::{StartInfo, StartInfoError};
use tessera_abi::layout::{APP_INFO_AT, PAGE_SIZE};

use crate::Start;

/// The start information, if this process was started as an app.
pub fn start_info(start: Start) -> Result<StartInfo<'static>, StartInfoError> {
    if start.argument as usize != APP_INFO_AT {
        return Err(StartInfoError::NotStartInfo);
    }
    // SAFETY: `init`'s loader starts an app with `r0 = APP_INFO_AT` only
    // after mapping a read-only page there that stays mapped while the
    // app runs (the app itself could unmap it; then this read faults and
    // the kernel ends the app, touching nothing else). The bytes are only
    // read, and `StartInfo::decode` accepts any bytes.
    let bytes = unsafe { core::slice::from_raw_parts(APP_INFO_AT as *const u8, PAGE_SIZE) };
    StartInfo::decode(bytes)
}

/// The app's heap: the global allocator (`linked_list_allocator`) over the
/// pages the start information names. Running out is an allocation error:
/// `alloc`'s handler panics, and the panic handler ends this app only.
#[cfg(feature = "heap")]
pub mod heap {
    use core::sync::atomic::{AtomicBool, Ordering};

    use linked_list_allocator::LockedHeap;
    use tessera_abi::app::StartInfo;
    use tessera_abi::layout::{APP_HEAP_AT, MAX_APP_HEAP_BYTES};

    #[global_allocator]
    static HEAP: LockedHeap = LockedHeap::empty();

    /// Set once the heap has its memory: it is handed over at most once.
    static GIVEN: AtomicBool = AtomicBool::new(false);

    /// Gives the allocator the heap `info` names; false if it names none,
    /// names memory outside the app heap area, or the heap has its memory
    /// already. Until this succeeds every allocation fails.
    pub fn init(info: &StartInfo<'_>) -> bool {
        let (address, bytes) = (info.heap_address as usize, info.heap_bytes as usize);
        if address != APP_HEAP_AT || bytes == 0 || bytes > MAX_APP_HEAP_BYTES {
            return false;
        }
        if GIVEN.swap(true, Ordering::AcqRel) {
            return false;
        }
        // SAFETY: the loader mapped `bytes` bytes of read-write memory at
        // `APP_HEAP_AT` before starting the app (the start information it
        // wrote says so, and the range is checked to lie in the area the
        // layout reserves for the heap, which nothing else in an app maps
        // or uses). `GIVEN` makes sure the range is handed over once.
        unsafe { HEAP.lock().init(address as *mut u8, bytes) };
        true
    }

    /// Bytes of heap not allocated (free space, fragmented or not).
    pub fn free_bytes() -> usize {
        HEAP.lock().free()
    }

    /// Bytes of heap the app has (0 before [`init`]).
    pub fn size() -> usize {
        HEAP.lock().size()
    }
}
