//! The three standard streams a command talks to. Writes ignore failures,
//! as Go's `fmt.Print*` calls in etcdctl do (a closed pipe must not turn
//! into a different exit code).

use std::io::{BufRead, Write};

/// Standard input, output and error of one etcdctl invocation. Input is
/// owned so a command can hand it to a thread of its own (interactive
/// `watch` reads lines while events keep printing).
pub struct Io<'a> {
    pub stdin: Box<dyn BufRead + Send>,
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

impl Io<'_> {
    /// `fmt.Print` to stdout.
    pub fn print(&mut self, s: &str) {
        let _ = self.out.write_all(s.as_bytes());
    }

    /// `fmt.Println` of one string to stdout.
    pub fn println(&mut self, s: &str) {
        let _ = self.out.write_all(s.as_bytes());
        let _ = self.out.write_all(b"\n");
    }

    /// Raw bytes to stdout (keys and values need not be UTF-8).
    pub fn write(&mut self, bytes: &[u8]) {
        let _ = self.out.write_all(bytes);
    }

    /// `fmt.Fprint(os.Stderr, ...)`. Go's stdout is unbuffered, so what
    /// was printed before must come out first when both streams share a
    /// terminal.
    pub fn eprint(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        let _ = self.out.flush();
        let _ = self.err.write_all(s.as_bytes());
    }

    /// Pushes stdout out, e.g. before waiting on stdin after a prompt.
    pub fn flush(&mut self) {
        let _ = self.out.flush();
        let _ = self.err.flush();
    }
}
