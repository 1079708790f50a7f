//! Access sets: a state that holds several accesses of one resource at once. A texture sampled
//! by the vertex and the fragment shader, and a depth image tested read-only and sampled in the
//! same pass, go through uploads and readbacks in those states with the validation layer
//! tracking every layout (a wrong shared layout is an error at submit); a set whose members need
//! different layouts is a typed error naming them, before anything is recorded.

use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::{ImageDesc, MipLevels};
use vkup_staging::{Access, Error, ImageUpload, Progress, ResourceState, StagingRing, StateRole};

use crate::pattern;

#[test]
fn textures_sampled_in_two_stages_and_sampled_read_only_depth_round_trip_in_their_sets() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager();
    let mut ring = StagingRing::new(&alloc, 1 << 20).unwrap();
    let both_stages =
        ResourceState::new(Access::VertexShaderSampledRead | Access::FragmentShaderSampledRead);
    let depth_sampled =
        ResourceState::new(Access::DepthStencilAttachmentRead | Access::FragmentShaderSampledRead);
    let usage = vk::ImageUsageFlags::SAMPLED
        | vk::ImageUsageFlags::TRANSFER_DST
        | vk::ImageUsageFlags::TRANSFER_SRC;
    let color = alloc
        .create_image(
            &ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 32, 32)
                .usage(usage)
                .mip_levels(MipLevels::Count(1)),
        )
        .unwrap();
    let depth = alloc
        .create_image(
            &ImageDesc::new_2d(vk::Format::D32_SFLOAT, 32, 32)
                .usage(usage | vk::ImageUsageFlags::DEPTH_STENCIL_ATTACHMENT)
                .mip_levels(MipLevels::Count(1)),
        )
        .unwrap();
    let texels = pattern(32 * 32 * 4, 1);
    // Depth values in [0, 1] survive any canonicalisation a copy may do.
    let depths: Vec<u8> = (0..32 * 32)
        .flat_map(|i| (i as f32 / 1024.0).to_le_bytes())
        .collect();
    let mut readbacks = Vec::new();
    let value = gpu.submit_and_wait(|cmd| {
        for (image, data, set) in [
            (&color, &texels, both_stages),
            (&depth, &depths, depth_sampled),
        ] {
            let mut upload = ImageUpload::packed(
                &stager,
                image,
                data,
                1,
                ResourceState::UNDEFINED,
                set,
                1 << 20,
            )
            .unwrap();
            // SAFETY: recording on the Gpu's queue; everything outlives the wait.
            let Progress::Done(done) =
                (unsafe { upload.record(&stager, &alloc, cmd, &mut ring) }).unwrap()
            else {
                panic!("fits in one go");
            };
            assert_eq!(done.state, set);
            // From the set through a transfer read and back into it.
            // SAFETY: as above.
            let (readback, left) =
                unsafe { stager.record_image_readback(&alloc, cmd, image, set, set) }.unwrap();
            assert_eq!(left.state, set);
            readbacks.push(readback);
        }
    });
    // SAFETY: the submission that signalled `value` read the ring, and completed.
    unsafe { ring.submitted(gpu.timeline(), value) }.unwrap();
    ring.reclaim(gpu.timeline()).unwrap();
    for (mut readback, want) in readbacks.into_iter().zip([&texels, &depths]) {
        // SAFETY: the submission that signalled `value` copied into it.
        unsafe { readback.submitted(gpu.timeline(), value) };
        assert!(readback.read(&alloc, gpu.timeline(), 0, 0).unwrap() == *want);
        // SAFETY: completed.
        unsafe { readback.destroy(&alloc) };
    }

    // Members that need different layouts: refused by name, nothing recorded or staged.
    let conflict = ResourceState::new(Access::TransferRead | Access::FragmentShaderSampledRead);
    let err = ImageUpload::packed(&stager, &color, &texels, 1, conflict, both_stages, 1 << 20)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::LayoutConflict {
                which: StateRole::From,
                first: Access::TransferRead,
                second: Access::FragmentShaderSampledRead,
            }
        ),
        "{err}"
    );
    // A depth set on an image without depth usage: the member's usage is named.
    let err = ImageUpload::packed(
        &stager,
        &color,
        &texels,
        1,
        ResourceState::UNDEFINED,
        depth_sampled,
        1 << 20,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidState {
                which: StateRole::To,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(ring.in_use(), 0);
    // SAFETY: the submission completed.
    unsafe {
        ring.destroy(&alloc);
        alloc.destroy_image(depth);
        alloc.destroy_image(color);
    }
}
