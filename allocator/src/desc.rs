//! Plain descriptions of the buffers and images a renderer asks for.
//!
//! Each `*Desc` is a value with builder-style setters and defaults that suit the common case, so a
//! call site reads like the request it makes:
//! `allocator.create_buffer(&BufferDesc::vertex(size).name("terrain vertices"))`.

use ash::vk;

/// Where a resource's memory should live, in the terms a renderer thinks in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MemoryIntent {
    /// Only the GPU touches it: vertex, index and storage buffers filled by copies, textures,
    /// render targets. Device-local memory.
    #[default]
    GpuOnly,
    /// Staging memory the CPU fills once, sequentially, for the GPU to copy from. Host-visible,
    /// persistently mapped, preferably not device-local (keeps VRAM for resources).
    Upload,
    /// The GPU writes, the CPU reads back (screenshots, queries, compute results). Host-visible,
    /// persistently mapped, preferably host-cached so reads are fast.
    Readback,
    /// The CPU writes often and the GPU reads directly (per-frame uniforms, streamed vertices).
    /// Host-visible and persistently mapped; prefers device-local host-visible memory (resizable
    /// BAR, unified memory) and falls back to host memory the GPU reads over the bus.
    CpuToGpu,
    /// Attachments that live only inside a frame (a render graph's transients). Memory from
    /// [`crate::Allocator::allocate_memory`] is lazily allocated where the device has such a type
    /// among those allowed (tile-based GPUs never back it with RAM), device-local otherwise;
    /// resources created directly get device-local memory.
    Transient,
}

impl MemoryIntent {
    /// Whether this intent always yields host-visible, persistently mapped memory.
    pub fn is_host_visible(self) -> bool {
        !matches!(self, Self::GpuOnly | Self::Transient)
    }
}

/// A request for one buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct BufferDesc<'a> {
    /// Size in bytes; must not be zero.
    pub(crate) size: vk::DeviceSize,
    /// How the buffer will be used; must not be empty.
    pub(crate) usage: vk::BufferUsageFlags,
    /// Where its memory should live.
    pub(crate) memory: MemoryIntent,
    /// Debug name, set on the `VkBuffer` (when debug names are on) and on the VMA allocation.
    pub(crate) name: Option<&'a str>,
    /// Ask for a dedicated `VkDeviceMemory` instead of a sub-allocation (large render targets,
    /// resources that will be exported or that the driver prefers dedicated).
    pub(crate) dedicated: bool,
    /// Priority in `0.0..=1.0` for `VK_EXT_memory_priority`; ignored where that is not enabled.
    pub(crate) priority: Option<f32>,
    /// Queue families that use the buffer concurrently (`VK_SHARING_MODE_CONCURRENT`): two or more
    /// distinct families of the device. Empty (the default): exclusive to one family at a time,
    /// with ownership transfers between families.
    pub(crate) concurrent: &'a [u32],
}

impl<'a> BufferDesc<'a> {
    /// A buffer of `size` bytes with `usage`, GPU-only.
    pub fn new(size: vk::DeviceSize, usage: vk::BufferUsageFlags) -> Self {
        Self {
            size,
            usage,
            memory: MemoryIntent::GpuOnly,
            name: None,
            dedicated: false,
            priority: None,
            concurrent: &[],
        }
    }

    /// A GPU-only vertex buffer that is filled by transfers.
    pub fn vertex(size: vk::DeviceSize) -> Self {
        Self::new(
            size,
            vk::BufferUsageFlags::VERTEX_BUFFER | vk::BufferUsageFlags::TRANSFER_DST,
        )
    }

    /// A GPU-only index buffer that is filled by transfers.
    pub fn index(size: vk::DeviceSize) -> Self {
        Self::new(
            size,
            vk::BufferUsageFlags::INDEX_BUFFER | vk::BufferUsageFlags::TRANSFER_DST,
        )
    }

    /// A persistently mapped staging buffer to copy from.
    pub fn staging(size: vk::DeviceSize) -> Self {
        Self::new(size, vk::BufferUsageFlags::TRANSFER_SRC).memory(MemoryIntent::Upload)
    }

    /// A persistently mapped buffer to copy results into and read on the CPU.
    pub fn readback(size: vk::DeviceSize) -> Self {
        Self::new(size, vk::BufferUsageFlags::TRANSFER_DST).memory(MemoryIntent::Readback)
    }

    /// Sets the memory intent.
    pub fn memory(mut self, memory: MemoryIntent) -> Self {
        self.memory = memory;
        self
    }

    /// Adds usage flags.
    pub fn usage(mut self, usage: vk::BufferUsageFlags) -> Self {
        self.usage |= usage;
        self
    }

    /// Sets the debug name.
    pub fn name(mut self, name: &'a str) -> Self {
        self.name = Some(name);
        self
    }

    /// Shares the resource concurrently between `queue_families` (two or more distinct families
    /// of the device), so that no ownership transfer is needed between them; often slower to
    /// access than exclusive sharing on some devices (DCC or compression may be off).
    pub fn concurrent(mut self, queue_families: &'a [u32]) -> Self {
        self.concurrent = queue_families;
        self
    }

    /// Asks for a dedicated allocation.
    pub fn dedicated(mut self, dedicated: bool) -> Self {
        self.dedicated = dedicated;
        self
    }

    /// Sets the memory priority hint.
    pub fn priority(mut self, priority: f32) -> Self {
        self.priority = Some(priority);
        self
    }
}

/// The dimensionality of an image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ImageDimension {
    /// `VK_IMAGE_TYPE_1D`: height and depth are 1.
    D1,
    /// `VK_IMAGE_TYPE_2D`: depth is 1.
    #[default]
    D2,
    /// `VK_IMAGE_TYPE_3D`: one array layer.
    D3,
}

impl ImageDimension {
    /// The Vulkan image type.
    pub fn to_vk(self) -> vk::ImageType {
        match self {
            Self::D1 => vk::ImageType::TYPE_1D,
            Self::D2 => vk::ImageType::TYPE_2D,
            Self::D3 => vk::ImageType::TYPE_3D,
        }
    }
}

/// How many mip levels an image has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MipLevels {
    /// Exactly this many (1 for no mip chain).
    Count(u32),
    /// Every level down to 1x1x1: `floor(log2(max(width, height, depth))) + 1`.
    #[default]
    Full,
}

impl MipLevels {
    /// One level, no chain.
    pub const ONE: Self = Self::Count(1);
}

/// The number of levels in the full mip chain of `extent`.
pub fn full_mip_chain(extent: vk::Extent3D) -> u32 {
    let largest = extent.width.max(extent.height).max(extent.depth).max(1);
    u32::BITS - largest.leading_zeros()
}

/// The extent of mip `level` of an image whose level 0 is `extent`: each dimension halved per
/// level, never below 1.
pub fn level_extent(extent: vk::Extent3D, level: u32) -> vk::Extent3D {
    let shrink = |v: u32| v.checked_shr(level).unwrap_or(0).max(1);
    vk::Extent3D {
        width: shrink(extent.width),
        height: shrink(extent.height),
        depth: shrink(extent.depth),
    }
}

/// A request for one image.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageDesc<'a> {
    /// 1D, 2D or 3D.
    pub(crate) dimension: ImageDimension,
    /// Width, height and depth in texels; none may be zero.
    pub(crate) extent: vk::Extent3D,
    /// Texel format; not `UNDEFINED`.
    pub(crate) format: vk::Format,
    /// Mip levels, counted or the full chain.
    pub(crate) mip_levels: MipLevels,
    /// Array layers (6 per cube for cube-compatible images).
    pub(crate) array_layers: u32,
    /// Samples per texel: 1, 2, 4, 8, 16, 32 or 64.
    pub(crate) samples: u32,
    /// Optimal (the default) or linear.
    pub(crate) tiling: vk::ImageTiling,
    /// How the image will be used; must not be empty.
    pub(crate) usage: vk::ImageUsageFlags,
    /// Create a cube-compatible 2D image (`VK_IMAGE_CREATE_CUBE_COMPATIBLE_BIT`).
    pub(crate) cube_compatible: bool,
    /// Further create flags, for example `MUTABLE_FORMAT` to view an sRGB image as UNORM.
    pub(crate) flags: vk::ImageCreateFlags,
    /// Where its memory should live; images are normally GPU-only.
    pub(crate) memory: MemoryIntent,
    /// Debug name, set on the `VkImage` (when debug names are on) and on the VMA allocation.
    pub(crate) name: Option<&'a str>,
    /// Ask for a dedicated `VkDeviceMemory`.
    pub(crate) dedicated: bool,
    /// Priority in `0.0..=1.0` for `VK_EXT_memory_priority`.
    pub(crate) priority: Option<f32>,
    /// Queue families that use the image concurrently; empty (the default) for exclusive
    /// sharing. See [`BufferDesc::concurrent`].
    pub(crate) concurrent: &'a [u32],
}

impl<'a> ImageDesc<'a> {
    fn with(dimension: ImageDimension, format: vk::Format, extent: vk::Extent3D) -> Self {
        Self {
            dimension,
            extent,
            format,
            mip_levels: MipLevels::ONE,
            array_layers: 1,
            samples: 1,
            tiling: vk::ImageTiling::OPTIMAL,
            usage: vk::ImageUsageFlags::empty(),
            cube_compatible: false,
            flags: vk::ImageCreateFlags::empty(),
            memory: MemoryIntent::GpuOnly,
            name: None,
            dedicated: false,
            priority: None,
            concurrent: &[],
        }
    }

    /// The dimension the constructor set.
    pub fn dimension(&self) -> ImageDimension {
        self.dimension
    }

    /// The format the constructor set.
    pub fn format(&self) -> vk::Format {
        self.format
    }

    /// The extent the constructor set, in texels.
    pub fn extent(&self) -> vk::Extent3D {
        self.extent
    }

    /// A 1D image of `width` texels.
    pub fn new_1d(format: vk::Format, width: u32) -> Self {
        Self::with(ImageDimension::D1, format, extent(width, 1, 1))
    }

    /// A 2D image.
    pub fn new_2d(format: vk::Format, width: u32, height: u32) -> Self {
        Self::with(ImageDimension::D2, format, extent(width, height, 1))
    }

    /// A 3D image.
    pub fn new_3d(format: vk::Format, width: u32, height: u32, depth: u32) -> Self {
        Self::with(ImageDimension::D3, format, extent(width, height, depth))
    }

    /// A cube map: a cube-compatible 2D image of six `size`x`size` layers.
    pub fn cube(format: vk::Format, size: u32) -> Self {
        let mut desc = Self::new_2d(format, size, size).array_layers(6);
        desc.cube_compatible = true;
        desc
    }

    /// A sampled 2D texture filled by transfers, with the full mip chain (the chain's levels
    /// are also transfer sources, as mip generation by blits needs).
    pub fn texture_2d(format: vk::Format, width: u32, height: u32) -> Self {
        Self::new_2d(format, width, height)
            .mip_levels(MipLevels::Full)
            .usage(
                vk::ImageUsageFlags::SAMPLED
                    | vk::ImageUsageFlags::TRANSFER_DST
                    | vk::ImageUsageFlags::TRANSFER_SRC,
            )
    }

    /// Adds usage flags.
    pub fn usage(mut self, usage: vk::ImageUsageFlags) -> Self {
        self.usage |= usage;
        self
    }

    /// Sets the mip level count.
    pub fn mip_levels(mut self, mip_levels: MipLevels) -> Self {
        self.mip_levels = mip_levels;
        self
    }

    /// Sets the array layer count.
    pub fn array_layers(mut self, array_layers: u32) -> Self {
        self.array_layers = array_layers;
        self
    }

    /// Sets the sample count.
    pub fn samples(mut self, samples: u32) -> Self {
        self.samples = samples;
        self
    }

    /// Sets the tiling.
    pub fn tiling(mut self, tiling: vk::ImageTiling) -> Self {
        self.tiling = tiling;
        self
    }

    /// Adds create flags.
    pub fn flags(mut self, flags: vk::ImageCreateFlags) -> Self {
        self.flags |= flags;
        self
    }

    /// Sets the memory intent.
    pub fn memory(mut self, memory: MemoryIntent) -> Self {
        self.memory = memory;
        self
    }

    /// Sets the debug name.
    pub fn name(mut self, name: &'a str) -> Self {
        self.name = Some(name);
        self
    }

    /// Shares the resource concurrently between `queue_families` (two or more distinct families
    /// of the device), so that no ownership transfer is needed between them; often slower to
    /// access than exclusive sharing on some devices (DCC or compression may be off).
    pub fn concurrent(mut self, queue_families: &'a [u32]) -> Self {
        self.concurrent = queue_families;
        self
    }

    /// Asks for a dedicated allocation.
    pub fn dedicated(mut self, dedicated: bool) -> Self {
        self.dedicated = dedicated;
        self
    }

    /// Sets the memory priority hint.
    pub fn priority(mut self, priority: f32) -> Self {
        self.priority = Some(priority);
        self
    }

    /// The mip level count this description resolves to.
    pub fn resolved_mip_levels(&self) -> u32 {
        match self.mip_levels {
            MipLevels::Count(n) => n,
            MipLevels::Full => full_mip_chain(self.extent),
        }
    }

    /// The Vulkan create flags this description resolves to.
    pub fn create_flags(&self) -> vk::ImageCreateFlags {
        if self.cube_compatible {
            self.flags | vk::ImageCreateFlags::CUBE_COMPATIBLE
        } else {
            self.flags
        }
    }
}

/// A request for a block of memory in which the caller places resources itself (a render graph's
/// transient attachments, whose lifetimes it knows): see [`crate::Allocator::allocate_memory`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryDesc<'a> {
    /// Bytes; must not be zero.
    pub(crate) size: vk::DeviceSize,
    /// Alignment of the block's start (the largest alignment of what will be placed in it).
    pub(crate) alignment: vk::DeviceSize,
    /// Memory types the block may come from: the intersection of the `memoryTypeBits` of the
    /// resources to be placed in it.
    pub(crate) memory_type_bits: u32,
    /// Where it should live.
    pub(crate) memory: MemoryIntent,
    /// Debug name of the VMA allocation.
    pub(crate) name: Option<&'a str>,
}

impl<'a> MemoryDesc<'a> {
    /// A block for resources whose combined requirements are `requirements`.
    pub fn new(requirements: vk::MemoryRequirements, memory: MemoryIntent) -> Self {
        Self {
            size: requirements.size,
            alignment: requirements.alignment,
            memory_type_bits: requirements.memory_type_bits,
            memory,
            name: None,
        }
    }

    /// Sets the debug name.
    pub fn name(mut self, name: &'a str) -> Self {
        self.name = Some(name);
        self
    }
}

fn extent(width: u32, height: u32, depth: u32) -> vk::Extent3D {
    vk::Extent3D {
        width,
        height,
        depth,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_chain_counts_levels_down_to_one_texel() {
        assert_eq!(full_mip_chain(extent(1, 1, 1)), 1);
        assert_eq!(full_mip_chain(extent(2, 1, 1)), 2);
        assert_eq!(full_mip_chain(extent(257, 129, 1)), 9);
        assert_eq!(full_mip_chain(extent(1, 1024, 1)), 11);
        assert_eq!(full_mip_chain(extent(4096, 4096, 1)), 13);
        assert_eq!(full_mip_chain(extent(8, 8, 32)), 6);
    }

    #[test]
    fn cube_desc_is_square_six_layers_and_flagged() {
        let desc = ImageDesc::cube(vk::Format::R8G8B8A8_UNORM, 64);
        assert_eq!(desc.array_layers, 6);
        assert!(desc
            .create_flags()
            .contains(vk::ImageCreateFlags::CUBE_COMPATIBLE));
    }
}
