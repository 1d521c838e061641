//! Go's `strconv.ParseInt` and `strconv.ParseBool`, with their error texts,
//! which etcdctl and pflag print verbatim.

use super::quote::quote;

fn syntax_error(func: &str, s: &str) -> String {
    format!(
        "strconv.{func}: parsing {}: invalid syntax",
        quote(s.as_bytes())
    )
}

fn range_error(func: &str, s: &str) -> String {
    format!(
        "strconv.{func}: parsing {}: value out of range",
        quote(s.as_bytes())
    )
}

/// `strconv.ParseInt(s, base, 64)` for base 0 (Go literal prefixes and
/// underscores allowed), 10 or 16.
pub fn parse_i64(s: &str, base: u32) -> Result<i64, String> {
    const FUNC: &str = "ParseInt";
    if s.is_empty() {
        return Err(syntax_error(FUNC, s));
    }
    let (negative, digits) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = match parse_u64(digits, base) {
        Ok(v) => v,
        Err(UintError::Syntax) => return Err(syntax_error(FUNC, s)),
        Err(UintError::Range) => return Err(range_error(FUNC, s)),
    };
    if base == 0 && s.contains('_') && !underscores_ok(s) {
        return Err(syntax_error(FUNC, s));
    }
    let limit = 1u64 << 63;
    if !negative && magnitude >= limit || negative && magnitude > limit {
        return Err(range_error(FUNC, s));
    }
    if negative {
        Ok((magnitude as i64).wrapping_neg())
    } else {
        Ok(magnitude as i64)
    }
}

/// `strconv.ParseUint(s, base, 64)` for base 10 or 16 (no sign, no
/// prefix).
pub fn parse_uint(s: &str, base: u32) -> Result<u64, String> {
    const FUNC: &str = "ParseUint";
    match parse_u64(s, base) {
        Ok(v) => Ok(v),
        Err(UintError::Syntax) => Err(syntax_error(FUNC, s)),
        Err(UintError::Range) => Err(range_error(FUNC, s)),
    }
}

enum UintError {
    Syntax,
    Range,
}

fn parse_u64(s: &str, base: u32) -> Result<u64, UintError> {
    if s.is_empty() {
        return Err(UintError::Syntax);
    }
    let (radix, body) = if base == 0 {
        let lower = s.to_ascii_lowercase();
        if s.len() >= 3 && lower.starts_with("0b") {
            (2, &s[2..])
        } else if s.len() >= 3 && lower.starts_with("0o") {
            (8, &s[2..])
        } else if s.len() >= 3 && lower.starts_with("0x") {
            (16, &s[2..])
        } else if let Some(rest) = s.strip_prefix('0') {
            (8, rest)
        } else {
            (10, s)
        }
    } else {
        (base, s)
    };
    let mut n: u64 = 0;
    for c in body.chars() {
        if c == '_' && base == 0 {
            continue;
        }
        let d = c.to_digit(36).ok_or(UintError::Syntax)?;
        if d >= radix {
            return Err(UintError::Syntax);
        }
        n = n
            .checked_mul(u64::from(radix))
            .and_then(|n| n.checked_add(u64::from(d)))
            .ok_or(UintError::Range)?;
    }
    Ok(n)
}

/// Go's rule for `_` in base-0 literals: only between digits (or right
/// after a base prefix).
fn underscores_ok(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let b = s.as_bytes();
    let mut saw = '^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = '0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    for &c in &b[i..] {
        if c.is_ascii_digit() || hex && c.is_ascii_hexdigit() {
            saw = '0';
        } else if c == b'_' {
            if saw != '0' {
                return false;
            }
            saw = '_';
        } else {
            if saw == '_' {
                return false;
            }
            saw = '!';
        }
    }
    saw != '_'
}

/// `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(syntax_error("ParseBool", s)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_ints_like_go() {
        assert_eq!(parse_i64("42", 10), Ok(42));
        assert_eq!(parse_i64("-7", 10), Ok(-7));
        assert_eq!(parse_i64("ff", 16), Ok(255));
        assert_eq!(parse_i64("0x10", 0), Ok(16));
        assert_eq!(parse_i64("010", 0), Ok(8));
        assert_eq!(parse_i64("1_000", 0), Ok(1000));
        assert_eq!(parse_i64("-9223372036854775808", 10), Ok(i64::MIN));
        assert_eq!(
            parse_i64("x", 10),
            Err("strconv.ParseInt: parsing \"x\": invalid syntax".into())
        );
        assert_eq!(
            parse_i64("0x10", 16),
            Err("strconv.ParseInt: parsing \"0x10\": invalid syntax".into())
        );
        assert_eq!(
            parse_i64("9223372036854775808", 10),
            Err("strconv.ParseInt: parsing \"9223372036854775808\": value out of range".into())
        );
        assert!(parse_i64("", 10).is_err());
        assert!(parse_i64("1__0", 0).is_err());
    }

    #[test]
    fn parses_uints_like_go() {
        assert_eq!(parse_uint("d3a7ceca07b0f091", 16), Ok(0xd3a7ceca07b0f091));
        assert_eq!(parse_uint("FFFFFFFFFFFFFFFF", 16), Ok(u64::MAX));
        assert_eq!(
            parse_uint("-1", 16),
            Err("strconv.ParseUint: parsing \"-1\": invalid syntax".into())
        );
        assert_eq!(
            parse_uint("", 16),
            Err("strconv.ParseUint: parsing \"\": invalid syntax".into())
        );
        assert_eq!(
            parse_uint("10000000000000000", 16),
            Err("strconv.ParseUint: parsing \"10000000000000000\": value out of range".into())
        );
    }

    #[test]
    fn parses_bools_like_go() {
        assert_eq!(parse_bool("T"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert_eq!(
            parse_bool("yes"),
            Err("strconv.ParseBool: parsing \"yes\": invalid syntax".into())
        );
    }
}
