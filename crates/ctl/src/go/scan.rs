//! The one `fmt.Sscanf` format etcdctl's txn grammar uses for comparisons,
//! `%q) %s %q`, with Go's scanning rules: verbs skip leading spaces, a
//! literal must match the next rune exactly, and a space in the format needs
//! at least one space (or the end) in the input. Like Sscanf it reports how
//! many operands were filled before the first failure and ignores whatever
//! input follows the last one.

use super::quote::unquote;

/// The operands `%q) %s %q` filled, in order, and how many of them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scanned {
    pub filled: usize,
    pub key: Vec<u8>,
    pub op: String,
    pub value: Vec<u8>,
}

struct Input<'a> {
    rest: &'a str,
}

impl Input<'_> {
    fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.rest = &self.rest[c.len_utf8()..];
        Some(c)
    }

    /// Skips spaces; a newline is an error as in `Sscanf`.
    fn skip_space(&mut self) -> Option<()> {
        while let Some(c) = self.peek() {
            if c == '\n' {
                return None;
            }
            if !c.is_whitespace() {
                break;
            }
            self.next();
        }
        Some(())
    }

    /// A format space: at least one input space unless at the end.
    fn format_space(&mut self) -> Option<()> {
        match self.peek() {
            None => return Some(()),
            Some('\n') => return None,
            Some(c) if !c.is_whitespace() => return None,
            Some(_) => {}
        }
        while matches!(self.peek(), Some(c) if c.is_whitespace() && c != '\n') {
            self.next();
        }
        Some(())
    }

    fn quoted(&mut self) -> Option<Vec<u8>> {
        self.skip_space()?;
        let start = self.rest;
        match self.next()? {
            '`' => loop {
                if self.next()? == '`' {
                    let lit = &start[..start.len() - self.rest.len()];
                    return unquote(lit).ok();
                }
            },
            '"' => loop {
                match self.next()? {
                    '\\' => {
                        self.next()?;
                    }
                    '"' => {
                        let lit = &start[..start.len() - self.rest.len()];
                        return unquote(lit).ok();
                    }
                    _ => {}
                }
            },
            _ => None,
        }
    }

    fn word(&mut self) -> Option<String> {
        self.skip_space()?;
        let start = self.rest;
        self.peek()?;
        while matches!(self.peek(), Some(c) if !c.is_whitespace()) {
            self.next();
        }
        Some(start[..start.len() - self.rest.len()].to_string())
    }
}

/// Scans `input` against `%q) %s %q`.
pub fn scan_compare(input: &str) -> Scanned {
    let mut scanned = Scanned::default();
    let mut inp = Input { rest: input };
    let _ = fill(&mut inp, &mut scanned);
    scanned
}

fn fill(inp: &mut Input<'_>, out: &mut Scanned) -> Option<()> {
    out.key = inp.quoted()?;
    out.filled = 1;
    if inp.next()? != ')' {
        return None;
    }
    inp.format_space()?;
    out.op = inp.word()?;
    out.filled = 2;
    inp.format_space()?;
    out.value = inp.quoted()?;
    out.filled = 3;
    Some(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scans_a_full_comparison() {
        let s = scan_compare(r#""foo") = "bar""#);
        assert_eq!(s.filled, 3);
        assert_eq!(s.key, b"foo");
        assert_eq!(s.op, "=");
        assert_eq!(s.value, b"bar");
    }

    #[test]
    fn skips_spaces_before_verbs_and_ignores_trailing_input() {
        let s = scan_compare(r#" "a\x41") !=   "1" trailing"#);
        assert_eq!(
            (s.filled, s.key.as_slice(), s.op.as_str()),
            (3, &b"aA"[..], "!=")
        );
        assert_eq!(s.value, b"1");
    }

    #[test]
    fn stops_at_the_first_mismatch() {
        assert_eq!(scan_compare(r#""foo" ) = "bar""#).filled, 1);
        assert_eq!(scan_compare(r#""foo")= "bar""#).filled, 1);
        assert_eq!(scan_compare(r#""foo") ="bar""#).filled, 2);
        assert_eq!(scan_compare(r#""foo") ="bar""#).op, "=\"bar\"");
        assert_eq!(scan_compare(r#"foo) = "bar""#).filled, 0);
        assert_eq!(scan_compare(r#""foo") = bar"#).filled, 2);
        assert_eq!(scan_compare(r#""fo\qo") = "bar""#).filled, 0);
    }
}
