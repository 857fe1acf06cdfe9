//! `crdt_fuzz_checks::registers` under libFuzzer; the property and its input format are documented there.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crdt_fuzz_checks::registers(data));
