//! libFuzzer entry point for `tessera_net_core::fuzzing::dns_response_decoding`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tessera_net_core::fuzzing::dns_response_decoding(data));
