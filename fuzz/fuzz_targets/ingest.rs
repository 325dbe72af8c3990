//! cargo-fuzz target: [`sentry_lite_fuzz::run`] on every input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sentry_lite_fuzz::run(data);
});
