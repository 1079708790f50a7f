//! Placing a render graph's transient resources in shared memory, as a pure function.
//!
//! A graph knows, for each transient resource, its memory requirements, whether its bytes are
//! laid out linearly (buffers, linear images) or opaquely (optimal images), and the first and
//! last pass that use it. Two resources whose pass intervals do not overlap may share bytes;
//! [`place`] assigns each resource a memory group (resources in one group share one
//! [`GpuMemory`] block, so their memory-type bits must intersect) and an offset so that no two
//! resources alive at the same pass overlap, and a linear and an optimal resource alive at the
//! same pass never share a `bufferImageGranularity` page (Vulkan spec, "Buffer-Image
//! Granularity"), using as little memory as a greedy first-fit can: largest resources first,
//! each at the lowest aligned offset free for its whole lifetime. With [`Aliasing::Off`] no two
//! resources share a byte at all. Nothing here touches a device.
//!
//! [`GpuMemory`]: crate::GpuMemory

use crate::error::{Error, Result};

/// How a resource's bytes are laid out, which decides whether `bufferImageGranularity` applies
/// between it and a neighbour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tiling {
    /// Buffers and `LINEAR` images.
    Linear,
    /// `OPTIMAL` images.
    Optimal,
}

/// Whether resources whose lifetimes do not overlap may share bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Aliasing {
    /// They may (the point of placing by lifetime).
    #[default]
    On,
    /// Every resource gets bytes of its own (for comparison, or while debugging a hazard).
    Off,
}

/// One transient resource, as the graph sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transient {
    /// `VkMemoryRequirements::size`.
    pub size: u64,
    /// `VkMemoryRequirements::alignment` (a power of two).
    pub alignment: u64,
    /// `VkMemoryRequirements::memoryTypeBits`.
    pub memory_type_bits: u32,
    /// Linear or optimal.
    pub tiling: Tiling,
    /// The first pass that uses it.
    pub first_pass: u32,
    /// The last pass that uses it (inclusive).
    pub last_pass: u32,
}

impl Transient {
    fn lifetimes_overlap(&self, other: &Self) -> bool {
        self.first_pass <= other.last_pass && other.first_pass <= self.last_pass
    }
}

/// A block of memory the placement needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlacementGroup {
    /// Bytes (the end of its furthest resource).
    pub size: u64,
    /// The largest alignment of its resources: the block's own alignment.
    pub alignment: u64,
    /// Memory types every resource in it allows.
    pub memory_type_bits: u32,
}

/// Where one resource goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Index into [`Placement::groups`].
    pub group: usize,
    /// Offset in that group's block.
    pub offset: u64,
    /// Bytes it occupies from there.
    pub size: u64,
}

/// The result of [`place`]: one slot per resource, in the input's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The memory blocks to allocate.
    pub groups: Vec<PlacementGroup>,
    /// Each resource's block and offset.
    pub slots: Vec<Slot>,
}

impl Placement {
    /// Whether resources `a` and `b` (indices into the input) were given common bytes: the first
    /// use of one after the other is a take-over, which must wait for the other's last access.
    /// A resource shares bytes with itself; an index past the input shares nothing.
    pub fn shares_bytes(&self, a: usize, b: usize) -> bool {
        match (self.slots.get(a), self.slots.get(b)) {
            (Some(x), Some(y)) => {
                x.group == y.group
                    && x.offset < y.offset.saturating_add(y.size)
                    && y.offset < x.offset.saturating_add(x.size)
            }
            _ => false,
        }
    }

    /// Bytes of all groups together; [`Error::InvalidDesc`] when they do not fit in a `u64`
    /// (groups of sizes `place` accepts can add up past it).
    pub fn total(&self) -> Result<u64> {
        checked_sum(self.groups.iter().map(|g| g.size), "groups")
    }
}

/// Adds `sizes`, refusing a sum past `u64::MAX` as a typed error rather than wrapping (release)
/// or panicking (debug).
fn checked_sum(sizes: impl IntoIterator<Item = u64>, what: &str) -> Result<u64> {
    sizes
        .into_iter()
        .try_fold(0u64, u64::checked_add)
        .ok_or_else(|| Error::InvalidDesc {
            field: "size",
            reason: format!("the sizes of the {what} add up past u64::MAX"),
        })
}

/// Bytes the resources need without aliasing: the sum of their sizes, or
/// [`Error::InvalidDesc`] when it does not fit in a `u64`.
pub fn unaliased_total(resources: &[Transient]) -> Result<u64> {
    checked_sum(resources.iter().map(|r| r.size), "resources")
}

/// No placement can use fewer bytes than the most that is alive at one pass;
/// [`Error::InvalidDesc`] when the bytes alive at one pass do not fit in a `u64`.
pub fn lower_bound(resources: &[Transient]) -> Result<u64> {
    let mut passes: Vec<u32> = resources.iter().map(|r| r.first_pass).collect();
    passes.sort_unstable();
    passes.dedup();
    passes.iter().try_fold(0u64, |most, &p| {
        let alive = resources
            .iter()
            .filter(|r| r.first_pass <= p && p <= r.last_pass)
            .map(|r| r.size);
        Ok(most.max(checked_sum(alive, "resources alive at one pass")?))
    })
}

fn check(index: usize, r: &Transient) -> Result<()> {
    let field = |what: &str| format!("resource {index}: {what}");
    if r.size == 0 {
        return Err(Error::InvalidDesc {
            field: "size",
            reason: field("zero bytes"),
        });
    }
    if !r.alignment.is_power_of_two() {
        return Err(Error::InvalidDesc {
            field: "alignment",
            reason: field(&format!("{} is not a power of two", r.alignment)),
        });
    }
    if r.memory_type_bits == 0 {
        return Err(Error::InvalidDesc {
            field: "memory_type_bits",
            reason: field("no memory type allowed"),
        });
    }
    if r.first_pass > r.last_pass {
        return Err(Error::InvalidDesc {
            field: "first_pass",
            reason: field(&format!(
                "first pass {} after last pass {}",
                r.first_pass, r.last_pass
            )),
        });
    }
    if r.size.checked_add(r.alignment).is_none() {
        return Err(Error::InvalidDesc {
            field: "size",
            reason: field("size and alignment overflow u64"),
        });
    }
    Ok(())
}

/// Places `resources` (see the module notes) in memory whose `bufferImageGranularity` is
/// `granularity`. Refuses zero sizes, alignments and granularities that are not powers of two,
/// empty memory-type masks and reversed lifetimes.
pub fn place(resources: &[Transient], granularity: u64, aliasing: Aliasing) -> Result<Placement> {
    if !granularity.is_power_of_two() {
        return Err(Error::InvalidDesc {
            field: "granularity",
            reason: format!("bufferImageGranularity {granularity} is not a power of two"),
        });
    }
    for (i, r) in resources.iter().enumerate() {
        check(i, r)?;
    }
    let together =
        |a: &Transient, b: &Transient| aliasing == Aliasing::Off || a.lifetimes_overlap(b);
    // Largest first; ties by first use, then input order, so the result is deterministic.
    let mut order: Vec<usize> = (0..resources.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (&resources[a], &resources[b]);
        rb.size
            .cmp(&ra.size)
            .then(ra.first_pass.cmp(&rb.first_pass))
            .then(a.cmp(&b))
    });
    let mut groups: Vec<PlacementGroup> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut slots = vec![
        Slot {
            group: 0,
            offset: 0,
            size: 0,
        };
        resources.len()
    ];
    for &i in &order {
        let r = &resources[i];
        let overflow = || Error::InvalidDesc {
            field: "size",
            reason: format!("resource {i}: the placement's offsets overflow u64"),
        };
        let group = match groups
            .iter()
            .position(|g| g.memory_type_bits & r.memory_type_bits != 0)
        {
            Some(g) => g,
            None => {
                groups.push(PlacementGroup {
                    size: 0,
                    alignment: 1,
                    memory_type_bits: r.memory_type_bits,
                });
                members.push(Vec::new());
                groups.len() - 1
            }
        };
        // Byte ranges `r` must keep clear: those of the group's resources alive at the same
        // time, widened to whole granularity pages where the tilings differ.
        let mut busy: Vec<(u64, u64)> = Vec::new();
        for &j in members[group]
            .iter()
            .filter(|&&j| together(&resources[j], r))
        {
            let (start, end) = (slots[j].offset, slots[j].offset + resources[j].size);
            busy.push(if resources[j].tiling == r.tiling {
                (start, end)
            } else {
                let page_end = end
                    .checked_next_multiple_of(granularity)
                    .ok_or_else(overflow)?;
                (start - start % granularity, page_end)
            });
        }
        busy.sort_unstable();
        let mut offset = 0u64;
        for (start, end) in busy {
            if offset.saturating_add(r.size) <= start {
                break;
            }
            let after = end
                .checked_next_multiple_of(r.alignment)
                .ok_or_else(overflow)?;
            offset = offset.max(after);
        }
        let end = offset.checked_add(r.size).ok_or_else(overflow)?;
        slots[i] = Slot {
            group,
            offset,
            size: r.size,
        };
        let g = &mut groups[group];
        g.memory_type_bits &= r.memory_type_bits;
        g.alignment = g.alignment.max(r.alignment);
        g.size = g.size.max(end);
        members[group].push(i);
    }
    Ok(Placement { groups, slots })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree as _;

    fn transient() -> impl Strategy<Value = Transient> {
        (
            prop_oneof![1u64..4096, 4096u64..(64 << 20)],
            prop::sample::select(vec![1u64, 4, 256, 4096, 65536]),
            prop_oneof![4 => Just(0b1u32), 1 => 1u32..16],
            prop_oneof![Just(Tiling::Linear), Just(Tiling::Optimal)],
            0u32..20,
            0u32..8,
        )
            .prop_map(|(size, alignment, memory_type_bits, tiling, first, len)| {
                Transient {
                    size,
                    alignment,
                    memory_type_bits,
                    tiling,
                    first_pass: first,
                    last_pass: first + len,
                }
            })
    }

    /// The granularity page of byte `at`.
    fn page(at: u64, granularity: u64) -> u64 {
        at / granularity
    }

    fn check_placement(
        resources: &[Transient],
        placement: &Placement,
        granularity: u64,
        aliasing: Aliasing,
    ) -> std::result::Result<(), TestCaseError> {
        prop_assert_eq!(placement.slots.len(), resources.len());
        for (i, (r, s)) in resources.iter().zip(&placement.slots).enumerate() {
            let g = &placement.groups[s.group];
            prop_assert_eq!(s.offset % r.alignment, 0, "resource {} misaligned", i);
            prop_assert!(
                s.offset + r.size <= g.size,
                "resource {} outside its group",
                i
            );
            prop_assert!(g.memory_type_bits != 0 && g.memory_type_bits & !r.memory_type_bits == 0);
            prop_assert_eq!(g.alignment % r.alignment, 0);
            for (j, (q, t)) in resources
                .iter()
                .zip(&placement.slots)
                .enumerate()
                .skip(i + 1)
            {
                let apart = s.offset + r.size <= t.offset || t.offset + q.size <= s.offset;
                prop_assert_eq!(placement.shares_bytes(i, j), s.group == t.group && !apart);
                let together = aliasing == Aliasing::Off || r.lifetimes_overlap(q);
                if s.group == t.group && together {
                    prop_assert!(
                        apart,
                        "resources {} and {} are alive together and overlap",
                        i,
                        j
                    );
                    if r.tiling != q.tiling {
                        let (lo, hi) = if s.offset < t.offset { (s, t) } else { (t, s) };
                        prop_assert!(
                            page(lo.offset + lo.size - 1, granularity) < page(hi.offset, granularity),
                            "resources {} and {} (linear and optimal, alive together) share a page of {}",
                            i,
                            j,
                            granularity
                        );
                    }
                }
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// No two resources alive at one pass share a byte; offsets are aligned; groups are of
        /// types every member allows; the total lies between the lower bound and (alignment
        /// padding aside) the unaliased sum.
        #[test]
        fn placed_resources_alive_together_never_overlap_nor_share_a_granularity_page(
            resources in prop::collection::vec(transient(), 0..40),
            granularity in (0u32..=16).prop_map(|log| 1u64 << log),
            aliased in any::<bool>(),
        ) {
            let aliasing = if aliased { Aliasing::On } else { Aliasing::Off };
            let placement = place(&resources, granularity, aliasing).unwrap();
            check_placement(&resources, &placement, granularity, aliasing)?;
            let padding: u64 = resources.iter().map(|r| r.alignment.max(granularity)).sum();
            prop_assert!(placement.total().unwrap() >= lower_bound(&resources).unwrap());
            prop_assert!(placement.total().unwrap() <= unaliased_total(&resources).unwrap() + padding);
            if !aliased {
                prop_assert!((0..resources.len()).all(|i| (0..resources.len())
                    .all(|j| i == j || !placement.shares_bytes(i, j))));
            }
        }
    }

    /// The mean total / lower bound over random single-memory-type graphs of linear and optimal
    /// resources, at granularities of 1, 1 KiB (NVIDIA) and 64 KiB (the spec's largest), printed
    /// with `--nocapture` (the closing note quotes them), with a ceiling on each.
    #[test]
    fn first_fit_stays_close_to_the_lower_bound_on_random_graphs() {
        for (granularity, ceiling) in [(1u64, 1.25), (1024, 1.25), (65536, 1.5)] {
            let mut runner = proptest::test_runner::TestRunner::deterministic();
            let strategy = prop::collection::vec(transient(), 2..40).prop_map(|mut v| {
                for r in &mut v {
                    r.memory_type_bits = 1;
                }
                v
            });
            let (mut sum, mut worst, mut saved, n) = (0.0, 0.0f64, 0.0, 2000);
            for _ in 0..n {
                let resources = strategy.new_tree(&mut runner).unwrap().current();
                let placement = place(&resources, granularity, Aliasing::On).unwrap();
                let total = placement.total().unwrap() as f64;
                let ratio = total / lower_bound(&resources).unwrap() as f64;
                sum += ratio;
                worst = worst.max(ratio);
                saved += 1.0 - total / unaliased_total(&resources).unwrap() as f64;
            }
            let mean = sum / f64::from(n);
            println!(
                "placement over {n} random graphs, granularity {granularity}: mean total / lower \
                 bound {mean:.3}, worst {worst:.3}, mean saving against no aliasing {:.1}%",
                100.0 * saved / f64::from(n)
            );
            assert!(mean < ceiling, "mean total / lower bound {mean:.3}");
        }
    }

    #[test]
    fn a_deferred_frame_fits_in_less_than_its_unaliased_sum() {
        // 1920x1080: G-buffer (albedo RGBA8, normal RGBA16F, depth D32), lighting HDR RGBA16F,
        // a five-level bloom chain (half-size down, then back up), tonemap into the swapchain.
        let px = 1920 * 1080u64;
        let t = |size: u64, first: u32, last: u32| Transient {
            size,
            alignment: 65536,
            memory_type_bits: 1,
            tiling: Tiling::Optimal,
            first_pass: first,
            last_pass: last,
        };
        let mut resources = vec![
            t(px * 4, 0, 1),  // albedo: G-buffer pass, lighting
            t(px * 8, 0, 1),  // normals
            t(px * 4, 0, 1),  // depth
            t(px * 8, 1, 12), // HDR lighting, read by bloom's first step and tonemap
        ];
        for level in 1..=5u32 {
            let size = (px * 8) >> (2 * level);
            resources.push(t(size, 1 + level, 12 - level)); // down into level, up out of it
        }
        let placement = place(&resources, 1024, Aliasing::On).unwrap();
        let (total, unaliased, bound) = (
            placement.total().unwrap(),
            unaliased_total(&resources).unwrap(),
            lower_bound(&resources).unwrap(),
        );
        println!(
            "deferred 1080p frame: placed {total}, unaliased {unaliased}, lower bound {bound}"
        );
        assert!(
            total < unaliased,
            "the G-buffer's memory is reused by the bloom chain"
        );
        assert!(total >= bound);
    }

    proptest! {
        /// Unchecked arithmetic: sizes `place` accepts (one resource per memory type, all alive
        /// at once) add up past `u64::MAX`; the totals are typed errors, in release builds (CI
        /// runs this with overflow checks off) as in debug, never a wrapped number.
        #[test]
        fn unchecked_arithmetic_totals_past_u64_are_errors(
            size in (u64::MAX / 2 + 1)..=(u64::MAX - 64),
            count in 2u32..6,
        ) {
            let resources: Vec<Transient> = (0..count)
                .map(|i| Transient {
                    size,
                    alignment: 1,
                    memory_type_bits: 1 << i,
                    tiling: Tiling::Linear,
                    first_pass: 0,
                    last_pass: 0,
                })
                .collect();
            let placement = place(&resources, 1, Aliasing::On).unwrap();
            prop_assert_eq!(placement.groups.len(), count as usize);
            prop_assert_eq!(placement.total().unwrap_err().field(), Some("size"));
            prop_assert_eq!(unaliased_total(&resources).unwrap_err().field(), Some("size"));
            prop_assert_eq!(lower_bound(&resources).unwrap_err().field(), Some("size"));
            // One of them alone still adds up.
            prop_assert_eq!(unaliased_total(&resources[..1]).unwrap(), size);
            prop_assert_eq!(lower_bound(&resources[..1]).unwrap(), size);
        }
    }

    #[test]
    fn bad_resources_are_refused_by_field() {
        let ok = Transient {
            size: 64,
            alignment: 16,
            memory_type_bits: 1,
            tiling: Tiling::Linear,
            first_pass: 0,
            last_pass: 1,
        };
        let field = |r: Transient| place(&[ok, r], 1, Aliasing::On).unwrap_err().field();
        assert_eq!(
            place(&[ok], 3, Aliasing::On).unwrap_err().field(),
            Some("granularity")
        );
        assert_eq!(field(Transient { size: 0, ..ok }), Some("size"));
        assert_eq!(
            field(Transient {
                alignment: 12,
                ..ok
            }),
            Some("alignment")
        );
        assert_eq!(
            field(Transient {
                memory_type_bits: 0,
                ..ok
            }),
            Some("memory_type_bits")
        );
        assert_eq!(
            field(Transient {
                first_pass: 2,
                ..ok
            }),
            Some("first_pass")
        );
        assert_eq!(
            field(Transient {
                size: u64::MAX,
                ..ok
            }),
            Some("size")
        );
    }
}
