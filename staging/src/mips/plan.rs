//! Planning compute dispatches for a mip chain, as a pure function.

/// Levels a dispatch can make.
pub(super) const LEVELS_PER_DISPATCH: u32 = 6;
/// The side of the tile of level S+1 one workgroup makes.
const TILE: u32 = 32;

/// A tiled dispatch from a level of more than this many texels makes 2 levels (S+2 from S+1 in
/// registers), and the next dispatch goes on from S+2. Later steps leave most of a workgroup idle
/// at barriers while it holds its place on the SM; past about one wave of workgroups that costs
/// more than a dispatch: 4096x4096's levels 1-6 took 51.2 µs in one dispatch on an H200 and 47.2
/// as levels 1-2 then 3-6 (3 or 4 levels first: 48.9, 50.8).
const SPLIT_TEXELS: u64 = 2048 * 2048;
const SPLIT_LEVELS: u32 = 2;
/// An all-even dispatch from a level of at most this many texels whose last level fits a tile
/// runs the general kernel instead, to take the rest of the chain as its tail (the all-even one
/// keeps no 32x32 tile in shared memory): 4096x4096's dispatch from 1024x1024 (levels 3-8) and
/// its tail took the chain to 52.7 µs on an H200, against 53.5 as an all-even dispatch and a
/// one-workgroup one. Over larger levels the general kernel's 21 KiB of shared memory per
/// workgroup costs more than the dispatch saved.
const TAIL_OVER_ALL_EVEN_TEXELS: u64 = 1024 * 1024;

/// Levels a windowed dispatch makes at most, and the side of a workgroup's tile of the last of
/// them. Measured on an H200 for 1920x1080 (levels 4-6 windowed): tiles of 3 made the chain in
/// 20.2 µs, of 2 in 20.3, of 4, 5 and 7 in 21.5, 21.6 and 24.4, of 1 in 24.4; 4 levels of
/// tiles of 3 took 40.7 µs.
pub(super) const WINDOWED_LEVELS: u32 = 3;
pub(super) const WINDOW_TILE: u32 = 3;
// A window grows to twice the one below it plus a texel: level S+1's must fit the shader's 32x32
// tile, S+2's its 16x16 one.
const _: () = assert!((WINDOW_TILE + 1) << (WINDOWED_LEVELS - 1) <= 33);
/// The largest level S+1 (in texels) a windowed dispatch makes: a tiled dispatch of it has at
/// most 64 workgroups. Windowing 4095x4095 from level 0 took its chain from 235 to 536 µs on an
/// H200; from level 3 (511x511) on, 218.
const WINDOWED_MAX_TEXELS: u64 = 256 * 256;

/// The kernel a dispatch runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MipKernel {
    /// 32x32 tiles of level S+1, the later levels in shared memory: every level it reads after
    /// the first is even or 1, unless one workgroup makes the whole of S+1.
    General,
    /// The same, specialised for dispatches whose every level read has even extents.
    AllEven,
    /// One workgroup per 3x3 tile of the last level, making the window of every level that
    /// tile depends on: it continues past odd levels, computing the overlaps of neighbouring
    /// windows twice.
    Windowed,
}

/// One compute dispatch of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MipPass {
    /// The level read.
    pub src_level: u32,
    /// Levels made (1..=6; 1..=3 windowed), the ones above `src_level`.
    pub levels: u32,
    /// The kernel that makes them.
    pub kernel: MipKernel,
    /// Levels made after those by the workgroup of each layer that finishes last (0..=5): the
    /// rest of the chain, where the last level made fits one workgroup's 32x32 tile.
    pub tail: u32,
}

pub(super) fn level_extent(extent: (u32, u32), level: u32) -> (u32, u32) {
    let f = |v: u32| v.checked_shr(level).unwrap_or(0).max(1);
    (f(extent.0), f(extent.1))
}

/// Texels in one layer of `level`.
fn texels(extent: (u32, u32), level: u32) -> u64 {
    let (w, h) = level_extent(extent, level);
    u64::from(w) * u64::from(h)
}

/// Whether one workgroup's 32x32 tile holds the whole of `level`.
fn fits_tile(extent: (u32, u32), level: u32) -> bool {
    let (w, h) = level_extent(extent, level);
    w <= TILE && h <= TILE
}

/// Whether shared-memory steps can read a level of this extent (each dimension even, or 1).
fn even_or_one((w, h): (u32, u32)) -> bool {
    (w == 1 || w % 2 == 0) && (h == 1 || h % 2 == 0)
}

/// The dispatches that make levels `base + 1 .. levels` of a 2D image of level-0 `extent`: as few
/// as the odd levels and the levels of a dispatch allow. Tiled dispatches make up to 6 levels
/// but stop before a level whose tiles would filter across their edges (an odd one); where one
/// would stop before the 3 levels a windowed dispatch makes, and level S+1 is small (at most
/// 256x256 texels), the windowed one runs instead; a level of over 2048x2048 texels gets a
/// dispatch of 2 levels. With `fold`, a dispatch whose last level fits one tile takes the rest
/// of the chain as its [`MipPass::tail`] instead of a dispatch of their own (an all-even one, on
/// levels of at most 1024x1024 texels, by turning general; larger all-even ones take none). A
/// pure function, tested without a GPU. Levels past the extent's full chain (at most 32) are not
/// planned, so the plan holds at most 32 passes whatever `base` and `levels` say.
pub fn plan_compute_passes(extent: (u32, u32), base: u32, levels: u32, fold: bool) -> Vec<MipPass> {
    let chain = vkup_allocator::full_mip_chain(ash::vk::Extent3D {
        width: extent.0,
        height: extent.1,
        depth: 1,
    });
    let levels = levels.min(chain);
    let mut passes = Vec::new();
    let mut s = base;
    // `levels` is at most 32 from here, so `s`, `made` and `tail` stay far from overflow.
    while s < levels.saturating_sub(1) {
        let remaining = levels - 1 - s;
        // Steps after the first read shared memory, so their source levels must be even or 1:
        // an odd level's last texels filter a neighbour tile's first. Where one workgroup makes
        // the whole of level s + 1 (32x32 at most), there is no neighbour and any extent goes.
        let one_tile = fits_tile(extent, s + 1);
        let source = texels(extent, s);
        let most = if source > SPLIT_TEXELS {
            SPLIT_LEVELS
        } else {
            LEVELS_PER_DISPATCH
        };
        let mut made = 1;
        while made < most.min(remaining)
            && (one_tile || even_or_one(level_extent(extent, s + made)))
        {
            made += 1;
        }
        let windowed = WINDOWED_LEVELS.min(remaining);
        // Windows pay off where a dispatch is latency-bound: overlapping windows read and
        // filter more, which on large levels costs more than the dispatches they save.
        let small = texels(extent, s + 1) <= WINDOWED_MAX_TEXELS;
        let (made, kernel) = if !one_tile && small && made < windowed {
            (windowed, MipKernel::Windowed)
        } else if (s..s + made).all(|l| {
            let (w, h) = level_extent(extent, l);
            w % 2 == 0 && h % 2 == 0
        }) {
            (made, MipKernel::AllEven)
        } else {
            (made, MipKernel::General)
        };
        // The dispatch's last level.
        let end = s + made;
        // The rest of the chain, where its source fits one tile (so at most 5 levels), folded
        // into this dispatch. From a larger source, one workgroup filtering it from memory
        // costs more than the dispatch saved (measured on 4095x4095: 63x63, 133 -> 141 µs).
        let tail = if fold && end + 1 < levels && fits_tile(extent, end) {
            levels - 1 - end
        } else {
            0
        };
        let (kernel, tail) = match kernel {
            MipKernel::AllEven if tail > 0 && source <= TAIL_OVER_ALL_EVEN_TEXELS => {
                (MipKernel::General, tail)
            }
            MipKernel::AllEven => (kernel, 0),
            _ => (kernel, tail),
        };
        passes.push(MipPass {
            src_level: s,
            levels: made,
            kernel,
            tail,
        });
        s = end + tail;
    }
    passes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels_made(passes: &[MipPass]) -> u32 {
        passes.iter().map(|p| p.levels + p.tail).sum()
    }

    /// 4096x4096: levels 1-2 from the large level 0, then 3-8 from 1024x1024, whose general
    /// kernel takes 9-12 as its tail (without folding, an all-even dispatch and one more).
    #[test]
    fn a_4096_square_chain_is_two_levels_then_six_and_a_tail() {
        let pass = |src_level, levels, kernel, tail| MipPass {
            src_level,
            levels,
            kernel,
            tail,
        };
        assert_eq!(
            plan_compute_passes((4096, 4096), 0, 13, true),
            vec![
                pass(0, 2, MipKernel::AllEven, 0),
                pass(2, 6, MipKernel::General, 4)
            ]
        );
        assert_eq!(
            plan_compute_passes((4096, 4096), 0, 13, false),
            vec![
                pass(0, 2, MipKernel::AllEven, 0),
                pass(2, 6, MipKernel::AllEven, 0),
                pass(8, 4, MipKernel::AllEven, 0)
            ]
        );
        // 2048x2048 is not split, and its dispatch (1024 workgroups) keeps the all-even kernel
        // without a tail.
        assert_eq!(
            plan_compute_passes((2048, 2048), 0, 12, true),
            vec![
                pass(0, 6, MipKernel::AllEven, 0),
                pass(6, 5, MipKernel::AllEven, 0)
            ]
        );
    }

    /// What every plan must be: passes that chain from `base`, make each level once, 1-6 levels
    /// each, whose shared-memory steps read only even-or-1 levels unless one workgroup makes the
    /// whole dispatch; a tail only without `fold`'s refusal, after a dispatch that keeps 32x32
    /// tiles, and only of levels one workgroup makes.
    fn check_plan(extent: (u32, u32), base: u32, levels: u32, fold: bool) {
        let passes = plan_compute_passes(extent, base, levels, fold);
        assert_eq!(
            levels_made(&passes),
            levels.saturating_sub(base + 1),
            "{extent:?} {base} {levels}"
        );
        let mut next = base;
        for pass in &passes {
            assert_eq!(pass.src_level, next, "{extent:?}: passes chain");
            next += pass.levels + pass.tail;
            assert!((1..=LEVELS_PER_DISPATCH).contains(&pass.levels));
            if pass.tail > 0 {
                assert!(
                    fold && pass.kernel != MipKernel::AllEven,
                    "{extent:?} {pass:?}"
                );
                assert!(pass.tail < LEVELS_PER_DISPATCH, "{extent:?} {pass:?}");
                assert_eq!(
                    next,
                    levels - 1,
                    "{extent:?} {pass:?}: a tail ends the chain"
                );
                let (w, h) = level_extent(extent, pass.src_level + pass.levels);
                assert!(w <= TILE && h <= TILE, "{extent:?} {pass:?}");
            }
            if pass.kernel == MipKernel::Windowed {
                // Any extents; few enough levels that the S+1 window fits 32x32.
                assert!(pass.levels <= WINDOWED_LEVELS, "{extent:?} {pass:?}");
                continue;
            }
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
            check_plan(extent, 0, levels, false);
            check_plan(extent, 0, levels, true);
        }
        assert_eq!(
            plan_compute_passes((257, 129), 0, 9, false).len(),
            2,
            "257x129 halves to even levels at once: only the cap of 6 levels splits it"
        );
        // 8191 halves to odd levels all the way down (4095, 2047, ...): one level per tiled
        // dispatch while levels are large, then three in a windowed one.
        let passes = plan_compute_passes((8192, 8191), 0, 14, false);
        assert_eq!(passes.len(), 6, "{passes:?}");
        assert_eq!(passes[4].kernel, MipKernel::Windowed, "{passes:?}");
        // The windowed dispatch ends at 64x63, too large a source for a tail.
        assert_eq!(plan_compute_passes((8192, 8191), 0, 14, true), passes);
        assert!(plan_compute_passes((100, 60), 0, 7, false).len() > 1);
    }

    proptest::proptest! {
        /// Any extent and level range, generated.
        #[test]
        fn any_extent_and_level_range_is_planned_whole(
            w in 1u32..=20000,
            h in 1u32..=20000,
            base in 0u32..16,
            extra in 0u32..16,
            fold: bool,
        ) {
            let full = 32 - w.max(h).leading_zeros();
            let levels = (base + extra).min(full);
            check_plan((w, h), base.min(levels), levels, fold);
        }
    }

    #[test]
    fn only_dispatches_that_read_even_levels_alone_take_the_specialised_pipeline() {
        let kernel = |extent, levels| plan_compute_passes(extent, 0, levels, false)[0].kernel;
        assert_eq!(kernel((4096, 4096), 13), MipKernel::AllEven);
        assert_eq!(kernel((256, 256), 9), MipKernel::AllEven);
        // Folding, 256x256's dispatch takes the general kernel for its tail of 2 levels.
        let folded = plan_compute_passes((256, 256), 0, 9, true);
        assert_eq!(
            folded,
            vec![MipPass {
                src_level: 0,
                levels: 6,
                kernel: MipKernel::General,
                tail: 2
            }]
        );
        assert_eq!(kernel((257, 129), 9), MipKernel::General, "level 0 is odd");
        // Level 6 of 4096x64 is 64x1: an extent of 1 needs the general kernel, in the second
        // dispatch (the first reads levels 0-5, down to 128x2).
        let passes = plan_compute_passes((4096, 64), 0, 13, true);
        assert_eq!(passes[0].kernel, MipKernel::AllEven);
        assert_eq!(passes[1].kernel, MipKernel::General);
    }

    /// 1920x1080 halves to an odd level at 240x135, 120x67 and 60x33: tiles make levels 1-3,
    /// a windowed dispatch 4-6 (down to 30x16), and one workgroup the rest, folded into the
    /// windowed dispatch as its tail: 2 dispatches, where tiles alone took 4.
    #[test]
    fn windows_and_single_workgroups_continue_past_odd_extents() {
        let made = |fold| {
            plan_compute_passes((1920, 1080), 0, 11, fold)
                .iter()
                .map(|p| (p.src_level, p.levels, p.kernel, p.tail))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            made(false),
            vec![
                (0, 3, MipKernel::AllEven, 0),
                (3, 3, MipKernel::Windowed, 0),
                (6, 4, MipKernel::General, 0)
            ]
        );
        assert_eq!(
            made(true),
            vec![
                (0, 3, MipKernel::AllEven, 0),
                (3, 3, MipKernel::Windowed, 4)
            ]
        );
    }

    #[test]
    fn nothing_to_make_from_the_last_level() {
        assert!(plan_compute_passes((64, 64), 6, 7, true).is_empty());
    }

    /// Unchecked arithmetic: bases and level counts at the edges of `u32` neither overflow nor
    /// make a plan longer than the extent's chain.
    #[test]
    fn unchecked_arithmetic_edges_plan_within_the_chain() {
        for extent in [
            (1, 1),
            (7, 3),
            (4096, 4096),
            (u32::MAX, 1),
            (u32::MAX, u32::MAX),
        ] {
            for base in [0, 1, 31, 32, u32::MAX - 1, u32::MAX] {
                for levels in [0, 1, 33, u32::MAX - 1, u32::MAX] {
                    let passes = plan_compute_passes(extent, base, levels, true);
                    assert!(passes.len() <= 32, "{extent:?} {base} {levels}");
                    let last = passes.last().map_or(0, |p| p.src_level + p.levels + p.tail);
                    assert!(
                        last < 33,
                        "{extent:?} {base} {levels}: ends at level {last}"
                    );
                }
            }
        }
    }
}
