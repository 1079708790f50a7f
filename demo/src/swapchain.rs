//! The window's swapchain: sRGB, FIFO, recreated on resize and when out of date. The renderer
//! draws into its own target and blits it here, so the swapchain needs only `TRANSFER_DST`.

use anyhow::{bail, Context as _, Result};
use ash::vk;

use crate::gpu::Gpu;

pub struct Swapchain {
    pub loader: ash::khr::swapchain::Device,
    pub raw: vk::SwapchainKHR,
    pub images: Vec<vk::Image>,
    pub format: vk::Format,
    pub extent: vk::Extent2D,
    /// Signalled by the frame that renders into image `i`, waited by its present. One per image:
    /// a present may still hold the previous frame's semaphore when the next frame begins.
    pub rendered: Vec<vk::Semaphore>,
}

impl Swapchain {
    /// A swapchain for `surface` of about `wanted` pixels (the surface's own extent wins where it
    /// has one), replacing `old` if given.
    pub fn new(
        gpu: &Gpu,
        surface: vk::SurfaceKHR,
        wanted: vk::Extent2D,
        old: Option<&Swapchain>,
    ) -> Result<Self> {
        let surfaces = gpu.surface_loader.as_ref().context("no surface loader")?;
        let pd = gpu.physical_device;
        // SAFETY: valid physical device and surface of this instance.
        let (caps, formats) = unsafe {
            (
                surfaces.get_physical_device_surface_capabilities(pd, surface)?,
                surfaces.get_physical_device_surface_formats(pd, surface)?,
            )
        };
        let format = formats
            .iter()
            .find(|f| {
                matches!(
                    f.format,
                    vk::Format::B8G8R8A8_SRGB | vk::Format::R8G8B8A8_SRGB
                ) && f.color_space == vk::ColorSpaceKHR::SRGB_NONLINEAR
            })
            .copied()
            .context("the surface offers no sRGB BGRA8/RGBA8 format")?;
        // SAFETY: valid physical device.
        let features = unsafe {
            gpu.instance
                .get_physical_device_format_properties(pd, format.format)
        }
        .optimal_tiling_features;
        if !features.contains(vk::FormatFeatureFlags::BLIT_DST) {
            bail!(
                "the swapchain format {:?} cannot be a blit destination",
                format.format
            );
        }
        if !caps
            .supported_usage_flags
            .contains(vk::ImageUsageFlags::TRANSFER_DST)
        {
            bail!("the surface's images cannot be transfer destinations");
        }
        let extent = if caps.current_extent.width != u32::MAX {
            caps.current_extent
        } else {
            vk::Extent2D {
                width: wanted
                    .width
                    .clamp(caps.min_image_extent.width, caps.max_image_extent.width),
                height: wanted
                    .height
                    .clamp(caps.min_image_extent.height, caps.max_image_extent.height),
            }
        };
        let mut count = caps.min_image_count + 1;
        if caps.max_image_count > 0 {
            count = count.min(caps.max_image_count);
        }
        let loader = ash::khr::swapchain::Device::new(&gpu.instance, &gpu.device);
        let info = vk::SwapchainCreateInfoKHR::default()
            .surface(surface)
            .min_image_count(count)
            .image_format(format.format)
            .image_color_space(format.color_space)
            .image_extent(extent)
            .image_array_layers(1)
            .image_usage(vk::ImageUsageFlags::TRANSFER_DST | vk::ImageUsageFlags::COLOR_ATTACHMENT)
            .image_sharing_mode(vk::SharingMode::EXCLUSIVE)
            .pre_transform(caps.current_transform)
            .composite_alpha(vk::CompositeAlphaFlagsKHR::OPAQUE)
            .present_mode(vk::PresentModeKHR::FIFO)
            .clipped(true)
            .old_swapchain(old.map_or(vk::SwapchainKHR::null(), |s| s.raw));
        // SAFETY: valid device with VK_KHR_swapchain; the old swapchain (if any) is retired.
        let raw =
            unsafe { loader.create_swapchain(&info, None) }.context("vkCreateSwapchainKHR")?;
        // SAFETY: just created.
        let images = unsafe { loader.get_swapchain_images(raw) }?;
        let rendered = images
            .iter()
            // SAFETY: valid device.
            .map(|_| unsafe {
                gpu.device
                    .create_semaphore(&vk::SemaphoreCreateInfo::default(), None)
            })
            .collect::<Result<Vec<_>, _>>()?;
        tracing::info!(?extent, format = ?format.format, images = images.len(), "swapchain ready");
        Ok(Self {
            loader,
            raw,
            images,
            format: format.format,
            extent,
            rendered,
        })
    }

    /// # Safety
    /// The device is idle (no present or frame uses the swapchain or its semaphores).
    pub unsafe fn destroy(&self, device: &ash::Device) {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            for &semaphore in &self.rendered {
                device.destroy_semaphore(semaphore, None);
            }
            self.loader.destroy_swapchain(self.raw, None);
        }
    }
}
