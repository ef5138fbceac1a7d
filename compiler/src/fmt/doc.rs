//! A small Wadler-style document: text, line breaks that a group takes flat or
//! broken, indentation, and trailing-comment suffixes; and its renderer.
//!
//! A group is laid out flat when it fits in the rest of the line (up to the
//! next possible break after it) and has no forced break inside; otherwise
//! each of its own `Line`s becomes a newline. Indentation is written lazily,
//! so empty lines never carry trailing spaces.

/// A document to lay out.
#[derive(Debug, Clone)]
pub enum Doc {
    /// Text without a newline (verbatim tokens may contain one; they are
    /// written as they are).
    Text(String),
    /// A space when flat, a newline when broken.
    Line,
    /// Nothing when flat, a newline when broken.
    SoftLine,
    /// A newline unless the current line is still empty; forces its groups
    /// to break.
    HardLine,
    /// One empty line here, when at the start of a line that does not follow
    /// an opening bracket or the start of the file. Never forces a break.
    Blank,
    /// Text written at the end of the current line, just before its newline
    /// (a trailing comment, with its leading space); forces a break.
    LineSuffix(String),
    /// Forces the enclosing groups to break.
    BreakParent,
    /// `broken` when the enclosing group breaks, else `flat`.
    IfBreak(Box<Doc>, Box<Doc>),
    /// The contents, indented by one more level after each newline.
    Indent(Box<Doc>),
    /// A unit laid out flat or broken; `bool` is true when a forced break is
    /// inside.
    Group(Box<Doc>, bool),
    Concat(Vec<Doc>),
}

/// Spaces per indentation level.
pub const INDENT: usize = 2;

impl Doc {
    pub fn text(s: impl Into<String>) -> Doc {
        Doc::Text(s.into())
    }

    pub fn concat(parts: Vec<Doc>) -> Doc {
        Doc::Concat(parts)
    }

    pub fn indent(d: Doc) -> Doc {
        Doc::Indent(Box::new(d))
    }

    pub fn group(d: Doc) -> Doc {
        let hard = d.has_hard();
        Doc::Group(Box::new(d), hard)
    }

    pub fn if_break(broken: Doc, flat: Doc) -> Doc {
        Doc::IfBreak(Box::new(broken), Box::new(flat))
    }

    pub fn empty() -> Doc {
        Doc::Concat(Vec::new())
    }

    /// Whether a forced break is inside (groups answer from their flag, so
    /// building a document stays linear).
    pub fn has_hard(&self) -> bool {
        match self {
            Doc::HardLine | Doc::LineSuffix(_) | Doc::BreakParent => true,
            Doc::Text(_) | Doc::Line | Doc::SoftLine | Doc::Blank | Doc::IfBreak(..) => false,
            Doc::Indent(d) => d.has_hard(),
            Doc::Group(_, hard) => *hard,
            Doc::Concat(v) => v.iter().any(Doc::has_hard),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

/// The number of columns a piece of text takes (characters, not bytes).
pub fn width(s: &str) -> usize {
    s.chars().count()
}

/// Lays `doc` out in `max_width` columns. Trailing comments (line suffixes)
/// on consecutive lines are aligned to one column.
pub fn render(doc: &Doc, max_width: usize) -> String {
    let mut r = Renderer {
        out: String::new(),
        line_has_content: false,
        pending_indent: 0,
        col: 0,
        suffixes: Vec::new(),
        suffix_at: Vec::new(),
        after_opener: false,
        max_width,
    };
    r.run(doc);
    r.flush_suffixes();
    align_suffixes(&r.out, &r.suffix_at)
}

struct Renderer {
    out: String,
    line_has_content: bool,
    pending_indent: usize,
    col: usize,
    suffixes: Vec<String>,
    /// Byte offsets in `out` where a line suffix starts (its leading space).
    suffix_at: Vec<usize>,
    /// The last text written ends with `{`, `(` or `[`.
    after_opener: bool,
    max_width: usize,
}

/// Pads the code before each trailing comment so that the comments of
/// consecutive lines start in one column.
fn align_suffixes(out: &str, at: &[usize]) -> String {
    // (code, comment) per line; comment empty when the line has none.
    let mut lines: Vec<(&str, &str)> = Vec::new();
    let mut start = 0usize;
    let mut k = 0usize;
    for line in out.split_inclusive('\n') {
        let end = start + line.len();
        let body = line.strip_suffix('\n').unwrap_or(line);
        while at.get(k).is_some_and(|&a| a < start) {
            k += 1;
        }
        match at.get(k) {
            Some(&a) if a < start + body.len() => {
                let cut = a - start;
                lines.push((body.get(..cut).unwrap_or(body), body.get(cut..).unwrap_or("").trim_start()));
            }
            _ => lines.push((body, "")),
        }
        start = end;
    }
    let mut result: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = 0usize;
    while let Some((code, comment)) = lines.get(i) {
        if comment.is_empty() {
            result.push(code.to_string());
            i += 1;
            continue;
        }
        let mut j = i;
        while lines.get(j).is_some_and(|(_, c)| !c.is_empty()) {
            j += 1;
        }
        let group = lines.get(i..j).unwrap_or(&[]);
        let col = group.iter().map(|(code, _)| width(code)).max().unwrap_or(0);
        for (code, comment) in group {
            let pad = " ".repeat(col.saturating_sub(width(code)) + 1);
            result.push(format!("{code}{pad}{comment}"));
        }
        i = j;
    }
    let mut joined = result.join("\n");
    if out.ends_with('\n') {
        joined.push('\n');
    }
    joined
}

impl Renderer {
    fn write(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if !self.line_has_content {
            for _ in 0..self.pending_indent {
                self.out.push(' ');
            }
            self.col = self.pending_indent;
            self.line_has_content = true;
        }
        self.out.push_str(s);
        self.after_opener = s.ends_with(['{', '(', '[']);
        match s.rfind('\n') {
            Some(nl) => self.col = width(s.get(nl + 1..).unwrap_or("")),
            None => self.col += width(s),
        }
    }

    fn flush_suffixes(&mut self) {
        let suffixes = std::mem::take(&mut self.suffixes);
        for s in suffixes {
            if self.line_has_content {
                self.suffix_at.push(self.out.len());
                self.write(&s);
            } else {
                self.write(s.trim_start());
            }
            self.after_opener = false;
        }
    }

    fn newline(&mut self, indent: usize) {
        self.flush_suffixes();
        self.out.push('\n');
        self.line_has_content = false;
        self.pending_indent = indent;
        self.col = 0;
    }

    fn blank(&mut self) {
        if self.line_has_content || self.out.is_empty() || self.out.ends_with("\n\n") || self.after_opener {
            return;
        }
        self.out.push('\n');
    }

    /// The column the next text starts at.
    fn current_col(&self) -> usize {
        if self.line_has_content {
            self.col
        } else {
            self.pending_indent
        }
    }

    fn run(&mut self, doc: &Doc) {
        let mut stack: Vec<(usize, Mode, &Doc)> = vec![(0, Mode::Break, doc)];
        while let Some((indent, mode, d)) = stack.pop() {
            match d {
                Doc::Text(s) => self.write(s),
                Doc::Line if mode == Mode::Flat => self.write(" "),
                Doc::SoftLine if mode == Mode::Flat => {}
                Doc::Line | Doc::SoftLine | Doc::HardLine => {
                    if self.line_has_content {
                        self.newline(indent);
                    } else {
                        self.pending_indent = indent;
                    }
                }
                Doc::Blank => self.blank(),
                Doc::LineSuffix(s) => self.suffixes.push(s.clone()),
                Doc::BreakParent => {}
                Doc::IfBreak(broken, flat) => {
                    stack.push((indent, mode, if mode == Mode::Break { broken } else { flat }));
                }
                Doc::Indent(inner) => stack.push((indent + INDENT, mode, inner)),
                Doc::Group(inner, hard) => {
                    let m = if mode == Mode::Flat {
                        Mode::Flat
                    } else if *hard {
                        Mode::Break
                    } else {
                        let room = self.max_width.saturating_sub(self.current_col());
                        if fits(inner, room, &stack) {
                            Mode::Flat
                        } else {
                            Mode::Break
                        }
                    };
                    stack.push((indent, m, inner));
                }
                Doc::Concat(parts) => {
                    for p in parts.iter().rev() {
                        stack.push((indent, mode, p));
                    }
                }
            }
        }
    }
}

/// Whether `doc`, flat, and what follows it up to the next line break fit in
/// `room` columns.
fn fits(doc: &Doc, room: usize, rest: &[(usize, Mode, &Doc)]) -> bool {
    let mut left = room as isize;
    let mut stack: Vec<(Mode, &Doc)> = vec![(Mode::Flat, doc)];
    let mut rest_idx = rest.len();
    loop {
        let (mode, d) = match stack.pop() {
            Some(x) => x,
            None => {
                if rest_idx == 0 {
                    return true;
                }
                rest_idx -= 1;
                match rest.get(rest_idx) {
                    Some((_, m, d)) => (*m, *d),
                    None => return true,
                }
            }
        };
        match d {
            Doc::Text(s) => {
                if s.contains('\n') {
                    return left >= width(s.split('\n').next().unwrap_or("")) as isize;
                }
                left -= width(s) as isize;
            }
            Doc::Line => match mode {
                Mode::Flat => left -= 1,
                Mode::Break => return true,
            },
            Doc::SoftLine => {
                if mode == Mode::Break {
                    return true;
                }
            }
            Doc::HardLine => return true,
            Doc::Blank | Doc::LineSuffix(_) | Doc::BreakParent => {}
            Doc::IfBreak(broken, flat) => stack.push((mode, if mode == Mode::Break { broken } else { flat })),
            Doc::Indent(inner) => stack.push((mode, inner)),
            Doc::Group(inner, hard) => {
                let m = if mode == Mode::Break && *hard { Mode::Break } else { mode };
                stack.push((m, inner));
            }
            Doc::Concat(parts) => {
                for p in parts.iter().rev() {
                    stack.push((mode, p));
                }
            }
        }
        if left < 0 {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Doc {
        let mut inner = vec![Doc::SoftLine];
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                inner.push(Doc::text(","));
                inner.push(Doc::Line);
            }
            inner.push(Doc::text(*it));
        }
        inner.push(Doc::if_break(Doc::text(","), Doc::empty()));
        Doc::group(Doc::concat(vec![Doc::text("["), Doc::indent(Doc::concat(inner)), Doc::SoftLine, Doc::text("]")]))
    }

    #[test]
    fn groups_fit_or_break() {
        assert_eq!(render(&list(&["a", "b"]), 80), "[a, b]");
        assert_eq!(render(&list(&["aaaa", "bbbb"]), 8), "[\n  aaaa,\n  bbbb,\n]");
    }

    #[test]
    fn suffixes_go_to_the_end_of_the_line() {
        let d = Doc::concat(vec![
            Doc::text("x"),
            Doc::LineSuffix(" // c".into()),
            Doc::text(" y"),
            Doc::HardLine,
            Doc::Blank,
            Doc::text("z"),
        ]);
        assert_eq!(render(&d, 80), "x y // c\n\nz");
    }
}
