//! `strconv.Quote` (what `fmt`'s `%q` prints for a string) and the inverse,
//! `strconv.Unquote` for double-quoted and back-quoted literals.

const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";

/// Quotes `bytes` the way Go's `%q` verb quotes a string holding them.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            escape_char(&mut out, c);
        }
        for b in chunk.invalid() {
            push_hex_byte(&mut out, *b);
        }
    }
    out.push('"');
    out
}

fn push_hex_byte(out: &mut String, b: u8) {
    out.push_str("\\x");
    out.push(char::from(LOWER_HEX[usize::from(b >> 4)]));
    out.push(char::from(LOWER_HEX[usize::from(b & 0xf)]));
}

fn escape_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        c if is_print(c) => out.push(c),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if u32::from(c) < 0x20 || c == '\u{7f}' => push_hex_byte(out, c as u8),
        c if u32::from(c) < 0x10000 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
        c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
    }
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and
/// the ASCII space. Without Unicode category tables this rejects the classes
/// that matter in practice (controls, non-ASCII spaces, format characters,
/// private use, surrogates, non-characters) and accepts the rest, so an
/// unassigned code point is printed raw where Go would escape it.
fn is_print(c: char) -> bool {
    let u = u32::from(c);
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    const FORMAT: &[(u32, u32)] = &[
        (0x00ad, 0x00ad),
        (0x0600, 0x0605),
        (0x061c, 0x061c),
        (0x06dd, 0x06dd),
        (0x070f, 0x070f),
        (0x08e2, 0x08e2),
        (0x180e, 0x180e),
        (0x200b, 0x200f),
        (0x202a, 0x202e),
        (0x2060, 0x2064),
        (0x2066, 0x206f),
        (0xe000, 0xf8ff),
        (0xfdd0, 0xfdef),
        (0xfeff, 0xfeff),
        (0xfff9, 0xfffb),
        (0x110bd, 0x110bd),
        (0x110cd, 0x110cd),
        (0x13430, 0x1343f),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0001, 0xe0001),
        (0xe0020, 0xe007f),
        (0xf0000, 0x10ffff),
    ];
    if u & 0xfffe == 0xfffe {
        return false;
    }
    !FORMAT.iter().any(|(lo, hi)| (*lo..=*hi).contains(&u))
}

/// Why an unquote failed; Go reports every case as `invalid syntax`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidSyntax;

impl std::fmt::Display for InvalidSyntax {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid syntax")
    }
}

/// `strconv.Unquote` for a double-quoted or back-quoted literal. The result
/// is bytes because `\x` escapes may produce invalid UTF-8.
pub fn unquote(lit: &str) -> Result<Vec<u8>, InvalidSyntax> {
    let bytes = lit.as_bytes();
    if bytes.len() < 2 {
        return Err(InvalidSyntax);
    }
    let (first, last) = (bytes[0], bytes[bytes.len() - 1]);
    let body = &lit[1..lit.len() - 1];
    match (first, last) {
        (b'`', b'`') => {
            if body.contains('`') {
                return Err(InvalidSyntax);
            }
            Ok(body.replace('\r', "").into_bytes())
        }
        (b'"', b'"') => unquote_double(body),
        _ => Err(InvalidSyntax),
    }
}

fn unquote_double(body: &str) -> Result<Vec<u8>, InvalidSyntax> {
    if body.contains('\n') {
        return Err(InvalidSyntax);
    }
    let mut out = Vec::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Err(InvalidSyntax),
            '\\' => unescape(&mut chars, &mut out)?,
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Ok(out)
}

fn unescape(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    out: &mut Vec<u8>,
) -> Result<(), InvalidSyntax> {
    let c = chars.next().ok_or(InvalidSyntax)?;
    let simple = match c {
        'a' => Some(0x07),
        'b' => Some(0x08),
        'f' => Some(0x0c),
        'n' => Some(b'\n'),
        'r' => Some(b'\r'),
        't' => Some(b'\t'),
        'v' => Some(0x0b),
        '\\' => Some(b'\\'),
        '"' => Some(b'"'),
        _ => None,
    };
    if let Some(b) = simple {
        out.push(b);
        return Ok(());
    }
    match c {
        'x' => {
            let v = take_digits(chars, 2, 16)?;
            out.push(u8::try_from(v).map_err(|_| InvalidSyntax)?);
        }
        'u' | 'U' => {
            let n = if c == 'u' { 4 } else { 8 };
            let v = take_digits(chars, n, 16)?;
            let ch = char::from_u32(v).ok_or(InvalidSyntax)?;
            let mut buf = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        }
        '0'..='7' => {
            let rest = take_digits(chars, 2, 8)?;
            let v = (c as u32 - '0' as u32) * 64 + rest;
            out.push(u8::try_from(v).map_err(|_| InvalidSyntax)?);
        }
        _ => return Err(InvalidSyntax),
    }
    Ok(())
}

fn take_digits(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    n: usize,
    radix: u32,
) -> Result<u32, InvalidSyntax> {
    let mut v: u32 = 0;
    for _ in 0..n {
        let d = chars
            .next()
            .and_then(|c| c.to_digit(radix))
            .ok_or(InvalidSyntax)?;
        v = v * radix + d;
    }
    Ok(v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(quote(b"foo"), "\"foo\"");
        assert_eq!(quote(b"a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote(b"\n\t\x00\x7f"), "\"\\n\\t\\x00\\x7f\"");
        assert_eq!(quote(b"\xff\xfe"), "\"\\xff\\xfe\"");
        assert_eq!(quote("héllo ✓".as_bytes()), "\"héllo ✓\"");
        assert_eq!(quote("\u{a0}\u{200b}".as_bytes()), "\"\\u00a0\\u200b\"");
        assert_eq!(quote("\u{e0001}".as_bytes()), "\"\\U000e0001\"");
    }

    #[test]
    fn unquotes_escapes() {
        assert_eq!(unquote(r#""a\tb""#).unwrap(), b"a\tb");
        assert_eq!(unquote(r#""\x66\157o""#).unwrap(), b"foo");
        assert_eq!(unquote(r#""\xff""#).unwrap(), vec![0xff]);
        assert_eq!(unquote(r#""\u00e9""#).unwrap(), "é".as_bytes());
        assert_eq!(unquote("`a\\b`").unwrap(), b"a\\b");
        assert_eq!(unquote(r#""\q""#), Err(InvalidSyntax));
        assert_eq!(unquote(r#""\'""#), Err(InvalidSyntax));
        assert_eq!(unquote(r#""a"b""#), Err(InvalidSyntax));
        assert_eq!(unquote(r#""\400""#), Err(InvalidSyntax));
        assert_eq!(unquote("\"abc"), Err(InvalidSyntax));
    }
}
