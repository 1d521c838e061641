//! Output JSON written the way Go's `encoding/json` (1.19, which etcd 3.4
//! is built with) writes strings: `<`, `>`, `&`, U+2028 and U+2029 escaped
//! as `\u` sequences and control characters other than `\n`, `\r`, `\t`
//! as `\u00XX`. Responses are serialised by the pbjson impls and then
//! rewritten here; gateway-made bodies are written here directly.

use std::fmt::Write as _;

/// A Go JSON string literal for `text`, quotes included.
pub(crate) fn go_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_unicode_escape(c) => push_unicode_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn needs_unicode_escape(c: char) -> bool {
    (c as u32) < 0x20 || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}')
}

fn push_unicode_escape(out: &mut String, c: char) {
    // Writing to a String cannot fail.
    let _ = write!(out, "\\u{:04x}", c as u32);
}

/// Rewrites serde_json output so its strings read as Go would write them.
/// serde_json never puts `<`, `>` or `&` outside a string and never escapes
/// them inside one, so only string contents change.
pub(crate) fn go_compatible(json: String) -> String {
    if !json
        .chars()
        .any(|c| matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\\'))
    {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    let mut chars = json.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('b') => out.push_str("\\u0008"),
                Some('f') => out.push_str("\\u000c"),
                Some(escaped) => {
                    out.push('\\');
                    out.push(escaped);
                }
                None => out.push('\\'),
            },
            c if needs_unicode_escape(c) => push_unicode_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn go_string_escapes_like_go() {
        assert_eq!(go_string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_string("<&>"), r#""\u003c\u0026\u003e""#);
        assert_eq!(
            go_string("\u{1}\u{8}\u{c}\n\r\t"),
            r#""\u0001\u0008\u000c\n\r\t""#
        );
        assert_eq!(go_string("\u{2028}é"), "\"\\u2028é\"");
    }

    #[test]
    fn serde_output_is_rewritten_inside_strings_only() {
        let serde = serde_json::to_string(&serde_json::json!({"a": "<x>&\u{8}\u{c}\\b\"", "b": 1}))
            .unwrap();
        assert_eq!(
            go_compatible(serde),
            r#"{"a":"\u003cx\u003e\u0026\u0008\u000c\\b\"","b":1}"#
        );
        let plain = r#"{"a":"b"}"#.to_owned();
        assert_eq!(go_compatible(plain.clone()), plain);
    }
}
