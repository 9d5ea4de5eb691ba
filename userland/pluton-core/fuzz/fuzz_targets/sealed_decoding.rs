//! libFuzzer entry point for `tessera_pluton_core::fuzzing::sealed_decoding`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tessera_pluton_core::fuzzing::sealed_decoding(data));
