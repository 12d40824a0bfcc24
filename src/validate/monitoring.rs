//! Monitoring: the CloudWatch namespace of the host's metrics, the alarm thresholds and
//! period, and where notifications go.

use super::resolver::{Resolver, item_pos};
use super::syntax::{is_email, is_https_url, is_kms_arn, is_sns_arn};
use crate::diag::Code;
use crate::field::Field;
use crate::model::{Monitoring, Subscription};
use crate::rules::{
    CONNECTIONS_ALERT, CPU_ALERT_PERCENT, HIT_RATE_ALERT_PERCENT, INTERVAL_SECONDS,
    LATENCY_ALERT_USEC, MEMORY_ALERT_PERCENT,
};

impl Resolver<'_> {
    pub(super) fn monitoring(&mut self) -> Option<Monitoring> {
        let namespace = self.or(
            Field::MonNamespace,
            |l| l.monitoring.as_ref()?.namespace.as_ref(),
            "Infragen/Redis".to_string(),
        );
        let pct = self.int(
            &MEMORY_ALERT_PERCENT,
            Code::AlertPercent,
            |l| l.monitoring.as_ref()?.memory_alert_percent.as_ref(),
            |n| format!("{n}% is not a percentage of maxmemory"),
        );
        let interval = self.int(
            &INTERVAL_SECONDS,
            Code::Interval,
            |l| l.monitoring.as_ref()?.interval_seconds.as_ref(),
            |n| format!("{n} seconds is not a metric period"),
        );
        let topic = self.pick(Field::MonSnsTopicArn, |l| {
            l.monitoring.as_ref()?.sns_topic_arn.as_ref()
        });
        let mut ok = true;
        let ns_ok = !namespace.value.is_empty()
            && namespace.value.len() <= 255
            && !namespace.value.starts_with("AWS/")
            && namespace
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-/#:".contains(c));
        if !ns_ok {
            self.err(
                Code::Namespace,
                &namespace,
                format!("`{}` is not a custom CloudWatch namespace", namespace.value),
                "letters, digits and ._-/#: (not starting with AWS/), e.g. `VoiceCampaign/Redis`",
            );
            ok = false;
        }
        if let Some(t) = &topic
            && !is_sns_arn(&t.value)
        {
            self.err(
                Code::SnsArn,
                t,
                format!("`{}` is not an SNS topic ARN", t.value),
                "`arn:aws:sns:<region>:<account>:<topic>`, or leave it out to create a topic",
            );
            ok = false;
        }
        let latency = self.int(
            &LATENCY_ALERT_USEC,
            Code::Threshold,
            |l| l.monitoring.as_ref()?.latency_alert_usec.as_ref(),
            |n| format!("{n} microseconds is not a latency alarm threshold"),
        );
        let hit_rate = self.int(
            &HIT_RATE_ALERT_PERCENT,
            Code::Threshold,
            |l| l.monitoring.as_ref()?.hit_rate_alert_percent.as_ref(),
            |n| format!("{n}% is not a hit rate"),
        );
        let cpu = self.int(
            &CPU_ALERT_PERCENT,
            Code::Threshold,
            |l| l.monitoring.as_ref()?.cpu_alert_percent.as_ref(),
            |n| format!("{n}% is not a CPU alarm threshold"),
        );
        let connections = self.int(
            &CONNECTIONS_ALERT,
            Code::Threshold,
            |l| l.monitoring.as_ref()?.connections_alert.as_ref(),
            |n| format!("{n} connections is not a connection alarm threshold"),
        );
        let key = self.pick(Field::MonSnsKmsKeyArn, |l| {
            l.monitoring.as_ref()?.sns_kms_key_arn.as_ref()
        });
        if let Some(k) = &key {
            ok &= self.ensure(
                is_kms_arn(&k.value),
                Code::KmsArn,
                k,
                || format!("`{}` is not a KMS key ARN", k.value),
                "`arn:aws:kms:<region>:<account>:key/<key-id>`, a key whose policy lets cloudwatch.amazonaws.com use it",
            );
        }
        let notify = self.notify(topic.is_some());
        Some(Monitoring {
            namespace: ok.then_some(namespace)?,
            memory_alert_percent: pct?,
            interval_seconds: interval?,
            sns_topic_arn: topic,
            notify: notify?,
            sns_kms_key_arn: key,
            latency_alert_usec: latency?,
            hit_rate_alert_percent: hit_rate?,
            cpu_alert_percent: cpu?,
            connections_alert: connections?,
        })
    }

    /// Who gets the alarms: required unless the blueprint names a topic of its own.
    fn notify(&mut self, own_topic: bool) -> Option<crate::model::Val<Vec<Subscription>>> {
        let raw = self.or(
            Field::MonNotify,
            |l| l.monitoring.as_ref()?.notify.as_ref(),
            Vec::new(),
        );
        if raw.value.is_empty() && !own_topic {
            let env_pos = self.env_pos;
            let at = raw.pos().unwrap_or(env_pos);
            self.err_at(
                Code::NotifyNobody,
                at,
                raw.path(),
                format!(
                    "environment `{}`: the alarms would notify nobody: `{}` is empty and no `{}` is set",
                    self.env,
                    Field::MonNotify,
                    Field::MonSnsTopicArn
                ),
                "`notify: [oncall@example.com]` (email addresses or https:// endpoints), or the ARN of a topic with subscribers",
            );
            return None;
        }
        let mut ok = true;
        let mut out: Vec<Subscription> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for item in &raw.value {
            let v = &item.value;
            let protocol = if is_email(v) {
                "email"
            } else if is_https_url(v) {
                "https"
            } else {
                self.err_at(
                    Code::Notify,
                    item_pos(item, &raw),
                    raw.path(),
                    format!("`{v}` is not an email address or an https:// URL"),
                    "`oncall@example.com` or `https://events.example.com/redis`",
                );
                ok = false;
                continue;
            };
            if !seen.insert(v.clone()) {
                self.err_at(
                    Code::Notify,
                    item_pos(item, &raw),
                    raw.path(),
                    format!("`{v}` is listed twice"),
                    "each address once",
                );
                ok = false;
                continue;
            }
            out.push(Subscription {
                protocol,
                endpoint: v.clone(),
            });
        }
        ok.then(|| raw.map(|_| out))
    }
}
