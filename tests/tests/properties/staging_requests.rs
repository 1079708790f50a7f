//! Generated staging requests: uploads, readbacks and mip generation with any sizes, offsets,
//! pitches, levels, layers, paths, budgets, ring sizes and states (queue families included),
//! chained on one resource so each request starts from the state the last one really left.
//!
//! A CPU shadow of the resource follows every successful request, and every successful readback
//! is compared with it: success must also be correct.

use ash::vk;
use gpu_tests::Gpu;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use vkup_allocator::{
    Allocator, BufferDesc, GpuBuffer, GpuImage, ImageDesc, MemoryIntent, MipLevels,
};
use vkup_staging::{
    Access, BufferUpload, ImageUpload, MipMethod, MipOptions, Progress, ResourceState, Stager,
    StagingRing, Submitter, SubresourceLayout, UploadPath,
};

/// A state to leave a resource in: any access, on no family, ours, or one the device lacks.
#[derive(Clone, Copy, Debug)]
struct StateGen {
    access: usize,
    family: u8,
}

impl StateGen {
    fn resolve(self, ours: u32, families: u32) -> ResourceState {
        let state = ResourceState::new(Access::ALL[self.access]);
        match self.family {
            0..=3 => state,
            4..=6 => state.on_queue(ours),
            7 => state.on_queue(families),
            _ => state.on_queue(1000),
        }
    }
}

fn state() -> impl Strategy<Value = StateGen> {
    // Half the time one of the accesses uploads usually end in (transfer, sampled, storage).
    let access = prop_oneof![
        1 => 0..Access::ALL.len(),
        1 => prop::sample::select(vec![1usize, 2, 10, 12, 15, 21]),
    ];
    (access, 0u8..9).prop_map(|(access, family)| StateGen { access, family })
}

#[derive(Clone, Debug)]
enum BufferOp {
    Upload {
        offset: u64,
        len: usize,
        seed: u8,
        path: UploadPath,
        batch: Option<u64>,
        to: StateGen,
    },
    Readback {
        start: u64,
        end: u64,
        to: StateGen,
    },
}

fn offset_in(size: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => 0..=size / 2,
        2 => 0..=size,
        1 => size..size + 64,
        1 => (u64::MAX - 64)..=u64::MAX,
    ]
}

fn buffer_op(size: u64) -> impl Strategy<Value = BufferOp> {
    let path = prop_oneof![
        Just(UploadPath::Auto),
        Just(UploadPath::Direct),
        Just(UploadPath::Staged)
    ];
    prop_oneof![
        2 => (
            offset_in(size),
            prop_oneof![4 => 0..=(size / 2) as usize, 1 => 0usize..5000],
            any::<u8>(),
            path,
            prop::option::of(prop_oneof![1u64..64, 1u64..100_000, Just(u64::MAX)]),
            state()
        )
            .prop_map(|(offset, len, seed, path, batch, to)| BufferOp::Upload {
                offset,
                len,
                seed,
                path,
                batch,
                to
            }),
        1 => (offset_in(size), prop_oneof![4 => 0..=size / 2, 1 => any::<u64>()], state())
            .prop_map(|(start, len, to)| BufferOp::Readback { start, end: start.saturating_add(len), to }),
    ]
}

#[derive(Clone, Debug)]
struct BufferCase {
    size: u64,
    usage: u32,
    memory: MemoryIntent,
    ring: u64,
    ops: Vec<BufferOp>,
}

fn buffer_case() -> impl Strategy<Value = BufferCase> {
    (
        1u64..4096,
        prop::sample::subsequence(vec![0x1u32, 0x2, 0x20, 0x80], 1..=4),
        prop::sample::select(vec![
            MemoryIntent::GpuOnly,
            MemoryIntent::Upload,
            MemoryIntent::Readback,
            MemoryIntent::CpuToGpu,
        ]),
        prop::sample::select(vec![16u64, 256, 4096, 1 << 16]),
    )
        .prop_flat_map(|(size, usage, memory, ring)| {
            prop::collection::vec(buffer_op(size), 1..5).prop_map(move |ops| BufferCase {
                size,
                usage: usage.iter().fold(0, |a, b| a | b),
                memory,
                ring,
                ops,
            })
        })
}

/// Everything a case runs against, shared across cases.
struct Rig {
    gpu: Gpu,
    alloc: Allocator,
    stager: Stager,
    submitter: Submitter,
    mips: vkup_staging::MipGenerator,
}

impl Rig {
    fn new() -> Self {
        let gpu = Gpu::new();
        let alloc = gpu.allocator();
        let stager = gpu.stager(&alloc).threads(1);
        let submitter = gpu.submitter();
        let mips = gpu.mip_generator(&alloc);
        Self {
            gpu,
            alloc,
            stager,
            submitter,
            mips,
        }
    }

    fn families(&self) -> (u32, u32) {
        (self.gpu.queue_family, self.stager.queue_families())
    }
}

/// Runs one request through the submitter. An error must come before anything was submitted
/// (the resource is then still in its old state).
fn run(
    submitter: &mut Submitter,
    ring: &mut StagingRing,
    record: impl FnMut(vk::CommandBuffer, &mut StagingRing) -> vkup_staging::Result<Progress>,
) -> Result<vkup_staging::Result<ResourceState>, TestCaseError> {
    let before = submitter.last_value();
    // SAFETY: what the closures record is valid on the Gpu's queue (the library's checks are
    // what is under test); every resource outlives the call, which waits.
    let result = unsafe { submitter.run(ring, record) };
    if result.is_err() {
        prop_assert_eq!(
            submitter.last_value(),
            before,
            "an error after submissions: {:?}",
            result.as_ref().err()
        );
    }
    Ok(result.map(|finished| finished.state))
}

fn check_messages(gpu: &Gpu, what: &str) -> Result<(), TestCaseError> {
    let messages = gpu.take_messages();
    prop_assert!(
        messages.is_empty(),
        "{}: validation said:\n{}",
        what,
        messages.join("\n")
    );
    Ok(())
}

/// With PROPERTY_LOG set, prints each request's outcome (to see what the generator reaches).
fn log<T>(result: &vkup_staging::Result<T>) {
    if std::env::var_os("PROPERTY_LOG").is_some() {
        match result {
            Ok(_) => eprintln!("outcome: ok"),
            Err(err) => eprintln!("outcome: {err}"),
        }
    }
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(197).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

fn buffer_case_runs(rig: &mut Rig, case: &BufferCase) -> Result<(), TestCaseError> {
    let (ours, families) = rig.families();
    let desc =
        BufferDesc::new(case.size, vk::BufferUsageFlags::from_raw(case.usage)).memory(case.memory);
    let live = rig.alloc.live_allocations().unwrap();
    let mut buffer: GpuBuffer = rig.alloc.create_buffer(&desc).unwrap();
    let mut ring = StagingRing::new(&rig.alloc, case.ring).unwrap();
    let mut shadow: Vec<Option<u8>> = vec![None; case.size as usize];
    let mut state = ResourceState::UNDEFINED;
    for op in &case.ops {
        match op {
            BufferOp::Upload {
                offset,
                len,
                seed,
                path,
                batch,
                to,
            } => {
                let to = to.resolve(ours, families);
                let bytes = data(*len, *seed);
                let from = state;
                let (stager, alloc) = (rig.stager.clone(), &rig.alloc);
                let upload = BufferUpload::new(&mut buffer, *offset, &bytes, from, to);
                let result = match upload {
                    Err(err) => Err(err),
                    Ok(upload) => {
                        let mut upload = upload.path(*path);
                        if let Some(batch) = batch {
                            upload = upload.batch_bytes(*batch);
                        }
                        // The direct path writes now: the GPU must be done (the submitter waits
                        // at the end of each request, so it is).
                        run(&mut rig.submitter, &mut ring, |cmd, ring| {
                            // SAFETY: see `Rig::run`.
                            unsafe { upload.record(cmd, &stager, alloc, ring) }
                        })?
                    }
                };
                log(&result);
                if let Ok(left) = result {
                    prop_assert_eq!(left, to);
                    state = to;
                    for (i, b) in bytes.iter().enumerate() {
                        shadow[*offset as usize + i] = Some(*b);
                    }
                }
            }
            BufferOp::Readback { start, end, to } => {
                let to = to.resolve(ours, families);
                let mut readback = None;
                let (stager, alloc, src) = (rig.stager.clone(), &rig.alloc, &buffer);
                let from = state;
                let result = run(&mut rig.submitter, &mut ring, |cmd, _| {
                    // SAFETY: see `Rig::run`.
                    let (r, done) = unsafe {
                        stager.record_buffer_readback(cmd, alloc, src, *start..*end, from, to)
                    }?;
                    readback = Some(r);
                    Ok(Progress::Done(done))
                })?;
                log(&result);
                if let (Ok(left), Some(mut r)) = (&result, readback.take()) {
                    prop_assert_eq!(*left, to);
                    state = to;
                    let timeline = rig.submitter.timeline();
                    // SAFETY: `run` waited for its last submission, which copied into it.
                    unsafe { r.submitted(timeline, rig.submitter.last_value()) };
                    let got = r.read(&rig.alloc, timeline).unwrap();
                    for (i, g) in got.iter().enumerate() {
                        if let Some(want) = shadow[*start as usize + i] {
                            prop_assert_eq!(
                                *g,
                                want,
                                "byte {} of the readback",
                                *start as usize + i
                            );
                        }
                    }
                    // SAFETY: the submission completed.
                    unsafe { r.destroy(&rig.alloc) };
                } else if let Some(r) = readback {
                    // SAFETY: recorded but never submitted.
                    unsafe { r.destroy(&rig.alloc) };
                }
            }
        }
        check_messages(&rig.gpu, &format!("{op:?} on {case:?}"))?;
    }
    // SAFETY: every submission completed.
    unsafe {
        ring.destroy(&rig.alloc);
        rig.alloc.destroy_buffer(buffer);
    }
    prop_assert_eq!(rig.alloc.live_allocations().unwrap(), live);
    Ok(())
}

#[test]
fn generated_buffer_requests_are_correct_or_refused_with_a_typed_error() {
    let rig = std::cell::RefCell::new(Rig::new());
    super::runner(1500)
        .run(&buffer_case(), |case| {
            buffer_case_runs(&mut rig.borrow_mut(), &case)
        })
        .unwrap();
    // SAFETY: nothing is pending.
    unsafe { teardown(rig.into_inner()) };
}

/// Destroys the rig's objects, the Gpu last.
///
/// # Safety
/// Nothing is pending.
unsafe fn teardown(rig: Rig) {
    let Rig {
        gpu,
        alloc,
        submitter,
        mips,
        ..
    } = rig;
    // SAFETY: forwarded.
    unsafe {
        submitter.destroy().unwrap();
        mips.destroy();
    }
    drop(alloc);
    drop(gpu);
}

#[derive(Clone, Debug)]
enum ImageOp {
    Packed {
        levels: u32,
        extra: i8,
        batch: u64,
        seed: u8,
        to: StateGen,
    },
    Layouts {
        subresources: Vec<(u32, u32, u64, u64, u64)>,
        len_delta: i32,
        batch: u64,
        seed: u8,
        to: StateGen,
    },
    Readback {
        to: StateGen,
    },
    Mips {
        base: u32,
        method: MipMethod,
        to: StateGen,
    },
}

/// `batch` bytes per record call (`u64::MAX`: the upload's default, half the ring), so that cuts
/// land at generated rows.
fn batched(upload: ImageUpload<'_>, batch: u64) -> ImageUpload<'_> {
    if batch == u64::MAX {
        upload
    } else {
        upload.batch_bytes(batch)
    }
}

fn image_op() -> impl Strategy<Value = ImageOp> {
    let batch = prop_oneof![16u64..512, 512u64..(1 << 16), Just(u64::MAX)];
    let method = prop_oneof![
        Just(MipMethod::Auto),
        Just(MipMethod::Blit),
        Just(MipMethod::Compute)
    ];
    let subresource = (
        prop_oneof![4 => 0u32..3, 1 => 0u32..8],
        prop_oneof![4 => 0u32..2, 1 => 0u32..5],
        prop_oneof![0u64..64, Just(u64::MAX - 3)],
        prop_oneof![Just(0u64), 0u64..300, Just(u64::MAX / 2)],
        prop_oneof![Just(0u64), 0u64..5000],
    );
    prop_oneof![
        3 => (
            prop_oneof![4 => 1u32..=3, 1 => 0u32..8],
            prop_oneof![4 => Just(0i8), 1 => -2i8..=2],
            batch.clone(),
            any::<u8>(),
            state()
        ).prop_map(
            |(levels, extra, batch, seed, to)| ImageOp::Packed { levels, extra, batch, seed, to }
        ),
        2 => (
            prop::collection::vec(subresource, 0..4),
            -8i32..64,
            batch,
            any::<u8>(),
            state()
        )
            .prop_map(|(subresources, len_delta, batch, seed, to)| ImageOp::Layouts {
                subresources,
                len_delta,
                batch,
                seed,
                to
            }),
        2 => state().prop_map(|to| ImageOp::Readback { to }),
        2 => (0u32..8, method, state()).prop_map(|(base, method, to)| ImageOp::Mips { base, method, to }),
    ]
}

#[derive(Clone, Debug)]
struct ImageCase {
    format: vk::Format,
    extent: (u32, u32, u32),
    three_d: bool,
    levels: MipLevels,
    layers: u32,
    usage: u32,
    samples: u32,
    ring: u64,
    ops: Vec<ImageOp>,
}

fn image_case() -> impl Strategy<Value = ImageCase> {
    use vk::ImageUsageFlags as U;
    (
        prop::sample::select(vec![
            vk::Format::R8G8B8A8_UNORM,
            vk::Format::R8G8B8A8_SRGB,
            vk::Format::R16G16B16A16_SFLOAT,
            vk::Format::R8_UNORM,
            vk::Format::R32G32B32A32_SFLOAT,
            vk::Format::D32_SFLOAT,
            vk::Format::BC1_RGBA_UNORM_BLOCK,
            vk::Format::R8G8B8A8_UINT,
        ]),
        (1u32..40, 1u32..40, 1u32..4, prop::bool::weighted(0.15)),
        prop_oneof![Just(MipLevels::Full), (1u32..4).prop_map(MipLevels::Count)],
        1u32..4,
        prop_oneof![
            3 => Just(vec![U::TRANSFER_DST | U::TRANSFER_SRC | U::SAMPLED]),
            1 => Just(vec![U::TRANSFER_DST | U::TRANSFER_SRC | U::SAMPLED | U::STORAGE]),
            2 => prop::sample::subsequence(
                vec![
                    U::TRANSFER_DST,
                    U::TRANSFER_SRC,
                    U::SAMPLED,
                    U::STORAGE,
                    U::COLOR_ATTACHMENT,
                ],
                1..=5,
            ),
        ],
        prop::sample::select(vec![1u32, 1, 1, 1, 4]),
        prop::sample::select(vec![256u64, 4096, 1 << 16, 1 << 20]),
        prop::collection::vec(image_op(), 1..5),
    )
        .prop_map(
            |(format, (w, h, d, three_d), levels, layers, usage, samples, ring, ops)| ImageCase {
                format,
                extent: (w, h, d),
                three_d,
                levels,
                layers,
                usage: usage.iter().fold(0, |a, u| a | u.as_raw()),
                samples,
                ring,
                ops,
            },
        )
}

/// Tight bytes of each subresource `(level, layer)` known to hold uploaded data.
type ImageShadow = std::collections::HashMap<(u32, u32), Vec<u8>>;

/// The tight bytes of subresource `layout` in `data` (the planner's rules, on the CPU).
fn tight(image: &GpuImage, layout: &SubresourceLayout, data: &[u8]) -> Vec<u8> {
    let block = vkup_staging::block_info(image.format()).unwrap();
    let e = image.level_extent(layout.level);
    let row = block.row_bytes(e.width);
    let rows = u64::from(block.blocks_high(e.height));
    let pitch = if layout.row_pitch == 0 {
        row
    } else {
        layout.row_pitch
    };
    let slice = if layout.slice_pitch == 0 {
        pitch * rows
    } else {
        layout.slice_pitch
    };
    let mut out = Vec::new();
    for z in 0..u64::from(e.depth) {
        for y in 0..rows {
            let start = (layout.offset + z * slice + y * pitch) as usize;
            out.extend_from_slice(&data[start..start + row as usize]);
        }
    }
    out
}

fn image_case_runs(rig: &mut Rig, case: &ImageCase) -> Result<(), TestCaseError> {
    let (ours, families) = rig.families();
    let (w, h, d) = case.extent;
    let mut desc = if case.three_d {
        ImageDesc::new_3d(case.format, w, h, d)
    } else {
        ImageDesc::new_2d(case.format, w, h).array_layers(case.layers)
    };
    desc = desc
        .mip_levels(case.levels)
        .samples(case.samples)
        .usage(vk::ImageUsageFlags::from_raw(case.usage));
    if case.format == vk::Format::R8G8B8A8_SRGB {
        desc =
            desc.flags(vk::ImageCreateFlags::MUTABLE_FORMAT | vk::ImageCreateFlags::EXTENDED_USAGE);
    }
    let live = rig.alloc.live_allocations().unwrap();
    let image = match rig.alloc.create_image(&desc) {
        Ok(image) => image,
        Err(_) => {
            // Not every combination exists (MSAA 3D, BC1 with STORAGE, ...): refused cleanly.
            check_messages(&rig.gpu, &format!("creating {case:?}"))?;
            return Ok(());
        }
    };
    let mut ring = StagingRing::new(&rig.alloc, case.ring).unwrap();
    let mut shadow = ImageShadow::new();
    let mut state = ResourceState::UNDEFINED;
    for op in &case.ops {
        let from = state;
        let (stager, alloc, img) = (rig.stager.clone(), &rig.alloc, &image);
        match op {
            ImageOp::Packed {
                levels,
                extra,
                batch,
                seed,
                to,
            } => {
                let to = to.resolve(ours, families);
                let full = vkup_staging::packed_layouts(img, (*levels).clamp(1, img.mip_levels()))
                    .map(|(_, len)| len)
                    .unwrap_or(64);
                let len = (full as i64 + i64::from(*extra)).max(0) as usize;
                let bytes = data(len, *seed);
                let upload = ImageUpload::packed(&stager, img, &bytes, *levels, from, to)
                    .map(|upload| batched(upload, *batch));
                let result = match upload {
                    Err(err) => Err(err),
                    Ok(mut upload) => run(&mut rig.submitter, &mut ring, |cmd, ring| {
                        // SAFETY: see `Rig::run`.
                        unsafe { upload.record(cmd, &stager, alloc, ring) }
                    })?,
                };
                log(&result);
                if let Ok(left) = result {
                    prop_assert_eq!(left, to);
                    state = to;
                    let (layouts, _) = vkup_staging::packed_layouts(img, *levels).unwrap();
                    for layout in &layouts {
                        shadow.insert((layout.level, layout.layer), tight(img, layout, &bytes));
                    }
                }
            }
            ImageOp::Layouts {
                subresources,
                len_delta,
                batch,
                seed,
                to,
            } => {
                let to = to.resolve(ours, families);
                let layouts: Vec<SubresourceLayout> = subresources
                    .iter()
                    .map(
                        |&(level, layer, offset, row_pitch, slice_pitch)| SubresourceLayout {
                            level,
                            layer,
                            offset,
                            row_pitch,
                            slice_pitch,
                        },
                    )
                    .collect();
                // Enough data for the largest layout (when it is sane), give or take.
                let needed = layouts
                    .iter()
                    .filter(|l| {
                        l.level < img.mip_levels() && l.offset < 1 << 20 && l.row_pitch < 1 << 20
                    })
                    .map(|l| {
                        let e = img.level_extent(l.level);
                        let block =
                            vkup_staging::block_info(img.format()).map_or(4, |b| b.bytes) as u64;
                        l.offset
                            + (l.row_pitch.max(u64::from(e.width) * block) + l.slice_pitch)
                                * u64::from(e.height.max(1) * e.depth.max(1))
                    })
                    .max()
                    .unwrap_or(0);
                let len = (needed as i64 + i64::from(*len_delta)).clamp(0, 4 << 20) as usize;
                let bytes = data(len, *seed);
                let upload = ImageUpload::new(&stager, img, &bytes, &layouts, from, to)
                    .map(|upload| batched(upload, *batch));
                let result = match upload {
                    Err(err) => Err(err),
                    Ok(mut upload) => run(&mut rig.submitter, &mut ring, |cmd, ring| {
                        // SAFETY: see `Rig::run`.
                        unsafe { upload.record(cmd, &stager, alloc, ring) }
                    })?,
                };
                log(&result);
                if let Ok(left) = result {
                    prop_assert_eq!(left, to);
                    state = to;
                    for layout in &layouts {
                        shadow.insert((layout.level, layout.layer), tight(img, layout, &bytes));
                    }
                }
            }
            ImageOp::Readback { to } => {
                let to = to.resolve(ours, families);
                let mut readback = None;
                let result = run(&mut rig.submitter, &mut ring, |cmd, _| {
                    // SAFETY: see `Rig::run`.
                    let (r, done) =
                        unsafe { stager.record_image_readback(cmd, alloc, img, from, to) }?;
                    readback = Some(r);
                    Ok(Progress::Done(done))
                })?;
                log(&result);
                if let (Ok(left), Some(mut r)) = (&result, readback.take()) {
                    prop_assert_eq!(*left, to);
                    state = to;
                    let timeline = rig.submitter.timeline();
                    // SAFETY: `run` waited for its last submission, which copied into it.
                    unsafe { r.submitted(timeline, rig.submitter.last_value()) };
                    for ((level, layer), want) in &shadow {
                        let got = r.read(&rig.alloc, timeline, *level, *layer).unwrap();
                        let same = if img.format() == vk::Format::D32_SFLOAT {
                            true // depth copies may clamp or canonicalise arbitrary bits
                        } else {
                            &got == want
                        };
                        prop_assert!(
                            same,
                            "level {} layer {} differs after readback",
                            level,
                            layer
                        );
                    }
                    // SAFETY: the submission completed.
                    unsafe { r.destroy(&rig.alloc) };
                } else if let Some(r) = readback {
                    // SAFETY: never submitted.
                    unsafe { r.destroy(&rig.alloc) };
                }
            }
            ImageOp::Mips { base, method, to } => {
                let to = to.resolve(ours, families);
                let mut scratch = None;
                let mips = &rig.mips;
                let options = MipOptions::default().base_level(*base).method(*method);
                let result = {
                    let before = rig.submitter.last_value();
                    // SAFETY: see `Rig::run`.
                    let result = unsafe {
                        rig.submitter.run(&mut ring, |cmd, _| {
                            let (done, s) = mips.record(cmd, img, from, to, options)?;
                            scratch = Some(s);
                            Ok(Progress::Done(done))
                        })
                    };
                    if result.is_err() {
                        prop_assert_eq!(rig.submitter.last_value(), before);
                    }
                    result.map(|f| f.state)
                };
                if let Some(s) = scratch {
                    // SAFETY: completed, or never submitted.
                    unsafe { s.destroy(&rig.gpu.device) };
                }
                log(&result);
                if let Ok(left) = result {
                    prop_assert_eq!(left, to);
                    state = to;
                    // Levels above the base now hold filtered data, not what was uploaded.
                    shadow.retain(|(level, _), _| *level <= *base);
                }
            }
        }
        check_messages(&rig.gpu, &format!("{op:?} on {case:?}"))?;
    }
    // SAFETY: every submission completed.
    unsafe {
        ring.destroy(&rig.alloc);
        rig.alloc.destroy_image(image);
    }
    prop_assert_eq!(rig.alloc.live_allocations().unwrap(), live);
    Ok(())
}

#[test]
fn generated_image_requests_are_correct_or_refused_with_a_typed_error() {
    let rig = std::cell::RefCell::new(Rig::new());
    super::runner(1000)
        .run(&image_case(), |case| {
            image_case_runs(&mut rig.borrow_mut(), &case)
        })
        .unwrap();
    // SAFETY: nothing is pending.
    unsafe { teardown(rig.into_inner()) };
}
