//! etcdctl's `argify`: a line split into words by the regular expression
//! `"(?:[^"\\]|\\.)*"|'[^']*'|[^'"\s]\S*[^'"\s]?`, then unquoted.

use crate::error::Error;
use crate::exit;
use crate::go::quote::unquote;

/// RE2's `\s`: ASCII space, tab, newline, form feed and carriage return.
fn is_re_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r')
}

/// The raw words the regular expression finds, leftmost first.
fn words(line: &str) -> Vec<&str> {
    let b = line.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let mut j = i + 1;
                let mut closed = None;
                while j < b.len() {
                    match b[j] {
                        b'"' => {
                            closed = Some(j);
                            break;
                        }
                        b'\\' if j + 1 < b.len() && b[j + 1] != b'\n' => j += 2,
                        b'\\' => break,
                        _ => j += 1,
                    }
                }
                match closed {
                    Some(end) => {
                        found.push(&line[i..=end]);
                        i = end + 1;
                    }
                    None => i += 1,
                }
            }
            b'\'' => match line[i + 1..].find('\'') {
                Some(k) => {
                    let end = i + 1 + k;
                    found.push(&line[i..=end]);
                    i = end + 1;
                }
                None => i += 1,
            },
            c if is_re_space(c) => i += 1,
            _ => {
                let mut j = i;
                while j < b.len() && !is_re_space(b[j]) {
                    j += 1;
                }
                found.push(&line[i..j]);
                i = j;
            }
        }
    }
    found
}

/// Splits `line` into words as bytes. A double-quoted word is unquoted with
/// Go's rules (a bad escape is an invalid-input error); a single-quoted one
/// is sliced `[1 : number of words - 1]`, which is etcdctl's bug, panic
/// included when that slice is out of range.
pub fn argify(line: &str) -> Result<Vec<Vec<u8>>, Error> {
    let raw = words(line);
    let count = raw.len();
    raw.iter()
        .map(|w| match w.as_bytes().first() {
            Some(b'\'') => {
                let high = count.wrapping_sub(1);
                if count == 0 || high < 1 {
                    return Err(Error::Panic(format!(
                        "runtime error: slice bounds out of range [1:{}]",
                        count as i64 - 1
                    )));
                }
                if high > w.len() {
                    return Err(Error::Panic(format!(
                        "runtime error: slice bounds out of range [:{high}] with length {}",
                        w.len()
                    )));
                }
                Ok(w.as_bytes()[1..high].to_vec())
            }
            Some(b'"') => unquote(w).map_err(|e| Error::exit(exit::INVALID_INPUT, e.to_string())),
            _ => Ok(w.as_bytes().to_vec()),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn strs(line: &str) -> Vec<String> {
        argify(line)
            .unwrap()
            .into_iter()
            .map(|w| String::from_utf8(w).unwrap())
            .collect()
    }

    #[test]
    fn splits_on_spaces_and_unquotes() {
        assert_eq!(strs("put a b"), ["put", "a", "b"]);
        assert_eq!(strs(r#"put "a b" "c\td""#), ["put", "a b", "c\td"]);
        assert_eq!(strs("get  --prefix\tk"), ["get", "--prefix", "k"]);
        assert_eq!(strs(r#"put k "\x66""#), ["put", "k", "f"]);
    }

    #[test]
    fn unterminated_quote_is_skipped() {
        assert_eq!(strs(r#"put "abc"#), ["put", "abc"]);
    }

    #[test]
    fn words_may_hold_quotes_inside() {
        assert_eq!(strs(r#"put a"b c"#), ["put", "a\"b", "c"]);
    }

    #[test]
    fn single_quotes_keep_etcdctls_slicing() {
        assert_eq!(strs("put 'hello' x"), ["put", "h", "x"]);
        assert_eq!(strs("put k 'value' x y"), ["put", "k", "val", "x", "y"]);
        assert!(matches!(argify("'ab'"), Err(Error::Panic(_))));
        assert!(matches!(argify("a b c d e f 'ab'"), Err(Error::Panic(_))));
    }

    #[test]
    fn bad_escape_is_invalid_input() {
        match argify(r#"put "\q" v"#) {
            Err(Error::Exit { code, message }) => {
                assert_eq!(
                    (code, message.as_str()),
                    (exit::INVALID_INPUT, "invalid syntax")
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
