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
    /// Whether the allocator was made with buffer device address on.
    pub buffer_device_address: bool,
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
            buffer_device_address: true,
        }
    }
}

fn check_priority(priority: Option<f32>) -> Result<()> {
    match priority {
        Some(p) if !(0.0..=1.0).contains(&p) => Err(Error::invalid(
            "priority",
            format!("{p} is outside 0.0..=1.0"),
        )),
        _ => Ok(()),
    }
}

fn check_name(name: Option<&str>) -> Result<()> {
    match name {
        Some(name) if name.contains('\0') => Err(Error::invalid(
            "name",
            "contains a NUL byte, which Vulkan names cannot hold",
        )),
        _ => Ok(()),
    }
}

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

/// Checks a buffer description.
pub(crate) fn buffer(desc: &BufferDesc<'_>, limits: &DeviceLimits) -> Result<()> {
    if desc.size == 0 {
        return Err(Error::invalid("size", "a buffer cannot be empty"));
    }
    if desc.usage.is_empty() {
        return Err(Error::invalid("usage", "at least one usage flag is needed"));
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
            let max = if desc.cube_compatible {
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
    if desc.cube_compatible {
        if desc.dimension != ImageDimension::D2 {
            return Err(Error::invalid(
                "cube_compatible",
                "only 2D images can be cubes",
            ));
        }
        if e.width != e.height {
            return Err(Error::invalid(
                "extent",
                format!("cube faces must be square, not {}x{}", e.width, e.height),
            ));
        }
        if desc.array_layers % 6 != 0 {
            return Err(Error::invalid(
                "array_layers",
                format!(
                    "a cube needs a multiple of 6 layers, not {}",
                    desc.array_layers
                ),
            ));
        }
    }
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
            || desc.cube_compatible
            || desc.tiling != vk::ImageTiling::OPTIMAL
            || desc.resolved_mip_levels() != 1
        {
            return Err(Error::invalid(
                "samples",
                "multisampled images must be 2D, optimal-tiled, non-cube, with one mip level",
            ));
        }
    }
    check_priority(desc.priority)?;
    check_name(desc.name)
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
