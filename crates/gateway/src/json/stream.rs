//! Finding one JSON value after another in a byte stream, as Go's
//! `json.Decoder` does for etcd's gateway: an object or array ends at its
//! closing bracket, a bare scalar at the first byte after it (or the end
//! of input), and bytes after a value are left for the next one.

use super::scanner::{Scanner, Step, is_space};

/// The outcome of looking for a value in the bytes seen so far.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// The value is the first `n` bytes.
    Value(usize),
    NeedMore,
    Syntax(String),
}

/// The outcome at the end of input.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AtEnd {
    /// The value is the whole remaining input.
    Value,
    /// Nothing but spaces was left.
    Nothing,
    /// A value was started and not finished: Go's `unexpected EOF`.
    Truncated,
}

/// Scans one value incrementally; bytes already scanned are not read twice.
#[derive(Default)]
pub(crate) struct ValueSplitter {
    scanner: Scanner,
    scanned: usize,
}

impl ValueSplitter {
    /// Continues scanning `buf`, which holds everything since the value's
    /// start, grown since the last call.
    pub(crate) fn scan(&mut self, buf: &[u8]) -> Found {
        while let Some(&c) = buf.get(self.scanned) {
            match self.scanner.step(c) {
                Step::End => return Found::Value(self.scanned),
                Step::CloseComposite if self.scanner.at_top() => {
                    return Found::Value(self.scanned + 1);
                }
                Step::Error => {
                    return Found::Syntax(self.scanner.error().unwrap_or_default().to_owned());
                }
                Step::Continue | Step::CloseComposite => self.scanned += 1,
            }
        }
        Found::NeedMore
    }

    /// The input ended after `buf`.
    pub(crate) fn finish(&mut self, buf: &[u8]) -> AtEnd {
        if self.scanner.step(b' ') == Step::End {
            AtEnd::Value
        } else if buf.iter().all(|&c| is_space(c)) {
            AtEnd::Nothing
        } else {
            AtEnd::Truncated
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        let mut splitter = ValueSplitter::default();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                match splitter.scan(&buf) {
                    Found::Value(n) => {
                        out.push(String::from_utf8_lossy(&buf[..n]).trim().to_owned());
                        buf.drain(..n);
                        splitter = ValueSplitter::default();
                    }
                    Found::NeedMore => break,
                    Found::Syntax(e) => {
                        out.push(format!("error: {e}"));
                        return out;
                    }
                }
            }
        }
        match splitter.finish(&buf) {
            AtEnd::Value => out.push(String::from_utf8_lossy(&buf).trim().to_owned()),
            AtEnd::Nothing => {}
            AtEnd::Truncated => out.push("unexpected EOF".to_owned()),
        }
        out
    }

    #[test]
    fn values_follow_each_other() {
        assert_eq!(
            split(&[b"{\"a\":1}{\"b\"", b":2} [3]"]),
            ["{\"a\":1}", "{\"b\":2}", "[3]"]
        );
        assert_eq!(split(&[b" 12", b"3 tru", b"e"]), ["123", "true"]);
        assert_eq!(split(&[b"  \n"]), Vec::<String>::new());
        assert_eq!(split(&[b"{\"a\""]), ["unexpected EOF"]);
        assert_eq!(split(&[b"tru"]), ["unexpected EOF"]);
        assert_eq!(
            split(&[b"{}garbage"]),
            [
                "{}",
                "error: invalid character 'g' looking for beginning of value"
            ]
        );
        assert_eq!(
            split(&[b"{bad"]),
            ["error: invalid character 'b' looking for beginning of object key string"]
        );
        assert_eq!(
            split(&[b"5x"]),
            [
                "5",
                "error: invalid character 'x' looking for beginning of value"
            ]
        );
    }
}
