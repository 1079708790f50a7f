//! Uploads into buffers and images, recorded into the caller's command buffer.
//!
//! An upload is a value that remembers how far it got. Each [`BufferUpload::record`] /
//! [`ImageUpload::record`] call records as much as the staging ring has room for (and at most one
//! batch, so the driver can overlap filling with copying) and answers [`Progress::Pending`] until
//! the last piece is recorded, then [`Progress::Done`] with the state the resource was left in.
//! Between calls the caller submits the command buffer and tells the ring which submission it was.

use allocator::{Allocator, GpuBuffer, GpuImage};
use ash::vk;

use crate::access::{Access, ResourceState};
use crate::barrier::BarrierBatch;
use crate::error::{Error, Result};
use crate::format::{block_info, BlockInfo};
use crate::plan::{offset_alignment, plan_subresource, CopyAlignment, Piece, SubresourceLayout};
use crate::ring::StagingRing;

/// Smallest run of buffer bytes worth a copy region when the ring has little room left.
const MIN_BUFFER_CHUNK: u64 = 64 * 1024;
/// Below this, a host copy is not worth spreading over threads.
const PARALLEL_COPY_MIN: usize = 4 << 20;

/// Device facts uploads need, and how many threads fill staging memory. Cheap to clone; holds
/// no mutable state.
#[derive(Clone)]
pub struct Stager {
    device: ash::Device,
    align: CopyAlignment,
    threads: usize,
}

impl std::fmt::Debug for Stager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stager")
            .field("align", &self.align)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl Stager {
    /// A stager for `device`, whose physical device has `limits`. Large host copies use up to 8
    /// threads (fewer where the machine has fewer cores): on an H100 host, a 256 MiB staged upload
    /// went from 5.8 GB/s with one thread to 16.6 with 4 and 22.5 with 8 (12 gave no more).
    pub fn new(device: &ash::Device, limits: &vk::PhysicalDeviceLimits) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            device: device.clone(),
            align: CopyAlignment::from_limits(limits),
            threads: cores.min(8),
        }
    }

    /// Sets how many threads fill staging memory (1 for none).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
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

/// Copies `src` into `dst` (same length), over up to `threads` threads for large copies.
pub(crate) fn copy_parallel(src: &[u8], dst: &mut [u8], threads: usize) {
    if threads <= 1 || src.len() < PARALLEL_COPY_MIN {
        dst.copy_from_slice(src);
        return;
    }
    let chunk = src.len().div_ceil(threads).next_multiple_of(4096);
    std::thread::scope(|scope| {
        for (d, s) in dst.chunks_mut(chunk).zip(src.chunks(chunk)) {
            scope.spawn(move || d.copy_from_slice(s));
        }
    });
}

/// How a buffer upload reaches its destination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UploadPath {
    /// Direct when the destination is mappable and idle, staged otherwise.
    #[default]
    Auto,
    /// Write straight into the destination's mapping, recording nothing.
    Direct,
    /// Copy through the staging ring.
    Staged,
}

/// What an upload or readback left behind when it finished.
#[derive(Debug)]
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

/// The working state of a transfer on the queue family of `from`.
fn working(access: Access, from: ResourceState) -> ResourceState {
    ResourceState::new(access).on_queue(from.queue_family)
}

/// An upload of bytes into a range of a buffer.
#[derive(Debug)]
pub struct BufferUpload<'a> {
    dst: &'a mut GpuBuffer,
    dst_offset: u64,
    data: &'a [u8],
    done: u64,
    from: ResourceState,
    to: ResourceState,
    path: UploadPath,
    batch: Option<u64>,
    started: bool,
}

impl<'a> BufferUpload<'a> {
    /// Uploads `data` into `dst` at `dst_offset`. `from` is the state `dst` is in, `to` the state
    /// to leave it in.
    pub fn new(
        dst: &'a mut GpuBuffer,
        dst_offset: u64,
        data: &'a [u8],
        from: ResourceState,
        to: ResourceState,
    ) -> Result<Self> {
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
        })
    }

    /// Uploads a slice of `Pod` values.
    pub fn from_pod<T: bytemuck::Pod>(
        dst: &'a mut GpuBuffer,
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

    /// Caps the bytes staged per `record` call (default: a quarter of the ring), so that the
    /// GPU copies one batch while the host fills the next.
    pub fn batch_bytes(mut self, bytes: u64) -> Self {
        self.batch = Some(bytes.max(1));
        self
    }

    /// The path this upload takes.
    pub fn resolved_path(&self) -> UploadPath {
        match self.path {
            UploadPath::Auto => {
                let idle = matches!(self.from.access, Access::Nothing | Access::HostWrite);
                if self.dst.is_mappable() && idle && !self.from.transfers_ownership_to(self.to) {
                    UploadPath::Direct
                } else {
                    UploadPath::Staged
                }
            }
            forced => forced,
        }
    }

    /// Records the next part of the upload into `cmd`.
    ///
    /// # Safety
    /// `cmd` is recording on `stager`'s device, on a queue family that supports transfers; `dst`
    /// and the ring stay alive until the submissions that use them complete; for the direct path,
    /// no pending GPU work accesses the destination range (the host writes it now).
    pub unsafe fn record(
        &mut self,
        stager: &Stager,
        allocator: &Allocator,
        cmd: vk::CommandBuffer,
        ring: &mut StagingRing,
    ) -> Result<Progress> {
        let len = self.data.len() as u64;
        if self.resolved_path() == UploadPath::Direct {
            let Some(base) = self.dst.mapped_ptr().filter(|_| self.dst.is_mappable()) else {
                return Err(Error::invalid(
                    "path",
                    "the direct path needs a mappable destination",
                ));
            };
            // SAFETY: the destination is persistently mapped over its size, the range was checked
            // in `new`, `&mut GpuBuffer` excludes other host access, and the caller guarantees no
            // GPU work touches it (this function's contract).
            let dst = unsafe {
                std::slice::from_raw_parts_mut(
                    base.as_ptr().add(self.dst_offset as usize),
                    self.data.len(),
                )
            };
            copy_parallel(self.data, dst, stager.threads);
            allocator.flush(self.dst, self.dst_offset, len)?;
            self.done = len;
            // Host writes made before vkQueueSubmit are visible to every command of that submission
            // (Vulkan spec, "Host Write Ordering Guarantees"): nothing to record.
            return Ok(Progress::Done(Finished {
                state: self.to,
                acquire: BarrierBatch::new(),
            }));
        }
        if !self
            .dst
            .usage()
            .contains(vk::BufferUsageFlags::TRANSFER_DST)
        {
            return Err(Error::MissingUsage {
                needed: "TRANSFER_DST",
            });
        }
        let device = stager.device();
        let raw = self.dst.raw();
        let work = working(Access::TransferWrite, self.from);
        if !self.started {
            let mut pre = BarrierBatch::new();
            pre.buffer_local(raw, self.dst_offset, len.max(1), self.from, work);
            // SAFETY: forwarded from this function's contract.
            unsafe { pre.record(device, cmd) };
            self.started = true;
        }
        let budget = self
            .batch
            .unwrap_or(ring.capacity() / 4)
            .clamp(1, ring.capacity());
        let mut regions = Vec::new();
        let mut recorded = 0;
        while self.done < len && recorded < budget {
            let want = (len - self.done).min(budget - recorded);
            let Some(span) = ring.alloc_up_to(want, want.min(MIN_BUFFER_CHUNK), 16)? else {
                break;
            };
            let start = self.done as usize;
            let src = &self.data[start..start + span.size as usize];
            copy_parallel(src, ring.bytes_mut(span), stager.threads);
            ring.flush(allocator, span)?;
            regions.push(vk::BufferCopy {
                src_offset: span.offset,
                dst_offset: self.dst_offset + self.done,
                size: span.size,
            });
            self.done += span.size;
            recorded += span.size;
        }
        if !regions.is_empty() {
            // SAFETY: both buffers are live and the regions lie inside them; the ring spans were
            // filled and flushed above.
            unsafe { device.cmd_copy_buffer(cmd, ring.buffer().raw(), raw, &regions) };
        }
        if self.done < len {
            return Ok(Progress::Pending);
        }
        let (mut post, mut acquire) = (BarrierBatch::new(), BarrierBatch::new());
        post.buffer(
            raw,
            self.dst_offset,
            len.max(1),
            work,
            self.to,
            &mut acquire,
        );
        // SAFETY: forwarded from this function's contract.
        unsafe { post.record(device, cmd) };
        Ok(Progress::Done(Finished {
            state: self.to,
            acquire,
        }))
    }
}

/// Subresource layouts of data that holds `levels` mip levels of every layer of `image`, tightly
/// packed, level by level and layer by layer within a level (the order of KTX2 and DDS), and the
/// total byte length.
pub fn packed_layouts(image: &GpuImage, levels: u32) -> Result<(Vec<SubresourceLayout>, u64)> {
    let block = block_info(image.format()).ok_or(Error::UnsupportedFormat {
        format: image.format(),
    })?;
    let mut layouts = Vec::new();
    let mut offset = 0;
    for level in 0..levels.min(image.mip_levels()) {
        let size = block.extent_bytes(image.level_extent(level));
        for layer in 0..image.array_layers() {
            layouts.push(SubresourceLayout {
                level,
                layer,
                offset,
                row_pitch: 0,
                slice_pitch: 0,
            });
            offset += size;
        }
    }
    Ok((layouts, offset))
}

/// An upload of mip levels and array layers into an image.
#[derive(Debug)]
pub struct ImageUpload<'a> {
    dst: &'a GpuImage,
    data: &'a [u8],
    block: BlockInfo,
    pieces: Vec<Piece>,
    next: usize,
    offset_align: u64,
    from: ResourceState,
    to: ResourceState,
    batch: Option<u64>,
    started: bool,
}

impl<'a> ImageUpload<'a> {
    /// Uploads the subresources `layouts` describes, from `data`, in pieces of at most
    /// `max_piece` staging bytes: the ring's capacity at most, and a fraction of it (a quarter,
    /// say) to let the GPU copy one piece while the host fills the next. The whole image goes from
    /// `from` to `to` (levels the data leaves out keep their contents unless `from` discards
    /// them).
    pub fn new(
        stager: &Stager,
        dst: &'a GpuImage,
        data: &'a [u8],
        layouts: &[SubresourceLayout],
        from: ResourceState,
        to: ResourceState,
        max_piece: u64,
    ) -> Result<Self> {
        let block = block_info(dst.format()).ok_or(Error::UnsupportedFormat {
            format: dst.format(),
        })?;
        if !dst.usage().contains(vk::ImageUsageFlags::TRANSFER_DST) {
            return Err(Error::MissingUsage {
                needed: "TRANSFER_DST",
            });
        }
        let align = stager.alignment();
        let offset_align = offset_alignment(&block, align);
        let mut pieces = Vec::new();
        for layout in layouts {
            if layout.level >= dst.mip_levels() || layout.layer >= dst.array_layers() {
                return Err(Error::invalid(
                    "layouts",
                    format!(
                        "level {} layer {} is outside an image of {} levels and {} layers",
                        layout.level,
                        layout.layer,
                        dst.mip_levels(),
                        dst.array_layers()
                    ),
                ));
            }
            pieces.extend(plan_subresource(
                &block,
                dst.level_extent(layout.level),
                layout,
                data.len() as u64,
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
        })
    }

    /// Uploads `levels` tightly packed levels of every layer (see [`packed_layouts`]).
    pub fn packed(
        stager: &Stager,
        dst: &'a GpuImage,
        data: &'a [u8],
        levels: u32,
        from: ResourceState,
        to: ResourceState,
        max_piece: u64,
    ) -> Result<Self> {
        let (layouts, len) = packed_layouts(dst, levels)?;
        if (data.len() as u64) < len {
            return Err(Error::invalid(
                "data",
                format!(
                    "{levels} packed levels need {len} bytes, the data has {}",
                    data.len()
                ),
            ));
        }
        Self::new(stager, dst, data, &layouts, from, to, max_piece)
    }

    /// Caps the bytes staged per `record` call (default: a quarter of the ring; at least one
    /// piece is always recorded when the ring has room for it).
    pub fn batch_bytes(mut self, bytes: u64) -> Self {
        self.batch = Some(bytes.max(1));
        self
    }

    /// The planned pieces (for inspection and tests).
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// Records the next part of the upload into `cmd`.
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
        let device = stager.device();
        let range = self.dst.full_range(self.block.aspect);
        let work = working(Access::TransferWrite, self.from);
        if !self.started {
            let mut pre = BarrierBatch::new();
            pre.image_local(self.dst.raw(), range, self.from, work);
            // SAFETY: forwarded from this function's contract.
            unsafe { pre.record(device, cmd) };
            self.started = true;
        }
        let budget = self.batch.unwrap_or(ring.capacity() / 4).max(1);
        let mut regions = Vec::new();
        let mut recorded = 0;
        while let Some(piece) = self.pieces.get(self.next) {
            if recorded > 0 && recorded + piece.staging_size() > budget {
                break;
            }
            let Some(span) = ring.alloc(piece.staging_size(), self.offset_align)? else {
                break;
            };
            match piece.contiguous_source() {
                Some((start, len)) => copy_parallel(
                    &self.data[start..start + len],
                    &mut ring.bytes_mut(span)[..len],
                    stager.threads,
                ),
                None => piece.fill(self.data, ring.bytes_mut(span))?,
            }
            ring.flush(allocator, span)?;
            regions.push(piece.region(span.offset, &self.block));
            recorded += piece.staging_size();
            self.next += 1;
        }
        if !regions.is_empty() {
            // SAFETY: the image is in TRANSFER_DST_OPTIMAL (barrier above, in this or an earlier
            // submission on this queue); every region was planned inside its subresource.
            unsafe {
                device.cmd_copy_buffer_to_image(
                    cmd,
                    ring.buffer().raw(),
                    self.dst.raw(),
                    vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                    &regions,
                )
            };
        }
        if self.next < self.pieces.len() {
            return Ok(Progress::Pending);
        }
        let (mut post, mut acquire) = (BarrierBatch::new(), BarrierBatch::new());
        post.image(self.dst.raw(), range, work, self.to, &mut acquire);
        // SAFETY: forwarded from this function's contract.
        unsafe { post.record(device, cmd) };
        Ok(Progress::Done(Finished {
            state: self.to,
            acquire,
        }))
    }
}
