//! A consumer of clementine's audit stream outside clementine: reads through a Redis consumer
//! group, prints each action, and acknowledges it.
//!
//!   cargo run --example audit_consumer -- [--redis URL] [--stream KEY] [--group NAME]
//!                                         [--consumer NAME] [--count N]
//!
//! Defaults: `redis://127.0.0.1:6390/`, stream `clementine:events`, group `printer`, consumer
//! `printer-1`; it runs until interrupted, or until it has printed `--count` entries.
//!
//! The pattern for any consumer:
//! 1. `XGROUP CREATE <stream> <group> 0 MKSTREAM` once (an existing group is fine): the group
//!    starts at the beginning of the log, so nothing before the consumer started is missed;
//! 2. `XAUTOCLAIM <stream> <group> <consumer> 60000 0` to take over entries another consumer of
//!    the group read but never acknowledged (it crashed);
//! 3. `XREADGROUP GROUP <group> <consumer> BLOCK 5000 STREAMS <stream> >` for new entries;
//! 4. `XACK <stream> <group> <id>` after handling each one. Handling must be idempotent: after a
//!    crash, an entry may be delivered again.

use redis::AsyncCommands;
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamReadOptions, StreamReadReply,
};

struct Args {
    redis: String,
    stream: String,
    group: String,
    consumer: String,
    count: Option<usize>,
}

fn args() -> Args {
    let mut a = Args {
        redis: "redis://127.0.0.1:6390/".into(),
        stream: "clementine:events".into(),
        group: "printer".into(),
        consumer: "printer-1".into(),
        count: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--redis" => a.redis = value,
            "--stream" => a.stream = value,
            "--group" => a.group = value,
            "--consumer" => a.consumer = value,
            "--count" => a.count = value.parse().ok(),
            other => {
                eprintln!("unknown flag {other}");
                std::process::exit(2);
            }
        }
    }
    a
}

type Entry = (String, std::collections::HashMap<String, redis::Value>);

fn field(entry: &Entry, name: &str) -> String {
    entry
        .1
        .get(name)
        .and_then(|v| redis::from_redis_value::<String>(v.clone()).ok())
        .unwrap_or_default()
}

/// One line per entry: id, action, phase, actor, outcome, and where.
fn print(entry: &Entry) {
    let outcome = field(entry, "outcome");
    let place = [
        field(entry, "engine"),
        field(entry, "container"),
        field(entry, "target"),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    println!(
        "{} {} {} by {}{}{}",
        entry.0,
        field(entry, "action"),
        field(entry, "phase"),
        field(entry, "actor"),
        if outcome.is_empty() {
            String::new()
        } else {
            format!(" -> {outcome}")
        },
        if place.is_empty() {
            String::new()
        } else {
            format!(" [{place}]")
        },
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> redis::RedisResult<()> {
    let a = args();
    let client = redis::Client::open(a.redis.as_str())?;
    // Blocking reads need a connection without a response timeout.
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let created: redis::RedisResult<()> =
        conn.xgroup_create_mkstream(&a.stream, &a.group, "0").await;
    if let Err(e) = created
        && e.code() != Some("BUSYGROUP")
    {
        return Err(e);
    }
    let mut printed = 0;
    let done = |printed: usize| a.count.is_some_and(|n| printed >= n);

    // Entries a crashed member of the group read but never acknowledged.
    let claimed: StreamAutoClaimReply = conn
        .xautoclaim_options(
            &a.stream,
            &a.group,
            &a.consumer,
            60_000,
            "0-0",
            StreamAutoClaimOptions::default().count(100),
        )
        .await?;
    for e in claimed.claimed {
        let entry: Entry = (e.id.clone(), e.map);
        print(&entry);
        let _: i64 = conn.xack(&a.stream, &a.group, &[&entry.0]).await?;
        printed += 1;
    }

    let options = StreamReadOptions::default()
        .group(&a.group, &a.consumer)
        .block(5000)
        .count(100);
    while !done(printed) {
        let reply: Option<StreamReadReply> =
            conn.xread_options(&[&a.stream], &[">"], &options).await?;
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            for e in key.ids {
                let entry: Entry = (e.id.clone(), e.map);
                print(&entry);
                let _: i64 = conn.xack(&a.stream, &a.group, &[&entry.0]).await?;
                printed += 1;
                if done(printed) {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}
