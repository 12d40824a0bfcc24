//! Render: pure functions from the [`Model`] to the full set of output files, in memory.
//!
//! No I/O happens here: templates are compiled into the binary, and the result is a list
//! of [`OutputFile`]s in a stable order (the table in [`outputs`], then the manifest). Every
//! file starts with the generated-code marker ([`marker`]). Each `.tf`/`.tfvars` file is
//! aligned like `terraform fmt` ([`hclfmt`]). (The tests parse every rendered file back
//! with hcl-rs and serde-saphyr, for every fixture and for generated blueprints; the
//! real-tool suite runs Terraform, Ansible and Redis on them.)

mod checkov;
mod filters;
pub mod hclfmt;
pub mod marker;
pub mod outputs;
pub mod values;
mod views;
pub use views::shared_acl;

pub use marker::{
    MANIFEST, MARKER_PREFIX, check_marker_source, has_marker, marker, parse_manifest, sha256_hex,
};

use crate::model::Model;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use outputs::{Body, Condition, Context, OUTPUTS, Output};
use std::fmt::Write as _;

/// One generated file: a path relative to the output directory (with `/` separators)
/// and its full contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub path: String,
    pub contents: String,
}

/// A rendering failure: always a bug in infragen's templates, never in the blueprint
/// (validation has already accepted it).
#[derive(Debug)]
pub enum RenderError {
    /// A template did not compile, or failed to render the file at `path`.
    Template {
        path: String,
        error: minijinja::Error,
    },
    /// The output table names a file that is not compiled in.
    MissingFile { path: String },
    /// A JSON output is not an object (its marker goes into its first key).
    NotJsonObject { path: String },
    /// The blueprint is valid, but one of its files would be larger than infragen reads
    /// back from a tree ([`MAX_FILE_BYTES`]): written, it could never be checked or
    /// updated. Not a bug: the command reports it as a problem of the blueprint.
    TooLarge { path: String, bytes: u64 },
}

/// The largest file infragen writes, and so reads back: a larger file at a generated
/// path is not infragen's.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let RenderError::TooLarge { path, bytes } = self {
            return write!(
                f,
                "{path} would be {bytes} bytes, over the {MAX_FILE_BYTES} infragen reads back"
            );
        }
        f.write_str("internal error while rendering (please report it): ")?;
        match self {
            RenderError::TooLarge { .. } => Ok(()),
            RenderError::Template { path, error } => write!(f, "{path}: {error:#}"),
            RenderError::MissingFile { path } => write!(f, "{path}: no compiled-in file"),
            RenderError::NotJsonObject { path } => write!(f, "{path}: not a JSON object"),
        }
    }
}

impl std::error::Error for RenderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RenderError::Template { error, .. } => Some(error),
            _ => None,
        }
    }
}

fn environment() -> Result<Environment<'static>, RenderError> {
    let template_error = |path: &str| {
        let path = path.to_string();
        move |error| RenderError::Template { path, error }
    };
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .map_err(template_error("(template syntax)"))?,
    );
    env.add_filter("hcl", filters::hcl_literal);
    env.add_filter("yaml", filters::yaml_scalar);
    env.add_filter("join", filters::join);
    env.add_filter("replace", filters::replace);
    for (name, source) in outputs::TEMPLATES {
        env.add_template(name, source)
            .map_err(template_error(name))?;
    }
    Ok(env)
}

/// Renders every output file for the model, in a stable order, ending with the manifest.
pub fn render(model: &Model) -> Result<Vec<OutputFile>, RenderError> {
    let mut files = Vec::new();
    render_each(model, |f| {
        files.push(f);
        Ok::<(), RenderError>(())
    })?;
    Ok(files)
}

/// Whether an output exists for this model.
fn exists(model: &Model, o: &Output) -> bool {
    match o.when {
        Condition::Always => true,
        Condition::ElastiCachePlaced => model.elasticache.is_some(),
        Condition::HasConsumers => !model.consumers.is_empty(),
    }
}

/// An output's path with its placeholders filled in.
fn path_of(model: &Model, o: &Output, env: Option<&str>) -> String {
    let cache = model
        .elasticache
        .as_ref()
        .map_or("", |e| e.terraform_module.as_str());
    o.path
        .replace("{host}", &model.host.terraform_module)
        .replace("{cache}", cache)
        .replace("{group}", &model.host.ansible_group)
        .replace("{env}", env.unwrap_or(""))
}

/// Renders every output file in order and hands each to `sink` as soon as it is
/// complete, the manifest last; so a caller can compare and drop unchanged files instead
/// of holding the whole tree. Still pure: `sink` decides what happens to each file.
pub fn render_each<E: From<RenderError>>(
    model: &Model,
    mut sink: impl FnMut(OutputFile) -> Result<(), E>,
) -> Result<(), E> {
    let env = environment().map_err(E::from)?;
    let base = views::base_view(model);
    let mut manifest = marker::manifest_header(&model.source);
    let mut emit = |path: String, source: Body, ctx: &Value| -> Result<(), E> {
        let body = match source {
            Body::Schema => crate::blueprint::json_schema(),
            Body::Values => values::render(model),
            Body::File => outputs::FILES
                .iter()
                .find(|(n, _)| *n == path)
                .map(|(_, text)| (*text).to_string())
                .ok_or_else(|| RenderError::MissingFile { path: path.clone() })?,
            Body::MiniJinja(template) => env
                .get_template(template)
                .and_then(|t| t.render(ctx))
                .map_err(|error| RenderError::Template {
                    path: path.clone(),
                    error,
                })?,
        };
        let contents = finish(&path, &model.source, &body)?;
        if contents.len() as u64 > MAX_FILE_BYTES {
            return Err(E::from(RenderError::TooLarge {
                path,
                bytes: contents.len() as u64,
            }));
        }
        let _ = writeln!(manifest, "{}  {}", sha256_hex(&contents), path);
        sink(OutputFile { path, contents })
    };
    let outputs: Vec<&Output> = OUTPUTS.iter().filter(|o| exists(model, o)).collect();
    let mut i = 0;
    while i < outputs.len() {
        match outputs[i].context {
            Context::PerEnv(name) => {
                // A block of consecutive per-environment outputs, environment by
                // environment.
                let block: Vec<&Output> = outputs[i..]
                    .iter()
                    .take_while(|o| matches!(o.context, Context::PerEnv(n) if n == name))
                    .copied()
                    .collect();
                for e in &model.envs {
                    let ctx = views::env_view(&base, model, e);
                    for o in &block {
                        emit(path_of(model, o, Some(&e.name)), o.source, &ctx)?;
                    }
                }
                i += block.len();
            }
            Context::Shared => {
                emit(path_of(model, outputs[i], None), outputs[i].source, &base)?;
                i += 1;
            }
            Context::Versions(providers) => {
                let ctx = minijinja::context! {
                    providers => Value::from(minijinja::value::Serde(providers)),
                    ..base.clone()
                };
                emit(path_of(model, outputs[i], None), outputs[i].source, &ctx)?;
                i += 1;
            }
        }
    }
    sink(OutputFile {
        path: MANIFEST.to_string(),
        contents: manifest,
    })
}

/// Adds the marker and applies the formatter pass.
fn finish(path: &str, source: &str, body: &str) -> Result<String, RenderError> {
    if path.ends_with(".json") {
        // JSON has no comments: the marker is the document's first key.
        let rest = body
            .strip_prefix("{\n")
            .ok_or_else(|| RenderError::NotJsonObject {
                path: path.to_string(),
            })?;
        // As a JSON string: the blueprint's path may hold `"` or `\`.
        let comment = serde_json::Value::String(marker(source)).to_string();
        return Ok(format!("{{\n  \"$comment\": {comment},\n{rest}\n"));
    }
    let body = body.trim_start_matches('\n');
    let mut text = match body.strip_prefix("#!").and_then(|_| body.split_once('\n')) {
        // A script: the interpreter line stays first, the marker follows it.
        Some((shebang, rest)) => {
            format!("{shebang}\n{}\n{rest}", marker::marker_line(path, source))
        }
        None => format!("{}\n{body}", marker::marker_line(path, source)),
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if path.ends_with(".tf") || path.ends_with(".tfvars") {
        text = hclfmt::align_attributes(&text);
    }
    Ok(text)
}
