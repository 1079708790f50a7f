//! [`BufferUpload`]: bytes into a range of a buffer, staged or written straight into its mapping.

use ash::vk;
use vkup_allocator::Allocator;

use super::{
    working, Finished, Ownership, Produce, Progress, Slot, Source, Stager, UploadPath,
    AUTO_DIRECT_MAX, DEFAULT_BATCH_SHARE,
};
use crate::access::{Access, ResourceState};
use crate::barrier::BarrierBatch;
use crate::check;
use crate::error::{Error, Result};
use crate::fill;
use crate::ring::StagingRing;
use crate::target::BufferTarget;

/// Smallest run of buffer bytes worth a copy region when the ring has little room left.
const MIN_BUFFER_CHUNK: u64 = 64 * 1024;

/// An upload of bytes into a range of a buffer.
#[derive(Debug)]
pub struct BufferUpload<'a> {
    dst: BufferTarget,
    dst_offset: u64,
    source: Source<'a>,
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
        Self::with_source(dst.into(), dst_offset, Source::Memory(data), from, to)
    }

    /// Uploads `len` bytes into `dst` at `dst_offset`, written in place by `producer`: it is
    /// handed each run of staging memory as the upload records it (or, on the direct path, the
    /// destination's own mapping), front to back ([`Slot`]), so the bytes go from the producer (a
    /// file read, a decompressor) to the GPU with no copy in between. Otherwise as
    /// [`BufferUpload::new`]; on the direct path a producer that fails leaves the range partly
    /// written.
    pub fn in_place(
        dst: impl Into<BufferTarget>,
        dst_offset: u64,
        len: u64,
        from: ResourceState,
        to: ResourceState,
        producer: impl Produce + Send + 'a,
    ) -> Result<Self> {
        let source = Source::Produced {
            len,
            producer: Box::new(producer),
        };
        Self::with_source(dst.into(), dst_offset, source, from, to)
    }

    fn with_source(
        dst: BufferTarget,
        dst_offset: u64,
        source: Source<'a>,
        from: ResourceState,
        to: ResourceState,
    ) -> Result<Self> {
        let len = source.len();
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
            source,
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

    /// Copies from `import` instead of staging: the data must lie inside the imported range
    /// (read or mapped there once), and is then copied by the GPU straight from it, with no host
    /// copy; the path is `Staged`'s barriers and copies with the import as their source
    /// ([`UploadPath::Auto`] still writes a host-owned mappable destination directly). The
    /// import must be of `stager`'s device and outlive the submissions (`record`'s contract).
    /// Refuses data outside the import, an import without `TRANSFER_SRC`, and an upload
    /// written in place.
    pub fn imported(mut self, import: &vkup_allocator::HostImport) -> Result<Self> {
        self.source = self.source.imported(import)?;
        Ok(self)
    }

    /// Forces a path (tests cover both); `Auto` by default.
    pub fn path(mut self, path: UploadPath) -> Self {
        self.path = path;
        self
    }

    /// Caps the bytes staged per `record` call (default: a quarter of the ring), so that the
    /// GPU copies earlier batches while the host fills the next.
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
                let small = self.source.len() <= AUTO_DIRECT_MAX;
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

    /// Whether the upload is done: its last copy recorded (or, on the direct path, written),
    /// its closing barrier handed out. A finished upload refuses further calls with
    /// [`Error::AlreadyFinished`].
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Takes ownership of the whole buffer on `stager`'s recording family (see
    /// [`Stager::recording_family`]; the release named the whole buffer too) before the first
    /// barrier: the acquire half goes into `acquire`, to be recorded before the batch
    /// [`BufferUpload::begin`] fills. Nothing when no family moves, or once begun. The states
    /// are checked against the device's queue families first, before anything is rewritten.
    pub fn adopt(&mut self, stager: &Stager, acquire: &mut BarrierBatch) -> Result<()> {
        check::buffer_states(self.from, self.to, stager.queue_families())?;
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
    /// `cmd` is recording on `stager`'s device, on a queue family that supports transfers; `dst`,
    /// the ring and, for an upload [`imported`](Self::imported) from one, the import (of
    /// `stager`'s device) stay alive until the submissions that use them complete; for the
    /// direct path,
    /// no pending GPU work and no other host access touches the destination range (the host
    /// writes it now).
    pub unsafe fn record(
        &mut self,
        cmd: vk::CommandBuffer,
        stager: &Stager,
        allocator: &Allocator,
        ring: &mut StagingRing,
    ) -> Result<Progress> {
        // SAFETY: forwarded from this function's contract.
        unsafe { super::record(self, cmd, stager, allocator, ring) }
    }

    /// Adds this upload's first barrier (from `from` to a transfer write) to `pre`, once; nothing
    /// for an empty upload or the direct path. See [`ImageUpload::begin`](super::ImageUpload::begin) for sharing batches
    /// across uploads. Refuses a range another upload begun into `pre` writes
    /// ([`Error::Overlap`]: the two copies would race), and a finished upload.
    pub fn begin(&mut self, pre: &mut BarrierBatch) -> Result<()> {
        if self.finished {
            return Err(Error::AlreadyFinished);
        }
        let len = self.source.len();
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
        cmd: vk::CommandBuffer,
        stager: &Stager,
        allocator: &Allocator,
        ring: &mut StagingRing,
        post: &mut BarrierBatch,
    ) -> Result<Progress> {
        // SAFETY: forwarded from this function's contract.
        unsafe { super::record_copies(self, cmd, stager, allocator, ring, post) }
    }

    /// The direct path: a host copy into the destination's mapping.
    ///
    /// # Safety
    /// The destination is alive, and nothing else (host or GPU) touches the range meanwhile.
    unsafe fn write_direct(&mut self, stager: &Stager, allocator: &Allocator) -> Result<Progress> {
        let len = self.source.len();
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
                len as usize,
            )
        };
        match &mut self.source {
            Source::Memory(data) | Source::Imported { data, .. } => {
                fill::copy(data, dst, stager.copy_mode())
            }
            Source::Produced { producer, .. } => {
                Source::produce(producer.as_mut(), Slot::run(0, dst))?
            }
        }
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

impl super::Destination for BufferUpload<'_> {
    /// The copies, how far they reach, and their source buffer when not the ring (an import).
    type Staged = (Vec<vk::BufferCopy>, u64, Option<vk::Buffer>);
    const UNBEGUN: &'static str = "record_copies before begin: no barrier orders the copies";

    fn started(&self) -> bool {
        self.started
    }

    fn finished(&self) -> bool {
        self.finished
    }

    fn from(&self) -> ResourceState {
        self.from
    }

    fn check(&self, stager: &Stager) -> Result<()> {
        check::buffer_states(self.from, self.to, stager.queue_families())
    }

    unsafe fn shortcut(
        &mut self,
        stager: &Stager,
        allocator: &Allocator,
    ) -> Option<Result<Progress>> {
        if self.source.len() == 0 {
            self.finished = true;
            return Some(Ok(Progress::Done(Finished {
                state: self.to,
                acquire: BarrierBatch::new(),
            })));
        }
        // SAFETY: forwarded from this function's contract (the direct path's duties).
        (self.resolved_path() == UploadPath::Direct)
            .then(|| unsafe { self.write_direct(stager, allocator) })
    }

    /// Host work: stages as much as the batch and ring allow, and takes the ring back to where it
    /// was if anything fails.
    fn fill(
        &mut self,
        stager: &Stager,
        allocator: &Allocator,
        ring: &mut StagingRing,
    ) -> Result<(Vec<vk::BufferCopy>, u64, Option<vk::Buffer>)> {
        if !self
            .dst
            .usage()
            .contains(vk::BufferUsageFlags::TRANSFER_DST)
        {
            return Err(Error::MissingBufferUsage {
                needed: vk::BufferUsageFlags::TRANSFER_DST,
            });
        }
        let len = self.source.len();
        if let Source::Imported { buffer, base, .. } = self.source {
            // Straight from the import: the rest in one copy, no ring.
            let region = vk::BufferCopy {
                src_offset: base + self.done,
                dst_offset: self.dst_offset + self.done,
                size: len - self.done,
            };
            return Ok((vec![region], len, Some(buffer)));
        }
        let source = &mut self.source;
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
                let bytes = ring.bytes_mut(span)?;
                match source {
                    Source::Memory(data) => {
                        let start = done as usize;
                        let src = &data[start..start + bytes.len()];
                        fill::copy(src, bytes, stager.copy_mode());
                    }
                    Source::Produced { producer, .. } => {
                        Source::produce(producer.as_mut(), Slot::run(done, bytes))?
                    }
                    // Returned above.
                    Source::Imported { .. } => {}
                }
                ring.flush(allocator, span)?;
                regions.push(vk::BufferCopy {
                    src_offset: span.offset(),
                    dst_offset: self.dst_offset + done,
                    size: span.size(),
                });
                done += span.size();
                recorded += span.size();
            }
            Ok((regions, done, None))
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
        (regions, done, src): Self::Staged,
    ) {
        if !regions.is_empty() {
            let src = src.unwrap_or_else(|| ring.buffer().raw());
            // SAFETY: both buffers are live and the regions lie inside them; the ring spans were
            // filled and flushed by `fill`, or the source is the import the data lies in (this
            // function's contract).
            unsafe { device.cmd_copy_buffer(cmd, src, self.dst.raw(), &regions) };
        }
        self.done = done;
    }

    /// Adds the closing barrier (with the release half when ownership moves) to `post`, and
    /// marks the upload finished.
    fn end(&mut self, post: &mut BarrierBatch) -> Finished {
        self.finished = true;
        let len = self.source.len();
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

    fn stalled(&self, (regions, _, _): &Self::Staged) -> bool {
        regions.is_empty()
    }

    fn adopt(&mut self, stager: &Stager, acquire: &mut BarrierBatch) -> Result<()> {
        BufferUpload::adopt(self, stager, acquire)
    }

    fn begin(&mut self, pre: &mut BarrierBatch) -> Result<()> {
        BufferUpload::begin(self, pre)
    }

    fn remaining(&self) -> bool {
        self.done < self.source.len()
    }
}
