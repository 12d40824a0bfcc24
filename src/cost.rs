//! The cost report: what each environment would pay on ElastiCache, against what it
//! adds on the existing host. Shared by `docs/REDIS_COST.md` and `infragen cost`, so the
//! two always agree.

use crate::aws::{CACHE_PRICES_AS_OF, HOURS_PER_MONTH};
use crate::field::Field;
use crate::model::{Env, Mode, Model, Origin};
use std::fmt::Write as _;

/// One environment's line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub env: String,
    pub mode: Mode,
    pub node_type: String,
    pub nodes: u32,
    pub hourly_usd: f64,
    /// Whether the blueprint overrode the price table.
    pub price_from_blueprint: bool,
    /// node-hour price x nodes x 730 hours, in cents.
    pub elasticache_monthly_cents: u64,
    /// What the environment adds per month as configured, in cents.
    pub added_monthly_cents: u64,
}

pub fn rows(model: &Model) -> Vec<Row> {
    model.envs.iter().map(row).collect()
}

/// One environment's line (each is independent of the others: callers that need one
/// environment's figure do not build the whole table).
pub fn row(e: &Env) -> Row {
    let s = &e.sizing;
    let monthly =
        (s.hourly_usd() * f64::from(s.nodes.value) * HOURS_PER_MONTH * 100.0).round() as u64;
    Row {
        env: e.name.clone(),
        mode: e.mode.value,
        node_type: s.node_type.value.clone(),
        nodes: s.nodes.value,
        hourly_usd: s.hourly_usd(),
        price_from_blueprint: !matches!(s.hourly_price_usd.origin, Origin::Default),
        elasticache_monthly_cents: monthly,
        added_monthly_cents: if e.mode.value == Mode::ElastiCache {
            monthly
        } else {
            0
        },
    }
}

fn dollars(cents: u64) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}

/// The report as a Markdown table with totals and the price source.
pub fn table(model: &Model) -> String {
    let rows = rows(model);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| Environment | Redis runs on | ElastiCache equivalent | USD per node-hour | ElastiCache per month | Added per month now |"
    );
    let _ = writeln!(s, "| --- | --- | --- | --- | --- | --- |");
    for r in &rows {
        let runs_on = match r.mode {
            Mode::SelfHosted => "Asterisk host",
            Mode::ElastiCache => "ElastiCache",
        };
        let price = format!(
            "{:.3}{}",
            r.hourly_usd,
            if r.price_from_blueprint {
                " (blueprint)"
            } else {
                ""
            }
        );
        let added = match r.mode {
            Mode::SelfHosted => format!("{} (existing host)", dollars(0)),
            Mode::ElastiCache => dollars(r.added_monthly_cents),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} x {} | {} | {} | {} |",
            r.env,
            runs_on,
            r.nodes,
            r.node_type,
            price,
            dollars(r.elasticache_monthly_cents),
            added
        );
    }
    let all: u64 = rows.iter().map(|r| r.elasticache_monthly_cents).sum();
    let now: u64 = rows.iter().map(|r| r.added_monthly_cents).sum();
    let saved = all - now;
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "All environments on ElastiCache: {} a month. As configured: {} a month. Saving: {} a month, {} a year.",
        dollars(all),
        dollars(now),
        dollars(saved),
        dollars(saved * 12)
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Monthly = USD per node-hour x nodes x {HOURS_PER_MONTH} hours. Prices: on-demand list prices for us-east-1 from infragen's table (recorded {CACHE_PRICES_AS_OF}; check them against AWS's pricing page for your region), unless the blueprint sets `{}`. Self-hosted Redis adds no instance cost (it uses the Asterisk host's spare memory); data transfer and snapshots storage are not counted.",
        Field::EcHourlyPriceUsd
    );
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn dollars_round_to_cents() {
        assert_eq!(super::dollars(1241), "$12.41");
        assert_eq!(super::dollars(5), "$0.05");
        // cache.t3.micro at $0.017/h: 12.41 a month, 24.82 for two nodes.
        assert_eq!((0.017f64 * 730.0 * 100.0).round() as u64, 1241);
        assert_eq!((0.017f64 * 2.0 * 730.0 * 100.0).round() as u64, 2482);
    }
}
