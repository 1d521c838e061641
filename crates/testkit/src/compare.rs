//! Comparing what two CLIs (or one CLI against two servers) did for the
//! same steps.

use std::fmt;
use std::path::Path;

use crate::mask::mask;
use crate::step::{Outcome, Step, run};

/// A step whose two outcomes differ after masking, with both sides masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub step: Step,
    pub want: (Option<i32>, String, String),
    pub got: (Option<i32>, String, String),
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.step;
        writeln!(
            f,
            "step {:?} (stdin {:?}, env {:?}) differs",
            s.args,
            String::from_utf8_lossy(&s.stdin),
            s.env
        )?;
        for (side, (code, out, err)) in [("want", &self.want), ("got", &self.got)] {
            writeln!(
                f,
                "--- {side}: exit {code:?}\nstdout:\n{out}\nstderr:\n{err}"
            )?;
        }
        Ok(())
    }
}

fn masked(step: &Step, o: &Outcome) -> (Option<i32>, String, String) {
    (
        o.code,
        mask(&o.stdout, &step.masks),
        mask(&o.stderr, &step.masks),
    )
}

/// How `got` differs from `want` (the reference) for `step`, if it does
/// after masking.
pub fn mismatch(step: &Step, want: &Outcome, got: &Outcome) -> Option<Mismatch> {
    let (want, got) = (masked(step, want), masked(step, got));
    (want != got).then(|| Mismatch {
        step: step.clone(),
        want,
        got,
    })
}

/// Panics with both outputs unless `want` (the reference) and `got` agree
/// after masking.
pub fn assert_same(step: &Step, want: &Outcome, got: &Outcome) {
    if let Some(m) = mismatch(step, want, got) {
        panic!("{m}");
    }
}

/// Every step of two recordings of `steps` whose outcomes differ.
pub fn mismatches(steps: &[Step], want: &[Outcome], got: &[Outcome]) -> Vec<Mismatch> {
    assert!(
        steps.len() == want.len() && steps.len() == got.len(),
        "recordings of {} steps have {} and {} outcomes",
        steps.len(),
        want.len(),
        got.len()
    );
    steps
        .iter()
        .zip(want)
        .zip(got)
        .filter_map(|((s, w), g)| mismatch(s, w, g))
        .collect()
}

/// Panics listing every differing step unless two recordings of `steps`
/// agree after masking.
pub fn assert_all_same(steps: &[Step], want: &[Outcome], got: &[Outcome]) {
    let found = mismatches(steps, want, got);
    if !found.is_empty() {
        let all: Vec<String> = found.iter().map(Mismatch::to_string).collect();
        panic!(
            "{} of {} steps differ\n{}",
            found.len(),
            steps.len(),
            all.join("\n")
        );
    }
}

/// Runs every step in order with the CLI `binary` against `endpoint`.
pub fn record(binary: &Path, endpoint: &str, steps: &[Step]) -> Vec<Outcome> {
    steps.iter().map(|s| run(binary, endpoint, s)).collect()
}

/// Runs each step with `reference` and with `candidate` against the same
/// server, one right after the other, and compares them: for steps that
/// do not change the server's state, or change it the same way twice.
pub fn compare_each(reference: &Path, candidate: &Path, endpoint: &str, steps: &[Step]) {
    let mut want = Vec::with_capacity(steps.len());
    let mut got = Vec::with_capacity(steps.len());
    for step in steps {
        want.push(run(reference, endpoint, step));
        got.push(run(candidate, endpoint, step));
    }
    assert_all_same(steps, &want, &got);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(stdout: &str, code: i32) -> Outcome {
        Outcome {
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
            code: Some(code),
        }
    }

    #[test]
    fn finds_differences_in_output_and_exit_code_only() {
        let step = Step::words("endpoint health").timed();
        let a = outcome("took = 1.5ms\n", 0);
        assert_eq!(mismatch(&step, &a, &outcome("took = 20µs\n", 0)), None);
        let by_code = mismatch(&step, &a, &outcome("took = 1.5ms\n", 1)).unwrap();
        assert_eq!(by_code.got.0, Some(1));
        let text = by_code.to_string();
        assert!(text.contains("[\"endpoint\", \"health\"]") && text.contains("exit Some(1)"));
        let steps = [Step::words("a"), Step::words("b")];
        let found = mismatches(
            &steps,
            &[outcome("x", 0), outcome("y", 0)],
            &[outcome("x", 0), outcome("z", 0)],
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].step.args, ["b"]);
    }

    #[test]
    #[should_panic(expected = "1 of 1 steps differ")]
    fn compare_each_fails_on_a_difference() {
        let steps = [Step::words("x").no_endpoint()];
        compare_each(Path::new("/bin/echo"), Path::new("/bin/true"), "", &steps);
    }

    #[test]
    fn compare_each_passes_on_equal_output() {
        let steps = [Step::words("x")];
        compare_each(Path::new("/bin/echo"), Path::new("/bin/echo"), "e", &steps);
    }
}
