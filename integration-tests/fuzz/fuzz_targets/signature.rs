#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| exchange_fuzz::signature::run(data));
