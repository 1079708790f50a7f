//! Planning compute dispatches for a mip chain, as a pure function.

/// Levels a dispatch can make.
pub(super) const LEVELS_PER_DISPATCH: u32 = 6;
/// The side of the tile of level S+1 one workgroup makes.
const TILE: u32 = 32;

/// One compute dispatch of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MipPass {
    /// The level read.
    pub src_level: u32,
    /// Levels made (1..=6), the ones above `src_level`.
    pub levels: u32,
    /// Whether every level the dispatch reads has even extents (the specialised pipeline runs).
    pub all_even: bool,
}

pub(super) fn level_extent(extent: (u32, u32), level: u32) -> (u32, u32) {
    let f = |v: u32| v.checked_shr(level).unwrap_or(0).max(1);
    (f(extent.0), f(extent.1))
}

/// Whether shared-memory steps can read a level of this extent (each dimension even, or 1).
fn even_or_one((w, h): (u32, u32)) -> bool {
    (w == 1 || w % 2 == 0) && (h == 1 || h % 2 == 0)
}

/// The dispatches that make levels `base + 1 .. levels` of a 2D image of level-0 `extent`: as few
/// as the odd levels and the 6 levels of a dispatch allow. A pure function, tested without a GPU.
pub fn plan_compute_passes(extent: (u32, u32), base: u32, levels: u32) -> Vec<MipPass> {
    let mut passes = Vec::new();
    let mut s = base;
    while s + 1 < levels {
        let remaining = levels - 1 - s;
        // Steps after the first read shared memory, so their source levels must be even or 1:
        // an odd level's last texels filter a neighbour tile's first. Where one workgroup makes
        // the whole of level s + 1 (32x32 at most), there is no neighbour and any extent goes.
        let one_tile = {
            let (w, h) = level_extent(extent, s + 1);
            w <= TILE && h <= TILE
        };
        let mut made = 1;
        while made < LEVELS_PER_DISPATCH.min(remaining)
            && (one_tile || even_or_one(level_extent(extent, s + made)))
        {
            made += 1;
        }
        let all_even = (s..s + made).all(|l| {
            let (w, h) = level_extent(extent, l);
            w % 2 == 0 && h % 2 == 0
        });
        passes.push(MipPass {
            src_level: s,
            levels: made,
            all_even,
        });
        s += made;
    }
    passes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels_made(passes: &[MipPass]) -> u32 {
        passes.iter().map(|p| p.levels).sum()
    }

    #[test]
    fn a_4096_square_chain_is_two_dispatches_of_six_levels() {
        let passes = plan_compute_passes((4096, 4096), 0, 13);
        let pass = |src_level| MipPass {
            src_level,
            levels: 6,
            all_even: true,
        };
        assert_eq!(passes, vec![pass(0), pass(6)]);
    }

    /// What every plan must be: passes that chain from `base`, make each level once, 1-6 levels
    /// each, whose shared-memory steps read only even-or-1 levels unless one workgroup makes the
    /// whole dispatch.
    fn check_plan(extent: (u32, u32), base: u32, levels: u32) {
        let passes = plan_compute_passes(extent, base, levels);
        assert_eq!(
            levels_made(&passes),
            levels.saturating_sub(base + 1),
            "{extent:?} {base} {levels}"
        );
        let mut next = base;
        for pass in &passes {
            assert_eq!(pass.src_level, next, "{extent:?}: passes chain");
            next += pass.levels;
            assert!((1..=LEVELS_PER_DISPATCH).contains(&pass.levels));
            let (w, h) = level_extent(extent, pass.src_level + 1);
            if w <= TILE && h <= TILE {
                continue;
            }
            for step in 1..pass.levels {
                assert!(
                    even_or_one(level_extent(extent, pass.src_level + step)),
                    "{extent:?} {pass:?}"
                );
            }
        }
    }

    #[test]
    fn odd_levels_start_new_dispatches_and_every_level_is_made_once() {
        for (extent, levels) in [
            ((257, 129), 9),
            ((100, 60), 7),
            ((1, 1024), 11),
            ((4096, 64), 13),
            ((3, 5), 3),
            ((8192, 8192), 14),
            ((16384, 1), 15),
            ((1920, 1080), 11),
        ] {
            check_plan(extent, 0, levels);
        }
        assert_eq!(
            plan_compute_passes((257, 129), 0, 9).len(),
            2,
            "257x129 halves to even levels at once: only the cap of 6 levels splits it"
        );
        assert!(plan_compute_passes((100, 60), 0, 7).len() > 1);
    }

    proptest::proptest! {
        /// Any extent and level range, generated.
        #[test]
        fn any_extent_and_level_range_is_planned_whole(
            w in 1u32..=20000,
            h in 1u32..=20000,
            base in 0u32..16,
            extra in 0u32..16,
        ) {
            let full = 32 - w.max(h).leading_zeros();
            let levels = (base + extra).min(full);
            check_plan((w, h), base.min(levels), levels);
        }
    }

    #[test]
    fn only_dispatches_that_read_even_levels_alone_take_the_specialised_pipeline() {
        assert!(plan_compute_passes((4096, 4096), 0, 13)[0].all_even);
        assert!(plan_compute_passes((256, 256), 0, 9)[0].all_even);
        assert!(
            !plan_compute_passes((257, 129), 0, 9)[0].all_even,
            "level 0 is odd"
        );
        // Level 6 of 4096x64 is 64x1: an extent of 1 needs the general kernel, in the second
        // dispatch (the first reads levels 0-5, down to 128x2).
        let passes = plan_compute_passes((4096, 64), 0, 13);
        assert!(passes[0].all_even);
        assert!(!passes[1].all_even);
    }

    /// 1920x1080 halves to an odd level at 240x135, 120x67 and 60x33; from 60x33 on, one
    /// workgroup makes every remaining level, odd or not: 4 dispatches, not 7.
    #[test]
    fn levels_one_workgroup_makes_whole_continue_past_odd_extents() {
        let passes = plan_compute_passes((1920, 1080), 0, 11);
        let made: Vec<(u32, u32)> = passes.iter().map(|p| (p.src_level, p.levels)).collect();
        assert_eq!(made, vec![(0, 3), (3, 1), (4, 1), (5, 5)]);
        assert!(!passes[3].all_even);
    }

    #[test]
    fn nothing_to_make_from_the_last_level() {
        assert!(plan_compute_passes((64, 64), 6, 7).is_empty());
    }
}
