//! Image uploads by the host alone (`VK_EXT_host_image_copy`), read back exact where the device
//! offers it (the H200); where it does not (lavapipe 22.3), the copier is refused by name.

use ash::vk;
use gpu_tests::{Gpu, GpuOptions};
use vkup_allocator::{ImageDesc, MipLevels};
use vkup_staging::{
    packed_layouts, Access, Error, HostImageCopier, ImageUpload, ProduceError, ResourceState, Slot,
    StagingRing, UploadPath,
};

use crate::{pattern, read_image, run_together};

/// A device with `VK_EXT_host_image_copy` enabled where it is offered. Validation layers built
/// before the extension (1.3.258) report its structures as unknown: there the device is made
/// without validation, and the test says so.
fn host_copy_gpu() -> Gpu {
    let knows = gpu_tests::validation_layer_version()
        .is_some_and(|v| v >= vk::make_api_version(0, 1, 3, 258));
    if !knows {
        eprintln!(
            "the validation layer predates VK_EXT_host_image_copy: this test runs without it"
        );
    }
    Gpu::with_options(GpuOptions {
        validation: knows,
        debug_utils: true,
        pipeline_statistics: false,
        host_image_copy: true,
    })
}

#[test]
fn host_image_copies_read_back_exact_or_the_copier_is_refused() {
    let gpu = host_copy_gpu();
    let alloc = gpu.allocator();
    // SAFETY: the harness enables the extension with its feature wherever the device offers it.
    let copier = unsafe { HostImageCopier::new(&alloc) };
    if !gpu.host_image_copy {
        assert!(
            matches!(
                copier,
                Err(Error::Unsupported {
                    what: "VK_EXT_host_image_copy"
                })
            ),
            "{copier:?}"
        );
        println!("{}: no VK_EXT_host_image_copy; refused", gpu.device_name());
        return;
    }
    let copier = copier.unwrap();
    println!("host copy layouts: {:?}", copier.dst_layouts());
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
    let usage = vk::ImageUsageFlags::SAMPLED
        | vk::ImageUsageFlags::TRANSFER_SRC
        | vk::ImageUsageFlags::HOST_TRANSFER_EXT;
    // The driver's answers (printed for the closing note).
    for format in [
        vk::Format::R8G8B8A8_SRGB,
        vk::Format::BC7_UNORM_BLOCK,
        vk::Format::R32G32B32A32_SFLOAT,
    ] {
        let answer = copier
            .optimal_device_access(format, usage, vk::ImageCreateFlags::empty())
            .unwrap();
        println!("{format:?}: optimal device access {answer}");
    }

    let cases = [
        ImageDesc::new_2d(vk::Format::R8G8B8A8_SRGB, 61, 33).mip_levels(MipLevels::Full),
        ImageDesc::new_2d(vk::Format::BC7_UNORM_BLOCK, 36, 20)
            .array_layers(3)
            .mip_levels(MipLevels::Full),
        ImageDesc::new_3d(vk::Format::R16G16B16A16_SFLOAT, 9, 7, 5),
    ];
    for (i, desc) in cases.into_iter().enumerate() {
        let image = alloc.create_image(&desc.clone().usage(usage)).unwrap();
        let (layouts, len) = packed_layouts(&image, image.mip_levels()).unwrap();
        let data = pattern(len as usize, 40 + i as u64);
        // SAFETY: a new image, used by nothing yet, on this thread alone.
        let state =
            unsafe { copier.upload_packed(&image, &data, image.mip_levels(), sampled) }.unwrap();
        assert_eq!(state, sampled);
        let back = read_image(&gpu, &alloc, &image, sampled);
        for (k, l) in layouts.iter().enumerate() {
            let end = layouts.get(k + 1).map_or(len, |n| n.offset) as usize;
            let (got, expected) = (&back[l.offset as usize..end], &data[l.offset as usize..end]);
            assert!(
                got == expected,
                "{:?}: level {} layer {}",
                desc.format(),
                l.level,
                l.layer
            );
        }
        // SAFETY: completed (the readback waited).
        unsafe { alloc.destroy_image(image) };
    }
    // Refused before the driver sees them: no HOST_TRANSFER usage, a short buffer, a layout the
    // device does not copy into, a state naming a queue family.
    let plain = alloc
        .create_image(&ImageDesc::texture_2d(vk::Format::R8G8B8A8_UNORM, 4, 4))
        .unwrap();
    // SAFETY: refused before anything is done.
    let refused = unsafe { copier.upload_packed(&plain, &[0; 64], 1, sampled) };
    assert!(
        matches!(refused, Err(Error::MissingImageUsage { .. })),
        "{refused:?}"
    );
    let host = alloc
        .create_image(&ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 4, 4).usage(usage))
        .unwrap();
    // SAFETY: as above.
    let short = unsafe { copier.upload_packed(&host, &[0; 63], 1, sampled) };
    assert!(
        matches!(short, Err(Error::InvalidSource { .. })),
        "{short:?}"
    );
    // SAFETY: as above.
    let queued = unsafe { copier.upload_packed(&host, &[0; 64], 1, sampled.on_queue(0)) };
    assert!(
        matches!(queued, Err(Error::InvalidState { .. })),
        "{queued:?}"
    );
    // SAFETY: nothing used them; every submission completed.
    unsafe {
        alloc.destroy_image(plain);
        alloc.destroy_image(host);
    }
}

/// Without a copier on the stager the host path is refused by name and `Auto` stages; an
/// image that neither takes copies nor has a copier to write it is refused when the upload is
/// made.
#[test]
fn image_uploads_without_a_host_copier_stage_and_refuse_the_host_path_by_name() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    assert!(stager.host_image_copier().is_none());
    let mut submitter = gpu.submitter();
    let mut ring = StagingRing::new(&alloc, 1 << 16).unwrap();
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
    let image = alloc
        .create_image(&ImageDesc::texture_2d(vk::Format::R8G8B8A8_UNORM, 8, 8))
        .unwrap();
    let data = pattern(256, 3);
    let upload = || {
        ImageUpload::packed(&stager, &image, &data, 1, ResourceState::UNDEFINED, sampled).unwrap()
    };
    assert_eq!(upload().resolved_path(), UploadPath::Staged);
    let mut forced = upload().path(UploadPath::Direct);
    // SAFETY: recording on the submitter's queue; refused before anything is recorded.
    let refused = unsafe {
        submitter.run(&mut ring, |cmd, ring| {
            forced.record(cmd, &stager, &alloc, ring)
        })
    };
    assert!(
        matches!(
            refused,
            Err(Error::PathUnavailable {
                path: UploadPath::Direct,
                reason
            }) if reason.contains("HostImageCopier")
        ),
        "{refused:?}"
    );
    let unwritable = alloc
        .create_image(
            &ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 8, 8)
                .usage(vk::ImageUsageFlags::SAMPLED),
        )
        .unwrap();
    let made = ImageUpload::packed(
        &stager,
        &unwritable,
        &data,
        1,
        ResourceState::UNDEFINED,
        sampled,
    );
    assert!(
        matches!(made, Err(Error::MissingImageUsage { .. })),
        "{made:?}"
    );
    // SAFETY: every submission completed (`run` waits).
    unsafe {
        alloc.destroy_image(image);
        alloc.destroy_image(unwritable);
        submitter.destroy().unwrap();
        ring.destroy(&alloc);
    }
}

/// With a copier on the stager, `Auto` host-copies what it should (small images idle on the
/// host, an image that takes no copies whatever its size) and stages the rest (large images,
/// an image the GPU may still read, data written in place); every image reads back exact, alone
/// and recorded together with staged ones on four threads; a host copy of one level keeps the
/// others; a forced host path that cannot run is refused by name.
#[test]
fn image_uploads_host_copy_where_auto_picks_it_and_read_back_exact() {
    let gpu = host_copy_gpu();
    let alloc = gpu.allocator();
    // SAFETY: the harness enables the extension with its feature wherever the device offers it.
    let copier = match unsafe { HostImageCopier::new(&alloc) } {
        Ok(copier) => copier,
        Err(err) => {
            assert!(!gpu.host_image_copy, "{err:?}");
            assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
            println!("{}: no VK_EXT_host_image_copy; refused", gpu.device_name());
            return;
        }
    };
    let keeps_sampled = copier
        .dst_layouts()
        .contains(&vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL);
    let stager = gpu.stager(&alloc).threads(4).host_image_copy(copier);
    let mut submitter = gpu.submitter();
    let mut ring = StagingRing::new(&alloc, 1 << 20).unwrap();
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
    let usage = vk::ImageUsageFlags::SAMPLED
        | vk::ImageUsageFlags::TRANSFER_SRC
        | vk::ImageUsageFlags::TRANSFER_DST
        | vk::ImageUsageFlags::HOST_TRANSFER_EXT;
    let host_only = vk::ImageUsageFlags::SAMPLED
        | vk::ImageUsageFlags::TRANSFER_SRC
        | vk::ImageUsageFlags::HOST_TRANSFER_EXT;
    // (image, the path Auto must pick, from)
    let cases = [
        (
            ImageDesc::new_2d(vk::Format::R8G8B8A8_SRGB, 61, 33).usage(usage),
            UploadPath::Direct,
            ResourceState::UNDEFINED,
        ),
        (
            ImageDesc::new_2d(vk::Format::BC7_UNORM_BLOCK, 36, 20)
                .array_layers(3)
                .usage(usage),
            UploadPath::Direct,
            ResourceState::UNDEFINED,
        ),
        (
            ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 512, 300).usage(usage),
            UploadPath::Staged,
            ResourceState::UNDEFINED,
        ),
        (
            ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 512, 300).usage(host_only),
            UploadPath::Direct,
            ResourceState::UNDEFINED,
        ),
        (
            ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 16, 16).usage(usage),
            UploadPath::Staged,
            sampled,
        ),
    ];
    let mut made = Vec::new();
    for (i, (desc, path, from)) in cases.into_iter().enumerate() {
        let image = alloc
            .create_image(&desc.mip_levels(MipLevels::Full))
            .unwrap();
        let (_, len) = packed_layouts(&image, image.mip_levels()).unwrap();
        let data = pattern(len as usize, 90 + i as u64);
        made.push((image, path, from, data));
    }
    // One at a time.
    for (image, path, from, data) in &made {
        if *from == sampled {
            // Give it contents and the state it claims to be in.
            let mut first = ImageUpload::packed(
                &stager,
                image,
                data,
                image.mip_levels(),
                ResourceState::UNDEFINED,
                sampled,
            )
            .unwrap()
            .path(UploadPath::Staged);
            // SAFETY: recording on the submitter's queue; the image and ring outlive `run`.
            let _ = unsafe {
                submitter.run(&mut ring, |cmd, ring| {
                    first.record(cmd, &stager, &alloc, ring)
                })
            }
            .unwrap();
        }
        let mut upload =
            ImageUpload::packed(&stager, image, data, image.mip_levels(), *from, sampled).unwrap();
        assert_eq!(upload.resolved_path(), *path, "{:?}", image.format());
        let before = ring.high_water();
        // SAFETY: as above; the image is idle (every earlier submission completed) and this
        // thread's alone.
        let done = unsafe {
            submitter.run(&mut ring, |cmd, ring| {
                upload.record(cmd, &stager, &alloc, ring)
            })
        }
        .unwrap();
        assert_eq!(done.state, sampled);
        if *path == UploadPath::Direct && *from != sampled {
            assert_eq!(ring.high_water(), before, "a host copy used no ring space");
        }
        assert!(
            read_image(&gpu, &alloc, image, sampled) == *data,
            "{:?}",
            image.format()
        );
    }
    // Together, with staged uploads beside them: the host copies finish in the first call.
    let fresh: Vec<Vec<u8>> = made
        .iter()
        .enumerate()
        .map(|(i, (_, _, _, data))| pattern(data.len(), 200 + i as u64))
        .collect();
    let mut uploads: Vec<ImageUpload<'_>> = made
        .iter()
        .zip(&fresh)
        .map(|((image, _, _, _), data)| {
            // `sampled` as `from`: forced paths, the images idle (completed above).
            let path = if image.usage().contains(vk::ImageUsageFlags::TRANSFER_DST)
                && image.extent().width > 100
            {
                UploadPath::Staged
            } else {
                UploadPath::Direct
            };
            ImageUpload::packed(&stager, image, data, image.mip_levels(), sampled, sampled)
                .unwrap()
                .path(if keeps_sampled {
                    path
                } else {
                    UploadPath::Staged
                })
        })
        .collect();
    let direct: Vec<bool> = uploads
        .iter()
        .map(|u| u.resolved_path() == UploadPath::Direct)
        .collect();
    let mut refs: Vec<&mut ImageUpload<'_>> = uploads.iter_mut().collect();
    let ends = run_together(&gpu, &alloc, &stager, &mut ring, &mut refs).unwrap();
    for (i, (&(state, call), &direct)) in ends.iter().zip(&direct).enumerate() {
        assert_eq!(state, sampled, "upload {i}");
        assert!(!direct || call == 0, "host copy {i} done in the first call");
    }
    assert!(
        // Every image but the large one that takes copies (the other 512x300 takes none).
        !keeps_sampled || direct.iter().filter(|&&d| d).count() == 4,
        "{direct:?}"
    );
    for ((image, _, _, _), data) in made.iter().zip(&fresh) {
        let back = read_image(&gpu, &alloc, image, sampled);
        assert!(back == *data, "together: {:?}", image.format());
    }
    // One level on the host, the others kept: from `sampled`, where the device copies into it.
    let (image, _, _, _) = &made[0];
    let (layouts, _) = packed_layouts(image, image.mip_levels()).unwrap();
    let level2 = layouts.iter().find(|l| l.level == 2).unwrap();
    let level2_len = (layouts[3].offset - level2.offset) as usize;
    let level2_data = pattern(level2_len, 7);
    let one = vkup_staging::SubresourceLayout {
        offset: 0,
        ..*level2
    };
    let mut level = ImageUpload::new(&stager, image, &level2_data, &[one], sampled, sampled)
        .unwrap()
        .listed_subresources_only()
        .path(UploadPath::Direct);
    // SAFETY: as above.
    let result = unsafe {
        submitter.run(&mut ring, |cmd, ring| {
            level.record(cmd, &stager, &alloc, ring)
        })
    };
    let mut expected = fresh[0].clone();
    if keeps_sampled {
        let _ = result.unwrap();
        expected[level2.offset as usize..][..level2_len].copy_from_slice(&level2_data);
    } else {
        assert!(
            matches!(result, Err(Error::PathUnavailable { .. })),
            "{result:?}"
        );
    }
    assert!(
        read_image(&gpu, &alloc, image, sampled) == expected,
        "one level"
    );
    // Written in place: `Auto` stages it, and the host path is refused by name.
    let (image, _, _, data) = &made[0];
    let mut at = 0usize;
    let producer = |mut slot: Slot<'_>| -> Result<(), ProduceError> {
        let len = slot.len();
        slot.copy_from(&data[at..at + len])?;
        at += len;
        Ok(())
    };
    let produced = ImageUpload::in_place(
        &stager,
        image,
        image.mip_levels(),
        ResourceState::UNDEFINED,
        sampled,
        producer,
    )
    .unwrap();
    assert_eq!(produced.resolved_path(), UploadPath::Staged);
    let mut produced = produced.path(UploadPath::Direct);
    // SAFETY: refused before anything is recorded.
    let refused = unsafe {
        submitter.run(&mut ring, |cmd, ring| {
            produced.record(cmd, &stager, &alloc, ring)
        })
    };
    assert!(
        matches!(
            refused,
            Err(Error::PathUnavailable {
                path: UploadPath::Direct,
                reason
            }) if reason.contains("in memory")
        ),
        "{refused:?}"
    );
    drop(produced);
    // SAFETY: every submission completed.
    unsafe {
        for (image, _, _, _) in made {
            alloc.destroy_image(image);
        }
        submitter.destroy().unwrap();
        ring.destroy(&alloc);
    }
}
