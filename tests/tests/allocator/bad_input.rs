use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::{BufferDesc, Error, ImageDesc, MipLevels};

enum Desc {
    Buffer(BufferDesc<'static>),
    Image(ImageDesc<'static>),
}

/// Which variant an error is, by name, so the table can say what it expects.
fn variant(err: &Error) -> &'static str {
    match err {
        Error::InvalidDesc { .. } => "InvalidDesc",
        Error::ExceedsLimit { .. } => "ExceedsLimit",
        Error::UnsupportedFormat { .. } => "UnsupportedFormat",
        Error::Unsupported { .. } => "Unsupported",
        Error::OutOfMemory { .. } => "OutOfMemory",
        Error::NotMappable { .. } => "NotMappable",
        Error::OutOfBounds { .. } => "OutOfBounds",
        _ => "other",
    }
}

#[test]
fn every_bad_description_gets_its_typed_error_and_creates_nothing() {
    let gpu = Gpu::new();
    // Buffer device address off, so asking for it is bad input.
    let alloc = gpu.allocator_with(&gpu.allocator_desc().buffer_device_address(false));
    let limits = gpu.properties.limits;
    let rgba = vk::Format::R8G8B8A8_UNORM;
    let sampled = vk::ImageUsageFlags::SAMPLED;
    let tex = |w, h| ImageDesc::new_2d(rgba, w, h).usage(sampled);
    let vertex = vk::BufferUsageFlags::VERTEX_BUFFER;
    let three_d_layers = ImageDesc::new_3d(rgba, 8, 8, 8)
        .usage(sampled)
        .array_layers(2);
    let cube_3d = ImageDesc::new_3d(rgba, 8, 8, 8)
        .usage(sampled)
        .flags(vk::ImageCreateFlags::CUBE_COMPATIBLE);
    // 1D images with rows and 2D images with slices are unrepresentable: the constructors fix
    // the extent's unused dimensions at 1 and the fields are private.
    let one_d = ImageDesc::new_1d(rgba, limits.max_image_dimension1_d + 1).usage(sampled);

    let table: Vec<(&str, Desc, &str, &str)> = vec![
        (
            "zero-size buffer",
            Desc::Buffer(BufferDesc::new(0, vertex)),
            "InvalidDesc",
            "size",
        ),
        (
            "buffer without usage",
            Desc::Buffer(BufferDesc::new(64, vk::BufferUsageFlags::empty())),
            "InvalidDesc",
            "usage",
        ),
        (
            "buffer beyond maxBufferSize",
            Desc::Buffer(BufferDesc::new(u64::MAX / 2, vertex)),
            "ExceedsLimit",
            "size",
        ),
        (
            "priority above 1",
            Desc::Buffer(BufferDesc::vertex(64).priority(1.5)),
            "InvalidDesc",
            "priority",
        ),
        (
            "priority NaN",
            Desc::Buffer(BufferDesc::vertex(64).priority(f32::NAN)),
            "InvalidDesc",
            "priority",
        ),
        (
            "name with NUL",
            Desc::Buffer(BufferDesc::vertex(64).name("bad\0name")),
            "InvalidDesc",
            "name",
        ),
        (
            "device address without the option",
            Desc::Buffer(BufferDesc::new(
                64,
                vk::BufferUsageFlags::SHADER_DEVICE_ADDRESS,
            )),
            "InvalidDesc",
            "usage",
        ),
        (
            "zero width",
            Desc::Image(tex(0, 8)),
            "InvalidDesc",
            "extent.width",
        ),
        (
            "zero height",
            Desc::Image(tex(8, 0)),
            "InvalidDesc",
            "extent.height",
        ),
        (
            "zero depth",
            Desc::Image(ImageDesc::new_3d(rgba, 8, 8, 0).usage(sampled)),
            "InvalidDesc",
            "extent.depth",
        ),
        (
            "zero mip levels",
            Desc::Image(tex(8, 8).mip_levels(MipLevels::Count(0))),
            "InvalidDesc",
            "mip_levels",
        ),
        (
            "mips beyond the full chain",
            Desc::Image(tex(1024, 1024).mip_levels(MipLevels::Count(12))),
            "InvalidDesc",
            "mip_levels",
        ),
        (
            "zero layers",
            Desc::Image(tex(8, 8).array_layers(0)),
            "InvalidDesc",
            "array_layers",
        ),
        (
            "width beyond maxImageDimension2D",
            Desc::Image(tex(limits.max_image_dimension2_d + 1, 8)),
            "ExceedsLimit",
            "extent.width",
        ),
        (
            "1D width beyond maxImageDimension1D",
            Desc::Image(one_d),
            "ExceedsLimit",
            "extent.width",
        ),
        (
            "3D depth beyond maxImageDimension3D",
            Desc::Image(
                ImageDesc::new_3d(rgba, 8, 8, limits.max_image_dimension3_d + 1).usage(sampled),
            ),
            "ExceedsLimit",
            "extent.depth",
        ),
        (
            "layers beyond maxImageArrayLayers",
            Desc::Image(tex(8, 8).array_layers(limits.max_image_array_layers + 1)),
            "ExceedsLimit",
            "array_layers",
        ),
        (
            "cube not square",
            Desc::Image(
                tex(8, 4)
                    .array_layers(6)
                    .flags(vk::ImageCreateFlags::CUBE_COMPATIBLE),
            ),
            "InvalidDesc",
            "extent",
        ),
        (
            "cube with 5 layers",
            Desc::Image(ImageDesc::cube(rgba, 8).usage(sampled).array_layers(5)),
            "InvalidDesc",
            "array_layers",
        ),
        (
            "cube that is 3D",
            Desc::Image(cube_3d),
            "InvalidDesc",
            "flags",
        ),
        (
            "3D image with layers",
            Desc::Image(three_d_layers),
            "InvalidDesc",
            "array_layers",
        ),
        (
            "undefined format",
            Desc::Image(ImageDesc::new_2d(vk::Format::UNDEFINED, 8, 8).usage(sampled)),
            "InvalidDesc",
            "format",
        ),
        (
            "image without usage",
            Desc::Image(ImageDesc::new_2d(rgba, 8, 8)),
            "InvalidDesc",
            "usage",
        ),
        (
            "3 samples",
            Desc::Image(tex(8, 8).samples(3)),
            "InvalidDesc",
            "samples",
        ),
        (
            "multisampled with mips",
            Desc::Image(tex(8, 8).samples(4).mip_levels(MipLevels::Count(2))),
            "InvalidDesc",
            "samples",
        ),
        (
            "depth format as colour attachment",
            Desc::Image(
                ImageDesc::new_2d(vk::Format::D32_SFLOAT, 8, 8)
                    .usage(vk::ImageUsageFlags::COLOR_ATTACHMENT),
            ),
            "UnsupportedFormat",
            "format",
        ),
        (
            "block-compressed colour attachment",
            Desc::Image(
                ImageDesc::new_2d(vk::Format::BC7_UNORM_BLOCK, 8, 8)
                    .usage(vk::ImageUsageFlags::COLOR_ATTACHMENT),
            ),
            "UnsupportedFormat",
            "format",
        ),
        (
            "name with NUL on an image",
            Desc::Image(tex(8, 8).name("x\0y")),
            "InvalidDesc",
            "name",
        ),
        (
            "CUBE_COMPATIBLE flag on a non-square image",
            Desc::Image(
                tex(8, 4)
                    .array_layers(6)
                    .flags(vk::ImageCreateFlags::CUBE_COMPATIBLE),
            ),
            "InvalidDesc",
            "extent",
        ),
        (
            "CUBE_COMPATIBLE flag with 5 layers",
            Desc::Image(
                tex(8, 8)
                    .array_layers(5)
                    .flags(vk::ImageCreateFlags::CUBE_COMPATIBLE),
            ),
            "InvalidDesc",
            "array_layers",
        ),
        (
            "TYPE_2D_ARRAY_COMPATIBLE on a 2D image",
            Desc::Image(tex(8, 8).flags(vk::ImageCreateFlags::TYPE_2D_ARRAY_COMPATIBLE)),
            "InvalidDesc",
            "flags",
        ),
        (
            "SPARSE_BINDING (VMA cannot bind sparse images)",
            Desc::Image(tex(8, 8).flags(vk::ImageCreateFlags::SPARSE_BINDING)),
            "InvalidDesc",
            "flags",
        ),
        (
            "PROTECTED",
            Desc::Image(tex(8, 8).flags(vk::ImageCreateFlags::PROTECTED)),
            "InvalidDesc",
            "flags",
        ),
        (
            "an extension's create flag",
            Desc::Image(tex(8, 8).flags(vk::ImageCreateFlags::from_raw(1 << 30))),
            "InvalidDesc",
            "flags",
        ),
        (
            "BLOCK_TEXEL_VIEW_COMPATIBLE without MUTABLE_FORMAT",
            Desc::Image(
                ImageDesc::new_2d(vk::Format::BC7_UNORM_BLOCK, 8, 8)
                    .usage(sampled)
                    .flags(vk::ImageCreateFlags::BLOCK_TEXEL_VIEW_COMPATIBLE),
            ),
            "InvalidDesc",
            "flags",
        ),
        (
            "BLOCK_TEXEL_VIEW_COMPATIBLE on an uncompressed format",
            Desc::Image(tex(8, 8).flags(
                vk::ImageCreateFlags::BLOCK_TEXEL_VIEW_COMPATIBLE
                    | vk::ImageCreateFlags::MUTABLE_FORMAT,
            )),
            "InvalidDesc",
            "flags",
        ),
        (
            "multisampled STORAGE without the feature",
            Desc::Image(
                ImageDesc::new_2d(rgba, 8, 8)
                    .usage(vk::ImageUsageFlags::STORAGE)
                    .samples(4),
            ),
            "InvalidDesc",
            "samples",
        ),
        (
            "unknown image usage bit",
            Desc::Image(tex(8, 8).usage(vk::ImageUsageFlags::from_raw(1 << 29))),
            "InvalidDesc",
            "usage",
        ),
        (
            "unknown buffer usage bit",
            Desc::Buffer(BufferDesc::vertex(64).usage(vk::BufferUsageFlags::from_raw(1 << 29))),
            "InvalidDesc",
            "usage",
        ),
        (
            "TRANSIENT_ATTACHMENT with SAMPLED",
            Desc::Image(tex(8, 8).usage(
                vk::ImageUsageFlags::TRANSIENT_ATTACHMENT | vk::ImageUsageFlags::COLOR_ATTACHMENT,
            )),
            "InvalidDesc",
            "usage",
        ),
        (
            "colour attachment wider than maxFramebufferWidth",
            Desc::Image(
                ImageDesc::new_2d(rgba, limits.max_framebuffer_width + 1, 8)
                    .usage(vk::ImageUsageFlags::COLOR_ATTACHMENT),
            ),
            "ExceedsLimit",
            "extent.width",
        ),
        (
            "unknown format value",
            Desc::Image(ImageDesc::new_2d(vk::Format::from_raw(999_999), 8, 8).usage(sampled)),
            "InvalidDesc",
            "format",
        ),
        (
            "4:2:0 format with an odd height",
            Desc::Image(
                ImageDesc::new_2d(vk::Format::G8_B8R8_2PLANE_420_UNORM, 8, 7).usage(sampled),
            ),
            "InvalidDesc",
            "extent",
        ),
        (
            "concurrent sharing with one family",
            Desc::Buffer(BufferDesc::new(64, vertex).concurrent(&[0])),
            "InvalidDesc",
            "concurrent",
        ),
        (
            "concurrent sharing with a family the device lacks",
            Desc::Image(tex(8, 8).concurrent(&[0, 4096])),
            "InvalidDesc",
            "concurrent",
        ),
        (
            "concurrent sharing naming a family twice",
            Desc::Buffer(BufferDesc::new(64, vertex).concurrent(&[0, 0])),
            "InvalidDesc",
            "concurrent",
        ),
        (
            "tiling from an extension",
            Desc::Image(tex(8, 8).tiling(vk::ImageTiling::DRM_FORMAT_MODIFIER_EXT)),
            "InvalidDesc",
            "tiling",
        ),
    ];
    assert!(table.len() >= 20);

    for (case, desc, want_variant, want_field) in table {
        let live_before = alloc.live_allocations().unwrap();
        let err = match &desc {
            Desc::Buffer(d) => alloc
                .create_buffer(d)
                // SAFETY: the handles come from this allocator and no submitted work uses them.
                .map(|b| unsafe { alloc.destroy_buffer(b) }),
            Desc::Image(d) => alloc
                .create_image(d)
                // SAFETY: the handles come from this allocator and no submitted work uses them.
                .map(|i| unsafe { alloc.destroy_image(i) }),
        }
        .err()
        .unwrap_or_else(|| panic!("{case}: was accepted"));
        assert_eq!(variant(&err), want_variant, "{case}: {err}");
        assert_eq!(err.field(), Some(want_field), "{case}: {err}");
        assert!(!err.to_string().is_empty());
        assert_eq!(
            alloc.live_allocations().unwrap(),
            live_before,
            "{case}: leaked"
        );
    }
}

#[test]
fn a_cube_with_more_than_six_layers_is_accepted() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    // VUID-VkImageCreateInfo-imageType-00954 asks for at least 6 layers, not a multiple of 6: a
    // cube view takes any 6 of them.
    let desc = ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 8, 8)
        .usage(vk::ImageUsageFlags::SAMPLED)
        .array_layers(7)
        .flags(vk::ImageCreateFlags::CUBE_COMPATIBLE);
    let image = alloc
        .create_image(&desc)
        .expect("7-layer cube-compatible image");
    // SAFETY: no GPU work uses it.
    unsafe { alloc.destroy_image(image) };
}

#[test]
fn debug_names_need_the_instance_extension() {
    // An instance without VK_EXT_debug_utils: vkGetDeviceProcAddr still hands out the entry
    // point, so only the instance-level query can tell.
    let gpu = Gpu::with_options(gpu_tests::GpuOptions {
        validation: false,
        debug_utils: false,
        pipeline_statistics: false,
        host_image_copy: false,
    });
    let desc = gpu.allocator_desc().debug_names(&gpu.entry);
    // SAFETY: the Gpu's handles outlive the allocator, which matches how the device was made.
    let err = unsafe { vkup_allocator::Allocator::new(&desc) }.unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    // The same description without debug names (this Gpu's has none of its own).
    let plain = gpu.allocator_desc();
    // SAFETY: as above.
    let alloc = unsafe { vkup_allocator::Allocator::new(&plain) }.expect("without debug names");
    let named = alloc.create_buffer(&BufferDesc::vertex(64).name("named anyway"));
    // SAFETY: no GPU work uses it.
    unsafe { alloc.destroy_buffer(named.expect("names are kept in VMA without debug_utils")) };
}

#[test]
fn heap_limit_for_a_missing_heap_is_refused() {
    let gpu = Gpu::new();
    let desc = gpu.allocator_desc().heap_size_limit(99, 1 << 20);
    // SAFETY: the Gpu's handles outlive the allocator, which matches how the device was made.
    let err = unsafe { vkup_allocator::Allocator::new(&desc) }.unwrap_err();
    assert_eq!(err.field(), Some("heap_size_limits"), "{err}");
}
