//! The committed generated/ tree is exactly what the shipped blueprint produces.

use crate::common::repo;

#[test]
fn committed_generated_tree_is_current() {
    let root = repo();
    let model = infragen::load::load(&root.join("blueprints/redis-on-asterisk.yaml"))
        .unwrap_or_else(|e| panic!("{}", e.render()));
    // Markers name the blueprint relative to the repo, as `infragen gen` run there does.
    let model = infragen::model::Model {
        source: "blueprints/redis-on-asterisk.yaml".into(),
        ..model
    };
    let files = infragen::render::render(&model).expect("render");
    let plan = infragen::sync::plan(&root.join("generated"), &files).expect("read generated/");
    assert!(
        plan.is_clean(),
        "generated/ is stale; run `cargo run -- gen`.\n{}\n{}",
        plan.status("generated"),
        plan.diff("generated")
    );
}
