#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gangway_fuzz::check_http_requests(data));
