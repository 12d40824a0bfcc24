//! Why checkov checks are skipped in the generated Terraform: each skip is written into
//! the resource it concerns with its reason (`ID:reason`), naming the blueprint's fields,
//! so that a reviewer reads the decision where it applies and checkov stays clean only
//! for the reasons stated.

use crate::field::Field;
use crate::model::Model;

/// Why checkov's customer-KMS-key check (CKV_AWS_149) is skipped, when it is: the
/// blueprint names no key for some environment, so the AWS-managed key is used there.
pub(super) fn kms_skip(model: &Model) -> Option<String> {
    let without: Vec<&str> = model
        .envs
        .iter()
        .filter(|e| e.redis.kms_key_arn.is_none())
        .map(|e| e.name.as_str())
        .collect();
    (!without.is_empty()).then(|| {
        format!(
            "The blueprint names no customer KMS key for {} so the AWS-managed key aws/secretsmanager encrypts the secret (set {} to use one)",
            without.join(", "),
            Field::AuthKmsKeyArn
        )
    })
}

/// Why the TLS CA parameter is a String, not a SecureString (CKV2_AWS_34).
pub(super) const SSM_CA_SKIP: &str = "The parameter holds CA certificates, public trust material with no secret in it; a String lets every consumer read it without a KMS grant";

/// checkov checks on the replication group that depend on per-environment choices, each
/// with the reason (`ID:reason`). They name the blueprint's fields, not the environments
/// now in ElastiCache mode, so that the module code stays the same through a cut-over.
pub(super) fn elasticache_skips(model: &Model) -> Vec<String> {
    let mut skips = Vec::new();
    let without_kms: Vec<&str> = model
        .envs
        .iter()
        .filter(|e| e.redis.kms_key_arn.is_none())
        .map(|e| e.name.as_str())
        .collect();
    if !without_kms.is_empty() {
        skips.push(format!(
            "CKV_AWS_191:The blueprint names no customer KMS key ({}) for {} so ElastiCache encrypts at rest with its AWS-managed key there",
            Field::AuthKmsKeyArn,
            without_kms.join(", ")
        ));
    }
    skips.push(format!("CKV2_AWS_50:Multi-AZ follows each environment's {} (impossible with one node); a cache miss falls back to PostgreSQL", Field::EcMultiAz));
    skips.push(format!("CKV_AWS_134:Snapshots follow each environment's {} (0 turns them off); the cache repopulates from PostgreSQL", Field::EcSnapshotRetentionDays));
    skips
}
