//! The one error type of this crate.

use ash::vk;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong recording uploads and readbacks. Every check runs before anything
/// is recorded, so an error leaves the command buffer as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The format has no single-aspect texel-block layout this crate can copy (multi-planar, or
    /// combined depth/stencil).
    #[error("format {format:?} cannot be uploaded or read back by this crate")]
    UnsupportedFormat {
        /// The image's format.
        format: vk::Format,
    },

    /// The caller's source description is inconsistent with the resource.
    #[error("invalid `{field}`: {reason}")]
    InvalidSource {
        /// The field at fault.
        field: &'static str,
        /// Why.
        reason: String,
    },

    /// The resource lacks a usage flag the operation needs.
    #[error("the resource needs usage {needed}")]
    MissingUsage {
        /// The usage flag missing, spelled as Vulkan names it.
        needed: &'static str,
    },

    /// One indivisible piece of the upload (a row of texel blocks, or a contiguous run of
    /// buffer bytes smaller than the alignment) does not fit in the staging ring.
    #[error("a piece of {needed} bytes does not fit in a staging ring of {capacity} bytes")]
    RingTooSmall {
        /// Bytes the smallest piece needs.
        needed: u64,
        /// The ring's capacity.
        capacity: u64,
    },

    /// An allocator error (creating staging or readback memory, mapping, ...).
    #[error(transparent)]
    Allocator(#[from] allocator::Error),

    /// A Vulkan call failed.
    #[error("Vulkan call failed: {0}")]
    Vulkan(#[from] vk::Result),
}

impl Error {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidSource {
            field,
            reason: reason.into(),
        }
    }
}
