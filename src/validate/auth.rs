//! The AUTH password and its secret: length and character set of the generated
//! password, the Secrets Manager secret's name, recovery window and KMS key.

use super::resolver::Resolver;
use super::syntax::{is_kms_arn, is_secret_name};
use crate::diag::Code;
use crate::field::Field;
use crate::model::Val;
use crate::rules::{PASSWORD_LENGTH, SECRET_RECOVERY_DAYS};

/// The auth part of the `redis` section.
pub(super) struct Auth {
    pub password_length: Val<u32>,
    pub password_specials: Val<bool>,
    pub secret_name: Val<String>,
    pub secret_recovery_days: Val<u32>,
    pub kms_key_arn: Option<Val<String>>,
    pub shared_password: Val<bool>,
}

impl Resolver<'_> {
    pub(super) fn auth(&mut self) -> Option<Auth> {
        let password_length = self.int(
            &PASSWORD_LENGTH,
            Code::PasswordLength,
            |l| l.redis.as_ref()?.auth.as_ref()?.password_length.as_ref(),
            |n| format!("password length {n} is out of range"),
        );
        let password_specials = self.or(
            Field::AuthPasswordSpecials,
            |l| l.redis.as_ref()?.auth.as_ref()?.password_specials.as_ref(),
            false,
        );
        let secret_name = self.or(
            Field::AuthSecretName,
            |l| l.redis.as_ref()?.auth.as_ref()?.secret_name.as_ref(),
            format!("{}/{}/redis-password", self.name, self.env),
        );
        let name_ok = self.ensure(
            is_secret_name(&secret_name.value),
            Code::SecretName,
            &secret_name,
            || {
                format!(
                    "`{}` is not a valid Secrets Manager secret name",
                    secret_name.value
                )
            },
            "1-512 characters: letters, digits and /_+=.@-",
        );
        let secret_recovery_days = self.int(
            &SECRET_RECOVERY_DAYS,
            Code::RecoveryDays,
            |l| {
                l.redis
                    .as_ref()?
                    .auth
                    .as_ref()?
                    .secret_recovery_days
                    .as_ref()
            },
            |n| format!("recovery window of {n} days is not allowed by Secrets Manager"),
        );
        let shared_password = self.or(
            Field::AuthSharedPassword,
            |l| l.redis.as_ref()?.auth.as_ref()?.shared_password.as_ref(),
            false,
        );
        let kms_key_arn = self.pick(Field::AuthKmsKeyArn, |l| {
            l.redis.as_ref()?.auth.as_ref()?.kms_key_arn.as_ref()
        });
        let kms_ok = match &kms_key_arn {
            Some(k) => self.ensure(
                is_kms_arn(&k.value),
                Code::KmsArn,
                k,
                || format!("`{}` is not a KMS key ARN", k.value),
                "`arn:aws:kms:<region>:<account>:key/<key-id>`",
            ),
            None => true,
        };
        if !(name_ok && kms_ok) {
            return None;
        }
        Some(Auth {
            password_length: password_length?,
            password_specials,
            secret_name,
            secret_recovery_days: secret_recovery_days?,
            kms_key_arn,
            shared_password,
        })
    }
}
