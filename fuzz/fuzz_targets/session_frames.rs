#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gangway_fuzz::check_session_frames(data));
