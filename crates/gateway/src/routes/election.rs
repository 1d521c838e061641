//! The v3election service: campaigns, proclamations, the current leader
//! and a stream of leaders, resignations.

use api::pb::v3electionpb::{CampaignRequest, LeaderRequest, ProclaimRequest, ResignRequest};

use super::{Route, Services};
use crate::streaming::{StreamReply, Streaming};
use crate::unary::{Unary, UnaryReply};

pub(super) const ROUTES: &[Route] = &[
    Route::unary("/v3/election/campaign", campaign),
    Route::unary("/v3/election/proclaim", proclaim),
    Route::unary("/v3/election/leader", leader),
    Route::stream("/v3/election/observe", observe),
    Route::unary("/v3/election/resign", resign),
];

fn campaign(services: &Services, call: Unary) -> UnaryReply {
    let election = services.election();
    call.call(
        "v3electionpb.CampaignRequest",
        move |req: CampaignRequest| async move { election.campaign(req).await },
    )
}

fn proclaim(services: &Services, call: Unary) -> UnaryReply {
    let election = services.election();
    call.call(
        "v3electionpb.ProclaimRequest",
        move |req: ProclaimRequest| async move { election.proclaim(req).await },
    )
}

fn leader(services: &Services, call: Unary) -> UnaryReply {
    let election = services.election();
    call.call(
        "v3electionpb.LeaderRequest",
        move |req: LeaderRequest| async move { election.leader(req).await },
    )
}

fn observe(services: &Services, call: Streaming) -> StreamReply {
    let election = services.election();
    call.server(
        "v3electionpb.LeaderRequest",
        move |req: LeaderRequest| async move { election.observe(req).await },
    )
}

fn resign(services: &Services, call: Unary) -> UnaryReply {
    let election = services.election();
    call.call(
        "v3electionpb.ResignRequest",
        move |req: ResignRequest| async move { election.resign(req).await },
    )
}
