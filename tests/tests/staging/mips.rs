//! Mip generation, both methods, every level compared with a CPU reference computed in linear
//! space. Each level's reference is filtered from the level the GPU stored before it, so a level
//! is judged on its own filtering step. Our compute kernel must round correctly (8-bit) or within
//! two half-float ULPs; the driver's blits get the precision conformance allows filtering (see
//! [`Tolerance`]).

use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::{Allocator, GpuImage, ImageDesc, MipLevels};
use vkup_staging::{
    Access, ImageUpload, MipMethod, MipOptions, Progress, ResourceState, StagingRing,
};

use crate::pattern;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Unorm,
    Srgb,
    Half,
}

fn kind(format: vk::Format) -> Kind {
    match format {
        vk::Format::R8G8B8A8_UNORM => Kind::Unorm,
        vk::Format::R8G8B8A8_SRGB => Kind::Srgb,
        _ => Kind::Half,
    }
}

fn to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn to_srgb(c: f32) -> f32 {
    if c <= 0.003_130_8 {
        c * 12.92
    } else {
        1.055 * c.powf(1.0 / 2.4) - 0.055
    }
}

/// Stored bytes of one level -> linear RGBA texels.
fn decode(kind: Kind, bytes: &[u8]) -> Vec<[f32; 4]> {
    match kind {
        Kind::Half => bytes
            .chunks_exact(8)
            .map(|t| {
                std::array::from_fn(|c| half::f16::from_le_bytes([t[2 * c], t[2 * c + 1]]).to_f32())
            })
            .collect(),
        _ => bytes
            .chunks_exact(4)
            .map(|t| {
                std::array::from_fn(|c| {
                    let v = f32::from(t[c]) / 255.0;
                    if kind == Kind::Srgb && c < 3 {
                        to_linear(v)
                    } else {
                        v
                    }
                })
            })
            .collect(),
    }
}

/// One texel of a reference level: the exact filtered value, and the spread (max - min) of the
/// source texels it was filtered from, per channel, both in linear space.
#[derive(Clone, Copy, Debug)]
struct Texel {
    value: [f32; 4],
    spread: [f32; 4],
}

/// How far a stored texel may be from the exact reference, in linear space, before the stored
/// encoding's own rounding (which is always allowed: "one of the two closest" representable
/// values, Vulkan spec, "Conversion from Floating-Point to Normalized Fixed-Point").
///
/// - Our compute kernel: nothing more (its results must be correctly rounded), and two half-float
///   ULPs for RGBA16F.
/// - The driver's blit samples with linear filtering, whose weights keep only
///   `subTexelPrecisionBits` fraction bits (Vulkan spec, "Texel Filtering"): where a dimension is
///   halved from an odd extent the sample positions are not exact halves, the coordinate
///   arithmetic may land on either neighbouring step, and each such dimension may move the result
///   by the taps' spread times 2^-subTexelPrecisionBits. Where the weights are exact (even
///   extents) the filter arithmetic itself is left one unit of an 8-bit result (2^-8, in linear
///   space for sRGB, where the spec has blits filter). Measured worst on the H200: 1.57 sRGB
///   units at 256x256 (exact weights), 4.9 at 257x129 on a dark texel (0.0025 in linear), and
///   0.0023 for RGBA16F at 257x129.
fn slack(
    texel: &Texel,
    kind: Kind,
    method: MipMethod,
    inexact_dims: u32,
    sub_texel_bits: u32,
) -> [f32; 4] {
    std::array::from_fn(|c| {
        let half_ulps = if kind == Kind::Half {
            texel.value[c].abs().max(1e-3) * 2.0 / 1024.0
        } else {
            0.0
        };
        if method != MipMethod::Blit {
            return half_ulps;
        }
        let weights = inexact_dims as f32 * texel.spread[c] / (1u32 << sub_texel_bits) as f32;
        let arithmetic = if kind == Kind::Half {
            half_ulps
        } else {
            1.0 / 256.0
        };
        weights + arithmetic
    })
}

/// Whether `got` (stored bytes) holds `want` within `slack` (linear space) plus the encoding's
/// rounding.
fn close(kind: Kind, got: &[u8], want: &[f32; 4], slack: &[f32; 4]) -> bool {
    match kind {
        Kind::Half => (0..4).all(|c| {
            let g = half::f16::from_le_bytes([got[2 * c], got[2 * c + 1]]).to_f32();
            (g - want[c]).abs() <= slack[c]
        }),
        _ => (0..4).all(|c| {
            let encode = |v: f32| {
                let v = v.clamp(0.0, 1.0);
                let v = if kind == Kind::Srgb && c < 3 {
                    to_srgb(v)
                } else {
                    v
                };
                v * 255.0
            };
            let (lo, hi) = (encode(want[c] - slack[c]), encode(want[c] + slack[c]));
            let g = f32::from(got[c]);
            // A hair of slack for the f32 reference's own rounding.
            g >= (lo - 1e-3).floor() && g <= (hi + 1e-3).ceil()
        }),
    }
}

/// The area-weighted taps of output `i` from a dimension of `n` texels (the compute kernel).
fn area_taps(i: usize, n: usize) -> Vec<(usize, f32)> {
    if n == 1 {
        vec![(0, 1.0)]
    } else if n % 2 == 0 {
        vec![(2 * i, 0.5), (2 * i + 1, 0.5)]
    } else {
        let m = n / 2;
        let inv = 1.0 / n as f32;
        vec![
            (2 * i, (m - i) as f32 * inv),
            (2 * i + 1, m as f32 * inv),
            (2 * i + 2, (i + 1) as f32 * inv),
        ]
    }
}

/// The bilinear taps of output `i` of `m` from `n` texels: a blit samples at the output's centre,
/// scaled into the source (Vulkan spec, "Image Copies with Scaling"), clamped to the edge.
fn blit_taps(i: usize, n: usize, m: usize) -> Vec<(usize, f32)> {
    let u = (i as f32 + 0.5) * n as f32 / m as f32 - 0.5;
    let i0 = u.floor();
    let a = u - i0;
    let clamp = |v: f32| (v.max(0.0) as usize).min(n - 1);
    vec![(clamp(i0), 1.0 - a), (clamp(i0 + 1.0), a)]
}

/// One level from the previous one (`prev`, of extent `src`), in linear space.
fn reference(
    method: MipMethod,
    prev: &[[f32; 4]],
    src: vk::Extent3D,
    dst: vk::Extent3D,
) -> Vec<Texel> {
    let taps = |i: usize, n: u32, m: u32| match method {
        MipMethod::Blit => blit_taps(i, n as usize, m as usize),
        _ => area_taps(i, n as usize),
    };
    let mut out = Vec::new();
    for z in 0..dst.depth as usize {
        for y in 0..dst.height as usize {
            for x in 0..dst.width as usize {
                let mut acc = [0.0f32; 4];
                let (mut lo, mut hi) = ([f32::MAX; 4], [f32::MIN; 4]);
                for (sz, wz) in taps(z, src.depth, dst.depth) {
                    for (sy, wy) in taps(y, src.height, dst.height) {
                        for (sx, wx) in taps(x, src.width, dst.width) {
                            let t = prev[(sz * src.height as usize + sy) * src.width as usize + sx];
                            for c in 0..4 {
                                acc[c] += wx * wy * wz * t[c];
                                lo[c] = lo[c].min(t[c]);
                                hi[c] = hi[c].max(t[c]);
                            }
                        }
                    }
                }
                out.push(Texel {
                    value: acc,
                    spread: std::array::from_fn(|c| hi[c] - lo[c]),
                });
            }
        }
    }
    out
}

fn level0(kind: Kind, texels: usize, seed: u64) -> Vec<u8> {
    match kind {
        Kind::Half => pattern(texels * 4, seed)
            .iter()
            .flat_map(|&b| half::f16::from_f32(f32::from(b) / 255.0).to_le_bytes())
            .collect(),
        _ => pattern(texels * 4, seed),
    }
}

struct Case {
    name: &'static str,
    desc: ImageDesc<'static>,
}

fn cases(format: vk::Format) -> Vec<Case> {
    let full = MipLevels::Full;
    vec![
        Case {
            name: "256x256",
            desc: ImageDesc::new_2d(format, 256, 256).mip_levels(full),
        },
        Case {
            name: "257x129",
            desc: ImageDesc::new_2d(format, 257, 129).mip_levels(full),
        },
        Case {
            // The first dispatch reads an odd level 0 with many workgroups.
            name: "513x257",
            desc: ImageDesc::new_2d(format, 513, 257).mip_levels(full),
        },
        Case {
            // Levels 1-3 in one tiled dispatch, 4-6 (62x37, 31x18, 15x9) in a windowed one,
            // whose last workgroup makes the rest (its tail).
            name: "1000x600",
            desc: ImageDesc::new_2d(format, 1000, 600).mip_levels(full),
        },
        Case {
            // Five levels in one all-even dispatch whose tiles overhang levels 1 to 5 (208x144
            // .. 13x9: 7x5 workgroups).
            name: "416x288",
            desc: ImageDesc::new_2d(format, 416, 288).mip_levels(full),
        },
        Case {
            // Odd levels (75x50, 37x25) in every layer: levels 1-3 in a windowed dispatch.
            name: "array of 3, 300x200",
            desc: ImageDesc::new_2d(format, 300, 200)
                .array_layers(3)
                .mip_levels(full),
        },
        Case {
            name: "1x1024",
            desc: ImageDesc::new_2d(format, 1, 1024).mip_levels(full),
        },
        Case {
            name: "4096x64",
            desc: ImageDesc::new_2d(format, 4096, 64).mip_levels(full),
        },
        Case {
            name: "array of 4",
            desc: ImageDesc::new_2d(format, 48, 20)
                .array_layers(4)
                .mip_levels(full),
        },
        Case {
            name: "cube",
            desc: ImageDesc::cube(format, 64).mip_levels(full),
        },
        Case {
            name: "3D 32^3",
            desc: ImageDesc::new_3d(format, 32, 32, 32).mip_levels(full),
        },
    ]
}

/// Uploads level 0 of every layer, generates the rest by `method`, reads every level back and
/// checks it against the reference. Returns false when the method refused the image.
fn check(
    gpu: &Gpu,
    alloc: &Allocator,
    mips: &vkup_staging::MipGenerator,
    case: &Case,
    method: MipMethod,
    seed: u64,
    mutable: bool,
) -> bool {
    let format = case.desc.format();
    let k = kind(format);
    let mut usage = vk::ImageUsageFlags::SAMPLED
        | vk::ImageUsageFlags::TRANSFER_SRC
        | vk::ImageUsageFlags::TRANSFER_DST;
    let mut desc = case.desc.clone();
    if desc.dimension() == vkup_allocator::ImageDimension::D2 {
        usage |= vk::ImageUsageFlags::STORAGE;
        // sRGB is written through a UNORM view, and RGBA8 with MUTABLE_FORMAT through R32_UINT
        // views; EXTENDED_USAGE lets STORAGE be checked against the view's format.
        if mutable {
            desc = desc
                .flags(vk::ImageCreateFlags::MUTABLE_FORMAT | vk::ImageCreateFlags::EXTENDED_USAGE);
        }
    }
    let image = alloc
        .create_image(&desc.usage(usage))
        .unwrap_or_else(|e| panic!("{} {format:?}: {e}", case.name));
    let stager = gpu.stager(alloc);
    let mut submitter = gpu.submitter();
    let mut ring = StagingRing::new(alloc, 8 << 20).unwrap();
    let e0 = image.extent();
    let texels = (e0.width * e0.height * e0.depth * image.array_layers()) as usize;
    let data = level0(k, texels, seed);
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
    let mut upload =
        ImageUpload::packed(&stager, &image, &data, 1, ResourceState::UNDEFINED, sampled).unwrap();
    let mut scratch = None;
    let mut readback = None;
    // SAFETY: recording on the submitter's queue; everything outlives `run`.
    let result = unsafe {
        let _ = submitter
            .run(&mut ring, |cmd, ring| {
                upload.record(cmd, &stager, alloc, ring)
            })
            .unwrap();
        submitter.run(&mut ring, |cmd, _| {
            let (finished, s) = mips.record(
                cmd,
                &image,
                sampled,
                sampled,
                MipOptions::default().method(method),
            )?;
            scratch = Some(s);
            let (r, finished) =
                stager.record_image_readback(cmd, alloc, &image, finished.state, sampled)?;
            readback = Some(r);
            Ok(Progress::Done(finished))
        })
    };
    let refused = match result {
        Ok(_) => false,
        Err(vkup_staging::Error::MipsUnsupported { .. }) => true,
        Err(err) => panic!("{} {format:?} {method:?}: {err}", case.name),
    };
    if !refused {
        let mut readback = readback.take().unwrap();
        // SAFETY: `run` waited for its last submission, which copied into it.
        unsafe { readback.submitted(submitter.timeline(), submitter.last_value()) };
        verify(
            (alloc, submitter.timeline()),
            &image,
            &readback,
            k,
            method,
            case.name,
            gpu.properties.limits.sub_texel_precision_bits,
        );
        // SAFETY: run waited for the submission.
        unsafe { readback.destroy(alloc) };
    }
    // SAFETY: every submission has completed.
    unsafe {
        if let Some(s) = scratch {
            s.destroy(&gpu.device);
        }
        submitter.destroy().unwrap();
        ring.destroy(alloc);
        alloc.destroy_image(image);
    }
    !refused
}

fn verify(
    (alloc, timeline): (&Allocator, &vkup_staging::Timeline),
    image: &GpuImage,
    readback: &vkup_staging::ImageReadback,
    k: Kind,
    method: MipMethod,
    name: &str,
    sub_texel_bits: u32,
) {
    let bytes_per_texel = if k == Kind::Half { 8 } else { 4 };
    for layer in 0..image.array_layers() {
        let mut prev = readback.read(alloc, timeline, 0, layer).unwrap();
        for level in 1..image.mip_levels() {
            let (src, dst) = (image.level_extent(level - 1), image.level_extent(level));
            let got = readback.read(alloc, timeline, level, layer).unwrap();
            let want = reference(method, &decode(k, &prev), src, dst);
            // Dimensions halved from an odd extent: their blit weights are not exact halves.
            let inexact_dims = [
                (src.width, dst.width),
                (src.height, dst.height),
                (src.depth, dst.depth),
            ]
            .iter()
            .filter(|(n, m)| *n != 2 * *m && n != m)
            .count() as u32;
            if std::env::var_os("MIPS_ERROR_STATS").is_some() && k != Kind::Half {
                let worst = want
                    .iter()
                    .zip(got.chunks_exact(bytes_per_texel))
                    .map(|(w, g)| {
                        (0..4)
                            .map(|c| {
                                let v = if k == Kind::Srgb && c < 3 {
                                    to_srgb(w.value[c])
                                } else {
                                    w.value[c]
                                };
                                (f32::from(g[c]) - v.clamp(0.0, 1.0) * 255.0).abs()
                            })
                            .fold(0.0f32, f32::max)
                    })
                    .fold(0.0f32, f32::max);
                eprintln!(
                    "{name} {:?} {method:?} level {level}: worst {worst:.3} ulp",
                    image.format()
                );
            }
            let bad = want
                .iter()
                .zip(got.chunks_exact(bytes_per_texel))
                .position(|(w, g)| {
                    !close(
                        k,
                        g,
                        &w.value,
                        &slack(w, k, method, inexact_dims, sub_texel_bits),
                    )
                });
            if let Some(i) = bad {
                panic!(
                    "{name} {:?} {method:?}: level {level} layer {layer} texel {i} is {:?}, reference {:?}",
                    image.format(),
                    &got[i * bytes_per_texel..][..bytes_per_texel],
                    want[i].value
                );
            }
            prev = got;
        }
    }
}

fn run_format(format: vk::Format) {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let mips = gpu.mip_generator(&alloc);
    assert!(!mips.compute_pipelines_built(), "nothing is built up front");
    for (i, case) in cases(format).iter().enumerate() {
        let three_d = case.desc.dimension() == vkup_allocator::ImageDimension::D3;
        assert!(
            check(&gpu, &alloc, &mips, case, MipMethod::Blit, i as u64, true),
            "{} {format:?}: blit refused",
            case.name
        );
        if i == 0 {
            assert!(!mips.compute_pipelines_built(), "blits build no pipelines");
        }
        // RGBA8 UNORM both through R32_UINT views (MUTABLE_FORMAT) and typed UNORM views.
        let mutables: &[bool] = if format == vk::Format::R8G8B8A8_UNORM {
            &[true, false]
        } else {
            &[true]
        };
        for &mutable in mutables {
            let computed = check(
                &gpu,
                &alloc,
                &mips,
                case,
                MipMethod::Compute,
                100 + i as u64,
                mutable,
            );
            assert_eq!(
                computed, !three_d,
                "{} {format:?} (mutable: {mutable}): compute runs on every 2D case and refuses 3D",
                case.name
            );
        }
        assert!(mips.compute_pipelines_built());
    }
    // SAFETY: nothing is pending.
    unsafe { mips.destroy() };
}

#[test]
fn rgba8_unorm_mips_match_the_reference_by_both_methods() {
    run_format(vk::Format::R8G8B8A8_UNORM);
}

#[test]
fn rgba8_srgb_mips_are_filtered_in_linear_space_by_both_methods() {
    run_format(vk::Format::R8G8B8A8_SRGB);
}

#[test]
fn rgba16f_mips_match_the_reference_by_both_methods() {
    run_format(vk::Format::R16G16B16A16_SFLOAT);
}

/// Extents drawn at random (a fixed seed), so the compute planner's kernels meet shapes nobody
/// listed: odd levels at every depth, windowed dispatches whose tiles overhang the last level,
/// layers. Each is checked level by level against the reference, in the three storage forms.
#[test]
fn compute_mips_of_generated_extents_match_the_reference() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let mips = gpu.mip_generator(&alloc);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |below: u32| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) % u64::from(below)) as u32
    };
    let forms = [
        (vk::Format::R8G8B8A8_SRGB, true),
        (vk::Format::R8G8B8A8_UNORM, false),
        (vk::Format::R16G16B16A16_SFLOAT, true),
    ];
    let (mut windowed, mut tails) = (0, 0);
    for i in 0..12u64 {
        let (width, height) = (33 + next(540), 33 + next(540));
        let layers = 1 + next(2);
        let (format, mutable) = forms[i as usize % forms.len()];
        let levels = 32 - width.max(height).leading_zeros();
        let passes = vkup_staging::plan::plan_compute_passes((width, height), 0, levels, true);
        windowed += passes
            .iter()
            .filter(|p| p.kernel == vkup_staging::plan::MipKernel::Windowed)
            .count();
        tails += passes.iter().filter(|p| p.tail > 0).count();
        let name: &'static str =
            Box::leak(format!("generated {width}x{height}, {layers} layers, {passes:?}").into());
        let case = Case {
            name,
            desc: ImageDesc::new_2d(format, width, height)
                .array_layers(layers)
                .mip_levels(MipLevels::Full),
        };
        assert!(
            check(
                &gpu,
                &alloc,
                &mips,
                &case,
                MipMethod::Compute,
                500 + i,
                mutable
            ),
            "{name}: compute refused"
        );
    }
    assert!(
        windowed >= 3 && tails >= 3,
        "the generated extents took {windowed} windowed dispatches, {tails} with tails"
    );
    // SAFETY: nothing is pending.
    unsafe { mips.destroy() };
}

/// [`check`] by compute, of a mutable-format image that compute must not refuse.
fn check_compute(
    gpu: &Gpu,
    alloc: &Allocator,
    mips: &vkup_staging::MipGenerator,
    name: &'static str,
    desc: ImageDesc<'static>,
    seed: u64,
) {
    let case = Case { name, desc };
    assert!(
        check(gpu, alloc, mips, &case, MipMethod::Compute, seed, true),
        "{name}: compute refused"
    );
}

/// A level 0 of more than 2048x2048 texels gets a dispatch of its own for levels 1-2, and the
/// next one goes on from level 2 (4096x1040: from 1024x260, down to an odd 256x65).
#[test]
fn a_large_level_0_is_split_after_two_levels() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let mips = gpu.mip_generator(&alloc);
    let passes = vkup_staging::plan::plan_compute_passes((4096, 1040), 0, 13, true);
    assert_eq!(
        (passes[0].levels, passes[1].src_level),
        (2, 2),
        "{passes:?}"
    );
    for (i, format) in [vk::Format::R8G8B8A8_SRGB, vk::Format::R16G16B16A16_SFLOAT]
        .into_iter()
        .enumerate()
    {
        let desc = ImageDesc::new_2d(format, 4096, 1040).mip_levels(MipLevels::Full);
        check_compute(&gpu, &alloc, &mips, "4096x1040", desc, 950 + i as u64);
    }
    // SAFETY: nothing is pending.
    unsafe { mips.destroy() };
}

/// A dispatch with a tail counts its workgroups in on one counter per layer, taken from the
/// generator's ring of 4096 and left zero for the next dispatch. Images of 2048 layers (or as many
/// as the device allows) take the ring's counters in turn until it wraps and they are taken
/// again: a counter not left zero would keep the tail from being made, so that image's last
/// levels would fail the reference.
#[test]
fn tails_take_their_counters_again_once_the_ring_wraps() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let mips = gpu.mip_generator(&alloc);
    // SAFETY: valid physical device of this instance.
    let limit = unsafe {
        gpu.instance
            .get_physical_device_properties(gpu.physical_device)
    }
    .limits
    .max_image_array_layers;
    let layers = limit.min(2048);
    // 66x2: a windowed dispatch makes 33x1, 16x1 and 8x1, and its tail 4x1, 2x1 and 1x1.
    let passes = vkup_staging::plan::plan_compute_passes((66, 2), 0, 7, true);
    assert_eq!(passes.len(), 1, "{passes:?}");
    assert_eq!(passes[0].tail, 3, "{passes:?}");
    let images = 4096u32.div_ceil(layers) + 1;
    for i in 0..images {
        let desc = ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 66, 2)
            .array_layers(layers)
            .mip_levels(MipLevels::Full);
        check_compute(
            &gpu,
            &alloc,
            &mips,
            "66x2, 2048 layers",
            desc,
            900 + u64::from(i),
        );
    }
    // SAFETY: nothing is pending.
    unsafe { mips.destroy() };
}

#[test]
fn a_format_without_linear_filtering_is_refused_before_recording() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let mips = gpu.mip_generator(&alloc);
    let image = alloc
        .create_image(&ImageDesc::texture_2d(vk::Format::R8G8B8A8_UINT, 64, 64))
        .unwrap();
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
    for method in [MipMethod::Auto, MipMethod::Blit] {
        // SAFETY: the call is refused before anything is recorded into the null command buffer.
        let err = unsafe {
            mips.record(
                vk::CommandBuffer::null(),
                &image,
                sampled,
                sampled,
                MipOptions::default().method(method),
            )
        }
        .unwrap_err();
        assert!(
            matches!(
                err,
                vkup_staging::Error::MipsUnsupported {
                    method: MipMethod::Blit,
                    format: vk::Format::R8G8B8A8_UINT,
                    ..
                }
            ),
            "{method:?}: {err}"
        );
    }
    // SAFETY: as above.
    let err = unsafe {
        mips.record(
            vk::CommandBuffer::null(),
            &image,
            sampled,
            sampled,
            MipOptions::default().method(MipMethod::Compute),
        )
    }
    .unwrap_err();
    assert!(
        matches!(
            err,
            vkup_staging::Error::MipsUnsupported {
                method: MipMethod::Compute,
                ..
            }
        ),
        "{err}"
    );
    // SAFETY: nothing was recorded.
    unsafe {
        alloc.destroy_image(image);
        mips.destroy();
    }
}

#[test]
fn auto_picks_compute_on_gpus_and_blit_on_cpu_devices() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let mips = gpu.mip_generator(&alloc);
    let usage = vk::ImageUsageFlags::SAMPLED
        | vk::ImageUsageFlags::STORAGE
        | vk::ImageUsageFlags::TRANSFER_SRC
        | vk::ImageUsageFlags::TRANSFER_DST;
    let image = alloc
        .create_image(
            &ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 64, 64)
                .mip_levels(MipLevels::Full)
                .usage(usage),
        )
        .unwrap();
    let cpu = gpu.properties.device_type == vk::PhysicalDeviceType::CPU;
    let auto = mips.resolve(&image, MipMethod::Auto).unwrap();
    assert_eq!(
        auto,
        if cpu {
            MipMethod::Blit
        } else {
            MipMethod::Compute
        }
    );
    assert_eq!(
        mips.resolve(&image, MipMethod::Compute).unwrap(),
        MipMethod::Compute
    );
    assert_eq!(
        mips.resolve(&image, MipMethod::Blit).unwrap(),
        MipMethod::Blit
    );
    // SAFETY: nothing was recorded.
    unsafe {
        alloc.destroy_image(image);
        mips.destroy();
    }
}

/// Streaming one level in: level 0 is replaced and only levels 0..3 regenerated, by each method,
/// while levels 3.. keep their old contents and their sampled state (synchronization validation
/// would report a layout the barriers got wrong). Ranges past the image are refused.
#[test]
fn a_level_range_regenerates_only_its_levels_and_leaves_the_rest_sampled() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let mips = gpu.mip_generator(&alloc);
    let stager = gpu.stager(&alloc);
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
    let red = [255u8, 0, 0, 255];
    let green = [0u8, 255, 0, 255];
    for method in [MipMethod::Blit, MipMethod::Compute] {
        let image = alloc
            .create_image(
                &ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 64, 64)
                    .mip_levels(MipLevels::Full)
                    .usage(
                        vk::ImageUsageFlags::SAMPLED
                            | vk::ImageUsageFlags::TRANSFER_SRC
                            | vk::ImageUsageFlags::TRANSFER_DST
                            | vk::ImageUsageFlags::STORAGE,
                    ),
            )
            .unwrap();
        assert_eq!(image.mip_levels(), 7);
        let mut submitter = gpu.submitter();
        let mut ring = StagingRing::new(&alloc, 1 << 20).unwrap();
        let solid = |c: [u8; 4]| c.repeat(64 * 64);
        let (first, second) = (solid(red), solid(green));
        let mut scratches = Vec::new();
        // The whole chain red, sampled.
        let mut upload = ImageUpload::packed(
            &stager,
            &image,
            &first,
            1,
            ResourceState::UNDEFINED,
            sampled,
        )
        .unwrap();
        // Level 0 green; levels 1 and 2 made from it.
        let mut stream = ImageUpload::packed(&stager, &image, &second, 1, sampled, sampled)
            .unwrap()
            .listed_subresources_only();
        let mut readback = None;
        // SAFETY: recording on the submitter's queue; everything outlives `run`.
        unsafe {
            let _ = submitter
                .run(&mut ring, |cmd, ring| {
                    upload.record(cmd, &stager, &alloc, ring)
                })
                .unwrap();
            let _ = submitter
                .run(&mut ring, |cmd, _| {
                    let (done, s) = mips.record(
                        cmd,
                        &image,
                        sampled,
                        sampled,
                        MipOptions::default().method(method),
                    )?;
                    scratches.push(s);
                    Ok(Progress::Done(done))
                })
                .unwrap();
            let _ = submitter
                .run(&mut ring, |cmd, ring| {
                    stream.record(cmd, &stager, &alloc, ring)
                })
                .unwrap();
            let _ = submitter
                .run(&mut ring, |cmd, _| {
                    let (_, s) = mips.record(
                        cmd,
                        &image,
                        sampled,
                        sampled,
                        MipOptions::default().method(method).level_count(3),
                    )?;
                    scratches.push(s);
                    let (r, done) =
                        stager.record_image_readback(cmd, &alloc, &image, sampled, sampled)?;
                    readback = Some(r);
                    Ok(Progress::Done(done))
                })
                .unwrap();
        }
        let mut readback = readback.unwrap();
        // SAFETY: `run` waited for its last submission, which copied into it.
        unsafe { readback.submitted(submitter.timeline(), submitter.last_value()) };
        for level in 0..7 {
            let want = if level < 3 { green } else { red };
            let got = readback
                .read(&alloc, submitter.timeline(), level, 0)
                .unwrap();
            assert!(
                got.chunks_exact(4).all(|t| t == want),
                "{method:?}: level {level} is not {want:?} (first texel {:?})",
                &got[..4]
            );
        }
        for bad in [
            MipOptions::default().level_count(0),
            MipOptions::default().base_level(5).level_count(3),
            MipOptions::default().base_level(1).level_count(u32::MAX),
        ] {
            // SAFETY: refused before anything is recorded into the null command buffer.
            let err = unsafe {
                mips.record(
                    vk::CommandBuffer::null(),
                    &image,
                    sampled,
                    sampled,
                    bad.method(method),
                )
            }
            .unwrap_err();
            assert!(
                matches!(err, vkup_staging::Error::InvalidSubresource { .. }),
                "{bad:?}: {err}"
            );
        }
        // SAFETY: every submission completed.
        unsafe {
            readback.destroy(&alloc);
            for s in scratches {
                s.destroy(&gpu.device);
            }
            submitter.destroy().unwrap();
            ring.destroy(&alloc);
            alloc.destroy_image(image);
        }
    }
    assert!(gpu.messages().is_empty(), "{:?}", gpu.messages());
    // SAFETY: nothing is pending.
    unsafe { mips.destroy() };
}

/// `prepare` builds at start-up what `MipMethod::Auto` would build on its first compute
/// generation, through the caller's pipeline cache: the compute pipelines on a GPU (whose cache
/// then holds more than its 32-byte header), nothing on a CPU device (where `Auto` blits). A
/// compute generation after it builds nothing more and still matches the reference.
#[test]
fn prepare_builds_the_auto_path_up_front_through_the_callers_pipeline_cache() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    // SAFETY: valid device; destroyed below, after the generator.
    let cache = unsafe {
        gpu.device
            .create_pipeline_cache(&vk::PipelineCacheCreateInfo::default(), None)
    }
    .unwrap();
    // SAFETY: the cache is this device's and outlives the generator.
    let mips = unsafe { gpu.mip_generator(&alloc).pipeline_cache(cache) };
    mips.prepare().unwrap();
    // SAFETY: valid physical device of this instance.
    let cpu = unsafe {
        gpu.instance
            .get_physical_device_properties(gpu.physical_device)
    }
    .device_type
        == vk::PhysicalDeviceType::CPU;
    assert_eq!(mips.compute_pipelines_built(), !cpu, "cpu device: {cpu}");
    mips.prepare().unwrap();
    let case = &cases(vk::Format::R8G8B8A8_UNORM)[0];
    assert!(check(
        &gpu,
        &alloc,
        &mips,
        case,
        MipMethod::Compute,
        7,
        true
    ));
    assert!(mips.compute_pipelines_built());
    // SAFETY: the cache is idle (pipeline creation has returned).
    let data = unsafe { gpu.device.get_pipeline_cache_data(cache) }.unwrap();
    println!("pipeline cache: {} bytes (cpu device: {cpu})", data.len());
    if !cpu {
        assert!(data.len() > 32, "the cache holds only {} bytes", data.len());
    }
    // SAFETY: nothing is pending; the generator is gone before its cache.
    unsafe {
        mips.destroy();
        gpu.device.destroy_pipeline_cache(cache, None);
    }
}
