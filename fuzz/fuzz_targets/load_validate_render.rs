//! Fuzzes the whole pure pipeline: arbitrary bytes -> load (parse + validate) -> render,
//! and the diagnostics report when loading fails. Any panic is a bug in infragen.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    match infragen::load::load_str("fuzz.yaml", source) {
        Ok(model) => {
            let _ = infragen::render::render(&model);
        }
        Err(err) => {
            let _ = err.render();
        }
    }
});
