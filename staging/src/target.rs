//! [`ImageTarget`]: the plain description of an image that uploads, readbacks and mip generation
//! work on, whoever made the image.
//!
//! The allocator's [`GpuImage`] and [`PlacedImage`] convert into one (`&image` works wherever an
//! `impl Into<ImageTarget>` is asked for); swapchain images and imported memory describe
//! themselves with [`ImageTarget::new`]. A target is `Copy` and borrows nothing, so an upload can
//! outlive the borrow of its destination, as a render graph that owns its resources needs: keeping
//! the image alive until the GPU is done with it stays the caller's duty, stated on every
//! `unsafe` recording function.

use allocator::{GpuBuffer, GpuImage, HostAccess, PlacedBuffer, PlacedImage};
use ash::vk;

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
    /// Describes an image made elsewhere: a 2D, single-sampled, optimally tiled image with no
    /// create flags (a swapchain image, say); adjust with the setters below. The values must be
    /// the ones `raw` was created with.
    pub fn new(
        raw: vk::Image,
        format: vk::Format,
        extent: vk::Extent3D,
        usage: vk::ImageUsageFlags,
    ) -> Self {
        Self {
            raw,
            image_type: vk::ImageType::TYPE_2D,
            format,
            extent,
            mip_levels: 1,
            array_layers: 1,
            samples: vk::SampleCountFlags::TYPE_1,
            tiling: vk::ImageTiling::OPTIMAL,
            usage,
            flags: vk::ImageCreateFlags::empty(),
        }
    }

    /// Sets the mip level and array layer counts.
    pub fn subresources(mut self, mip_levels: u32, array_layers: u32) -> Self {
        self.mip_levels = mip_levels.max(1);
        self.array_layers = array_layers.max(1);
        self
    }

    /// Sets the image type, samples, tiling and create flags.
    pub fn kind(
        mut self,
        image_type: vk::ImageType,
        samples: vk::SampleCountFlags,
        tiling: vk::ImageTiling,
        flags: vk::ImageCreateFlags,
    ) -> Self {
        self.image_type = image_type;
        self.samples = samples;
        self.tiling = tiling;
        self.flags = flags;
        self
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
        allocator::level_extent(self.extent, level)
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
        Self {
            raw: image.raw(),
            image_type: image.image_type(),
            format: image.format(),
            extent: image.extent(),
            mip_levels: image.mip_levels(),
            array_layers: image.array_layers(),
            samples: image.samples(),
            tiling: image.tiling(),
            usage: image.usage(),
            flags: image.flags(),
        }
    }
}

impl From<&PlacedImage> for ImageTarget {
    fn from(image: &PlacedImage) -> Self {
        let info = image.info();
        Self {
            raw: image.raw(),
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
}

impl From<&ImageTarget> for ImageTarget {
    fn from(target: &ImageTarget) -> Self {
        *target
    }
}

/// What this crate needs to know about a buffer: its handle, size and usage, and its mapping
/// where the host may write it directly. `&GpuBuffer` and `&PlacedBuffer` convert into one;
/// [`BufferTarget::new`] describes a buffer made elsewhere. Like [`ImageTarget`] it is `Copy` and
/// borrows nothing; the `unsafe` recording functions carry the duty to keep the buffer alive.
#[derive(Clone, Copy, Debug)]
pub struct BufferTarget {
    raw: vk::Buffer,
    size: vk::DeviceSize,
    usage: vk::BufferUsageFlags,
    host: Option<HostAccess>,
}

impl BufferTarget {
    /// Describes a buffer made elsewhere (no host mapping: uploads into it are staged).
    pub fn new(raw: vk::Buffer, size: vk::DeviceSize, usage: vk::BufferUsageFlags) -> Self {
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
        Self::new(buffer.raw(), buffer.size(), buffer.usage())
    }
}

impl From<&BufferTarget> for BufferTarget {
    fn from(target: &BufferTarget) -> Self {
        *target
    }
}
