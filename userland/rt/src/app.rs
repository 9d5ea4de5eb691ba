//! What an app was started with: its start information and its heap.
//!
//! `init`'s loader maps the start information (`tessera_abi::app`) at
//! [`APP_INFO_AT`] and the heap at [`APP_HEAP_AT`], and starts the app
//! with `r0 = APP_INFO_AT`. On Armv7-M, where an app is linked at its own
//! slot and user addresses are physical, both follow the program instead:
//! the start information is the page after the program's last byte and
//! the heap the pages after that (`tessera_loader::identity::start_app`).
//! The app SDK reads both through this module (the SDK itself has no
//! `unsafe`).

use tessera_abi::app::{StartInfo, StartInfoError};
use tessera_abi::layout::PAGE_SIZE;

use crate::Start;

/// Where the start information is: [`APP_INFO_AT`](tessera_abi::layout::APP_INFO_AT).
#[cfg(not(target_abi = "eabihf"))]
pub fn info_address() -> usize {
    tessera_abi::layout::APP_INFO_AT
}

/// Where the start information is on Armv7-M: the page after the
/// program's last byte (`__tessera_program_end`, `linker/user-m.ld`).
#[cfg(target_abi = "eabihf")]
pub fn info_address() -> usize {
    extern "C" {
        static __tessera_program_end: u8;
    }
    // Only the symbol's address is taken, never its contents.
    let end = core::ptr::addr_of!(__tessera_program_end) as usize;
    end.next_multiple_of(PAGE_SIZE)
}

/// Where a heap of `bytes` must start: [`APP_HEAP_AT`](tessera_abi::layout::APP_HEAP_AT),
/// or on Armv7-M the first multiple of its size past the start information.
#[cfg(feature = "heap")]
fn heap_address(bytes: usize) -> usize {
    #[cfg(not(target_abi = "eabihf"))]
    let _ = bytes;
    #[cfg(not(target_abi = "eabihf"))]
    return tessera_abi::layout::APP_HEAP_AT;
    #[cfg(target_abi = "eabihf")]
    return (info_address() + PAGE_SIZE).next_multiple_of(bytes.max(1));
}

/// The start information, if this process was started as an app.
pub fn start_info(start: Start) -> Result<StartInfo<'static>, StartInfoError> {
    let at = info_address();
    if start.argument as usize != at {
        return Err(StartInfoError::NotStartInfo);
    }
    // SAFETY: `init`'s loader starts an app with `r0` at the start
    // information's place only after mapping a read-only page there that
    // stays mapped while the app runs (the app itself could unmap it; then
    // this read faults and the kernel ends the app, touching nothing
    // else). The bytes are only read, and `StartInfo::decode` accepts any
    // bytes.
    let bytes = unsafe { core::slice::from_raw_parts(at as *const u8, PAGE_SIZE) };
    StartInfo::decode(bytes)
}

/// The app's Pluton request buffer: the page `init`'s loader maps at
/// [`PLUTON_BUFFER_AT`](tessera_abi::layout::PLUTON_BUFFER_AT) when it
/// grants the app the Pluton security server (two `PLUTON` grants: the
/// endpoint and this frame). `None` if the start information has no
/// such frame.
pub fn pluton_buffer(info: &StartInfo<'_>) -> Option<crate::Mapping> {
    use tessera_abi::app::ServerKind;
    use tessera_abi::ObjectType;
    let frame = info
        .grants()
        .filter(|grant| grant.server == ServerKind::PLUTON)
        .any(|grant| crate::cap_info(grant.handle()).is_ok_and(|cap| cap.kind == ObjectType::Frame));
    // SAFETY (of the mapping's later accesses): the loader mapped the page
    // read-write at this address before starting the app, as the frame
    // grant says; if the app unmaps it itself, an access faults and the
    // kernel ends this app only.
    frame.then(|| crate::Mapping::assume_mapped(tessera_abi::layout::PLUTON_BUFFER_AT as u32, PAGE_SIZE as u32))
}

/// The app's network transfer window: the frame `init`'s loader maps at
/// [`NET_WINDOW_AT`](tessera_abi::layout::NET_WINDOW_AT) when it grants
/// the app the network server (two `NET` grants: the endpoint and this
/// frame). `None` if the start information has no such frame.
pub fn net_window(info: &StartInfo<'_>) -> Option<crate::Mapping> {
    use tessera_abi::app::{net::WINDOW_BYTES, ServerKind};
    use tessera_abi::ObjectType;
    let frame = info
        .grants()
        .filter(|grant| grant.server == ServerKind::NET)
        .any(|grant| crate::cap_info(grant.handle()).is_ok_and(|cap| cap.kind == ObjectType::Frame));
    // SAFETY (of the mapping's later accesses): as for `pluton_buffer`:
    // the loader mapped the window's `WINDOW_BYTES` read-write at this
    // address before starting the app, as the frame grant says; if the app
    // unmaps it itself, an access faults and the kernel ends this app only.
    frame.then(|| crate::Mapping::assume_mapped(tessera_abi::layout::NET_WINDOW_AT as u32, WINDOW_BYTES as u32))
}

/// The app's heap: the global allocator (`linked_list_allocator`) over the
/// pages the start information names. Running out is an allocation error:
/// `alloc`'s handler panics, and the panic handler ends this app only.
#[cfg(feature = "heap")]
pub mod heap {
    use core::sync::atomic::{AtomicBool, Ordering};

    use linked_list_allocator::LockedHeap;
    use tessera_abi::app::StartInfo;
    use tessera_abi::layout::MAX_APP_HEAP_BYTES;

    #[global_allocator]
    static HEAP: LockedHeap = LockedHeap::empty();

    /// Set once the heap has its memory: it is handed over at most once.
    static GIVEN: AtomicBool = AtomicBool::new(false);

    /// Gives the allocator the heap `info` names; false if it names none,
    /// names memory outside the app heap area, or the heap has its memory
    /// already. Until this succeeds every allocation fails.
    pub fn init(info: &StartInfo<'_>) -> bool {
        let (address, bytes) = (info.heap_address as usize, info.heap_bytes as usize);
        if address != super::heap_address(bytes) || bytes == 0 || bytes > MAX_APP_HEAP_BYTES {
            return false;
        }
        if GIVEN.swap(true, Ordering::AcqRel) {
            return false;
        }
        // SAFETY: the loader mapped `bytes` bytes of read-write memory at
        // the heap's place before starting the app (the start information
        // it wrote says so, and the range is checked to start where the
        // layout reserves the heap, which nothing else in an app maps or
        // uses). `GIVEN` makes sure the range is handed over once.
        unsafe { HEAP.lock().init(address as *mut u8, bytes) };
        true
    }

    /// The bytes of a system program's heap (see [`init_program_heap`]).
    pub const PROGRAM_HEAP_BYTES: usize = 128 * 1024;

    /// The memory of a system program's heap: in `.bss`, so only a program
    /// that calls [`init_program_heap`] links it (the linker drops it from
    /// every other program).
    struct ProgramHeap(core::cell::UnsafeCell<[u8; PROGRAM_HEAP_BYTES]>);

    // SAFETY: the memory is only ever handed to the allocator, once (see
    // `init_program_heap`); nothing else reads or writes it.
    unsafe impl Sync for ProgramHeap {}

    static PROGRAM_HEAP: ProgramHeap = ProgramHeap(core::cell::UnsafeCell::new([0; PROGRAM_HEAP_BYTES]));

    /// Gives the allocator [`PROGRAM_HEAP_BYTES`] of this program's own
    /// `.bss`: the heap of a system program that `init`'s loader did not
    /// start as an app (the Pluton security server builds certificates).
    /// False if the heap has its memory already.
    pub fn init_program_heap() -> bool {
        if GIVEN.swap(true, Ordering::AcqRel) {
            return false;
        }
        // SAFETY: `PROGRAM_HEAP` is this program's own writable memory and
        // lives as long as it; `GIVEN` makes sure it (or an app heap) is
        // handed over once, so the allocator is its only user.
        unsafe { HEAP.lock().init(PROGRAM_HEAP.0.get().cast::<u8>(), PROGRAM_HEAP_BYTES) };
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
