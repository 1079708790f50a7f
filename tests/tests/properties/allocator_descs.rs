//! Generated buffer and image descriptions: any flags, usage bits, formats, extents, layers,
//! samples and tiling.

use ash::vk;
use gpu_tests::Gpu;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use vkup_allocator::{BufferDesc, ImageDesc, ImageDimension, MemoryIntent, MipLevels};

/// Images larger than this (estimated) are not generated: lavapipe allocates them for real.
const MAX_IMAGE_BYTES: u64 = 64 << 20;

fn intent() -> impl Strategy<Value = MemoryIntent> {
    prop_oneof![
        Just(MemoryIntent::GpuOnly),
        Just(MemoryIntent::Upload),
        Just(MemoryIntent::Readback),
        Just(MemoryIntent::CpuToGpu),
        Just(MemoryIntent::Transient),
    ]
}

/// Mostly known bits, sometimes anything.
fn bits(known: u32) -> impl Strategy<Value = u32> {
    prop_oneof![
        8 => any::<u32>().prop_map(move |b| b & known),
        1 => any::<u32>(),
        1 => Just(0u32),
    ]
}

fn priority() -> impl Strategy<Value = Option<f32>> {
    prop_oneof![
        4 => Just(None),
        2 => (0.0f32..=1.0).prop_map(Some),
        1 => prop_oneof![Just(-0.5f32), Just(1.5), Just(f32::NAN), Just(f32::INFINITY)].prop_map(Some),
    ]
}

fn name() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        Just(None),
        Just(Some("generated")),
        Just(Some("")),
        Just(Some("nul\0inside"))
    ]
}

fn buffer_desc() -> impl Strategy<Value = BufferDesc<'static>> {
    let size = prop_oneof![
        1 => Just(0u64),
        8 => 1u64..(1 << 20),
        1 => (1u64 << 40)..=u64::MAX,
    ];
    (
        size,
        bits(0x1FF | 0x20000),
        intent(),
        any::<bool>(),
        priority(),
        name(),
    )
        .prop_map(|(size, usage, memory, dedicated, priority, name)| {
            let mut desc = BufferDesc::new(size, vk::BufferUsageFlags::from_raw(usage))
                .memory(memory)
                .dedicated(dedicated);
            if let Some(priority) = priority {
                desc = desc.priority(priority);
            }
            if let Some(name) = name {
                desc = desc.name(name);
            }
            desc
        })
}

fn format() -> impl Strategy<Value = vk::Format> {
    prop_oneof![
        6 => prop::sample::select(vec![
            vk::Format::R8G8B8A8_UNORM,
            vk::Format::R8G8B8A8_SRGB,
            vk::Format::B8G8R8A8_UNORM,
            vk::Format::R16G16B16A16_SFLOAT,
            vk::Format::R32_SFLOAT,
            vk::Format::R8_UNORM,
            vk::Format::D32_SFLOAT,
            vk::Format::D24_UNORM_S8_UINT,
            vk::Format::BC7_SRGB_BLOCK,
            vk::Format::G8_B8R8_2PLANE_420_UNORM,
        ]),
        6 => (1i32..=184).prop_map(vk::Format::from_raw),
        1 => (1_000_156_000i32..=1_000_156_033).prop_map(vk::Format::from_raw),
        1 => (1_000_066_000i32..=1_000_066_013).prop_map(vk::Format::from_raw),
        1 => prop_oneof![
            Just(vk::Format::UNDEFINED),
            Just(vk::Format::from_raw(185)),
            Just(vk::Format::from_raw(1_000_054_000)),
            any::<i32>().prop_map(vk::Format::from_raw),
        ],
    ]
}

fn dim() -> impl Strategy<Value = u32> {
    prop_oneof![
        1 => Just(0u32),
        12 => 1u32..=40,
        1 => prop_oneof![Just(16384u32), Just(16385), Just(u32::MAX)],
    ]
}

fn usage() -> impl Strategy<Value = u32> {
    use vk::ImageUsageFlags as U;
    prop_oneof![
        4 => prop::sample::select(vec![
            U::SAMPLED | U::TRANSFER_DST,
            U::SAMPLED | U::TRANSFER_DST | U::TRANSFER_SRC,
            U::COLOR_ATTACHMENT,
            U::DEPTH_STENCIL_ATTACHMENT | U::TRANSIENT_ATTACHMENT,
            U::STORAGE | U::SAMPLED,
            U::TRANSFER_SRC,
        ])
        .prop_map(|u| u.as_raw()),
        4 => bits(0xFF),
    ]
}

fn flags() -> impl Strategy<Value = u32> {
    use vk::ImageCreateFlags as F;
    prop_oneof![
        4 => Just(0u32),
        3 => prop::sample::subsequence(
            vec![
                F::MUTABLE_FORMAT,
                F::CUBE_COMPATIBLE,
                F::ALIAS,
                F::TYPE_2D_ARRAY_COMPATIBLE,
                F::BLOCK_TEXEL_VIEW_COMPATIBLE,
                F::EXTENDED_USAGE,
            ],
            0..=3,
        )
        .prop_map(|f| f.into_iter().fold(0, |a, b| a | b.as_raw())),
        1 => bits(0x3FFFF),
    ]
}

fn image_desc() -> impl Strategy<Value = ImageDesc<'static>> {
    let dimension = prop_oneof![
        1 => Just(ImageDimension::D1),
        3 => Just(ImageDimension::D2),
        1 => Just(ImageDimension::D3)
    ];
    let levels = prop_oneof![
        Just(MipLevels::Full),
        Just(MipLevels::ONE),
        (0u32..=16).prop_map(MipLevels::Count)
    ];
    let layers = prop_oneof![8 => 1u32..=8, 1 => Just(0u32), 1 => Just(u32::MAX)];
    let samples = prop::sample::select(vec![0u32, 1, 1, 1, 1, 1, 1, 2, 3, 4, 8, 16, 32, 64, 128]);
    let tiling = prop_oneof![
        4 => Just(vk::ImageTiling::OPTIMAL),
        2 => Just(vk::ImageTiling::LINEAR),
        1 => Just(vk::ImageTiling::DRM_FORMAT_MODIFIER_EXT),
        1 => any::<i32>().prop_map(vk::ImageTiling::from_raw),
    ];
    (
        (dimension, dim(), dim(), dim(), format()),
        (levels, layers, samples, tiling),
        (usage(), flags(), any::<bool>(), intent()),
        (any::<bool>(), priority(), name(), prop::bool::weighted(0.8)),
    )
        .prop_map(
            |(
                (dimension, w, h, d, format),
                (mip_levels, array_layers, samples, tiling),
                (usage, flags, cube, memory),
                (dedicated, priority, name, well_shaped),
            )| {
                // Mostly shapes that fit the dimension (so the later rules get exercised too),
                // sometimes anything.
                let (mut w, mut h, mut d, mut array_layers) = (w, h, d, array_layers);
                if well_shaped {
                    let nonzero = |v: u32| v.max(1);
                    (w, h, d) = (nonzero(w), nonzero(h), nonzero(d));
                    match dimension {
                        ImageDimension::D1 => (h, d) = (1, 1),
                        ImageDimension::D2 => d = 1,
                        ImageDimension::D3 => array_layers = 1,
                    }
                    array_layers = array_layers.clamp(1, 8);
                }
                let tiling = if well_shaped && tiling != vk::ImageTiling::LINEAR {
                    vk::ImageTiling::OPTIMAL
                } else {
                    tiling
                };
                let samples = if well_shaped && !samples.is_power_of_two() {
                    1
                } else {
                    samples
                };
                // The constructors are the one way to a shape: 1D has one row, 2D one slice, and
                // only `cube` is cube-compatible (square, six layers before the override below).
                let base = match dimension {
                    ImageDimension::D1 => ImageDesc::new_1d(format, w),
                    ImageDimension::D2 if cube && w % 5 == 0 => ImageDesc::cube(format, w),
                    ImageDimension::D2 => ImageDesc::new_2d(format, w, h),
                    ImageDimension::D3 => ImageDesc::new_3d(format, w, h, d),
                };
                let extent = base.extent();
                let mut desc = base
                    .mip_levels(mip_levels)
                    .array_layers(array_layers)
                    .samples(samples)
                    .tiling(tiling)
                    .usage(vk::ImageUsageFlags::from_raw(usage))
                    .flags(vk::ImageCreateFlags::from_raw(flags))
                    .memory(memory)
                    .dedicated(dedicated);
                if let Some(p) = priority.filter(|p| !well_shaped || (0.0..=1.0).contains(p)) {
                    desc = desc.priority(p);
                }
                if let Some(n) = name.filter(|n| !well_shaped || !n.contains('\0')) {
                    desc = desc.name(n);
                }
                let e = extent;
                let texels = u64::from(e.width)
                    .saturating_mul(u64::from(e.height))
                    .saturating_mul(u64::from(e.depth))
                    .saturating_mul(u64::from(array_layers))
                    .saturating_mul(u64::from(samples.max(1)));
                // A description that asks for a huge image must be refused by a limit, not
                // made: let those through only when some dimension is past every device's limit.
                let refused_anyway =
                    [e.width, e.height, e.depth].contains(&u32::MAX) || array_layers == u32::MAX;
                (
                    desc,
                    refused_anyway || texels.saturating_mul(16) <= MAX_IMAGE_BYTES,
                )
            },
        )
        .prop_filter("small enough to allocate on lavapipe", |(_, small)| *small)
        .prop_map(|(desc, _)| desc)
}

/// Creates with `create`, destroys on success, and checks the two allowed outcomes.
fn one_case<T>(
    gpu: &Gpu,
    alloc: &vkup_allocator::Allocator,
    what: &str,
    create: impl FnOnce() -> vkup_allocator::Result<T>,
    destroy: impl FnOnce(T),
) -> Result<bool, TestCaseError> {
    let live = alloc.live_allocations().unwrap();
    let made = match create() {
        Ok(handle) => {
            destroy(handle);
            true
        }
        Err(err) => {
            if std::env::var_os("PROPERTY_LOG").is_some() {
                eprintln!("refused: {err}");
            }
            prop_assert!(!err.to_string().is_empty());
            prop_assert_eq!(
                alloc.live_allocations().unwrap(),
                live,
                "{} leaked: {}",
                what,
                err
            );
            false
        }
    };
    let messages = gpu.take_messages();
    prop_assert!(
        messages.is_empty(),
        "{} ({}): validation said:\n{}",
        what,
        if made { "created" } else { "refused" },
        messages.join("\n")
    );
    prop_assert_eq!(alloc.live_allocations().unwrap(), live);
    Ok(made)
}

/// Runs `cases` descriptions from `strategy` through `create` / `destroy` on one device and
/// returns how many were created.
fn run_descriptions<D: std::fmt::Debug, T>(
    cases: u32,
    strategy: impl Strategy<Value = D>,
    create: impl Fn(&vkup_allocator::Allocator, &D) -> vkup_allocator::Result<T>,
    destroy: impl Fn(&vkup_allocator::Allocator, T),
) -> u32 {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let made = std::cell::Cell::new(0u32);
    super::runner(cases)
        .run(&strategy, |desc| {
            let case = format!("{desc:?}");
            let created = one_case(
                &gpu,
                &alloc,
                &case,
                || create(&alloc, &desc),
                |handle| destroy(&alloc, handle),
            )?;
            made.set(made.get() + u32::from(created));
            Ok(())
        })
        .unwrap();
    made.get()
}

#[test]
fn generated_buffer_descriptions_are_created_cleanly_or_refused_with_a_typed_error() {
    let made = run_descriptions(
        1500,
        buffer_desc(),
        |alloc, desc| alloc.create_buffer(desc),
        // SAFETY: no GPU work uses it.
        |alloc, buffer| unsafe { alloc.destroy_buffer(buffer) },
    );
    assert!(
        made > 100,
        "the generator must reach valid descriptions too: {made}"
    );
}

#[test]
fn generated_image_descriptions_are_created_cleanly_or_refused_with_a_typed_error() {
    let made = run_descriptions(
        6000,
        image_desc(),
        |alloc, desc| alloc.create_image(desc),
        // SAFETY: no GPU work uses it.
        |alloc, image| unsafe { alloc.destroy_image(image) },
    );
    assert!(
        made > 30,
        "the generator must reach valid descriptions too: {made}"
    );
}
