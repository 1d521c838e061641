//! `etcdctl txn [-i]`: a transaction read from stdin in etcdctl's txn
//! language (see [`crate::txn_grammar`]), sent without a deadline as
//! etcdctl sends it.

use api::pb::etcdserverpb::{Compare, RequestOp, TxnRequest};

use super::Session;
use crate::error::Error;
use crate::exit;
use crate::io::Io;
use crate::txn_grammar::{parse_compare, parse_request};

/// The next line without surrounding space; `None` at an empty line. Like
/// Go's `ReadString('\n')`, input that ends without a newline is an error.
fn read_line(io: &mut Io<'_>) -> Result<Option<String>, Error> {
    let mut buf = Vec::new();
    match io.stdin.read_until(b'\n', &mut buf) {
        Ok(_) if buf.last() == Some(&b'\n') => {}
        Ok(_) => return Err(Error::exit(exit::INVALID_INPUT, "EOF")),
        Err(e) => return Err(Error::exit(exit::INVALID_INPUT, e.to_string())),
    }
    let line = String::from_utf8_lossy(&buf).trim().to_string();
    Ok((!line.is_empty()).then_some(line))
}

fn read_compares(io: &mut Io<'_>) -> Result<Vec<Compare>, Error> {
    let mut cmps = Vec::new();
    while let Some(line) = read_line(io)? {
        cmps.push(parse_compare(&line)?);
    }
    Ok(cmps)
}

fn read_ops(io: &mut Io<'_>) -> Result<Vec<RequestOp>, Error> {
    let mut ops = Vec::new();
    while let Some(line) = read_line(io)? {
        ops.push(parse_request(&line, &mut std::io::empty())?);
    }
    Ok(ops)
}

pub async fn run(s: &mut Session<'_, '_>) -> Result<(), Error> {
    if !s.inv.args.is_empty() {
        return Err(Error::bad_args("txn command does not accept argument"));
    }
    let (mut client, display) = s.client().await?;
    let interactive = s.inv.flags.bool("interactive");
    let prompt = |io: &mut Io<'_>, text: &str| {
        if interactive {
            io.println(text);
            io.flush();
        }
    };
    prompt(s.io, "compares:");
    let compare = read_compares(s.io)?;
    prompt(s.io, "success requests (get, put, del):");
    let success = read_ops(s.io)?;
    prompt(s.io, "failure requests (get, put, del):");
    let failure = read_ops(s.io)?;
    let req = TxnRequest {
        compare,
        success,
        failure,
    };
    let result = client.txn(None, req).await;
    s.flush(&mut client);
    display.txn(s.io, &result?)
}
