//! Serves hollow engines (see `mod.rs`) until interrupted, for benchmarks that want the fake
//! daemons in a process of their own (so that their CPU is not clementine's):
//!
//!   cargo run --release --example hollow-engines -- COUNT FIRST_IP CA_DIR [IMAGE...]
//!
//! e.g. `1000 127.77.0.1 .testbed/certs busybox:latest`. Prints `ready N` when every engine
//! listens, then one line per second with the calls answered (to measure clementine's load).

#[path = "mod.rs"]
#[allow(dead_code)]
mod hollow;

use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [count, first, ca_dir, images @ ..] = args.as_slice() else {
        return Err("usage: hollow-engines COUNT FIRST_IP CA_DIR [IMAGE...]".into());
    };
    let options = hollow::Options {
        count: count.parse().map_err(|_| "COUNT: a number")?,
        first: first.parse().map_err(|_| "FIRST_IP: an IPv4 address")?,
        ca_dir: ca_dir.into(),
        images: images.to_vec(),
        cpus: 64,
        memory_mb: 262_144,
    };
    let set = hollow::HollowSet::start(&options).await?;
    println!("ready {}", set.engines.len());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let calls: u64 = set.engines.iter().map(|e| e.calls()).sum();
                println!("calls {calls}");
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    set.stop();
    Ok(())
}
