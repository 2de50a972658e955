//! One placement decision over 10 ... 10,000 engine snapshots (target: < 20 µs at 10,000 on one
//! core). Run with `scripts/bench.sh scheduler` or `cargo bench --bench scheduler`.

use std::hint::black_box;

use clementine::domain::PlacementType;
use clementine::scheduler::{
    ClusterSnapshot, EngineSnapshot, PlacementRequest, PortKey, Strategy, place,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// A cluster where engines differ the way real ones do: a few labels each, some images and
/// ports claimed, reservations between empty and full. Deterministic (no RNG crate needed).
fn cluster(n: usize) -> ClusterSnapshot {
    let mut c = ClusterSnapshot::default();
    let labels: Vec<u32> = [
        "ssd", "hdd", "zone:a", "zone:b", "zone:c", "gpu", "arm", "x86",
    ]
    .iter()
    .map(|l| c.interner.intern(l))
    .collect();
    let images: Vec<u32> = (0..50)
        .map(|i| c.interner.intern(&format!("img{i}:latest")))
        .collect();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..n {
        let r = next();
        let engine_labels = vec![
            labels[(r % 2) as usize],
            labels[2 + (r >> 8) as usize % 3],
            labels[7],
        ];
        c.push(EngineSnapshot {
            id: format!("e{i}"),
            granted: true,
            unavailable: None,
            labels: engine_labels,
            images: (0..(r >> 16) % 6)
                .map(|k| images[((r >> (20 + k)) % 50) as usize])
                .collect(),
            ports: (0..(r >> 24) % 4)
                .map(|k| PortKey {
                    port: 8000 + ((r >> (28 + k)) % 16) as u16,
                    proto: 0,
                })
                .collect(),
            volumes: vec![],
            holds_image: r % 3 != 0,
            cpus: 16.0,
            memory: 65536,
            reserved_cpus: ((r >> 32) % 16) as f64,
            reserved_memory: (r >> 40) % 65536,
        });
    }
    // One engine is sure to fit, so every size has a choice and the pass scans them all.
    c.update(n - 1, |last, _| {
        last.labels = vec![labels[0], labels[3]];
        last.images.clear();
        last.ports.clear();
        last.reserved_cpus = 0.0;
        last.reserved_memory = 0;
    });
    c
}

fn request(c: &ClusterSnapshot, kind: PlacementType) -> PlacementRequest {
    PlacementRequest {
        kind,
        image: c.interner.get("img7:latest").unwrap(),
        labels: vec![c.interner.get("ssd"), c.interner.get("zone:b")],
        label_names: vec!["ssd".into(), "zone:b".into()],
        hosts: vec![],
        cpus: 1.0,
        memory: 2048,
        ports: vec![PortKey {
            port: 8003,
            proto: 0,
        }],
        volumes: vec![],
        volume_names: vec![],
        holders_only: false,
        ties_from: 0,
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("place");
    for n in [10usize, 100, 1_000, 10_000] {
        let cluster = cluster(n);
        for kind in [PlacementType::Service, PlacementType::Multi] {
            let req = request(&cluster, kind);
            assert!(place(&req, &cluster, Strategy::Binpack, &[]).is_ok());
            group.throughput(Throughput::Elements(1));
            group.bench_with_input(BenchmarkId::new(kind.as_str(), n), &n, |b, _| {
                b.iter(|| place(black_box(&req), black_box(&cluster), Strategy::Binpack, &[]))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
