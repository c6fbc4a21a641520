//! The confirm window: the transaction, who asked, Deny and Approve.

use egui::{Color32, RichText, Ui, UiBuilder};

use super::who::{self, Ended, Phase};
use super::{Arming, BarAction, Decision, PromptOptions, Transaction, bottom_bar, layout};
use crate::error::DenyReason;
use crate::package::{Check, Kind, Level, Previous, Report, human_size};
use crate::request::Operation;
use crate::text::{command_line, escape};

const RED: Color32 = Color32::from_rgb(0xe0, 0x40, 0x30);
const AMBER: Color32 = Color32::from_rgb(0xd8, 0x9a, 0x20);
const GREEN: Color32 = Color32::from_rgb(0x40, 0xb0, 0x60);

/// State of one confirm window.
pub struct ConfirmState {
    /// What is shown.
    pub tx: Transaction,
    /// Click rules.
    pub arming: Arming,
    /// Set once the window has an answer.
    pub decision: Option<Decision>,
    /// The presence step after Approve, when the transaction names one.
    pub who: Phase,
}

impl ConfirmState {
    /// A fresh window for this transaction. A transaction that names a presence step needs a
    /// link to the broker for it ([`ConfirmState::with_link`]); without one Approve is
    /// unavailable.
    pub fn new(tx: Transaction, opts: &PromptOptions) -> Self {
        ConfirmState {
            who: Phase::new(tx.presence.clone(), None),
            tx,
            arming: Arming::new(opts),
            decision: None,
        }
    }

    /// The same window, its presence step relayed through `link`.
    pub fn with_link(mut self, link: who::WhoLink) -> Self {
        self.who = Phase::new(self.tx.presence.clone(), Some(link));
        self
    }

    /// Whether the window has its final answer (a presence step under way holds it open).
    pub fn done(&self) -> bool {
        match self.decision {
            None => false,
            Some(Decision::Approve) => !self.who.holds(),
            Some(Decision::Deny(_)) => true,
        }
    }

    /// Whether the view says a person approved, and the click is yet to be judged.
    pub fn approved(&self) -> bool {
        self.decision == Some(Decision::Approve)
            && matches!(self.who, Phase::Off | Phase::Ready(..))
    }
}

/// The heading and the Approve label for an operation.
pub(crate) fn wording(op: &Operation, existing: bool) -> (String, &'static str) {
    let e = |s: &str| escape(s).text;
    match op {
        Operation::Publish { name, vers, .. } => (
            format!("cargo wants to PUBLISH {} {}", e(name), e(vers)),
            "Approve",
        ),
        Operation::PublishPlan { crates } => (
            match crates.as_slice() {
                [one] => format!("PUBLISH {} {}", e(&one.name), e(&one.vers)),
                more => format!("PUBLISH {} crates", more.len()),
            },
            "Approve",
        ),
        Operation::HelperOwners { name, change } => (
            match change {
                crate::publish::upload::OwnerChange::List => {
                    format!("LIST THE OWNERS of {}", e(name))
                }
                _ => format!("CHANGE THE OWNERS of {}", e(name)),
            },
            "Approve",
        ),
        Operation::HelperYank { name, vers, undo } => (
            format!(
                "{} {} {}",
                if *undo { "UN-YANK" } else { "YANK" },
                e(name),
                e(vers)
            ),
            "Approve",
        ),
        Operation::Yank { name, vers } => (
            format!("cargo wants to YANK {} {}", e(name), e(vers)),
            "Approve",
        ),
        Operation::Unyank { name, vers } => (
            format!("cargo wants to UN-YANK {} {}", e(name), e(vers)),
            "Approve",
        ),
        Operation::Owners { name } => (
            format!("cargo wants to CHANGE THE OWNERS of {}", e(name)),
            "Approve",
        ),
        Operation::Read { .. } => (
            "cargo wants to READ from a private registry".into(),
            "Approve",
        ),
        Operation::Login { .. } if existing => {
            ("Replace the stored registry token?".into(), "Replace")
        }
        Operation::Login { .. } => ("Store a new registry token?".into(), "Store"),
        Operation::Logout => ("Remove the stored registry token?".into(), "Remove"),
        Operation::Adopt { tokens } => (
            format!(
                "Move {} clear-text registry token{} into the store?",
                tokens.len(),
                if tokens.len() == 1 { "" } else { "s" }
            ),
            "Move",
        ),
        Operation::Migrate if existing => (
            "Replace the sealed store's token with the Secret Service's?".into(),
            "Replace",
        ),
        Operation::Migrate => (
            "Move the registry token into the sealed store?".into(),
            "Move",
        ),
        Operation::GetUnnamed => ("A program asks for the registry token".into(), "Approve"),
        Operation::Unknown => ("An unknown request".into(), "Approve"),
    }
}

/// Groups a hex checksum in fours, eight groups a line, so a person can compare it.
pub fn group_checksum(hex: &str) -> String {
    let groups: Vec<&str> = hex
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or("?"))
        .collect();
    groups
        .chunks(8)
        .map(|line| line.join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Draws the window. Sets `state.decision` once answered.
pub fn view(ui: &mut Ui, state: &mut ConfirmState) {
    let (arm, deny) = state.arming.tick(ui);
    // The Approve of the last frame counted (the window judged it after that frame's view):
    // the presence step begins, and the window stays open for it.
    if state.decision == Some(Decision::Approve) && matches!(state.who, Phase::Ready(..)) {
        state.who.begin(None);
        state.decision = None;
    }
    let asking = state.who.asking();
    if let Some(reason) = deny
        && !asking
    {
        state.decision.get_or_insert(Decision::Deny(reason));
    }
    // The window's rect, not the ui's: wide content must never push the buttons away.
    let screen = ui.ctx().content_rect();
    let (heading, approve_label) = wording(&state.tx.operation, state.tx.existing_entry);
    let content = if asking {
        layout::content_rect_asking(screen)
    } else {
        layout::content_rect(screen)
    };
    ui.scope_builder(UiBuilder::new().max_rect(content), |ui| {
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.heading(RichText::new(heading).strong());
                warnings(ui, &state.tx);
                // What is being published comes first: it is what a person must judge.
                verdicts(ui, &state.tx);
                ui.add_space(6.0);
                details(ui, &state.tx);
                for n in &state.tx.requester.notices {
                    ui.colored_label(AMBER, format!("Note: {n}"));
                }
                contents(ui, &state.tx);
            });
    });
    if asking {
        // A veto while the system asks (synthetic keys, say) ends the step as a Deny.
        let vetoed = state.arming.blocked.is_some().then_some(DenyReason::Vetoed);
        match who::view(ui, &mut state.who, deny.or(vetoed)) {
            Some(Ended::Confirmed) => state.decision = Some(Decision::Approve),
            Some(Ended::Denied(r)) => state.decision = Some(Decision::Deny(r)),
            None => {}
        }
        return;
    }
    if state.who.unavailable(state.tx.presence.as_ref()) {
        state.arming.blocked.get_or_insert_with(|| {
            "this window cannot ask who you are, which this install requires".into()
        });
    }
    let ready = block_what_cannot_be_approved(state);
    match bottom_bar(ui, &state.arming, &arm, "Deny", approve_label, ready) {
        BarAction::Deny => {
            state
                .decision
                .get_or_insert(Decision::Deny(DenyReason::Clicked));
        }
        BarAction::Approve => {
            state.decision.get_or_insert(Decision::Approve);
        }
        BarAction::None => {}
    }
}

/// What the person must read before anything else: what a migration cannot undo, a
/// request that names nothing, and every warning about who asked.
fn warnings(ui: &mut Ui, tx: &Transaction) {
    if let Some(instead) = provider_mode(&tx.operation) {
        // cargo's own request: the token will be in cargo, not in this helper. Looks unlike
        // the helper's plan window on purpose: a person who typed `cargo confirm-gui publish`
        // and sees this was sent somewhere else (a cargo alias, say).
        egui::Frame::new()
            .fill(Color32::from_rgb(0x4a, 0x36, 0x08))
            .inner_margin(6.0)
            .show(ui, |ui| {
                ui.colored_label(
                    AMBER,
                    RichText::new(format!(
                        "The token goes to cargo, where any program running as you can read \
                         it. `{instead}` does this without giving it away."
                    ))
                    .strong(),
                );
            });
    }
    if tx.operation == Operation::Migrate {
        ui.colored_label(
            AMBER,
            "This token was kept in the Secret Service, where any program \
             running as you could read it: moving it does not make it secret \
             again. The real fix is to revoke it at the registry and store a \
             new one (cargo-confirm-gui --enroll).",
        );
    }
    if tx.operation == Operation::GetUnnamed {
        ui.colored_label(
            RED,
            RichText::new(
                "This request names no crate and no operation: this window \
                 cannot show what the token will be used for. Approve only if \
                 you started this yourself, just now.",
            )
            .strong(),
        );
    }
    for w in &tx.requester.warnings {
        ui.colored_label(RED, RichText::new(format!("WARNING: {w}")).strong());
    }
}

/// For cargo's own mutations (provider mode, the token handed to cargo): the helper's command
/// that does the same and keeps the token.
fn provider_mode(op: &Operation) -> Option<&'static str> {
    match op {
        Operation::Publish { .. } => Some("cargo confirm-gui publish"),
        Operation::Yank { .. } | Operation::Unyank { .. } => Some("cargo confirm-gui yank"),
        Operation::Owners { .. } => Some("cargo confirm-gui owner"),
        // A read hands cargo the same token: publishing stays possible only through the
        // helper's own command.
        Operation::Read { .. } => Some("cargo confirm-gui publish"),
        _ => None,
    }
}

/// A crate's name and version as a bold line, for a plan of more than one crate.
fn crate_title(ui: &mut Ui, name: &str, vers: &str, of: usize) {
    if of > 1 {
        ui.label(RichText::new(format!("{} {}", escape(name).text, escape(vers).text)).strong());
    }
}

/// Each crate's verdict: does what is published match, and what must a reviewer notice.
fn verdicts(ui: &mut Ui, tx: &Transaction) {
    if let Operation::PublishPlan { crates } = &tx.operation {
        for c in crates {
            crate_title(ui, &c.name, &c.vers, crates.len());
            ui.push_id(("verdict", &c.name, &c.vers), |ui| plan_verdict(ui, c));
        }
    }
    if let Some(pending) = &tx.package {
        match pending.get() {
            Some(report) => package_verdict(ui, report),
            None => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Checking the packaged .crate… Approve waits for this.");
                });
            }
        }
    }
}

/// What each `.crate` holds, below the details.
fn contents(ui: &mut Ui, tx: &Transaction) {
    if let Some(report) = tx.package.as_ref().and_then(|p| p.get()) {
        ui.add_space(6.0);
        package_contents(ui, report);
    }
    if let Operation::PublishPlan { crates } = &tx.operation {
        for c in crates {
            ui.add_space(6.0);
            ui.push_id(("plan", &c.name, &c.vers), |ui| {
                crate_title(ui, &c.name, &c.vers, crates.len());
                package_contents(ui, &c.report);
            });
        }
    }
}

/// Blocks Approve, with the reason shown, for every request the window cannot vouch for.
/// Returns whether the check of the `.crate` is finished (Approve waits for it).
fn block_what_cannot_be_approved(state: &mut ConfirmState) -> bool {
    let blocked = &mut state.arming.blocked;
    // A token goes only to a cargo that was verified to be the one asking.
    if state.tx.operation.releases_to_cargo() && !state.tx.requester.parent_is_cargo {
        blocked.get_or_insert_with(|| {
            "the program asking is not verified to be cargo (see the warning above)".into()
        });
    }
    // A plan is approvable only when every crate in it is.
    if let Operation::PublishPlan { crates } = &state.tx.operation {
        if crates.is_empty() {
            blocked.get_or_insert_with(|| "the plan holds no crate".into());
        }
        if let Some(c) = crates.iter().find(|c| c.report.blocks_approve()) {
            let what = format!("{} {}", escape(&c.name).text, escape(&c.vers).text);
            blocked.get_or_insert_with(|| {
                if c.report.check.blocks_approve() {
                    format!("{what} could not be checked")
                } else if let Some(why) = &c.report.refused_by_policy {
                    format!("{what}: {}", escape(why).text)
                } else {
                    format!("{what} has a problem cargo never makes (in red above)")
                }
            });
        }
    }
    // A publish is approvable only once its .crate was checked, and never on a mismatch.
    let report = state.tx.package.as_ref().map(|p| p.get());
    if let Some(Some(r)) = report
        && r.blocks_approve()
    {
        blocked.get_or_insert_with(|| match &r.check {
            Check::Forged(_) => "this request cannot come from cargo".into(),
            Check::NotFound(_) => "no packaged .crate was found to check what is published".into(),
            Check::Unreadable { .. } => "the packaged .crate could not be read".into(),
            Check::Match(_) if r.refused_by_policy.is_some() => {
                escape(r.refused_by_policy.as_deref().unwrap_or_default()).text
            }
            Check::Match(_) => "the .crate has a problem cargo never makes (in red above)".into(),
            _ => "the .crate on disk does not match the checksum cargo sent".into(),
        });
    }
    !matches!(report, Some(None))
}

/// The packaged crate: does it match, and what must a reviewer notice.
fn package_verdict(ui: &mut Ui, r: &Report) {
    let shown = |p: &std::path::Path| escape(&p.display().to_string()).text;
    match &r.check {
        Check::Match(p) => {
            let what = if r.held_by_cargo() {
                "OK: the .crate cargo holds open (the one it uploads) matches this checksum"
            } else {
                "OK: the packaged .crate matches this checksum"
            };
            ui.colored_label(GREEN, RichText::new(what).strong());
            ui.label(RichText::new(shown(p)).monospace());
        }
        Check::Mismatch { path, actual } => {
            ui.colored_label(
                RED,
                RichText::new(
                    "STOP: the .crate on disk does NOT match the checksum cargo sent. Approve is disabled.",
                )
                .strong(),
            );
            ui.label(RichText::new(format!("{}\nhashes to {actual}", shown(path))).monospace());
        }
        Check::NotFound(looked) => {
            ui.colored_label(
                RED,
                RichText::new(
                    "NOT VERIFIED: no packaged .crate was found to check the checksum against, \
                     so what would be published cannot be shown. Approve is disabled.",
                )
                .strong(),
            );
            let first: Vec<String> = looked.iter().take(3).map(|p| shown(p)).collect();
            ui.label(
                RichText::new(format!(
                    "Looked in {} and {} more places. Run cargo publish from the package's \
                     directory, and set any target directory where cargo and this helper both \
                     see it (CARGO_TARGET_DIR, build.target-dir, --target-dir).",
                    first.join(", "),
                    looked.len().saturating_sub(3)
                ))
                .small(),
            );
        }
        Check::Unreadable { path, why } => {
            ui.colored_label(
                RED,
                RichText::new(format!(
                    "NOT VERIFIED: {} could not be read ({}). Approve is disabled.",
                    shown(path),
                    escape(why).text
                ))
                .strong(),
            );
        }
        Check::Forged(why) => {
            ui.colored_label(
                RED,
                RichText::new(format!(
                    "STOP: this request cannot come from cargo: {why}. Approve is disabled."
                ))
                .strong(),
            );
        }
    }
    provenance(ui, r);
    for f in &r.flags {
        let (color, mark) = match f.level {
            Level::Danger => (RED, "DANGER:"),
            Level::Notice => (AMBER, "Note:"),
        };
        ui.colored_label(color, format!("{mark} {}", escape(&f.text).text));
    }
    changed_lines(ui, r);
}

/// The lines added and removed, since the cached earlier version, in the files a reviewer
/// must read (build script, manifest, proc-macro library, files outside `src/`): each in a
/// short scrollable box whose first lines show without scrolling.
fn changed_lines(ui: &mut Ui, r: &Report) {
    let Previous::Found(d) = &r.previous else {
        return;
    };
    for l in &d.lines {
        ui.push_id(("lines", &l.path), |ui| {
            ui.label(
                RichText::new(format!(
                    "{} {}: +{} -{} lines since {}",
                    l.why,
                    escape(&l.path).text,
                    l.added,
                    l.removed,
                    escape(&d.previous).text
                ))
                .strong(),
            );
            if let Some(why) = &l.unavailable {
                ui.weak(format!("(the lines cannot be shown: {why})"));
                return;
            }
            egui::Frame::new()
                .fill(Color32::from_gray(0x18))
                .inner_margin(4.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("hunks")
                        .max_height(96.0)
                        .auto_shrink([false, true])
                        .show(ui, |ui| {
                            for line in &l.hunks {
                                let color = match line.chars().next() {
                                    Some('+') => GREEN,
                                    Some('-') => RED,
                                    _ => Color32::GRAY,
                                };
                                ui.colored_label(
                                    color,
                                    RichText::new(escape(line).text).monospace(),
                                );
                            }
                            if l.cut > 0 {
                                ui.weak(format!("… and {} more lines", l.cut));
                            }
                        });
                });
        });
    }
}

/// Where the bytes came from: one line (matches the commit and pushed, green; differs, red;
/// local only or not checked, amber), then the files that are not the commit's.
fn provenance(ui: &mut Ui, r: &Report) {
    use crate::package::provenance::Tone;
    let refused = |ui: &mut Ui| {
        if let Some(why) = &r.refused_by_policy {
            ui.colored_label(RED, RichText::new(escape(why).text).strong());
        }
    };
    let Some(p) = &r.provenance else {
        refused(ui);
        return;
    };
    let (tone, line) = p.verdict(crate::package::provenance::now());
    let color = match tone {
        Tone::Good => GREEN,
        Tone::Look => AMBER,
        Tone::Bad => RED,
    };
    let mut text = RichText::new(format!("Source: {}", escape(&line).text));
    if tone != Tone::Look {
        text = text.strong();
    }
    ui.colored_label(color, text);
    let mut named = |what: &str, files: &[String]| {
        if files.is_empty() {
            return;
        }
        let shown: Vec<String> = files.iter().take(6).map(|f| escape(f).text).collect();
        let more = files.len().saturating_sub(6);
        ui.colored_label(
            RED,
            format!(
                "{what}: {}{}",
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
        );
    };
    named("Not the commit's bytes", &p.differs);
    named("Not tracked by the commit", &p.untracked);
    if p.dirty {
        ui.colored_label(
            AMBER,
            "cargo packaged a working tree with changes that are not committed (--allow-dirty)",
        );
    }
    refused(ui);
    signature(ui, p);
}

/// Who signed the commit: only a key the root policy names has a name; a valid signature by
/// another key is only a fingerprint.
fn signature(ui: &mut Ui, p: &crate::package::Provenance) {
    let Some(s) = &p.signature else {
        if p.checked && p.commit.is_some() {
            ui.weak("The commit is not signed.");
        }
        return;
    };
    let key = s.key.as_deref().map(|k| escape(k).text).unwrap_or_default();
    match (s.valid, &s.signer) {
        (Some(true), Some(who)) => {
            ui.colored_label(
                GREEN,
                format!("Signed by {} (SSH key {key})", escape(who).text),
            );
        }
        (Some(true), None) => {
            ui.colored_label(
                AMBER,
                format!(
                    "Signed with SSH key {key}, which the administrator's allowed-signers does \
                     not name: anyone's key"
                ),
            );
        }
        (Some(false), _) => {
            let why = s
                .why_not
                .as_deref()
                .unwrap_or("the signature does not verify");
            ui.colored_label(
                RED,
                RichText::new(format!(
                    "The commit's signature is bad: {}",
                    escape(why).text
                ))
                .strong(),
            );
        }
        (None, _) => {
            let why = s.why_not.as_deref().unwrap_or("not verified here");
            ui.weak(format!(
                "Signed ({}), not verified: {}",
                s.format,
                escape(why).text
            ));
        }
    }
}

/// One crate of a plan: where its bytes were read from, what cargo never makes, its flags
/// and its dependencies. No green "OK": the checksum shown is of these very bytes, so there is
/// nothing it could fail to match.
fn plan_verdict(ui: &mut Ui, c: &crate::request::PlanCrate) {
    let r = &c.report;
    match &r.check {
        Check::Match(p) => {
            ui.label(
                RichText::new(format!(
                    "Read once into this helper from {}: these bytes are what is uploaded.",
                    escape(&p.display().to_string()).text
                ))
                .small(),
            );
            for p in r.contents.iter().flat_map(|c| &c.problems) {
                ui.colored_label(
                    RED,
                    RichText::new(format!("PROBLEM: {}", escape(p).text)).strong(),
                );
            }
            provenance(ui, r);
            for f in &r.flags {
                let (color, mark) = match f.level {
                    Level::Danger => (RED, "DANGER:"),
                    Level::Notice => (AMBER, "Note:"),
                };
                ui.colored_label(color, format!("{mark} {}", escape(&f.text).text));
            }
            changed_lines(ui, r);
        }
        _ => package_verdict(ui, r),
    }
    if c.deps.is_empty() {
        ui.label("Dependencies: none");
    } else {
        ui.label(format!(
            "Dependencies: {}",
            c.deps
                .iter()
                .map(|d| escape(d).text)
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
}

/// The packaged crate: what changed since the cached version, and every file.
fn package_contents(ui: &mut Ui, r: &Report) {
    let shown = |p: &std::path::Path| escape(&p.display().to_string()).text;
    if let Some(c) = &r.contents {
        let files: Vec<_> = c.files.iter().filter(|f| f.kind != Kind::Dir).collect();
        match &r.previous {
            Previous::Found(d) => diff_since(ui, d),
            Previous::None => {
                ui.weak(
                    "No earlier version of this crate in the local cargo cache to compare with.",
                );
            }
            Previous::Unreadable { path, why } => {
                ui.colored_label(
                    AMBER,
                    format!(
                        "The cached earlier version {} could not be read: {why}",
                        shown(path)
                    ),
                );
            }
        }
        egui::CollapsingHeader::new(format!(
            "{} files, {} unpacked",
            files.len(),
            human_size(c.unpacked)
        ))
        .id_salt("files")
        .show(ui, |ui| {
            let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
            egui::ScrollArea::vertical()
                .id_salt("file-list")
                .max_height(160.0)
                .show_rows(ui, row_height, files.len(), |ui, range| {
                    for f in &files[range] {
                        ui.label(
                            RichText::new(format!(
                                "{:>10}  {}",
                                human_size(f.size),
                                escape(&f.path).text
                            ))
                            .monospace(),
                        );
                    }
                });
        });
    }
}

/// What changed since the cached earlier version: files and dependencies, one a line.
fn diff_since(ui: &mut Ui, d: &crate::package::Diff) {
    ui.label(
        RichText::new(format!(
            "Since {} (cached): {} added, {} removed, {} changed",
            d.previous,
            d.added.len(),
            d.removed.len(),
            d.changed.len()
        ))
        .strong(),
    );
    let e = |p: &String| escape(p).text;
    let marked = |mark: &str, items: &[String]| {
        items
            .iter()
            .map(|p| format!("{mark} {}", e(p)))
            .collect::<Vec<_>>()
    };
    let lines = [
        marked("+", &d.added),
        marked("-", &d.removed),
        marked("~", &d.changed),
        marked("+ dependency", &d.deps_added),
        marked("- dependency", &d.deps_removed),
        marked("~ dependency", &d.deps_changed),
    ]
    .concat();
    if !lines.is_empty() {
        ui.label(RichText::new(lines.join("\n")).monospace());
    }
}

/// An ancestor's command line on one line, escaped and shortened: scripts passed with `-c`
/// can be long.
fn one_line(argv: &[String]) -> String {
    const MAX: usize = 160;
    let flat = command_line(argv).text;
    match flat.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

/// Rows of a two-column grid whose values come from outside: each escaped (`crate::text`), the
/// labels of those that held hidden characters remembered for a red warning.
pub(crate) struct Rows {
    width: f32,
    hidden: Vec<&'static str>,
}

impl Rows {
    /// Rows whose values wrap at the width left beside the labels.
    pub(crate) fn new(ui: &Ui) -> Rows {
        Rows {
            width: (ui.available_width() - 110.0).max(120.0),
            hidden: Vec::new(),
        }
    }

    /// A row whose value is already escaped.
    fn shown(&mut self, ui: &mut Ui, label: &'static str, value: crate::text::Shown) {
        if value.hidden && !self.hidden.contains(&label) {
            self.hidden.push(label);
        }
        ui.label(RichText::new(label).strong());
        // Long paths and command lines wrap: every character stays visible.
        ui.scope(|ui| {
            ui.set_max_width(self.width);
            ui.add(egui::Label::new(RichText::new(value.text).monospace()).wrap());
        });
        ui.end_row();
    }

    /// A row of plain text, escaped here.
    pub(crate) fn text(&mut self, ui: &mut Ui, label: &'static str, value: &str) {
        self.shown(ui, label, escape(value));
    }

    /// Who asked: the direct parent (exe, pid, command line, directory), then its ancestors
    /// up to the session leader, one line each.
    pub(crate) fn requester(&mut self, ui: &mut Ui, requester: &crate::evidence::Requester) {
        let path = |p: &Result<std::path::PathBuf, String>| match p {
            Ok(p) => p.display().to_string(),
            Err(e) => format!("? ({e})"),
        };
        let Some(p) = requester.parent() else {
            self.text(ui, "Asked by", "(unknown)");
            return;
        };
        self.text(ui, "Asked by", &format!("{} (pid {})", path(&p.exe), p.pid));
        self.shown(ui, "Command", command_line(&p.argv));
        self.text(ui, "In directory", &path(&p.cwd));
        for anc in requester.chain.iter().skip(1) {
            let (exe, cwd) = (escape(&path(&anc.exe)), escape(&path(&anc.cwd)));
            let line = crate::text::Shown {
                text: format!(
                    "{} (pid {}, {}, in {})",
                    one_line(&anc.argv),
                    anc.pid,
                    exe.text,
                    cwd.text
                ),
                hidden: command_line(&anc.argv).hidden || exe.hidden || cwd.hidden,
            };
            self.shown(ui, "  started by", line);
        }
    }

    /// The red warning naming the fields that held hidden characters, if any.
    pub(crate) fn warn(self, ui: &mut Ui) {
        if self.hidden.is_empty() {
            return;
        }
        ui.colored_label(
            RED,
            RichText::new(format!(
                "WARNING: {} held invisible, control or direction-changing characters, shown \
                 above as \\u{{…}} and \\n escapes. Text like that is made to look like \
                 something else.",
                self.hidden
                    .iter()
                    .map(|l| l.trim())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .strong(),
        );
    }
}

/// The transaction, one row a field.
fn details(ui: &mut Ui, tx: &Transaction) {
    let mut rows = Rows::new(ui);
    egui::Grid::new("tx")
        .num_columns(2)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            rows.text(ui, "Registry", &tx.registry);
            rows.text(ui, "Operation", tx.operation.verb());
            operation_rows(&mut rows, ui, tx);
            rows.text(ui, "Stored in", &tx.store);
            if tx.recent_requests > 1 {
                rows.text(
                    ui,
                    "Requests",
                    &format!("{} in the last 10 minutes", tx.recent_requests),
                );
            }
            rows.requester(ui, &tx.requester);
        });
    rows.warn(ui);
}

/// The rows that say what this operation does.
fn operation_rows(rows: &mut Rows, ui: &mut Ui, tx: &Transaction) {
    const BY_HELPER: &str = "this helper: the token goes to no other program";
    match &tx.operation {
        Operation::Publish { name, vers, cksum } => {
            rows.text(ui, "Crate", name);
            rows.text(ui, "Version", vers);
            rows.shown(ui, "SHA-256", grouped(cksum));
        }
        Operation::PublishPlan { crates } => plan_rows(rows, ui, crates),
        Operation::Adopt { tokens } => adopt_rows(rows, ui, tokens),
        Operation::HelperOwners { name, change } => {
            use crate::publish::upload::OwnerChange;
            rows.text(ui, "Crate", name);
            match change {
                OwnerChange::List => rows.text(ui, "Asks", "the list of owners"),
                OwnerChange::Add(u) => rows.text(ui, "Invite as owners", &u.join(", ")),
                OwnerChange::Remove(u) => rows.text(ui, "Remove as owners", &u.join(", ")),
            }
            rows.text(ui, "Sent by", BY_HELPER);
        }
        Operation::HelperYank { name, vers, .. } => {
            rows.text(ui, "Crate", name);
            rows.text(ui, "Version", vers);
            rows.text(ui, "Sent by", BY_HELPER);
        }
        Operation::Yank { name, vers } | Operation::Unyank { name, vers } => {
            rows.text(ui, "Crate", name);
            rows.text(ui, "Version", vers);
        }
        Operation::Owners { name } => rows.text(ui, "Crate", name),
        Operation::Read { .. } => {
            rows.text(ui, "Token use", "reading the index and downloading crates")
        }
        Operation::Login { .. } | Operation::Migrate => token_rows(rows, ui, tx),
        Operation::GetUnnamed => rows.text(
            ui,
            "Crate",
            "(the caller did not name a crate or an operation)",
        ),
        Operation::Logout | Operation::Unknown => {}
    }
}

/// A checksum grouped in fours for comparing by eye, unless escaping hid something.
fn grouped(cksum: &str) -> crate::text::Shown {
    let mut sum = escape(cksum);
    if !sum.hidden {
        sum.text = group_checksum(&sum.text);
    }
    sum
}

/// Each crate of a plan with its checksum, and who uploads it.
fn plan_rows(rows: &mut Rows, ui: &mut Ui, crates: &[crate::request::PlanCrate]) {
    rows.text(
        ui,
        "Uploaded by",
        "this helper, from the bytes shown here: the token goes to no other program",
    );
    for (i, c) in crates.iter().enumerate() {
        let label = if i == 0 { "Crates" } else { "" };
        rows.text(ui, label, &format!("{} {}", c.name, c.vers));
        rows.shown(ui, "SHA-256", grouped(&c.cksum));
    }
}

/// Each clear-text token `setup` found, by fingerprint, and what becomes of it.
fn adopt_rows(rows: &mut Rows, ui: &mut Ui, tokens: &[crate::request::AdoptItem]) {
    for t in tokens {
        rows.text(ui, "Registry", &t.registry);
        rows.text(ui, "Token", &t.fingerprint);
        rows.text(ui, "Found in", &t.source);
        rows.text(ui, "Stored under", &t.index);
        if t.already_stored {
            rows.text(
                ui,
                "Already stored",
                "the stored token is KEPT; this copy is only removed (--enroll replaces a stored token)",
            );
        }
    }
    rows.text(
        ui,
        "Afterwards",
        "each is read only through this helper, and its clear copy is removed (no backup)",
    );
}

/// A token being stored (login) or moved (migrate): its fingerprint, and what it replaces.
fn token_rows(rows: &mut Rows, ui: &mut Ui, tx: &Transaction) {
    let migrate = tx.operation == Operation::Migrate;
    if let Some(fp) = &tx.login_fingerprint {
        rows.text(
            ui,
            if migrate {
                "Token to move"
            } else {
                "New token"
            },
            fp,
        );
    }
    if migrate {
        rows.text(
            ui,
            "Afterwards",
            "the token is read only through this helper, and removed from the Secret Service",
        );
    } else if tx.existing_entry {
        rows.text(ui, "Replaces", "the token already stored for this registry");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_fit_on_a_line() {
        let argv = |s: &[&str]| s.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        assert_eq!(
            one_line(&argv(&["bash", "-c", "\n  a\n  b"])),
            "bash -c '\\n  a\\n  b'"
        );
        let long = vec!["x".to_string(); 200];
        let short = one_line(&long);
        assert_eq!(short.chars().count(), 161);
        assert!(short.ends_with('…'));
    }

    #[test]
    fn checksum_grouping() {
        let hex = "0123456789abcdef".repeat(4);
        let g = group_checksum(&hex);
        assert_eq!(g.lines().count(), 2);
        assert_eq!(
            g.lines().next().unwrap(),
            "0123 4567 89ab cdef 0123 4567 89ab cdef"
        );
        assert_eq!(g.replace([' ', '\n'], ""), hex);
    }
}
