//! The one error type of this crate.
//!
//! Descriptions are checked before anything reaches Vulkan, so most variants name the field of the
//! [`BufferDesc`](crate::BufferDesc) or [`ImageDesc`](crate::ImageDesc) that was refused and why.

use ash::vk;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when creating, mapping or inspecting resources.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A description field holds a value that no device accepts (zero size, a cube that is not
    /// square, more mip levels than the extent allows, ...).
    #[error("invalid `{field}`: {reason}")]
    InvalidDesc {
        /// The description field at fault, as spelled in the `*Desc` struct.
        field: &'static str,
        /// Why the value was refused.
        reason: String,
    },

    /// A description field is well-formed but exceeds a limit of this physical device.
    #[error("`{field}` is {value}, above this device's limit of {limit}")]
    ExceedsLimit {
        /// The description field at fault.
        field: &'static str,
        /// The value asked for.
        value: u64,
        /// The device's limit (`VkPhysicalDeviceLimits`, maintenance properties, or the format's
        /// `VkImageFormatProperties`).
        limit: u64,
    },

    /// The device does not support this format with this usage, tiling and flags
    /// (`vkGetPhysicalDeviceImageFormatProperties` answered `VK_ERROR_FORMAT_NOT_SUPPORTED`).
    #[error("format {format:?} is not supported with usage {usage:?}, tiling {tiling:?}, flags {flags:?}")]
    UnsupportedFormat {
        /// The image format asked for.
        format: vk::Format,
        /// The usage asked for.
        usage: vk::ImageUsageFlags,
        /// The tiling asked for.
        tiling: vk::ImageTiling,
        /// The create flags asked for.
        flags: vk::ImageCreateFlags,
    },

    /// The allocator was asked for a feature the physical device does not have.
    #[error("{feature} is not supported by this physical device")]
    Unsupported {
        /// The extension, feature or API version that is missing.
        feature: &'static str,
    },

    /// No memory heap could hold the allocation (`VK_ERROR_OUT_OF_DEVICE_MEMORY` or
    /// `VK_ERROR_OUT_OF_HOST_MEMORY`, or a heap size limit set on the allocator). Nothing was
    /// created, and the allocator stays fully usable.
    #[error("out of memory allocating {requested} bytes ({source:?})")]
    OutOfMemory {
        /// Size of the resource that could not be created.
        requested: u64,
        /// The Vulkan result VMA reported.
        source: vk::Result,
    },

    /// The resource's memory cannot be mapped: it was created `GpuOnly` (VMA forbids mapping
    /// allocations made without host access, even where the memory happens to be host-visible),
    /// or its memory type is not `HOST_VISIBLE`.
    #[error("memory of a {intent:?} resource in a {flags:?} memory type cannot be mapped")]
    NotMappable {
        /// The memory intent the resource was created with.
        intent: crate::MemoryIntent,
        /// Property flags of the memory type the resource lives in.
        flags: vk::MemoryPropertyFlags,
    },

    /// A host read or write range does not fit inside the resource.
    #[error("range of {len} bytes at offset {offset} does not fit in {size} bytes")]
    OutOfBounds {
        /// Start of the range, in bytes.
        offset: u64,
        /// Length of the range, in bytes.
        len: u64,
        /// Size of the resource, in bytes.
        size: u64,
    },

    /// A placed resource's offset is not a multiple of the alignment it needs.
    #[error("offset {offset} is not a multiple of the resource's alignment {alignment}")]
    MisalignedOffset {
        /// The offset asked for.
        offset: u64,
        /// The alignment the resource needs (`VkMemoryRequirements::alignment`).
        alignment: u64,
    },

    /// A placed resource would run past the end of its memory.
    #[error("{size} bytes at offset {offset} run past the end of {memory_size} bytes of memory")]
    PastEndOfMemory {
        /// The offset asked for.
        offset: u64,
        /// Bytes the resource needs.
        size: u64,
        /// Bytes of the memory.
        memory_size: u64,
    },

    /// The memory's type is not one the resource can be bound to.
    #[error("memory type {memory_type} is not among the types the resource allows ({allowed:#b})")]
    IncompatibleMemoryType {
        /// The memory's type index.
        memory_type: u32,
        /// `VkMemoryRequirements::memoryTypeBits` of the resource.
        allowed: u32,
    },

    /// A handle or memory block made by another allocator was given to this one (its VMA
    /// allocation belongs to another VMA allocator, maybe of another device:
    /// VUID-vkBindBufferMemory-memory-parent and its neighbours). Nothing was done.
    #[error("the {what} was made by another allocator")]
    ForeignHandle {
        /// What was refused: "buffer", "image" or "memory".
        what: &'static str,
    },

    /// Any other Vulkan failure, passed through unchanged.
    #[error("Vulkan call failed: {0}")]
    Vulkan(#[from] vk::Result),
}

impl Error {
    /// Shorthand for [`Error::InvalidDesc`]. Cold: descriptions are checked on every create, and
    /// keeping the refusals out of line keeps the checks that pass short.
    #[cold]
    #[inline(never)]
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidDesc {
            field,
            reason: reason.into(),
        }
    }

    /// Whether this is an out-of-memory failure: [`Error::OutOfMemory`], or a Vulkan call that
    /// answered `VK_ERROR_OUT_OF_DEVICE_MEMORY` / `VK_ERROR_OUT_OF_HOST_MEMORY`.
    pub fn is_out_of_memory(&self) -> bool {
        match self {
            Self::OutOfMemory { .. } => true,
            Self::Vulkan(result) => matches!(
                *result,
                vk::Result::ERROR_OUT_OF_DEVICE_MEMORY | vk::Result::ERROR_OUT_OF_HOST_MEMORY
            ),
            _ => false,
        }
    }

    /// The description field this error is about, where it is about one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidDesc { field, .. } | Self::ExceedsLimit { field, .. } => Some(field),
            Self::UnsupportedFormat { .. } => Some("format"),
            _ => None,
        }
    }

    /// Maps a VMA result for a resource of `requested` bytes: out-of-memory gets its own variant.
    pub(crate) fn from_vma(result: vk::Result, requested: u64) -> Self {
        match result {
            vk::Result::ERROR_OUT_OF_DEVICE_MEMORY | vk::Result::ERROR_OUT_OF_HOST_MEMORY => {
                Self::OutOfMemory {
                    requested,
                    source: result,
                }
            }
            other => Self::Vulkan(other),
        }
    }
}
