//! go-humanize's `Bytes`: an SI size such as `20 kB`, as etcdctl prints the
//! database size in `endpoint status`.

/// `humanize.Bytes(n)`.
pub fn bytes(n: u64) -> String {
    const SIZES: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if n < 10 {
        return format!("{n} B");
    }
    let f = n as f64;
    let e = (f.ln() / 1000f64.ln()).floor();
    let suffix = SIZES[(e as usize).min(SIZES.len() - 1)];
    let val = (f / 1000f64.powf(e) * 10.0 + 0.5).floor() / 10.0;
    if val < 10.0 {
        format!("{val:.1} {suffix}")
    } else {
        format!("{val:.0} {suffix}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_go_humanize() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(9), "9 B");
        assert_eq!(bytes(20480), "20 kB");
        assert_eq!(bytes(1000), "1.0 kB");
        assert_eq!(bytes(82_854_982), "83 MB");
        assert_eq!(bytes(2_500_000), "2.5 MB");
    }
}
