//! libFuzzer entry point for `tessera_manifest::fuzzing::hardware_definition_json`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tessera_manifest::fuzzing::hardware_definition_json(data));
