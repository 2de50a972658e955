//! Plain types shared by every layer: what an engine, a user, an image config and a container are.
//!
//! They derive both serde (for Redis) and poem-openapi's `Object` (for the API), because the API
//! shape is the seed's JSON and the stored shape is the same JSON; a doc comment on a field becomes
//! its description in the OpenAPI spec.

mod cluster;
mod container;
mod engine;
mod event;
mod exec;
mod image;
mod image_check;
mod images;
pub mod names;
mod owner;
mod quota;
mod registry;
mod replay;
mod requests;
mod saved;
mod scope;
mod team;
mod token;
mod user;
mod volume;

pub use cluster::{
    Capacity, ClusterCapacity, CompactContainerList, ContainerList, ContainerListing,
    ContainerOnEngine, EngineCapacity, EngineFailure, EngineSync,
};
pub use container::{Container, ContainerFacts, ContainerState};
pub use engine::{
    Engine, EngineHealth, EngineRecord, EngineStatus, HealthState, MAX_PUBLISH_IPS, addr_host,
    check_publish_ips, is_host_local,
};
pub use event::{AuditEvent, EventPage, Phase};
pub use exec::ExecConfig;
pub use image::{BindPort, ImageConfig, PlacementType, PullPolicy, RestartPolicy};
pub use image_check::{MAX_IMAGE_REF, MAX_ITEM, MAX_LIST, check_config, image_with_tag};
pub use images::{EngineImage, PullRequest, PullResult};
pub use names::{
    InvalidInput, MAX_CPUS, MAX_LABEL_LEN, MAX_LABELS, MAX_MEMORY_MB, MAX_NAME_LEN,
    MAX_PASSWORD_LEN, MIN_CPUS, MIN_MEMORY_MB, MIN_PASSWORD_LEN, RESERVED_LABEL_PREFIX,
    check_engine_id, check_labels, check_password, check_username,
};
pub use owner::{owner_kind, team_owner};
pub use quota::{
    MAX_QUOTA_COUNT, OwnerKind, Quota, QuotaLimits, QuotaUse, Resource as QuotaResource,
};
pub use registry::{NewRegistry, Registry};
pub use replay::{Orphan, ReplayPlan, Reschedule};
pub use requests::{Credentials, EnginePatch, Grants, NewEngine, NewUser, PasswordChange};
pub use saved::{NewSavedImage, SavedImage, ScaleRequest, ScaleResult};
pub use scope::{MAX_OBJECT_NAME, Scope, check_object_name};
pub use team::{MAX_MEMBERS, NewTeam, Team, TeamMember, TeamMembers, TeamRole};
pub use token::{ApiToken, IssuedApiToken, MAX_TOKEN_SECS, NewToken, TokenScope};
pub use user::{Role, User};
pub use volume::{Volume, VolumeList};
