//! Go's text conventions that etcdctl's output inherits: `%q` quoting,
//! `time.Duration` and `strconv` texts, `fmt.Sscanf`'s `%q`, encoding/json
//! string escaping, go-humanize's byte sizes, net/url's parsing and os/exec's
//! way of running a command. Each mirrors the behaviour of the Go version etcdctl 3.4.23 was
//! built with (Go 1.19).

pub mod duration;
pub mod exec;
pub mod humanize;
pub mod json;
pub mod quote;
pub mod scan;
pub mod strconv;
pub mod tabwriter;
pub mod url;
