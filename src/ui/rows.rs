//! Two-column rows of values that come from outside, each escaped: the transaction's details
//! and who asked.

use egui::{RichText, Ui};

use super::confirm::group_checksum;
use super::{Transaction, palette};
use crate::request::{CargoRequest, HelperRequest, Operation, StoreChange};
use crate::text::{command_line, escape};

/// An ancestor's command line on one line, escaped and shortened: scripts passed with `-c`
/// can be long.
pub(super) fn one_line(argv: &[String]) -> String {
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
            palette::red(ui),
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
pub(super) fn details(ui: &mut Ui, tx: &Transaction) {
    let mut rows = Rows::new(ui);
    egui::Grid::new("tx")
        .num_columns(2)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            // setup's window names a registry for each token it moves: no row for the whole.
            if !matches!(tx.operation, Operation::Store(StoreChange::Adopt { .. })) {
                rows.text(ui, "Registry", &tx.registry);
            }
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
        });
    rows.warn(ui);
}

/// The rows that say what this operation does.
pub(super) fn operation_rows(rows: &mut Rows, ui: &mut Ui, tx: &Transaction) {
    const BY_HELPER: &str = "this helper: the token goes to no other program";
    match &tx.operation {
        Operation::Cargo(CargoRequest::Publish { name, vers, cksum }) => {
            rows.text(ui, "Crate", name);
            rows.text(ui, "Version", vers);
            rows.shown(ui, "SHA-256", grouped(cksum));
        }
        Operation::Helper(HelperRequest::Publish { crates }) => plan_rows(rows, ui, crates),
        Operation::Store(StoreChange::Adopt { tokens }) => adopt_rows(rows, ui, tokens),
        Operation::Helper(HelperRequest::Owners { name, change }) => {
            use crate::request::OwnerChange;
            rows.text(ui, "Crate", name);
            match change {
                OwnerChange::List => rows.text(ui, "Asks", "the list of owners"),
                OwnerChange::Add(u) => rows.text(ui, "Invite as owners", &u.join(", ")),
                OwnerChange::Remove(u) => rows.text(ui, "Remove as owners", &u.join(", ")),
            }
            rows.text(ui, "Sent by", BY_HELPER);
        }
        Operation::Helper(HelperRequest::Yank { name, vers, .. }) => {
            rows.text(ui, "Crate", name);
            rows.text(ui, "Version", vers);
            rows.text(ui, "Sent by", BY_HELPER);
        }
        Operation::Cargo(CargoRequest::Yank { name, vers, .. }) => {
            rows.text(ui, "Crate", name);
            rows.text(ui, "Version", vers);
        }
        Operation::Cargo(CargoRequest::Owners { name }) => rows.text(ui, "Crate", name),
        Operation::Cargo(CargoRequest::Read { .. }) => {
            rows.text(ui, "Token use", "reading the index and downloading crates")
        }
        Operation::Store(StoreChange::Login { .. }) | Operation::Store(StoreChange::Migrate) => {
            token_rows(rows, ui, tx)
        }
        Operation::Caller => rows.text(
            ui,
            "Crate",
            "(the caller did not name a crate or an operation)",
        ),
        Operation::Store(StoreChange::Logout) | Operation::Unknown => {}
    }
}

/// A checksum grouped in fours for comparing by eye, unless escaping hid something.
pub(super) fn grouped(cksum: &str) -> crate::text::Shown {
    let mut sum = escape(cksum);
    if !sum.hidden {
        sum.text = group_checksum(&sum.text);
    }
    sum
}

/// Each crate of a plan with its checksum, and who uploads it.
pub(super) fn plan_rows(rows: &mut Rows, ui: &mut Ui, crates: &[crate::request::PlanCrate]) {
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
pub(super) fn adopt_rows(rows: &mut Rows, ui: &mut Ui, tokens: &[crate::request::AdoptItem]) {
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
pub(super) fn token_rows(rows: &mut Rows, ui: &mut Ui, tx: &Transaction) {
    let migrate = tx.operation == Operation::Store(StoreChange::Migrate);
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

/// Who asked, in one line ("cargo (checked), in ~/src/foo"), and the whole process chain
/// behind a disclosure.
pub(super) fn asked(ui: &mut Ui, requester: &crate::evidence::Requester) {
    ui.label(RichText::new(one_line_requester(requester)).monospace());
    egui::CollapsingHeader::new("Process chain (programs, ids, command lines, directories)")
        .id_salt("chain")
        .show(ui, |ui| {
            let mut rows = Rows::new(ui);
            egui::Grid::new("chain-rows")
                .num_columns(2)
                .spacing([12.0, 6.0])
                .show(ui, |ui| rows.requester(ui, requester));
            rows.warn(ui);
            if let Some(checked) = &requester.checked {
                ui.colored_label(palette::green(ui), escape(checked).text);
            }
        });
}

/// "cargo (checked), in ~/src/foo": the program's name, whether it is the verified cargo, and
/// where it runs, escaped.
pub(crate) fn one_line_requester(requester: &crate::evidence::Requester) -> String {
    let Some(p) = requester.parent() else {
        return "(unknown)".into();
    };
    let name = p
        .exe
        .as_ref()
        .ok()
        .and_then(|e| e.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "?".into());
    let who = if requester.parent_is_cargo {
        format!("{} (checked)", escape(&name).text)
    } else {
        format!("{} (pid {})", escape(&name).text, p.pid)
    };
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let cwd = match &p.cwd {
        Ok(c) => match home.as_ref().and_then(|h| c.strip_prefix(h).ok()) {
            Some(rest) if rest.as_os_str().is_empty() => "~".to_string(),
            Some(rest) => format!("~/{}", rest.display()),
            None => c.display().to_string(),
        },
        Err(e) => format!("? ({e})"),
    };
    format!("{who}, in {}", escape(&cwd).text)
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
}
