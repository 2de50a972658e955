//! Replay: fold the audit stream into the containers that should exist, compare with what the
//! engines hold, and plan (or, with `apply`, carry out) their placement again.
//!
//! A dry run changes nothing. `apply` re-adds engines the log knows that Redis lacks, records
//! the reservations of every container found (as the reconcile pass does), places each missing
//! container again through the scheduler and reservations (a `container.reschedule` entry that
//! points back to the original op, with the original owner's grants and labels), releases the
//! old reservation, and rebuilds the container index from the log. Replaying twice in a row: the
//! second plan is empty.

use super::inventory::{Inventory, Source};

use super::run::RunOptions;
use super::{Cluster, ClusterResult, admin_only};
use crate::auth::Principal;
use crate::domain::{EngineRecord, ImageConfig, Orphan, ReplayPlan, Reschedule, image_with_tag};
use crate::events::fold::{Desired, Fold};
use crate::events::{Draft, actions, decode};
use crate::scheduler::{PortKey, place};

/// Entries read per page while folding.
const FOLD_PAGE: usize = 1000;

/// Containers the engines hold that no schedule in the log accounts for.
fn orphans_of(fold: &Fold, inventory: &Inventory) -> Vec<Orphan> {
    let mut orphans: Vec<Orphan> = (inventory.by_op.iter())
        .filter(|(op, _)| !fold.desired.contains_key(*op))
        .map(|(op, found)| Orphan {
            engine: found.engine.clone(),
            container: found.container.clone(),
            name: found.name.clone(),
            op: op.clone(),
        })
        .collect();
    orphans.sort_by(|a, b| (&a.engine, &a.container).cmp(&(&b.engine, &b.container)));
    orphans
}

/// Why a container the log wants is not on the engines; `None` when it is there.
fn missing_because(desired: &Desired, inventory: &Inventory) -> Option<String> {
    if inventory.by_op.contains_key(&desired.op) {
        return None;
    }
    let engine = &desired.engine;
    Some(match inventory.unreachable.get(engine) {
        Some(error) => format!("engine {engine} is unreachable: {error}"),
        None if !inventory.engines.iter().any(|e| &e.id == engine) => {
            format!("engine {engine} is no longer in the cluster")
        }
        None => "the container vanished from its engine".to_string(),
    })
}

impl Cluster {
    /// Folds the whole stream, oldest first.
    pub async fn fold_stream(&self) -> ClusterResult<Fold> {
        let mut fold = Fold::default();
        let mut from = "-".to_string();
        loop {
            let entries = self
                .store
                .events_range(&from, "+", FOLD_PAGE, false)
                .await?;
            let done = entries.len() < FOLD_PAGE;
            for entry in entries {
                from = format!("({}", entry.0);
                fold.apply(&decode(entry));
            }
            if done {
                return Ok(fold);
            }
        }
    }

    /// Plans a replay, and carries it out with `apply`.
    pub async fn replay(&self, actor: &Principal, apply: bool) -> ClusterResult<ReplayPlan> {
        admin_only(actor)?;
        let fold = self.fold_stream().await?;
        let mut plan = ReplayPlan {
            applied: apply,
            desired: fold.desired.len() as u32,
            ..Default::default()
        };
        for (id, detail) in &fold.engines {
            if self.store.get_engine(id).await?.is_none() {
                plan.restored_engines.push(id.clone());
                if apply {
                    self.restore_engine(id, detail).await?;
                }
            }
        }
        let mut inventory = self.inventory(Source::Views).await?;
        if apply && (fold.desired.keys()).any(|op| !inventory.by_op.contains_key(op)) {
            // Rescheduling acts on what is missing: the engines themselves confirm it (a view
            // may not have the newest container another process made yet).
            inventory = self.inventory(Source::Live).await?;
        }
        plan.orphans = orphans_of(&fold, &inventory);
        if apply {
            plan.claims_recorded = self.reconcile_claims_in(&inventory).await?.recorded as u32;
        }
        for desired in fold.desired.values() {
            let Some(reason) = missing_because(desired, &inventory) else {
                plan.present += 1;
                continue;
            };
            let mut item = Reschedule {
                op: desired.op.clone(),
                container: desired.container.clone(),
                name: desired.name.clone(),
                owner: desired.owner.clone(),
                engine: desired.engine.clone(),
                reason,
                ..Default::default()
            };
            match self.owner_principal(desired, actor).await? {
                Err(why) => item.error = Some(why),
                Ok(owner) if apply => self.reschedule(actor, &owner, desired, &mut item).await,
                Ok(owner) => self.dry_place(&owner, desired, &mut item).await?,
            }
            plan.missing.push(item);
        }
        if apply {
            let fold = self.fold_stream().await?;
            let index = fold.index();
            plan.indexed = index.len() as u32;
            self.store.replace_container_index(&index).await?;
        }
        Ok(plan)
    }

    async fn restore_engine(&self, id: &str, record: &EngineRecord) -> ClusterResult<()> {
        self.store
            .add_engine(&record.clone().into_engine(id))
            .await?;
        tracing::info!(engine = %id, "engine restored from the audit log");
        Ok(())
    }

    /// The owner as a caller: their grants decide where the container may go.
    async fn owner_principal(
        &self,
        d: &Desired,
        actor: &Principal,
    ) -> ClusterResult<Result<Principal, String>> {
        Ok(match self.store.get_user(&d.owner).await? {
            Some(user) => Ok(Principal {
                username: user.username,
                account: user.id,
                role: user.role,
                request_id: actor.request_id.clone(),
                token: None,
                session: None,
                teams: Vec::new(),
                via: Default::default(),
            }),
            None => Err(format!("owner {} no longer exists", d.owner)),
        })
    }

    fn config_of(d: &Desired) -> Result<ImageConfig, String> {
        serde_json::from_str(&d.image)
            .map_err(|e| format!("the logged image config cannot be read: {e}"))
    }

    /// The logged config, through the same checks as a new run under the owner's role now:
    /// shape, the tenant guard, publish addresses, names. A demoted owner's privileged
    /// container is refused here, not recreated.
    async fn vetted(
        &self,
        owner: &Principal,
        d: &Desired,
    ) -> Result<(ImageConfig, Vec<PortKey>), String> {
        let config = Self::config_of(d)?;
        match self.vet_config(owner, &config).await {
            Ok(ports) => Ok((config, ports)),
            Err(e) => Err(format!(
                "refused as a new run of {} would be: {e}",
                owner.username
            )),
        }
    }

    /// Where the scheduler would put it now (nothing is claimed).
    async fn dry_place(
        &self,
        owner: &Principal,
        d: &Desired,
        item: &mut Reschedule,
    ) -> ClusterResult<()> {
        let (config, ports) = match self.vetted(owner, d).await {
            Ok(vetted) => vetted,
            Err(e) => {
                item.error = Some(e);
                return Ok(());
            }
        };
        let image = image_with_tag(&config.name);
        let candidates = self.candidates(owner, true).await?;
        let req = self.placement_request(
            &config,
            &image,
            &ports,
            &candidates.snapshot,
            &candidates.engines,
        );
        match place(&req, &candidates.snapshot, self.placement.strategy, &[]) {
            Ok(i) => item.target = Some(candidates.engines[i].id.clone()),
            Err(refusals) => {
                let reasons: Vec<String> = refusals.into_iter().map(|r| r.message).collect();
                item.error = Some(format!("no engine fits: {}", reasons.join("; ")));
            }
        }
        Ok(())
    }

    /// Places it again for real, pointing back to the original op.
    async fn reschedule(
        &self,
        actor: &Principal,
        owner: &Principal,
        d: &Desired,
        item: &mut Reschedule,
    ) {
        let (config, ports) = match self.vetted(owner, d).await {
            Ok(vetted) => vetted,
            Err(e) => {
                item.error = Some(e);
                return;
            }
        };
        let mut draft = Draft::by(actor, actions::CONTAINER_RESCHEDULE);
        draft.ref_op = Some(d.op.clone());
        let options = RunOptions {
            saved_as: d.saved_as.clone(),
            ..Default::default()
        };
        match self.run_one(owner, &config, &ports, &options, draft).await {
            Ok(c) => {
                item.target = Some(c.engine.id.clone());
                item.new_container = Some(c.id.clone());
                if let Err(e) = self.store.release(&d.engine, &d.op).await {
                    tracing::warn!(op = %d.op, error = %e, "old reservation not released; reconcile will");
                }
            }
            Err(e) => item.error = Some(e.to_string()),
        }
    }
}
