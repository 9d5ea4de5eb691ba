//! libFuzzer entry point for `kernel_core::fuzzing::syscall_decoding`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kernel_core::fuzzing::syscall_decoding(data));
