//! `cargo +nightly fuzz run profile`: arbitrary text as a saved profile. Loaded
//! or refused; a loaded profile saves and loads back the same, and merges with
//! itself or says the counts would wrap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trainyard_data::profile::DatasetProfile;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok((profile, _)) = DatasetProfile::from_json_with(text) {
        let again = DatasetProfile::from_json(&profile.to_json()).expect("a saved profile loads");
        assert_eq!(again, profile);
        let mut merged = profile.clone();
        let _ = merged.merge(&profile);
    }
});
