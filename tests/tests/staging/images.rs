use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::{Allocator, GpuImage, ImageDesc, MipLevels};
use vkup_staging::{
    packed_layouts, Access, ImageUpload, ResourceState, StagingRing, SubresourceLayout,
};

use crate::pattern;

const USAGE: vk::ImageUsageFlags = vk::ImageUsageFlags::from_raw(
    vk::ImageUsageFlags::SAMPLED.as_raw()
        | vk::ImageUsageFlags::TRANSFER_DST.as_raw()
        | vk::ImageUsageFlags::TRANSFER_SRC.as_raw(),
);

/// Bytes valid for `format`: depth values must lie in [0, 1] (copies into D32_SFLOAT clamp or
/// are undefined outside it); everything else takes any bits.
fn data_for(format: vk::Format, len: usize, seed: u64) -> Vec<u8> {
    if format == vk::Format::D32_SFLOAT {
        let words: Vec<f32> = pattern(len / 4, seed)
            .iter()
            .map(|&b| f32::from(b) / 255.0)
            .collect();
        return bytemuck::cast_slice(&words).to_vec();
    }
    pattern(len, seed)
}

/// Uploads `data` laid out by `layouts` through a ring of `ring_size` bytes, reads back every
/// level and layer, and returns the readback of each subresource in `layouts`' order.
fn upload_and_read(
    gpu: &Gpu,
    alloc: &Allocator,
    image: &GpuImage,
    data: &[u8],
    layouts: &[SubresourceLayout],
    ring_size: u64,
) -> Vec<Vec<u8>> {
    let stager = gpu.stager(alloc);
    let mut submitter = gpu.submitter();
    let mut ring = StagingRing::new(alloc, ring_size).unwrap();
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
    let mut upload = ImageUpload::new(
        &stager,
        image,
        data,
        layouts,
        ResourceState::UNDEFINED,
        sampled,
    )
    .unwrap();
    // SAFETY: recording on the submitter's queue; image, data and ring outlive `run`.
    let finished = unsafe {
        submitter.run(&mut ring, |cmd, ring| {
            assert!(!upload.is_finished(), "finished before its last record");
            upload.record(cmd, &stager, alloc, ring)
        })
    }
    .unwrap();
    assert!(upload.is_finished());
    assert_eq!(finished.state, sampled);
    assert!(ring.high_water() <= ring_size);
    let mut readback = None;
    // SAFETY: as above.
    let _ = unsafe {
        submitter.run(&mut ring, |cmd, _| {
            let (r, finished) =
                stager.record_image_readback(cmd, alloc, image, sampled, sampled)?;
            readback = Some(r);
            Ok(vkup_staging::Progress::Done(finished))
        })
    }
    .unwrap();
    let mut readback = readback.unwrap();
    // SAFETY: `run` waited for its last submission, which copied into it.
    unsafe { readback.submitted(submitter.timeline(), submitter.last_value()) };
    let out = layouts
        .iter()
        .map(|l| {
            readback
                .read(alloc, submitter.timeline(), l.level, l.layer)
                .unwrap()
        })
        .collect();
    // SAFETY: every submission has completed (run waits for the last).
    unsafe {
        readback.destroy(alloc);
        submitter.destroy().unwrap();
        ring.destroy(alloc);
    }
    out
}

/// Uploads every level and layer tightly packed, reads them back and compares byte for byte.
fn round_trip(gpu: &Gpu, alloc: &Allocator, desc: ImageDesc, ring_size: u64, seed: u64) {
    let image = alloc
        .create_image(&desc.clone().usage(USAGE))
        .unwrap_or_else(|e| panic!("{:?} {:?}: {e}", desc.format(), desc.extent()));
    let (layouts, len) = packed_layouts(&image, image.mip_levels()).unwrap();
    let data = data_for(desc.format(), len as usize, seed);
    let back = upload_and_read(gpu, alloc, &image, &data, &layouts, ring_size);
    let block = vkup_staging::block_info(desc.format()).unwrap();
    for (layout, bytes) in layouts.iter().zip(&back) {
        let size = block.extent_bytes(image.level_extent(layout.level)) as usize;
        let expected = &data[layout.offset as usize..][..size];
        assert!(
            bytes == expected,
            "{:?} {:?}: level {} layer {} differs",
            desc.format(),
            desc.extent(),
            layout.level,
            layout.layer
        );
    }
    // SAFETY: every submission has completed.
    unsafe { alloc.destroy_image(image) };
}

#[test]
fn format_matrix_round_trips_every_level_at_odd_and_tiny_extents() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let formats = [
        vk::Format::R8_UNORM,
        vk::Format::R8G8B8A8_UNORM,
        vk::Format::R8G8B8A8_SRGB,
        vk::Format::R16G16B16A16_SFLOAT,
        vk::Format::R32G32B32A32_SFLOAT,
        vk::Format::BC1_RGBA_UNORM_BLOCK,
        vk::Format::BC7_UNORM_BLOCK,
        vk::Format::D32_SFLOAT,
    ];
    let extents = [(1, 1), (3, 5), (257, 129), (100, 60)];
    let mut seed = 10;
    for format in formats {
        for (w, h) in extents {
            let levels = if format == vk::Format::D32_SFLOAT {
                MipLevels::ONE
            } else {
                MipLevels::Full
            };
            seed += 1;
            round_trip(
                &gpu,
                &alloc,
                ImageDesc::new_2d(format, w, h).mip_levels(levels),
                1 << 20,
                seed,
            );
        }
    }
}

#[test]
fn arrays_cubes_and_3d_images_round_trip() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let rgba = vk::Format::R8G8B8A8_UNORM;
    round_trip(
        &gpu,
        &alloc,
        ImageDesc::new_2d(rgba, 37, 21)
            .array_layers(4)
            .mip_levels(MipLevels::Full),
        1 << 20,
        1,
    );
    round_trip(
        &gpu,
        &alloc,
        ImageDesc::cube(rgba, 32).mip_levels(MipLevels::Full),
        1 << 20,
        2,
    );
    round_trip(
        &gpu,
        &alloc,
        ImageDesc::cube(vk::Format::BC7_SRGB_BLOCK, 20).mip_levels(MipLevels::Full),
        1 << 20,
        3,
    );
    round_trip(
        &gpu,
        &alloc,
        ImageDesc::new_3d(rgba, 19, 13, 7).mip_levels(MipLevels::Full),
        1 << 20,
        4,
    );
    round_trip(
        &gpu,
        &alloc,
        ImageDesc::new_1d(rgba, 300).mip_levels(MipLevels::Full),
        1 << 20,
        5,
    );
}

#[test]
fn upload_through_a_ring_smaller_than_one_mip_level_round_trips() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    // Level 0 is 257 x 129 x 16 bytes = 530 KiB; the ring holds 16 KiB, a few rows at a time.
    round_trip(
        &gpu,
        &alloc,
        ImageDesc::new_2d(vk::Format::R32G32B32A32_SFLOAT, 257, 129).mip_levels(MipLevels::Full),
        16 * 1024,
        6,
    );
    // 3D slices split into rows too.
    round_trip(
        &gpu,
        &alloc,
        ImageDesc::new_3d(vk::Format::R8G8B8A8_UNORM, 64, 64, 8),
        8 * 1024,
        7,
    );
    // Pieces of 6 whole slices, cut at 3 (the half-ring batch) and where the ring wraps.
    round_trip(
        &gpu,
        &alloc,
        ImageDesc::new_3d(vk::Format::R8G8B8A8_UNORM, 16, 16, 16).mip_levels(MipLevels::Full),
        6 * 1024,
        8,
    );
}

#[test]
fn caller_row_pitch_and_a_subset_of_levels_are_honoured() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let image = alloc
        .create_image(&ImageDesc::texture_2d(vk::Format::R8G8B8A8_UNORM, 50, 30).usage(USAGE))
        .unwrap();
    // Level 0 only, rows padded to 256 bytes, starting 7 bytes into the data.
    let pitch = 256u64;
    let data = pattern(7 + pitch as usize * 30, 8);
    let layouts = [SubresourceLayout {
        level: 0,
        layer: 0,
        offset: 7,
        row_pitch: pitch,
        slice_pitch: 0,
    }];
    let back = upload_and_read(&gpu, &alloc, &image, &data, &layouts, 1 << 20);
    let expected: Vec<u8> = (0..30)
        .flat_map(|y| &data[7 + y * pitch as usize..][..200])
        .copied()
        .collect();
    assert!(back[0] == expected);
    // SAFETY: completed.
    unsafe { alloc.destroy_image(image) };
}

#[test]
fn bad_image_uploads_are_refused_before_recording() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let image = alloc
        .create_image(&ImageDesc::texture_2d(vk::Format::R8G8B8A8_UNORM, 16, 16))
        .unwrap();
    let short = [0u8; 100];
    let undefined = ResourceState::UNDEFINED;
    let sampled = Access::FragmentShaderSampledRead.into();
    let err = ImageUpload::packed(&stager, &image, &short, 1, undefined, sampled).unwrap_err();
    assert!(
        matches!(
            err,
            vkup_staging::Error::InvalidSource { field: "data", .. }
        ),
        "{err}"
    );
    let outside = [SubresourceLayout {
        level: 9,
        layer: 0,
        offset: 0,
        row_pitch: 0,
        slice_pitch: 0,
    }];
    let err = ImageUpload::new(&stager, &image, &short, &outside, undefined, sampled).unwrap_err();
    assert!(
        matches!(
            err,
            vkup_staging::Error::InvalidSubresource { level: 9, .. }
        ),
        "{err}"
    );
    // A ring smaller than one row (16 RGBA8 texels) is refused when the upload records, with
    // what it needs.
    let data = [0u8; 1024];
    let mut upload = ImageUpload::packed(&stager, &image, &data, 1, undefined, sampled).unwrap();
    let mut ring = StagingRing::new(&alloc, 32).unwrap();
    gpu.submit_and_wait(|cmd| {
        // SAFETY: recording on the Gpu's queue; nothing is recorded (the call fails first).
        let err = unsafe { upload.record(cmd, &stager, &alloc, &mut ring) }.unwrap_err();
        assert!(
            matches!(err, vkup_staging::Error::RingTooSmall { needed, capacity: 32 }
                if needed >= 64 && needed == upload.min_ring_size()),
            "{err}"
        );
    });
    // SAFETY: the submission completed.
    unsafe { ring.destroy(&alloc) };
    // SAFETY: nothing was submitted.
    unsafe { alloc.destroy_image(image) };
}
