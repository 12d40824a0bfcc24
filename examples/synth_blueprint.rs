//! Bench helper: prints a valid blueprint with N environments (default 10), derived from
//! the shipped one, so benchmarks can measure how gen and check scale.
//!
//!     cargo run --release --example synth_blueprint -- 1000 > /tmp/bp-1000.yaml
use std::fmt::Write as _;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    let shipped = include_str!("../blueprints/redis-on-asterisk.yaml");
    let base = shipped
        .split("\nenvironments:")
        .next()
        .expect("the shipped blueprint has environments");
    let mut out = String::with_capacity(base.len() + n * 200);
    out.push_str(base);
    out.push_str("\nenvironments:\n");
    for i in 0..n {
        // Distinct /24 VPCs inside 10.0.0.0/8 and alternating memory sizes.
        let (a, b) = (i / 256, i % 256);
        let _ = write!(
            out,
            "  e{i:04}:\n    aws:\n      vpc_cidr: 10.{a}.{b}.0/24\n    redis:\n      memory:\n        max: {}mb\n",
            if i % 2 == 0 { 256 } else { 512 }
        );
    }
    print!("{out}");
}
