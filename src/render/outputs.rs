//! The output table as data: every output, in output order, with where its bytes come
//! from, which context it sees, and when it exists. `render_each` walks this table.
//!
//! Which files exist depends on the placements the blueprint declares (the host always;
//! ElastiCache when `elasticache.vpc_id`/`subnet_ids` are set), never on the modes the
//! environments are in now: a cut-over or rollback changes the values in tfvars and
//! group_vars, not the set of files and interfaces the user wired once.

/// Where an output's bytes come from.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    /// A minijinja template under `templates/minijinja/`, rendered with the context.
    MiniJinja(&'static str),
    /// A file written as it is (plus the marker), from `templates/files/<output path>`:
    /// the Ansible role, whose Jinja2 is Ansible's and never passes through minijinja.
    File,
    /// The blueprint's JSON Schema, derived from the Rust types.
    Schema,
    /// The resolved values of every environment (`crate::render::values`).
    Values,
}

/// The context a template sees.
#[derive(Debug, Clone, Copy)]
pub enum Context {
    /// The model's shared values (`views::base_view`).
    Shared,
    /// One environment over the shared values (`views::env_view`); the output is
    /// written once per environment. Consecutive rows of one block (the name) are
    /// written environment by environment.
    PerEnv(&'static str),
    /// The shared values plus the providers a module's versions file declares.
    Versions(&'static [Provider]),
}

/// When an output exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Always,
    /// The blueprint places ElastiCache.
    ElastiCachePlaced,
    /// The blueprint lists consumers.
    HasConsumers,
}

/// One output. `path` may hold `{host}` (the host's module), `{cache}` (the ElastiCache
/// module), `{env}` (the environment) and `{group}` (the Ansible group).
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub path: &'static str,
    pub source: Body,
    pub context: Context,
    pub when: Condition,
}

/// A provider the generated Terraform uses, with the version constraint it needs and why.
#[derive(Debug, serde::Serialize)]
pub struct Provider {
    pub name: &'static str,
    pub source: &'static str,
    pub version: &'static str,
    pub why: &'static str,
}

const AWS: Provider = Provider {
    name: "aws",
    source: "hashicorp/aws",
    // 5.73.0 added `valkey` to aws_elasticache_replication_group's `engine` (its
    // CHANGELOG, #39745); 5.27.0 added auth_token_update_strategy.
    version: ">= 5.73, < 7.0",
    why: "aws_elasticache_replication_group's engine = \"valkey\" (5.73.0) and auth_token_update_strategy",
};

const RANDOM: Provider = Provider {
    name: "random",
    source: "hashicorp/random",
    version: ">= 3.1, < 4.0",
    why: "random_password with override_special and min_* counts",
};

const fn out(path: &'static str, source: Body, context: Context, when: Condition) -> Output {
    Output {
        path,
        source,
        context,
        when,
    }
}

const fn tf(path: &'static str, template: &'static str, when: Condition) -> Output {
    out(path, Body::MiniJinja(template), Context::Shared, when)
}

const fn file(path: &'static str) -> Output {
    out(path, Body::File, Context::Shared, Condition::Always)
}

use Condition::{Always, ElastiCachePlaced, HasConsumers};

/// Every output, in the order files are written and listed in the manifest (which comes
/// last, outside this table).
pub const OUTPUTS: &[Output] = &[
    // The host's module.
    out(
        "terraform/modules/{host}/redis_versions.tf",
        Body::MiniJinja("terraform/versions.tf.mj"),
        Context::Versions(&[AWS, RANDOM]),
        Always,
    ),
    out(
        "terraform/modules/{host}/redis_versions_override.tf",
        Body::MiniJinja("terraform/versions_override.tf.mj"),
        Context::Versions(&[RANDOM]),
        Always,
    ),
    tf(
        "terraform/modules/{host}/redis_variables.tf",
        "terraform/module_variables.tf.mj",
        Always,
    ),
    tf(
        "terraform/modules/{host}/redis_secret.tf",
        "terraform/module_secret.tf.mj",
        Always,
    ),
    tf(
        "terraform/modules/{host}/redis.tf",
        "terraform/module_redis.tf.mj",
        Always,
    ),
    tf(
        "terraform/modules/{host}/redis_iam.tf",
        "terraform/module_iam.tf.mj",
        Always,
    ),
    tf(
        "terraform/modules/{host}/redis_backup.tf",
        "terraform/module_backup.tf.mj",
        Always,
    ),
    tf(
        "terraform/modules/{host}/redis_outputs.tf",
        "terraform/module_outputs.tf.mj",
        Always,
    ),
    // The ElastiCache module.
    out(
        "terraform/modules/{cache}/redis_versions.tf",
        Body::MiniJinja("terraform/versions.tf.mj"),
        Context::Versions(&[AWS]),
        ElastiCachePlaced,
    ),
    tf(
        "terraform/modules/{cache}/redis_variables.tf",
        "terraform/data_variables.tf.mj",
        ElastiCachePlaced,
    ),
    tf(
        "terraform/modules/{cache}/redis_elasticache.tf",
        "terraform/data_elasticache.tf.mj",
        ElastiCachePlaced,
    ),
    tf(
        "terraform/modules/{cache}/redis_outputs.tf",
        "terraform/data_outputs.tf.mj",
        ElastiCachePlaced,
    ),
    // The root module.
    out(
        "terraform/redis_versions.tf",
        Body::MiniJinja("terraform/versions.tf.mj"),
        Context::Versions(&[]),
        Always,
    ),
    tf(
        "terraform/redis_variables.tf",
        "terraform/root_variables.tf.mj",
        Always,
    ),
    tf(
        "terraform/redis_outputs.tf",
        "terraform/root_outputs.tf.mj",
        Always,
    ),
    tf(
        "terraform/redis_monitoring.tf",
        "terraform/root_monitoring.tf.mj",
        Always,
    ),
    tf(
        "terraform/redis_consumers.tf",
        "terraform/root_consumers.tf.mj",
        HasConsumers,
    ),
    out(
        "terraform/environments/{env}/redis.tfvars",
        Body::MiniJinja("terraform/env.tfvars.mj"),
        Context::PerEnv("values"),
        Always,
    ),
    // Ansible: the playbook and the role exist in every mode, so that the user's
    // `import_playbook: redis.yml` stays valid; on ElastiCache the role stops at once.
    file("ansible/.yamllint"),
    tf("ansible/redis.yml", "ansible/playbook.yml.mj", Always),
    tf("ansible/redis_verify.yml", "ansible/verify.yml.mj", Always),
    file("ansible/redis_password.py"),
    file("ansible/redis_verify_aws.py"),
    file("ansible/collections/requirements.yml"),
    file("ansible/roles/redis/defaults/main.yml"),
    file("ansible/roles/redis/tasks/main.yml"),
    file("ansible/roles/redis/tasks/passwords.yml"),
    file("ansible/roles/redis/tasks/verify.yml"),
    file("ansible/roles/redis/handlers/main.yml"),
    file("ansible/roles/redis/meta/main.yml"),
    file("ansible/roles/redis/templates/redis.conf.j2"),
    file("ansible/roles/redis/templates/redis-guard.conf.j2"),
    file("ansible/roles/redis/templates/sysctl.conf.j2"),
    file("ansible/roles/redis/templates/redis-metrics.service.j2"),
    file("ansible/roles/redis/templates/redis-metrics.timer.j2"),
    file("ansible/roles/redis/templates/redis-metrics.env.j2"),
    file("ansible/roles/redis/templates/redis-backup.service.j2"),
    file("ansible/roles/redis/templates/redis-backup.timer.j2"),
    file("ansible/roles/redis/templates/redis-backup.env.j2"),
    file("ansible/roles/redis/templates/redis-backup.aws-config.j2"),
    file("ansible/roles/redis/templates/redis-tls.service.j2"),
    file("ansible/roles/redis/templates/redis-tls.timer.j2"),
    file("ansible/roles/redis/files/infragen_resp.py"),
    file("ansible/roles/redis/files/redis_admin.py"),
    file("ansible/roles/redis/files/redis_switch.py"),
    file("ansible/roles/redis/files/redis_metrics.py"),
    file("ansible/roles/redis/files/redis_backup.py"),
    file("ansible/roles/redis/files/redis_restore.py"),
    file("ansible/roles/redis/files/redis_tls.py"),
    file("ansible/roles/redis/files/redis_verify.py"),
    out(
        "ansible/inventory/{env}/group_vars/{group}/redis.yml",
        Body::MiniJinja("ansible/group_vars.yml.mj"),
        Context::PerEnv("inventory"),
        Always,
    ),
    // Docs.
    out(
        "docs/{env}/MIGRATION.md",
        Body::MiniJinja("docs/migration.md.mj"),
        Context::PerEnv("docs"),
        Always,
    ),
    out(
        "docs/{env}/REDIS_RUNBOOK.md",
        Body::MiniJinja("docs/runbook.md.mj"),
        Context::PerEnv("docs"),
        Always,
    ),
    tf("docs/REDIS_COST.md", "docs/cost.md.mj", Always),
    out(
        "schema/blueprint.schema.json",
        Body::Schema,
        Context::Shared,
        Always,
    ),
    // What each environment resolved to: `check` and `gen` compare the blueprint with it
    // to report a change's impact (crate::impact).
    out(super::values::FILE, Body::Values, Context::Shared, Always),
];

/// Embeds files under their names: templates are part of the binary, so rendering
/// never reads a file.
macro_rules! embed {
    ($dir:literal: $($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $dir, "/", $name)))),*]
    };
}

/// The minijinja templates (and the macro files they import).
pub const TEMPLATES: &[(&str, &str)] = embed!["minijinja":
    "terraform/redis_type.mj",
    "terraform/policies.mj",
    "terraform/module_variables.tf.mj",
    "terraform/module_secret.tf.mj",
    "terraform/module_redis.tf.mj",
    "terraform/module_iam.tf.mj",
    "terraform/module_backup.tf.mj",
    "terraform/module_outputs.tf.mj",
    "terraform/data_variables.tf.mj",
    "terraform/data_elasticache.tf.mj",
    "terraform/data_outputs.tf.mj",
    "terraform/root_variables.tf.mj",
    "terraform/root_outputs.tf.mj",
    "terraform/root_consumers.tf.mj",
    "terraform/root_monitoring.tf.mj",
    "terraform/env.tfvars.mj",
    "terraform/versions.tf.mj",
    "terraform/versions_override.tf.mj",
    "ansible/playbook.yml.mj",
    "ansible/verify.yml.mj",
    "ansible/group_vars.yml.mj",
    "docs/migration.md.mj",
    "docs/runbook.md.mj",
    "docs/cost.md.mj",
];

/// The files written as they are, under their output paths (`templates/files/` mirrors
/// the output tree).
pub const FILES: &[(&str, &str)] = embed!["files":
    "ansible/.yamllint",
    "ansible/redis_password.py",
    "ansible/redis_verify_aws.py",
    "ansible/collections/requirements.yml",
    "ansible/roles/redis/defaults/main.yml",
    "ansible/roles/redis/tasks/main.yml",
    "ansible/roles/redis/tasks/passwords.yml",
    "ansible/roles/redis/tasks/verify.yml",
    "ansible/roles/redis/handlers/main.yml",
    "ansible/roles/redis/meta/main.yml",
    "ansible/roles/redis/templates/redis.conf.j2",
    "ansible/roles/redis/templates/redis-guard.conf.j2",
    "ansible/roles/redis/templates/sysctl.conf.j2",
    "ansible/roles/redis/templates/redis-metrics.service.j2",
    "ansible/roles/redis/templates/redis-metrics.timer.j2",
    "ansible/roles/redis/templates/redis-metrics.env.j2",
    "ansible/roles/redis/templates/redis-backup.service.j2",
    "ansible/roles/redis/templates/redis-backup.timer.j2",
    "ansible/roles/redis/templates/redis-backup.env.j2",
    "ansible/roles/redis/templates/redis-backup.aws-config.j2",
    "ansible/roles/redis/templates/redis-tls.service.j2",
    "ansible/roles/redis/templates/redis-tls.timer.j2",
    "ansible/roles/redis/files/infragen_resp.py",
    "ansible/roles/redis/files/redis_admin.py",
    "ansible/roles/redis/files/redis_switch.py",
    "ansible/roles/redis/files/redis_metrics.py",
    "ansible/roles/redis/files/redis_backup.py",
    "ansible/roles/redis/files/redis_restore.py",
    "ansible/roles/redis/files/redis_tls.py",
    "ansible/roles/redis/files/redis_verify.py",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_output_is_embedded_and_every_embedded_file_is_written() {
        let written: Vec<&str> = OUTPUTS
            .iter()
            .filter(|o| matches!(o.source, Body::File))
            .map(|o| o.path)
            .collect();
        let embedded: Vec<&str> = FILES.iter().map(|(n, _)| *n).collect();
        assert_eq!(written, embedded);
        for o in OUTPUTS {
            if let Body::MiniJinja(t) = o.source {
                assert!(
                    TEMPLATES.iter().any(|(n, _)| *n == t),
                    "{t} is not embedded"
                );
            }
        }
    }
}
