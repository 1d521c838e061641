//! Taking apart JSON that the scanner has already accepted, one level at a
//! time, the way Go hands `json.RawMessage` pieces around: an object becomes
//! its members with their undecoded values, an array its undecoded
//! elements. Nothing below the level asked for is looked at, so unknown
//! fields of any depth cost nothing and cannot recurse.

use super::scanner::is_space;

/// What a JSON value is, in the words Go's decode errors use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

impl Kind {
    pub(crate) fn of(raw: &[u8]) -> Kind {
        match raw.first() {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'n') => Kind::Null,
            _ => Kind::Number,
        }
    }

    pub(crate) fn go_name(self) -> &'static str {
        match self {
            Kind::Object => "object",
            Kind::Array => "array",
            Kind::String => "string",
            Kind::Number => "number",
            Kind::Bool => "bool",
            Kind::Null => "null",
        }
    }
}

pub(crate) fn trim(raw: &[u8]) -> &[u8] {
    let start = raw.iter().position(|&c| !is_space(c)).unwrap_or(raw.len());
    let end = raw
        .iter()
        .rposition(|&c| !is_space(c))
        .map_or(start, |i| i + 1);
    &raw[start..end.max(start)]
}

/// The members of an object, in order, keys unquoted. `None` if `raw` is
/// not an object.
pub(crate) fn members(raw: &[u8]) -> Option<Vec<(String, &[u8])>> {
    if raw.first() != Some(&b'{') {
        return None;
    }
    let mut out = Vec::new();
    let mut at = skip_space(raw, 1);
    while raw.get(at) == Some(&b'"') {
        let key_end = value_end(raw, at);
        let key = unquote(&raw[at..key_end]);
        // Past the colon.
        at = skip_space(raw, skip_space(raw, key_end) + 1);
        let end = value_end(raw, at);
        out.push((key, &raw[at..end]));
        at = skip_space(raw, end);
        if raw.get(at) == Some(&b',') {
            at = skip_space(raw, at + 1);
        }
    }
    Some(out)
}

/// The elements of an array. `None` if `raw` is not an array.
pub(crate) fn elements(raw: &[u8]) -> Option<Vec<&[u8]>> {
    if raw.first() != Some(&b'[') {
        return None;
    }
    let mut out = Vec::new();
    let mut at = skip_space(raw, 1);
    while at < raw.len() && raw[at] != b']' {
        let end = value_end(raw, at);
        out.push(&raw[at..end]);
        at = skip_space(raw, end);
        if raw.get(at) == Some(&b',') {
            at = skip_space(raw, at + 1);
        }
    }
    Some(out)
}

fn skip_space(raw: &[u8], mut at: usize) -> usize {
    while at < raw.len() && is_space(raw[at]) {
        at += 1;
    }
    at
}

/// Where the value starting at `start` ends. Iterative, so nesting depth
/// costs no stack.
fn value_end(raw: &[u8], start: usize) -> usize {
    match raw.get(start) {
        Some(b'"') => string_end(raw, start),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut at = start;
            while at < raw.len() {
                match raw[at] {
                    b'"' => {
                        at = string_end(raw, at);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return at + 1;
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
            at
        }
        _ => {
            let mut at = start;
            while at < raw.len()
                && !matches!(raw[at], b',' | b'}' | b']' | b':')
                && !is_space(raw[at])
            {
                at += 1;
            }
            at
        }
    }
}

/// The index just past the string starting at `start`.
fn string_end(raw: &[u8], start: usize) -> usize {
    let mut at = start + 1;
    while at < raw.len() {
        match raw[at] {
            b'\\' => at += 2,
            b'"' => return at + 1,
            _ => at += 1,
        }
    }
    at
}

/// A JSON string literal's text, decoded as Go does: invalid UTF-8 and
/// unpaired surrogates become U+FFFD.
pub(crate) fn unquote(raw: &[u8]) -> String {
    let body = raw
        .strip_prefix(b"\"")
        .and_then(|r| r.strip_suffix(b"\""))
        .unwrap_or(raw);
    let mut out = String::with_capacity(body.len());
    let mut at = 0;
    while at < body.len() {
        match body[at] {
            b'\\' => {
                let (decoded, used) = unescape(&body[at..]);
                out.push(decoded);
                at += used;
            }
            c if c.is_ascii() => {
                out.push(char::from(c));
                at += 1;
            }
            _ => {
                let (decoded, used) = decode_utf8(&body[at..]);
                out.push(decoded);
                at += used;
            }
        }
    }
    out
}

/// One escape sequence at the start of `s`: the character and the bytes
/// it used.
fn unescape(s: &[u8]) -> (char, usize) {
    match s.get(1) {
        Some(b'b') => ('\u{8}', 2),
        Some(b'f') => ('\u{c}', 2),
        Some(b'n') => ('\n', 2),
        Some(b'r') => ('\r', 2),
        Some(b't') => ('\t', 2),
        Some(b'u') => {
            let Some(first) = hex4(s) else {
                return (char::REPLACEMENT_CHARACTER, s.len());
            };
            if (0xD800..0xE000).contains(&first) {
                let pair = hex4(&s[6..]).and_then(|second| {
                    if (0xD800..0xDC00).contains(&first) && (0xDC00..0xE000).contains(&second) {
                        char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
                    } else {
                        None
                    }
                });
                return match pair {
                    Some(c) => (c, 12),
                    None => (char::REPLACEMENT_CHARACTER, 6),
                };
            }
            (
                char::from_u32(first).unwrap_or(char::REPLACEMENT_CHARACTER),
                6,
            )
        }
        Some(&c) => (char::from(c), 2),
        None => (char::REPLACEMENT_CHARACTER, 1),
    }
}

/// `\uXXXX` at the start of `s`.
fn hex4(s: &[u8]) -> Option<u32> {
    if s.len() < 6 || s[0] != b'\\' || s[1] != b'u' {
        return None;
    }
    std::str::from_utf8(&s[2..6])
        .ok()
        .and_then(|h| u32::from_str_radix(h, 16).ok())
}

/// One UTF-8 character at the start of `s`, or U+FFFD for one bad byte.
fn decode_utf8(s: &[u8]) -> (char, usize) {
    let want = match s[0] {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return (char::REPLACEMENT_CHARACTER, 1),
    };
    s.get(..want)
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .and_then(|text| text.chars().next())
        .map_or((char::REPLACEMENT_CHARACTER, 1), |c| (c, want))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_raw_values_and_order() {
        let raw = br#"{ "a" : {"x":[1,{"y":"}"}]} , "b\u0021":-1.5e3,"c":"q\"}","d":null,"e":[ ]}"#;
        let got = members(raw).unwrap();
        let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b!", "c", "d", "e"]);
        assert_eq!(got[0].1, br#"{"x":[1,{"y":"}"}]}"#);
        assert_eq!(got[1].1, b"-1.5e3");
        assert_eq!(got[2].1, br#""q\"}""#);
        assert_eq!(got[3].1, b"null");
        assert_eq!(got[4].1, b"[ ]");
        assert!(members(b"[]").is_none());
        assert_eq!(members(b"{}").unwrap().len(), 0);
    }

    #[test]
    fn elements_split_arrays() {
        let got = elements(br#"[1, "a,b" ,[2,3],{"k":[]},true]"#).unwrap();
        assert_eq!(
            got,
            [&b"1"[..], br#""a,b""#, b"[2,3]", br#"{"k":[]}"#, b"true"]
        );
        assert_eq!(elements(b"[]").unwrap().len(), 0);
        assert!(elements(b"{}").is_none());
    }

    #[test]
    fn unquote_matches_go() {
        assert_eq!(unquote(br#""a\nb\t\/\\\"""#), "a\nb\t/\\\"");
        assert_eq!(unquote(br#""\u00e9\ud83d\ude00""#), "é😀");
        assert_eq!(unquote(br#""\ud83dx""#), "\u{fffd}x");
        assert_eq!(unquote(br#""\ude00\u0041""#), "\u{fffd}A");
        assert_eq!(unquote(b"\"a\xffb\""), "a\u{fffd}b");
        assert_eq!(unquote(b"\"\xc3\xa9\""), "é");
    }

    #[test]
    fn kinds_and_trim() {
        assert_eq!(Kind::of(b"-1"), Kind::Number);
        assert_eq!(Kind::of(b"false"), Kind::Bool);
        assert_eq!(Kind::of(b"null").go_name(), "null");
        assert_eq!(trim(b" \n{} \t"), b"{}");
        assert_eq!(trim(b"   "), b"");
    }
}
