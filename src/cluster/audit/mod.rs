//! The record and its uses: the one audited-action path, denied attempts, reading the log, and
//! the passes that hold the engines and Redis together (reconcile, settle, replay) over a live
//! inventory of the engines; and the tamper-evident tree over the log.

use super::*;

pub(super) mod audit_log;
pub(super) mod audited;
pub(super) mod denied;
pub(super) mod inventory;
pub(super) mod reconcile;
pub(super) mod replay;
pub(super) mod settle;
pub(super) mod tree;
pub(super) mod vanished;
