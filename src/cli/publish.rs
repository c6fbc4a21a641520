//! `cargo confirm-gui publish`: package, one window for the plan, upload in dependency order,
//! check the index. One function per step.

use crate::env::Snapshot;
use crate::pipeline::Deps;
use crate::protocol::Request;
use crate::publish::metadata::{self, Metadata};
use crate::publish::{self, Outcome, Packaged};
use crate::request::{HelperRequest, Operation, PlanCrate};
use crate::token::Token;

use super::through_helper::{approved_token, printed_help, subcommand_registry};

use crate::publish::Job;

/// The steps of `publish`, in order.
pub(super) fn publish(args: &[String], deps: &Deps<'_>) -> Result<(), String> {
    if printed_help(args) {
        return Ok(());
    }
    let env = &deps.env;
    // Before any window: the uploader must start while this process may still start a
    // setgid program (the window takes the network and that right away from it).
    let uploader = publish::Uploader::start().map_err(|e| e.to_string())?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let packaged =
        publish::package(std::path::Path::new(&cargo), args).map_err(|e| e.to_string())?;
    let (index_url, registry_name, api_index) =
        subcommand_registry(args, env, publish::default_registry(&packaged))?;
    let (packaged, left_out) =
        publish::publish_rules(packaged, registry_name.as_deref()).map_err(|e| e.to_string())?;
    for c in &left_out {
        eprintln!("note: {c} has `publish = false` in its Cargo.toml: left out of the plan");
    }
    let metas = metadata_for(&packaged, &api_index)?;
    eprintln!(
        "    Checking {}: contents, the commit its bytes came from, the last release",
        count(packaged.len())
    );
    let (crates, jobs) = plan(&packaged, &metas, env, &deps.publish_rules)?;
    drop(packaged);
    let req = super::request(
        index_url,
        registry_name,
        Operation::Helper(HelperRequest::Publish { crates }),
    );
    let token = approved_token(&req, deps, "publish")?;
    eprintln!(
        "   Uploading {} to {}, each after the one it depends on is in the index",
        count(jobs.len()),
        req.registry_label()
    );
    let outcomes = upload(uploader, &api_index, &token, &jobs, &req.registry_label())?;
    drop(token);
    report(&outcomes, &jobs, &req)
}

/// "1 crate", "3 crates".
fn count(n: usize) -> String {
    format!("{n} crate{}", if n == 1 { "" } else { "s" })
}

/// The registry's metadata of each packaged crate, read from its bytes. The window names
/// each crate as cargo's output did, and the registry takes the name and version from the
/// metadata: they must be the same.
fn metadata_for(packaged: &[Packaged], api_index: &str) -> Result<Vec<Metadata>, String> {
    let metas = packaged
        .iter()
        .map(|p| {
            metadata::build(&p.bytes, api_index)
                .map_err(|e| format!("{} {}: {e}; nothing was published", p.name, p.vers))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (p, m) in packaged.iter().zip(&metas) {
        if (&p.name, &p.vers) != (&m.name, &m.vers) {
            return Err(format!(
                "cargo said it packaged {} {}, but the .crate's manifest says {} {}; nothing \
                 was published",
                p.name, p.vers, m.name, m.vers
            ));
        }
    }
    Ok(metas)
}

/// The plan in dependency order: what the window shows of each crate (its contents report,
/// checksum and dependencies), and what the uploader sends for it.
fn plan(
    packaged: &[Packaged],
    metas: &[Metadata],
    env: &Snapshot,
    rules: &crate::policy::PublishRules,
) -> Result<(Vec<PlanCrate>, Vec<Job>), String> {
    let names: Vec<String> = packaged.iter().map(|p| p.name.clone()).collect();
    let depends: Vec<Vec<String>> = metas.iter().map(|m| m.depends_on.clone()).collect();
    let order = publish::dependency_order(&names, &depends).map_err(|e| e.to_string())?;
    let limits = crate::package::Limits::default();
    // The repository these crates were packaged from: where `cargo confirm-gui publish` runs.
    let here = std::env::current_dir().ok();
    let mut crates = Vec::new();
    let mut jobs = Vec::new();
    for &i in &order {
        let p = &packaged[i];
        let (mut report, cksum) = crate::package::report_for_bytes(
            &p.name,
            &p.vers,
            &p.bytes,
            &p.path,
            env.cargo_home.as_deref(),
            &limits,
            here.as_deref(),
        );
        report.apply(rules);
        crates.push(PlanCrate {
            name: p.name.clone(),
            vers: p.vers.clone(),
            cksum: cksum.clone(),
            report: Box::new(report),
            deps: metadata::dependency_lines(&metas[i].json),
        });
        jobs.push(Job {
            name: p.name.clone(),
            vers: p.vers.clone(),
            cksum,
            body: metadata::body(&metas[i].json, &p.bytes),
        });
    }
    Ok((crates, jobs))
}

/// Uploads the approved plan, printing each crate as it is uploaded and as the index lists
/// it.
fn upload(
    uploader: publish::Uploader,
    api_index: &str,
    token: &Token,
    jobs: &[Job],
    registry: &str,
) -> Result<Vec<Outcome>, String> {
    uploader
        .run(
            publish::Action::Publish,
            api_index,
            token.expose(),
            jobs,
            |o| match o {
                Outcome::Published {
                    name,
                    vers,
                    warnings,
                } => {
                    eprintln!("   Uploaded {name} v{vers} to {registry}");
                    for w in warnings {
                        eprintln!("warning: {w}");
                    }
                    eprintln!("    Waiting for {name} v{vers} to appear in the index...");
                }
                Outcome::Indexed { name, vers, .. } => {
                    eprintln!("   Published {name} v{vers}: the index lists it");
                }
                Outcome::Failed { .. } | Outcome::Yanked { .. } | Outcome::Owners { .. } => {}
            },
        )
        .map_err(|e| e.to_string())
}

/// What was published, what was not, and whether the index lists what was approved: `Ok`
/// only when every crate of the plan is listed with the checksum the person saw.
fn report(outcomes: &[Outcome], jobs: &[Job], req: &Request) -> Result<(), String> {
    let (published, problems) = tally(outcomes, jobs, req);
    let not_published: Vec<String> = jobs
        .iter()
        .map(|j| format!("{} {}", j.name, j.vers))
        .filter(|c| !published.contains(c))
        .collect();
    if problems.is_empty() && not_published.is_empty() {
        eprintln!(
            "Published {} as approved: the index lists each with the checksum you saw.",
            published.join(", ")
        );
        return Ok(());
    }
    let mut msg = format!("cargo-confirm-gui: {}", problems.join("\n"));
    msg.push_str(&format!(
        "\npublished: {}\nnot published: {}",
        if published.is_empty() {
            "nothing".into()
        } else {
            published.join(", ")
        },
        if not_published.is_empty() {
            "nothing".into()
        } else {
            not_published.join(", ")
        }
    ));
    Err(msg)
}

/// The crates the index lists ("NAME VERS"), and the problems: a failed upload, or a crate
/// listed with a checksum that is not the approved one.
fn tally(outcomes: &[Outcome], jobs: &[Job], req: &Request) -> (Vec<String>, Vec<String>) {
    let mut published = Vec::new();
    let mut problems = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Indexed { name, vers, cksum } => {
                published.push(format!("{name} {vers}"));
                let approved = jobs
                    .iter()
                    .find(|j| j.name == *name && j.vers == *vers)
                    .map(|j| j.cksum.as_str());
                if approved != Some(cksum.as_str()) {
                    problems.push(wrong_checksum(name, vers, cksum, approved, req));
                }
            }
            Outcome::Failed { name, vers, why } => {
                problems.push(format!("{name} {vers} failed: {why}"));
            }
            Outcome::Published { .. } | Outcome::Yanked { .. } | Outcome::Owners { .. } => {}
        }
    }
    (published, problems)
}

/// The alarm for a crate the index lists with another checksum than the approved one, with
/// the command that yanks it.
fn wrong_checksum(
    name: &str,
    vers: &str,
    cksum: &str,
    approved: Option<&str>,
    req: &Request,
) -> String {
    let registry_arg = match &req.registry_name {
        Some(r) => format!("--registry {r}"),
        None => format!("--index {}", req.index_url),
    };
    format!(
        "THE INDEX LISTS {name} {vers} WITH A CHECKSUM THAT IS NOT THE ONE YOU \
         APPROVED (index sha256:{cksum}, approved sha256:{}). Yank it now: \
         cargo yank {registry_arg} --version {vers} {name}",
        approved.unwrap_or("?")
    )
}
