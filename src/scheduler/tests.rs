use super::*;
use crate::domain::PlacementType;

struct Builder {
    cluster: ClusterSnapshot,
}

impl Builder {
    fn new() -> Self {
        Self {
            cluster: ClusterSnapshot::default(),
        }
    }

    fn engine(mut self, id: &str, cpus: f64, memory: u64, labels: &[&str]) -> Self {
        let labels: Vec<Sym> = labels
            .iter()
            .map(|l| self.cluster.interner.intern(l))
            .collect();
        self.cluster.push(EngineSnapshot {
            id: id.into(),
            granted: true,
            unavailable: None,
            labels,
            images: vec![],
            ports: vec![],
            volumes: vec![],
            holds_image: true,
            cpus,
            memory,
            reserved_cpus: 0.0,
            reserved_memory: 0,
        });
        self
    }

    fn with(mut self, f: impl FnOnce(&mut EngineSnapshot, &mut Interner)) -> Self {
        let n = self.cluster.engines().len() - 1;
        self.cluster.update(n, f);
        self
    }

    fn request(
        &mut self,
        kind: PlacementType,
        image: &str,
        labels: &[&str],
        cpus: f64,
        memory: u64,
        ports: &[u16],
    ) -> PlacementRequest {
        PlacementRequest {
            kind,
            image: self.cluster.interner.intern(image),
            labels: labels
                .iter()
                .map(|l| self.cluster.interner.get(l))
                .collect(),
            label_names: labels.iter().map(|l| l.to_string()).collect(),
            hosts: labels
                .iter()
                .filter_map(|l| l.strip_prefix("host:"))
                .filter_map(|id| self.cluster.engines().iter().position(|e| e.id == id))
                .collect(),
            cpus,
            memory,
            ports: ports
                .iter()
                .map(|p| PortKey::new(*p, "tcp").unwrap())
                .collect(),
            volumes: vec![],
            volume_names: vec![],
            holders_only: false,
            ties_from: 0,
        }
    }
}

fn id(cluster: &ClusterSnapshot, choice: Result<Choice, Vec<Refusal>>) -> String {
    cluster.engines()[choice.expect("a choice")].id.clone()
}

#[test]
fn service_honours_labels() {
    let mut b = Builder::new()
        .engine("e1", 4.0, 4096, &["hdd"])
        .engine("e2", 4.0, 4096, &["ssd", "zone:a"])
        .engine("e3", 4.0, 4096, &["ssd"]);
    let req = b.request(
        PlacementType::Service,
        "redis:7",
        &["ssd", "zone:a"],
        1.0,
        256,
        &[],
    );
    assert_eq!(
        id(&b.cluster, place(&req, &b.cluster, Strategy::Binpack, &[])),
        "e2"
    );
    let req = b.request(PlacementType::Service, "redis:7", &["gpu"], 1.0, 256, &[]);
    let refusals = place(&req, &b.cluster, Strategy::Binpack, &[]).unwrap_err();
    assert_eq!(refusals.len(), 3);
    assert_eq!(refusals[0].message, "e1: lacks label gpu");
}

#[test]
fn unique_refuses_a_second_copy() {
    let mut b = Builder::new()
        .engine("e1", 4.0, 4096, &[])
        .with(|e, i| e.images.push(i.intern("redis:7")))
        .engine("e2", 4.0, 4096, &[]);
    let req = b.request(PlacementType::Unique, "redis:7", &[], 1.0, 256, &[]);
    assert_eq!(
        id(&b.cluster, place(&req, &b.cluster, Strategy::Binpack, &[])),
        "e2"
    );
    // Service placement does not care.
    let req = b.request(PlacementType::Service, "redis:7", &[], 1.0, 256, &[]);
    assert!(place(&req, &b.cluster, Strategy::Binpack, &[]).is_ok());
}

#[test]
fn ports_move_a_second_publisher() {
    let mut b = Builder::new()
        .engine("e1", 4.0, 4096, &[])
        .with(|e, _| e.ports.push(PortKey::new(6379, "tcp").unwrap()))
        .engine("e2", 4.0, 4096, &[]);
    let req = b.request(PlacementType::Port, "redis:7", &[], 0.5, 128, &[6379]);
    assert_eq!(
        id(&b.cluster, place(&req, &b.cluster, Strategy::Binpack, &[])),
        "e2"
    );
    let req = b.request(PlacementType::Port, "redis:7", &[], 0.5, 128, &[6379]);
    let err = place(&req, &b.cluster, Strategy::Binpack, &[1]).unwrap_err();
    assert_eq!(err[0].message, "e1: port 6379/tcp taken");
    assert_eq!(err[1].message, "e2: claimed by a concurrent request");
}

#[test]
fn host_pins_and_multi_combines() {
    let mut b = Builder::new()
        .engine("e1", 4.0, 4096, &["ssd"])
        .engine("e2", 4.0, 4096, &["ssd"])
        .with(|e, i| e.images.push(i.intern("web:1")))
        .engine("e3", 4.0, 4096, &["hdd"]);
    let req = b.request(PlacementType::Host, "web:1", &["host:e3"], 1.0, 128, &[]);
    assert_eq!(
        id(&b.cluster, place(&req, &b.cluster, Strategy::Binpack, &[])),
        "e3"
    );
    let req = b.request(PlacementType::Multi, "web:1", &["ssd"], 1.0, 128, &[80]);
    assert_eq!(
        id(&b.cluster, place(&req, &b.cluster, Strategy::Binpack, &[])),
        "e1"
    );
}

#[test]
fn capacity_is_per_resource_with_reasons() {
    let mut b = Builder::new()
        .engine("e1", 4.0, 1024, &[])
        .with(|e, _| e.reserved_memory = 900)
        .engine("e2", 1.0, 8192, &[])
        .with(|e, _| e.reserved_cpus = 0.75);
    // e1 has cpus but not memory; e2 has memory but not cpus: averaging would wrongly accept.
    let req = b.request(PlacementType::Service, "x:1", &[], 0.5, 256, &[]);
    let err = place(&req, &b.cluster, Strategy::Binpack, &[]).unwrap_err();
    assert_eq!(err[0].message, "e1: memory 900+256 > 1024 MB");
    assert_eq!(err[1].message, "e2: cpus 0.75 + 0.5 > 1");
}

#[test]
fn only_active_healthy_granted_engines() {
    let mut b = Builder::new()
        .engine("e1", 4.0, 4096, &[])
        .with(|e, _| e.granted = false)
        .engine("e2", 4.0, 4096, &[])
        .with(|e, _| e.unavailable = Some(Unavailable::Draining))
        .engine("e3", 4.0, 4096, &[])
        .with(|e, _| e.unavailable = Some(Unavailable::Unhealthy));
    let req = b.request(PlacementType::Service, "x:1", &[], 0.1, 1, &[]);
    let err = place(&req, &b.cluster, Strategy::Binpack, &[]).unwrap_err();
    let msgs: Vec<&str> = err.iter().map(|r| r.message.as_str()).collect();
    assert_eq!(
        msgs,
        ["e1: not granted to you", "e2: draining", "e3: unhealthy"]
    );
}

#[test]
fn binpack_fills_spread_spreads() {
    let mut b = Builder::new()
        .engine("e1", 4.0, 4096, &[])
        .with(|e, _| {
            e.reserved_cpus = 2.0;
            e.reserved_memory = 2048
        })
        .engine("e2", 4.0, 4096, &[]);
    let req = b.request(PlacementType::Service, "x:1", &[], 1.0, 512, &[]);
    assert_eq!(
        id(&b.cluster, place(&req, &b.cluster, Strategy::Binpack, &[])),
        "e1"
    );
    assert_eq!(
        id(&b.cluster, place(&req, &b.cluster, Strategy::Spread, &[])),
        "e2"
    );
}

#[test]
fn engines_holding_the_image_come_first() {
    let mut t = Builder::new()
        .engine("e1", 4.0, 4096, &[])
        .with(|e, _| e.holds_image = false)
        .engine("e2", 4.0, 4096, &[])
        .with(|e, _| {
            e.holds_image = true;
            e.reserved_memory = 3000;
        });
    let mut req = t.request(PlacementType::Service, "busybox:latest", &[], 1.0, 64, &[]);
    // Spread would pick the empty e1; e2 holds the image, so no pull: e2.
    assert_eq!(
        id(&t.cluster, place(&req, &t.cluster, Strategy::Spread, &[])),
        "e2"
    );
    // pull: never leaves only holders; their reason says so.
    req.holders_only = true;
    t.cluster.update(1, |e, _| e.reserved_memory = 4096);
    let refusals = place(&req, &t.cluster, Strategy::Spread, &[]).unwrap_err();
    assert_eq!(
        refusals[0].message,
        "e1: the image is not there (pull: never)"
    );
}

#[test]
fn volumes_pull_the_container_to_their_engine() {
    let mut t = Builder::new()
        .engine("e1", 4.0, 4096, &[])
        .engine("e2", 4.0, 4096, &[])
        .with(|e, interner| e.volumes = vec![interner.intern("clm.x.3.ann.data")]);
    let mut req = t.request(PlacementType::Service, "busybox:latest", &[], 1.0, 64, &[]);
    req.volumes = vec![t.cluster.interner.intern("clm.x.3.ann.data")];
    req.volume_names = vec!["volume data".into()];
    assert_eq!(
        id(&t.cluster, place(&req, &t.cluster, Strategy::Spread, &[])),
        "e2"
    );
    // Full there: the reason names the volume, not some other engine's room.
    t.cluster.update(1, |e, _| e.reserved_memory = 4096);
    let refusals = place(&req, &t.cluster, Strategy::Spread, &[]).unwrap_err();
    assert_eq!(refusals[0].message, "e1: volume data is on another engine");
    assert!(
        refusals[1].message.starts_with("e2: memory"),
        "{refusals:?}"
    );
}

#[test]
fn setting_holds_image_derives_what_update_derives() {
    // 130 engines: the holders' bit set spans three words.
    let mut b = Builder::new();
    for i in 0..130 {
        b = b.engine(&format!("e{i}"), 4.0, 4096, &["ssd"]);
    }
    let (mut set, mut updated) = (b.cluster.clone(), b.cluster);
    for i in [0, 63, 64, 129, 7] {
        let holds = i % 2 == 1;
        set.set_holds_image(i, holds);
        updated.update(i, |e, _| e.holds_image = holds);
    }
    assert_eq!(set.engines(), updated.engines());
    assert_eq!(set.columns(), updated.columns());
    assert_eq!(set.hot(), updated.hot());
}
