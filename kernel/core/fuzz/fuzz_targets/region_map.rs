//! libFuzzer entry point for `kernel_core::fuzzing::region_map_operations`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kernel_core::fuzzing::region_map_operations(data));
