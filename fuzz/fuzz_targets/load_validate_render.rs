//! Fuzzes the whole pure pipeline: arbitrary bytes -> load (parse + validate) -> render,
//! and the diagnostics report when loading fails. Any panic, and any render error for
//! a blueprint that validated, is a bug in infragen.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    match infragen::pipeline::compile_str("fuzz.yaml", source) {
        Ok(model) => {
            // A RenderError on a validated model is a template bug: make it a finding.
            if let Err(e) = infragen::render::render(&model) {
                panic!("a valid blueprint failed to render: {e}");
            }
        }
        Err(err) => {
            let _ = err.render();
        }
    }
});
