//! Renders diagnostics for people, with miette: source snippet, labels, help.

use canon_compiler::diagnostics::{Diagnostic, LineIndex, Severity};
use canon_runtime::LoadedPackage;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, MietteError, MietteSpanContents, Report,
    SourceCode, SourceSpan, SpanContents,
};

/// A file's text for miette, read from a few lines before a span (found with
/// the line index) rather than from the file's start, so rendering every
/// diagnostic of a file costs the lines it shows, not the whole file each
/// time (10,000 diagnostics of a 10,000-row decision table took seconds).
/// The text and index are shared by the file's diagnostics.
struct Source {
    name: String,
    text: Arc<str>,
    lines: Arc<LineIndex>,
    /// A lone `\r` (a line break to miette, not to the index): read from the start.
    plain: bool,
}

impl SourceCode for Source {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        // The window starts at a line start at least `before` lines above the
        // span, so miette finds the same lines in it; its lines and offsets
        // are then shifted back.
        let line = self.lines.line(span.offset() as u32);
        let from = line.saturating_sub(before as u32 + 1).max(1);
        let (start, lines_above) = match self.lines.line_start(from) {
            Some(s) if !self.plain && (s as usize) <= span.offset() => (s as usize, from as usize - 1),
            _ => (0, 0),
        };
        let window = self.text.as_bytes().get(start..).unwrap_or(&[]);
        let inner = SourceSpan::new((span.offset() - start).into(), span.len());
        let c = <[u8] as SourceCode>::read_span(window, &inner, before, after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            c.data(),
            SourceSpan::new((c.span().offset() + start).into(), c.span().len()),
            c.line() + lines_above,
            c.column(),
            c.line_count() + lines_above,
        )))
    }
}

/// The longest line shown as a snippet, in bytes.
const LONG_LINE: usize = 2000;

/// The length in bytes of the line `at` is on.
fn line_len(text: &str, lines: &LineIndex, at: usize) -> usize {
    let line = lines.line(at as u32);
    let start = lines.line_start(line).unwrap_or(0) as usize;
    let end = lines.line_start(line + 1).map_or(text.len(), |e| e as usize);
    end.saturating_sub(start)
}

pub fn diagnostics(pkg: &LoadedPackage, diags: &[Diagnostic]) {
    let theme = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    // Per file: its text, line index and whether it has a lone `\r`.
    type Shared = (Arc<str>, Arc<LineIndex>, bool);
    let mut shared: Vec<Option<Shared>> = vec![None; pkg.sources.len()];
    for d in diags {
        let Some((path, text)) = pkg.sources.get(d.file.0 as usize) else { continue };
        let Some(slot) = shared.get_mut(d.file.0 as usize) else { continue };
        let (arc, lines, plain) = slot
            .get_or_insert_with(|| {
                let b = text.as_bytes();
                let lone_cr = b.iter().enumerate().any(|(i, c)| *c == b'\r' && b.get(i + 1) != Some(&b'\n'));
                (Arc::from(text.as_str()), Arc::new(LineIndex::new(text)), lone_cr)
            })
            .clone();
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
        // miette pads a label to its column with `{:width$}`, which panics
        // past 65,535 columns; a line that long is no use as a snippet
        // anyway. Its place is said in the help instead.
        let long = labels
            .iter()
            .flat_map(|l| [l.offset(), l.offset() + l.len()])
            .any(|at| line_len(&arc, &lines, at) > LONG_LINE);
        if long {
            let (line, col) = lines.line_col(&arc, start as u32);
            let note = format!("at {path}:{line}:{col} (the line is too long to show)");
            help = Some(match help {
                Some(h) => format!("{note}\n{h}"),
                None => note,
            });
            labels.clear();
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
        let report = if long {
            Report::new(md)
        } else {
            Report::new(md).with_source_code(Source { name: path.clone(), text: arc, lines, plain })
        };
        let mut out = String::new();
        if handler.render_report(&mut out, report.as_ref()).is_ok() {
            eprint!("{out}");
        } else {
            eprintln!("{}: {} [{}]", path, d.message, d.code.as_str());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use miette::NamedSource;

    /// `Source` reads the same lines, offsets, line and column numbers as
    /// miette reading the whole file, wherever the span and however many
    /// context lines (line breaks `\n`, `\r\n`, a lone `\r`).
    #[test]
    fn a_source_reads_what_miette_reads_from_the_whole_file() {
        for text in ["a\nbb\n\nccc dd\ne\nff\n", "x\r\nyy\r\n\r\nzzz\r\nw", "p\rq\nr\n", "one line", "\n\n\n"] {
            let b = text.as_bytes();
            let lone_cr = b.iter().enumerate().any(|(i, c)| *c == b'\r' && b.get(i + 1) != Some(&b'\n'));
            let ours = Source {
                name: "f.canon".into(),
                text: Arc::from(text),
                lines: Arc::new(LineIndex::new(text)),
                plain: lone_cr,
            };
            let theirs = NamedSource::new("f.canon", text.to_string());
            for start in 0..text.len() {
                for len in 0..(text.len() - start).min(6) {
                    for ctx in 0..3 {
                        let span = SourceSpan::new(start.into(), len);
                        let a = ours.read_span(&span, ctx, ctx);
                        let b = theirs.read_span(&span, ctx, ctx);
                        match (a, b) {
                            (Ok(a), Ok(b)) => {
                                let what = format!("{text:?} at {start}+{len}, {ctx} lines");
                                assert_eq!(a.data(), b.data(), "{what}");
                                assert_eq!(a.span(), b.span(), "{what}");
                                assert_eq!(a.line(), b.line(), "{what}");
                                assert_eq!(a.column(), b.column(), "{what}");
                                assert_eq!(a.line_count(), b.line_count(), "{what}");
                                assert_eq!(a.name(), b.name(), "{what}");
                            }
                            (a, b) => assert_eq!(a.is_ok(), b.is_ok()),
                        }
                    }
                }
            }
        }
    }
}
