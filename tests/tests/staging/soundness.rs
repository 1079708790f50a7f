//! What no safe call may do, one test per class of lie a hostile caller can tell: numbers the
//! ring would trust, host reads racing the GPU, states rewritten before they are checked,
//! recording twice, and overlapping uploads in one batch. Each asserts the typed error and that
//! nothing was lost: live allocations, the ring's space and the destination's bytes.
//!
//! GPU work that must still be running when the host calls in is held back by a gate: a
//! timeline semaphore the submission waits on and the test signals from the host when it is
//! done probing, so "in flight" does not depend on how fast the driver is.

use ash::vk;
use gpu_tests::Gpu;
use proptest::prelude::*;
use vkup_allocator::{Allocator, BufferDesc, ImageDesc, MipLevels};
use vkup_staging::{
    Access, BarrierBatch, BufferUpload, Error, ImageUpload, Progress, ResourceState, StagingRing,
    Timeline, UploadPath,
};

use crate::{pattern, read_back};

/// One submission held back until [`Gated::open`].
struct Gated<'a> {
    gpu: &'a Gpu,
    pool: vk::CommandPool,
    gate: Timeline,
    done: Timeline,
}

impl<'a> Gated<'a> {
    /// Records with `record` and submits, waiting on the gate and signalling `done` at 1.
    fn submit(gpu: &'a Gpu, record: impl FnOnce(vk::CommandBuffer)) -> Self {
        // SAFETY: the Gpu's device has timeline semaphores; destroyed in `open`.
        let (gate, done) = unsafe { (Timeline::new(&gpu.device), Timeline::new(&gpu.device)) };
        let (gate, done) = (gate.unwrap(), done.unwrap());
        let pool_info = vk::CommandPoolCreateInfo::default().queue_family_index(gpu.queue_family);
        // SAFETY: plain object creation and recording on the Gpu's device and queue; `open`
        // waits for the submission before destroying anything.
        unsafe {
            let pool = gpu.device.create_command_pool(&pool_info, None).unwrap();
            let alloc = vk::CommandBufferAllocateInfo::default()
                .command_pool(pool)
                .level(vk::CommandBufferLevel::PRIMARY)
                .command_buffer_count(1);
            let cmd = gpu.device.allocate_command_buffers(&alloc).unwrap()[0];
            let begin = vk::CommandBufferBeginInfo::default()
                .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT);
            gpu.device.begin_command_buffer(cmd, &begin).unwrap();
            record(cmd);
            gpu.device.end_command_buffer(cmd).unwrap();
            let cmds = [cmd];
            let (waits, wait_values) = ([gate.raw()], [1u64]);
            let (signals, signal_values) = ([done.raw()], [1u64]);
            let stages = [vk::PipelineStageFlags::ALL_COMMANDS];
            let mut values = vk::TimelineSemaphoreSubmitInfo::default()
                .wait_semaphore_values(&wait_values)
                .signal_semaphore_values(&signal_values);
            let submit = [vk::SubmitInfo::default()
                .command_buffers(&cmds)
                .wait_semaphores(&waits)
                .wait_dst_stage_mask(&stages)
                .signal_semaphores(&signals)
                .push_next(&mut values)];
            gpu.device
                .queue_submit(gpu.queue, &submit, vk::Fence::null())
                .unwrap();
            Self {
                gpu,
                pool,
                gate,
                done,
            }
        }
    }

    /// Lets the submission run and waits for it.
    fn open(self) -> Timeline {
        let signal = vk::SemaphoreSignalInfo::default()
            .semaphore(self.gate.raw())
            .value(1);
        // SAFETY: the gate is the test's own, and only the host signals it.
        unsafe { self.gpu.device.signal_semaphore(&signal) }.unwrap();
        assert!(
            self.done.wait(1, 10_000_000_000).unwrap(),
            "the GPU is done"
        );
        // SAFETY: the submission completed.
        unsafe {
            self.gpu.device.destroy_command_pool(self.pool, None);
            self.gate.destroy();
        }
        self.done
    }
}

fn vertex_buffer(alloc: &Allocator, size: u64) -> vkup_allocator::GpuBuffer {
    alloc
        .create_buffer(&BufferDesc::new(
            size,
            vk::BufferUsageFlags::VERTEX_BUFFER
                | vk::BufferUsageFlags::TRANSFER_DST
                | vk::BufferUsageFlags::TRANSFER_SRC,
        ))
        .unwrap()
}

/// The ring trusts no number: space a submission still reads comes back only when the timeline
/// it signals says so (read from the device), a span already submitted can no longer be written,
/// another timeline is refused, and values never go back. The upload in flight arrives whole.
#[test]
fn the_ring_trusts_no_number() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    const SIZE: usize = 1 << 20;
    let mut ring = StagingRing::new(&alloc, 2 * SIZE as u64).unwrap();
    let dst = vertex_buffer(&alloc, SIZE as u64);
    let data = pattern(SIZE, 7);
    let mut upload = BufferUpload::new(
        &dst,
        0,
        &data,
        ResourceState::UNDEFINED,
        Access::TransferRead.into(),
    )
    .unwrap()
    .path(UploadPath::Staged)
    .batch_bytes(SIZE as u64);
    let mut span = None;
    let gated = Gated::submit(&gpu, |cmd| {
        // SAFETY: recording on the Gpu's queue; the buffer and ring outlive the submission.
        let progress = unsafe { upload.record(cmd, &stager, &alloc, &mut ring) }.unwrap();
        assert!(matches!(progress, Progress::Done(_)));
        span = Some(ring.alloc(16, 1).unwrap());
    });
    let held = SIZE as u64 + 16;
    assert_eq!(ring.in_use(), held);
    let live = alloc.live_allocations().unwrap();

    // SAFETY: the Gpu's device has timeline semaphores.
    let ring_timeline = unsafe { Timeline::new(&gpu.device) }.unwrap();
    // SAFETY: the gated submission reads every span handed out so far; the test signals
    // `ring_timeline` at 5 only after that submission completed.
    unsafe { ring.submitted(&ring_timeline, 5) }.unwrap();
    // Reclaiming reads the counter (0): nothing comes back, however often it is asked.
    for _ in 0..3 {
        ring.reclaim(&ring_timeline).unwrap();
        assert_eq!(ring.in_use(), held);
    }
    assert_eq!(
        ring.alloc(2 * SIZE as u64, 1).unwrap(),
        None,
        "space in flight is not handed out again"
    );
    // A span handed out before `submitted` is the GPU's now: the host may not write it.
    assert!(matches!(
        ring.bytes_mut(span.flatten().unwrap()),
        Err(Error::StaleSpan)
    ));
    // Another timeline cannot free the space, and values never go back.
    // SAFETY: the Gpu's device has timeline semaphores.
    let other = unsafe { Timeline::new(&gpu.device) }.unwrap();
    assert!(matches!(ring.reclaim(&other), Err(Error::ForeignTimeline)));
    // SAFETY: refused before anything is marked.
    let foreign = unsafe { ring.submitted(&other, 6) };
    assert!(matches!(foreign, Err(Error::ForeignTimeline)));
    // SAFETY: as above.
    let back = unsafe { ring.submitted(&ring_timeline, 4) };
    assert!(matches!(
        back,
        Err(Error::TimelineRegressed { value: 4, last: 5 })
    ));
    assert_eq!(ring.in_use(), held);
    assert_eq!(alloc.live_allocations().unwrap(), live);

    let done = gated.open();
    let signal = vk::SemaphoreSignalInfo::default()
        .semaphore(ring_timeline.raw())
        .value(5);
    // SAFETY: the test's own timeline, signalled once the GPU work it names completed.
    unsafe { gpu.device.signal_semaphore(&signal) }.unwrap();
    ring.reclaim(&ring_timeline).unwrap();
    assert_eq!(
        ring.in_use(),
        0,
        "the space comes back once the timeline passed"
    );
    assert!(read_back(&gpu, &alloc, &dst, Access::TransferRead) == data);

    // A driver refuses, before it submits anything, a ring whose outstanding space its own
    // timeline names at a later value than it would signal: marking the ring after submitting
    // could then fail, and leave spans the GPU reads writable.
    let mut submitter = gpu.submitter();
    ring.alloc(16, 1).unwrap().unwrap();
    // SAFETY: nothing reads the span.
    unsafe { ring.submitted(submitter.timeline(), 1000) }.unwrap();
    let mut again = BufferUpload::new(
        &dst,
        0,
        &data,
        Access::TransferRead.into(),
        Access::TransferRead.into(),
    )
    .unwrap()
    .path(UploadPath::Staged);
    // SAFETY: on the Gpu's queue; everything outlives the call.
    let refused = unsafe {
        submitter.run(&mut ring, |cmd, ring| {
            again.record(cmd, &stager, &alloc, ring)
        })
    };
    assert!(
        matches!(
            refused,
            Err(Error::TimelineRegressed {
                value: 1,
                last: 1000
            })
        ),
        "{refused:?}"
    );
    assert_eq!(submitter.last_value(), 0, "nothing was submitted");
    assert_eq!(ring.in_use(), 16, "nothing was staged");
    // SAFETY: nothing uses them any more.
    unsafe {
        submitter.destroy().unwrap();
        done.destroy();
        other.destroy();
        ring_timeline.destroy();
        ring.destroy(&alloc);
        alloc.destroy_buffer(dst);
    }
}

/// Host reads cannot race the GPU: a readback refuses to be read before it is tied to its
/// submission, with another timeline, and while its copy has not completed; then it reads the
/// bytes whole.
#[test]
fn host_reads_cannot_race_the_gpu() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let src = vertex_buffer(&alloc, 4096);
    let mut ring = StagingRing::new(&alloc, 1 << 16).unwrap();
    let data = pattern(4096, 3);
    let mut submitter = gpu.submitter();
    // SAFETY: on the Gpu's queue; everything outlives the call, which waits.
    unsafe {
        let _ = submitter
            .run(&mut ring, |cmd, ring| {
                BufferUpload::new(
                    &src,
                    0,
                    &data,
                    ResourceState::UNDEFINED,
                    Access::TransferRead.into(),
                )?
                .record(cmd, &stager, &alloc, ring)
            })
            .unwrap();
    }
    let mut readback = None;
    let gated = Gated::submit(&gpu, |cmd| {
        let read = Access::TransferRead.into();
        // SAFETY: recording on the Gpu's queue; the source outlives the submission.
        let (r, _) =
            unsafe { stager.record_buffer_readback(cmd, &alloc, &src, 0..4096, read, read) }
                .unwrap();
        readback = Some(r);
    });
    let mut readback = readback.unwrap();
    let timeline = submitter.timeline();
    assert!(matches!(
        readback.read(&alloc, timeline),
        Err(Error::NotSubmitted)
    ));
    // SAFETY: a timeline the test signals only once the gated copy has completed.
    let copied = unsafe { Timeline::new(&gpu.device) }.unwrap();
    // SAFETY: as above.
    unsafe { readback.submitted(&copied, 1) };
    assert!(matches!(
        readback.read(&alloc, timeline),
        Err(Error::ForeignTimeline)
    ));
    assert!(matches!(
        readback.read(&alloc, &copied),
        Err(Error::NotComplete {
            value: 1,
            completed: 0
        })
    ));
    let done = gated.open();
    let signal = vk::SemaphoreSignalInfo::default()
        .semaphore(copied.raw())
        .value(1);
    // SAFETY: the test's own timeline, signalled after the copy completed.
    unsafe { gpu.device.signal_semaphore(&signal) }.unwrap();
    assert!(readback.read(&alloc, &copied).unwrap() == data);
    // SAFETY: nothing uses them any more.
    unsafe {
        readback.destroy(&alloc);
        done.destroy();
        copied.destroy();
        submitter.destroy().unwrap();
        ring.destroy(&alloc);
        alloc.destroy_buffer(src);
    }
}

/// States are checked before they are rewritten: an upload from a state owned by a queue family
/// the device lacks is refused by `adopt` (which would otherwise rewrite it into an acquire from
/// that family) and by `record`, for buffers and images alike, and nothing is recorded.
#[test]
fn states_are_checked_before_they_are_rewritten() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc).recording_family(gpu.queue_family);
    let families = stager.queue_families();
    let buffer = vertex_buffer(&alloc, 256);
    let image = alloc
        .create_image(
            &ImageDesc::texture_2d(vk::Format::R8G8B8A8_UNORM, 4, 4)
                .mip_levels(MipLevels::Count(1)),
        )
        .unwrap();
    let ring = std::cell::RefCell::new(StagingRing::new(&alloc, 1 << 16).unwrap());
    let data = pattern(256, 1);
    let live = alloc.live_allocations().unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    let family = prop_oneof![families..vk::QUEUE_FAMILY_IGNORED, Just(99)];
    runner
        .run(&(family, any::<bool>()), |(family, on_to)| {
            let foreign = ResourceState::new(Access::TransferRead).on_queue(family);
            let local: ResourceState = Access::TransferRead.into();
            let (from, to) = if on_to {
                (local, foreign)
            } else {
                (foreign, local)
            };
            let refused = |err: Error| matches!(err, Error::InvalidState { .. });
            let mut upload = BufferUpload::new(&buffer, 0, &data, from, to)
                .unwrap()
                .path(UploadPath::Staged);
            let mut acquire = BarrierBatch::new();
            prop_assert!(refused(upload.adopt(&stager, &mut acquire).unwrap_err()));
            prop_assert!(acquire.is_empty(), "nothing is rewritten into a barrier");
            // SAFETY: refused before the null command buffer is touched.
            let err = unsafe {
                upload.record(
                    vk::CommandBuffer::null(),
                    &stager,
                    &alloc,
                    &mut ring.borrow_mut(),
                )
            }
            .unwrap_err();
            prop_assert!(refused(err));
            let texels = pattern(64, 2);
            let err = ImageUpload::packed(&stager, &image, &texels, 1, from, to).unwrap_err();
            prop_assert!(refused(err));
            prop_assert_eq!(ring.borrow().in_use(), 0);
            prop_assert_eq!(alloc.live_allocations().unwrap(), live);
            Ok(())
        })
        .unwrap();
    // SAFETY: nothing was submitted.
    unsafe {
        ring.into_inner().destroy(&alloc);
        alloc.destroy_image(image);
        alloc.destroy_buffer(buffer);
    }
}

/// Recording twice: an upload that returned `Done` refuses to record again (its closing barrier
/// would be recorded twice), and uploads begun into one batch that write the same bytes or
/// subresources are refused, where disjoint ones are not. Checked against a generated pair of
/// buffer ranges; the image case names the same level twice.
#[test]
fn recording_twice_is_refused() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let buffer = vertex_buffer(&alloc, 4096);
    let image = alloc
        .create_image(&ImageDesc::texture_2d(vk::Format::R8G8B8A8_UNORM, 16, 16))
        .unwrap();
    let mut ring = StagingRing::new(&alloc, 1 << 16).unwrap();
    let sampled: ResourceState = Access::FragmentShaderSampledRead.into();
    let texels = pattern(16 * 16 * 4, 5);
    let bytes = pattern(4096, 6);
    let mut buffer_upload = BufferUpload::new(
        &buffer,
        0,
        &bytes,
        ResourceState::UNDEFINED,
        Access::VertexBuffer.into(),
    )
    .unwrap()
    .path(UploadPath::Staged);
    let mut image_upload = ImageUpload::packed(
        &stager,
        &image,
        &texels,
        1,
        ResourceState::UNDEFINED,
        sampled,
    )
    .unwrap();
    let value = gpu.submit_and_wait(|cmd| {
        // SAFETY: recording on the Gpu's queue; everything outlives the wait.
        unsafe {
            let done = image_upload
                .record(cmd, &stager, &alloc, &mut ring)
                .unwrap();
            assert!(matches!(done, Progress::Done(_)));
            let again = image_upload.record(cmd, &stager, &alloc, &mut ring);
            assert!(matches!(again, Err(Error::AlreadyFinished)));
            let done = buffer_upload
                .record(cmd, &stager, &alloc, &mut ring)
                .unwrap();
            assert!(matches!(done, Progress::Done(_)));
            let again = buffer_upload.record(cmd, &stager, &alloc, &mut ring);
            assert!(matches!(again, Err(Error::AlreadyFinished)));
            let mut post = BarrierBatch::new();
            let again = buffer_upload.record_copies(cmd, &stager, &alloc, &mut ring, &mut post);
            assert!(matches!(again, Err(Error::AlreadyFinished)));
            assert!(post.is_empty());
        }
        assert!(matches!(
            image_upload.begin(&mut BarrierBatch::new()),
            Err(Error::AlreadyFinished)
        ));
    });
    // SAFETY: the submission that signalled `value` read the ring, and completed.
    unsafe { ring.submitted(gpu.timeline(), value) }.unwrap();
    ring.reclaim(gpu.timeline()).unwrap();

    // Two uploads into level 0 of one image in one batch.
    let upload = || {
        ImageUpload::packed(&stager, &image, &texels, 1, sampled, sampled)
            .unwrap()
            .listed_subresources_only()
    };
    let mut pre = BarrierBatch::new();
    upload().begin(&mut pre).unwrap();
    assert!(matches!(
        upload().begin(&mut pre),
        Err(Error::Overlap {
            kind: vkup_staging::ResourceKind::Image
        })
    ));
    assert_eq!(
        pre.image_barriers().len(),
        1,
        "the refused upload added no barrier"
    );

    // Generated buffer ranges: refused exactly when they share a byte.
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(256));
    let range = (0u64..4096).prop_flat_map(|start| (Just(start), 1..=4096 - start));
    runner
        .run(&(range.clone(), range), |((a, a_len), (b, b_len))| {
            let mut pre = BarrierBatch::new();
            let begin = |offset: u64, len: u64, pre: &mut BarrierBatch| {
                BufferUpload::new(
                    &buffer,
                    offset,
                    &bytes[..len as usize],
                    Access::VertexBuffer.into(),
                    Access::VertexBuffer.into(),
                )
                .unwrap()
                .path(UploadPath::Staged)
                .begin(pre)
            };
            begin(a, a_len, &mut pre).unwrap();
            let overlap = a < b + b_len && b < a + a_len;
            match begin(b, b_len, &mut pre) {
                Ok(()) => prop_assert!(!overlap, "{a}+{a_len} and {b}+{b_len} overlap"),
                Err(Error::Overlap { kind }) => {
                    prop_assert!(overlap, "{a}+{a_len} and {b}+{b_len} are disjoint");
                    prop_assert_eq!(kind, vkup_staging::ResourceKind::Buffer);
                    prop_assert_eq!(pre.buffer_barriers().len(), 1);
                }
                Err(err) => prop_assert!(false, "{err}"),
            }
            Ok(())
        })
        .unwrap();
    assert!(read_back(&gpu, &alloc, &buffer, Access::VertexBuffer) == bytes);
    // SAFETY: every submission completed.
    unsafe {
        ring.destroy(&alloc);
        alloc.destroy_image(image);
        alloc.destroy_buffer(buffer);
    }
}

/// A target description cannot lie: targets from the allocator's handles carry the handle's own
/// description (a raw handle's claim is an `unsafe` constructor: see the `compile_fail` doctests
/// in `vkup_staging::target`), so subresources, sizes and data lengths past the real image are typed
/// errors, generated over the image's edges, with nothing allocated or staged.
#[test]
fn a_target_description_cannot_lie() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let image = alloc
        .create_image(
            &ImageDesc::texture_2d(vk::Format::R8G8B8A8_UNORM, 8, 8)
                .array_layers(2)
                .mip_levels(MipLevels::Count(2)),
        )
        .unwrap();
    let target = vkup_staging::ImageTarget::from(&image);
    assert_eq!(
        (target.mip_levels(), target.array_layers(), target.format()),
        (2, 2, vk::Format::R8G8B8A8_UNORM)
    );
    assert_eq!(target.extent(), image.extent());
    let small = vertex_buffer(&alloc, 256);
    let live = alloc.live_allocations().unwrap();
    let bytes = pattern(4096, 9);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(128));
    runner
        .run(
            &(0u32..6, 0u32..6, 0u64..600, 1usize..600),
            |(level, layer, offset, len)| {
                let layout = vkup_staging::SubresourceLayout {
                    level,
                    layer,
                    offset: 0,
                    row_pitch: 0,
                    slice_pitch: 0,
                };
                let from = ResourceState::UNDEFINED;
                let to = Access::FragmentShaderSampledRead.into();
                let data = &bytes[..256];
                let result = ImageUpload::new(&stager, &image, data, &[layout], from, to);
                match result {
                    Ok(_) => prop_assert!(level < 2 && layer < 2),
                    Err(Error::InvalidSubresource { levels, layers, .. }) => {
                        prop_assert!(level >= 2 || layer >= 2);
                        prop_assert_eq!((levels, layers), (2, 2));
                    }
                    Err(Error::InvalidSource { field: "data", .. }) => {
                        prop_assert!(level == 0, "level 1 (4x4) fits in 256 bytes");
                    }
                    Err(err) => prop_assert!(false, "{err}"),
                }
                let upload = BufferUpload::new(
                    &small,
                    offset,
                    &bytes[..len],
                    ResourceState::UNDEFINED,
                    Access::VertexBuffer.into(),
                );
                let fits = offset + len as u64 <= 256;
                match upload {
                    Ok(_) => prop_assert!(fits),
                    Err(Error::InvalidSource {
                        field: "dst_offset",
                        ..
                    }) => prop_assert!(!fits),
                    Err(err) => prop_assert!(false, "{err}"),
                }
                prop_assert_eq!(alloc.live_allocations().unwrap(), live);
                Ok(())
            },
        )
        .unwrap();
    // SAFETY: nothing was submitted with them.
    unsafe {
        alloc.destroy_buffer(small);
        alloc.destroy_image(image);
    }
}
