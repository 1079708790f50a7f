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
//!   or straight into mappable memory ([`UploadPath::Direct`]); from the caller's bytes, or
//!   written in place by the caller's [`Produce`] (a decoder or file read writing straight
//!   into staging memory: [`ImageUpload::in_place`], [`BufferUpload::in_place`]).
//! - [`plan`]: the pure planners behind image uploads and compute mips, public for inspection
//!   and property tests, and outside the stable surface (see "Stability" below).
//! - Readback of buffers and of every level and layer of an image ([`Stager::record_image_readback`]).
//! - [`MipGenerator`]: mip chains by a blit chain or a single-pass compute downsampler
//!   (`shaders/downsample.comp`), from any base level, in and out of declared states.
//! - [`HostImageCopier`]: image uploads by the host alone (`VK_EXT_host_image_copy`), with no
//!   staging memory or submission, where the device offers it.
//! - [`Submitter`]: an optional driver that runs an upload on a queue with a timeline semaphore.
//! - [`graph`]: a render-graph planner: passes and the access sets they make to transient and
//!   imported resources in, barriers, lifetimes, usage, aliasing take-overs and cross-queue
//!   edges out.
//!
//! Everything that records takes the command buffer first, then its context in one order
//! (stager, allocator, ring, then what the call itself needs):
//! `upload.record(cmd, &stager, &allocator, &mut ring)`,
//! `upload.record_copies(cmd, &stager, &allocator, &mut ring, &mut post)`,
//! `stager.record_buffer_readback(cmd, &allocator, src, range, from, to)`,
//! `mips.record(cmd, image, from, to, options)`, `batch.record(cmd, &device)`. The stager and the
//! mip generator are made from the [`Allocator`](vkup_allocator::Allocator), which already holds
//! the instance, physical device and device.
//!
//! What it deliberately does not do: submit behind the caller's back (only [`Submitter`] submits,
//! and only when asked), own resources, keep global state, or allocate staging memory per upload
//! (wgpu allocates a full-size staging buffer per write: wgpu PR #7114).
//!
//! # Soundness and errors
//! No safe call makes the host or the GPU touch memory outside the resource it names, or memory
//! the other side is still using. Each public entry point is one of three kinds:
//!
//! - **Checked** against the truth, with a typed [`Error`]:
//!   - [`StagingRing::bytes_mut`] / [`StagingRing::flush`] take only a [`RingSpan`] the ring
//!     handed out (private fields, the ring's id and a sequence number), still live and not yet
//!     submitted ([`Error::StaleSpan`]): the host never writes outside the mapping, into space a
//!     submission may read, or into space reclaimed for a later span.
//!   - [`StagingRing::reclaim`] reads the counter of the [`Timeline`] the outstanding
//!     submissions signal from the device ([`Error::ForeignTimeline`] for another one); there is
//!     no number to pass. [`BufferReadback::read`] / [`ImageReadback::read`] likewise refuse
//!     until that counter reached their copy's value ([`Error::NotSubmitted`],
//!     [`Error::NotComplete`]).
//!   - Uploads, readbacks and mip generation check ranges, levels, layers, formats, usage and
//!     sample counts against their [`BufferTarget`] / [`ImageTarget`], and states against the
//!     device's queue families and the image's usage, *before* anything is rewritten (`adopt`
//!     included) or recorded; an upload that is done refuses to record again
//!     ([`Error::AlreadyFinished`]); uploads begun into one [`BarrierBatch`] that write the same
//!     bytes or subresources are refused ([`Error::Overlap`]).
//!   - Every sum, product and shift on caller values is checked, in the pure planners too
//!     ([`plan::plan_subresource`] holds at most one piece per byte of the data it was given;
//!     [`plan::plan_compute_passes`] at most 32 passes). An error leaves the command buffer, the ring
//!     (rolled back) and the upload as they were, so the same call can be retried.
//! - **`unsafe` with a stated duty**, where the truth is not at hand:
//!   - [`BufferTarget::new`] / [`ImageTarget::new`]: the claimed size, extent, levels, layers
//!     and format are the raw handle's real ones (targets from `&GpuBuffer`, `&GpuImage`,
//!     `&PlacedBuffer`, `&PlacedImage` are made safely from the handle's own description);
//!   - [`StagingRing::submitted`] and the readbacks' `submitted`: the work that reads the spans
//!     (writes the readback) completes before the timeline reaches the value named;
//!   - the functions that record or submit ([`BufferUpload::record`], [`BarrierBatch::record`],
//!     [`MipGenerator::record`], [`Submitter::run`], ...): the command buffer's device and queue,
//!     the resources outliving the GPU work and no host access touching the bytes it writes or
//!     reads meanwhile, and, for barriers the caller added by raw handle, that they name
//!     resources of the device;
//!   - constructors over raw Vulkan objects ([`Timeline::new`], [`Submitter::new`]), the
//!     [`MipGenerator`] (whose instance and device must outlive it) and `destroy` functions.
//! - **Unrepresentable**: a span cannot be forged, a ring cannot be reclaimed by a number, and a
//!   readback cannot be read without the timeline it checks (`compile_fail` examples on
//!   [`StagingRing`], [`BufferReadback`] and [`BufferTarget`]).
//!
//! # Stability
//! The stable surface is everything at the crate root: states and barriers, uploads, the ring
//! and [`Timeline`], readbacks, mips, [`Submitter`], targets and errors (variants may be added:
//! [`Error`] is `#[non_exhaustive]`). The [`plan`] module is not: its planners and their types
//! may change in any release. The [`graph`] module is new: its declarations are meant to stay,
//! while [`graph::Plan`]'s fields may still grow.
//!
//! ```no_run
//! use vkup_staging::{Access, BufferUpload, ResourceState, Stager, StagingRing, Progress};
//! # fn f(allocator: &vkup_allocator::Allocator, stager: &Stager, cmd: ash::vk::CommandBuffer,
//! #      ring: &mut StagingRing, vertices: &mut vkup_allocator::GpuBuffer, data: &[u8]) -> vkup_staging::Result<()> {
//! let mut upload = BufferUpload::new(vertices, 0, data, ResourceState::UNDEFINED,
//!     Access::VertexBuffer.into())?;
//! // SAFETY: `cmd` is recording; the buffer and ring outlive the submission.
//! match unsafe { upload.record(cmd, stager, allocator, ring)? } {
//!     Progress::Done(done) => assert_eq!(done.state, Access::VertexBuffer.into()),
//!     Progress::Pending => { /* submit `cmd` signalling a timeline value, tell the ring
//!                               (`ring.submitted(&timeline, value)`), record again */ }
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
pub mod graph;
mod host_copy;
mod mips;
pub mod plan;
mod readback;
mod ring;
mod submit;
mod target;
mod timeline;
mod upload;

pub use crate::access::{Access, AccessInfo, AccessSet, ResourceState};
pub use crate::barrier::{aliased_masks, buffer_masks, image_masks, BarrierBatch, BarrierMasks};
pub use crate::error::{Error, ResourceKind, Result, StateRole};
pub use crate::fill::{CopyExecutor, CopyJob};
pub use crate::format::{block_info, BlockInfo};
pub use crate::host_copy::HostImageCopier;
pub use crate::mips::{MipGenerator, MipMethod, MipOptions, MipScratch};
pub use crate::plan::{CopyAlignment, SubresourceLayout};
pub use crate::readback::{BufferReadback, ImageReadback};
pub use crate::ring::{RingSpan, StagingRing};
pub use crate::submit::Submitter;
pub use crate::target::{BufferTarget, ImageTarget};
pub use crate::timeline::Timeline;
pub use crate::upload::{
    packed_layouts, BufferUpload, Finished, ImageUpload, Produce, ProduceError, Progress, Slot,
    Stager, UploadPath,
};

/// The workspace README's examples, compiled as doctests (this crate sees both
/// `vkup_allocator` and `vkup_staging`). Outside the package, so only a doctest of the workspace.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// The crate README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;
