//! `cargo +nightly fuzz run manifest`: arbitrary text as `trainyard.yaml`, and
//! as a trainyard schema file. Read or refused with a configuration error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Err(error) = trainyard_core::manifest::parse(text, "trainyard.yaml") {
        assert!(!error.rule.is_empty());
    }
    let _ = trainyard_data::schema::parse(text, "schema.yaml");
    let _ = trainyard_data::schema::parse(text, "schema.json");
});
