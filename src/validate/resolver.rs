//! The resolver: for one environment, each field's value comes from the environment's
//! override, else the blueprint's top level, else infragen's default, and remembers
//! which (an [`Origin`]). Problems are collected, never thrown: every rule of every
//! environment is checked and reported together.

use crate::blueprint::{Int, Layer, Sp};
use crate::diag::{Code, Diagnostic, Pos};
use crate::field::Field;
use crate::model::{Origin, Val};
use crate::rules::IntRule;
use crate::suggest::did_you_mean;

/// The values shared code is written from, as each environment resolved them; they must
/// agree across environments.
pub(super) type Shared = Vec<Val<String>>;

/// Resolves one environment: override, else top level, else default.
pub(super) struct Resolver<'a> {
    pub env: &'a str,
    /// Where the environment is declared: missing values are reported there.
    pub env_pos: Pos,
    pub base: &'a Layer,
    pub over: &'a Layer,
    /// The blueprint's `name`.
    pub name: &'a str,
    pub diags: &'a mut Vec<Diagnostic>,
}

impl Resolver<'_> {
    pub fn pick<T: Clone>(
        &self,
        field: Field,
        get: impl Fn(&Layer) -> Option<&Sp<T>>,
    ) -> Option<Val<T>> {
        let (sp, origin): (&Sp<T>, fn(Pos) -> Origin) = if let Some(v) = get(self.over) {
            (v, Origin::Env)
        } else {
            (get(self.base)?, Origin::Base)
        };
        Some(Val {
            value: sp.value.clone(),
            origin: origin(Pos::of(&sp.referenced)),
            field,
            env: self.env.to_string(),
        })
    }

    pub fn or<T: Clone>(
        &self,
        field: Field,
        get: impl Fn(&Layer) -> Option<&Sp<T>>,
        default: T,
    ) -> Val<T> {
        self.pick(field, get)
            .unwrap_or_else(|| self.default(field, default))
    }

    /// A value that is infragen's default.
    pub fn default<T>(&self, field: Field, value: T) -> Val<T> {
        Val {
            value,
            origin: Origin::Default,
            field,
            env: self.env.to_string(),
        }
    }

    pub fn required<T: Clone>(
        &mut self,
        field: Field,
        get: impl Fn(&Layer) -> Option<&Sp<T>>,
        example: &str,
    ) -> Option<Val<T>> {
        let v = self.pick(field, get);
        if v.is_none() {
            self.diags.push(
                Diagnostic::new(
                    Code::Missing,
                    Some(self.env_pos),
                    format!("environments.{}", self.env),
                    format!(
                        "missing required field `{field}`: environment `{}` gets no value",
                        self.env
                    ),
                )
                .help(format!(
                    "set it at the top level or under `environments.{}`, e.g. {example}",
                    self.env
                )),
            );
        }
        v
    }

    pub fn err<T>(&mut self, code: Code, v: &Val<T>, message: String, help: &str) {
        self.diags
            .push(Diagnostic::new(code, v.pos(), v.path(), message).help(help));
    }

    pub fn err_at(&mut self, code: Code, pos: Pos, path: String, message: String, help: &str) {
        self.diags
            .push(Diagnostic::new(code, Some(pos), path, message).help(help));
    }

    /// Reports `message` at `v` unless `good`; returns `good`.
    pub fn ensure<T>(
        &mut self,
        good: bool,
        code: Code,
        v: &Val<T>,
        message: impl FnOnce() -> String,
        help: &str,
    ) -> bool {
        if !good {
            self.err(code, v, message(), help);
        }
        good
    }

    /// An integer field, resolved and checked against its rule; the value converted to
    /// `U` when the rule accepts it.
    pub fn int<U: TryFrom<i64>>(
        &mut self,
        rule: &IntRule,
        code: Code,
        get: impl Fn(&Layer) -> Option<&Sp<Int>>,
        message: impl FnOnce(i64) -> String,
    ) -> Option<Val<U>> {
        let raw = self.or(rule.field, get, Int(rule.default)).map(|i| i.0);
        let converted = U::try_from(raw.value)
            .ok()
            .filter(|_| rule.accepts(raw.value));
        match converted {
            Some(value) => Some(Val {
                value,
                origin: raw.origin,
                field: raw.field,
                env: raw.env,
            }),
            None => {
                self.err(code, &raw, message(raw.value), rule.help);
                None
            }
        }
    }

    /// Checks that `v` is one of `names`, with a "did you mean" when it is close to one.
    pub fn one_of(
        &mut self,
        code: Code,
        v: &Val<String>,
        names: &[&str],
        message: impl FnOnce(&str) -> String,
    ) -> bool {
        if names.contains(&v.value.as_str()) {
            return true;
        }
        let text = format!(
            "{}{}",
            message(&v.value),
            did_you_mean(&v.value, names.iter().copied())
        );
        self.err(code, v, text, &names.join(", "));
        false
    }
}

/// A default for a list of located strings (no position: it is infragen's).
pub(super) fn default_sp(s: &str) -> Sp<String> {
    Sp::new(s.to_string(), serde_saphyr::Location::UNKNOWN)
}

/// Where an item of a list stands: its own position, or the list's when it is a default.
pub(super) fn item_pos<T>(item: &Sp<String>, list: &Val<T>) -> Pos {
    if item.referenced == serde_saphyr::Location::UNKNOWN {
        list.pos().unwrap_or(Pos { line: 1, column: 1 })
    } else {
        Pos::of(&item.referenced)
    }
}
