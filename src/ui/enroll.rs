//! The enroll window: paste a token into a masked field, Save.

use egui::{Color32, RichText, Ui, UiBuilder};
use zeroize::Zeroizing;

use super::rows::Rows;
use super::who::{self, Ended, Phase};
use super::{Arming, BarAction, EnrollOutcome, EnrollRequest, PromptOptions, bottom_bar, layout};
use crate::error::DenyReason;
use crate::token::Token;

/// Bytes reserved for the pasted token, so the buffer never reallocates for a real one.
pub const INPUT_CAPACITY: usize = 4096;

/// State of one enroll window.
pub struct EnrollState {
    /// What is shown.
    req: EnrollRequest,
    /// Click rules.
    pub(crate) arming: Arming,
    /// The masked field's text; wiped on drop.
    pub input: Zeroizing<String>,
    /// The person ticked "replace the stored token".
    confirm_replace: bool,
    /// Set once the window has an answer.
    pub outcome: Option<EnrollOutcome>,
    field_focused: bool,
    /// The presence step after Save, when storing over a stored token needs one.
    pub who: Phase,
}

impl EnrollState {
    /// A fresh window.
    pub fn new(req: EnrollRequest, opts: &PromptOptions) -> Self {
        EnrollState {
            who: Phase::new(req.presence.clone(), None),
            req,
            arming: Arming::new(opts),
            // Room for any real token up front: growing the String would free old buffers
            // holding the token without wiping them.
            input: Zeroizing::new(String::with_capacity(INPUT_CAPACITY)),
            confirm_replace: false,
            outcome: None,
            field_focused: false,
        }
    }

    /// The same window, its presence step relayed through `link`.
    pub fn with_link(mut self, link: who::WhoLink) -> Self {
        self.who = Phase::new(self.req.presence.clone(), Some(link));
        self
    }

    /// Whether the window has its final answer (a presence step under way holds it open).
    pub fn done(&self) -> bool {
        match self.outcome {
            None => false,
            Some(EnrollOutcome::Saved(_)) => !self.who.holds(),
            Some(EnrollOutcome::Cancelled(_)) => true,
        }
    }

    /// Whether the view says a person saved, and the click is yet to be judged.
    pub fn approved(&self) -> bool {
        matches!(self.outcome, Some(EnrollOutcome::Saved(_)))
            && matches!(self.who, Phase::Off | Phase::Ready(..))
    }

    /// Whether the pasted text would be accepted, or why not.
    fn validation(&self) -> Result<(), &'static str> {
        let t = Token::new(self.input.to_string());
        t.validate(self.req.crates_io)?;
        if self.req.existing_entry && !self.confirm_replace {
            return Err("a token is already stored: tick \"Replace\" to overwrite it");
        }
        Ok(())
    }
}

/// Draws the window. Sets `state.outcome` once answered.
pub fn view(ui: &mut Ui, state: &mut EnrollState) {
    let (arm, deny) = state.arming.tick(ui);
    // The Save of the last frame counted: the presence step begins, with the token for the
    // broker, and the window stays open for it.
    if let (Some(EnrollOutcome::Saved(t)), Phase::Ready(..)) = (&state.outcome, &state.who) {
        let token = t.expose().to_string();
        state.who.begin(Some(token));
    }
    let asking = state.who.asking();
    if let Some(reason) = deny
        && !asking
    {
        state
            .outcome
            .get_or_insert(EnrollOutcome::Cancelled(reason));
    }
    let screen = ui.ctx().content_rect();
    let validation = state.validation();
    let content = if asking {
        layout::content_rect_asking(screen)
    } else {
        layout::content_rect(screen)
    };
    ui.scope_builder(UiBuilder::new().max_rect(content), |ui| {
        ui.heading(RichText::new(sentence(&state.req)).strong());
        ui.add_space(6.0);
        details(ui, &state.req);
        ui.add_space(8.0);
        if !asking {
            token_field(ui, state, &validation);
        }
    });
    if asking {
        let vetoed = state.arming.blocked.is_some().then_some(DenyReason::Vetoed);
        match who::view(ui, &mut state.who, deny.or(vetoed)) {
            Some(Ended::Confirmed) => {}
            Some(Ended::Denied(r)) => state.outcome = Some(EnrollOutcome::Cancelled(r)),
            None => {}
        }
        return;
    }
    if state.who.unavailable(state.req.presence.as_ref()) {
        state.arming.blocked.get_or_insert_with(|| {
            "this window cannot ask who you are, which this install requires".into()
        });
    }
    match bottom_bar(
        ui,
        &state.arming,
        &arm,
        "Cancel",
        "Save",
        validation.is_ok(),
    ) {
        BarAction::Deny => {
            state
                .outcome
                .get_or_insert(EnrollOutcome::Cancelled(DenyReason::Clicked));
        }
        BarAction::Approve if state.outcome.is_none() => {
            state.outcome = Some(EnrollOutcome::Saved(Token::new(state.input.to_string())));
        }
        _ => {}
    }
}

/// The one sentence, in the person's words: "Store a token for crates.io".
fn sentence(req: &EnrollRequest) -> String {
    let registry = super::summary::registry_name(&req.registry);
    if req.existing_entry {
        format!("Replace the token stored for {registry}")
    } else {
        format!("Store a token for {registry}")
    }
}

/// What the token is for and who asked, escaped like every value from outside: a red
/// warning about who asked first, then the registry and the store, then who asked in one
/// line with the whole chain behind a disclosure.
fn details(ui: &mut Ui, req: &EnrollRequest) {
    egui::ScrollArea::vertical()
        .id_salt("enroll-details")
        .max_height(190.0)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            for w in &req.requester.warnings {
                ui.colored_label(
                    Color32::from_rgb(0xe0, 0x40, 0x30),
                    RichText::new(format!(
                        "WARNING: {}",
                        crate::text::escape(&super::summary::warning(w)).text
                    ))
                    .strong(),
                );
            }
            let mut rows = Rows::new(ui);
            egui::Grid::new("enroll")
                .num_columns(2)
                .spacing([12.0, 6.0])
                .show(ui, |ui| {
                    rows.text(ui, "Registry", &req.registry);
                    rows.text(ui, "Stored in", &req.store);
                    if let Some(url) = &req.login_url {
                        rows.text(ui, "Get a token at", url);
                    }
                });
            rows.warn(ui);
            ui.add_space(4.0);
            ui.label(RichText::new("Who asked").strong());
            super::rows::asked(ui, &req.requester);
        });
}

/// The paste field (masked, focused at once, with no undo history), the Replace box, and
/// the fingerprint or the reason the text is not accepted yet.
fn token_field(ui: &mut Ui, state: &mut EnrollState, validation: &Result<(), &'static str>) {
    ui.label("Paste the token (Ctrl+V). It is never shown, and never passes through a terminal.");
    let field = egui::TextEdit::singleline(&mut *state.input)
        .password(true)
        .hint_text("token")
        .desired_width(f32::INFINITY);
    let field = ui.add(field);
    // egui keeps undo snapshots of a field's text in its memory, which nothing
    // wipes: keep none.
    if let Some(mut edit) = egui::text_edit::TextEditState::load(ui.ctx(), field.id) {
        edit.clear_undoer();
        edit.store(ui.ctx(), field.id);
    }
    if !state.field_focused {
        // Ready to paste as soon as the window opens.
        field.request_focus();
        state.field_focused = true;
    }
    if state.req.existing_entry {
        ui.checkbox(
            &mut state.confirm_replace,
            "Replace the token already stored for this registry",
        );
    }
    match validation {
        Ok(()) => {
            let fp = Token::new(state.input.to_string()).fingerprint();
            ui.label(format!("Fingerprint of the pasted token: {fp}"));
        }
        Err(why) if !state.input.is_empty() || state.req.existing_entry => {
            ui.colored_label(Color32::from_rgb(0xd0, 0x30, 0x20), *why);
        }
        Err(_) => {}
    }
}
