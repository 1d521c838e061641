//! `etcdctl member add|remove|update|list|promote`. Arguments are checked
//! before any client is made; the command deadline starts before the
//! client connects, as etcdctl takes it first. Peer URLs are checked after
//! connecting, where clientv3 checks them, and a bad one is never sent.

use api::pb::etcdserverpb::{MemberAddRequest, MemberAddResponse, MemberUpdateRequest};

use super::Session;
use crate::error::Error;
use crate::exit;
use crate::go::quote::quote;
use crate::go::{strconv, url};

/// A member id argument in hex.
pub fn member_id(arg: &str) -> Result<u64, Error> {
    strconv::parse_uint(arg, 16)
        .map_err(|e| Error::bad_args(format!("bad member ID arg ({e}), expecting ID in Hex")))
}

fn one_id(s: &Session<'_, '_>) -> Result<u64, Error> {
    match s.inv.args.as_slice() {
        [arg] => member_id(&arg.to_string_lossy()),
        _ => Err(Error::bad_args("member ID is not provided")),
    }
}

/// `--peer-urls`, split on commas as given (empty parts stay).
fn peer_urls(s: &Session<'_, '_>) -> Result<Vec<String>, Error> {
    let urls = s.inv.flags.string("peer-urls");
    if urls.is_empty() {
        return Err(Error::bad_args("member peer urls not provided"));
    }
    Ok(urls.split(',').map(str::to_string).collect())
}

pub async fn add(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let name = match s.arg_bytes().as_slice() {
        [] => return Err(Error::bad_args("member name not provided")),
        [name] => name.clone(),
        _ => {
            let mut message = String::from("too many arguments");
            for arg in &s.inv.args {
                let arg = arg.to_string_lossy();
                if arg.to_lowercase().starts_with("http") {
                    message.push_str(&format!(", did you mean --peer-urls={arg}"));
                }
            }
            return Err(Error::bad_args(message));
        }
    };
    let urls = peer_urls(s)?;
    let req = MemberAddRequest {
        peer_ur_ls: urls,
        is_learner: s.inv.flags.bool("learner"),
    };
    let deadline = s.command_deadline();
    let (mut client, display) = s.client().await?;
    url::check_urls(&req.peer_ur_ls).map_err(|e| Error::exit(exit::ERROR, e))?;
    let result = client.member_add(Some(deadline), req).await;
    s.flush(&mut client);
    let resp = result?;
    display.member_add(s.io, &resp)?;
    if display.is_simple() {
        let urls = s.inv.flags.string("peer-urls");
        s.io.write(&join_env(&name, &urls, &resp));
    }
    Ok(())
}

/// The variables a new member starts with, as etcdctl suggests them: the
/// new member appears under the name it was added with.
fn join_env(name: &[u8], urls: &str, resp: &MemberAddResponse) -> Vec<u8> {
    let new_id = resp.member.as_ref().map_or(0, |m| m.id);
    let mut cluster: Vec<Vec<u8>> = Vec::new();
    for m in &resp.members {
        let shown = if m.id == new_id {
            name
        } else {
            m.name.as_bytes()
        };
        for u in &m.peer_ur_ls {
            let mut entry = shown.to_vec();
            entry.push(b'=');
            entry.extend_from_slice(u.as_bytes());
            cluster.push(entry);
        }
    }
    format!(
        "\nETCD_NAME={}\nETCD_INITIAL_CLUSTER={}\nETCD_INITIAL_ADVERTISE_PEER_URLS={}\nETCD_INITIAL_CLUSTER_STATE=\"existing\"\n",
        quote(name),
        quote(&cluster.join(&b','))
        ,
        quote(urls.as_bytes())
    )
    .into_bytes()
}

pub async fn remove(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let id = one_id(s)?;
    let deadline = s.command_deadline();
    let (mut client, display) = s.client().await?;
    let result = client.member_remove(Some(deadline), id).await;
    s.flush(&mut client);
    display.member_remove(s.io, id, &result?)
}

pub async fn update(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let id = one_id(s)?;
    let req = MemberUpdateRequest {
        id,
        peer_ur_ls: peer_urls(s)?,
    };
    let deadline = s.command_deadline();
    let (mut client, display) = s.client().await?;
    url::check_urls(&req.peer_ur_ls).map_err(|e| Error::exit(exit::ERROR, e))?;
    let result = client.member_update(Some(deadline), req).await;
    s.flush(&mut client);
    display.member_update(s.io, id, &result?)
}

pub async fn list(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let deadline = s.command_deadline();
    let (mut client, display) = s.client().await?;
    let result = client.member_list(Some(deadline)).await;
    s.flush(&mut client);
    display.member_list(s.io, &result?)
}

pub async fn promote(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let id = one_id(s)?;
    let deadline = s.command_deadline();
    let (mut client, display) = s.client().await?;
    let result = client.member_promote(Some(deadline), id).await;
    s.flush(&mut client);
    display.member_promote(s.io, id, &result?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use api::pb::etcdserverpb::Member;

    fn member(id: u64, name: &str, peers: &[&str]) -> Member {
        Member {
            id,
            name: name.to_string(),
            peer_ur_ls: peers.iter().map(|p| p.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn names_the_new_member_in_the_initial_cluster() {
        let resp = MemberAddResponse {
            header: None,
            member: Some(member(7, "", &["http://h:3", "http://h:4"])),
            members: vec![
                member(1, "m0", &["http://h:1"]),
                member(7, "", &["http://h:3", "http://h:4"]),
            ],
        };
        let text = String::from_utf8(join_env(b"new", "http://h:3,http://h:4", &resp)).unwrap();
        assert_eq!(
            text,
            "\nETCD_NAME=\"new\"\nETCD_INITIAL_CLUSTER=\"m0=http://h:1,new=http://h:3,new=http://h:4\"\nETCD_INITIAL_ADVERTISE_PEER_URLS=\"http://h:3,http://h:4\"\nETCD_INITIAL_CLUSTER_STATE=\"existing\"\n"
        );
    }

    #[test]
    fn member_ids_are_hex_without_prefix() {
        assert_eq!(member_id("d3a7ceca07b0f091").unwrap(), 0xd3a7ceca07b0f091);
        assert_eq!(
            member_id("0x1").unwrap_err().to_string(),
            "bad member ID arg (strconv.ParseUint: parsing \"0x1\": invalid syntax), expecting ID in Hex"
        );
    }
}
