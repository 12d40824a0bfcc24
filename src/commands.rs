//! The commands, one function each: run the pipeline, decide the [`Outcome`], and hand
//! what happened to the output layer (`crate::report`). Nothing here prints by itself
//! or picks an exit code.

use crate::error::{Error, Outcome};
use crate::field::Field;
use crate::impact::Impact;
use crate::load::display_path;
use crate::model::Model;
use crate::pipeline;
use crate::render;
use crate::report::safe::Safe;
use crate::report::{self, Format, human};
use crate::sync::{self, Plan};
use std::io::Write;
use std::path::Path;

/// What a command writes to: the report, and problems. Both escape whatever is written
/// to them ([`Safe`]): a report quotes the tree, the blueprint and the command line.
pub struct Streams<'a> {
    pub out: Safe<'a>,
    pub err: Safe<'a>,
}

/// Maps a failed write of the report. A reader that went away (`infragen check |
/// head`) is not a failure of the command: the rest of the report is dropped and the
/// command ends with the outcome it reached.
fn wrote(r: std::io::Result<()>) -> Result<(), Error> {
    match r {
        Err(e) if crate::error::is_closed_pipe(&e) => Ok(()),
        r => r.map_err(Error::Output),
    }
}

/// `validate`: load and validate only.
pub fn validate(blueprint: &Path, format: Format, s: &mut Streams) -> Result<Outcome, Error> {
    let model = pipeline::compile(blueprint)?;
    wrote(report::valid(&model, format, &mut s.out))?;
    Ok(Outcome::Success)
}

/// Refuses an output path with a symbolic link in it, unless the user asked for links
/// to be followed (see `sync::linked_component`).
fn out_without_links(dir: &Path, follow: bool) -> Result<(), Error> {
    if follow {
        return Ok(());
    }
    match sync::linked_component(dir) {
        Ok(None) => Ok(()),
        Ok(Some((link, target))) => Err(Error::LinkedOut {
            out: dir.to_path_buf(),
            link,
            target,
        }),
        Err(e) => Err(Error::io(format!("cannot read {}", display_path(dir)), e)),
    }
}

/// `check`: compare the tree with what the blueprint produces; never writes.
pub fn check(
    blueprint: &Path,
    dir: &Path,
    follow_out_links: bool,
    format: Format,
    s: &mut Streams,
) -> Result<Outcome, Error> {
    let model = pipeline::compile(blueprint)?;
    out_without_links(dir, follow_out_links)?;
    // Shared: a `gen` writing this tree meanwhile makes check fail fast instead of
    // comparing a half-written tree.
    let _lock = sync::lock(dir, false)?;
    let plan = plan_streaming(&model, blueprint, dir)?;
    let shown = display_path(dir);
    let impact = (!plan.is_clean()).then(|| impact_of(&model, &plan));
    if let Some(impact) = &impact {
        refuse_unsurvivable(impact, &model, blueprint)?;
    }
    wrote(human::ignored_manifest_entries(&plan, &shown, &mut s.err))?;
    let blueprint_shown = display_path(blueprint);
    wrote(report::check(
        &plan,
        impact.as_ref(),
        &shown,
        &blueprint_shown,
        format,
        &mut s.out,
    ))?;
    if let (Format::Github, Some(impact)) = (format, &impact) {
        job_summary(impact, &report::values_path(&shown), &blueprint_shown)?;
    }
    Ok(if plan.is_clean() {
        Outcome::Success
    } else {
        Outcome::Different
    })
}

/// The impact of writing `model` over the tree `plan` was made from: the plan's files
/// handed to [`Impact::of`] in its own terms (impact never sees a sync type).
pub fn impact_of(model: &crate::model::Model, plan: &sync::Plan) -> Impact {
    use crate::impact::{FileAction, TreeFile};
    let tree: Vec<TreeFile> = plan
        .changes
        .iter()
        .map(|c| TreeFile {
            path: &c.path,
            action: match c.action {
                sync::Action::Create => FileAction::Create,
                sync::Action::Update => FileAction::Update,
                sync::Action::Remove => FileAction::Remove,
                sync::Action::Unchanged => FileAction::Unchanged,
                sync::Action::Release => FileAction::Other,
            },
            old: c.old.as_deref(),
            unread: c.conflict.as_ref().map(sync::Conflict::reason),
        })
        .collect();
    Impact::of(model, &tree)
}

/// Stops a command before it writes or reports anything when the recorded values show
/// an environment's data cannot survive the change (IG413, `Impact::refusals`): a
/// problem of the blueprint, located in it.
fn refuse_unsurvivable(impact: &Impact, model: &Model, blueprint: &Path) -> Result<(), Error> {
    let diagnostics = impact.refusals(model);
    if diagnostics.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid {
        file: model.source.clone(),
        source: crate::load::read(blueprint)?.text,
        diagnostics,
    })
}

/// Appends the impact as a Markdown table to the file GitHub Actions names in
/// `GITHUB_STEP_SUMMARY` (shown on the run's summary page); nothing when unset.
fn job_summary(impact: &Impact, values: &str, blueprint: &str) -> Result<(), Error> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let path = std::path::PathBuf::from(path);
    let text = crate::report::impact::markdown(impact, values, blueprint);
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| {
            Error::io(
                format!("cannot write the job summary {}", path.display()),
                e,
            )
        })
}

/// Renders `model` and compares each file with the tree as it is produced, keeping only
/// what differs (memory stays small however many environments there are).
fn plan_streaming(model: &Model, blueprint: &Path, dir: &Path) -> Result<Plan, Error> {
    let io = |e| Error::io(format!("cannot read {}", dir.display()), e);
    let mut planner = sync::Planner::new(dir).map_err(io)?;
    render::render_each(model, |f| planner.add(f).map_err(sync::PlanError::from)).map_err(|e| {
        match e {
            sync::PlanError::Render(e) => render_failed(e, model, blueprint),
            sync::PlanError::Io(e) => io(e),
        }
    })?;
    planner.finish().map_err(io)
}

/// A render failure: a file too large to read back is a problem of the blueprint,
/// located at its `environments` (what makes files grow); anything else is a bug.
fn render_failed(e: render::RenderError, model: &Model, blueprint: &Path) -> Error {
    let render::RenderError::TooLarge { path, bytes } = &e else {
        return Error::Render(e);
    };
    let source = crate::load::read(blueprint)
        .map(|s| s.text)
        .unwrap_or_default();
    Error::Invalid {
        file: model.source.clone(),
        source,
        diagnostics: vec![
            crate::diag::Diagnostic::new(
                crate::diag::Code::OutputTooLarge,
                model.environments_at,
                "environments",
                format!(
                    "the blueprint would generate `{path}` of {bytes} bytes, over the {} infragen reads back from a tree: written, it could never be checked or updated",
                    render::MAX_FILE_BYTES
                ),
            )
            .help(format!(
                "fewer environments in one blueprint ({} here) or shorter lists in each ({}, {}); split the environments across blueprints, each with its own --out",
                model.envs.len(),
                Field::MonNotify,
                Field::RedisAllowedSources,
            )),
        ],
    }
}

/// `gen`: render everything, then write what changed, unless a hand edit is in the way.
pub fn gen_tree(
    blueprint: &Path,
    dir: &Path,
    follow_out_links: bool,
    force: bool,
    s: &mut Streams,
) -> Result<Outcome, Error> {
    let model = pipeline::compile(blueprint)?;
    out_without_links(dir, follow_out_links)?;
    // Rendered in full before the tree is touched: a render failure leaves nothing
    // behind, not even the output directory.
    let files = render::render(&model).map_err(|e| render_failed(e, &model, blueprint))?;
    let _lock = sync::lock(dir, true)?;
    let plan = sync::plan(dir, &files)
        .map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?;
    drop(files);
    // Before the write: the tree's recorded values are about to be replaced.
    let impact = impact_of(&model, &plan);
    refuse_unsurvivable(&impact, &model, blueprint)?;
    let shown = display_path(dir);
    wrote(human::ignored_manifest_entries(&plan, &shown, &mut s.err))?;
    let blocked = plan
        .conflicts()
        .any(|c| !c.conflict.as_ref().is_some_and(sync::Conflict::forceable));
    if blocked || (!force && plan.conflicts().next().is_some()) {
        wrote(human::refused(&plan, &shown, force, &mut s.err))?;
        return Ok(if blocked {
            Outcome::Blocked
        } else {
            Outcome::Different
        });
    }
    let summary = sync::apply(dir, &plan)
        .map_err(|e| Error::io(format!("cannot write {}", dir.display()), e))?;
    wrote(human::generated(
        &plan,
        &summary,
        &impact,
        &shown,
        &display_path(blueprint),
        &mut s.out,
    ))?;
    Ok(Outcome::Success)
}

/// `explain`: every resolved value of an environment (default: the first) with its origin.
pub fn explain(
    blueprint: &Path,
    env: Option<&str>,
    tree: Option<&Path>,
    follow_out_links: bool,
    s: &mut Streams,
) -> Result<Outcome, Error> {
    let model = pipeline::compile(blueprint)?;
    let wanted = env.unwrap_or(model.envs[0].name.as_str());
    let Some(e) = model.envs.iter().find(|e| e.name == wanted) else {
        return Err(unknown_env(&model, wanted));
    };
    let recorded = match tree {
        None => None,
        Some(dir) => {
            out_without_links(dir, follow_out_links)?;
            let path = dir.join(crate::render::values::FILE);
            let shown = display_path(&path);
            let bytes = crate::load::read_regular(&path, 4 << 20)
                .map_err(|err| Error::io(format!("cannot read {shown}"), err))?;
            let text = String::from_utf8_lossy(&bytes);
            let all = crate::render::values::parse(&text).map_err(|reason| Error::Usage {
                message: format!("{shown} is not a file of recorded values: {reason}"),
                help: None,
            })?;
            let mine = all.into_iter().find(|(name, _)| *name == e.name);
            Some((shown, mine.map(|(_, v)| v)))
        }
    };
    wrote(human::explain(&model, e, recorded.as_ref(), &mut s.out))?;
    Ok(Outcome::Success)
}

/// `cost`: the monthly cost table.
pub fn cost(blueprint: &Path, s: &mut Streams) -> Result<Outcome, Error> {
    let model = pipeline::compile(blueprint)?;
    wrote(write!(s.out, "{}", crate::cost::table(&model)))?;
    Ok(Outcome::Success)
}

/// `schema`: the blueprint's JSON Schema.
pub fn schema(s: &mut Streams) -> Result<Outcome, Error> {
    wrote(writeln!(s.out, "{}", crate::blueprint::json_schema()))?;
    Ok(Outcome::Success)
}

/// The starter blueprint `init` writes: the shipped one, which validates and generates.
const STARTER: &str = include_str!("../blueprints/redis-on-asterisk.yaml");

/// `init`: writes the starter blueprint; never overwrites.
pub fn init(path: &Path, s: &mut Streams) -> Result<Outcome, Error> {
    let shown = display_path(path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path);
    match file {
        Ok(mut f) => f
            .write_all(STARTER.as_bytes())
            .map_err(|e| Error::io(format!("cannot write {shown}"), e))?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Usage {
                message: format!(
                    "{shown} already exists; infragen init never overwrites a blueprint"
                ),
                help: None,
            });
        }
        Err(e) => return Err(Error::io(format!("cannot create {shown}"), e)),
    }
    wrote(writeln!(
        &mut s.out,
        "wrote {shown}: edit it, then run `infragen gen --blueprint {shown}`"
    ))?;
    Ok(Outcome::Success)
}

/// What `verify` was asked: which environments, how to reach them.
pub struct VerifyArgs<'a> {
    pub envs: &'a [String],
    /// The inventory, `{env}` replaced by each environment's name.
    pub inventory: Option<&'a str>,
    pub ansible_playbook: &'a Path,
    pub ansible_args: &'a [String],
    pub format: Format,
}

/// `--env` naming no environment of the blueprint: the names it has, and the closest.
fn unknown_env(model: &Model, wanted: &str) -> Error {
    let names: Vec<&str> = model.envs.iter().map(|e| e.name.as_str()).collect();
    Error::Usage {
        message: format!(
            "no environment `{}` in {}{}",
            crate::diag::shorten(wanted, 80),
            model.source,
            crate::suggest::did_you_mean(wanted, names.iter().copied())
        ),
        help: Some(names.join(", ")),
    }
}

/// `verify`: compare each environment's live state with the (current) tree; never
/// writes, here or there.
pub fn verify(
    blueprint: &Path,
    dir: &Path,
    follow_out_links: bool,
    a: &VerifyArgs,
    s: &mut Streams,
) -> Result<Outcome, Error> {
    use crate::verify::{self, Verdict};
    let model = pipeline::compile(blueprint)?;
    if let Some(wanted) = a
        .envs
        .iter()
        .find(|w| !model.envs.iter().any(|e| &e.name == *w))
    {
        return Err(unknown_env(&model, wanted));
    }
    let selected = if a.envs.is_empty() {
        model.envs.len()
    } else {
        a.envs.len()
    };
    if let Some(inventory) = a.inventory
        && selected > 1
        && !inventory.contains("{env}")
    {
        // One inventory's group_vars are one environment's: the others would be judged
        // against them (the role refuses it; said here before anything runs).
        return Err(Error::Usage {
            message: format!(
                "--inventory {} names no {{env}}, but {selected} environments are selected: each needs its own inventory",
                crate::diag::shorten(inventory, 120)
            ),
            help: Some("--inventory 'inventories/{env}', or one --env".into()),
        });
    }
    out_without_links(dir, follow_out_links)?;
    let shown = display_path(dir);
    let blueprint_shown = display_path(blueprint);
    // The expected side is the tree: it must be what the blueprint generates, so that
    // every file Ansible runs is infragen's own output.
    {
        let _lock = sync::lock(dir, false)?;
        let plan = plan_streaming(&model, blueprint, dir)?;
        if !plan.is_clean() {
            return Err(Error::TreeNotCurrent {
                out: shown,
                blueprint: blueprint_shown,
            });
        }
    }
    let mut verdicts = Vec::new();
    for env in model
        .envs
        .iter()
        .filter(|e| a.envs.is_empty() || a.envs.contains(&e.name))
    {
        let inventory = a
            .inventory
            .map(|i| i.replace("{env}", &env.name))
            .unwrap_or_else(|| {
                crate::report::join(&shown, &format!("ansible/inventory/{}", env.name))
            });
        let ctx = verify::Context {
            inventory: inventory.clone(),
            out: shown.clone(),
            ansible_args: a.ansible_args.to_vec(),
        };
        wrote(writeln!(
            s.err,
            "verify: reading {} ({}) through {}",
            env.name,
            env.mode.value.as_str(),
            inventory
        ))?;
        let call = crate::probe::PlaybookCall {
            ansible_playbook: a.ansible_playbook.to_path_buf(),
            inventory,
            playbook: dir.join("ansible/redis_verify.yml"),
            request: verify::request(&model, env).to_string(),
            args: a.ansible_args.to_vec(),
            timeout: std::time::Duration::from_secs(15 * 60),
        };
        let target = verify::hosts(&model, env);
        let verdict = match crate::probe::run(&call) {
            Err(crate::probe::RunError::Tool(why)) => {
                verify::unverified(env, &target, "tool", &why)
            }
            Err(crate::probe::RunError::Timeout(d)) => verify::unverified(
                env,
                &target,
                "timeout",
                &format!(
                    "ansible-playbook ran past {} s and was stopped",
                    d.as_secs()
                ),
            ),
            Ok(raw) => match verify::parse(&raw.stdout) {
                Ok(run) => verify::judge(&model, env, &run, &ctx),
                Err(why) => verify::unverified(
                    env,
                    &target,
                    "tool",
                    &format!(
                        "{why}; ansible-playbook exited {}: {}",
                        raw.status
                            .map_or("by a signal".to_string(), |c| c.to_string()),
                        raw.stderr_tail
                    ),
                ),
            },
        };
        verdicts.push(verdict);
    }
    let r = verify::Report::new(blueprint_shown, shown, verdicts);
    wrote(match a.format {
        Format::Human => report::verify::human(&r, &mut s.out),
        Format::Json => report::verify::json(&r, &mut s.out),
        Format::Github => report::verify::github(&r, &mut s.out),
    })?;
    Ok(match r.status {
        Verdict::Match => Outcome::Success,
        Verdict::Drift => Outcome::Different,
        Verdict::Trouble => Outcome::Unverified,
    })
}
