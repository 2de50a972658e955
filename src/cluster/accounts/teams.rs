//! Teams: admins make and delete them and grant them engines; maintainers (and admins) set the
//! members; members read them. A team nobody may see answers 404, like one that does not exist.
//! Deleting a team that still owns containers or volumes answers 409 naming them, unless
//! `purge`, which destroys them through their audited actions.

use super::audited::{Settle, plain};
use super::{Cluster, ClusterError, ClusterResult, Conflict, admin_only};
use crate::auth::Principal;
use crate::domain::{
    InvalidInput, MAX_MEMBERS, NewTeam, Quota, QuotaLimits, Team, TeamMember, TeamRole,
    check_engine_id, check_username, team_owner,
};
use crate::events::{Draft, actions};
use crate::store::TeamRecord;
use crate::time::{now_ms, rfc3339_ms};

fn view(t: TeamRecord) -> Team {
    Team {
        members: (t.members.into_iter())
            .map(|(user, role)| TeamMember {
                user,
                role: TeamRole::parse(&role).unwrap_or_default(),
            })
            .collect(),
        name: t.name,
        engines: t.engines,
        created: rfc3339_ms(t.created_ms),
    }
}

impl Cluster {
    pub async fn create_team(&self, principal: &Principal, new: &NewTeam) -> ClusterResult<Team> {
        admin_only(principal)?;
        check_username("name", &new.name)?;
        let draft = Draft::by(principal, actions::TEAM_CREATE).target(&new.name);
        let work = async {
            if !self.store.create_team(&new.name, now_ms()).await? {
                let why = format!("team {} already exists", new.name);
                return Err(ClusterError::conflict(Conflict::TeamExists, why));
            }
            self.team_view(&new.name).await
        };
        self.audited(draft, work, plain).await
    }

    /// Every team for admins; the caller's own for everyone else.
    pub async fn list_teams(&self, principal: &Principal) -> ClusterResult<Vec<Team>> {
        let names = if principal.is_admin() {
            self.store.team_names().await?
        } else {
            principal.teams.clone()
        };
        let mut teams = Vec::with_capacity(names.len());
        for name in names {
            if let Some(t) = self.store.get_team(&name).await? {
                teams.push(view(t));
            }
        }
        Ok(teams)
    }

    pub async fn get_team(&self, principal: &Principal, name: &str) -> ClusterResult<Team> {
        self.visible_team(principal, name).await.map(view)
    }

    /// The team, if the caller may see it (admins, members); else 404.
    async fn visible_team(&self, principal: &Principal, name: &str) -> ClusterResult<TeamRecord> {
        check_username("name", name)?;
        let visible = principal.is_admin() || principal.teams.iter().any(|t| t == name);
        let team = if visible {
            self.store.get_team(name).await?
        } else {
            None
        };
        team.ok_or_else(|| ClusterError::not_found("team", name))
    }

    async fn team_view(&self, name: &str) -> ClusterResult<Team> {
        let team = self.store.get_team(name).await?;
        team.map(view)
            .ok_or_else(|| ClusterError::not_found("team", name))
    }

    /// Replaces the members (admins and the team's maintainers). Every user must exist.
    pub async fn set_members(
        &self,
        principal: &Principal,
        name: &str,
        members: &[TeamMember],
    ) -> ClusterResult<Team> {
        let team = self.visible_team(principal, name).await?;
        let maintainer = (team.members.iter())
            .any(|(u, r)| u == &principal.username && r == TeamRole::Maintainer.as_str());
        if !principal.is_admin() && !maintainer {
            let why = "managing members needs the team's maintainer role".to_string();
            return Err(crate::auth::AuthError::Forbidden(why).into());
        }
        if members.len() > MAX_MEMBERS {
            let why = format!("at most {MAX_MEMBERS} members");
            return Err(InvalidInput::new("members", why).into());
        }
        let mut list: Vec<(String, String)> = Vec::with_capacity(members.len());
        for (i, m) in members.iter().enumerate() {
            check_username(&format!("members[{i}].user"), &m.user)?;
            if self.store.get_user(&m.user).await?.is_none() {
                return Err(ClusterError::not_found("user", &m.user));
            }
            list.retain(|(u, _)| u != &m.user);
            list.push((m.user.clone(), m.role.as_str().to_string()));
        }
        let detail = serde_json::json!({ "members": members });
        let draft = Draft::by(principal, actions::TEAM_MEMBERS)
            .target(name)
            .team(name)
            .detail(detail);
        let work = async {
            if !self.store.set_members(name, &list).await? {
                return Err(ClusterError::not_found("team", name));
            }
            self.team_view(name).await
        };
        self.audited(draft, work, plain).await
    }

    /// Replaces the engines granted to a team (admins). Every id must name an engine.
    pub async fn set_team_engines(
        &self,
        principal: &Principal,
        name: &str,
        engines: &[String],
    ) -> ClusterResult<Team> {
        admin_only(principal)?;
        check_username("name", name)?;
        let ids = self.known_engine_ids(engines).await?;
        let draft = Draft::by(principal, actions::TEAM_ENGINES)
            .target(name)
            .team(name)
            .detail(serde_json::json!({ "engines": ids }));
        let work = async {
            if !self.store.set_team_engines(name, &ids).await? {
                return Err(ClusterError::not_found("team", name));
            }
            self.team_view(name).await
        };
        self.audited(draft, work, plain).await
    }

    /// Checked, deduplicated engine ids that all exist (404 naming the first that does not).
    pub(in crate::cluster) async fn known_engine_ids(
        &self,
        engines: &[String],
    ) -> ClusterResult<Vec<String>> {
        if engines.len() > 1024 {
            return Err(InvalidInput::new("engines", "at most 1024 engines").into());
        }
        let mut ids: Vec<String> = Vec::with_capacity(engines.len());
        for (i, id) in engines.iter().enumerate() {
            check_engine_id(&format!("engines[{i}]"), id)?;
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        let known = self.store.engines_by_id(&ids).await?;
        if let Some(missing) = ids.iter().find(|id| !known.iter().any(|e| &e.id == *id)) {
            return Err(ClusterError::not_found("engine", missing));
        }
        Ok(ids)
    }

    /// Replaces a team's limits (admins).
    pub async fn set_team_quota(
        &self,
        principal: &Principal,
        name: &str,
        limits: &QuotaLimits,
    ) -> ClusterResult<Quota> {
        admin_only(principal)?;
        check_username("name", name)?;
        limits.check()?;
        if self.store.get_team(name).await?.is_none() {
            return Err(ClusterError::not_found("team", name));
        }
        self.set_quota(principal, &team_owner(name), limits).await
    }

    /// Deletes a team (admins): 409 while it owns containers or volumes unless `purge`.
    pub async fn delete_team(
        &self,
        principal: &Principal,
        name: &str,
        purge: bool,
    ) -> ClusterResult<()> {
        admin_only(principal)?;
        check_username("name", name)?;
        if self.store.get_team(name).await?.is_none() {
            return Err(ClusterError::not_found("team", name));
        }
        let owner = team_owner(name);
        let draft = Draft::by(principal, actions::TEAM_DELETE)
            .target(name)
            .team(name)
            .detail(serde_json::json!({ "purge": purge }));
        let work = async {
            self.clear_owner(principal, &owner, &format!("team {name}"), purge)
                .await?;
            if !self.store.delete_team(name).await? {
                return Err(ClusterError::not_found("team", name));
            }
            self.drop_owned_records(principal, &owner).await
        };
        self.audited(draft, work, |removed, _| Settle::detail(removed.clone()))
            .await
            .map(|_| ())
    }
}

impl Cluster {
    /// Whose grants, names and quota a new object gets: the caller's own, or with `team` the
    /// team's (the caller must be a member, or an admin; anyone else gets 404, as for a team
    /// that does not exist). The answer is the principal to place as; audit entries keep the
    /// caller as the actor.
    pub(in crate::cluster) async fn owner_for(
        &self,
        principal: &Principal,
        team: Option<&str>,
    ) -> ClusterResult<Principal> {
        let Some(team) = team else {
            return Ok(principal.clone());
        };
        self.visible_team(principal, team).await?;
        Ok(Principal {
            username: team_owner(team),
            account: String::new(),
            role: crate::domain::Role::User,
            request_id: principal.request_id.clone(),
            token: None,
            session: None,
            teams: Vec::new(),
            via: principal.via,
        })
    }
}
