//! Uploads recorded on a queue family other than the resource's owner: a stager that knows its
//! recording family acquires before copying, and the split begin / record_copies path refuses
//! copies into a resource it did not adopt. The transfer itself needs a second queue family (the
//! GPUs we test on have a transfer family); on a device with one family (lavapipe) this test
//! asserts the refusals it can provoke there and says so.

use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::BufferDesc;
use vkup_staging::{Access, BarrierBatch, BufferUpload, ResourceState, StagingRing};

use crate::{pattern, read_back};

const HALF: usize = 64 * 1024;

#[test]
fn an_upload_on_the_graphics_family_acquires_a_buffer_the_transfer_family_released() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let graphics = gpu.queue_family;
    let buffer = alloc
        .create_buffer(&BufferDesc::new(
            2 * HALF as u64,
            vk::BufferUsageFlags::VERTEX_BUFFER
                | vk::BufferUsageFlags::TRANSFER_DST
                | vk::BufferUsageFlags::TRANSFER_SRC,
        ))
        .unwrap();
    let (first, second) = (pattern(HALF, 1), pattern(HALF, 2));
    let mut ring = StagingRing::new(&alloc, 1 << 20).unwrap();

    // A stager recording on a family the device lacks is refused before anything is recorded.
    let lost = gpu.stager(&alloc).recording_family(1000);
    let mut upload = BufferUpload::new(
        &buffer,
        0,
        &first,
        ResourceState::UNDEFINED,
        Access::VertexBuffer.into(),
    )
    .unwrap();
    // SAFETY: refused before the null command buffer is touched.
    let err =
        unsafe { upload.record(vk::CommandBuffer::null(), &lost, &alloc, &mut ring) }.unwrap_err();
    assert!(
        matches!(
            err,
            vkup_staging::Error::InvalidState {
                which: vkup_staging::StateRole::RecordingFamily,
                ..
            }
        ),
        "{err}"
    );

    let Some((transfer, _)) = gpu.transfer else {
        println!(
            "one queue family: the ownership transfer itself runs on GPUs with a transfer family"
        );
        // SAFETY: nothing was submitted.
        unsafe {
            ring.destroy(&alloc);
            alloc.destroy_buffer(buffer);
        }
        return;
    };
    let stager = gpu.stager(&alloc).recording_family(graphics);
    let on_transfer = ResourceState::new(Access::TransferWrite).on_queue(transfer);
    // The first half, written on the transfer queue, which keeps ownership ...
    let mut submitter = gpu.transfer_submitter().unwrap();
    let mut upload = BufferUpload::new(
        &buffer,
        0,
        &first,
        ResourceState::UNDEFINED.on_queue(transfer),
        on_transfer,
    )
    .unwrap()
    .path(vkup_staging::UploadPath::Staged);
    let transfer_stager = gpu.stager(&alloc).recording_family(transfer);
    // SAFETY: recording on the transfer queue's family; the buffer and ring outlive `run`.
    let done = unsafe {
        submitter.run(&mut ring, |cmd, ring| {
            upload.record(cmd, &transfer_stager, &alloc, ring)
        })
    }
    .unwrap();
    assert_eq!(done.state, on_transfer);
    // ... then releases the whole buffer to the graphics family.
    let mut release = BarrierBatch::new();
    release.buffer(
        buffer.raw(),
        0,
        vk::WHOLE_SIZE,
        on_transfer,
        ResourceState::new(Access::TransferWrite).on_queue(graphics),
        &mut BarrierBatch::new(),
    );
    // SAFETY: as above.
    unsafe {
        submitter
            .submit(|cmd| {
                release.record(cmd, &gpu.device);
                Ok(())
            })
            .unwrap();
        submitter.destroy().unwrap();
    }

    // The split path without adopting refuses to copy into a buffer another family owns.
    let mut split = BufferUpload::new(
        &buffer,
        HALF as u64,
        &second,
        on_transfer,
        Access::TransferRead.into(),
    )
    .unwrap()
    .path(vkup_staging::UploadPath::Staged);
    let mut pre = BarrierBatch::new();
    split.begin(&mut pre).unwrap();
    // SAFETY: refused before anything is recorded.
    let err = unsafe {
        split.record_copies(
            vk::CommandBuffer::null(),
            &stager,
            &alloc,
            &mut ring,
            &mut BarrierBatch::new(),
        )
    }
    .unwrap_err();
    assert!(
        matches!(
            err,
            vkup_staging::Error::InvalidState {
                which: vkup_staging::StateRole::From,
                ..
            }
        ),
        "{err}"
    );

    // Adopting yields exactly the acquire half of that release: whole buffer, same families.
    let mut probe = BufferUpload::new(
        &buffer,
        HALF as u64,
        &second,
        on_transfer,
        Access::TransferRead.into(),
    )
    .unwrap();
    let mut acquire = BarrierBatch::new();
    probe.adopt(&stager, &mut acquire).unwrap();
    let barriers = acquire.buffer_barriers();
    assert_eq!(barriers.len(), 1, "one acquire");
    let b = barriers[0];
    assert_eq!(
        (b.src_queue_family_index, b.dst_queue_family_index),
        (transfer, graphics)
    );
    assert_eq!((b.offset, b.size), (0, vk::WHOLE_SIZE));
    assert_eq!(b.src_stage_mask, vk::PipelineStageFlags2::NONE);
    assert_eq!(b.dst_access_mask, vk::AccessFlags2::TRANSFER_WRITE);

    // An image's acquire covers the ranges its upload describes, with the layout unchanged.
    let image = alloc
        .create_image(
            &vkup_allocator::ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 16, 16)
                .usage(vk::ImageUsageFlags::TRANSFER_DST | vk::ImageUsageFlags::SAMPLED),
        )
        .unwrap();
    let texels = pattern(16 * 16 * 4, 3);
    let sampled_there = ResourceState::new(Access::FragmentShaderSampledRead).on_queue(transfer);
    let mut image_probe = vkup_staging::ImageUpload::packed(
        &stager,
        &image,
        &texels,
        1,
        sampled_there,
        Access::FragmentShaderSampledRead.into(),
    )
    .unwrap();
    let mut acquire = BarrierBatch::new();
    image_probe.adopt(&stager, &mut acquire).unwrap();
    let b = acquire.image_barriers()[0];
    assert_eq!(
        (b.src_queue_family_index, b.dst_queue_family_index),
        (transfer, graphics)
    );
    assert_eq!(b.old_layout, vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL);
    assert_eq!(b.new_layout, vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL);
    let r = b.subresource_range;
    assert_eq!(
        (
            r.base_mip_level,
            r.level_count,
            r.base_array_layer,
            r.layer_count
        ),
        (0, image.mip_levels(), 0, 1)
    );
    drop(image_probe);
    // SAFETY: never used by the GPU.
    unsafe { alloc.destroy_image(image) };

    // The second half, on the graphics queue: `record` acquires first.
    let mut graphics_submitter = gpu.submitter();
    let mut upload = BufferUpload::new(
        &buffer,
        HALF as u64,
        &second,
        on_transfer,
        Access::TransferRead.into(),
    )
    .unwrap()
    .path(vkup_staging::UploadPath::Staged);
    // SAFETY: recording on the graphics queue's family; the buffer and ring outlive `run`.
    unsafe {
        let _ = graphics_submitter
            .run(&mut ring, |cmd, ring| {
                upload.record(cmd, &stager, &alloc, ring)
            })
            .unwrap();
        graphics_submitter.destroy().unwrap();
    }
    let bytes = read_back(&gpu, &alloc, &buffer, Access::TransferRead);
    assert!(bytes[..HALF] == first[..], "the transfer queue's half");
    assert!(bytes[HALF..] == second[..], "the graphics queue's half");
    // SAFETY: every submission completed.
    unsafe {
        ring.destroy(&alloc);
        alloc.destroy_buffer(buffer);
    }
}
