//! Statistics for paired benchmarks: the median of per-pair ratios (or differences) with a
//! bootstrap 95 % interval, and quantiles read from a Prometheus histogram between two scrapes.
//!
//! Why pairs: runc's start time swings by ±15 % between rounds on a shared machine, so two
//! medians taken apart cannot see a 2 % difference. Each pair measures both paths back to back
//! (order flipped every pair), so the drift cancels within the pair; the interval says how sure
//! the median of those ratios is.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The `q` quantile of `values` (the nearest rank).
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * q).round() as usize]
}

/// A median and its bootstrap 95 % interval.
#[derive(Debug, Clone, Copy)]
pub struct Estimate {
    pub median: f64,
    pub low: f64,
    pub high: f64,
}

impl std::fmt::Display for Estimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.3} [{:.3}, {:.3}]", self.median, self.low, self.high)
    }
}

/// The median of `values` with a percentile bootstrap interval (10,000 resamples, fixed seed so
/// the same data gives the same interval).
pub fn bootstrap(values: &[f64]) -> Estimate {
    const RESAMPLES: usize = 10_000;
    let mut rng = StdRng::seed_from_u64(13);
    let mut medians: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let resample: Vec<f64> = (0..values.len())
                .map(|_| values[rng.random_range(0..values.len())])
                .collect();
            median(&resample)
        })
        .collect();
    medians.sort_by(|a, b| a.total_cmp(b));
    Estimate {
        median: median(values),
        low: medians[RESAMPLES * 25 / 1000],
        high: medians[RESAMPLES * 975 / 1000 - 1],
    }
}

/// Runs `pairs` pairs of (ours, theirs), flipping which goes first every pair; returns each
/// pair's two times.
pub async fn pairs<A, B, FA, FB>(pairs: usize, mut ours: A, mut theirs: B) -> Vec<(f64, f64)>
where
    A: FnMut(usize) -> FA,
    B: FnMut(usize) -> FB,
    FA: Future<Output = f64>,
    FB: Future<Output = f64>,
{
    let mut out = Vec::with_capacity(pairs);
    for n in 0..pairs {
        if n % 2 == 0 {
            let a = ours(n).await;
            out.push((a, theirs(n).await));
        } else {
            let b = theirs(n).await;
            out.push((ours(n).await, b));
        }
    }
    out
}

/// The ratio (ours / theirs) and difference (ours − theirs) estimates of a paired run.
pub fn ratio_and_difference(times: &[(f64, f64)]) -> (Estimate, Estimate) {
    let ratios: Vec<f64> = times.iter().map(|(a, b)| a / b).collect();
    let differences: Vec<f64> = times.iter().map(|(a, b)| a - b).collect();
    (bootstrap(&ratios), bootstrap(&differences))
}

/// Cumulative bucket counts of histogram `name` in an exposition: (upper bound, count).
pub fn buckets(exposition: &str, name: &str) -> Vec<(f64, f64)> {
    let prefix = format!("{name}_bucket{{le=\"");
    exposition
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|rest| {
            let (le, count) = rest.split_once("\"} ")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, count.split(' ').next()?.parse().ok()?))
        })
        .collect()
}

/// The `q` quantile of what a histogram recorded between two scrapes, interpolated linearly
/// within its bucket (as Prometheus' `histogram_quantile` does).
pub fn quantile_between(before: &[(f64, f64)], after: &[(f64, f64)], q: f64) -> f64 {
    let counts: Vec<(f64, f64)> = after
        .iter()
        .map(|(le, n)| {
            let earlier = before
                .iter()
                .find(|(l, _)| l == le)
                .map_or(0.0, |(_, c)| *c);
            (*le, n - earlier)
        })
        .collect();
    let total = counts.last().map_or(0.0, |(_, n)| *n);
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(le, n) in &counts {
        if n >= rank {
            if le.is_infinite() {
                return lower.0;
            }
            let within = if n > lower.1 {
                (rank - lower.1) / (n - lower.1)
            } else {
                0.0
            };
            return lower.0 + (le - lower.0) * within;
        }
        lower = (le, n);
    }
    f64::NAN
}

/// How many observations a histogram gained between two scrapes.
pub fn count_between(before: &[(f64, f64)], after: &[(f64, f64)]) -> f64 {
    let last = |b: &[(f64, f64)]| b.last().map_or(0.0, |(_, n)| *n);
    last(after) - last(before)
}
