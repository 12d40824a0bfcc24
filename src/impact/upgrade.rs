//! Defaults that arrived with a newer infragen and would cut consumers off a deployment
//! generated before them.
//!
//! A blueprint written before per-consumer users and TLS (issue 27) says nothing about
//! `redis.auth.shared_password` or `redis.tls.enabled`. Their defaults are the safe ones
//! for a new deployment (no shared password, TLS on), but on a running one the first
//! turns off the password every consumer uses and the second makes the plaintext port
//! they connect to speak TLS only. The tree says which it is: its recorded values
//! (`infragen-values.json`) lack the field. Such a change is refused (IG415) until the
//! blueprint states the value, either way: the defaults never decide it silently. Pure:
//! recorded values and the model in, the fields out.

use crate::diag::{Code, Diagnostic};
use crate::field::Field;
use crate::model::{Env, Origin};
use crate::rules::Mode;
use serde_json::Value as Json;

fn recorded(values: &[(String, Json)], field: Field) -> Option<&Json> {
    values
        .iter()
        .find(|(f, _)| f == field.path())
        .map(|(_, v)| v)
}

/// The fields of `e` left to a default that cuts its consumers off, given the values
/// recorded for it (`values`): the shared password turned off, in either mode; TLS
/// turned on for a host that served plaintext and still does.
pub fn cut_off(values: &[(String, Json)], e: &Env) -> Vec<Field> {
    let mut out = Vec::new();
    let unrecorded_default = |field: Field, origin: &Origin| {
        matches!(origin, Origin::Default) && recorded(values, field).is_none()
    };
    let r = &e.redis;
    if !r.shared_password.value
        && unrecorded_default(Field::AuthSharedPassword, &r.shared_password.origin)
    {
        out.push(Field::AuthSharedPassword);
    }
    let was_self_hosted = recorded(values, Field::RedisMode).and_then(Json::as_str)
        == Some(Mode::SelfHosted.as_str());
    if r.tls_enabled.value
        && was_self_hosted
        && e.mode.value == Mode::SelfHosted
        && unrecorded_default(Field::TlsEnabled, &r.tls_enabled.origin)
    {
        out.push(Field::TlsEnabled);
    }
    out
}

/// IG415 for `field` of environment `e`, located at the environment's key.
pub fn refusal(field: Field, e: &Env) -> Diagnostic {
    let env = &e.name;
    let (message, help) = match field {
        Field::AuthSharedPassword => (
            format!(
                "environment `{env}` was generated before each consumer had its own Redis user (recorded in the tree), and `{field}` is not set: its default, false, would turn off the one password every consumer uses today"
            ),
            format!(
                "set `{field}: true` to keep the shared password while the consumers move to their own secrets (docs/{env}/MIGRATION.md), or `false` once they have"
            ),
        ),
        _ => (
            format!(
                "environment `{env}` was generated before its host served TLS (recorded in the tree), and `{field}` is not set: its default, true, would make the plaintext port every consumer connects to speak TLS only"
            ),
            format!(
                "set `{field}: false` to keep plaintext, or `true` with `{}` moved to a new port and the one consumers use now kept as `{}` while they move to TLS (docs/{env}/MIGRATION.md)",
                Field::RedisPort,
                Field::TlsPlaintextPort
            ),
        ),
    };
    Diagnostic::new(Code::UpgradeDefault, Some(e.at), field.path(), message).help(help)
}
