//! Teams: admins make, delete and grant them engines and quotas; maintainers manage members;
//! members read them.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{OpenApi, Tags};

use super::ApiResult;
use super::body::JsonBody;
use super::response::ok;
use super::security::Auth;
use super::users::Deleted;
use crate::cluster::Cluster;
use crate::domain::{Grants, NewTeam, Quota, QuotaLimits, Team, TeamMembers};

#[derive(Tags)]
enum Tag {
    /// Tenants made of people: teams own objects, their members act on them.
    Teams,
}

pub struct TeamsApi;

#[OpenApi(tag = "Tag::Teams")]
impl TeamsApi {
    /// Make a team (admins).
    #[oai(path = "/teams", method = "post", operation_id = "createTeam")]
    async fn create(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        body: JsonBody<NewTeam>,
    ) -> ApiResult<Team> {
        ok(cluster.create_team(&auth.0, &body).await?)
    }

    /// Every team (admins), or the caller's own.
    #[oai(path = "/teams", method = "get", operation_id = "listTeams")]
    async fn list(&self, cluster: Data<&Arc<Cluster>>, auth: Auth) -> ApiResult<Vec<Team>> {
        ok(cluster.list_teams(&auth.0).await?)
    }

    /// One team, for admins and its members (anyone else: 404).
    #[oai(path = "/team/:name", method = "get", operation_id = "getTeam")]
    async fn get(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        name: Path<String>,
    ) -> ApiResult<Team> {
        ok(cluster.get_team(&auth.0, &name).await?)
    }

    /// Replace the members (admins and the team's maintainers); leaving takes access away at
    /// once and ends the leaver's live streams.
    #[oai(
        path = "/team/:name/members",
        method = "put",
        operation_id = "setTeamMembers"
    )]
    async fn members(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        name: Path<String>,
        body: JsonBody<TeamMembers>,
    ) -> ApiResult<Team> {
        ok(cluster.set_members(&auth.0, &name, &body.members).await?)
    }

    /// Replace the engines granted to the team (admins); its members may use them too.
    #[oai(
        path = "/team/:name/engines",
        method = "put",
        operation_id = "setTeamEngines"
    )]
    async fn engines(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        name: Path<String>,
        body: JsonBody<Grants>,
    ) -> ApiResult<Team> {
        ok(cluster
            .set_team_engines(&auth.0, &name, &body.engines)
            .await?)
    }

    /// Replace the team's limits (admins).
    #[oai(
        path = "/team/:name/quota",
        method = "put",
        operation_id = "setTeamQuota"
    )]
    async fn quota(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        name: Path<String>,
        body: JsonBody<QuotaLimits>,
    ) -> ApiResult<Quota> {
        ok(cluster.set_team_quota(&auth.0, &name, &body).await?)
    }

    /// Delete a team (admins): 409 `team_owns_objects` naming its containers and volumes,
    /// unless `purge=true` destroys them first (each audited).
    #[oai(path = "/team/:name", method = "delete", operation_id = "deleteTeam")]
    async fn delete(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        name: Path<String>,
        /// Destroy the team's containers and volumes too.
        purge: Query<Option<bool>>,
    ) -> ApiResult<Deleted> {
        (cluster.delete_team(&auth.0, &name, purge.0.unwrap_or(false))).await?;
        ok(Deleted { deleted: name.0 })
    }
}
