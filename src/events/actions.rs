//! Actions, as recorded in the `action` field.

pub const CONTAINER_SCHEDULE: &str = "container.schedule";
pub const CONTAINER_DESTROY: &str = "container.destroy";
pub const CONTAINER_START: &str = "container.start";
pub const CONTAINER_STOP: &str = "container.stop";
pub const CONTAINER_RESTART: &str = "container.restart";
pub const CONTAINER_SCALE: &str = "container.scale";
pub const CONTAINER_RESCHEDULE: &str = "container.reschedule";
pub const CONTAINER_KILL: &str = "container.kill";
pub const CONTAINER_ATTACH: &str = "container.attach";
pub const CONTAINER_EXEC: &str = "container.exec";
pub const VOLUME_CREATE: &str = "volume.create";
pub const NETWORK_CREATE: &str = "network.create";
pub const NETWORK_DELETE: &str = "network.delete";
pub const NETWORK_CONNECT: &str = "network.connect";
pub const NETWORK_DISCONNECT: &str = "network.disconnect";
pub const ENGINE_ADD: &str = "engine.add";
pub const ENGINE_UPDATE: &str = "engine.update";
pub const ENGINE_REMOVE: &str = "engine.remove";
pub const USER_CREATE: &str = "user.create";
pub const USER_DELETE: &str = "user.delete";
pub const USER_PURGE: &str = "user.purge";
pub const USER_ROLE: &str = "user.role";
pub const QUOTA_SET: &str = "quota.set";
pub const TEAM_CREATE: &str = "team.create";
pub const TEAM_DELETE: &str = "team.delete";
pub const TEAM_MEMBERS: &str = "team.members";
pub const TEAM_ENGINES: &str = "team.engines";
pub const USER_GRANT: &str = "user.grant";
pub const USER_REVOKE: &str = "user.revoke";
pub const USER_PASSWORD: &str = "user.password";
pub const IMAGE_SAVE: &str = "image.save";
pub const IMAGE_REPLACE: &str = "image.replace";
pub const IMAGE_DELETE: &str = "image.delete";
pub const VOLUME_DELETE: &str = "volume.delete";
pub const IMAGE_PULL: &str = "image.pull";
pub const REGISTRY_ADD: &str = "registry.add";
pub const REGISTRY_DELETE: &str = "registry.delete";
pub const SECRETS_ROTATE: &str = "secrets.rotate";
pub const TOKEN_CREATE: &str = "token.create";
pub const TOKEN_REVOKE: &str = "token.revoke";
pub const LOGIN_FAILED: &str = "auth.login_failed";
/// A 403: one entry (no intent/outcome pair), since nothing was done.
pub const AUTH_DENIED: &str = "auth.denied";

/// Every action, for mapping a stored name back to its constant.
pub const ALL: &[&str] = &[
    CONTAINER_SCHEDULE,
    CONTAINER_DESTROY,
    CONTAINER_START,
    CONTAINER_STOP,
    CONTAINER_RESTART,
    CONTAINER_SCALE,
    CONTAINER_RESCHEDULE,
    CONTAINER_KILL,
    CONTAINER_ATTACH,
    CONTAINER_EXEC,
    VOLUME_CREATE,
    NETWORK_CREATE,
    NETWORK_DELETE,
    NETWORK_CONNECT,
    NETWORK_DISCONNECT,
    ENGINE_ADD,
    ENGINE_UPDATE,
    ENGINE_REMOVE,
    USER_CREATE,
    USER_DELETE,
    USER_PURGE,
    USER_ROLE,
    QUOTA_SET,
    TEAM_CREATE,
    TEAM_DELETE,
    TEAM_MEMBERS,
    TEAM_ENGINES,
    USER_GRANT,
    USER_REVOKE,
    USER_PASSWORD,
    IMAGE_SAVE,
    IMAGE_REPLACE,
    IMAGE_DELETE,
    VOLUME_DELETE,
    IMAGE_PULL,
    REGISTRY_ADD,
    REGISTRY_DELETE,
    SECRETS_ROTATE,
    TOKEN_CREATE,
    TOKEN_REVOKE,
    LOGIN_FAILED,
    AUTH_DENIED,
];

/// The constant for a stored action name.
pub fn named(name: &str) -> Option<&'static str> {
    ALL.iter().copied().find(|a| *a == name)
}
