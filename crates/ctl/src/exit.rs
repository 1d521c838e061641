//! etcdctl's exit codes (ctlv3/command/error.go).

pub const SUCCESS: i32 = 0;
pub const ERROR: i32 = 1;
pub const BAD_CONNECTION: i32 = 2;
/// Bad txn or watch input.
pub const INVALID_INPUT: i32 = 3;
/// A valid flag with an unsupported value.
pub const BAD_FEATURE: i32 = 4;
/// A watch the server ended.
pub const INTERRUPTED: i32 = 5;
pub const BAD_ARGS: i32 = 128;
/// What a Go program exits with when it panics.
pub const PANIC: i32 = 2;
