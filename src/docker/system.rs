//! `_ping`, `version` and `info`: clementine answers as one Docker engine speaking API 1.41,
//! and `info` sums the caller's engines, as classic Swarm did.

use std::sync::Arc;

use poem::web::{Data, Json};
use poem::{Response, handler};
use serde_json::{Value, json};

use super::auth::Caller;
use super::{API_VERSION, DockerResult, MIN_API_VERSION};
use crate::cluster::{Cluster, ContainerFilter};
use crate::domain::ContainerState;

/// The Docker engine version clementine's API matches (dockerd 20.10 speaks 1.41).
const ENGINE_VERSION: &str = "20.10.24";

/// `GET|HEAD /_ping`: no token needed, as clients ping before anything else.
#[handler]
pub fn ping() -> Response {
    Response::builder()
        .content_type("text/plain; charset=utf-8")
        .header("Cache-Control", "no-cache, no-store, must-revalidate")
        .body("OK")
}

fn version_body() -> Value {
    let clementine = format!("clementine {}", env!("CARGO_PKG_VERSION"));
    json!({
        "Platform": { "Name": clementine },
        "Components": [{ "Name": "Engine", "Version": ENGINE_VERSION,
            "Details": { "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
                "GitCommit": "clementine", "GoVersion": "none", "Os": "linux",
                "Arch": std::env::consts::ARCH } }],
        "Version": ENGINE_VERSION, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "clementine", "GoVersion": "none", "Os": "linux", "Arch": std::env::consts::ARCH,
        "KernelVersion": "", "BuildTime": "",
    })
}

/// `GET /version`.
#[handler]
pub async fn version(Caller(_): Caller) -> Json<Value> {
    Json(version_body())
}

/// `GET /info`: the caller's containers and the engines they may use, summed.
#[handler]
pub async fn info(
    cluster: Data<&Arc<Cluster>>,
    Caller(caller): Caller,
) -> DockerResult<Json<Value>> {
    let capacity = cluster.capacity(&caller).await?;
    let listed = cluster
        .list_all(&caller, &ContainerFilter::default())
        .await?;
    let count = |s: ContainerState| listed.containers.iter().filter(|c| c.state == s).count();
    let (running, paused) = (
        count(ContainerState::Running),
        count(ContainerState::Paused),
    );
    let mut status = vec![json!(["Engines", capacity.engines.len().to_string()])];
    for e in &capacity.engines {
        status.push(json!([
            format!(" {}", e.id),
            format!(
                "{} CPUs, {} MB free",
                e.capacity.free_cpus, e.capacity.free_memory
            )
        ]));
    }
    Ok(Json(json!({
        "ID": "clementine", "Name": "clementine", "ServerVersion": ENGINE_VERSION,
        "Containers": listed.containers.len(), "ContainersRunning": running,
        "ContainersPaused": paused, "ContainersStopped": listed.containers.len() - running - paused,
        "Images": 0, "Driver": "clementine", "SystemStatus": status,
        "NCPU": capacity.total.cpus.floor() as u64, "MemTotal": capacity.total.memory * 1024 * 1024,
        "OperatingSystem": "clementine cluster", "OSType": "linux", "Architecture": std::env::consts::ARCH,
        "KernelVersion": "", "IndexServerAddress": "", "RegistryConfig": null,
        "Swarm": { "LocalNodeState": "inactive" }, "SecurityOptions": [], "Labels": [],
        "ExperimentalBuild": false, "Warnings": [],
    })))
}
