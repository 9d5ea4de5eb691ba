//! libFuzzer entry point for `kernel_core::fuzzing::console_labelling`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kernel_core::fuzzing::console_labelling(data));
