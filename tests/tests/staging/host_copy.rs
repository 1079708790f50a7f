//! Image uploads by the host alone (`VK_EXT_host_image_copy`), read back exact where the device
//! offers it (the H200); where it does not (lavapipe 22.3), the copier is refused by name.

use ash::vk;
use gpu_tests::{Gpu, GpuOptions};
use vkup_allocator::{ImageDesc, MipLevels};
use vkup_staging::{packed_layouts, Access, Error, HostImageCopier, ResourceState};

use crate::{pattern, read_image};

#[test]
fn host_image_copies_read_back_exact_or_the_copier_is_refused() {
    // Layers built before the extension (1.3.258) report its structures as unknown: there the
    // device is made without validation, and the test says so.
    let knows = gpu_tests::validation_layer_version()
        .is_some_and(|v| v >= vk::make_api_version(0, 1, 3, 258));
    if !knows {
        eprintln!(
            "the validation layer predates VK_EXT_host_image_copy: this test runs without it"
        );
    }
    let gpu = Gpu::with_options(GpuOptions {
        validation: knows,
        debug_utils: true,
        pipeline_statistics: false,
        host_image_copy: true,
    });
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
