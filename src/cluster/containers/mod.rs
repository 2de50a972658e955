//! Containers and what they use: placement and claims, runs, the lifecycle, saved configs and
//! scaling, tenant names, volumes and networks, pulls, and the listings.

use super::*;

pub(super) mod images;
pub(super) mod images_on_engines;
pub(super) mod lifecycle;
pub(super) mod listing;
pub(super) mod locate;
pub(super) mod networks;
pub(super) mod placement;
pub(super) mod publish;
pub(super) mod pulls;
pub(super) mod relay;
pub(super) mod run;
pub(super) mod scale;
pub(super) mod scale_trail;
pub(super) mod start;
pub(super) mod tenancy;
pub(super) mod volumes;
