//! The committed generated/ tree is exactly what the shipped blueprint produces.

use crate::common::{SHIPPED, model, repo};

#[test]
fn committed_generated_tree_is_current() {
    let root = repo();
    // Markers name the blueprint relative to the repo, as `infragen gen` run there does.
    let model = model(SHIPPED);
    let files = infragen::render::render(&model).expect("render");
    let plan = infragen::sync::plan(&root.join("generated"), &files).expect("read generated/");
    let mut report = Vec::new();
    let impact = infragen::commands::impact_of(&model, &plan);
    infragen::report::human::check(
        &plan,
        Some(&impact),
        "generated",
        SHIPPED,
        "cargo run -- gen",
        &mut report,
    )
    .unwrap();
    assert!(
        plan.is_clean(),
        "generated/ is stale; run `cargo run -- gen`.\n{}",
        String::from_utf8_lossy(&report)
    );
}
