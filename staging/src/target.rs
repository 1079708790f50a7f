//! [`ImageTarget`]: the plain description of an image that uploads, readbacks and mip generation
//! work on, whoever made the image.
//!
//! The allocator's [`GpuImage`] and [`PlacedImage`] convert into one (`&image` works wherever an
//! `impl Into<ImageTarget>` is asked for), safely: the description is the handle's own. Swapchain
//! images and imported memory describe themselves with [`ImageTarget::new`], which is `unsafe`:
//! nothing here can check a raw handle's claimed size, extent or format, and every later check
//! trusts them. A target is `Copy` and borrows nothing, so an upload can outlive the borrow of its
//! destination, as a render graph that owns its resources needs: keeping the image alive until
//! the GPU is done with it stays the caller's duty, stated on every `unsafe` recording function.
//!
//! A claim about a raw handle cannot be made in safe code:
//! ```compile_fail,E0133
//! # fn f(raw: ash::vk::Buffer) {
//! let target = vkup_staging::BufferTarget::new(raw, 4096, ash::vk::BufferUsageFlags::TRANSFER_DST);
//! # }
//! ```
//! ```compile_fail,E0133
//! # fn f(raw: ash::vk::Image, image: &vkup_allocator::GpuImage) {
//! let info = vkup_allocator::ImageInfo { mip_levels: 20, ..image.info() };
//! let target = vkup_staging::ImageTarget::new(raw, info);
//! # }
//! ```

use ash::vk;
use vkup_allocator::{GpuBuffer, GpuImage, HostAccess, ImageInfo, PlacedBuffer, PlacedImage};

/// What this crate needs to know about an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageTarget {
    raw: vk::Image,
    image_type: vk::ImageType,
    format: vk::Format,
    extent: vk::Extent3D,
    mip_levels: u32,
    array_layers: u32,
    samples: vk::SampleCountFlags,
    tiling: vk::ImageTiling,
    usage: vk::ImageUsageFlags,
    flags: vk::ImageCreateFlags,
}

impl ImageTarget {
    /// Describes an image made elsewhere (a swapchain image, an image over imported memory) by
    /// what it was created as. Targets from the allocator's images (`&GpuImage`,
    /// `&PlacedImage`) need no claim: they convert safely, from the handle's own description.
    ///
    /// # Safety
    /// `info` is what `raw` was created with: its type, format, extent, level and layer counts,
    /// samples, tiling, usage and flags. Every check this crate makes before recording (copy
    /// sizes, subresource ranges, layouts the usage allows) trusts these values; a larger extent,
    /// more levels or layers, or a format with larger texels would make recorded copies and
    /// barriers reach outside the image.
    pub unsafe fn new(raw: vk::Image, info: ImageInfo) -> Self {
        Self {
            raw,
            image_type: info.image_type,
            format: info.format,
            extent: info.extent,
            mip_levels: info.mip_levels,
            array_layers: info.array_layers,
            samples: info.samples,
            tiling: info.tiling,
            usage: info.usage,
            flags: info.flags,
        }
    }

    /// The `VkImage`.
    pub fn raw(&self) -> vk::Image {
        self.raw
    }
    /// 1D, 2D or 3D.
    pub fn image_type(&self) -> vk::ImageType {
        self.image_type
    }
    /// Texel format.
    pub fn format(&self) -> vk::Format {
        self.format
    }
    /// Extent of level 0.
    pub fn extent(&self) -> vk::Extent3D {
        self.extent
    }
    /// Mip levels.
    pub fn mip_levels(&self) -> u32 {
        self.mip_levels
    }
    /// Array layers.
    pub fn array_layers(&self) -> u32 {
        self.array_layers
    }
    /// Samples per texel.
    pub fn samples(&self) -> vk::SampleCountFlags {
        self.samples
    }
    /// Tiling.
    pub fn tiling(&self) -> vk::ImageTiling {
        self.tiling
    }
    /// Usage.
    pub fn usage(&self) -> vk::ImageUsageFlags {
        self.usage
    }
    /// Create flags.
    pub fn flags(&self) -> vk::ImageCreateFlags {
        self.flags
    }

    /// Extent of mip `level` (each dimension halved per level, never below 1).
    pub fn level_extent(&self, level: u32) -> vk::Extent3D {
        vkup_allocator::level_extent(self.extent, level)
    }

    /// The range covering every level and layer of `aspect`.
    pub fn full_range(&self, aspect: vk::ImageAspectFlags) -> vk::ImageSubresourceRange {
        vk::ImageSubresourceRange {
            aspect_mask: aspect,
            base_mip_level: 0,
            level_count: self.mip_levels,
            base_array_layer: 0,
            layer_count: self.array_layers,
        }
    }
}

impl From<&GpuImage> for ImageTarget {
    fn from(image: &GpuImage) -> Self {
        // SAFETY: the allocator's own description of the image it created.
        unsafe { Self::new(image.raw(), image.info()) }
    }
}

impl From<&PlacedImage> for ImageTarget {
    fn from(image: &PlacedImage) -> Self {
        // SAFETY: as above.
        unsafe { Self::new(image.raw(), image.info()) }
    }
}

impl From<&ImageTarget> for ImageTarget {
    fn from(target: &ImageTarget) -> Self {
        *target
    }
}

/// What this crate needs to know about a buffer: its handle, size and usage, and its mapping
/// where the host may write it directly. `&GpuBuffer` and `&PlacedBuffer` convert into one,
/// safely; [`BufferTarget::new`] describes a buffer made elsewhere, under a stated duty. Like
/// [`ImageTarget`] it is `Copy` and borrows nothing; the `unsafe` recording functions carry the
/// duty to keep the buffer alive.
#[derive(Clone, Copy, Debug)]
pub struct BufferTarget {
    raw: vk::Buffer,
    size: vk::DeviceSize,
    usage: vk::BufferUsageFlags,
    host: Option<HostAccess>,
}

impl BufferTarget {
    /// Describes a buffer made elsewhere (no host mapping: uploads into it are staged).
    ///
    /// # Safety
    /// `size` is at most the buffer's real size, and `usage` at most the usage it was created
    /// with: uploads and readbacks check their ranges against `size` alone, so a larger one
    /// would make their copies write or read past the buffer.
    pub unsafe fn new(raw: vk::Buffer, size: vk::DeviceSize, usage: vk::BufferUsageFlags) -> Self {
        Self {
            raw,
            size,
            usage,
            host: None,
        }
    }

    /// The `VkBuffer`.
    pub fn raw(&self) -> vk::Buffer {
        self.raw
    }
    /// Size in bytes.
    pub fn size(&self) -> vk::DeviceSize {
        self.size
    }
    /// Usage.
    pub fn usage(&self) -> vk::BufferUsageFlags {
        self.usage
    }
    /// Its persistent mapping, where the host may write it.
    pub fn host(&self) -> Option<HostAccess> {
        self.host
    }
}

impl From<&GpuBuffer> for BufferTarget {
    fn from(buffer: &GpuBuffer) -> Self {
        Self {
            raw: buffer.raw(),
            size: buffer.size(),
            usage: buffer.usage(),
            host: buffer.host_access(),
        }
    }
}

impl From<&mut GpuBuffer> for BufferTarget {
    fn from(buffer: &mut GpuBuffer) -> Self {
        Self::from(&*buffer)
    }
}

impl From<&PlacedBuffer> for BufferTarget {
    fn from(buffer: &PlacedBuffer) -> Self {
        // SAFETY: the allocator's own record of the buffer it created.
        unsafe { Self::new(buffer.raw(), buffer.size(), buffer.usage()) }
    }
}

impl From<&BufferTarget> for BufferTarget {
    fn from(target: &BufferTarget) -> Self {
        *target
    }
}
