//! What a person reads in the first three seconds: one sentence that says what is being
//! authorised, and one verdict that says "nothing unusual" or lists exactly what needs a
//! look, each item pointing to the section of the window that shows it.
//!
//! Plain functions over a [`Transaction`], so that the wording is tested without a window.

use crate::evidence::Warning;
use crate::package::{Check, Level, Previous, Report};
use crate::request::{CargoRequest, HelperRequest, Operation, StoreChange};
use crate::text::escape;

use super::Transaction;

/// A part of the confirm window a verdict item points to. `usize`: which crate of a plan (0
/// for a single publish).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// What is published: the checksum's verdict and where the bytes came from.
    Source(usize),
    /// What changed since the last release: files, dependencies, lines.
    Changes(usize),
    /// Who asked.
    Asked,
    /// The registry, the checksum, the store.
    Details,
}

/// How loudly an item asks for a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mark {
    /// Red: stop and look.
    Stop,
    /// Amber: worth a look.
    Look,
}

/// One thing that needs a look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// How loudly.
    pub mark: Mark,
    /// What, escaped.
    pub text: String,
    /// Where the window shows it.
    pub section: Section,
}

/// The verdict line: the items (most serious first), or, with none, what was checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// What needs a look.
    pub items: Vec<Item>,
    /// "Nothing unusual: …", when nothing does and every check is done.
    pub fine: Option<String>,
    /// A check the verdict waits for is still running (the `.crate` being read).
    pub pending: bool,
}

/// The registry as a person calls it, decided by its index URL: crates.io for crates.io's
/// own index whatever name it was given; else its name in cargo's config, when that is a
/// name cargo accepts and does not read as crates.io; else the URL's host. Red team 3: the
/// name is the worm's to choose (its config names the registry), so `local` beside crates.io's
/// index hid crates.io, and `crates_io` beside another hid that one.
pub fn registry_name(label: &str) -> String {
    let (name, url) = match label.strip_suffix(')').and_then(|l| l.rsplit_once(" (")) {
        Some((name, url)) => (Some(name), url),
        None => (None, label),
    };
    // The whole URL must be crates.io's: a host such as `index.crates.io.example` merely
    // holds its name.
    if crate::index_url::IndexUrl::parse(url).is_ok_and(|u| u.is_crates_io()) {
        return "crates.io".into();
    }
    match name {
        Some(n) if plain_name(n) => escape(n).text,
        _ => escape(host_of(url)).text,
    }
}

/// A registry name cargo accepts that does not read as crates.io.
fn plain_name(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    crate::registries::is_cargo_name(name) && !folded.contains("cratesio")
}

/// The host an index URL's requests go to: after any `user@`, with its port.
fn host_of(url: &str) -> &str {
    let authority = url
        .split("://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or(url);
    authority.rsplit('@').next().unwrap_or(authority)
}

/// The one sentence, in the person's words: "Publish serde-foo 1.4.0 to crates.io".
pub fn sentence(tx: &Transaction) -> String {
    let e = |s: &str| escape(s).text;
    let reg = registry_name(&tx.registry);
    match &tx.operation {
        Operation::Cargo(CargoRequest::Publish { name, vers, .. }) => {
            format!("Publish {} {} to {reg}", e(name), e(vers))
        }
        Operation::Helper(HelperRequest::Publish { crates }) => match crates.as_slice() {
            [one] => format!("Publish {} {} to {reg}", e(&one.name), e(&one.vers)),
            more => format!("Publish {} crates to {reg}", more.len()),
        },
        Operation::Cargo(CargoRequest::Yank { name, vers, undo })
        | Operation::Helper(HelperRequest::Yank { name, vers, undo }) => {
            let verb = if *undo { "Un-yank" } else { "Yank" };
            format!("{verb} {} {} on {reg}", e(name), e(vers))
        }
        Operation::Cargo(CargoRequest::Owners { name }) => {
            format!("Change the owners of {} on {reg}", e(name))
        }
        Operation::Helper(HelperRequest::Owners { name, change }) => {
            use crate::request::OwnerChange;
            match change {
                OwnerChange::List => format!("List the owners of {} on {reg}", e(name)),
                OwnerChange::Add(u) => {
                    format!("Add {} as owner of {} on {reg}", e(&u.join(", ")), e(name))
                }
                OwnerChange::Remove(u) => format!(
                    "Remove {} as owner of {} on {reg}",
                    e(&u.join(", ")),
                    e(name)
                ),
            }
        }
        Operation::Cargo(CargoRequest::Read { .. }) => {
            format!("Read from the private registry {reg}")
        }
        Operation::Store(StoreChange::Login { .. }) if tx.existing_entry => {
            format!("Replace the token stored for {reg}")
        }
        Operation::Store(StoreChange::Login { .. }) => format!("Store a new token for {reg}"),
        Operation::Store(StoreChange::Logout) => format!("Remove the token stored for {reg}"),
        Operation::Store(StoreChange::Adopt { tokens }) => format!(
            "Move {} clear-text token{} into the store",
            tokens.len(),
            if tokens.len() == 1 { "" } else { "s" }
        ),
        Operation::Store(StoreChange::Migrate) if tx.existing_entry => {
            format!("Replace the sealed store's token for {reg} with the Secret Service's")
        }
        Operation::Store(StoreChange::Migrate) => {
            format!("Move the token for {reg} into the sealed store")
        }
        Operation::Caller => format!("Give the token for {reg} to a program"),
        Operation::Unknown => format!("An unknown request for {reg}"),
    }
}

/// For cargo's own mutations (provider mode, the token handed to cargo): the helper's command
/// that does the same and keeps the token.
pub fn provider_mode(op: &Operation) -> Option<&'static str> {
    match op {
        Operation::Cargo(CargoRequest::Publish { .. }) => Some("cargo confirm-gui publish"),
        Operation::Cargo(CargoRequest::Yank { .. }) => Some("cargo confirm-gui yank"),
        Operation::Cargo(CargoRequest::Owners { .. }) => Some("cargo confirm-gui owner"),
        // A read hands cargo the same token: publishing stays possible only through the
        // helper's own command.
        Operation::Cargo(CargoRequest::Read { .. }) => Some("cargo confirm-gui publish"),
        _ => None,
    }
}

/// A warning about who asked, in the person's words (not escaped).
pub fn warning(w: &Warning) -> String {
    match w {
        Warning::Orphaned => "no parent process (orphaned)".into(),
        Warning::NotPinned => "could not pin the parent process (pidfd_open failed)".into(),
        Warning::Exited => "the requesting process exited while it was being inspected".into(),
        Warning::NotCargo => "the program that asked is not cargo".into(),
        Warning::NotVerifiedCargo(why) => {
            format!("the program that asked is named cargo but is not verified to be it: {why}")
        }
        Warning::LoaderVariable(name) => format!(
            "the program that asked runs with {name} set: code another program chose may run \
             inside it, where the token would go"
        ),
        Warning::InvalidSignature => "the requesting program's code signature is invalid".into(),
        Warning::NotInspectable => {
            "the requesting process cannot be inspected on this platform yet".into()
        }
    }
}

/// The verdict for `tx`, with `now` (seconds since the epoch) for ages.
pub fn verdict(tx: &Transaction, now: i64) -> Verdict {
    let mut v = Verdict::default();
    let mut push = |mark, text: String, section| {
        v.items.push(Item {
            mark,
            text,
            section,
        })
    };
    for w in &tx.requester.warnings {
        push(Mark::Stop, escape(&warning(w)).text, Section::Asked);
    }
    if chain_hides(&tx.requester) {
        push(
            Mark::Stop,
            "who asked holds invisible, control or direction-changing characters (shown as \
             escapes in the process chain): text made to look like something else"
                .into(),
            Section::Asked,
        );
    }
    if request_hides(tx) {
        push(
            Mark::Stop,
            "the registry or the crate holds invisible, control or direction-changing \
             characters (shown as escapes below): text made to look like something else"
                .into(),
            Section::Details,
        );
    }
    match &tx.operation {
        Operation::Caller => push(
            Mark::Stop,
            "the request names no crate and no operation: what the token is for cannot be shown"
                .into(),
            Section::Details,
        ),
        Operation::Store(StoreChange::Migrate) => push(
            Mark::Look,
            "the Secret Service let any program running as you read this token: moving it \
             does not make it secret again"
                .into(),
            Section::Details,
        ),
        // Provider mode (the token goes to cargo) is the window's banner, above the verdict.
        _ => {}
    }
    for n in &tx.requester.notices {
        push(Mark::Look, escape(n).text, Section::Asked);
    }
    let mut reports: Vec<(usize, String, &Report)> = Vec::new();
    match &tx.operation {
        Operation::Helper(HelperRequest::Publish { crates }) => {
            for (i, c) in crates.iter().enumerate() {
                let prefix = if crates.len() > 1 {
                    format!("{} {}: ", escape(&c.name).text, escape(&c.vers).text)
                } else {
                    String::new()
                };
                reports.push((i, prefix, &c.report));
            }
        }
        _ => match tx.package.as_ref().map(|p| p.get()) {
            Some(Some(r)) => reports.push((0, String::new(), r)),
            Some(None) => v.pending = true,
            None => {}
        },
    }
    for (i, prefix, r) in &reports {
        report_items(*i, prefix, r, now, &mut v.items);
    }
    v.items.sort_by_key(|i| i.mark);
    if v.items.is_empty() && !v.pending {
        v.fine = Some(fine(tx, &reports, now));
    }
    v
}

/// What needs a look in one crate's report.
fn report_items(i: usize, prefix: &str, r: &Report, now: i64, items: &mut Vec<Item>) {
    let mut push = |mark, text: String, section| {
        items.push(Item {
            mark,
            text: format!("{prefix}{text}"),
            section,
        })
    };
    source_items(r, now, &mut |mark, text| {
        push(mark, text, Section::Source(i))
    });
    change_items(r, &mut |mark, text| push(mark, text, Section::Changes(i)));
}

/// What is wrong with where the bytes are and where they came from: the `.crate` against
/// the request, the policy, the commit.
fn source_items(r: &Report, now: i64, push: &mut dyn FnMut(Mark, String)) {
    match &r.check {
        Check::Match(_) => {}
        Check::Mismatch { .. } => push(
            Mark::Stop,
            "the .crate on disk does not match the checksum cargo sent".into(),
        ),
        Check::NotFound(_) => push(
            Mark::Stop,
            "no packaged .crate was found: what is published cannot be shown".into(),
        ),
        Check::Unreadable { .. } => {
            push(Mark::Stop, "the packaged .crate could not be read".into())
        }
        Check::Forged(why) => push(
            Mark::Stop,
            format!("this request cannot come from cargo: {}", escape(why).text),
        ),
    }
    if let Some(why) = &r.refused_by_policy {
        push(Mark::Stop, escape(why).text);
    }
    if let Some(p) = &r.provenance {
        use crate::package::provenance::Tone;
        match p.verdict(now) {
            (Tone::Good, _) => {}
            (Tone::Bad, line) => push(Mark::Stop, escape(&line).text),
            (Tone::Look, line) => push(Mark::Look, escape(&line).text),
        }
        if let Some(s) = &p.signature
            && s.valid == Some(false)
        {
            push(Mark::Stop, "the commit's signature is bad".into());
        }
    }
}

/// What the contents hold and what changed since the last release.
fn change_items(r: &Report, push: &mut dyn FnMut(Mark, String)) {
    let unchanged_build = unchanged_build_script(r);
    let build_news = r
        .flags
        .iter()
        .any(|f| f.level == Level::Danger && f.text.starts_with("build script "));
    for f in &r.flags {
        // A build script the last release had too, unchanged, is not news; one that is new or
        // changed has its own red line.
        if let Some(b) = r.contents.as_ref().and_then(|c| c.build_script())
            && (unchanged_build.is_some() || build_news)
            && f.level == Level::Notice
            && f.text.starts_with(&format!("build script {b}:"))
        {
            continue;
        }
        let mark = match f.level {
            Level::Danger => Mark::Stop,
            Level::Notice => Mark::Look,
        };
        push(mark, escape(&f.text).text);
    }
    match &r.previous {
        Previous::Found(d) => {
            let list = |v: &[String]| {
                v.iter()
                    .map(|s| escape(s).text)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if !d.deps_added.is_empty() {
                push(
                    Mark::Look,
                    format!("new dependency: {}", list(&d.deps_added)),
                );
            }
            if !d.deps_changed.is_empty() {
                push(
                    Mark::Look,
                    format!("changed dependency: {}", list(&d.deps_changed)),
                );
            }
        }
        Previous::Unreadable { .. } => push(
            Mark::Look,
            "the cached earlier version could not be read".into(),
        ),
        Previous::None => {}
    }
}

/// Whether a value in the process chain would not show as itself.
fn chain_hides(r: &crate::evidence::Requester) -> bool {
    let path = |p: &Result<std::path::PathBuf, String>| match p {
        Ok(p) => escape(&p.display().to_string()).hidden,
        Err(e) => escape(e).hidden,
    };
    r.chain
        .iter()
        .any(|p| crate::text::command_line(&p.argv).hidden || path(&p.exe) || path(&p.cwd))
}

/// Whether the registry or a crate's name or version would not show as itself.
fn request_hides(tx: &Transaction) -> bool {
    let h = |s: &str| escape(s).hidden;
    h(&tx.registry)
        || match &tx.operation {
            Operation::Cargo(CargoRequest::Publish { name, vers, .. })
            | Operation::Cargo(CargoRequest::Yank {
                name,
                vers,
                undo: false,
            })
            | Operation::Cargo(CargoRequest::Yank {
                name,
                vers,
                undo: true,
            })
            | Operation::Helper(HelperRequest::Yank { name, vers, .. }) => h(name) || h(vers),
            Operation::Cargo(CargoRequest::Owners { name })
            | Operation::Helper(HelperRequest::Owners { name, .. }) => h(name),
            Operation::Helper(HelperRequest::Publish { crates }) => {
                crates.iter().any(|c| h(&c.name) || h(&c.vers))
            }
            _ => false,
        }
}

/// The build script, when the cached earlier version had it too, byte for byte.
fn unchanged_build_script(r: &Report) -> Option<String> {
    let b = r.contents.as_ref()?.build_script()?.to_string();
    match &r.previous {
        Previous::Found(d) if d.build_script.is_none() && !d.added.contains(&b) => Some(b),
        _ => None,
    }
}

/// "Nothing unusual: …" with what was checked.
fn fine(tx: &Transaction, reports: &[(usize, String, &Report)], now: i64) -> String {
    let mut facts: Vec<String> = Vec::new();
    if let [(_, _, r)] = reports {
        if matches!(tx.operation, Operation::Cargo(CargoRequest::Publish { .. })) {
            facts.push("the .crate matches its checksum".into());
        }
        if let Some(p) = &r.provenance
            && p.checked
        {
            facts.push(escape(&p.verdict(now).1).text);
        }
        facts.push(match (unchanged_build_script(r), &r.previous) {
            (Some(b), Previous::Found(d)) => {
                format!(
                    "build script {} unchanged since {}",
                    escape(&b).text,
                    escape(&d.previous).text
                )
            }
            _ => "no build script".into(),
        });
        facts.push(match &r.previous {
            Previous::Found(d) => format!("no new dependencies since {}", escape(&d.previous).text),
            _ => "no earlier version cached to compare with".into(),
        });
    } else if reports.len() > 1 {
        facts.push(format!(
            "{} crates, each checked: no build script, no new dependencies",
            reports.len()
        ));
    }
    if tx.requester.parent_is_cargo && tx.operation.releases_to_cargo() {
        facts.push("asked by cargo (checked)".into());
    }
    if facts.is_empty() {
        "Nothing unusual".into()
    } else {
        format!("Nothing unusual: {}", facts.join("; "))
    }
}
