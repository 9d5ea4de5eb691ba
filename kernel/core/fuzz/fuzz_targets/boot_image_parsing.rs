//! libFuzzer entry point for `kernel_core::fuzzing::boot_image_parsing`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kernel_core::fuzzing::boot_image_parsing(data));
