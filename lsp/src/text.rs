//! Byte offsets to LSP-style positions (0-based line, UTF-16 column) and back.

use canon_compiler::diagnostics::LineIndex;

/// A 0-based line and a 0-based column counted in UTF-16 code units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: u32,
    pub col16: u32,
}

/// Converts between byte offsets and [`Pos`] for one text.
pub struct Positions<'a> {
    text: &'a str,
    lines: LineIndex,
}

impl<'a> Positions<'a> {
    pub fn new(text: &'a str) -> Positions<'a> {
        Positions { text, lines: LineIndex::new(text) }
    }

    /// The position of a byte offset (clamped to the text; an offset inside a
    /// character counts from that character's start).
    pub fn pos(&self, offset: u32) -> Pos {
        let offset = (offset as usize).min(self.text.len()) as u32;
        let line = self.lines.line(offset).max(1);
        let start = self.lines.line_start(line).unwrap_or(0) as usize;
        let mut col16 = 0u32;
        for (i, c) in self.text.get(start..).unwrap_or("").char_indices() {
            if start + i >= offset as usize {
                break;
            }
            col16 += c.len_utf16() as u32;
        }
        Pos { line: line - 1, col16 }
    }

    /// The byte offset of a position (a column past the line's end is its end;
    /// a line past the text's end is the text's end).
    pub fn offset(&self, pos: Pos) -> u32 {
        let Some(start) = self.lines.line_start(pos.line.saturating_add(1)) else {
            return self.text.len() as u32;
        };
        let start = start as usize;
        let mut col16 = 0u32;
        for (i, c) in self.text.get(start..).unwrap_or("").char_indices() {
            if c == '\n' || col16 >= pos.col16 {
                return (start + i) as u32;
            }
            col16 += c.len_utf16() as u32;
        }
        self.text.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_round_trip() {
        let p = Positions::new("ab\ncd\n");
        assert_eq!(p.pos(0), Pos { line: 0, col16: 0 });
        assert_eq!(p.pos(4), Pos { line: 1, col16: 1 });
        assert_eq!(p.offset(Pos { line: 1, col16: 1 }), 4);
        assert_eq!(p.pos(6), Pos { line: 2, col16: 0 });
        assert_eq!(p.offset(Pos { line: 7, col16: 0 }), 6);
        assert_eq!(p.offset(Pos { line: 0, col16: 99 }), 2);
    }

    #[test]
    fn utf16_columns() {
        // `é` is 2 bytes and 1 UTF-16 unit; `𝄞` is 4 bytes and 2 units.
        let text = "é𝄞x\nz";
        let p = Positions::new(text);
        let x = text.find('x').unwrap_or(0) as u32;
        assert_eq!(p.pos(x), Pos { line: 0, col16: 3 });
        assert_eq!(p.offset(Pos { line: 0, col16: 3 }), x);
        assert_eq!(p.offset(Pos { line: 0, col16: 1 }), 2);
        let z = text.find('z').unwrap_or(0) as u32;
        assert_eq!(p.pos(z), Pos { line: 1, col16: 0 });
    }
}
