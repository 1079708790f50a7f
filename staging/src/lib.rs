//! Stateless upload utilities that record into the caller's command buffers.
//!
//! Everything here records into a command buffer the caller owns and submits nothing on its own
//! (except the optional queue driver), keeps no global state, and speaks in
//! [`ResourceState`]s so that a render graph can hand a resource in and take it back in a
//! declared state.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
#![warn(missing_docs)]

mod access;
mod barrier;
mod error;
mod format;
mod plan;
mod readback;
mod ring;
mod submit;
mod upload;

pub use crate::access::{Access, AccessInfo, ResourceState};
pub use crate::barrier::{buffer_masks, image_masks, BarrierBatch, BarrierMasks};
pub use crate::error::{Error, Result};
pub use crate::format::{block_info, BlockInfo};
pub use crate::plan::{
    offset_alignment, plan_subresource, CopyAlignment, Piece, SubresourceLayout,
};
pub use crate::readback::{BufferReadback, ImageReadback};
pub use crate::ring::{RingSpan, StagingRing};
pub use crate::submit::Submitter;
pub use crate::upload::{
    packed_layouts, BufferUpload, Finished, ImageUpload, Progress, Stager, UploadPath,
};
