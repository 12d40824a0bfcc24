//! Consumers: the clients (Lambda functions) that get network access and may read the
//! password, named by Terraform references valid in the root module.

use super::resolver::Resolver;
use super::syntax::{is_reference, is_slug};
use crate::diag::{Code, Pos};
use crate::field::Field;
use crate::model::{Consumer, Val};

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
            out.push(Consumer {
                name: c.name.value.clone(),
                security_group: c.security_group.value.clone(),
                iam_role: c.iam_role.value.clone(),
            });
        }
        let key: Vec<String> = out
            .iter()
            .map(|c| format!("{} ({}, {})", c.name, c.security_group, c.iam_role))
            .collect();
        let shared = list.map(|_| key.join("; "));
        ok.then_some((out, shared))
    }
}
