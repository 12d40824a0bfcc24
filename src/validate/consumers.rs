//! Consumers: the clients (Lambda functions) that get network access and may read the
//! password, named by Terraform references valid in the root module.

use super::resolver::Resolver;
use super::syntax::{is_reference, is_slug};
use crate::diag::{Code, Pos};
use crate::field::Field;
use crate::model::{Consumer, Val};
use crate::rules::{ConsumerAccess, KEY_PATTERN_MAX};
use crate::suggest::did_you_mean;

/// A key pattern Redis's ACL parser takes as one `~pattern` rule and redis.conf as one
/// word: printable ASCII without spaces, quotes or backslashes (ACL glob syntax `*?[]`
/// is fine), not starting with the rule prefixes `%` or `~`.
fn is_key_pattern(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= KEY_PATTERN_MAX
        && !p.starts_with(['%', '~'])
        && p.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'\\'))
}

impl Resolver<'_> {
    /// The consumers, as one shared value (module code names them) plus the list.
    pub(super) fn consumers(&mut self) -> Option<(Vec<Consumer>, Val<String>)> {
        let list = self.or(Field::Consumers, |l| l.consumers.as_ref(), Vec::new());
        let mut out: Vec<Consumer> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut ok = true;
        for c in &list.value {
            let name_pos = Pos::of(&c.name.referenced);
            if !is_slug(&c.name.value, 32) {
                self.err_at(
                    Code::ConsumerName,
                    name_pos,
                    list.path(),
                    format!("consumer name `{}` is not valid", c.name.value),
                    "lower-case letters, digits and `-`, e.g. `dialer`",
                );
                ok = false;
            } else if c.name.value == "default" {
                // Each consumer is a Redis user of its name; `default` is the user every
                // connection starts as (the shared password's, or off), on the host and
                // in ElastiCache's user group alike.
                self.err_at(
                    Code::ConsumerName,
                    name_pos,
                    list.path(),
                    "consumer name `default` is the name of Redis's own default user".to_string(),
                    "another name, e.g. the function's",
                );
                ok = false;
            } else if !seen.insert(c.name.value.clone()) {
                self.err_at(
                    Code::ConsumerName,
                    name_pos,
                    list.path(),
                    format!("consumer `{}` is listed twice", c.name.value),
                    "each consumer once",
                );
                ok = false;
            }
            for (field, v) in [
                ("security_group", &c.security_group),
                ("iam_role", &c.iam_role),
            ] {
                if !is_reference(&v.value) {
                    self.err_at(
                        Code::ConsumerReference,
                        Pos::of(&v.referenced),
                        list.path(),
                        format!("{field} `{}` is not a Terraform reference", v.value),
                        "a reference valid in the root module, e.g. `module.lambda.dialer_security_group_id` or `aws_iam_role.dialer.name`",
                    );
                    ok = false;
                }
            }
            let keys: Vec<String> = match &c.keys {
                None => vec!["*".to_string()],
                Some(keys) => {
                    if keys.value.is_empty() {
                        self.err_at(
                            Code::ConsumerKeys,
                            Pos::of(&keys.referenced),
                            list.path(),
                            format!("consumer `{}` may touch no key", c.name.value),
                            "one or more key patterns such as `campaign:*` (or leave `keys` out for every key)",
                        );
                        ok = false;
                    }
                    let mut seen_keys = std::collections::HashSet::new();
                    for k in &keys.value {
                        let good = is_key_pattern(&k.value);
                        if !good || !seen_keys.insert(k.value.as_str()) {
                            self.err_at(
                                Code::ConsumerKeys,
                                Pos::of(&k.referenced),
                                list.path(),
                                if good {
                                    format!("key pattern `{}` is listed twice", k.value)
                                } else {
                                    format!("`{}` is not a key pattern a Redis ACL can hold", k.value)
                                },
                                "a glob such as `campaign:*` or `call:{id}:*`: 1 to 128 printable ASCII characters, no spaces, quotes or backslashes, not starting with `%` or `~`",
                            );
                            ok = false;
                        }
                    }
                    keys.value.iter().map(|k| k.value.clone()).collect()
                }
            };
            let access = match &c.access {
                None => ConsumerAccess::ReadWrite,
                Some(a) => match ConsumerAccess::parse(&a.value) {
                    Some(a) => a,
                    None => {
                        self.err_at(
                            Code::ConsumerAccess,
                            Pos::of(&a.referenced),
                            list.path(),
                            format!(
                                "`{}` is not an access level{}",
                                a.value,
                                did_you_mean(&a.value, ConsumerAccess::NAMES.iter().copied())
                            ),
                            "`read_write` or `read_only`",
                        );
                        ok = false;
                        ConsumerAccess::ReadWrite
                    }
                },
            };
            out.push(Consumer {
                name: c.name.value.clone(),
                security_group: c.security_group.value.clone(),
                iam_role: c.iam_role.value.clone(),
                keys,
                access: access.as_str(),
            });
        }
        let key: Vec<String> = out
            .iter()
            .map(|c| {
                format!(
                    "{} ({}, {}, keys {}, {})",
                    c.name,
                    c.security_group,
                    c.iam_role,
                    c.keys.join(" "),
                    c.access
                )
            })
            .collect();
        let shared = list.map(|_| key.join("; "));
        ok.then_some((out, shared))
    }
}
