//! Uploads into buffers and images, recorded into the caller's command buffer.
//!
//! An upload is a value that remembers how far it got. Each [`BufferUpload::record`] /
//! [`ImageUpload::record`] call records as much as the staging ring has room for (and at most one
//! batch, so the driver can overlap filling with copying) and answers [`Progress::Pending`] until
//! the last piece is recorded, then [`Progress::Done`] with the state the resource was left in.
//! Between calls the caller submits the command buffer and tells the ring which submission it was.
//!
//! Both kinds of upload run one state machine ([`record`] and [`record_copies`] here); what
//! differs between a buffer and an image (how bytes are staged, which barriers name the
//! destination) is the [`Destination`] each implements.

mod buffer;
mod image;
mod produce;
mod stager;

use ash::vk;
use vkup_allocator::Allocator;

use crate::access::{Access, ResourceState};
use crate::barrier::BarrierBatch;
use crate::error::{Error, Result, StateRole};
use crate::ring::StagingRing;

pub use buffer::BufferUpload;
pub(crate) use image::check_packed_len;
pub use image::{packed_layouts, ImageUpload};
pub(crate) use produce::Source;
pub use produce::{Produce, ProduceError, Slot};
pub use stager::Stager;

/// How an upload reaches its destination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UploadPath {
    /// Direct where the host can write the destination itself and the GPU is done with it,
    /// staged otherwise.
    ///
    /// A buffer is written directly when it is mappable and its state says the host last
    /// accessed it (`HostWrite` or `HostRead`). `Nothing` is not enough: UNDEFINED says the
    /// contents may be discarded, not that the previous frame's reads have finished. Uploads
    /// larger than 32 MiB are staged even then, where the destination can take a copy: writing
    /// device memory across PCIe from the host is slower, at those sizes, than filling host
    /// memory for the GPU's copy engine to pull (`BENCHMARKS.md`, "Buffer upload": direct
    /// against staged).
    ///
    /// An image is written directly (a host image copy) where the caller opted in twice, by
    /// giving the stager a [`HostImageCopier`](crate::HostImageCopier) and making the image
    /// with `HOST_TRANSFER` usage; where its data lies in memory, `from` is `Nothing` or a host
    /// access, the device copies into `to`'s layout, and the upload is no larger than 128 KiB
    /// (or the image cannot take a copy at all). One thread of host copies moves a few GB/s
    /// whatever the size; below that size the staged path's barriers and copy commands cost
    /// more than the bytes. `record_copies_together` spreads its host copies over the stager's
    /// threads, one image each, where they win up to larger sizes: callers recording many
    /// images of up to a few MiB together may force `Direct` (`BENCHMARKS.md`, "Host image
    /// copy", has both crossovers measured). An image on this path is written during the call:
    /// `record`'s contract asks that no pending GPU work uses it.
    #[default]
    Auto,
    /// Write straight into the destination, recording nothing: through a buffer's mapping, or
    /// an image's host image copy.
    Direct,
    /// Copy through the staging ring.
    Staged,
}

/// What an upload or readback left behind when it finished.
#[derive(Debug)]
#[must_use = "it may carry the acquire half of an ownership transfer, to record on the destination queue"]
pub struct Finished {
    /// The state the resource is in now.
    pub state: ResourceState,
    /// Acquire barriers to record on the destination queue when ownership moved (empty
    /// otherwise). The release half is already recorded.
    pub acquire: BarrierBatch,
}

/// Where an upload stands after a `record` call.
#[derive(Debug)]
#[must_use]
pub enum Progress {
    /// More to record: submit this command buffer, then call `record` again with a new one.
    Pending,
    /// Everything is recorded.
    Done(Finished),
}

/// The default batch is the ring's capacity over this: with [`Submitter`](crate::Submitter)'s
/// wait at half the ring, two batches are in flight on the GPU while the host fills a third.
/// Measured against half-ring batches (`BENCHMARKS.md`, "Quarter-ring batches"): the host's
/// writes slow the copy engine's reads of the same memory, and smaller batches keep it fed
/// through that.
const DEFAULT_BATCH_SHARE: u64 = 4;

/// The largest upload `UploadPath::Auto` writes directly when it could stage it instead (see
/// [`UploadPath::Auto`]).
const AUTO_DIRECT_MAX: u64 = 32 << 20;

/// The largest image upload `UploadPath::Auto` copies on the host when it could stage it
/// instead (see [`UploadPath::Auto`]).
const AUTO_HOST_COPY_MAX: u64 = 128 << 10;

/// Where a resource's ownership stands for a recording (see [`Stager::ownership_in`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ownership {
    /// Usable as it is, in this state.
    Local(ResourceState),
    /// Acquire first, into this state.
    Acquire(ResourceState),
}

/// The working state of a transfer on the queue family of `from`.
fn working(access: Access, from: ResourceState) -> ResourceState {
    ResourceState::new(access).on_queue(from.queue_family)
}
/// What a buffer and an image upload each know about their destination. [`record`] and
/// [`record_copies`] are the one state machine both run on it: checks, host staging, the
/// acquire and first barrier once, the copies, and the closing barrier once the last piece is
/// recorded.
pub(crate) trait Destination {
    /// What one fill staged, for [`Destination::emit`].
    type Staged;
    /// What `record_copies` says when called before `begin`.
    const UNBEGUN: &'static str;

    fn started(&self) -> bool;
    fn finished(&self) -> bool;
    /// The state the destination is in before the first barrier.
    fn from(&self) -> ResourceState;
    /// Checks the states against the destination and the device's queue families.
    fn check(&self, stager: &Stager) -> Result<()>;
    /// Finishes the upload without staging where it needs no copy (an empty buffer range, the
    /// direct path); `None` where it does.
    ///
    /// # Safety
    /// As for the public `record`.
    unsafe fn shortcut(
        &mut self,
        stager: &Stager,
        allocator: &Allocator,
    ) -> Option<Result<Progress>>;
    /// Host work: stages as much as the batch and the ring's free run hold, taking the ring back
    /// to where it was if anything fails.
    fn fill(
        &mut self,
        stager: &Stager,
        allocator: &Allocator,
        ring: &mut StagingRing,
    ) -> Result<Self::Staged>;
    /// Whether `staged` holds nothing while something is left to stage (the ring is full).
    fn stalled(&self, staged: &Self::Staged) -> bool;
    /// Takes ownership on the stager's family; see the public `adopt`.
    fn adopt(&mut self, stager: &Stager, acquire: &mut BarrierBatch) -> Result<()>;
    /// Adds the first barrier; see the public `begin`.
    fn begin(&mut self, pre: &mut BarrierBatch) -> Result<()>;
    /// Records the staged copies and commits the progress.
    ///
    /// # Safety
    /// `cmd` is recording; a recorded barrier orders the copies after `from`; `staged` came from
    /// `fill` on this ring.
    unsafe fn emit(
        &mut self,
        device: &ash::Device,
        cmd: vk::CommandBuffer,
        ring: &StagingRing,
        staged: Self::Staged,
    );
    /// Whether pieces are left to stage.
    fn remaining(&self) -> bool;
    /// Adds the closing barrier (with the release half when ownership moves) to `post`, and
    /// marks the upload finished.
    fn end(&mut self, post: &mut BarrierBatch) -> Finished;
}

/// What both recordings check first: a finished upload is refused, the states are checked, and
/// an upload that needs no copy finishes here (`Some`).
///
/// # Safety
/// As for the public `record`.
unsafe fn opening<D: Destination>(
    upload: &mut D,
    stager: &Stager,
    allocator: &Allocator,
) -> Result<Option<Progress>> {
    if upload.finished() {
        return Err(Error::AlreadyFinished);
    }
    upload.check(stager)?;
    // SAFETY: forwarded from this function's contract.
    unsafe { upload.shortcut(stager, allocator) }.transpose()
}

/// `record` of both uploads: the next part, with its own barriers.
///
/// # Safety
/// As for the public `record`.
pub(crate) unsafe fn record<D: Destination>(
    upload: &mut D,
    cmd: vk::CommandBuffer,
    stager: &Stager,
    allocator: &Allocator,
    ring: &mut StagingRing,
) -> Result<Progress> {
    // SAFETY: forwarded from this function's contract.
    if let Some(done) = unsafe { opening(upload, stager, allocator) }? {
        return Ok(done);
    }
    // Validated before any host work; applied once the copies are certain.
    stager.ownership_in(upload.from())?;
    let staged = upload.fill(stager, allocator, ring)?;
    if upload.stalled(&staged) {
        // No room in the ring yet: record nothing, not even the first barrier, so that a caller
        // may reset and reuse `cmd`.
        return Ok(Progress::Pending);
    }
    let device = stager.device();
    let (mut acquire, mut pre) = (BarrierBatch::new(), BarrierBatch::new());
    upload.adopt(stager, &mut acquire)?;
    upload.begin(&mut pre)?;
    // SAFETY: forwarded from this function's contract; the acquire is a barrier of its own,
    // complete before the transition to the copy's state, which `pre` records (now, or an earlier
    // call did on this queue).
    unsafe {
        acquire.record(cmd, device);
        pre.record(cmd, device);
        upload.emit(device, cmd, ring, staged);
    }
    if upload.remaining() {
        return Ok(Progress::Pending);
    }
    let mut post = BarrierBatch::new();
    let finished = upload.end(&mut post);
    // SAFETY: forwarded from this function's contract.
    unsafe { post.record(cmd, device) };
    Ok(Progress::Done(finished))
}

/// `record_copies` of both uploads: the next copies only, between the caller's batches.
///
/// # Safety
/// As for the public `record_copies`.
pub(crate) unsafe fn record_copies<D: Destination>(
    upload: &mut D,
    cmd: vk::CommandBuffer,
    stager: &Stager,
    allocator: &Allocator,
    ring: &mut StagingRing,
    post: &mut BarrierBatch,
) -> Result<Progress> {
    // SAFETY: forwarded from this function's contract.
    if let Some(done) = unsafe { opening(upload, stager, allocator) }? {
        return Ok(done);
    }
    stager.check_owned(upload.from())?;
    if !upload.started() {
        return Err(Error::InvalidState {
            which: StateRole::From,
            reason: D::UNBEGUN.into(),
        });
    }
    let staged = upload.fill(stager, allocator, ring)?;
    // SAFETY: forwarded from this function's contract; `begin`'s batch is recorded before.
    unsafe { upload.emit(stager.device(), cmd, ring, staged) };
    if upload.remaining() {
        return Ok(Progress::Pending);
    }
    Ok(Progress::Done(upload.end(post)))
}
