//! `cargo confirm-gui publish`: package, one window for the plan, upload in dependency order,
//! check the index.

use crate::pipeline::{self, Deps};
use crate::protocol::{Answer, Request};
use crate::request::Operation;
use crate::ui::Cancel;

use super::SUBCOMMAND_HELP;
use super::through_helper::subcommand_registry;

/// `cargo confirm-gui publish`: package, one window for the plan, upload in dependency order,
/// check the index.
pub(super) fn publish(args: &[String], deps: &Deps<'_>) -> Result<(), String> {
    use crate::publish::{self, Outcome, metadata};
    use crate::request::PlanCrate;
    if args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!("{SUBCOMMAND_HELP}");
        return Ok(());
    }
    let env = &deps.env;
    // Before any window: the uploader must start while this process may still start a
    // setgid program (the window takes the network and that right away from it).
    let uploader = publish::Uploader::start()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let packaged = publish::package(std::path::Path::new(&cargo), args)?;
    let (index_url, registry_name, api_index) =
        subcommand_registry(args, env, publish::default_registry(&packaged))?;
    let (packaged, left_out) = publish::publish_rules(packaged, registry_name.as_deref())?;
    for c in &left_out {
        eprintln!("note: {c} has `publish = false` in its Cargo.toml: left out of the plan");
    }
    let metas = packaged
        .iter()
        .map(|p| {
            metadata::build(&p.bytes, &api_index)
                .map_err(|e| format!("{} {}: {e}; nothing was published", p.name, p.vers))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // The window names each crate as cargo's output did, and the registry takes the name
    // and version from the metadata, read from the bytes: they must be the same.
    for (p, m) in packaged.iter().zip(&metas) {
        if (&p.name, &p.vers) != (&m.name, &m.vers) {
            return Err(format!(
                "cargo said it packaged {} {}, but the .crate's manifest says {} {}; nothing \
                 was published",
                p.name, p.vers, m.name, m.vers
            ));
        }
    }
    let names: Vec<String> = packaged.iter().map(|p| p.name.clone()).collect();
    let depends: Vec<Vec<String>> = metas.iter().map(|m| m.depends_on.clone()).collect();
    let order = publish::dependency_order(&names, &depends)?;
    let limits = crate::package::Limits::default();
    let mut crates = Vec::new();
    let mut jobs = Vec::new();
    for &i in &order {
        let p = &packaged[i];
        let (report, cksum) = crate::package::report_for_bytes(
            &p.name,
            &p.vers,
            &p.bytes,
            &p.path,
            env.cargo_home.as_deref(),
            &limits,
        );
        crates.push(PlanCrate {
            name: p.name.clone(),
            vers: p.vers.clone(),
            cksum: cksum.clone(),
            report: Box::new(report),
            deps: metadata::dependency_lines(&metas[i].json),
        });
        jobs.push((
            p.name.clone(),
            p.vers.clone(),
            cksum,
            metadata::body(&metas[i].json, &p.bytes),
        ));
    }
    drop(packaged);
    let req = Request {
        index_url: index_url.clone(),
        registry_name,
        operation: Operation::PublishPlan { crates },
        login_token: None,
        login_url: None,
        args: Vec::new(),
    };
    let token = match pipeline::handle(&req, deps, &Cancel::default()).map_err(|e| e.to_string())? {
        Answer::Token { token, .. } => token,
        _ => return Err("cargo-confirm-gui: the publish was not approved".into()),
    };
    let registry = req.registry_label();
    let outcomes = uploader.run(
        publish::Action::Publish,
        &api_index,
        token.expose(),
        &jobs,
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
            }
            Outcome::Indexed { name, vers, .. } => {
                eprintln!("   Published {name} v{vers}: the index lists it");
            }
            Outcome::Failed { .. } | Outcome::Yanked { .. } | Outcome::Owners { .. } => {}
        },
    )?;
    drop(token);
    // What was published, what was not, and whether the index lists what was approved.
    let mut published = Vec::new();
    let mut problems = Vec::new();
    for o in &outcomes {
        match o {
            Outcome::Indexed { name, vers, cksum } => {
                published.push(format!("{name} {vers}"));
                let approved = jobs
                    .iter()
                    .find(|(n, v, _, _)| n == name && v == vers)
                    .map(|j| j.2.as_str());
                if approved != Some(cksum.as_str()) {
                    let registry_arg = match &req.registry_name {
                        Some(r) => format!("--registry {r}"),
                        None => format!("--index {}", req.index_url),
                    };
                    problems.push(format!(
                        "THE INDEX LISTS {name} {vers} WITH A CHECKSUM THAT IS NOT THE ONE YOU \
                         APPROVED (index sha256:{cksum}, approved sha256:{}). Yank it now: \
                         cargo yank {registry_arg} --version {vers} {name}",
                        approved.unwrap_or("?")
                    ));
                }
            }
            Outcome::Failed { name, vers, why } => {
                problems.push(format!("{name} {vers} failed: {why}"));
            }
            Outcome::Published { .. } | Outcome::Yanked { .. } | Outcome::Owners { .. } => {}
        }
    }
    let not_published: Vec<String> = jobs
        .iter()
        .map(|(n, v, _, _)| format!("{n} {v}"))
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
