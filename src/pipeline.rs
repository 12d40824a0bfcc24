//! The pipeline up to the model, in one place: read the blueprint, check that its path
//! can go into the markers, parse, validate. Render and sync follow in the commands
//! (`crate::commands`).
//!
//! ```text
//! read (load.rs) -> parse (load.rs) -> build (validate/) -> Model -> render -> sync
//! ```

use crate::error::Error;
use crate::load::{self, Source};
use crate::model::Model;
use crate::validate;
use std::path::Path;

/// Reads and compiles the blueprint at `path` into the model.
pub fn compile(path: &Path) -> Result<Model, Error> {
    compile_source(&load::read(path)?)
}

/// Compiles blueprint text (no I/O). `display` is the path shown in messages and
/// written into each generated file's marker.
pub fn compile_str(display: &str, text: &str) -> Result<Model, Error> {
    compile_source(&Source {
        display: display.to_string(),
        text: text.to_string(),
    })
}

fn compile_source(source: &Source) -> Result<Model, Error> {
    crate::render::check_marker_source(&source.display).map_err(|why| Error::MarkerPath {
        path: load::shown(&source.display),
        why,
    })?;
    let invalid = |diagnostics| Error::Invalid {
        file: source.display.clone(),
        source: source.text.clone(),
        diagnostics,
    };
    let blueprint = load::parse(&source.text).map_err(|d| invalid(vec![d]))?;
    validate::build(blueprint, &source.display).map_err(invalid)
}
