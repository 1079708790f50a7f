//! Checks of descriptions against the device's limits, as pure functions.
//!
//! Everything here runs before any Vulkan call, so a refused description creates nothing and leaks
//! nothing. The format-specific check (`vkGetPhysicalDeviceImageFormatProperties`) is the one part
//! that needs the device; its answer is checked here too, by [`image_against_format`].

use ash::vk;

use crate::desc::{full_mip_chain, BufferDesc, ImageDesc, ImageDimension, MipLevels};
use crate::error::{Error, Result};

/// The device limits descriptions are checked against, read once when the allocator is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DeviceLimits {
    /// `VkPhysicalDeviceMaintenance4Properties::maxBufferSize` (Vulkan 1.3), else `u64::MAX`.
    pub max_buffer_size: u64,
    /// `VkPhysicalDeviceMaintenance3Properties::maxMemoryAllocationSize` (Vulkan 1.1).
    pub max_memory_allocation_size: u64,
    pub max_image_dimension_1d: u32,
    pub max_image_dimension_2d: u32,
    pub max_image_dimension_3d: u32,
    pub max_image_dimension_cube: u32,
    pub max_image_array_layers: u32,
    pub max_framebuffer_width: u32,
    pub max_framebuffer_height: u32,
    /// Whether the allocator was made with buffer device address on.
    pub buffer_device_address: bool,
    /// The enabled `shaderStorageImageMultisample` feature.
    pub storage_image_multisample: bool,
    /// Buffer usage bits of extensions the caller enabled, accepted beside the core ones.
    pub extra_buffer_usage: vk::BufferUsageFlags,
    /// Image usage bits of extensions the caller enabled.
    pub extra_image_usage: vk::ImageUsageFlags,
    /// How many queue families the physical device has.
    pub queue_family_count: u32,
}

impl DeviceLimits {
    /// Limits that accept everything a description can say (for tests of one rule at a time).
    #[cfg(test)]
    pub(crate) fn permissive() -> Self {
        Self {
            max_buffer_size: u64::MAX,
            max_memory_allocation_size: u64::MAX,
            max_image_dimension_1d: u32::MAX,
            max_image_dimension_2d: u32::MAX,
            max_image_dimension_3d: u32::MAX,
            max_image_dimension_cube: u32::MAX,
            max_image_array_layers: u32::MAX,
            max_framebuffer_width: u32::MAX,
            max_framebuffer_height: u32::MAX,
            buffer_device_address: true,
            storage_image_multisample: true,
            extra_buffer_usage: vk::BufferUsageFlags::empty(),
            extra_image_usage: vk::ImageUsageFlags::empty(),
            queue_family_count: u32::MAX,
        }
    }
}

#[inline]
fn check_priority(priority: Option<f32>) -> Result<()> {
    match priority {
        Some(p) if !(0.0..=1.0).contains(&p) => Err(Error::invalid(
            "priority",
            format!("{p} is outside 0.0..=1.0"),
        )),
        _ => Ok(()),
    }
}

#[inline]
fn check_name(name: Option<&str>) -> Result<()> {
    match name {
        Some(name) if name.contains('\0') => Err(Error::invalid(
            "name",
            "contains a NUL byte, which Vulkan names cannot hold",
        )),
        _ => Ok(()),
    }
}

#[inline]
fn exceeds(field: &'static str, value: impl Into<u64>, limit: impl Into<u64>) -> Result<()> {
    let (value, limit) = (value.into(), limit.into());
    if value > limit {
        Err(Error::ExceedsLimit {
            field,
            value,
            limit,
        })
    } else {
        Ok(())
    }
}

/// Buffer usage of Vulkan 1.0 plus `SHADER_DEVICE_ADDRESS` (Vulkan 1.2).
const CORE_BUFFER_USAGE: vk::BufferUsageFlags = vk::BufferUsageFlags::from_raw(
    vk::BufferUsageFlags::TRANSFER_SRC.as_raw()
        | vk::BufferUsageFlags::TRANSFER_DST.as_raw()
        | vk::BufferUsageFlags::UNIFORM_TEXEL_BUFFER.as_raw()
        | vk::BufferUsageFlags::STORAGE_TEXEL_BUFFER.as_raw()
        | vk::BufferUsageFlags::UNIFORM_BUFFER.as_raw()
        | vk::BufferUsageFlags::STORAGE_BUFFER.as_raw()
        | vk::BufferUsageFlags::INDEX_BUFFER.as_raw()
        | vk::BufferUsageFlags::VERTEX_BUFFER.as_raw()
        | vk::BufferUsageFlags::INDIRECT_BUFFER.as_raw()
        | vk::BufferUsageFlags::SHADER_DEVICE_ADDRESS.as_raw(),
);

/// Image usage of Vulkan 1.0.
const CORE_IMAGE_USAGE: vk::ImageUsageFlags = vk::ImageUsageFlags::from_raw(0xFF);

/// The attachment usages, the only ones `TRANSIENT_ATTACHMENT` may be combined with.
const ATTACHMENT_USAGE: vk::ImageUsageFlags = vk::ImageUsageFlags::from_raw(
    vk::ImageUsageFlags::COLOR_ATTACHMENT.as_raw()
        | vk::ImageUsageFlags::DEPTH_STENCIL_ATTACHMENT.as_raw()
        | vk::ImageUsageFlags::INPUT_ATTACHMENT.as_raw(),
);

/// Create flags this crate can honour: VMA binds one allocation to the whole image, so sparse,
/// disjoint (per-plane memory) and split-instance images are out, and protected memory is not
/// something it allocates.
const SUPPORTED_IMAGE_FLAGS: vk::ImageCreateFlags = vk::ImageCreateFlags::from_raw(
    vk::ImageCreateFlags::MUTABLE_FORMAT.as_raw()
        | vk::ImageCreateFlags::CUBE_COMPATIBLE.as_raw()
        | vk::ImageCreateFlags::ALIAS.as_raw()
        | vk::ImageCreateFlags::TYPE_2D_ARRAY_COMPATIBLE.as_raw()
        | vk::ImageCreateFlags::BLOCK_TEXEL_VIEW_COMPATIBLE.as_raw()
        | vk::ImageCreateFlags::EXTENDED_USAGE.as_raw(),
);

/// Whether `format` is a value of core Vulkan 1.3, the only formats this crate passes on to
/// `vkGetPhysicalDeviceImageFormatProperties` (an unknown value there is undefined behaviour, not
/// an error).
#[inline]
pub(crate) fn is_core_format(format: vk::Format) -> bool {
    matches!(
        format.as_raw(),
        1..=184 // Vulkan 1.0
            | 1_000_156_000..=1_000_156_033 // 1.1: Y'CbCr
            | 1_000_066_000..=1_000_066_013 // 1.3: ASTC HDR
            | 1_000_330_000..=1_000_330_003 // 1.3: 4:4:4 two-plane
            | 1_000_340_000..=1_000_340_001 // 1.3: A4R4G4B4 / A4B4G4R4
    )
}

/// Block-compressed formats (BC, ETC2/EAC, ASTC LDR and HDR).
fn is_compressed(format: vk::Format) -> bool {
    matches!(format.as_raw(), 131..=184 | 1_000_066_000..=1_000_066_013)
}

/// Whether `format` needs a sampler Y'CbCr conversion (the Y'CbCr range, less its four
/// single- and two-component 10/12-bit formats, plus Vulkan 1.3's 4:4:4 two-plane formats).
#[inline]
fn requires_ycbcr_conversion(format: vk::Format) -> bool {
    let raw = format.as_raw();
    let plain = [
        vk::Format::R10X6_UNORM_PACK16,
        vk::Format::R10X6G10X6_UNORM_2PACK16,
        vk::Format::R12X4_UNORM_PACK16,
        vk::Format::R12X4G12X4_UNORM_2PACK16,
    ];
    ((1_000_156_000..=1_000_156_033).contains(&raw) && !plain.contains(&format))
        || (1_000_330_000..=1_000_330_003).contains(&raw)
}

/// Horizontal and vertical chroma subsampling of the Y'CbCr formats (`_422`: width halved;
/// `_420`: width and height halved). Texel extents of such images must be multiples of it
/// (VUID-VkImageCreateInfo-format-04712, -04713).
#[inline]
fn chroma_subsampling(format: vk::Format) -> (u32, u32) {
    if !(1_000_156_000..=1_000_156_033).contains(&format.as_raw()) {
        return (1, 1);
    }
    ycbcr_subsampling(format)
}

/// [`chroma_subsampling`] of a Y'CbCr format, read from its name (kept out of line: the common
/// path is the range test above).
fn ycbcr_subsampling(format: vk::Format) -> (u32, u32) {
    let name = format!("{format:?}");
    if name.contains("_420") {
        (2, 2)
    } else if name.contains("_422") {
        (2, 1)
    } else {
        (1, 1)
    }
}

/// Checks a buffer description.
/// `VK_SHARING_MODE_CONCURRENT` needs two or more distinct families, each one the device has
/// (VUID-VkBufferCreateInfo-sharingMode-00914, -01419; VUID-VkImageCreateInfo-sharingMode-00942,
/// -01420).
#[inline]
fn check_concurrent(families: &[u32], limits: &DeviceLimits) -> Result<()> {
    if families.is_empty() {
        return Ok(());
    }
    if families.len() < 2 {
        return Err(Error::invalid(
            "concurrent",
            "concurrent sharing names at least two queue families (one family is exclusive sharing)",
        ));
    }
    for (i, &family) in families.iter().enumerate() {
        if family >= limits.queue_family_count {
            return Err(Error::invalid(
                "concurrent",
                format!(
                    "queue family {family} does not exist (the device has {})",
                    limits.queue_family_count
                ),
            ));
        }
        if families[..i].contains(&family) {
            return Err(Error::invalid(
                "concurrent",
                format!("queue family {family} is named twice"),
            ));
        }
    }
    Ok(())
}

pub(crate) fn buffer(desc: &BufferDesc<'_>, limits: &DeviceLimits) -> Result<()> {
    if desc.size == 0 {
        return Err(Error::invalid("size", "a buffer cannot be empty"));
    }
    if desc.usage.is_empty() {
        return Err(Error::invalid("usage", "at least one usage flag is needed"));
    }
    let unknown = desc.usage & !(CORE_BUFFER_USAGE | limits.extra_buffer_usage);
    if !unknown.is_empty() {
        return Err(Error::invalid(
            "usage",
            format!(
                "{unknown:?} is not core Vulkan usage; name extension usage the device enabled in \
                 AllocatorDesc::extra_buffer_usage"
            ),
        ));
    }
    exceeds("size", desc.size, limits.max_buffer_size)?;
    exceeds("size", desc.size, limits.max_memory_allocation_size)?;
    if desc
        .usage
        .contains(vk::BufferUsageFlags::SHADER_DEVICE_ADDRESS)
        && !limits.buffer_device_address
    {
        return Err(Error::invalid(
            "usage",
            "SHADER_DEVICE_ADDRESS needs an allocator made with buffer_device_address(true)",
        ));
    }
    check_priority(desc.priority)?;
    check_concurrent(desc.concurrent, limits)?;
    check_name(desc.name)
}

/// Checks an image description against the device-wide limits.
pub(crate) fn image(desc: &ImageDesc<'_>, limits: &DeviceLimits) -> Result<()> {
    let e = desc.extent;
    for (field, value) in [
        ("extent.width", e.width),
        ("extent.height", e.height),
        ("extent.depth", e.depth),
    ] {
        if value == 0 {
            return Err(Error::invalid(field, "every dimension must be at least 1"));
        }
    }
    if desc.format == vk::Format::UNDEFINED {
        return Err(Error::invalid("format", "UNDEFINED is not an image format"));
    }
    if !is_core_format(desc.format) {
        return Err(Error::invalid(
            "format",
            format!("{:?} is not a core Vulkan 1.3 format", desc.format),
        ));
    }
    if desc.tiling != vk::ImageTiling::OPTIMAL && desc.tiling != vk::ImageTiling::LINEAR {
        return Err(Error::invalid(
            "tiling",
            format!("{:?}: only OPTIMAL and LINEAR are supported", desc.tiling),
        ));
    }
    if desc.usage.is_empty() {
        return Err(Error::invalid("usage", "at least one usage flag is needed"));
    }
    if desc.array_layers == 0 {
        return Err(Error::invalid(
            "array_layers",
            "an image needs at least one layer",
        ));
    }
    match desc.dimension {
        ImageDimension::D1 => {
            if e.height != 1 || e.depth != 1 {
                return Err(Error::invalid(
                    "extent",
                    "a 1D image has height and depth 1",
                ));
            }
            exceeds("extent.width", e.width, limits.max_image_dimension_1d)?;
        }
        ImageDimension::D2 => {
            if e.depth != 1 {
                return Err(Error::invalid("extent.depth", "a 2D image has depth 1"));
            }
            let max = if desc
                .create_flags()
                .contains(vk::ImageCreateFlags::CUBE_COMPATIBLE)
            {
                limits.max_image_dimension_cube
            } else {
                limits.max_image_dimension_2d
            };
            exceeds("extent.width", e.width, max)?;
            exceeds("extent.height", e.height, max)?;
        }
        ImageDimension::D3 => {
            if desc.array_layers != 1 {
                return Err(Error::invalid("array_layers", "a 3D image has one layer"));
            }
            exceeds("extent.width", e.width, limits.max_image_dimension_3d)?;
            exceeds("extent.height", e.height, limits.max_image_dimension_3d)?;
            exceeds("extent.depth", e.depth, limits.max_image_dimension_3d)?;
        }
    }
    exceeds(
        "array_layers",
        desc.array_layers,
        limits.max_image_array_layers,
    )?;
    check_image_flags(desc)?;
    check_image_usage(desc, limits)?;
    let full = full_mip_chain(e);
    match desc.mip_levels {
        MipLevels::Count(0) => {
            return Err(Error::invalid(
                "mip_levels",
                "an image needs at least one level",
            ))
        }
        MipLevels::Count(n) if n > full => {
            return Err(Error::invalid(
                "mip_levels",
                format!("{n} levels asked, but the full chain of this extent has {full}"),
            ))
        }
        _ => {}
    }
    if !desc.samples.is_power_of_two() || desc.samples > 64 {
        return Err(Error::invalid(
            "samples",
            format!("{} is not one of 1, 2, 4, 8, 16, 32, 64", desc.samples),
        ));
    }
    if desc.samples > 1 {
        // VUID-VkImageCreateInfo-samples-02257: multisampled images are 2D, optimal, one level,
        // and not cube-compatible.
        if desc.dimension != ImageDimension::D2
            || desc
                .create_flags()
                .contains(vk::ImageCreateFlags::CUBE_COMPATIBLE)
            || desc.tiling != vk::ImageTiling::OPTIMAL
            || desc.resolved_mip_levels() != 1
        {
            return Err(Error::invalid(
                "samples",
                "multisampled images must be 2D, optimal-tiled, non-cube, with one mip level",
            ));
        }
    }
    // VUID-VkImageCreateInfo-format-06410, -06411, -06412
    if requires_ycbcr_conversion(desc.format)
        && (desc.dimension != ImageDimension::D2
            || desc.resolved_mip_levels() != 1
            || desc.samples != 1)
    {
        return Err(Error::invalid(
            "format",
            format!(
                "{:?} needs a Y'CbCr conversion: 2D, one mip level, one sample",
                desc.format
            ),
        ));
    }
    // Subsampling is 1 or 2: a mask, not a division.
    let (sub_x, sub_y) = chroma_subsampling(desc.format);
    if e.width & (sub_x - 1) != 0 || e.height & (sub_y - 1) != 0 {
        return Err(Error::invalid(
            "extent",
            format!(
                "{:?} subsamples chroma {sub_x}x{sub_y}: {}x{} is not a multiple of it",
                desc.format, e.width, e.height
            ),
        ));
    }
    if desc.samples > 1
        && desc.usage.contains(vk::ImageUsageFlags::STORAGE)
        && !limits.storage_image_multisample
    {
        // VUID-VkImageCreateInfo-usage-00968
        return Err(Error::invalid(
            "samples",
            "multisampled STORAGE images need the shaderStorageImageMultisample feature, \
             enabled and named in AllocatorDesc::features",
        ));
    }
    check_priority(desc.priority)?;
    check_concurrent(desc.concurrent, limits)?;
    check_name(desc.name)
}

/// Create flags: only those [`SUPPORTED_IMAGE_FLAGS`] names, each with its rules
/// (VkImageCreateInfo valid usage).
#[inline]
fn check_image_flags(desc: &ImageDesc<'_>) -> Result<()> {
    let flags = desc.create_flags();
    let unsupported = flags & !SUPPORTED_IMAGE_FLAGS;
    if !unsupported.is_empty() {
        return Err(Error::invalid(
            "flags",
            format!(
                "{unsupported:?} is not supported: VMA binds one allocation to the whole image \
                 (no sparse, disjoint or split-instance binding) and allocates no protected memory"
            ),
        ));
    }
    let e = desc.extent;
    if flags.contains(vk::ImageCreateFlags::CUBE_COMPATIBLE) {
        // VUID-VkImageCreateInfo-flags-00949, -imageType-00954
        if desc.dimension != ImageDimension::D2 {
            return Err(Error::invalid("flags", "only 2D images can be cubes"));
        }
        if e.width != e.height {
            return Err(Error::invalid(
                "extent",
                format!("cube faces must be square, not {}x{}", e.width, e.height),
            ));
        }
        if desc.array_layers < 6 {
            return Err(Error::invalid(
                "array_layers",
                format!(
                    "a cube-compatible image needs at least 6 layers, not {}",
                    desc.array_layers
                ),
            ));
        }
    }
    // VUID-VkImageCreateInfo-flags-00950
    if flags.contains(vk::ImageCreateFlags::TYPE_2D_ARRAY_COMPATIBLE)
        && desc.dimension != ImageDimension::D3
    {
        return Err(Error::invalid(
            "flags",
            "TYPE_2D_ARRAY_COMPATIBLE is for 3D images only",
        ));
    }
    if flags.contains(vk::ImageCreateFlags::BLOCK_TEXEL_VIEW_COMPATIBLE) {
        // VUID-VkImageCreateInfo-flags-01572, -01573
        if !is_compressed(desc.format) {
            return Err(Error::invalid(
                "flags",
                "BLOCK_TEXEL_VIEW_COMPATIBLE needs a block-compressed format",
            ));
        }
        if !flags.contains(vk::ImageCreateFlags::MUTABLE_FORMAT) {
            return Err(Error::invalid(
                "flags",
                "BLOCK_TEXEL_VIEW_COMPATIBLE needs MUTABLE_FORMAT too",
            ));
        }
    }
    Ok(())
}

/// Usage bits: known ones only, transient attachments as the spec allows them, attachments
/// within the framebuffer limits.
#[inline]
fn check_image_usage(desc: &ImageDesc<'_>, limits: &DeviceLimits) -> Result<()> {
    let usage = desc.usage;
    let unknown = usage & !(CORE_IMAGE_USAGE | limits.extra_image_usage);
    if !unknown.is_empty() {
        return Err(Error::invalid(
            "usage",
            format!(
                "{unknown:?} is not core Vulkan usage; name extension usage the device enabled in \
                 AllocatorDesc::extra_image_usage"
            ),
        ));
    }
    if usage.contains(vk::ImageUsageFlags::TRANSIENT_ATTACHMENT) {
        // VUID-VkImageCreateInfo-usage-00963, -00966
        let other = usage & !(ATTACHMENT_USAGE | vk::ImageUsageFlags::TRANSIENT_ATTACHMENT);
        if !other.is_empty() || !usage.intersects(ATTACHMENT_USAGE) {
            return Err(Error::invalid(
                "usage",
                "TRANSIENT_ATTACHMENT goes with attachment usage only (colour, depth/stencil or \
                 input), and needs at least one of them",
            ));
        }
    }
    if usage.intersects(ATTACHMENT_USAGE) {
        // VUID-VkImageCreateInfo-usage-00964, -00965
        exceeds(
            "extent.width",
            desc.extent.width,
            limits.max_framebuffer_width,
        )?;
        exceeds(
            "extent.height",
            desc.extent.height,
            limits.max_framebuffer_height,
        )?;
    }
    Ok(())
}

/// Checks an image description against what `vkGetPhysicalDeviceImageFormatProperties` reported
/// for its format, type, tiling, usage and flags.
pub(crate) fn image_against_format(
    desc: &ImageDesc<'_>,
    props: &vk::ImageFormatProperties,
) -> Result<()> {
    let e = desc.extent;
    exceeds("extent.width", e.width, props.max_extent.width)?;
    exceeds("extent.height", e.height, props.max_extent.height)?;
    exceeds("extent.depth", e.depth, props.max_extent.depth)?;
    exceeds(
        "mip_levels",
        desc.resolved_mip_levels(),
        props.max_mip_levels,
    )?;
    exceeds("array_layers", desc.array_layers, props.max_array_layers)?;
    let samples = vk::SampleCountFlags::from_raw(desc.samples);
    if !props.sample_counts.contains(samples) {
        return Err(Error::invalid(
            "samples",
            format!(
                "{} samples are not supported for this format and usage ({:?})",
                desc.samples, props.sample_counts
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<()>) -> &'static str {
        result
            .expect_err("description should be refused")
            .field()
            .unwrap_or("?")
    }

    #[test]
    fn buffer_rules_name_their_field() {
        let limits = DeviceLimits {
            max_buffer_size: 1 << 20,
            buffer_device_address: false,
            ..DeviceLimits::permissive()
        };
        let usage = vk::BufferUsageFlags::VERTEX_BUFFER;
        assert_eq!(
            field_of(buffer(&BufferDesc::new(0, usage), &limits)),
            "size"
        );
        let no_usage = BufferDesc::new(4, vk::BufferUsageFlags::empty());
        assert_eq!(field_of(buffer(&no_usage, &limits)), "usage");
        assert_eq!(
            field_of(buffer(&BufferDesc::new(2 << 20, usage), &limits)),
            "size"
        );
        let bda = BufferDesc::new(4, vk::BufferUsageFlags::SHADER_DEVICE_ADDRESS);
        assert_eq!(field_of(buffer(&bda, &limits)), "usage");
        let loud = BufferDesc::new(4, usage).priority(f32::NAN);
        assert_eq!(field_of(buffer(&loud, &limits)), "priority");
        let nul = BufferDesc::new(4, usage).name("a\0b");
        assert_eq!(field_of(buffer(&nul, &limits)), "name");
        assert!(buffer(&BufferDesc::new(1 << 20, usage), &limits).is_ok());
    }

    #[test]
    fn full_chain_is_accepted_and_one_more_level_is_not() {
        let limits = DeviceLimits::permissive();
        let desc = ImageDesc::texture_2d(vk::Format::R8G8B8A8_UNORM, 257, 129);
        assert!(image(&desc, &limits).is_ok());
        let too_many = desc.mip_levels(MipLevels::Count(10));
        assert_eq!(field_of(image(&too_many, &limits)), "mip_levels");
    }

    #[test]
    fn cube_limit_applies_to_cube_images_only() {
        let limits = DeviceLimits {
            max_image_dimension_cube: 512,
            ..DeviceLimits::permissive()
        };
        let usage = vk::ImageUsageFlags::SAMPLED;
        let cube = ImageDesc::cube(vk::Format::R8G8B8A8_UNORM, 1024).usage(usage);
        assert_eq!(field_of(image(&cube, &limits)), "extent.width");
        let flat = ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 1024, 1024).usage(usage);
        assert!(image(&flat, &limits).is_ok());
    }

    #[test]
    fn format_properties_bound_extent_levels_layers_and_samples() {
        let props = vk::ImageFormatProperties {
            max_extent: vk::Extent3D {
                width: 64,
                height: 64,
                depth: 1,
            },
            max_mip_levels: 7,
            max_array_layers: 4,
            sample_counts: vk::SampleCountFlags::TYPE_1,
            max_resource_size: u64::MAX,
        };
        let base =
            ImageDesc::new_2d(vk::Format::R8_UNORM, 64, 64).usage(vk::ImageUsageFlags::SAMPLED);
        assert!(image_against_format(&base, &props).is_ok());
        let wide = ImageDesc::new_2d(vk::Format::R8_UNORM, 65, 64);
        assert_eq!(
            field_of(image_against_format(&wide, &props)),
            "extent.width"
        );
        let layered = base.clone().array_layers(5);
        assert_eq!(
            field_of(image_against_format(&layered, &props)),
            "array_layers"
        );
        let msaa = base.samples(4);
        assert_eq!(field_of(image_against_format(&msaa, &props)), "samples");
    }
}
