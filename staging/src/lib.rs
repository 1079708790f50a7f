//! Stateless upload utilities that record into the caller's command buffers.
//!
//! What it is for: getting bytes into buffers and images (and back out) with correct
//! synchronization, in terms a render graph can chain. Every recording function takes the
//! [`ResourceState`] a resource is in and the state to leave it in, and returns the state it left
//! it in ([`Finished`]), with the acquire half of a queue-family transfer when ownership moves.
//!
//! - [`Access`] / [`ResourceState`]: the synchronization2 table (stage, access, layout) and the
//!   owning queue family; [`BarrierBatch`] gathers barriers for one `vkCmdPipelineBarrier2`.
//! - [`BufferUpload`] / [`ImageUpload`]: uploads that may span several submissions, through a
//!   caller-owned [`StagingRing`] (peak staging memory is the ring's size, whatever is uploaded),
//!   or straight into mappable memory ([`UploadPath::Direct`]).
//! - [`plan_subresource`]: the pure, texel-block aware copy planner behind image uploads.
//! - Readback of buffers and of every level and layer of an image ([`Stager::record_image_readback`]).
//! - [`MipGenerator`]: mip chains by a blit chain or a single-pass compute downsampler
//!   (`shaders/downsample.comp`), from any base level, in and out of declared states.
//! - [`Submitter`]: an optional driver that runs an upload on a queue with a timeline semaphore.
//!
//! What it deliberately does not do: submit behind the caller's back (only [`Submitter`] submits,
//! and only when asked), own resources, keep global state, or allocate staging memory per upload
//! (wgpu allocates a full-size staging buffer per write: wgpu PR #7114).
//!
//! # Soundness and errors
//! - Staging memory is written only through [`StagingRing::bytes_mut`], which takes a
//!   [`RingSpan`] the ring handed out: spans cannot be built by callers (private fields), carry
//!   their ring's id and a sequence number, and are refused once reclaimed, so a safe caller
//!   cannot reach outside the mapping or into space the GPU may be reading for a later span.
//! - All arithmetic on caller-supplied sizes, offsets, pitches and alignments is checked;
//!   [`Piece`]s are made only by the planner, which checked each against the caller's data.
//! - Recording functions check everything first (usage, sample count, states against the
//!   device's queue families and the image's usage, the ring's size), then do host work, then
//!   record. An error leaves the command buffer, the ring (rolled back) and the upload object as
//!   they were, so the same call can be retried.
//! - `unsafe` is on the functions that record or submit: the caller vouches for the command
//!   buffer's device and queue, and for the resources outliving the GPU work.
//!
//! ```no_run
//! use staging::{Access, BufferUpload, ResourceState, Stager, StagingRing, Progress};
//! # fn f(allocator: &allocator::Allocator, stager: &Stager, cmd: ash::vk::CommandBuffer,
//! #      ring: &mut StagingRing, vertices: &mut allocator::GpuBuffer, data: &[u8]) -> staging::Result<()> {
//! let mut upload = BufferUpload::new(vertices, 0, data, ResourceState::UNDEFINED,
//!     Access::VertexBuffer.into())?;
//! // SAFETY: `cmd` is recording; the buffer and ring outlive the submission.
//! match unsafe { upload.record(stager, allocator, cmd, ring)? } {
//!     Progress::Done(done) => assert_eq!(done.state, Access::VertexBuffer.into()),
//!     Progress::Pending => { /* submit `cmd`, ring.submitted(value), record again */ }
//! }
//! # Ok(()) }
//! ```

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
#![warn(missing_docs)]

mod access;
mod barrier;
mod check;
mod error;
mod fill;
mod format;
mod mips;
mod plan;
mod readback;
mod ring;
mod submit;
mod target;
mod timeline;
mod upload;

pub use crate::access::{Access, AccessInfo, ResourceState};
pub use crate::barrier::{aliased_masks, buffer_masks, image_masks, BarrierBatch, BarrierMasks};
pub use crate::error::{Error, Result};
pub use crate::format::{block_info, BlockInfo};
pub use crate::mips::{
    plan_compute_passes, MipGenerator, MipKernel, MipMethod, MipOptions, MipPass, MipScratch,
};
pub use crate::plan::{
    offset_alignment, plan_subresource, CopyAlignment, Piece, SubresourceLayout,
};
pub use crate::readback::{BufferReadback, ImageReadback};
pub use crate::ring::{RingSpan, StagingRing};
pub use crate::submit::Submitter;
pub use crate::target::{BufferTarget, ImageTarget};
pub use crate::timeline::Timeline;
pub use crate::upload::{
    packed_layouts, BufferUpload, Finished, ImageUpload, Progress, Stager, UploadPath,
};

/// The README's examples, compiled as doctests (this crate sees both `allocator` and `staging`).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
