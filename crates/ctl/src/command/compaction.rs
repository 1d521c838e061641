//! `etcdctl compaction [options] <revision>`.

use api::pb::etcdserverpb::CompactionRequest;

use super::Session;
use crate::error::Error;
use crate::exit;
use crate::go::strconv;

pub async fn run(s: &mut Session<'_, '_>) -> Result<(), Error> {
    if s.inv.args.len() != 1 {
        return Err(Error::bad_args("compaction command needs 1 argument"));
    }
    let text = s.inv.args[0].to_string_lossy().into_owned();
    let revision = strconv::parse_i64(&text, 10).map_err(|e| Error::exit(exit::ERROR, e))?;
    let physical = s.inv.flags.bool("physical");
    let (mut client, _) = s.client().await?;
    let deadline = s.command_deadline();
    let result = client
        .compact(Some(deadline), CompactionRequest { revision, physical })
        .await;
    s.flush(&mut client);
    result?;
    s.io.println(&format!("compacted revision {revision}"));
    Ok(())
}
