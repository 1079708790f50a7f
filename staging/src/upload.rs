//! Uploads into buffers and images, recorded into the caller's command buffer.
//!
//! An upload is a value that remembers how far it got. Each [`BufferUpload::record`] /
//! [`ImageUpload::record`] call records as much as the staging ring has room for (and at most one
//! batch, so the driver can overlap filling with copying) and answers [`Progress::Pending`] until
//! the last piece is recorded, then [`Progress::Done`] with the state the resource was left in.
//! Between calls the caller submits the command buffer and tells the ring which submission it was.

use std::sync::Arc;

use ash::vk;
use vkup_allocator::Allocator;

use crate::access::{Access, ResourceState};
use crate::barrier::BarrierBatch;
use crate::check;
use crate::error::{Error, Result, StateRole};
use crate::fill::{self, CopyExecutor, CopyLimits, CopyMode, CopyPool, Helpers};
use crate::format::{block_info, BlockInfo};
use crate::plan::{offset_alignment, plan_subresource, CopyAlignment, Piece, SubresourceLayout};
use crate::ring::StagingRing;
use crate::target::{BufferTarget, ImageTarget};

/// Smallest run of buffer bytes worth a copy region when the ring has little room left.
const MIN_BUFFER_CHUNK: u64 = 64 * 1024;

/// Device facts uploads need, and how host copies into staging memory are run. Cheap to clone;
/// clones share the copy threads and hold no other state.
///
/// A stager starts no thread unless told to: by default host copies run on the calling thread
/// (with streaming stores for large ones). [`Stager::threads`] gives it a pool of its own
/// (started on the first copy large enough to spread over it, idle between copies, ended when
/// the last clone is dropped); [`Stager::executor`] hands large copies to the caller's job
/// system instead.
#[derive(Clone)]
pub struct Stager {
    device: ash::Device,
    align: CopyAlignment,
    streaming: bool,
    limits: CopyLimits,
    pool: Arc<CopyPool>,
    executor: Option<Arc<dyn CopyExecutor>>,
    queue_families: u32,
    family: Option<u32>,
}

impl std::fmt::Debug for Stager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stager")
            .field("align", &self.align)
            .field("threads", &self.copy_threads())
            .field("streaming", &self.streaming)
            .finish_non_exhaustive()
    }
}

impl Stager {
    /// A stager for `device`, made from `physical_device` of `instance`; it reads the copy
    /// alignments and the queue families (states naming a family the device lacks are refused).
    /// Host copies run on the calling thread until [`Stager::threads`] or [`Stager::executor`]
    /// says otherwise.
    ///
    /// # Safety
    /// `physical_device` belongs to `instance`, and `device` was created from it.
    pub unsafe fn new(
        instance: &ash::Instance,
        physical_device: vk::PhysicalDevice,
        device: &ash::Device,
    ) -> Self {
        // SAFETY: forwarded from this function's contract.
        let properties = unsafe { instance.get_physical_device_properties(physical_device) };
        let limits = properties.limits;
        // SAFETY: as above.
        let queue_families = unsafe { check::queue_family_count(instance, physical_device) };
        Self {
            device: device.clone(),
            align: CopyAlignment::from_limits(&limits),
            streaming: true,
            limits: if properties.device_type == vk::PhysicalDeviceType::CPU {
                CopyLimits::CPU
            } else {
                CopyLimits::GPU
            },
            pool: Arc::new(CopyPool::new(0)),
            executor: None,
            queue_families,
            family: None,
        }
    }

    /// The number of queue families of the device.
    pub fn queue_families(&self) -> u32 {
        self.queue_families
    }

    /// Says which queue family the command buffers given to this stager record on. Uploads then
    /// take ownership of a resource another family owns before copying into it: its `from`
    /// state names that family, whose queue must already have executed the release, a barrier
    /// from `from` to the same access on `family` over the whole buffer, or over the image
    /// ranges the upload's states describe (`BarrierBatch::buffer` / `BarrierBatch::image` from
    /// `from` to `from.accesses` on `family` record exactly that release). Without it (the
    /// default) a recording is taken to run on the family of its `from` state, and `from` and
    /// `to` on different families mean a release at the end.
    pub fn recording_family(mut self, family: u32) -> Self {
        self.family = Some(family);
        self
    }

    /// The family set by [`Stager::recording_family`].
    pub fn family(&self) -> Option<u32> {
        self.family
    }

    /// What an upload from `from` must do on this stager's family before its first barrier:
    /// nothing (`Ok(None)`: `from` is local, unowned, or its contents are discarded) or an
    /// acquire to the returned local state. Refuses a family the device lacks.
    pub(crate) fn ownership_in(&self, from: ResourceState) -> Result<Ownership> {
        let Some(family) = self.family else {
            return Ok(Ownership::Local(from));
        };
        if family >= self.queue_families {
            return Err(Error::InvalidState {
                which: StateRole::RecordingFamily,
                reason: format!(
                    "records on queue family {family}; the device has {}",
                    self.queue_families
                ),
            });
        }
        let foreign = from.queue_family != vk::QUEUE_FAMILY_IGNORED && from.queue_family != family;
        Ok(if !foreign {
            Ownership::Local(from)
        } else if from.accesses.is_nothing() {
            // Discarded contents need no ownership transfer (Vulkan spec, "Queue Family
            // Ownership Transfer"): the resource is simply used on this family.
            Ownership::Local(from.on_queue(family))
        } else {
            Ownership::Acquire(from.on_queue(family))
        })
    }

    /// Refuses copies into a resource another family owns when this stager records elsewhere
    /// (the split `begin` / `record_copies` path, where the caller did not adopt it).
    pub(crate) fn check_owned(&self, from: ResourceState) -> Result<()> {
        match self.ownership_in(from)? {
            Ownership::Acquire(_) => Err(Error::InvalidState {
                which: StateRole::From,
                reason: format!(
                    "owned by queue family {} while this stager records on {:?}: call adopt \
                     before begin (record does), or the copies run on a family that does not \
                     own the resource",
                    from.queue_family, self.family
                ),
            }),
            Ownership::Local(_) => Ok(()),
        }
    }

    /// How many threads fill staging memory: 1 (the calling thread) by default, the pool's size
    /// after [`Stager::threads`], the executor's parallelism after [`Stager::executor`].
    pub fn copy_threads(&self) -> usize {
        self.executor
            .as_ref()
            .map_or_else(|| self.pool.threads(), |e| e.parallelism().max(1))
    }

    /// Gives the stager a pool of `threads` threads for large host copies, the calling one
    /// included (1 for none, the default). The pool starts on the first copy large enough to
    /// spread over it. Large uploads are bound by this fill: `BENCHMARKS.md` ("Staging fill")
    /// has what one thread, a pool and rayon reach on an H200 host. Replaces an executor.
    pub fn threads(mut self, threads: usize) -> Self {
        self.pool = Arc::new(CopyPool::new(threads.max(1) - 1));
        self.executor = None;
        self
    }

    /// Hands large host copies to `executor` (rayon, an engine's job system) instead of threads
    /// of the stager's own. Replaces a pool.
    pub fn executor(mut self, executor: Arc<dyn CopyExecutor>) -> Self {
        self.pool = Arc::new(CopyPool::new(0));
        self.executor = Some(executor);
        self
    }

    /// Whether large host copies into staging memory and mapped destinations use non-temporal
    /// stores, which write whole cache lines to memory without first reading them into the CPU's
    /// caches (on x86-64; plain stores elsewhere): from 1 MiB on GPUs, from 16 MiB on CPU
    /// devices, which read the bytes back through those caches. On by default; see
    /// `BENCHMARKS.md` for what they bring on an H200 host and on lavapipe.
    pub fn streaming_stores(mut self, on: bool) -> Self {
        self.streaming = on;
        self
    }

    /// Copies `src` into `dst` the way this stager fills staging memory (its threads, and
    /// streaming stores for large copies when on): for callers writing into mapped memory of
    /// their own. Refuses slices of different lengths.
    pub fn copy(&self, src: &[u8], dst: &mut [u8]) -> Result<()> {
        if src.len() != dst.len() {
            return Err(Error::invalid(
                "dst",
                format!("{} bytes cannot hold a {}-byte copy", dst.len(), src.len()),
            ));
        }
        fill::copy(src, dst, self.copy_mode());
        Ok(())
    }

    pub(crate) fn copy_mode(&self) -> CopyMode<'_> {
        CopyMode {
            threads: self.copy_threads(),
            streaming: self.streaming,
            limits: self.limits,
            helpers: match &self.executor {
                Some(executor) => Helpers::Executor(executor.as_ref()),
                None => Helpers::Pool(&self.pool),
            },
        }
    }

    /// The device recorded on.
    pub fn device(&self) -> &ash::Device {
        &self.device
    }

    /// The copy alignments in force.
    pub fn alignment(&self) -> CopyAlignment {
        self.align
    }
}

/// How a buffer upload reaches its destination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UploadPath {
    /// Direct when the destination is mappable and its state says the GPU is done with it (the
    /// host last accessed it: `HostWrite` or `HostRead`), staged otherwise. `Nothing` is not
    /// enough: UNDEFINED says the contents may be discarded, not that the previous frame's reads
    /// have finished. Uploads larger than 32 MiB are staged even then, where the destination can
    /// take a copy: writing device memory across PCIe from the host is slower, at those sizes,
    /// than filling host memory for the GPU's copy engine to pull (`BENCHMARKS.md`, "Buffer
    /// upload": direct against staged).
    #[default]
    Auto,
    /// Write straight into the destination's mapping, recording nothing.
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

/// The default batch is the ring's capacity over this: two batches in flight, the GPU copying
/// one while the host fills the other. On an H200 host, a 256 MiB staged buffer upload through a
/// 64 MiB ring with 8 copy threads ran at 36.7 GB/s with half-ring batches and 34.5 with
/// quarter-ring batches (streaming stores, pooled threads; with plain stores and threads spawned
/// per copy: 23.6 and 19.6, and whole-ring batches, with nothing to overlap, 18.3), measured by
/// `cargo run -p bench`.
const DEFAULT_BATCH_SHARE: u64 = 2;

/// The largest upload `UploadPath::Auto` writes directly when it could stage it instead (see
/// [`UploadPath::Auto`]).
const AUTO_DIRECT_MAX: u64 = 32 << 20;

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

/// An upload of bytes into a range of a buffer.
#[derive(Debug)]
pub struct BufferUpload<'a> {
    dst: BufferTarget,
    dst_offset: u64,
    data: &'a [u8],
    done: u64,
    from: ResourceState,
    to: ResourceState,
    path: UploadPath,
    batch: Option<u64>,
    started: bool,
    /// It returned `Progress::Done`: nothing more may be recorded.
    finished: bool,
}

impl<'a> BufferUpload<'a> {
    /// Uploads `data` into `dst` at `dst_offset`. `from` is the state `dst` is in, `to` the state
    /// to leave it in. Refuses a range outside the buffer, and a destination that can only be
    /// reached by a copy (not mappable) but lacks `TRANSFER_DST` usage. The upload borrows the
    /// data, not the buffer (see [`BufferTarget`]).
    pub fn new(
        dst: impl Into<BufferTarget>,
        dst_offset: u64,
        data: &'a [u8],
        from: ResourceState,
        to: ResourceState,
    ) -> Result<Self> {
        let dst = dst.into();
        let len = data.len() as u64;
        if dst_offset
            .checked_add(len)
            .is_none_or(|end| end > dst.size())
        {
            return Err(Error::invalid(
                "dst_offset",
                format!(
                    "{len} bytes at {dst_offset} overrun a {}-byte buffer",
                    dst.size()
                ),
            ));
        }
        if dst.host().is_none() && !dst.usage().contains(vk::BufferUsageFlags::TRANSFER_DST) {
            return Err(Error::MissingBufferUsage {
                needed: vk::BufferUsageFlags::TRANSFER_DST,
            });
        }
        // The queue families are checked at record, where the stager says how many exist.
        check::buffer_states(from, to, u32::MAX)?;
        Ok(Self {
            dst,
            dst_offset,
            data,
            done: 0,
            from,
            to,
            path: UploadPath::Auto,
            batch: None,
            started: false,
            finished: false,
        })
    }

    /// Uploads a slice of `Pod` values.
    pub fn from_pod<T: bytemuck::Pod>(
        dst: impl Into<BufferTarget>,
        dst_offset: u64,
        data: &'a [T],
        from: ResourceState,
        to: ResourceState,
    ) -> Result<Self> {
        Self::new(dst, dst_offset, bytemuck::cast_slice(data), from, to)
    }

    /// Forces a path (tests cover both); `Auto` by default.
    pub fn path(mut self, path: UploadPath) -> Self {
        self.path = path;
        self
    }

    /// Caps the bytes staged per `record` call (default: half the ring), so that the GPU
    /// copies one batch while the host fills the next.
    pub fn batch_bytes(mut self, bytes: u64) -> Self {
        self.batch = Some(bytes.max(1));
        self
    }

    /// The path this upload takes.
    pub fn resolved_path(&self) -> UploadPath {
        match self.path {
            UploadPath::Auto => {
                let host_owned = self
                    .from
                    .accesses
                    .all(|a| matches!(a, Access::HostWrite | Access::HostRead));
                let copyable = self
                    .dst
                    .usage()
                    .contains(vk::BufferUsageFlags::TRANSFER_DST);
                let small = self.data.len() as u64 <= AUTO_DIRECT_MAX;
                if self.dst.host().is_some()
                    && host_owned
                    && !self.from.transfers_ownership_to(self.to)
                    && (small || !copyable)
                {
                    UploadPath::Direct
                } else {
                    UploadPath::Staged
                }
            }
            forced => forced,
        }
    }

    /// Takes ownership of the whole buffer on `stager`'s recording family (see
    /// [`Stager::recording_family`]; the release named the whole buffer too) before the first
    /// barrier: the acquire half goes into `acquire`, to be recorded before the batch
    /// [`BufferUpload::begin`] fills. Nothing when no family moves, or once begun. The states
    /// are checked against the device's queue families first, before anything is rewritten.
    pub fn adopt(&mut self, stager: &Stager, acquire: &mut BarrierBatch) -> Result<()> {
        check::buffer_states(self.from, self.to, stager.queue_families)?;
        if self.finished {
            return Err(Error::AlreadyFinished);
        }
        if self.started {
            return Ok(());
        }
        match stager.ownership_in(self.from)? {
            Ownership::Local(state) => self.from = state,
            Ownership::Acquire(local) => {
                // Ownership moves for the whole buffer, as the release named it.
                acquire.acquire_buffer(self.dst.raw(), 0, vk::WHOLE_SIZE, self.from, local);
                self.from = local;
            }
        }
        Ok(())
    }

    /// Records the next part of the upload into `cmd`. An error leaves `cmd`, the ring and this
    /// upload as they were, so the same call can be retried.
    ///
    /// An empty upload records nothing and is done at once: the range it names is empty, so no
    /// byte of the buffer changes state. Once done, the upload refuses to record again
    /// ([`Error::AlreadyFinished`]).
    ///
    /// # Safety
    /// `cmd` is recording on `stager`'s device, on a queue family that supports transfers; `dst`
    /// and the ring stay alive until the submissions that use them complete; for the direct path,
    /// no pending GPU work and no other host access touches the destination range (the host
    /// writes it now).
    pub unsafe fn record(
        &mut self,
        stager: &Stager,
        allocator: &Allocator,
        cmd: vk::CommandBuffer,
        ring: &mut StagingRing,
    ) -> Result<Progress> {
        if self.finished {
            return Err(Error::AlreadyFinished);
        }
        let families = stager.queue_families;
        check::buffer_states(self.from, self.to, families)?;
        let len = self.data.len() as u64;
        if len == 0 {
            self.finished = true;
            return Ok(Progress::Done(Finished {
                state: self.to,
                acquire: BarrierBatch::new(),
            }));
        }
        if self.resolved_path() == UploadPath::Direct {
            // SAFETY: forwarded from this function's contract (the direct path's duties).
            return unsafe { self.write_direct(stager, allocator) };
        }
        // Validated before any host work; applied once the copies are certain.
        stager.ownership_in(self.from)?;
        let (regions, done) = self.fill(stager, allocator, ring)?;
        let device = stager.device();
        if !regions.is_empty() {
            let (mut acquire, mut pre) = (BarrierBatch::new(), BarrierBatch::new());
            self.adopt(stager, &mut acquire)?;
            debug_assert!(stager.check_owned(self.from).is_ok());
            self.begin(&mut pre)?;
            // SAFETY: forwarded from this function's contract; the acquire (a barrier of its
            // own) completes before the transition to the copy's state.
            unsafe {
                acquire.record(device, cmd);
                pre.record(device, cmd);
            }
        }
        // SAFETY: forwarded from this function's contract; the first barrier is recorded (above,
        // or by an earlier call on this queue).
        unsafe { self.emit(device, cmd, ring, &regions, done) };
        if self.done < len {
            return Ok(Progress::Pending);
        }
        let mut post = BarrierBatch::new();
        let finished = self.end(&mut post);
        // SAFETY: forwarded from this function's contract.
        unsafe { post.record(device, cmd) };
        Ok(Progress::Done(finished))
    }

    /// Adds this upload's first barrier (from `from` to a transfer write) to `pre`, once; nothing
    /// for an empty upload or the direct path. See [`ImageUpload::begin`] for sharing batches
    /// across uploads. Refuses a range another upload begun into `pre` writes
    /// ([`Error::Overlap`]: the two copies would race), and a finished upload.
    pub fn begin(&mut self, pre: &mut BarrierBatch) -> Result<()> {
        if self.finished {
            return Err(Error::AlreadyFinished);
        }
        let len = self.data.len() as u64;
        if self.started || len == 0 || self.resolved_path() == UploadPath::Direct {
            return Ok(());
        }
        // `new` checked that the range ends inside the buffer.
        pre.claim_buffer(self.dst.raw(), self.dst_offset, self.dst_offset + len)?;
        let work = working(Access::TransferWrite, self.from);
        pre.buffer_local(self.dst.raw(), self.dst_offset, len, self.from, work);
        self.started = true;
        Ok(())
    }

    /// Records the next copies only, the closing barrier going into `post` when done (the
    /// direct path writes and records nothing). Refuses to run on the staged path before
    /// [`BufferUpload::begin`].
    ///
    /// # Safety
    /// As for [`BufferUpload::record`], and the `pre` batch is recorded before these copies,
    /// `post` after them. Uploads begun into one batch are checked not to overlap; an upload
    /// begun into another batch whose copies write the same bytes is ordered against these by a
    /// barrier of the caller's.
    pub unsafe fn record_copies(
        &mut self,
        stager: &Stager,
        allocator: &Allocator,
        cmd: vk::CommandBuffer,
        ring: &mut StagingRing,
        post: &mut BarrierBatch,
    ) -> Result<Progress> {
        if self.finished {
            return Err(Error::AlreadyFinished);
        }
        check::buffer_states(self.from, self.to, stager.queue_families)?;
        let len = self.data.len() as u64;
        if len == 0 {
            self.finished = true;
            return Ok(Progress::Done(Finished {
                state: self.to,
                acquire: BarrierBatch::new(),
            }));
        }
        if self.resolved_path() == UploadPath::Direct {
            // SAFETY: forwarded from this function's contract (the direct path's duties).
            return unsafe { self.write_direct(stager, allocator) };
        }
        stager.check_owned(self.from)?;
        if !self.started {
            return Err(Error::InvalidState {
                which: StateRole::From,
                reason: "record_copies before begin: no barrier orders the copies".into(),
            });
        }
        let (regions, done) = self.fill(stager, allocator, ring)?;
        // SAFETY: forwarded from this function's contract.
        unsafe { self.emit(stager.device(), cmd, ring, &regions, done) };
        if self.done < len {
            return Ok(Progress::Pending);
        }
        Ok(Progress::Done(self.end(post)))
    }

    /// Host work: stages as much as the batch and ring allow, and takes the ring back to where it
    /// was if anything fails.
    fn fill(
        &self,
        stager: &Stager,
        allocator: &Allocator,
        ring: &mut StagingRing,
    ) -> Result<(Vec<vk::BufferCopy>, u64)> {
        if !self
            .dst
            .usage()
            .contains(vk::BufferUsageFlags::TRANSFER_DST)
        {
            return Err(Error::MissingBufferUsage {
                needed: vk::BufferUsageFlags::TRANSFER_DST,
            });
        }
        let len = self.data.len() as u64;
        let budget = self
            .batch
            .unwrap_or(ring.capacity() / DEFAULT_BATCH_SHARE)
            .clamp(1, ring.capacity().max(1));
        ring.all_or_nothing(|ring| {
            let mut regions = Vec::new();
            let (mut done, mut recorded) = (self.done, 0);
            while done < len && recorded < budget {
                let want = (len - done).min(budget - recorded);
                let min = want.min(MIN_BUFFER_CHUNK).min(ring.capacity());
                let Some(span) = ring.alloc_up_to(want, min, 16)? else {
                    break;
                };
                let start = done as usize;
                let src = &self.data[start..start + span.size() as usize];
                fill::copy(src, ring.bytes_mut(span)?, stager.copy_mode());
                ring.flush(allocator, span)?;
                regions.push(vk::BufferCopy {
                    src_offset: span.offset(),
                    dst_offset: self.dst_offset + done,
                    size: span.size(),
                });
                done += span.size();
                recorded += span.size();
            }
            Ok((regions, done))
        })
    }

    /// Records the staged copies and commits the progress.
    ///
    /// # Safety
    /// `cmd` is recording; a barrier orders the copies after `from`; the regions came from
    /// `fill` on this ring.
    unsafe fn emit(
        &mut self,
        device: &ash::Device,
        cmd: vk::CommandBuffer,
        ring: &StagingRing,
        regions: &[vk::BufferCopy],
        done: u64,
    ) {
        if !regions.is_empty() {
            // SAFETY: both buffers are live and the regions lie inside them; the ring spans were
            // filled and flushed by `fill` (this function's contract).
            unsafe { device.cmd_copy_buffer(cmd, ring.buffer().raw(), self.dst.raw(), regions) };
        }
        self.done = done;
    }

    /// Adds the closing barrier (with the release half when ownership moves) to `post`, and
    /// marks the upload finished.
    fn end(&mut self, post: &mut BarrierBatch) -> Finished {
        self.finished = true;
        let len = self.data.len() as u64;
        let mut acquire = BarrierBatch::new();
        let work = working(Access::TransferWrite, self.from);
        post.buffer(
            self.dst.raw(),
            self.dst_offset,
            len,
            work,
            self.to,
            &mut acquire,
        );
        Finished {
            state: self.to,
            acquire,
        }
    }

    /// The direct path: a host copy into the destination's mapping.
    ///
    /// # Safety
    /// The destination is alive, and nothing else (host or GPU) touches the range meanwhile.
    unsafe fn write_direct(&mut self, stager: &Stager, allocator: &Allocator) -> Result<Progress> {
        let len = self.data.len() as u64;
        let Some(host) = self.dst.host() else {
            return Err(Error::PathUnavailable {
                path: UploadPath::Direct,
                reason: "the destination is not mappable",
            });
        };
        // SAFETY: the destination is persistently mapped over its size and alive, the range was
        // checked in `new`, and the caller guarantees that nothing else (host or GPU) touches the
        // range meanwhile (`record`'s contract).
        let dst = unsafe {
            std::slice::from_raw_parts_mut(
                host.ptr.as_ptr().add(self.dst_offset as usize),
                self.data.len(),
            )
        };
        fill::copy(self.data, dst, stager.copy_mode());
        // SAFETY: the destination is alive (this function's contract).
        unsafe { allocator.flush_host(&host, self.dst_offset, len) }?;
        self.done = len;
        self.finished = true;
        // Host writes made before vkQueueSubmit are visible to every command of that submission
        // (Vulkan spec, "Host Write Ordering Guarantees"): nothing to record.
        Ok(Progress::Done(Finished {
            state: self.to,
            acquire: BarrierBatch::new(),
        }))
    }
}

/// Subresource layouts of data that holds `levels` mip levels of every layer of `image`, tightly
/// packed, level by level and layer by layer within a level (the order of KTX2 and DDS), and the
/// total byte length. `levels` is between 1 and the image's level count.
pub fn packed_layouts(
    image: impl Into<ImageTarget>,
    levels: u32,
) -> Result<(Vec<SubresourceLayout>, u64)> {
    let image = image.into();
    let block = block_info(image.format()).ok_or(Error::UnsupportedFormat {
        format: image.format(),
    })?;
    if levels == 0 || levels > image.mip_levels() {
        return Err(Error::InvalidSubresource {
            level: levels.saturating_sub(1),
            layer: 0,
            levels: image.mip_levels(),
            layers: image.array_layers(),
        });
    }
    let mut layouts = Vec::new();
    let mut offset = 0u64;
    for level in 0..levels {
        let size = block.extent_bytes(image.level_extent(level));
        for layer in 0..image.array_layers() {
            layouts.push(SubresourceLayout {
                level,
                layer,
                offset,
                row_pitch: 0,
                slice_pitch: 0,
            });
            offset = offset
                .checked_add(size)
                .ok_or_else(|| Error::invalid("levels", "the packed size overflows u64"))?;
        }
    }
    Ok((layouts, offset))
}

/// What one [`ImageUpload`] fill staged: the copies, the index of the first piece not staged
/// whole, and what is left of that piece when only its head was staged.
struct Staged {
    regions: Vec<vk::BufferImageCopy>,
    next: usize,
    rest: Option<Piece>,
}

/// An upload of mip levels and array layers into an image.
#[derive(Debug)]
pub struct ImageUpload<'a> {
    dst: ImageTarget,
    data: &'a [u8],
    block: BlockInfo,
    pieces: Vec<Piece>,
    next: usize,
    offset_align: u64,
    from: ResourceState,
    to: ResourceState,
    batch: Option<u64>,
    started: bool,
    /// It returned `Progress::Done`: nothing more may be recorded.
    finished: bool,
    /// The subresources `from` and `to` apply to: the whole image, or (see
    /// [`ImageUpload::listed_subresources_only`]) the ones the layouts list.
    ranges: Vec<vk::ImageSubresourceRange>,
    listed: Vec<(u32, u32)>,
}

/// The ranges covering exactly `subresources` ((level, layer) pairs): per level, one range per
/// run of consecutive layers.
fn ranges_of(
    aspect: vk::ImageAspectFlags,
    subresources: &[(u32, u32)],
) -> Vec<vk::ImageSubresourceRange> {
    let mut sorted = subresources.to_vec();
    sorted.sort_unstable();
    let mut ranges: Vec<vk::ImageSubresourceRange> = Vec::new();
    for (level, layer) in sorted {
        if let Some(last) = ranges.last_mut() {
            if last.base_mip_level == level && last.base_array_layer + last.layer_count == layer {
                last.layer_count += 1;
                continue;
            }
        }
        ranges.push(vk::ImageSubresourceRange {
            aspect_mask: aspect,
            base_mip_level: level,
            level_count: 1,
            base_array_layer: layer,
            layer_count: 1,
        });
    }
    ranges
}

impl<'a> ImageUpload<'a> {
    /// Uploads the subresources `layouts` describes, from `data`, in pieces of at most
    /// `max_piece` staging bytes (the ring's capacity at most). A `record` call cuts a piece at a
    /// row of blocks (or a slice) where the batch or the ring's free run ends, so every batch but
    /// the last is full and the GPU copies one while the host fills the next. The whole image
    /// goes from `from` to `to` (levels the data leaves out keep their contents unless `from`
    /// discards them). Everything known here is checked here: usage, sample count, states, layouts
    /// (each subresource at most once) against the data.
    pub fn new(
        stager: &Stager,
        dst: impl Into<ImageTarget>,
        data: &'a [u8],
        layouts: &[SubresourceLayout],
        from: ResourceState,
        to: ResourceState,
        max_piece: u64,
    ) -> Result<Self> {
        let dst = dst.into();
        let block = block_info(dst.format()).ok_or(Error::UnsupportedFormat {
            format: dst.format(),
        })?;
        if !dst.usage().contains(vk::ImageUsageFlags::TRANSFER_DST) {
            return Err(Error::MissingImageUsage {
                needed: vk::ImageUsageFlags::TRANSFER_DST,
            });
        }
        check::single_sampled(&dst)?;
        check::image_states(&dst, from, to, stager.queue_families)?;
        let align = stager.alignment();
        let offset_align = offset_alignment(&block, align)?;
        let mut pieces = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut listed = Vec::with_capacity(layouts.len());
        for layout in layouts {
            if layout.level >= dst.mip_levels() || layout.layer >= dst.array_layers() {
                return Err(Error::InvalidSubresource {
                    level: layout.level,
                    layer: layout.layer,
                    levels: dst.mip_levels(),
                    layers: dst.array_layers(),
                });
            }
            // Two copies into one subresource in one submission would race (write after write).
            listed.push((layout.level, layout.layer));
            if !seen.insert((layout.level, layout.layer)) {
                return Err(Error::invalid(
                    "layouts",
                    format!(
                        "level {} layer {} is listed twice",
                        layout.level, layout.layer
                    ),
                ));
            }
            pieces.extend(plan_subresource(
                &block,
                dst.level_extent(layout.level),
                layout,
                data,
                align,
                max_piece,
            )?);
        }
        Ok(Self {
            dst,
            data,
            block,
            pieces,
            next: 0,
            offset_align,
            from,
            to,
            batch: None,
            started: false,
            finished: false,
            ranges: vec![dst.full_range(block.aspect)],
            listed,
        })
    }

    /// Uploads `levels` tightly packed levels of every layer (see [`packed_layouts`]); `data`
    /// must be exactly that long.
    pub fn packed(
        stager: &Stager,
        dst: impl Into<ImageTarget>,
        data: &'a [u8],
        levels: u32,
        from: ResourceState,
        to: ResourceState,
        max_piece: u64,
    ) -> Result<Self> {
        let dst = dst.into();
        let (layouts, len) = packed_layouts(dst, levels)?;
        if data.len() as u64 != len {
            return Err(Error::invalid(
                "data",
                format!(
                    "{levels} packed levels are {len} bytes, the data has {}",
                    data.len()
                ),
            ));
        }
        Self::new(stager, dst, data, &layouts, from, to, max_piece)
    }

    /// Caps the bytes staged per `record` call (default: half the ring). Pieces are cut at rows
    /// to fill the cap exactly; only a row (or slice) larger than the cap is staged whole.
    pub fn batch_bytes(mut self, bytes: u64) -> Self {
        self.batch = Some(bytes.max(1));
        self
    }

    /// Makes `from` and `to` describe only the subresources the layouts list: the barriers cover
    /// those alone, and every other level and layer keeps its state and contents (stream one
    /// level in while the others are sampled). By default the whole image moves from `from` to
    /// `to`.
    pub fn listed_subresources_only(mut self) -> Self {
        self.ranges = ranges_of(self.block.aspect, &self.listed);
        self
    }

    /// The planned pieces (for inspection and tests); one that a `record` call cut shows what is
    /// left of it.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// The smallest staging ring this upload can go through: its largest piece.
    pub fn min_ring_size(&self) -> u64 {
        self.pieces
            .iter()
            .map(Piece::staging_size)
            .max()
            .unwrap_or(0)
    }

    /// Records the next part of the upload into `cmd`. An error leaves `cmd`, the ring and this
    /// upload as they were, so the same call can be retried (with a larger ring, after
    /// [`Error::RingTooSmall`]). Once done, the upload refuses to record again
    /// ([`Error::AlreadyFinished`]).
    ///
    /// # Safety
    /// `cmd` is recording on `stager`'s device, on a queue family that supports transfers; the
    /// image and the ring stay alive until the submissions that use them complete.
    pub unsafe fn record(
        &mut self,
        stager: &Stager,
        allocator: &Allocator,
        cmd: vk::CommandBuffer,
        ring: &mut StagingRing,
    ) -> Result<Progress> {
        if self.finished {
            return Err(Error::AlreadyFinished);
        }
        stager.ownership_in(self.from)?;
        let staged = self.fill(stager, allocator, ring)?;
        if staged.regions.is_empty() && staged.next < self.pieces.len() {
            // No room in the ring yet: record nothing, not even the first barrier, so that a
            // caller may reset and reuse `cmd`.
            return Ok(Progress::Pending);
        }
        let device = stager.device();
        let (mut acquire, mut pre) = (BarrierBatch::new(), BarrierBatch::new());
        self.adopt(stager, &mut acquire)?;
        self.begin(&mut pre)?;
        // SAFETY: forwarded from this function's contract; the acquire is its own barrier,
        // complete before the transition to TRANSFER_DST.
        unsafe {
            acquire.record(device, cmd);
            pre.record(device, cmd);
            self.emit(device, cmd, ring, staged);
        }
        if self.next < self.pieces.len() {
            return Ok(Progress::Pending);
        }
        let mut post = BarrierBatch::new();
        let finished = self.end(&mut post);
        // SAFETY: forwarded from this function's contract.
        unsafe { post.record(device, cmd) };
        Ok(Progress::Done(finished))
    }

    /// Takes ownership on `stager`'s recording family (see [`Stager::recording_family`]) before
    /// the first barrier, over the ranges the upload's states describe: the acquire half goes
    /// into `acquire`, to be recorded before the batch [`ImageUpload::begin`] fills. Nothing
    /// when no family moves, or once begun. The states are checked against the image and the
    /// device's queue families first, before anything is rewritten.
    pub fn adopt(&mut self, stager: &Stager, acquire: &mut BarrierBatch) -> Result<()> {
        check::image_states(&self.dst, self.from, self.to, stager.queue_families)?;
        if self.finished {
            return Err(Error::AlreadyFinished);
        }
        if self.started {
            return Ok(());
        }
        match stager.ownership_in(self.from)? {
            Ownership::Local(state) => self.from = state,
            Ownership::Acquire(local) => {
                for &range in &self.ranges {
                    acquire.acquire_image(self.dst.raw(), range, self.from, local);
                }
                self.from = local;
            }
        }
        Ok(())
    }

    /// Adds this upload's first barrier (from `from` to a transfer write) to `pre`, once. With
    /// [`ImageUpload::record_copies`], many uploads share one `vkCmdPipelineBarrier2` before
    /// their copies and one after: call `begin` on each, record `pre`, call `record_copies` on
    /// each with one `post` batch, record `post`. Refuses subresources another upload begun into
    /// `pre` moves ([`Error::Overlap`]: the two copies, or the two layout transitions, would
    /// race), and a finished upload.
    pub fn begin(&mut self, pre: &mut BarrierBatch) -> Result<()> {
        if self.finished {
            return Err(Error::AlreadyFinished);
        }
        if self.started {
            return Ok(());
        }
        pre.claim_image(self.dst.raw(), &self.ranges)?;
        for &range in &self.ranges {
            pre.image_local(
                self.dst.raw(),
                range,
                self.from,
                working(Access::TransferWrite, self.from),
            );
        }
        self.started = true;
        Ok(())
    }

    /// Records the next copies only (the barriers are the caller's batches, see
    /// [`ImageUpload::begin`]); when the last piece is recorded, the closing barrier goes into
    /// `post` and the upload is done. An error leaves `cmd`, the ring and the upload as they
    /// were.
    ///
    /// # Safety
    /// As for [`ImageUpload::record`], and the `pre` batch that `begin` filled is recorded in
    /// `cmd` (or earlier on the same queue) before these copies; `post` is recorded after them.
    /// Uploads begun into one batch are checked not to overlap; an upload begun into another
    /// batch whose copies write the same subresources is ordered against these by a barrier of
    /// the caller's.
    pub unsafe fn record_copies(
        &mut self,
        stager: &Stager,
        allocator: &Allocator,
        cmd: vk::CommandBuffer,
        ring: &mut StagingRing,
        post: &mut BarrierBatch,
    ) -> Result<Progress> {
        if self.finished {
            return Err(Error::AlreadyFinished);
        }
        stager.check_owned(self.from)?;
        if !self.started {
            return Err(Error::InvalidState {
                which: StateRole::From,
                reason: "record_copies before begin: the image is not in TRANSFER_DST_OPTIMAL"
                    .into(),
            });
        }
        let staged = self.fill(stager, allocator, ring)?;
        // SAFETY: forwarded from this function's contract.
        unsafe { self.emit(stager.device(), cmd, ring, staged) };
        if self.next < self.pieces.len() {
            return Ok(Progress::Pending);
        }
        Ok(Progress::Done(self.end(post)))
    }

    /// Host work: stages as many pieces as the batch and the ring's free run hold, cutting the
    /// last one at a row (or slice) so that each batch is full, and takes the ring back to where
    /// it was if anything fails.
    fn fill(
        &self,
        stager: &Stager,
        allocator: &Allocator,
        ring: &mut StagingRing,
    ) -> Result<Staged> {
        let needed = self.min_ring_size();
        if needed > ring.capacity() {
            return Err(Error::RingTooSmall {
                needed,
                capacity: ring.capacity(),
            });
        }
        let budget = self
            .batch
            .unwrap_or(ring.capacity() / DEFAULT_BATCH_SHARE)
            .max(1);
        ring.all_or_nothing(|ring| {
            let mut staged = Staged {
                regions: Vec::new(),
                next: self.next,
                rest: None,
            };
            let mut recorded = 0;
            while let Some(&whole) = self.pieces.get(staged.next) {
                let size = whole.staging_size();
                let free = ring.room(size, self.offset_align);
                let room = free.min(budget.saturating_sub(recorded));
                let piece = if size <= room {
                    whole
                } else if let Some((head, rest)) = whole.split(room) {
                    staged.rest = Some(rest);
                    head
                } else if recorded == 0 && size <= free {
                    // Not one row fits the batch: the batch takes the whole piece.
                    whole
                } else {
                    break;
                };
                let Some(span) = ring.alloc(piece.staging_size(), self.offset_align)? else {
                    staged.rest = None;
                    break;
                };
                match piece.contiguous_source() {
                    Some((start, len)) => fill::copy(
                        &self.data[start..start + len],
                        &mut ring.bytes_mut(span)?[..len],
                        stager.copy_mode(),
                    ),
                    None => piece.fill(self.data, ring.bytes_mut(span)?)?,
                }
                ring.flush(allocator, span)?;
                staged.regions.push(piece.region(span.offset()));
                if staged.rest.is_some() {
                    // The batch or the ring's free run is full.
                    break;
                }
                recorded += piece.staging_size();
                staged.next += 1;
            }
            Ok(staged)
        })
    }

    /// Records the staged copies and commits the progress.
    ///
    /// # Safety
    /// `cmd` is recording; the image is in TRANSFER_DST_OPTIMAL by then; the regions came from
    /// `fill` on this ring.
    unsafe fn emit(
        &mut self,
        device: &ash::Device,
        cmd: vk::CommandBuffer,
        ring: &StagingRing,
        staged: Staged,
    ) {
        if !staged.regions.is_empty() {
            // SAFETY: every region was planned inside its subresource (this function's contract).
            unsafe {
                device.cmd_copy_buffer_to_image(
                    cmd,
                    ring.buffer().raw(),
                    self.dst.raw(),
                    vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                    &staged.regions,
                )
            };
        }
        if let Some(rest) = staged.rest {
            self.pieces[staged.next] = rest;
        }
        self.next = staged.next;
    }

    /// Adds the closing barrier (transfer write to `to`, with the release half when ownership
    /// moves) to `post`, and marks the upload finished.
    fn end(&mut self, post: &mut BarrierBatch) -> Finished {
        self.finished = true;
        let mut acquire = BarrierBatch::new();
        for &range in &self.ranges {
            post.image(
                self.dst.raw(),
                range,
                working(Access::TransferWrite, self.from),
                self.to,
                &mut acquire,
            );
        }
        Finished {
            state: self.to,
            acquire,
        }
    }
}
