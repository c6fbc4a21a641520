//! The confirm window: the transaction, who asked, Deny and Approve.

use egui::{RichText, Ui, UiBuilder};

use super::summary::{self, Mark, Section};
use super::who::{self, Ended, Phase};
use super::{
    Arming, BarAction, Decision, PromptOptions, Transaction, bottom_bar, crate_view, layout,
    palette, rows,
};
use crate::error::DenyReason;
use crate::package::Check;
use crate::request::{CargoRequest, HelperRequest, Operation, StoreChange};
use crate::text::escape;

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
    /// The section a clicked verdict item points to, until the window has scrolled there.
    pub jump: Option<Section>,
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
            jump: None,
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
        Operation::Cargo(CargoRequest::Publish { name, vers, .. }) => (
            format!("cargo wants to PUBLISH {} {}", e(name), e(vers)),
            "Approve",
        ),
        Operation::Helper(HelperRequest::Publish { crates }) => (
            match crates.as_slice() {
                [one] => format!("PUBLISH {} {}", e(&one.name), e(&one.vers)),
                more => format!("PUBLISH {} crates", more.len()),
            },
            "Approve",
        ),
        Operation::Helper(HelperRequest::Owners { name, change }) => (
            match change {
                crate::request::OwnerChange::List => {
                    format!("LIST THE OWNERS of {}", e(name))
                }
                _ => format!("CHANGE THE OWNERS of {}", e(name)),
            },
            "Approve",
        ),
        Operation::Helper(HelperRequest::Yank { name, vers, undo }) => (
            format!(
                "{} {} {}",
                if *undo { "UN-YANK" } else { "YANK" },
                e(name),
                e(vers)
            ),
            "Approve",
        ),
        Operation::Cargo(CargoRequest::Yank { name, vers, undo }) => (
            format!(
                "cargo wants to {} {} {}",
                if *undo { "UN-YANK" } else { "YANK" },
                e(name),
                e(vers)
            ),
            "Approve",
        ),
        Operation::Cargo(CargoRequest::Owners { name }) => (
            format!("cargo wants to CHANGE THE OWNERS of {}", e(name)),
            "Approve",
        ),
        Operation::Cargo(CargoRequest::Read { .. }) => (
            "cargo wants to READ from a private registry".into(),
            "Approve",
        ),
        Operation::Store(StoreChange::Login { .. }) if existing => {
            ("Replace the stored registry token?".into(), "Replace")
        }
        Operation::Store(StoreChange::Login { .. }) => {
            ("Store a new registry token?".into(), "Store")
        }
        Operation::Store(StoreChange::Logout) => {
            ("Remove the stored registry token?".into(), "Remove")
        }
        Operation::Store(StoreChange::Adopt { tokens }) => (
            format!(
                "Move {} clear-text registry token{} into the store?",
                tokens.len(),
                if tokens.len() == 1 { "" } else { "s" }
            ),
            "Move",
        ),
        Operation::Store(StoreChange::Migrate) if existing => (
            "Replace the sealed store's token with the Secret Service's?".into(),
            "Replace",
        ),
        Operation::Store(StoreChange::Migrate) => (
            "Move the registry token into the sealed store?".into(),
            "Move",
        ),
        Operation::Caller => ("A program asks for the registry token".into(), "Approve"),
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
    let (_, approve_label) = wording(&state.tx.operation, state.tx.existing_entry);
    let content = if asking {
        layout::content_rect_asking(screen)
    } else {
        layout::content_rect(screen)
    };
    ui.scope_builder(UiBuilder::new().max_rect(content), |ui| {
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                // What is authorised, and whether anything is unusual, come first.
                sentence(ui, &state.tx);
                if let Some(to) = verdict(ui, &state.tx) {
                    state.jump = Some(to);
                }
                ui.separator();
                sections(ui, &state.tx, &mut state.jump);
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

/// The one sentence, large; under it, compact, the checksum and where the token is kept.
fn sentence(ui: &mut Ui, tx: &Transaction) {
    ui.label(RichText::new(summary::sentence(tx)).strong().size(20.0));
    let cksum = match &tx.operation {
        Operation::Cargo(CargoRequest::Publish { cksum, .. }) => Some(cksum.as_str()),
        Operation::Helper(HelperRequest::Publish { crates }) if crates.len() == 1 => {
            Some(crates[0].cksum.as_str())
        }
        _ => None,
    };
    let mut line = Vec::new();
    if let Some(c) = cksum
        .map(escape)
        .filter(|c| !c.hidden && c.text.len() == 64)
    {
        let g = group_checksum(&c.text).replace('\n', " ");
        line.push(format!("SHA-256 {} … {}", &g[..9], &g[g.len() - 9..]));
    }
    line.push(format!("token kept in {}", escape(&tx.store).text));
    ui.label(RichText::new(line.join("  ·  ")).monospace().size(11.0));
}

/// The verdict line: "Nothing unusual: …" in green, or what needs a look, each item a link to
/// its section. Returns the section a person clicked.
fn verdict(ui: &mut Ui, tx: &Transaction) -> Option<Section> {
    let v = summary::verdict(tx, crate::package::provenance::now());
    if v.pending {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Checking the packaged .crate… Approve waits for this.");
        });
    }
    if let Some(instead) = summary::provider_mode(&tx.operation) {
        // cargo's own request: the token will be in cargo, not in this helper. Looks unlike
        // the helper's plan window on purpose: a person who typed `cargo confirm-gui publish`
        // and sees this was sent somewhere else (a cargo alias, say).
        egui::Frame::new()
            .fill(palette::banner_bg(ui))
            .inner_margin(4.0)
            .show(ui, |ui| {
                ui.colored_label(
                    palette::amber(ui),
                    RichText::new(format!(
                        "The token goes to cargo, where your programs can read it; `{instead}` \
                         keeps it."
                    ))
                    .strong(),
                );
            });
    }
    if let Some(fine) = &v.fine {
        ui.colored_label(palette::green(ui), RichText::new(fine).strong());
        return None;
    }
    let mut jump = None;
    let stops = v.items.iter().filter(|i| i.mark == Mark::Stop).count();
    let looks = v.items.len() - stops;
    ui.label(
        RichText::new(match (stops, looks) {
            (0, n) => format!("Worth a look ({n}):"),
            (s, 0) => format!("Stop and look ({s}):"),
            (s, n) => format!("Stop and look ({s}), worth a look ({n}):"),
        })
        .strong(),
    );
    for item in &v.items {
        let color = match item.mark {
            Mark::Stop => palette::red(ui),
            Mark::Look => palette::amber(ui),
        };
        let text = RichText::new(format!("• {}", item.text)).color(color);
        let text = if item.mark == Mark::Stop {
            text.strong()
        } else {
            text
        };
        // A link to where the window shows it: scrolls there, opens nothing.
        let r = ui.add(egui::Label::new(text).sense(egui::Sense::click()));
        if r.on_hover_cursor(egui::CursorIcon::PointingHand).clicked() {
            jump = Some(item.section);
        }
    }
    jump
}

/// A section's title; the window scrolls to it when a verdict item that points here was
/// clicked.
fn section_title(ui: &mut Ui, this: Section, jump: &mut Option<Section>, title: &str) {
    ui.add_space(8.0);
    let r = ui.label(RichText::new(title).strong().size(15.0));
    if *jump == Some(this) {
        r.scroll_to_me(Some(egui::Align::TOP));
        *jump = None;
    }
}

/// Every section below the verdict, in the order a person decides: what is published, what
/// changed, who asked, the details.
fn sections(ui: &mut Ui, tx: &Transaction, jump: &mut Option<Section>) {
    if let Operation::Helper(HelperRequest::Publish { crates }) = &tx.operation {
        for (i, c) in crates.iter().enumerate() {
            ui.push_id(("crate", i), |ui| {
                let name = format!("{} {}", escape(&c.name).text, escape(&c.vers).text);
                section_title(ui, Section::Source(i), jump, &name);
                crate_view::plan_verdict(ui, c);
                section_title(
                    ui,
                    Section::Changes(i),
                    jump,
                    &format!("{name}: what changed"),
                );
                crate_view::package_contents(ui, &c.report);
            });
        }
    }
    if let Some(report) = tx.package.as_ref().and_then(|p| p.get()) {
        section_title(ui, Section::Source(0), jump, "What is published");
        crate_view::package_verdict(ui, report);
        section_title(ui, Section::Changes(0), jump, "What changed");
        crate_view::package_contents(ui, report);
    }
    section_title(ui, Section::Asked, jump, "Who asked");
    rows::asked(ui, &tx.requester);
    section_title(ui, Section::Details, jump, "Details");
    rows::details(ui, tx);
}

/// Blocks Approve, with the reason shown, for every request the window cannot vouch for.
/// Returns whether the check of the `.crate` is finished (Approve waits for it).
fn block_what_cannot_be_approved(state: &mut ConfirmState) -> bool {
    let blocked = &mut state.arming.blocked;
    // A token goes only to a cargo that was verified to be the one asking.
    if state.tx.operation.releases_to_cargo() && !state.tx.requester.parent_is_cargo {
        blocked.get_or_insert_with(|| {
            "the program asking is not verified to be cargo (see the verdict above)".into()
        });
    }
    // A plan is approvable only when every crate in it is.
    if let Operation::Helper(HelperRequest::Publish { crates }) = &state.tx.operation {
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

#[cfg(test)]
mod tests {
    use super::*;

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
