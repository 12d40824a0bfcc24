//! Monitoring: the CloudWatch namespace of the host's metrics, the alarm thresholds and
//! period, and where notifications go.

use super::resolver::Resolver;
use super::syntax::is_sns_arn;
use crate::diag::Code;
use crate::model::Monitoring;
use crate::rules::{INTERVAL_SECONDS, MEMORY_ALERT_PERCENT};

impl Resolver<'_> {
    pub(super) fn monitoring(&mut self) -> Option<Monitoring> {
        let namespace = self.or(
            "monitoring.namespace",
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
        let topic = self.pick("monitoring.sns_topic_arn", |l| {
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
        Some(Monitoring {
            namespace: ok.then_some(namespace)?,
            memory_alert_percent: pct?,
            interval_seconds: interval?,
            sns_topic_arn: topic,
        })
    }
}
