//! Persistence: RDB snapshot rules, the append-only file and its fsync policy.

use super::resolver::Resolver;
use crate::blueprint::{Int, Sp};
use crate::diag::{Code, Pos};
use crate::field::Field;
use crate::model::{Snapshot, Val};
use crate::rules::{AppendFsync, SAVE_NUMBER};

/// The persistence part of the `redis` section.
pub(super) struct Persistence {
    pub snapshots: Val<Vec<Snapshot>>,
    pub aof: Val<bool>,
    pub appendfsync: Val<AppendFsync>,
}

/// Redis 7's default `save` rules (used when the blueprint gives none).
const DEFAULT_SNAPSHOTS: [Snapshot; 3] = [
    Snapshot {
        after_seconds: 3600,
        min_changes: 1,
    },
    Snapshot {
        after_seconds: 300,
        min_changes: 100,
    },
    Snapshot {
        after_seconds: 60,
        min_changes: 10000,
    },
];

impl Resolver<'_> {
    pub(super) fn persistence(&mut self) -> Option<Persistence> {
        let snapshots = self.snapshots();
        let aof = self.or(
            Field::Aof,
            |l| l.redis.as_ref()?.persistence.as_ref()?.aof.as_ref(),
            true,
        );
        let raw = self.or(
            Field::Appendfsync,
            |l| l.redis.as_ref()?.persistence.as_ref()?.appendfsync.as_ref(),
            AppendFsync::EverySec.as_str().to_string(),
        );
        let appendfsync = self
            .one_of(Code::Fsync, &raw, AppendFsync::NAMES, |v| {
                format!("`{v}` is not an appendfsync mode")
            })
            .then(|| AppendFsync::parse(&raw.value))
            .flatten()
            .map(|f| raw.map(|_| f));
        Some(Persistence {
            snapshots: snapshots?,
            aof,
            appendfsync: appendfsync?,
        })
    }

    /// `save <after_seconds> <min_changes>` rules; `[]` turns RDB off.
    fn snapshots(&mut self) -> Option<Val<Vec<Snapshot>>> {
        let Some(v) = self.pick(Field::RdbSnapshots, |l| {
            l.redis
                .as_ref()?
                .persistence
                .as_ref()?
                .rdb_snapshots
                .as_ref()
        }) else {
            return Some(self.default(Field::RdbSnapshots, DEFAULT_SNAPSHOTS.to_vec()));
        };
        let mut out = Vec::new();
        let mut ok = true;
        for rule in &v.value {
            let mut number = |n: &Sp<Int>, what: &str| -> Option<u64> {
                let good = u64::try_from(n.value.0)
                    .ok()
                    .filter(|_| SAVE_NUMBER.accepts(n.value.0));
                if good.is_none() {
                    self.err_at(
                        Code::SaveRule,
                        Pos::of(&n.referenced),
                        v.path(),
                        format!(
                            "`{what}` must be from {} to {}, not {}",
                            SAVE_NUMBER.min, SAVE_NUMBER.max, n.value.0
                        ),
                        SAVE_NUMBER.help,
                    );
                }
                good
            };
            let after_seconds = number(&rule.after_seconds, "after_seconds");
            let min_changes = number(&rule.min_changes, "min_changes");
            match (after_seconds, min_changes) {
                (Some(after_seconds), Some(min_changes)) => out.push(Snapshot {
                    after_seconds,
                    min_changes,
                }),
                _ => ok = false,
            }
        }
        ok.then(|| v.map(|_| out))
    }
}
