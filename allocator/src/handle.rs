//! The handles `create_*` returns: plain data, tracked by whoever created them.
//!
//! A handle is neither `Copy` nor `Clone`, and `destroy_*` takes it by value, so destroying one twice
//! does not compile. (vk-mem's own `Allocation` is `Copy`, which let users double-free: vk-mem-rs
//! issue #71.) Fields are read through accessors so that a handle can only come from an allocator.

use std::ptr::NonNull;

use ash::vk;

use crate::allocator::AllocatorId;
use crate::desc::MemoryIntent;

/// Where a resource's memory lives, as the allocator found it.
#[derive(Debug)]
pub(crate) struct Memory {
    pub allocation: vk_mem::Allocation,
    pub flags: vk::MemoryPropertyFlags,
    pub intent: MemoryIntent,
    /// The persistent mapping of host-visible intents.
    pub mapped: Option<NonNull<u8>>,
    /// The allocator that made it.
    pub owner: AllocatorId,
}

impl Memory {
    pub fn is_host_visible(&self) -> bool {
        self.flags.contains(vk::MemoryPropertyFlags::HOST_VISIBLE)
    }

    pub fn is_mappable(&self) -> bool {
        self.intent.is_host_visible() && self.is_host_visible()
    }
}

/// A buffer's persistent mapping, as plain data: where its bytes are, how many, and what
/// [`Allocator::flush_host`](crate::Allocator::flush_host) needs to make host writes visible.
/// Holding one grants nothing: it does not keep the buffer alive (it outlives
/// [`Allocator::destroy_buffer`](crate::Allocator::destroy_buffer)), so writing through `ptr`
/// and `flush_host` are both `unsafe`, and their caller keeps the buffer alive and its range free
/// of other host access meanwhile. Code that holds the buffer itself uses
/// [`Allocator::write`](crate::Allocator::write) and [`Allocator::flush`](crate::Allocator::flush),
/// which are safe.
///
/// ```compile_fail,E0133
/// # fn f(allocator: &vkup_allocator::Allocator, buffer: vkup_allocator::GpuBuffer) {
/// let access = buffer.host_access().expect("mappable");
/// // SAFETY: no GPU work uses it.
/// unsafe { allocator.destroy_buffer(buffer) };
/// allocator.flush_host(&access, 0, 4); // the buffer is gone: only `unsafe` code may try
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct HostAccess {
    /// The first byte of the buffer in the mapping.
    pub ptr: NonNull<u8>,
    /// Bytes of the buffer.
    pub len: vk::DeviceSize,
    pub(crate) allocation: vk_mem::Allocation,
    pub(crate) flags: vk::MemoryPropertyFlags,
    pub(crate) owner: AllocatorId,
}

// SAFETY: plain data (an address, a size, an opaque VMA handle VMA synchronises); using the
// address is `unsafe` and carries its own duties.
unsafe impl Send for HostAccess {}
// SAFETY: as above.
unsafe impl Sync for HostAccess {}

impl HostAccess {
    /// Whether host writes are visible to the device without a flush.
    pub fn is_coherent(&self) -> bool {
        self.flags.contains(vk::MemoryPropertyFlags::HOST_COHERENT)
    }
}

/// A buffer and the memory bound to it.
#[derive(Debug)]
#[must_use = "a handle that is dropped leaks its resource: destroy it with its allocator"]
pub struct GpuBuffer {
    pub(crate) raw: vk::Buffer,
    pub(crate) memory: Memory,
    pub(crate) size: vk::DeviceSize,
    pub(crate) usage: vk::BufferUsageFlags,
    pub(crate) device_address: Option<vk::DeviceAddress>,
}

// SAFETY: the handle is plain data: Vulkan handles, a VMA allocation (VMA is internally
// synchronised) and the address of a persistent mapping. Nothing in it is tied to the creating
// thread; host access through the mapping goes through `Allocator::write`/`read`, which take the
// buffer by `&mut`/`&` so Rust's aliasing rules order CPU accesses.
unsafe impl Send for GpuBuffer {}
// SAFETY: as above; shared references only read the plain fields.
unsafe impl Sync for GpuBuffer {}

impl GpuBuffer {
    /// The `VkBuffer`.
    pub fn raw(&self) -> vk::Buffer {
        self.raw
    }

    /// The VMA allocation backing it, for what this crate does not wrap.
    ///
    /// # Safety
    /// vk-mem's `Allocation` is `Copy`, and some of vk-mem's safe methods
    /// (`get_allocation_info`, ...) dereference it: the caller uses it, and any copy of it, only
    /// while this handle is alive, and only with the VMA allocator of the allocator that made
    /// it ([`Allocator::vma`](crate::Allocator::vma)).
    ///
    /// ```compile_fail,E0133
    /// # fn f(buffer: &vkup_allocator::GpuBuffer) {
    /// let allocation = *buffer.allocation(); // a copy that would outlive the buffer
    /// # }
    /// ```
    pub unsafe fn allocation(&self) -> &vk_mem::Allocation {
        &self.memory.allocation
    }

    /// Size in bytes, as asked for.
    pub fn size(&self) -> vk::DeviceSize {
        self.size
    }

    /// Usage flags it was created with.
    pub fn usage(&self) -> vk::BufferUsageFlags {
        self.usage
    }

    /// The memory intent it was created with.
    pub fn intent(&self) -> MemoryIntent {
        self.memory.intent
    }

    /// Property flags of the memory type it landed in.
    pub fn memory_flags(&self) -> vk::MemoryPropertyFlags {
        self.memory.flags
    }

    /// Whether its memory type is `HOST_VISIBLE`.
    pub fn is_host_visible(&self) -> bool {
        self.memory.is_host_visible()
    }

    /// Whether the CPU may map it: host-visible memory, created with a host-access intent.
    pub fn is_mappable(&self) -> bool {
        self.memory.is_mappable()
    }

    /// Its persistent mapping as plain data (the first byte, the length, what a flush needs),
    /// for code that writes through the pointer itself (see [`HostAccess`]); `None` unless the
    /// buffer is mappable. Code holding the buffer writes with
    /// [`Allocator::write`](crate::Allocator::write) instead, which checks the range and flushes.
    pub fn host_access(&self) -> Option<HostAccess> {
        let ptr = self.memory.mapped.filter(|_| self.memory.is_mappable())?;
        Some(HostAccess {
            ptr,
            len: self.size,
            allocation: self.memory.allocation,
            flags: self.memory.flags,
            owner: self.memory.owner,
        })
    }

    /// Its GPU address, when created with `SHADER_DEVICE_ADDRESS` usage.
    pub fn device_address(&self) -> Option<vk::DeviceAddress> {
        self.device_address
    }
}

/// An image and the memory bound to it.
#[derive(Debug)]
#[must_use = "a handle that is dropped leaks its resource: destroy it with its allocator"]
pub struct GpuImage {
    pub(crate) raw: vk::Image,
    pub(crate) memory: Memory,
    /// Bytes VMA reserved for it (images are often larger than their texels).
    pub(crate) allocation_size: vk::DeviceSize,
    pub(crate) image_type: vk::ImageType,
    pub(crate) extent: vk::Extent3D,
    pub(crate) format: vk::Format,
    pub(crate) mip_levels: u32,
    pub(crate) array_layers: u32,
    pub(crate) samples: vk::SampleCountFlags,
    pub(crate) tiling: vk::ImageTiling,
    pub(crate) usage: vk::ImageUsageFlags,
    pub(crate) flags: vk::ImageCreateFlags,
}

// SAFETY: plain data, as for `GpuBuffer`.
unsafe impl Send for GpuImage {}
// SAFETY: plain data, as for `GpuBuffer`.
unsafe impl Sync for GpuImage {}

impl GpuImage {
    /// The `VkImage`.
    pub fn raw(&self) -> vk::Image {
        self.raw
    }

    /// The VMA allocation backing it, for what this crate does not wrap.
    ///
    /// # Safety
    /// As for [`GpuBuffer::allocation`].
    pub unsafe fn allocation(&self) -> &vk_mem::Allocation {
        &self.memory.allocation
    }

    /// 1D, 2D or 3D.
    pub fn image_type(&self) -> vk::ImageType {
        self.image_type
    }

    /// Extent of level 0.
    pub fn extent(&self) -> vk::Extent3D {
        self.extent
    }

    /// Extent of mip `level` (each dimension halved per level, never below 1).
    pub fn level_extent(&self, level: u32) -> vk::Extent3D {
        crate::desc::level_extent(self.extent, level)
    }

    /// Texel format.
    pub fn format(&self) -> vk::Format {
        self.format
    }

    /// Number of mip levels.
    pub fn mip_levels(&self) -> u32 {
        self.mip_levels
    }

    /// Number of array layers.
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

    /// Usage flags it was created with.
    pub fn usage(&self) -> vk::ImageUsageFlags {
        self.usage
    }

    /// Create flags it was created with (cube-compatible, mutable format, ...).
    pub fn flags(&self) -> vk::ImageCreateFlags {
        self.flags
    }

    /// Property flags of the memory type it landed in.
    pub fn memory_flags(&self) -> vk::MemoryPropertyFlags {
        self.memory.flags
    }

    /// The memory intent it was created with.
    pub fn intent(&self) -> MemoryIntent {
        self.memory.intent
    }

    /// Whether the CPU may map it: host-visible memory, created with a host-access intent.
    pub fn is_mappable(&self) -> bool {
        self.memory.is_mappable()
    }

    /// Bytes of memory VMA reserved for it.
    pub fn allocation_size(&self) -> vk::DeviceSize {
        self.allocation_size
    }

    /// The subresource range covering every level and layer of `aspect`.
    pub fn full_range(&self, aspect: vk::ImageAspectFlags) -> vk::ImageSubresourceRange {
        vk::ImageSubresourceRange {
            aspect_mask: aspect,
            base_mip_level: 0,
            level_count: self.mip_levels,
            base_array_layer: 0,
            layer_count: self.array_layers,
        }
    }

    /// What it was created as, in one value.
    pub fn info(&self) -> crate::ImageInfo {
        crate::ImageInfo {
            extent: self.extent,
            format: self.format,
            mip_levels: self.mip_levels,
            array_layers: self.array_layers,
            usage: self.usage,
            image_type: self.image_type,
            samples: self.samples,
            tiling: self.tiling,
            flags: self.flags,
        }
    }
}
