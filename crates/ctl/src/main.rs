use std::io::{BufReader, BufWriter};

fn main() {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let mut out = BufWriter::new(std::io::stdout());
    let mut err = std::io::stderr();
    let mut io = ctl::Io {
        stdin: Box::new(BufReader::new(std::io::stdin())),
        out: &mut out,
        err: &mut err,
    };
    // run() flushes the streams: process::exit skips destructors.
    let code = ctl::run(&argv, ctl::Env::from_process(), &mut io, true);
    std::process::exit(code);
}
