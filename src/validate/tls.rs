//! Encryption in transit on the host: whether TLS is on, the server certificate's
//! lifetime, and the plaintext port a migration keeps open beside it.

use super::resolver::Resolver;
use crate::diag::Code;
use crate::field::Field;
use crate::model::Val;
use crate::rules::{PORT, TLS_CERT_DAYS};

/// The tls part of the `redis` section.
pub(super) struct Tls {
    pub enabled: Val<bool>,
    pub cert_days: Val<u32>,
    pub plaintext_port: Option<Val<u16>>,
}

impl Resolver<'_> {
    /// `redis.tls`, checked against the TLS port (`redis.port`) when it is valid.
    pub(super) fn tls(&mut self, port: Option<&Val<u16>>) -> Option<Tls> {
        let enabled = self.or(
            Field::TlsEnabled,
            |l| l.redis.as_ref()?.tls.as_ref()?.enabled.as_ref(),
            true,
        );
        let cert_days = self.int(
            &TLS_CERT_DAYS,
            Code::TlsCertDays,
            |l| l.redis.as_ref()?.tls.as_ref()?.cert_days.as_ref(),
            |n| format!("a certificate valid for {n} days is out of range"),
        );
        let raw = self.pick(Field::TlsPlaintextPort, |l| {
            l.redis.as_ref()?.tls.as_ref()?.plaintext_port.as_ref()
        });
        let mut ok = true;
        let plaintext_port = match raw {
            None => None,
            Some(raw) => {
                let raw = raw.map(|i| i.0);
                let help = "a port other than the TLS port (1024 to 65535), only with `tls.enabled: true`: during a move to TLS, the port consumers use today, with the TLS port moved to a new one; remove it once every consumer connects with TLS";
                match u16::try_from(raw.value)
                    .ok()
                    .filter(|_| PORT.accepts(raw.value))
                {
                    None => {
                        self.err(
                            Code::PlaintextPort,
                            &raw,
                            format!("plaintext port {} is out of range", raw.value),
                            help,
                        );
                        ok = false;
                        None
                    }
                    Some(p) if !enabled.value => {
                        self.err(
                            Code::PlaintextPort,
                            &raw,
                            format!(
                                "plaintext port {p} is set but TLS is off: the port is already plaintext"
                            ),
                            help,
                        );
                        ok = false;
                        None
                    }
                    Some(p) if port.is_some_and(|t| t.value == p) => {
                        self.err(
                            Code::PlaintextPort,
                            &raw,
                            format!(
                                "plaintext port {p} is the TLS port: Redis cannot serve both on one port"
                            ),
                            help,
                        );
                        ok = false;
                        None
                    }
                    Some(p) => Some(raw.map(|_| p)),
                }
            }
        };
        let cert_days = cert_days?;
        ok.then_some(Tls {
            enabled,
            cert_days,
            plaintext_port,
        })
    }
}
