//! Off-host backups of a self-hosted Redis: the bucket (the blueprint's, or one
//! infragen creates with a name derived from `name`, the environment and the account),
//! the interval, the retention, and when the age alarm fires.

use super::resolver::Resolver;
use super::syntax::{is_bucket_name, is_slug};
use crate::diag::Code;
use crate::field::Field;
use crate::model::Backup;
use crate::rules::{
    BACKUP_INTERVAL_HOURS, BACKUP_MAX_AGE_HOURS, BACKUP_MAX_AGE_SLACK_HOURS, BACKUP_RETENTION_DAYS,
    ENV_NAME_MAX, GENERATED_BUCKET_INFIX, NAME_MAX,
};

impl Resolver<'_> {
    /// The environment's backups, or `Ok(None)` when they are off.
    pub(super) fn backup(&mut self) -> Result<Option<Backup>, ()> {
        let enabled = self.or(
            Field::BackupEnabled,
            |l| l.backup.as_ref()?.enabled.as_ref(),
            true,
        );
        if !enabled.value {
            return Ok(None);
        }
        let bucket = self.pick(Field::BackupBucket, |l| l.backup.as_ref()?.bucket.as_ref());
        let interval = self.int::<u32>(
            &BACKUP_INTERVAL_HOURS,
            Code::BackupSchedule,
            |l| l.backup.as_ref()?.interval_hours.as_ref(),
            |n| format!("{n} hours is not a backup interval"),
        );
        let retention = self.int::<u32>(
            &BACKUP_RETENTION_DAYS,
            Code::BackupSchedule,
            |l| l.backup.as_ref()?.retention_days.as_ref(),
            |n| format!("{n} days is not a backup retention"),
        );
        let age_raw = self.pick(Field::BackupMaxAgeHours, |l| {
            l.backup.as_ref()?.max_age_hours.as_ref()
        });
        let mut ok = true;
        let max_age = match (&age_raw, &interval) {
            (Some(_), _) => self.int::<u32>(
                &BACKUP_MAX_AGE_HOURS,
                Code::BackupSchedule,
                |l| l.backup.as_ref()?.max_age_hours.as_ref(),
                |n| format!("{n} hours is not a backup age alarm"),
            ),
            (None, Some(i)) => Some(self.default(
                Field::BackupMaxAgeHours,
                i.value + BACKUP_MAX_AGE_SLACK_HOURS as u32,
            )),
            (None, None) => None,
        };
        if let (Some(age), Some(i)) = (&max_age, &interval) {
            ok &= self.ensure(
                age.value > i.value,
                Code::BackupSchedule,
                age,
                || {
                    format!(
                        "a backup age alarm at {} hours would fire between two backups {} hours apart",
                        age.value, i.value
                    )
                },
                &format!("more hours than {}", Field::BackupIntervalHours),
            );
        }
        match &bucket {
            Some(b) => {
                ok &= self.ensure(
                    is_bucket_name(&b.value),
                    Code::BackupBucket,
                    b,
                    || format!("`{}` is not an S3 bucket name", b.value),
                    "3-63 lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit",
                );
            }
            None => {
                let generated = format!(
                    "{}-{}{GENERATED_BUCKET_INFIX}123456789012",
                    self.name, self.env
                );
                // A bad `name` or environment name is reported on its own; only the
                // length of two good ones is this rule's business.
                let parts_ok = is_slug(self.name, NAME_MAX) && is_slug(self.env, ENV_NAME_MAX);
                if parts_ok && !is_bucket_name(&generated) {
                    let env_pos = self.env_pos;
                    self.err_at(
                        Code::BackupBucket,
                        env_pos,
                        format!("environments.{}", self.env),
                        format!(
                            "the backup bucket infragen would create, `{}-{}{GENERATED_BUCKET_INFIX}<account id>`, is {} characters; S3 allows 63",
                            self.name,
                            self.env,
                            generated.len()
                        ),
                        &format!("a shorter `name` or environment name, or `{}` naming an existing bucket", Field::BackupBucket),
                    );
                    ok = false;
                }
            }
        }
        if !ok {
            return Err(());
        }
        match (interval, retention, max_age) {
            (Some(interval_hours), Some(retention_days), Some(max_age_hours)) => Ok(Some(Backup {
                bucket,
                interval_hours,
                retention_days,
                max_age_hours,
            })),
            _ => Err(()),
        }
    }
}
