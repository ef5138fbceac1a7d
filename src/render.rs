//! Renders diagnostics for people, with miette: source snippet, labels, help.

use canon_compiler::diagnostics::{Diagnostic, LineIndex, Severity};
use canon_runtime::LoadedPackage;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Report};

pub fn diagnostics(pkg: &LoadedPackage, diags: &[Diagnostic]) {
    let theme = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    for d in diags {
        let Some((path, text)) = pkg.sources.get(d.file.0 as usize) else { continue };
        let start = d.span.start as usize;
        let len = (d.span.end.saturating_sub(d.span.start)) as usize;
        let mut labels = vec![LabeledSpan::new_primary_with_span(Some(d.code.title().to_string()), (start, len))];
        let mut help = d.help.clone();
        for l in &d.labels {
            if l.file == d.file {
                let ls = l.span.start as usize;
                let ll = (l.span.end.saturating_sub(l.span.start)) as usize;
                // Keep labels disjoint: overlapping labels render misleadingly.
                if ls + ll <= start || ls >= start + len.max(1) {
                    labels.push(LabeledSpan::new_with_span(Some(l.message.clone()), (ls, ll)));
                }
            } else if let Some((other, otext)) = pkg.sources.get(l.file.0 as usize) {
                let line = LineIndex::new(otext).line(l.span.start);
                let note = format!("{}: {other}:{line}", l.message);
                help = Some(match help {
                    Some(h) => format!("{h}\n{note}"),
                    None => note,
                });
            }
        }
        let mut md = MietteDiagnostic::new(d.message.clone())
            .with_code(d.code.as_str())
            .with_severity(match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
            })
            .with_labels(labels);
        if let Some(h) = help {
            md = md.with_help(h);
        }
        let report = Report::new(md).with_source_code(NamedSource::new(path.clone(), text.clone()));
        let mut out = String::new();
        if handler.render_report(&mut out, report.as_ref()).is_ok() {
            eprint!("{out}");
        } else {
            eprintln!("{}: {} [{}]", path, d.message, d.code.as_str());
        }
    }
}
