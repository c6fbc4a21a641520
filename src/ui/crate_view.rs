//! One crate in the confirm window: what is published (the checksum's verdict and where the
//! bytes came from), and what changed since the last release (files, dependencies, the lines
//! of the files a reviewer must read).

use egui::{RichText, Ui};

use super::palette;
use crate::package::{Check, Kind, Previous, Report, human_size};
use crate::text::escape;

/// The packaged crate: does it match, and what must a reviewer notice.
pub(super) fn package_verdict(ui: &mut Ui, r: &Report) {
    let shown = |p: &std::path::Path| escape(&p.display().to_string()).text;
    match &r.check {
        Check::Match(p) => {
            let what = if r.held_by_cargo() {
                "OK: the .crate cargo holds open (the one it uploads) matches this checksum"
            } else {
                "OK: the packaged .crate matches this checksum"
            };
            ui.colored_label(palette::green(ui), RichText::new(what).strong());
            ui.label(RichText::new(shown(p)).monospace());
        }
        Check::Mismatch { path, actual } => {
            ui.colored_label(
                palette::red(ui),
                RichText::new(
                    "STOP: the .crate on disk does NOT match the checksum cargo sent. Approve is disabled.",
                )
                .strong(),
            );
            ui.label(RichText::new(format!("{}\nhashes to {actual}", shown(path))).monospace());
        }
        Check::NotFound(looked) => {
            ui.colored_label(
                palette::red(ui),
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
                palette::red(ui),
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
                palette::red(ui),
                RichText::new(format!(
                    "STOP: this request cannot come from cargo: {why}. Approve is disabled."
                ))
                .strong(),
            );
        }
    }
    provenance(ui, r);
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
                .fill(palette::code_bg(ui))
                .inner_margin(4.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("hunks")
                        .max_height(96.0)
                        .auto_shrink([false, true])
                        .show(ui, |ui| {
                            for line in &l.hunks {
                                let color = match line.chars().next() {
                                    Some('+') => palette::green(ui),
                                    Some('-') => palette::red(ui),
                                    _ => palette::grey(ui),
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
            ui.colored_label(palette::red(ui), RichText::new(escape(why).text).strong());
        }
    };
    let Some(p) = &r.provenance else {
        refused(ui);
        return;
    };
    let (tone, line) = p.verdict(crate::package::provenance::now());
    let color = match tone {
        Tone::Good => palette::green(ui),
        Tone::Look => palette::amber(ui),
        Tone::Bad => palette::red(ui),
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
            palette::red(ui),
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
    named("Pinned by Cargo.lock, not by the commit's", &p.lock_changes);
    for what in &p.unverified {
        ui.colored_label(
            palette::amber(ui),
            format!("Not compared with the commit: {}", escape(what).text),
        );
    }
    if p.dirty {
        ui.colored_label(
            palette::amber(ui),
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
                palette::green(ui),
                format!("Signed by {} (SSH key {key})", escape(who).text),
            );
        }
        (Some(true), None) => {
            ui.colored_label(
                palette::amber(ui),
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
                palette::red(ui),
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
pub(super) fn plan_verdict(ui: &mut Ui, c: &crate::request::PlanCrate) {
    let r = &c.report;
    match &r.check {
        Check::Match(p) => {
            ui.label(
                RichText::new(format!(
                    "Read once into this helper from {}: these bytes are what is uploaded.",
                    escape(&p.display().to_string()).text
                ))
                .color(ui.visuals().weak_text_color()),
            );
            for p in r.contents.iter().flat_map(|c| &c.problems) {
                ui.colored_label(
                    palette::red(ui),
                    RichText::new(format!("PROBLEM: {}", escape(p).text)).strong(),
                );
            }
            provenance(ui, r);
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
pub(super) fn package_contents(ui: &mut Ui, r: &Report) {
    let shown = |p: &std::path::Path| escape(&p.display().to_string()).text;
    if let Some(c) = &r.contents {
        let files: Vec<_> = c.files.iter().filter(|f| f.kind != Kind::Dir).collect();
        match &r.previous {
            Previous::Found(d) => {
                diff_since(ui, d);
                changed_lines(ui, r);
            }
            Previous::None => {
                ui.weak(
                    "No earlier version of this crate in the local cargo cache to compare with.",
                );
            }
            Previous::Unreadable { path, why } => {
                ui.colored_label(
                    palette::amber(ui),
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
