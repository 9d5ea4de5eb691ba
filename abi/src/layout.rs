//! The user address space layout, shared by the kernel, the user linker
//! script (which must agree with [`USER_IMAGE_BASE`]) and the runtime.
//!
//! ```text
//! 0x0000_0000 .. 0x0001_0000   never mapped: null pointer guard
//! 0x0001_0000 ..               program segments from the ELF (text RX,
//!                              rodata R, data/bss RW, each execute-never
//!                              unless text), page aligned
//! APP_INFO_AT .. + PAGE         an app's start information, read-only
//!                              (`tessera_abi::app`; apps only)
//! PLUTON_BUFFER_AT .. + PAGE    an app's Pluton request buffer, RW,
//!                              execute-never (apps only)
//! NET_WINDOW_AT .. + 16 KiB     an app's network transfer window, RW,
//!                              execute-never (apps granted the network)
//! APP_HEAP_AT .. + heap bytes  an app's heap, RW, execute-never, one
//!                              frame (apps only; its size is in the start
//!                              information)
//! STACK_TOP - STACK_SIZE - PAGE .. STACK_TOP - STACK_SIZE
//!                              never mapped: stack guard page
//! STACK_TOP - STACK_SIZE .. STACK_TOP
//!                              stack, RW, execute-never
//! USER_END ..                  kernel (not accessible from User mode)
//! ```

/// Size of a page, the unit of user mappings.
pub const PAGE_SIZE: usize = 4096;
/// Lowest address a program may be linked at.
pub const USER_IMAGE_BASE: usize = 0x0001_0000;
/// End (exclusive) of the user part of every address space: 1 GiB. Addresses
/// at or above it belong to the kernel.
pub const USER_END: usize = 0x4000_0000;
/// Top (exclusive) of the initial user stack.
pub const STACK_TOP: usize = 0x3FFF_0000;
/// Size of the initial user stack.
pub const STACK_SIZE: usize = 16 * 1024;
/// Bytes at the top of the root task's stack that hold its boot arguments;
/// its stack pointer starts below them.
pub const BOOTARGS_AREA: u32 = 256;
/// Most bytes of program segments one process may map.
pub const MAX_IMAGE_BYTES: usize = 4 * 1024 * 1024;
/// Where `init`'s loader maps an app's start information (one read-only
/// page, `tessera_abi::app::StartInfo`); the app gets this address in `r0`.
/// In the same MiB as the heap, so both take one second-level table.
pub const APP_INFO_AT: usize = 0x1000_0000;
/// Where `init`'s loader maps an app's Pluton request buffer: one frame
/// the app hands the Pluton security server with each request that moves
/// bytes (`tessera_abi::app::pluton`).
pub const PLUTON_BUFFER_AT: usize = APP_INFO_AT + PAGE_SIZE;
/// Where `init`'s loader maps an app's network transfer window: one frame
/// of `tessera_abi::app::net::WINDOW_BYTES` (16 KiB, so 16 KiB aligned)
/// that the app and the network server move bytes through. Between the
/// Pluton buffer and the heap, in the same MiB.
pub const NET_WINDOW_AT: usize = APP_INFO_AT + 4 * PAGE_SIZE;
/// Where `init`'s loader maps an app's heap.
pub const APP_HEAP_AT: usize = 0x1001_0000;
/// Bytes of heap every app gets today: one frame, one mapping, carved from
/// the app's own memory block.
pub const APP_HEAP_BYTES: usize = 64 * 1024;
/// Most bytes of heap an app may be told it has (the rest of the MiB).
pub const MAX_APP_HEAP_BYTES: usize = 0x0010_0000 - (APP_HEAP_AT - APP_INFO_AT);

/// The MiB `init`'s loader maps an app's start information, Pluton
/// buffer, network window and heap into: no segment of an app's program
/// may lie there ([`in_app_area`]).
pub const APP_AREA: core::ops::Range<u32> = APP_INFO_AT as u32..(APP_HEAP_AT + MAX_APP_HEAP_BYTES) as u32;

/// Whether `bytes` bytes at `address` touch [`APP_AREA`] (a range that
/// wraps past the end of the address space touches everything).
pub const fn in_app_area(address: u32, bytes: u32) -> bool {
    if bytes == 0 {
        return false;
    }
    match address.checked_add(bytes) {
        Some(end) => address < APP_AREA.end && end > APP_AREA.start,
        None => true,
    }
}

// The network window lies between the Pluton buffer and the heap.
const _: () = assert!(NET_WINDOW_AT >= PLUTON_BUFFER_AT + PAGE_SIZE && NET_WINDOW_AT + 16 * 1024 <= APP_HEAP_AT);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_area_is_the_mib_of_the_loaders_mappings() {
        assert_eq!(APP_AREA, 0x1000_0000..0x1010_0000);
        for at in [APP_INFO_AT, PLUTON_BUFFER_AT, NET_WINDOW_AT, APP_HEAP_AT] {
            assert!(in_app_area(at as u32, 1));
        }
        assert!(in_app_area(0x0FFF_F000, 0x1001), "ends one byte in");
        assert!(!in_app_area(0x0FFF_F000, 0x1000), "ends just before");
        assert!(!in_app_area(0x1010_0000, 0x1000), "starts just after");
        assert!(in_app_area(0x0001_0000, 0x2000_0000), "spans it");
        assert!(!in_app_area(0x1000_0000, 0), "empty");
        assert!(in_app_area(0xFFFF_F000, 0x2000), "wraps");
    }
}
