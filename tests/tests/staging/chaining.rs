//! Render-graph chaining: each recording starts from the state the previous one returned.

use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::{BufferDesc, ImageDesc};
use vkup_staging::{
    Access, BufferUpload, ImageUpload, Progress, ResourceState, StagingRing, UploadPath,
};

use crate::pattern;

#[test]
fn upload_sampled_transfer_read_sampled_chain_has_no_hazards() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let mut ring = StagingRing::new(&alloc, 1 << 20).unwrap();
    let usage = vk::ImageUsageFlags::SAMPLED
        | vk::ImageUsageFlags::TRANSFER_DST
        | vk::ImageUsageFlags::TRANSFER_SRC;
    let image = alloc
        .create_image(&ImageDesc::texture_2d(vk::Format::R8G8B8A8_SRGB, 64, 64).usage(usage))
        .unwrap();
    let mut vertices = alloc
        .create_buffer(&BufferDesc::vertex(4096).usage(vk::BufferUsageFlags::TRANSFER_SRC))
        .unwrap();
    let texels = pattern(64 * 64 * 4, 1);
    let verts = pattern(4096, 2);
    let (mut readbacks, mut vreadbacks) = (Vec::new(), Vec::new());
    // One command buffer holds the whole chain, so synchronization validation sees every hazard.
    let value = gpu.submit_and_wait(|cmd| {
        let sampled: ResourceState = Access::FragmentShaderSampledRead.into();
        let mut upload = ImageUpload::packed(
            &stager,
            &image,
            &texels,
            1,
            ResourceState::UNDEFINED,
            sampled,
        )
        .unwrap();
        // SAFETY: recording on the Gpu's queue; everything outlives submit_and_wait.
        let Progress::Done(done) =
            unsafe { upload.record(cmd, &stager, &alloc, &mut ring) }.unwrap()
        else {
            panic!("fits in one go");
        };
        let mut state = done.state;
        let mut vupload = BufferUpload::new(
            &mut vertices,
            0,
            &verts,
            ResourceState::UNDEFINED,
            Access::VertexBuffer.into(),
        )
        .unwrap()
        .path(UploadPath::Staged);
        // SAFETY: as above.
        let Progress::Done(vdone) =
            unsafe { vupload.record(cmd, &stager, &alloc, &mut ring) }.unwrap()
        else {
            panic!("fits in one go");
        };
        let mut vstate = vdone.state;
        // sampled -> transfer read (readback) -> sampled, twice, each from the returned state.
        for _ in 0..2 {
            // SAFETY: as above.
            let (readback, finished) =
                unsafe { stager.record_image_readback(cmd, &alloc, &image, state, sampled) }
                    .unwrap();
            state = finished.state;
            readbacks.push(readback);
            // SAFETY: as above.
            let (vreadback, vfinished) = unsafe {
                stager.record_buffer_readback(
                    cmd,
                    &alloc,
                    &vertices,
                    0..4096,
                    vstate,
                    Access::VertexBuffer.into(),
                )
            }
            .unwrap();
            vstate = vfinished.state;
            // Overwrite the vertices again from the returned state: write-after-read needs the
            // barrier the chain records.
            let mut again = BufferUpload::new(
                &mut vertices,
                0,
                &verts,
                vstate,
                Access::VertexBuffer.into(),
            )
            .unwrap()
            .path(UploadPath::Staged);
            // SAFETY: as above.
            let Progress::Done(again) =
                unsafe { again.record(cmd, &stager, &alloc, &mut ring) }.unwrap()
            else {
                panic!("fits in one go");
            };
            vstate = again.state;
            vreadbacks.push(vreadback);
        }
        assert_eq!(state, sampled);
    });
    // SAFETY: the submission that signalled `value` read the ring and copied into every
    // readback, and has completed.
    unsafe { ring.submitted(gpu.timeline(), value) }.unwrap();
    ring.reclaim(gpu.timeline()).unwrap();
    assert_eq!(ring.in_use(), 0);
    for mut readback in vreadbacks {
        // SAFETY: as above.
        unsafe { readback.submitted(gpu.timeline(), value) };
        assert_eq!(readback.read(&alloc, gpu.timeline()).unwrap(), verts);
        // SAFETY: completed.
        unsafe { readback.destroy(&alloc) };
    }
    for mut readback in readbacks {
        // SAFETY: as above.
        unsafe { readback.submitted(gpu.timeline(), value) };
        assert_eq!(readback.read(&alloc, gpu.timeline(), 0, 0).unwrap(), texels);
        // SAFETY: completed.
        unsafe { readback.destroy(&alloc) };
    }
    // SAFETY: completed.
    unsafe {
        ring.destroy(&alloc);
        alloc.destroy_image(image);
        alloc.destroy_buffer(vertices);
    }
}

#[test]
fn ownership_on_one_queue_family_records_no_transfer() {
    // lavapipe has one queue family, so the transfer path is tested as data (barrier unit tests)
    // and here the single-family path: states that name the same family move no ownership.
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let mut submitter = gpu.submitter();
    let mut ring = StagingRing::new(&alloc, 1 << 20).unwrap();
    let family = gpu.queue_family;
    let usage = vk::ImageUsageFlags::SAMPLED
        | vk::ImageUsageFlags::TRANSFER_DST
        | vk::ImageUsageFlags::TRANSFER_SRC;
    let image = alloc
        .create_image(&ImageDesc::texture_2d(vk::Format::BC1_RGBA_UNORM_BLOCK, 64, 64).usage(usage))
        .unwrap();
    let (layouts, len) = vkup_staging::packed_layouts(&image, image.mip_levels()).unwrap();
    let data = pattern(len as usize, 9);
    let from = ResourceState::UNDEFINED.on_queue(family);
    let to = ResourceState::new(Access::FragmentShaderSampledRead).on_queue(family);
    let mut upload = ImageUpload::new(&stager, &image, &data, &layouts, from, to).unwrap();
    // SAFETY: recording on the submitter's queue (of `family`); everything outlives `run`.
    let finished = unsafe {
        submitter.run(&mut ring, |cmd, ring| {
            upload.record(cmd, &stager, &alloc, ring)
        })
    }
    .unwrap();
    assert_eq!(finished.state, to);
    assert!(
        finished.acquire.is_empty(),
        "same family: nothing to acquire"
    );
    // SAFETY: completed.
    unsafe {
        submitter.destroy().unwrap();
        ring.destroy(&alloc);
        alloc.destroy_image(image);
    }
}
