//! The edges issue 7 found: each defect, and what now happens instead.

use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::{BufferDesc, ImageDesc};
use vkup_staging::{
    Access, BufferUpload, Error, ImageUpload, Progress, ResourceState, StagingRing,
};

use crate::pattern;

const RGBA: vk::Format = vk::Format::R8G8B8A8_UNORM;

#[test]
fn an_empty_upload_at_the_buffers_end_records_nothing_and_is_done() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let mut ring = StagingRing::new(&alloc, 4096).unwrap();
    let mut buffer = alloc.create_buffer(&BufferDesc::vertex(64)).unwrap();
    gpu.submit_and_wait(|cmd| {
        let mut upload = BufferUpload::new(
            &mut buffer,
            64,
            &[],
            ResourceState::UNDEFINED,
            Access::VertexBuffer.into(),
        )
        .unwrap();
        // SAFETY: `cmd` is recording on the Gpu's queue; buffer and ring outlive the submission.
        let progress = unsafe { upload.record(cmd, &stager, &alloc, &mut ring) }.unwrap();
        assert!(matches!(progress, Progress::Done(_)));
    });
    assert_eq!(ring.in_use(), 0);
    // SAFETY: the submission completed.
    unsafe {
        ring.destroy(&alloc);
        alloc.destroy_buffer(buffer);
    }
}

#[test]
fn a_ring_too_small_is_reported_before_anything_is_recorded_and_a_retry_is_correct() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let image = alloc
        .create_image(
            &ImageDesc::texture_2d(RGBA, 64, 64).mip_levels(vkup_allocator::MipLevels::ONE),
        )
        .unwrap();
    let data = pattern(64 * 64 * 4, 7);
    // Smaller than one row of 64 RGBA8 texels: not even a cut piece fits.
    let mut small = StagingRing::new(&alloc, 128).unwrap();
    let mut big = StagingRing::new(&alloc, 1 << 20).unwrap();
    let undefined = ResourceState::UNDEFINED;
    let sampled = Access::FragmentShaderSampledRead.into();
    let mut upload = ImageUpload::packed(&stager, &image, &data, 1, undefined, sampled).unwrap();
    assert_eq!(upload.min_ring_size(), 64 * 4);
    gpu.submit_and_wait(|cmd| {
        // SAFETY: recording on the Gpu's queue; image and rings outlive the submission.
        let err = unsafe { upload.record(cmd, &stager, &alloc, &mut small) }.unwrap_err();
        assert!(
            matches!(
                err,
                Error::RingTooSmall {
                    needed: 256,
                    capacity: 128
                }
            ),
            "{err}"
        );
        assert_eq!(small.in_use(), 0, "the failed call took no ring space");
        // The retry records the first barrier too: validation would see UNDEFINED otherwise.
        // SAFETY: as above.
        let progress = unsafe { upload.record(cmd, &stager, &alloc, &mut big) }.unwrap();
        assert!(matches!(progress, Progress::Done(_)));
    });
    // SAFETY: the submission completed.
    unsafe {
        small.destroy(&alloc);
        big.destroy(&alloc);
        alloc.destroy_image(image);
    }
}

#[test]
fn multisampled_images_are_refused_for_upload_and_readback() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let image = alloc
        .create_image(&ImageDesc::new_2d(RGBA, 8, 8).samples(4).usage(
            vk::ImageUsageFlags::COLOR_ATTACHMENT
                | vk::ImageUsageFlags::TRANSFER_DST
                | vk::ImageUsageFlags::TRANSFER_SRC,
        ))
        .unwrap();
    let data = [0u8; 256];
    let to = Access::TransferRead.into();
    let err =
        ImageUpload::packed(&stager, &image, &data, 1, ResourceState::UNDEFINED, to).unwrap_err();
    assert!(matches!(err, Error::Multisampled { .. }), "{err}");
    let live = alloc.live_allocations().unwrap();
    // SAFETY: refused before recording; the null command buffer is never used.
    let err =
        unsafe { stager.record_image_readback(vk::CommandBuffer::null(), &alloc, &image, to, to) }
            .unwrap_err();
    assert!(matches!(err, Error::Multisampled { .. }), "{err}");
    assert_eq!(
        alloc.live_allocations().unwrap(),
        live,
        "no readback memory left behind"
    );
    // SAFETY: nothing was submitted.
    unsafe { alloc.destroy_image(image) };
}

#[test]
fn states_the_resource_cannot_take_are_refused() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let image = alloc
        .create_image(&ImageDesc::texture_2d(RGBA, 8, 8).mip_levels(vkup_allocator::MipLevels::ONE))
        .unwrap();
    let data = [0u8; 256];
    let undefined = ResourceState::UNDEFINED;
    let cases = [
        // No such queue family.
        ResourceState::new(Access::FragmentShaderSampledRead).on_queue(stager.queue_families()),
        // Colour attachment layout without COLOR_ATTACHMENT usage.
        Access::ColorAttachmentWrite.into(),
        Access::DepthStencilAttachmentRead.into(),
        // An allocator image is never a swapchain image.
        Access::Present.into(),
    ];
    for to in cases {
        let err = ImageUpload::packed(&stager, &image, &data, 1, undefined, to).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidState {
                    which: vkup_staging::StateRole::To,
                    ..
                }
            ),
            "{to:?}: {err}"
        );
        let err = ImageUpload::packed(&stager, &image, &data, 1, to, undefined).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidState {
                    which: vkup_staging::StateRole::From,
                    ..
                }
            ),
            "{to:?}: {err}"
        );
    }
    let mut buffer = alloc.create_buffer(&BufferDesc::vertex(64)).unwrap();
    let mut ring = StagingRing::new(&alloc, 4096).unwrap();
    let far = ResourceState::new(Access::VertexBuffer).on_queue(1000);
    let mut upload = BufferUpload::new(&mut buffer, 0, &data[..64], undefined, far).unwrap();
    // SAFETY: refused before recording; the null command buffer is never used.
    let err = unsafe { upload.record(vk::CommandBuffer::null(), &stager, &alloc, &mut ring) }
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidState {
                which: vkup_staging::StateRole::To,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(ring.in_use(), 0);
    // SAFETY: nothing was submitted.
    unsafe {
        ring.destroy(&alloc);
        alloc.destroy_buffer(buffer);
        alloc.destroy_image(image);
    }
}

#[test]
fn packed_uploads_take_exactly_the_levels_the_image_has_and_exactly_their_bytes() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let image = alloc
        .create_image(&ImageDesc::texture_2d(RGBA, 8, 8))
        .unwrap();
    let (undefined, sampled) = (
        ResourceState::UNDEFINED,
        ResourceState::from(Access::FragmentShaderSampledRead),
    );
    let (_, full) = vkup_staging::packed_layouts(&image, 4).unwrap();
    let data = vec![0u8; full as usize + 1];
    for levels in [0, 5] {
        let err =
            ImageUpload::packed(&stager, &image, &data, levels, undefined, sampled).unwrap_err();
        assert!(
            matches!(err, Error::InvalidSubresource { .. }),
            "{levels}: {err}"
        );
    }
    let err = ImageUpload::packed(&stager, &image, &data, 4, undefined, sampled).unwrap_err();
    assert!(
        matches!(err, Error::InvalidSource { field: "data", .. }),
        "{err}"
    );
    let exact = ImageUpload::packed(
        &stager,
        &image,
        &data[..full as usize],
        4,
        undefined,
        sampled,
    );
    assert!(exact.is_ok());
    // SAFETY: nothing was submitted.
    unsafe { alloc.destroy_image(image) };
}

#[test]
fn the_submitter_waits_for_ring_space_instead_of_submitting_empty_buffers() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let mut submitter = gpu.submitter();
    // One piece of four rings' worth: each record call cuts it at the quarter-ring batch, and
    // once three batches are in flight the ring is more than half full: the driver waits for
    // the first submission before it records the fourth.
    let image = alloc
        .create_image(
            &ImageDesc::texture_2d(RGBA, 64, 64).mip_levels(vkup_allocator::MipLevels::ONE),
        )
        .unwrap();
    let data = pattern(64 * 64 * 4, 9);
    let mut ring = StagingRing::new(&alloc, 4096).unwrap();
    let sampled = ResourceState::from(Access::FragmentShaderSampledRead);
    let mut upload =
        ImageUpload::packed(&stager, &image, &data, 1, ResourceState::UNDEFINED, sampled).unwrap();
    assert_eq!(upload.pieces().len(), 1);
    // SAFETY: recording on the submitter's queue; image, data and ring outlive `run`.
    let _ = unsafe {
        submitter.run(&mut ring, |cmd, ring| {
            upload.record(cmd, &stager, &alloc, ring)
        })
    }
    .unwrap();
    assert_eq!(
        submitter.last_value(),
        (64 * 64 * 4_u64).div_ceil(4096 / 4),
        "one submission per quarter-ring batch, each full, none empty"
    );
    // SAFETY: completed.
    unsafe {
        submitter.destroy().unwrap();
        ring.destroy(&alloc);
        alloc.destroy_image(image);
    }
}

#[test]
fn a_queue_shared_under_a_lock_takes_uploads_from_one_thread_and_submits_from_another() {
    // The demo's situation: a loader thread uploads through a Submitter while the render thread
    // submits on the same queue. The validation layer's thread-safety checks report any
    // unsynchronised use of the queue.
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let lock = std::sync::Arc::new(std::sync::Mutex::new(()));
    let mut submitter = gpu.submitter().queue_lock(std::sync::Arc::clone(&lock));
    let mut ring = StagingRing::new(&alloc, 64 * 1024).unwrap();
    let data = pattern(1 << 20, 11);
    let mut buffer = alloc
        .create_buffer(&BufferDesc::vertex(1 << 20).usage(vk::BufferUsageFlags::TRANSFER_SRC))
        .unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let render = scope.spawn(|| {
            // Empty submissions with a fence each, under the lock, until the upload is done.
            let mut submits = 0;
            while !done.load(std::sync::atomic::Ordering::Acquire) || submits < 10 {
                // SAFETY: the Gpu's queue, used only under `lock` while the upload runs.
                unsafe {
                    let fence = gpu
                        .device
                        .create_fence(&vk::FenceCreateInfo::default(), None)
                        .unwrap();
                    {
                        let _guard = lock.lock().unwrap();
                        gpu.device.queue_submit2(gpu.queue, &[], fence).unwrap();
                    }
                    gpu.device
                        .wait_for_fences(&[fence], true, u64::MAX)
                        .unwrap();
                    gpu.device.destroy_fence(fence, None);
                }
                submits += 1;
            }
            submits
        });
        let mut upload = BufferUpload::new(
            &mut buffer,
            0,
            &data,
            ResourceState::UNDEFINED,
            Access::TransferRead.into(),
        )
        .unwrap()
        .path(vkup_staging::UploadPath::Staged);
        // SAFETY: recording on the submitter's queue; buffer, data and ring outlive `run`.
        let _ = unsafe {
            submitter.run(&mut ring, |cmd, ring| {
                upload.record(cmd, &stager, &alloc, ring)
            })
        }
        .unwrap();
        done.store(true, std::sync::atomic::Ordering::Release);
        assert!(render.join().unwrap() >= 10);
    });
    assert!(
        submitter.last_value() > 1,
        "the upload took several submissions"
    );
    submitter.wait_idle().unwrap();
    let back = crate::read_back(&gpu, &alloc, &buffer, Access::TransferRead);
    assert!(back == data, "bytes differ");
    // SAFETY: everything completed.
    unsafe {
        submitter.destroy().unwrap();
        ring.destroy(&alloc);
        alloc.destroy_buffer(buffer);
    }
}

#[test]
fn an_image_placed_by_the_caller_is_uploaded_and_read_back_through_its_plain_description() {
    // A render graph's resource: placed in memory the graph allocated, not made by create_image.
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let desc = ImageDesc::new_2d(RGBA, 33, 17)
        .mip_levels(vkup_allocator::MipLevels::ONE)
        .usage(
            vk::ImageUsageFlags::TRANSFER_DST
                | vk::ImageUsageFlags::TRANSFER_SRC
                | vk::ImageUsageFlags::SAMPLED,
        );
    let requirements = alloc.image_requirements(&desc).unwrap();
    let memory = alloc
        .allocate_memory(&vkup_allocator::MemoryDesc::new(
            requirements,
            vkup_allocator::MemoryIntent::GpuOnly,
        ))
        .unwrap();
    let image = alloc.create_placed_image(&desc, &memory, 0).unwrap();
    let data = pattern(33 * 17 * 4, 21);
    let mut ring = StagingRing::new(&alloc, 1 << 16).unwrap();
    let sampled = ResourceState::from(Access::FragmentShaderSampledRead);
    let mut upload =
        ImageUpload::packed(&stager, &image, &data, 1, ResourceState::UNDEFINED, sampled).unwrap();
    let mut readback = None;
    let value = gpu.submit_and_wait(|cmd| {
        // SAFETY: recording on the Gpu's queue; the image, its memory and the ring outlive the wait.
        unsafe {
            let Progress::Done(done) = upload.record(cmd, &stager, &alloc, &mut ring).unwrap()
            else {
                panic!("fits in one go");
            };
            let (r, _) = stager
                .record_image_readback(cmd, &alloc, &image, done.state, sampled)
                .unwrap();
            readback = Some(r);
        }
    });
    let mut readback = readback.unwrap();
    // SAFETY: the submission that signalled `value` copied into it.
    unsafe { readback.submitted(gpu.timeline(), value) };
    assert!(
        readback.read(&alloc, gpu.timeline(), 0, 0).unwrap() == data,
        "bytes differ"
    );
    // SAFETY: the submission completed; the image before its memory.
    unsafe {
        readback.destroy(&alloc);
        ring.destroy(&alloc);
        alloc.destroy_placed_image(image);
        alloc.free_memory(memory);
    }
}

#[test]
fn a_frames_uploads_share_one_barrier_before_their_copies_and_one_after() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let mut ring = StagingRing::new(&alloc, 1 << 20).unwrap();
    let images: Vec<_> = (0..8)
        .map(|i| {
            alloc
                .create_image(
                    &ImageDesc::texture_2d(RGBA, 16 + i, 9 + i)
                        .mip_levels(vkup_allocator::MipLevels::ONE),
                )
                .unwrap()
        })
        .collect();
    let data: Vec<Vec<u8>> = (0..8u32)
        .map(|i| pattern(((16 + i) * (9 + i) * 4) as usize, u64::from(i)))
        .collect();
    let sampled = ResourceState::from(Access::FragmentShaderSampledRead);
    let mut uploads: Vec<_> = images
        .iter()
        .zip(&data)
        .map(|(image, bytes)| {
            ImageUpload::packed(&stager, image, bytes, 1, ResourceState::UNDEFINED, sampled)
                .unwrap()
        })
        .collect();
    let mut readbacks = Vec::new();
    let value = gpu.submit_and_wait(|cmd| {
        let (mut pre, mut post) = (
            vkup_staging::BarrierBatch::new(),
            vkup_staging::BarrierBatch::new(),
        );
        for upload in &mut uploads {
            upload.begin(&mut pre).unwrap();
        }
        assert_eq!(
            pre.image_barriers().len(),
            8,
            "one barrier each, in one batch"
        );
        // SAFETY: recording on the Gpu's queue; images, data and ring outlive the wait; `pre` is
        // recorded before the copies and `post` after them.
        unsafe {
            pre.record(cmd, &gpu.device);
            for upload in &mut uploads {
                let progress = upload
                    .record_copies(cmd, &stager, &alloc, &mut ring, &mut post)
                    .unwrap();
                assert!(matches!(progress, Progress::Done(_)));
            }
            assert_eq!(post.image_barriers().len(), 8);
            post.record(cmd, &gpu.device);
            for image in &images {
                readbacks.push(
                    stager
                        .record_image_readback(cmd, &alloc, image, sampled, sampled)
                        .unwrap()
                        .0,
                );
            }
        }
    });
    for (mut readback, bytes) in readbacks.into_iter().zip(&data) {
        // SAFETY: the submission that signalled `value` copied into it.
        unsafe { readback.submitted(gpu.timeline(), value) };
        assert!(
            &readback.read(&alloc, gpu.timeline(), 0, 0).unwrap() == bytes,
            "bytes differ"
        );
        // SAFETY: completed.
        unsafe { readback.destroy(&alloc) };
    }
    // An upload whose barrier was never batched refuses to record copies.
    let mut late = ImageUpload::packed(&stager, &images[0], &data[0], 1, sampled, sampled).unwrap();
    let mut post = vkup_staging::BarrierBatch::new();
    // SAFETY: refused before recording; the null command buffer is never used.
    let err = unsafe {
        late.record_copies(
            vk::CommandBuffer::null(),
            &stager,
            &alloc,
            &mut ring,
            &mut post,
        )
    }
    .unwrap_err();
    assert!(matches!(err, Error::InvalidState { .. }), "{err}");
    // SAFETY: completed.
    unsafe {
        ring.destroy(&alloc);
        for image in images {
            alloc.destroy_image(image);
        }
    }
}

#[test]
fn buffers_placed_by_the_caller_share_batched_barriers_and_are_not_borrowed_by_their_uploads() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let desc = BufferDesc::new(
        4096,
        vk::BufferUsageFlags::TRANSFER_DST
            | vk::BufferUsageFlags::TRANSFER_SRC
            | vk::BufferUsageFlags::VERTEX_BUFFER,
    );
    let req = alloc.buffer_requirements(&desc).unwrap();
    let stride = req.size.next_multiple_of(req.alignment);
    let memory = alloc
        .allocate_memory(&vkup_allocator::MemoryDesc::new(
            vk::MemoryRequirements {
                size: stride * 4,
                ..req
            },
            vkup_allocator::MemoryIntent::GpuOnly,
        ))
        .unwrap();
    let buffers: Vec<_> = (0..4)
        .map(|i| {
            alloc
                .create_placed_buffer(&desc, &memory, i * stride)
                .unwrap()
        })
        .collect();
    let data: Vec<Vec<u8>> = (0..4).map(|i| pattern(4096, 40 + i)).collect();
    let mut ring = StagingRing::new(&alloc, 1 << 16).unwrap();
    let vertex = ResourceState::from(Access::VertexBuffer);
    // Built before the command buffer exists: the uploads hold the data, not the buffers.
    let mut uploads: Vec<_> = buffers
        .iter()
        .zip(&data)
        // From a read (the buffers' earlier contents were drawn from): each needs a barrier
        // before its copy. From UNDEFINED there would be none to share, nothing having touched
        // them.
        .map(|(b, d)| BufferUpload::new(b, 0, d, vertex, vertex).unwrap())
        .collect();
    let mut readbacks = Vec::new();
    let value = gpu.submit_and_wait(|cmd| {
        let (mut pre, mut post) = (
            vkup_staging::BarrierBatch::new(),
            vkup_staging::BarrierBatch::new(),
        );
        for upload in &mut uploads {
            upload.begin(&mut pre).unwrap();
        }
        assert_eq!(pre.buffer_barriers().len(), 4);
        // SAFETY: recording on the Gpu's queue; buffers, memory and ring outlive the wait.
        unsafe {
            pre.record(cmd, &gpu.device);
            for upload in &mut uploads {
                let progress = upload
                    .record_copies(cmd, &stager, &alloc, &mut ring, &mut post)
                    .unwrap();
                assert!(matches!(progress, Progress::Done(_)));
            }
            post.record(cmd, &gpu.device);
            for b in &buffers {
                readbacks.push(
                    stager
                        .record_buffer_readback(cmd, &alloc, b, 0..4096, vertex, vertex)
                        .unwrap()
                        .0,
                );
            }
        }
    });
    for (mut readback, d) in readbacks.into_iter().zip(&data) {
        // SAFETY: the submission that signalled `value` copied into it.
        unsafe { readback.submitted(gpu.timeline(), value) };
        assert!(
            &readback.read(&alloc, gpu.timeline()).unwrap() == d,
            "bytes differ"
        );
        // SAFETY: completed.
        unsafe { readback.destroy(&alloc) };
    }
    // SAFETY: completed; buffers before their memory.
    unsafe {
        ring.destroy(&alloc);
        for b in buffers {
            alloc.destroy_placed_buffer(b);
        }
        alloc.free_memory(memory);
    }
}

#[test]
fn one_level_streams_in_while_the_others_keep_their_state_and_contents() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let image = alloc
        .create_image(&ImageDesc::texture_2d(RGBA, 8, 8))
        .unwrap();
    assert_eq!(image.mip_levels(), 4);
    let (all, len) = vkup_staging::packed_layouts(&image, 4).unwrap();
    let data = pattern(len as usize, 77);
    let undefined = ResourceState::UNDEFINED;
    let sampled = ResourceState::from(Access::FragmentShaderSampledRead);
    let mut ring = StagingRing::new(&alloc, 1 << 16).unwrap();
    // Levels 0, 1 and 3 first; level 2 is still UNDEFINED afterwards.
    let first: Vec<_> = all.iter().copied().filter(|l| l.level != 2).collect();
    let level2: Vec<_> = all.iter().copied().filter(|l| l.level == 2).collect();
    let mut readback = None;
    let value = gpu.submit_and_wait(|cmd| {
        for layouts in [&first, &level2] {
            // Each upload names only its own levels: the second one's UNDEFINED `from` must not
            // discard what the first one wrote.
            let mut upload = ImageUpload::new(&stager, &image, &data, layouts, undefined, sampled)
                .unwrap()
                .listed_subresources_only();
            let mut pre = vkup_staging::BarrierBatch::new();
            upload.begin(&mut pre).unwrap();
            let covered: Vec<u32> = pre
                .image_barriers()
                .iter()
                .flat_map(|b| {
                    let r = b.subresource_range;
                    r.base_mip_level..r.base_mip_level + r.level_count
                })
                .collect();
            let listed: Vec<u32> = layouts.iter().map(|l| l.level).collect();
            assert_eq!(covered, listed, "the barriers cover the listed levels only");
            // SAFETY: recording on the Gpu's queue; image, data and ring outlive the wait; the
            // first barrier is recorded before the copies.
            let progress = unsafe {
                pre.record(cmd, &gpu.device);
                upload.record(cmd, &stager, &alloc, &mut ring)
            }
            .unwrap();
            assert!(matches!(progress, Progress::Done(_)));
        }
        // SAFETY: as above; every level is now sampled.
        let (r, _) =
            unsafe { stager.record_image_readback(cmd, &alloc, &image, sampled, sampled) }.unwrap();
        readback = Some(r);
    });
    let mut readback = readback.unwrap();
    // SAFETY: the submission that signalled `value` copied into it.
    unsafe { readback.submitted(gpu.timeline(), value) };
    for layout in &all {
        let size = vkup_staging::block_info(RGBA)
            .unwrap()
            .extent_bytes(image.level_extent(layout.level)) as usize;
        let want = &data[layout.offset as usize..][..size];
        assert!(
            readback
                .read(&alloc, gpu.timeline(), layout.level, 0)
                .unwrap()
                == want,
            "level {} differs",
            layout.level
        );
    }
    // SAFETY: completed.
    unsafe {
        readback.destroy(&alloc);
        ring.destroy(&alloc);
        alloc.destroy_image(image);
    }
}
