//! [`HostImageCopier`]: image uploads by the host alone (`VK_EXT_host_image_copy`): the driver
//! writes the caller's bytes into the image's memory and moves its layout on the CPU, with no
//! staging memory, command buffer or submission.

use ash::vk;
use vkup_allocator::Allocator;

use crate::access::ResourceState;
use crate::error::{Error, Result, StateRole};
use crate::format::block_info;
use crate::target::ImageTarget;
use crate::upload::{check_packed_len, packed_layouts};

/// Writes images from the host through `VK_EXT_host_image_copy`. Holds the extension's entry
/// points and the layouts the device copies into; no state about images.
pub struct HostImageCopier {
    device: ash::ext::host_image_copy::Device,
    instance: ash::Instance,
    physical_device: vk::PhysicalDevice,
    src_layouts: Vec<vk::ImageLayout>,
    dst_layouts: Vec<vk::ImageLayout>,
}

impl std::fmt::Debug for HostImageCopier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostImageCopier")
            .field("dst_layouts", &self.dst_layouts)
            .finish_non_exhaustive()
    }
}

impl HostImageCopier {
    /// A copier for `allocator`'s device. Refuses ([`Error::Unsupported`]) a physical device
    /// without the extension.
    ///
    /// # Safety
    /// Where the physical device offers `VK_EXT_host_image_copy`, it is enabled on the device
    /// with its `hostImageCopy` feature on; the allocator's instance and device outlive the
    /// copier.
    pub unsafe fn new(allocator: &Allocator) -> Result<Self> {
        let (instance, physical_device) = (allocator.instance(), allocator.physical_device());
        // SAFETY: an allocator's physical device belongs to its instance.
        let extensions =
            unsafe { instance.enumerate_device_extension_properties(physical_device) }?;
        if !extensions
            .iter()
            .any(|e| e.extension_name_as_c_str() == Ok(ash::ext::host_image_copy::NAME))
        {
            return Err(Error::Unsupported {
                what: "VK_EXT_host_image_copy",
            });
        }
        // Two calls: the counts, then the layouts.
        let mut props = vk::PhysicalDeviceHostImageCopyPropertiesEXT::default();
        let mut props2 = vk::PhysicalDeviceProperties2::default().push_next(&mut props);
        // SAFETY: as above; the extension is present, so its properties struct may be chained.
        unsafe { instance.get_physical_device_properties2(physical_device, &mut props2) };
        let mut src_layouts =
            vec![vk::ImageLayout::UNDEFINED; props.copy_src_layout_count as usize];
        let mut dst_layouts =
            vec![vk::ImageLayout::UNDEFINED; props.copy_dst_layout_count as usize];
        let mut props = vk::PhysicalDeviceHostImageCopyPropertiesEXT::default()
            .copy_src_layouts(&mut src_layouts)
            .copy_dst_layouts(&mut dst_layouts);
        let mut props2 = vk::PhysicalDeviceProperties2::default().push_next(&mut props);
        // SAFETY: as above; each layout pointer points at as many slots as its count says,
        // alive for the call.
        unsafe { instance.get_physical_device_properties2(physical_device, &mut props2) };
        let written = (
            props.copy_src_layout_count as usize,
            props.copy_dst_layout_count as usize,
        );
        src_layouts.truncate(written.0);
        dst_layouts.truncate(written.1);
        Ok(Self {
            device: ash::ext::host_image_copy::Device::new(instance, allocator.device()),
            instance: instance.clone(),
            physical_device,
            src_layouts,
            dst_layouts,
        })
    }

    /// The layouts the device can copy into from the host (`pCopyDstLayouts`).
    pub fn dst_layouts(&self) -> &[vk::ImageLayout] {
        &self.dst_layouts
    }

    /// Whether a host transition may start from `layout`: `UNDEFINED` (the contents are
    /// discarded), or a layout the device copies from or into on the host.
    pub(crate) fn transitions_from(&self, layout: vk::ImageLayout) -> bool {
        layout == vk::ImageLayout::UNDEFINED
            || self.src_layouts.contains(&layout)
            || self.dst_layouts.contains(&layout)
    }

    /// Moves `ranges` of `image` from `old` to `new` and writes `regions` into it, on the host.
    ///
    /// # Safety
    /// The image is live, of this copier's device, with `HOST_TRANSFER` usage, in `old` over
    /// `ranges` (or `old` is UNDEFINED), not in use by pending GPU work and accessed by no
    /// other thread meanwhile; `new` is one of [`dst_layouts`](Self::dst_layouts); every region
    /// lies in a subresource of `ranges` and its host pointer reads that many bytes of live
    /// memory.
    pub(crate) unsafe fn transition_and_copy(
        &self,
        image: vk::Image,
        old: vk::ImageLayout,
        new: vk::ImageLayout,
        ranges: &[vk::ImageSubresourceRange],
        regions: &[vk::MemoryToImageCopyEXT<'_>],
    ) -> Result<()> {
        let transitions: Vec<vk::HostImageLayoutTransitionInfoEXT<'_>> = ranges
            .iter()
            .map(|&range| {
                vk::HostImageLayoutTransitionInfoEXT::default()
                    .image(image)
                    .old_layout(old)
                    .new_layout(new)
                    .subresource_range(range)
            })
            .collect();
        let copy = vk::CopyMemoryToImageInfoEXT::default()
            .dst_image(image)
            .dst_image_layout(new)
            .regions(regions);
        // SAFETY: the extension and feature are on (`new`'s contract); the rest is this
        // function's contract.
        unsafe {
            if !transitions.is_empty() {
                self.device.transition_image_layout(&transitions)?;
            }
            if !regions.is_empty() {
                self.device.copy_memory_to_image(&copy)?;
            }
        }
        Ok(())
    }

    /// Whether a 2D optimally tiled image of `format` with `usage` (and `HOST_TRANSFER`) loses no
    /// device access performance for allowing host copies
    /// (`VkHostImageCopyDevicePerformanceQueryEXT::optimalDeviceAccess`); `false` where the
    /// device cannot make such an image at all.
    pub fn optimal_device_access(
        &self,
        format: vk::Format,
        usage: vk::ImageUsageFlags,
        flags: vk::ImageCreateFlags,
    ) -> Result<bool> {
        let info = vk::PhysicalDeviceImageFormatInfo2::default()
            .format(format)
            .ty(vk::ImageType::TYPE_2D)
            .tiling(vk::ImageTiling::OPTIMAL)
            .usage(usage | vk::ImageUsageFlags::HOST_TRANSFER_EXT)
            .flags(flags);
        let mut query = vk::HostImageCopyDevicePerformanceQueryEXT::default();
        let mut props = vk::ImageFormatProperties2::default().push_next(&mut query);
        // SAFETY: a valid physical device of this instance (`new`'s contract); the chain lives
        // for the call.
        let result = unsafe {
            self.instance.get_physical_device_image_format_properties2(
                self.physical_device,
                &info,
                &mut props,
            )
        };
        match result {
            Ok(()) => Ok(query.optimal_device_access == vk::TRUE),
            Err(vk::Result::ERROR_FORMAT_NOT_SUPPORTED) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Writes `levels` tightly packed levels of every layer of `image` (see [`packed_layouts`])
    /// from `data` on the host and leaves the image in `to`'s layout, its previous contents
    /// discarded; returns `to`. Nothing is recorded or submitted: work submitted after this
    /// returns sees the bytes. Checked first: `HOST_TRANSFER` usage, `data`'s length, a single
    /// layout for `to` that the device copies into ([`dst_layouts`](Self::dst_layouts)), and
    /// `to`'s queue family left unnamed (a host copy has no queue; the image's first use on a
    /// queue takes it).
    ///
    /// # Safety
    /// `image` is a live image of this copier's device, not in use by pending GPU work, and no
    /// other thread accesses it (host copies or transitions) meanwhile.
    pub unsafe fn upload_packed(
        &self,
        image: impl Into<ImageTarget>,
        data: &[u8],
        levels: u32,
        to: ResourceState,
    ) -> Result<ResourceState> {
        let image = image.into();
        if !image
            .usage()
            .contains(vk::ImageUsageFlags::HOST_TRANSFER_EXT)
        {
            return Err(Error::MissingImageUsage {
                needed: vk::ImageUsageFlags::HOST_TRANSFER_EXT,
            });
        }
        let block = block_info(image.format()).ok_or(Error::UnsupportedFormat {
            format: image.format(),
        })?;
        let refuse = |reason: String| Error::InvalidState {
            which: StateRole::To,
            reason,
        };
        if to.queue_family != vk::QUEUE_FAMILY_IGNORED {
            return Err(refuse(
                "a host copy has no queue family: leave the state's family unnamed".into(),
            ));
        }
        let layout = to
            .accesses
            .layout()
            .filter(|&l| l != vk::ImageLayout::UNDEFINED)
            .ok_or_else(|| refuse(format!("{:?} names no one image layout", to.accesses)))?;
        if !self.dst_layouts.contains(&layout) {
            return Err(refuse(format!(
                "{layout:?} is not a layout this device copies into from the host ({:?})",
                self.dst_layouts
            )));
        }
        let (layouts, len) = packed_layouts(image, levels)?;
        check_packed_len(levels, len, data)?;
        let regions: Vec<vk::MemoryToImageCopyEXT<'_>> = layouts
            .iter()
            .map(|l| {
                vk::MemoryToImageCopyEXT::default()
                    // In range: `packed_layouts` placed every subresource inside `len`, checked
                    // equal to the data's length above.
                    .host_pointer(data[l.offset as usize..].as_ptr().cast())
                    .image_subresource(vk::ImageSubresourceLayers {
                        aspect_mask: block.aspect,
                        mip_level: l.level,
                        base_array_layer: l.layer,
                        layer_count: 1,
                    })
                    .image_extent(image.level_extent(l.level))
            })
            .collect();
        // SAFETY: the image is live, idle and this thread's alone (this function's contract)
        // and has HOST_TRANSFER usage (checked); UNDEFINED discards its contents; the layout is
        // one the device copies into (checked); every region lies in its subresource and reads
        // `extent_bytes` of `data` from its offset, inside `data`.
        unsafe {
            self.transition_and_copy(
                image.raw(),
                vk::ImageLayout::UNDEFINED,
                layout,
                &[image.full_range(block.aspect)],
                &regions,
            )?;
        }
        Ok(to)
    }
}
