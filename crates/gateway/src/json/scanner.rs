//! A byte-at-a-time JSON syntax checker that fails exactly where Go's
//! `encoding/json` scanner fails and with the same text
//! (`invalid character 'b' looking for beginning of object key string`).
//! etcd's gateway hands its parse errors to the client verbatim, so the
//! wording is part of the wire format.

/// Go refuses JSON nested deeper than this.
const MAX_DEPTH: usize = 10_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    BeginValue,
    BeginValueOrEmpty,
    BeginStringOrEmpty,
    BeginString,
    EndValue,
    EndTop,
    InString,
    InStringEsc,
    /// Inside `\u`, having read this many hex digits.
    InStringEscU(u8),
    Neg,
    Digits,
    Zero,
    Dot,
    Dot0,
    Exp,
    ExpSign,
    Exp0,
    /// Inside `true`, `false` or `null`, having matched `at` bytes.
    Literal {
        word: &'static [u8],
        at: usize,
    },
    Failed,
}

#[derive(Clone, Copy)]
enum Container {
    ObjectKey,
    ObjectValue,
    ArrayValue,
}

/// What one byte did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Continue,
    /// The top-level value ended just before this byte.
    End,
    /// This byte closed an object or array.
    CloseComposite,
    Error,
}

pub(crate) struct Scanner {
    state: State,
    stack: Vec<Container>,
    error: Option<String>,
}

impl Default for Scanner {
    fn default() -> Self {
        Self {
            state: State::BeginValue,
            stack: Vec::new(),
            error: None,
        }
    }
}

pub(crate) fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

impl Scanner {
    /// The syntax error, once [`Step::Error`] has been returned.
    pub(crate) fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Whether no object or array is open.
    pub(crate) fn at_top(&self) -> bool {
        self.stack.is_empty()
    }

    pub(crate) fn step(&mut self, c: u8) -> Step {
        match self.state {
            State::BeginValue => self.begin_value(c),
            State::BeginValueOrEmpty => {
                if is_space(c) {
                    Step::Continue
                } else if c == b']' {
                    self.end_value(c)
                } else {
                    self.begin_value(c)
                }
            }
            State::BeginStringOrEmpty => {
                if is_space(c) {
                    Step::Continue
                } else if c == b'}' {
                    if let Some(top) = self.stack.last_mut() {
                        *top = Container::ObjectValue;
                    }
                    self.end_value(c)
                } else {
                    self.begin_string(c)
                }
            }
            State::BeginString => self.begin_string(c),
            State::EndValue => self.end_value(c),
            State::EndTop => self.end_top(c),
            State::InString => match c {
                b'"' => self.go(State::EndValue),
                b'\\' => self.go(State::InStringEsc),
                c if c < 0x20 => self.fail(c, "in string literal"),
                _ => Step::Continue,
            },
            State::InStringEsc => match c {
                b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => self.go(State::InString),
                b'u' => self.go(State::InStringEscU(0)),
                _ => self.fail(c, "in string escape code"),
            },
            State::InStringEscU(read) => {
                if !c.is_ascii_hexdigit() {
                    self.fail(c, "in \\u hexadecimal character escape")
                } else if read == 3 {
                    self.go(State::InString)
                } else {
                    self.go(State::InStringEscU(read + 1))
                }
            }
            State::Neg => match c {
                b'0' => self.go(State::Zero),
                b'1'..=b'9' => self.go(State::Digits),
                _ => self.fail(c, "in numeric literal"),
            },
            State::Digits => {
                if c.is_ascii_digit() {
                    Step::Continue
                } else {
                    self.after_integer(c)
                }
            }
            State::Zero => self.after_integer(c),
            State::Dot => {
                if c.is_ascii_digit() {
                    self.go(State::Dot0)
                } else {
                    self.fail(c, "after decimal point in numeric literal")
                }
            }
            State::Dot0 => match c {
                b'0'..=b'9' => Step::Continue,
                b'e' | b'E' => self.go(State::Exp),
                _ => self.end_value(c),
            },
            State::Exp => match c {
                b'+' | b'-' => self.go(State::ExpSign),
                _ => self.exp_sign(c),
            },
            State::ExpSign => self.exp_sign(c),
            State::Exp0 => {
                if c.is_ascii_digit() {
                    Step::Continue
                } else {
                    self.end_value(c)
                }
            }
            State::Literal { word, at } => {
                if word.get(at) == Some(&c) {
                    if at + 1 == word.len() {
                        self.go(State::EndValue)
                    } else {
                        self.go(State::Literal { word, at: at + 1 })
                    }
                } else {
                    let expected = word.get(at).copied().unwrap_or(b' ');
                    let context = format!(
                        "in literal {} (expecting {})",
                        String::from_utf8_lossy(word),
                        quote_char(expected)
                    );
                    self.fail(c, &context)
                }
            }
            State::Failed => Step::Error,
        }
    }

    /// The end of input, as Go's `checkValid` sees it: a complete value,
    /// or `unexpected end of JSON input`.
    pub(crate) fn eof(&mut self) -> Result<(), String> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        if self.state == State::EndTop {
            return Ok(());
        }
        self.step(b' ');
        if self.state == State::EndTop {
            return Ok(());
        }
        Err(self
            .error
            .get_or_insert_with(|| "unexpected end of JSON input".to_owned())
            .clone())
    }

    fn go(&mut self, state: State) -> Step {
        self.state = state;
        Step::Continue
    }

    fn fail(&mut self, c: u8, context: &str) -> Step {
        self.state = State::Failed;
        self.error = Some(format!("invalid character {} {context}", quote_char(c)));
        Step::Error
    }

    fn push(&mut self, c: u8, container: Container, next: State) -> Step {
        self.stack.push(container);
        if self.stack.len() > MAX_DEPTH {
            return self.fail(c, "exceeded max depth");
        }
        self.go(next)
    }

    fn begin_value(&mut self, c: u8) -> Step {
        match c {
            c if is_space(c) => Step::Continue,
            b'{' => self.push(c, Container::ObjectKey, State::BeginStringOrEmpty),
            b'[' => self.push(c, Container::ArrayValue, State::BeginValueOrEmpty),
            b'"' => self.go(State::InString),
            b'-' => self.go(State::Neg),
            b'0' => self.go(State::Zero),
            b'1'..=b'9' => self.go(State::Digits),
            b't' => self.go(State::Literal {
                word: b"true",
                at: 1,
            }),
            b'f' => self.go(State::Literal {
                word: b"false",
                at: 1,
            }),
            b'n' => self.go(State::Literal {
                word: b"null",
                at: 1,
            }),
            _ => self.fail(c, "looking for beginning of value"),
        }
    }

    fn begin_string(&mut self, c: u8) -> Step {
        match c {
            c if is_space(c) => Step::Continue,
            b'"' => self.go(State::InString),
            _ => self.fail(c, "looking for beginning of object key string"),
        }
    }

    fn after_integer(&mut self, c: u8) -> Step {
        match c {
            b'.' => self.go(State::Dot),
            b'e' | b'E' => self.go(State::Exp),
            _ => self.end_value(c),
        }
    }

    fn exp_sign(&mut self, c: u8) -> Step {
        if c.is_ascii_digit() {
            self.go(State::Exp0)
        } else {
            self.fail(c, "in exponent of numeric literal")
        }
    }

    fn end_value(&mut self, c: u8) -> Step {
        let Some(top) = self.stack.last().copied() else {
            self.state = State::EndTop;
            return self.end_top(c);
        };
        if is_space(c) {
            return self.go(State::EndValue);
        }
        match (top, c) {
            (Container::ObjectKey, b':') => {
                self.set_top(Container::ObjectValue);
                self.go(State::BeginValue)
            }
            (Container::ObjectKey, _) => self.fail(c, "after object key"),
            (Container::ObjectValue, b',') => {
                self.set_top(Container::ObjectKey);
                self.go(State::BeginString)
            }
            (Container::ObjectValue, b'}') | (Container::ArrayValue, b']') => self.pop(),
            (Container::ObjectValue, _) => self.fail(c, "after object key:value pair"),
            (Container::ArrayValue, b',') => self.go(State::BeginValue),
            (Container::ArrayValue, _) => self.fail(c, "after array element"),
        }
    }

    fn end_top(&mut self, c: u8) -> Step {
        if !is_space(c) {
            // Go reports trailing garbage on the next call, yet still ends
            // the value here.
            self.fail(c, "after top-level value");
        }
        Step::End
    }

    fn set_top(&mut self, container: Container) {
        if let Some(top) = self.stack.last_mut() {
            *top = container;
        }
    }

    fn pop(&mut self) -> Step {
        self.stack.pop();
        self.state = if self.stack.is_empty() {
            State::EndTop
        } else {
            State::EndValue
        };
        Step::CloseComposite
    }
}

/// Checks a whole document the way Go's `json.Unmarshal` does before
/// decoding: one value, nothing but spaces after it.
pub(crate) fn check_valid(doc: &[u8]) -> Result<(), String> {
    let mut scanner = Scanner::default();
    for &c in doc {
        if scanner.step(c) == Step::Error {
            return Err(scanner.error().unwrap_or_default().to_owned());
        }
    }
    scanner.eof()
}

/// Go's `quoteChar`: a byte shown as a quoted character, where the byte is
/// read as the Unicode code point of the same number.
pub(crate) fn quote_char(c: u8) -> String {
    match c {
        b'\'' => r"'\''".to_owned(),
        b'"' => r#"'"'"#.to_owned(),
        _ => format!("'{}'", go_quote_rune(char::from(c))),
    }
}

/// One character as Go's `strconv.Quote` writes it, without the quotes.
pub(crate) fn go_quote_rune(c: char) -> String {
    match c {
        '\u{7}' => r"\a".to_owned(),
        '\u{8}' => r"\b".to_owned(),
        '\u{c}' => r"\f".to_owned(),
        '\n' => r"\n".to_owned(),
        '\r' => r"\r".to_owned(),
        '\t' => r"\t".to_owned(),
        '\u{b}' => r"\v".to_owned(),
        '\\' => r"\\".to_owned(),
        '"' => "\\\"".to_owned(),
        c if (c as u32) < 0x20 || c == '\u{7f}' => format!("\\x{:02x}", c as u32),
        c if is_go_printable(c) => c.to_string(),
        c if (c as u32) < 0x10000 => format!("\\u{:04x}", c as u32),
        c => format!("\\U{:08x}", c as u32),
    }
}

/// An approximation of Go's `strconv.IsPrint` that is exact for Latin-1,
/// the range reachable from a single byte.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{feff}'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn first_error(doc: &[u8]) -> String {
        check_valid(doc).unwrap_err()
    }

    #[test]
    fn errors_name_the_character_and_the_place() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"{bad",
                "invalid character 'b' looking for beginning of object key string",
            ),
            (b"<", "invalid character '<' looking for beginning of value"),
            (
                b"{'a':1}",
                r"invalid character '\'' looking for beginning of object key string",
            ),
            (br#"{"a" "b"}"#, "invalid character '\"' after object key"),
            (
                br#"{"a":1 "b"}"#,
                "invalid character '\"' after object key:value pair",
            ),
            (b"[1 2]", "invalid character '2' after array element"),
            (b"-}", "invalid character '}' in numeric literal"),
            (
                b"1.}",
                "invalid character '}' after decimal point in numeric literal",
            ),
            (
                b"1e}",
                "invalid character '}' in exponent of numeric literal",
            ),
            (
                b"tru}",
                "invalid character '}' in literal true (expecting 'e')",
            ),
            (
                b"fx",
                "invalid character 'x' in literal false (expecting 'a')",
            ),
            (
                b"nul!",
                "invalid character '!' in literal null (expecting 'l')",
            ),
            (br#""\x""#, "invalid character 'x' in string escape code"),
            (
                br#""\u00""#,
                "invalid character '\"' in \\u hexadecimal character escape",
            ),
            (b"\"\x01\"", r"invalid character '\x01' in string literal"),
            (
                b"\xc3",
                "invalid character '\u{c3}' looking for beginning of value",
            ),
            (b"5 6", "invalid character '6' after top-level value"),
            (b"", "unexpected end of JSON input"),
            (b"{", "unexpected end of JSON input"),
        ];
        for (doc, want) in cases {
            assert_eq!(first_error(doc), *want, "{}", String::from_utf8_lossy(doc));
        }
    }

    #[test]
    fn valid_documents_pass() {
        for doc in [
            &b" {} "[..],
            b"[]",
            b"[1,-0.5e+3,true,false,null,\"x\\u00e9\"]",
            br#"{"a":{"b":[{}]}}"#,
            b" 5 ",
        ] {
            assert_eq!(check_valid(doc), Ok(()), "{}", String::from_utf8_lossy(doc));
        }
    }

    #[test]
    fn depth_is_limited_like_go() {
        let deep = vec![b'['; MAX_DEPTH + 1];
        assert_eq!(
            first_error(&deep),
            "invalid character '[' exceeded max depth"
        );
        let mut ok = vec![b'['; MAX_DEPTH];
        ok.extend(vec![b']'; MAX_DEPTH]);
        assert_eq!(check_valid(&ok), Ok(()));
    }

    #[test]
    fn quote_char_follows_go() {
        assert_eq!(quote_char(b'a'), "'a'");
        assert_eq!(quote_char(b'\n'), r"'\n'");
        assert_eq!(quote_char(0x7f), r"'\x7f'");
        assert_eq!(quote_char(0x85), r"'\u0085'");
        assert_eq!(quote_char(0xe9), "'é'");
    }
}
