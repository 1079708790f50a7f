//! Medians of interleaved rounds, and the results table every row adds to.

use std::time::Instant;

/// Median, min and max of one contender's rounds.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Sample {
    pub fn of(values: &[f64]) -> Option<Self> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(Self {
            median: v[v.len() / 2],
            min: v[0],
            max: v[v.len() - 1],
        })
    }
}

/// One contender's measurement: a closure returning the figure of one round, or why it cannot
/// run on this device.
pub struct Contender<'a> {
    pub name: String,
    pub run: Box<dyn FnMut() -> Result<f64, String> + 'a>,
}

impl<'a> Contender<'a> {
    pub fn new(name: impl Into<String>, run: impl FnMut() -> Result<f64, String> + 'a) -> Self {
        Self {
            name: name.into(),
            run: Box::new(run),
        }
    }
}

/// Runs every contender once to warm up, then `rounds` rounds, each in a fresh pseudo-random
/// order, so no contender always runs first or right after the same neighbour (whose freed
/// memory or warmed caches it would inherit). A contender that fails is not run again; its
/// result is the reason.
pub fn interleaved(
    rounds: usize,
    contenders: &mut [Contender<'_>],
) -> Vec<(String, Result<Sample, String>)> {
    let n = contenders.len();
    let mut values: Vec<Result<Vec<f64>, String>> = contenders
        .iter_mut()
        .map(|c| (c.run)().map(|_| Vec::new()))
        .collect();
    let mut lcg = Lcg::new(rounds as u64 * 31 + n as u64);
    for _ in 0..rounds {
        // Fisher-Yates.
        let mut order: Vec<usize> = (0..n).collect();
        for k in (1..n).rev() {
            let j = (lcg.unit() * (k + 1) as f64) as usize % (k + 1);
            order.swap(k, j);
        }
        for i in order {
            if let Ok(list) = &mut values[i] {
                match (contenders[i].run)() {
                    Ok(v) => list.push(v),
                    Err(e) => values[i] = Err(e),
                }
            }
        }
    }
    contenders
        .iter()
        .zip(values)
        .map(|(c, v)| {
            let sample = v.and_then(|list| Sample::of(&list).ok_or_else(|| "no rounds".into()));
            (c.name.clone(), sample)
        })
        .collect()
}

/// Seconds `f` takes.
pub fn seconds(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

/// One line of the results: a case measured for several contenders.
#[derive(Clone, Debug)]
pub struct Row {
    /// The section: "Allocation", "Buffer upload", ...
    pub group: &'static str,
    /// What was measured, e.g. "buffers, 256 B-64 MiB, 1 thread".
    pub case: String,
    /// The unit of the figures ("pairs/s", "GB/s", "ms", "x").
    pub unit: &'static str,
    /// Whether a larger figure is better.
    pub higher_is_better: bool,
    /// The x of throughput-against-size charts (bytes), where the case has one.
    pub size: Option<u64>,
    /// Each contender's figure, or why it has none.
    pub results: Vec<(String, Result<Sample, String>)>,
    /// A remark printed under the table (bounds, peak memory, ...).
    pub note: Option<String>,
    /// Whether the first contender's ratio to the others means anything (false for rows that
    /// split one run into parts).
    pub compare: bool,
}

impl Row {
    /// The median of `contender`, when it ran.
    pub fn median(&self, contender: &str) -> Option<f64> {
        self.results
            .iter()
            .find(|(n, _)| n == contender)
            .and_then(|(_, r)| r.as_ref().ok())
            .map(|s| s.median)
    }

    /// How `contender` compares with `against`, as "better by" ratio: above 1 means
    /// `contender` is better, whichever way the unit goes.
    pub fn advantage(&self, contender: &str, against: &str) -> Option<f64> {
        let (a, b) = (self.median(contender)?, self.median(against)?);
        if a <= 0.0 || b <= 0.0 {
            return None;
        }
        Some(if self.higher_is_better { a / b } else { b / a })
    }
}

/// `bytes` as "4 KiB", "16 MiB".
pub fn size_label(bytes: u64) -> String {
    if bytes >= 1 << 30 && bytes % (1 << 30) == 0 {
        format!("{} GiB", bytes >> 30)
    } else if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes % (1 << 10) == 0 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} B")
    }
}

/// A deterministic stream of pseudo-random numbers (no dependency for a benchmark's sizes).
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1))
    }

    /// Uniform in `0.0..1.0`.
    pub fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Log-uniform in `low..=high`.
    pub fn log_uniform(&mut self, low: u64, high: u64) -> u64 {
        let (l, h) = ((low as f64).ln(), (high as f64).ln());
        ((l + self.unit() * (h - l)).exp() as u64).clamp(low, high)
    }
}
