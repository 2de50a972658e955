//! The engines' reservations as this process last read them, for a run's first placement: at
//! 1,000 engines, reading every engine's reservations (four commands each) on every run held a
//! 64-client burst to about 100 runs/s, Redis doing little else.
//!
//! A copy is used for [`FRESH_FOR`], and this process's own claims are added to it at once. It
//! is only a guess at the room: the claim script is the one judge of it, atomically, so a copy
//! behind another process's claims costs a lost claim, after which placement reads the
//! reservations from Redis again (`fresh`), never an engine over its capacity. Releases are not
//! taken off the copy: it errs full, for at most [`FRESH_FOR`]. When the copy is older, one
//! placement reads the reservations again ([`ReservationCache::try_one_read`]) while the others
//! go on with the older copy, up to [`WHILE_READING`] old.
//!
//! Each engine's row is shared (`Arc`), so a placement over 1,000 engines copies pointers,
//! not 1,000 rows of images and ports.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Claim, Reservations};
use crate::domain::Engine;

type Rows = HashMap<String, Arc<Reservations>>;

/// How long a copy of the reservations is used for a first placement.
pub(crate) const FRESH_FOR: Duration = Duration::from_millis(250);

/// How long a copy is used while another placement reads the reservations again.
pub(crate) const WHILE_READING: Duration = Duration::from_secs(1);

#[derive(Default)]
pub(crate) struct ReservationCache {
    copy: Mutex<Option<(Instant, Rows)>>,
    /// Held by the one placement that reads the reservations again for the others.
    reading: tokio::sync::Mutex<()>,
}

impl ReservationCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Rows)>> {
        self.copy.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The right to read the reservations again for the copy, unless another placement holds
    /// it now.
    pub fn try_one_read(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        self.reading.try_lock().ok()
    }

    /// Waits until no other placement is reading the reservations for the copy; held while
    /// this one does (the others then find the copy young).
    pub async fn one_read(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.reading.lock().await
    }

    /// These engines' reservations, when the copy is younger than `age` and holds every one
    /// of them.
    pub fn get(&self, engines: &[Engine], age: Duration) -> Option<Vec<Arc<Reservations>>> {
        let copy = self.lock();
        let (_, rows) = copy.as_ref().filter(|(at, _)| at.elapsed() < age)?;
        engines.iter().map(|e| rows.get(&e.id).cloned()).collect()
    }

    /// Reservations just read from Redis: a fresh copy of their own, or added to one.
    pub fn put(&self, engines: &[Engine], read: &[Arc<Reservations>]) {
        let mut copy = self.lock();
        let fresh = copy
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < FRESH_FOR);
        if !fresh {
            *copy = Some((Instant::now(), HashMap::new()));
        }
        if let Some((_, rows)) = copy.as_mut() {
            rows.extend(
                engines
                    .iter()
                    .map(|e| e.id.clone())
                    .zip(read.iter().cloned()),
            );
        }
    }

    /// This process took `claim`: the copy shows it.
    pub fn claimed(&self, claim: &Claim) {
        let mut copy = self.lock();
        let Some(r) = copy
            .as_mut()
            .and_then(|(_, rows)| rows.get_mut(&claim.engine))
        else {
            return;
        };
        let r = Arc::make_mut(r);
        r.cpus_milli += claim.cpus_milli;
        r.memory += claim.memory;
        r.claims += 1;
        r.ports.extend(claim.ports.iter().cloned());
        if claim.unique {
            r.images.push(claim.image.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(id: &str) -> Engine {
        let record = crate::domain::EngineRecord {
            addr: "https://127.0.0.1:2376".into(),
            cpus: 4.0,
            memory: 4096,
            labels: Vec::new(),
            status: Default::default(),
            publish_ips: Vec::new(),
        };
        record.into_engine(id)
    }

    #[test]
    fn a_copy_serves_what_it_holds_and_shows_own_claims() {
        let cache = ReservationCache::default();
        let engines = [engine("e1"), engine("e2")];
        assert!(cache.get(&engines, FRESH_FOR).is_none());
        let read = [Reservations::default(), Reservations::default()].map(Arc::new);
        cache.put(&engines, &read);
        assert!(
            cache.get(&[engine("e3")], FRESH_FOR).is_none(),
            "an engine it never read"
        );
        cache.claimed(&Claim {
            op: "op".into(),
            engine: "e2".into(),
            owner: "ann".into(),
            image: "busybox:latest".into(),
            cpus_milli: 250,
            memory: 64,
            ports: vec!["80/tcp".into()],
            unique: true,
        });
        let got = cache.get(&engines, FRESH_FOR).unwrap();
        assert_eq!(*got[0], Reservations::default());
        assert_eq!(
            (got[1].cpus_milli, got[1].memory, got[1].claims),
            (250, 64, 1)
        );
        assert_eq!(got[1].ports, ["80/tcp"]);
        assert_eq!(got[1].images, ["busybox:latest"]);
        assert_eq!(
            *read[1],
            Reservations::default(),
            "rows read are not changed"
        );
    }

    #[tokio::test]
    async fn an_old_copy_serves_only_while_another_placement_reads() {
        let cache = ReservationCache::default();
        let engines = [engine("e1")];
        cache.put(&engines, &[Arc::new(Reservations::default())]);
        tokio::time::sleep(FRESH_FOR + Duration::from_millis(10)).await;
        assert!(cache.get(&engines, FRESH_FOR).is_none(), "old");
        assert!(cache.get(&engines, WHILE_READING).is_some());
        let reading = cache.try_one_read().expect("no one reads yet");
        assert!(cache.try_one_read().is_none(), "one read at a time");
        drop(reading);
        assert!(cache.try_one_read().is_some());
    }
}
