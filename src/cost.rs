//! The cost report: what each environment would pay on ElastiCache, against what it
//! adds on the existing host. Shared by `docs/REDIS_COST.md` and `infragen cost`, so the
//! two always agree.

use crate::aws::{
    CACHE_PRICES_AS_OF, HOURS_PER_MONTH, VALKEY_PRICES_AS_OF, cache_price, valkey_cache_price,
};
use crate::field::Field;
use crate::model::{Env, Mode, Model, Origin};
use crate::rules::Engine;
use std::fmt::Write as _;

/// One environment's line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub env: String,
    pub mode: Mode,
    pub engine: Engine,
    pub node_type: String,
    pub nodes: u32,
    pub hourly_usd: f64,
    /// Whether the blueprint overrode the price table.
    pub price_from_blueprint: bool,
    /// node-hour price x nodes x 730 hours, in cents.
    pub elasticache_monthly_cents: u64,
    /// What the environment adds per month as configured, in cents.
    pub added_monthly_cents: u64,
    /// Its nodes on ElastiCache at the price table's Redis OSS and Valkey prices, per
    /// month, in cents: what the engine choice costs (whatever the blueprint's price).
    pub redis_oss_monthly_cents: u64,
    pub valkey_monthly_cents: u64,
}

/// node-hour price x nodes x 730 hours, in cents.
fn monthly_cents(hourly_usd: f64, nodes: u32) -> u64 {
    (hourly_usd * f64::from(nodes) * HOURS_PER_MONTH * 100.0).round() as u64
}

pub fn rows(model: &Model) -> Vec<Row> {
    model.envs.iter().map(row).collect()
}

/// One environment's line (each is independent of the others: callers that need one
/// environment's figure do not build the whole table).
pub fn row(e: &Env) -> Row {
    let s = &e.sizing;
    let monthly = monthly_cents(s.hourly_usd(), s.nodes.value);
    // Every node type in the table has both prices (aws's unit test).
    let table = |price: fn(&str) -> Option<f64>| {
        price(&s.node_type.value).map_or(0, |p| monthly_cents(p, s.nodes.value))
    };
    Row {
        env: e.name.clone(),
        mode: e.mode.value,
        engine: e.redis.engine.value,
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
        redis_oss_monthly_cents: table(cache_price),
        valkey_monthly_cents: table(valkey_cache_price),
    }
}

/// A node-hour price with the digits it has (0.017, 0.0136).
fn hourly(usd: f64) -> String {
    let s = format!("{usd:.4}");
    match s.strip_suffix('0') {
        Some(short) => short.to_string(),
        None => s,
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
        "| Environment | Redis runs on | Engine | ElastiCache equivalent | USD per node-hour | ElastiCache per month | Added per month now |"
    );
    let _ = writeln!(s, "| --- | --- | --- | --- | --- | --- | --- |");
    for r in &rows {
        let runs_on = match r.mode {
            Mode::SelfHosted => "Asterisk host",
            Mode::ElastiCache => "ElastiCache",
        };
        let price = format!(
            "{}{}",
            hourly(r.hourly_usd),
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
            "| {} | {} | {} | {} x {} | {} | {} | {} |",
            r.env,
            runs_on,
            r.engine.title(),
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
    engine_choice(&mut s, &rows);
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Monthly = USD per node-hour x nodes x {HOURS_PER_MONTH} hours. Prices: on-demand list prices for us-east-1 from infragen's table (recorded {CACHE_PRICES_AS_OF}; check them against AWS's pricing page for your region), unless the blueprint sets `{}`; Valkey's are 20% below Redis OSS's per node (recorded {VALKEY_PRICES_AS_OF}, AWS's ElastiCache pricing page), and the engine comparison always uses the table. Self-hosted Redis or Valkey adds no instance cost (it uses the Asterisk host's spare memory, and both servers are free software); data transfer and snapshots storage are not counted.",
        Field::EcHourlyPriceUsd
    );
    s
}

/// What the engine choice costs on ElastiCache, per environment, and the saving of
/// Valkey over Redis OSS.
fn engine_choice(s: &mut String, rows: &[Row]) {
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "The engine on ElastiCache (`{}`): the same nodes cost less on Valkey.",
        Field::RedisEngine
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "| Environment | Engine | Redis OSS on ElastiCache per month | Valkey on ElastiCache per month | Valkey saves per month |"
    );
    let _ = writeln!(s, "| --- | --- | --- | --- | --- |");
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            r.env,
            r.engine.title(),
            dollars(r.redis_oss_monthly_cents),
            dollars(r.valkey_monthly_cents),
            dollars(
                r.redis_oss_monthly_cents
                    .saturating_sub(r.valkey_monthly_cents)
            )
        );
    }
    let saving = |r: &&Row| {
        r.redis_oss_monthly_cents
            .saturating_sub(r.valkey_monthly_cents)
    };
    let on_cache: Vec<&Row> = rows
        .iter()
        .filter(|r| r.mode == Mode::ElastiCache)
        .collect();
    let _ = writeln!(s);
    for (engine, said) in [
        (
            Engine::Valkey,
            "Valkey already saves, over Redis OSS, on the environments on ElastiCache",
        ),
        (
            Engine::Redis,
            "Valkey would save, on the environments on ElastiCache that run Redis OSS",
        ),
    ] {
        let these: Vec<&&Row> = on_cache.iter().filter(|r| r.engine == engine).collect();
        if these.is_empty() {
            continue;
        }
        let cents: u64 = these.iter().map(|r| saving(r)).sum();
        let names: Vec<&str> = these.iter().map(|r| r.env.as_str()).collect();
        let _ = writeln!(
            s,
            "{said} ({}): {} a month, {} a year.",
            names.join(", "),
            dollars(cents),
            dollars(cents * 12)
        );
    }
    if on_cache.is_empty() {
        let all: u64 = rows.iter().map(|r| saving(&r)).sum();
        let _ = writeln!(
            s,
            "No environment is on ElastiCache: on the host the engine costs nothing either way. On ElastiCache, Valkey would save {} a month over Redis OSS for all of them.",
            dollars(all)
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hourly_prices_keep_their_digits() {
        assert_eq!(super::hourly(0.017), "0.017");
        assert_eq!(super::hourly(0.0136), "0.0136");
        assert_eq!(super::hourly(0.2), "0.200");
        // cache.t3.micro on Valkey: $0.0136/h, 9.93 a month against Redis OSS's 12.41.
        assert_eq!(super::monthly_cents(0.0136, 1), 993);
        assert_eq!(super::monthly_cents(0.017, 1), 1241);
    }

    #[test]
    fn dollars_round_to_cents() {
        assert_eq!(super::dollars(1241), "$12.41");
        assert_eq!(super::dollars(5), "$0.05");
        // cache.t3.micro at $0.017/h: 12.41 a month, 24.82 for two nodes.
        assert_eq!((0.017f64 * 730.0 * 100.0).round() as u64, 1241);
        assert_eq!((0.017f64 * 2.0 * 730.0 * 100.0).round() as u64, 2482);
    }
}
