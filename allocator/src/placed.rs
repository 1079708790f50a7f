//! Memory the caller places resources in: what a render graph needs to let transient attachments
//! with disjoint lifetimes share bytes.
//!
//! Still stateless: [`Allocator::allocate_memory`] hands back a [`GpuMemory`] (made by VMA with
//! `CAN_ALIAS`), [`Allocator::create_placed_buffer`] / [`Allocator::create_placed_image`] bind a
//! new resource at an offset in it, and the caller destroys resources and memory independently.
//! Which resources overlap in time, and so which may share bytes, is the caller's knowledge (see
//! `staging`'s placement planner); the allocator checks only what Vulkan would: the offset's
//! alignment, the resource's end, and the memory type, each a typed error before anything is
//! created.

use std::ffi::CString;

use ash::vk;

use crate::allocator::AllocatorId;
use crate::desc::{BufferDesc, ImageDesc, MemoryDesc, MemoryIntent};
use crate::error::{Error, Result};
use crate::Allocator;

/// A block of device memory for placed resources. Not `Clone`: freed once, by
/// [`Allocator::free_memory`], after every resource placed in it is destroyed.
#[derive(Debug)]
#[must_use = "a handle that is dropped leaks its resource: destroy it with its allocator"]
pub struct GpuMemory {
    allocation: vk_mem::Allocation,
    owner: AllocatorId,
    size: vk::DeviceSize,
    memory_type: u32,
    flags: vk::MemoryPropertyFlags,
}

// SAFETY: the allocation handle is an opaque pointer VMA synchronises; `GpuMemory` only hands it
// back to the allocator.
unsafe impl Send for GpuMemory {}
// SAFETY: as above; shared references only read the plain fields.
unsafe impl Sync for GpuMemory {}

impl GpuMemory {
    /// Bytes in the block.
    pub fn size(&self) -> vk::DeviceSize {
        self.size
    }

    /// The memory type it came from.
    pub fn memory_type(&self) -> u32 {
        self.memory_type
    }

    /// Property flags of that memory type.
    pub fn memory_flags(&self) -> vk::MemoryPropertyFlags {
        self.flags
    }
}

/// A buffer bound at an offset in a [`GpuMemory`]; it owns no memory.
#[derive(Debug)]
#[must_use = "a handle that is dropped leaks its resource: destroy it with its allocator"]
pub struct PlacedBuffer {
    raw: vk::Buffer,
    size: vk::DeviceSize,
    usage: vk::BufferUsageFlags,
    offset: vk::DeviceSize,
}

impl PlacedBuffer {
    /// The Vulkan handle.
    pub fn raw(&self) -> vk::Buffer {
        self.raw
    }
    /// Size in bytes.
    pub fn size(&self) -> vk::DeviceSize {
        self.size
    }
    /// Usage it was created with.
    pub fn usage(&self) -> vk::BufferUsageFlags {
        self.usage
    }
    /// Where it starts in its memory.
    pub fn offset(&self) -> vk::DeviceSize {
        self.offset
    }
}

/// An image bound at an offset in a [`GpuMemory`]; it owns no memory.
#[derive(Debug)]
#[must_use = "a handle that is dropped leaks its resource: destroy it with its allocator"]
pub struct PlacedImage {
    raw: vk::Image,
    info: ImageInfo,
    offset: vk::DeviceSize,
}

/// What an image was created as: [`GpuImage::info`](crate::GpuImage::info) and
/// [`PlacedImage::info`] answer with one, and `staging`'s image targets are built from one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// Extent of level 0.
    pub extent: vk::Extent3D,
    /// Texel format.
    pub format: vk::Format,
    /// Mip levels.
    pub mip_levels: u32,
    /// Array layers.
    pub array_layers: u32,
    /// Usage.
    pub usage: vk::ImageUsageFlags,
    /// 1D, 2D or 3D.
    pub image_type: vk::ImageType,
    /// Samples per texel.
    pub samples: vk::SampleCountFlags,
    /// Tiling.
    pub tiling: vk::ImageTiling,
    /// Create flags.
    pub flags: vk::ImageCreateFlags,
}

impl PlacedImage {
    /// The Vulkan handle.
    pub fn raw(&self) -> vk::Image {
        self.raw
    }
    /// What it was created as.
    pub fn info(&self) -> ImageInfo {
        self.info
    }
    /// Where it starts in its memory.
    pub fn offset(&self) -> vk::DeviceSize {
        self.offset
    }
}

/// Checks that a resource of `requirements` fits at `offset` of memory of `memory_type` and
/// `memory_size` bytes.
fn check_fit(
    requirements: &vk::MemoryRequirements,
    memory_type: u32,
    memory_size: u64,
    offset: u64,
) -> Result<()> {
    if memory_type >= 32 || requirements.memory_type_bits & (1 << memory_type) == 0 {
        return Err(Error::IncompatibleMemoryType {
            memory_type,
            allowed: requirements.memory_type_bits,
        });
    }
    if offset % requirements.alignment.max(1) != 0 {
        return Err(Error::MisalignedOffset {
            offset,
            alignment: requirements.alignment,
        });
    }
    if offset
        .checked_add(requirements.size)
        .is_none_or(|end| end > memory_size)
    {
        return Err(Error::PastEndOfMemory {
            offset,
            size: requirements.size,
            memory_size,
        });
    }
    Ok(())
}

impl Allocator {
    /// The memory a buffer of `desc` needs, without creating it (`vkGetDeviceBufferMemoryRequirements`).
    pub fn buffer_requirements(&self, desc: &BufferDesc<'_>) -> Result<vk::MemoryRequirements> {
        self.buffer_info_requirements(&self.checked_buffer_info(desc)?)
    }

    /// The memory an image of `desc` needs, without creating it (`vkGetDeviceImageMemoryRequirements`).
    pub fn image_requirements(&self, desc: &ImageDesc<'_>) -> Result<vk::MemoryRequirements> {
        self.image_info_requirements(&self.checked_image_info(desc)?)
    }

    /// Requirements of a checked buffer create info.
    fn buffer_info_requirements(
        &self,
        info: &vk::BufferCreateInfo<'_>,
    ) -> Result<vk::MemoryRequirements> {
        self.require_1_3()?;
        let query = vk::DeviceBufferMemoryRequirements::default().create_info(info);
        let mut out = vk::MemoryRequirements2::default();
        // SAFETY: a Vulkan 1.3 device (checked above); `info` passed validation.
        unsafe {
            self.device
                .get_device_buffer_memory_requirements(&query, &mut out)
        };
        Ok(out.memory_requirements)
    }

    /// Requirements of a checked image create info.
    pub(crate) fn image_info_requirements(
        &self,
        info: &vk::ImageCreateInfo<'_>,
    ) -> Result<vk::MemoryRequirements> {
        self.require_1_3()?;
        let query = vk::DeviceImageMemoryRequirements::default().create_info(info);
        let mut out = vk::MemoryRequirements2::default();
        // SAFETY: a Vulkan 1.3 device (checked above); `info` passed validation against the
        // device and the format.
        unsafe {
            self.device
                .get_device_image_memory_requirements(&query, &mut out)
        };
        Ok(out.memory_requirements)
    }

    /// The `vkGetDevice*MemoryRequirements` entry points are Vulkan 1.3.
    fn require_1_3(&self) -> Result<()> {
        if self.api_version < vk::API_VERSION_1_3 {
            return Err(Error::Unsupported {
                feature: "Vulkan 1.3 (vkGetDeviceBufferMemoryRequirements)",
            });
        }
        Ok(())
    }

    /// Allocates a block of memory to place resources in (VMA, `CAN_ALIAS`).
    pub fn allocate_memory(&self, desc: &MemoryDesc<'_>) -> Result<GpuMemory> {
        if desc.size == 0 {
            return Err(Error::invalid("size", "memory cannot be empty"));
        }
        if !desc.alignment.max(1).is_power_of_two() {
            return Err(Error::invalid(
                "alignment",
                format!("{} is not a power of two", desc.alignment),
            ));
        }
        let types = self.memory_types.len() as u32;
        let known = if types >= 32 {
            u32::MAX
        } else {
            (1u32 << types) - 1
        };
        if desc.memory_type_bits & known == 0 {
            return Err(Error::invalid(
                "memory_type_bits",
                format!(
                    "{:#b} names none of the device's {types} memory types",
                    desc.memory_type_bits
                ),
            ));
        }
        if desc.memory.is_host_visible() {
            return Err(Error::invalid(
                "memory",
                "placed resources live in GpuOnly or Transient memory",
            ));
        }
        let name = desc.name.map(CString::new).transpose().map_err(|_| {
            Error::invalid(
                "name",
                "contains a NUL byte, which Vulkan names cannot hold",
            )
        })?;
        use vk_mem::AllocationCreateFlags as F;
        let lazy = (0..types).any(|t| {
            desc.memory_type_bits & (1 << t) != 0
                && self.memory_types[t as usize].contains(vk::MemoryPropertyFlags::LAZILY_ALLOCATED)
        });
        let mut flags = F::CAN_ALIAS;
        if name.is_some() {
            // See `allocation_info`: VMA 3 names the allocation from `user_data` at creation.
            #[allow(deprecated)]
            {
                flags |= F::USER_DATA_COPY_STRING;
            }
        }
        let info = vk_mem::AllocationCreateInfo {
            flags,
            // VMA's AUTO usages need the resource's create info (they assert otherwise), so a
            // bare block names its preference by flags.
            usage: if desc.memory == MemoryIntent::Transient && lazy {
                vk_mem::MemoryUsage::GpuLazy
            } else {
                vk_mem::MemoryUsage::Unknown
            },
            preferred_flags: vk::MemoryPropertyFlags::DEVICE_LOCAL,
            memory_type_bits: desc.memory_type_bits,
            user_data: name.as_ref().map_or(0, |n| n.as_ptr() as usize),
            ..Default::default()
        };
        let requirements = vk::MemoryRequirements {
            size: desc.size,
            alignment: desc.alignment.max(1),
            memory_type_bits: desc.memory_type_bits,
        };
        use vk_mem::Alloc as _;
        // SAFETY: valid requirements (checked above); the name outlives the call.
        let allocation = unsafe { self.vma.allocate_memory(&requirements, &info) }
            .map_err(|result| Error::from_vma(result, desc.size))?;
        let memory_type = self.vma.get_allocation_info(&allocation).memory_type;
        Ok(GpuMemory {
            allocation,
            owner: self.id,
            size: desc.size,
            memory_type,
            flags: self.memory_type_flags(memory_type),
        })
    }

    /// Frees memory from [`Allocator::allocate_memory`].
    ///
    /// # Safety
    /// This allocator made it; every resource placed in it is destroyed, and no pending GPU work
    /// uses it.
    pub unsafe fn free_memory(&self, memory: GpuMemory) {
        let GpuMemory { mut allocation, .. } = memory;
        // SAFETY: forwarded from this function's contract; the handle is consumed.
        unsafe { self.vma.free_memory(&mut allocation) };
    }

    /// Creates a buffer of `desc` bound at `offset` in `memory`. The description's memory intent,
    /// dedication and priority do not apply (the memory is already there). Refused before
    /// anything is created when the offset is misaligned, the buffer runs past the memory, the
    /// memory's type is not one the buffer allows, or another allocator made the memory
    /// ([`Error::ForeignHandle`]).
    pub fn create_placed_buffer(
        &self,
        desc: &BufferDesc<'_>,
        memory: &GpuMemory,
        offset: vk::DeviceSize,
    ) -> Result<PlacedBuffer> {
        self.check_owner(memory.owner, "memory")?;
        let info = self.checked_buffer_info(desc)?;
        let requirements = self.buffer_info_requirements(&info)?;
        check_fit(&requirements, memory.memory_type, memory.size, offset)?;
        // SAFETY: a validated create info on this device.
        let raw = unsafe { self.device.create_buffer(&info, None) }?;
        // SAFETY: the buffer is new and unbound; the range was checked against its requirements.
        if let Err(err) = unsafe {
            self.vma
                .bind_buffer_memory2(&memory.allocation, offset, raw, std::ptr::null())
        } {
            // SAFETY: never bound or used.
            unsafe { self.device.destroy_buffer(raw, None) };
            return Err(err.into());
        }
        // Validated: names hold no NUL. VMA never sees placed resources, so the debug name is
        // all the name they get.
        let name = desc.name.and_then(|n| CString::new(n).ok());
        self.set_debug_name(raw, name.as_deref());
        Ok(PlacedBuffer {
            raw,
            size: desc.size,
            usage: desc.usage,
            offset,
        })
    }

    /// Destroys a placed buffer (its memory stays).
    ///
    /// # Safety
    /// No pending GPU work uses it; this allocator's device made it.
    pub unsafe fn destroy_placed_buffer(&self, buffer: PlacedBuffer) {
        // SAFETY: forwarded from this function's contract.
        unsafe { self.device.destroy_buffer(buffer.raw, None) };
    }

    /// Creates an image of `desc` bound at `offset` in `memory`, in `UNDEFINED` layout: its
    /// contents are whatever the bytes hold, so its first use must discard them. Refused like
    /// [`Allocator::create_placed_buffer`].
    pub fn create_placed_image(
        &self,
        desc: &ImageDesc<'_>,
        memory: &GpuMemory,
        offset: vk::DeviceSize,
    ) -> Result<PlacedImage> {
        self.check_owner(memory.owner, "memory")?;
        let info = self.checked_image_info(desc)?;
        let requirements = self.image_info_requirements(&info)?;
        check_fit(&requirements, memory.memory_type, memory.size, offset)?;
        // SAFETY: a validated create info on this device.
        let raw = unsafe { self.device.create_image(&info, None) }?;
        // SAFETY: the image is new and unbound; the range was checked against its requirements.
        if let Err(err) = unsafe {
            self.vma
                .bind_image_memory2(&memory.allocation, offset, raw, std::ptr::null())
        } {
            // SAFETY: never bound or used.
            unsafe { self.device.destroy_image(raw, None) };
            return Err(err.into());
        }
        // As for placed buffers: the debug name is the only name.
        let name = desc.name.and_then(|n| CString::new(n).ok());
        self.set_debug_name(raw, name.as_deref());
        Ok(PlacedImage {
            raw,
            info: ImageInfo {
                extent: info.extent,
                format: info.format,
                mip_levels: info.mip_levels,
                array_layers: info.array_layers,
                usage: info.usage,
                image_type: info.image_type,
                samples: info.samples,
                tiling: info.tiling,
                flags: info.flags,
            },
            offset,
        })
    }

    /// Destroys a placed image (its memory stays).
    ///
    /// # Safety
    /// No pending GPU work uses it; views of it are destroyed; this allocator's device made it.
    pub unsafe fn destroy_placed_image(&self, image: PlacedImage) {
        // SAFETY: forwarded from this function's contract.
        unsafe { self.device.destroy_image(image.raw, None) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placed_resource_must_be_aligned_inside_and_of_an_allowed_type() {
        let req = vk::MemoryRequirements {
            size: 256,
            alignment: 64,
            memory_type_bits: 0b0110,
        };
        assert!(check_fit(&req, 1, 1024, 768).is_ok());
        assert!(matches!(
            check_fit(&req, 0, 1024, 0),
            Err(Error::IncompatibleMemoryType {
                memory_type: 0,
                allowed: 0b0110
            })
        ));
        assert!(matches!(
            check_fit(&req, 40, 1024, 0),
            Err(Error::IncompatibleMemoryType { .. })
        ));
        assert!(matches!(
            check_fit(&req, 2, 1024, 32),
            Err(Error::MisalignedOffset {
                offset: 32,
                alignment: 64
            })
        ));
        assert!(matches!(
            check_fit(&req, 2, 1024, 832),
            Err(Error::PastEndOfMemory {
                offset: 832,
                size: 256,
                memory_size: 1024
            })
        ));
        assert!(matches!(
            check_fit(&req, 2, 1024, u64::MAX - 63),
            Err(Error::PastEndOfMemory { .. })
        ));
    }
}
