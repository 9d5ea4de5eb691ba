//! libFuzzer entry point for `tessera_net_core::fuzzing::link_frames`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tessera_net_core::fuzzing::link_frames(data));
