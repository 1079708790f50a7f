//! [`ImageUpload`]: mip levels and array layers into an image, in pieces cut at rows of blocks.

use ash::vk;
use vkup_allocator::Allocator;

use std::sync::Arc;

use super::{
    working, Destination as _, Finished, Ownership, Produce, Progress, Slot, Source, Stager,
    UploadPath, AUTO_HOST_COPY_MAX, DEFAULT_BATCH_SHARE,
};
use crate::access::Access;
use crate::access::ResourceState;
use crate::barrier::BarrierBatch;
use crate::check;
use crate::error::{Error, Result};
use crate::fill::{self, CopyMode};
use crate::format::{block_info, BlockInfo};
use crate::host_copy::HostImageCopier;
use crate::plan::{offset_alignment, plan_slices, Piece, SubresourceLayout};
use crate::ring::{RingSpan, StagingRing};
use crate::target::ImageTarget;

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

/// The slot a producer fills for `piece`, staged in `bytes`.
fn slot<'s>(piece: &Piece, bytes: &'s mut [u8]) -> Slot<'s> {
    Slot::new(
        (piece.level(), piece.layer()),
        piece.src_offset(),
        (piece.image_offset(), piece.image_extent()),
        piece.rows_and_slices(),
        (
            piece.row_bytes() as usize,
            piece.staging_row_pitch() as usize,
        ),
        bytes,
    )
}

/// Refuses `data` that is not the `len` bytes `levels` packed levels take ([`packed_layouts`]).
pub(crate) fn check_packed_len(levels: u32, len: u64, data: &[u8]) -> Result<()> {
    if data.len() as u64 != len {
        return Err(Error::invalid(
            "data",
            format!(
                "{levels} packed levels are {len} bytes, the data has {}",
                data.len()
            ),
        ));
    }
    Ok(())
}

/// What one [`ImageUpload`] fill staged: the copies, the index of the first piece not staged
/// whole, and what is left of that piece when only its head was staged.
pub(crate) struct Staged {
    regions: Vec<vk::BufferImageCopy>,
    /// Their source when not the ring: the import the data lies in.
    src: Option<vk::Buffer>,
    next: usize,
    rest: Option<Piece>,
}

/// An upload of mip levels and array layers into an image.
#[derive(Debug)]
pub struct ImageUpload<'a> {
    dst: ImageTarget,
    source: Source<'a>,
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
    path: UploadPath,
    /// The stager's host image copier, where it has one.
    host: Option<Arc<HostImageCopier>>,
}

impl<'a> ImageUpload<'a> {
    /// Uploads the subresources `layouts` describes, from `data`: one piece per subresource (per
    /// depth slice of a 3D level), which a `record` call cuts at a row of blocks where the batch
    /// ([`batch_bytes`](Self::batch_bytes)) or the ring's free run ends, so every batch but the
    /// last is full and the GPU copies one while the host fills the next. Any ring that holds
    /// the largest row ([`min_ring_size`](Self::min_ring_size)) takes the whole upload. The whole image
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
    ) -> Result<Self> {
        Self::planned(stager, dst.into(), Source::Memory(data), layouts, from, to)
    }

    /// Uploads `levels` levels of every layer, their bytes written in place by `producer`: it
    /// is handed each piece's staging memory as the upload records it ([`Slot`], in the order
    /// and with the offsets of [`packed_layouts`]), so the bytes go from the producer (an image
    /// decoder, a file read) to the GPU with no copy in between. Otherwise as
    /// [`ImageUpload::packed`].
    pub fn in_place(
        stager: &Stager,
        dst: impl Into<ImageTarget>,
        levels: u32,
        from: ResourceState,
        to: ResourceState,
        producer: impl Produce + Send + 'a,
    ) -> Result<Self> {
        let dst = dst.into();
        let (layouts, len) = packed_layouts(dst, levels)?;
        let source = Source::Produced {
            len,
            producer: Box::new(producer),
        };
        Self::planned(stager, dst, source, &layouts, from, to)
    }

    fn planned(
        stager: &Stager,
        dst: ImageTarget,
        source: Source<'a>,
        layouts: &[SubresourceLayout],
        from: ResourceState,
        to: ResourceState,
    ) -> Result<Self> {
        let block = block_info(dst.format()).ok_or(Error::UnsupportedFormat {
            format: dst.format(),
        })?;
        let host = stager.shared_host_copier();
        let host_written =
            host.is_some() && dst.usage().contains(vk::ImageUsageFlags::HOST_TRANSFER_EXT);
        if !dst.usage().contains(vk::ImageUsageFlags::TRANSFER_DST) && !host_written {
            return Err(Error::MissingImageUsage {
                needed: vk::ImageUsageFlags::TRANSFER_DST,
            });
        }
        check::single_sampled(&dst)?;
        check::image_states(&dst, from, to, stager.queue_families())?;
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
            pieces.extend(plan_slices(
                &block,
                dst.level_extent(layout.level),
                layout,
                source.len(),
                align,
            )?);
        }
        Ok(Self {
            dst,
            source,
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
            path: UploadPath::Auto,
            host,
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
    ) -> Result<Self> {
        let dst = dst.into();
        let (layouts, len) = packed_layouts(dst, levels)?;
        check_packed_len(levels, len, data)?;
        Self::new(stager, dst, data, &layouts, from, to)
    }

    /// Caps the bytes staged per `record` call (default: a quarter of the ring). Pieces are cut
    /// at rows to fill the cap exactly; only a row (or slice) larger than the cap is staged
    /// whole.
    pub fn batch_bytes(mut self, bytes: u64) -> Self {
        self.batch = Some(bytes.max(1));
        self
    }

    /// Chooses the path (`Auto` by default): [`UploadPath::Direct`] has the stager's
    /// [`HostImageCopier`] (see [`Stager::host_image_copy`]) write the image on the host during
    /// the `record` call, recording nothing; `Staged` copies through the ring.
    pub fn path(mut self, path: UploadPath) -> Self {
        self.path = path;
        self
    }

    /// The path this upload takes: see [`UploadPath::Auto`] for what `Auto` picks.
    pub fn resolved_path(&self) -> UploadPath {
        match self.path {
            UploadPath::Auto => {
                let idle = self
                    .from
                    .accesses
                    .all(|a| matches!(a, Access::Nothing | Access::HostWrite | Access::HostRead));
                let copyable = self.dst.usage().contains(vk::ImageUsageFlags::TRANSFER_DST);
                let small = self.source.len() <= AUTO_HOST_COPY_MAX;
                if self.host_copy_refusal().is_none() && idle && (small || !copyable) {
                    UploadPath::Direct
                } else {
                    UploadPath::Staged
                }
            }
            forced => forced,
        }
    }

    /// Fixes `Auto`'s choice at the first call that acts on it, so that what `adopt` rewrites
    /// of `from` afterwards cannot change the path midway.
    fn settle_path(&mut self) {
        self.path = self.resolved_path();
    }

    /// Why this upload cannot be a host image copy; `None` where it can.
    fn host_copy_refusal(&self) -> Option<&'static str> {
        let Some(copier) = &self.host else {
            return Some("the stager has no HostImageCopier (Stager::host_image_copy)");
        };
        if !self
            .dst
            .usage()
            .contains(vk::ImageUsageFlags::HOST_TRANSFER_EXT)
        {
            return Some("the image lacks HOST_TRANSFER usage");
        }
        if !matches!(self.source, Source::Memory(_)) {
            return Some(
                "only data in memory is copied by the host (not written in place or imported)",
            );
        }
        if self.started {
            return Some("begun on the staged path");
        }
        let to = self
            .to
            .accesses
            .layout()
            .unwrap_or(vk::ImageLayout::UNDEFINED);
        if !copier.dst_layouts().contains(&to) {
            return Some("`to` names no layout this device copies into from the host");
        }
        let from = self
            .from
            .accesses
            .layout()
            .unwrap_or(vk::ImageLayout::UNDEFINED);
        if !copier.transitions_from(from) {
            return Some("`from` names a layout this device does not transition from on the host");
        }
        if self.to.queue_family != vk::QUEUE_FAMILY_IGNORED
            && self.to.queue_family != self.from.queue_family
        {
            return Some(
                "a host copy hands the image to no queue family: leave `to`'s family unnamed, \
                 or name `from`'s",
            );
        }
        if self.pieces[self.next..]
            .iter()
            .any(|p| p.source_region(0, &self.block).is_none())
        {
            return Some(
                "a subresource's row or slice pitch is not a whole number of texel blocks or rows",
            );
        }
        None
    }

    /// The direct path: the driver writes every piece from the data on the host and moves the
    /// image's ranges from `from`'s layout to `to`'s.
    ///
    /// # Safety
    /// The image is alive, not in use by pending GPU work, and no other thread accesses it
    /// meanwhile (`record`'s contract).
    unsafe fn host_copy(&mut self) -> Result<Progress> {
        let refused = |reason| Error::PathUnavailable {
            path: UploadPath::Direct,
            reason,
        };
        if let Some(reason) = self.host_copy_refusal() {
            return Err(refused(reason));
        }
        let (Some(copier), Source::Memory(data)) = (&self.host, &self.source) else {
            return Err(refused("no copier, or no data in memory"));
        };
        let regions: Vec<vk::MemoryToImageCopyEXT<'_>> = self.pieces[self.next..]
            .iter()
            // Every piece has a region (`host_copy_refusal` checked).
            .filter_map(|p| p.source_region(0, &self.block))
            .map(|r| {
                vk::MemoryToImageCopyEXT::default()
                    // In range: the pieces were planned inside the data (`planned`).
                    .host_pointer(data[r.buffer_offset as usize..].as_ptr().cast())
                    .memory_row_length(r.buffer_row_length)
                    .memory_image_height(r.buffer_image_height)
                    .image_subresource(r.image_subresource)
                    .image_offset(r.image_offset)
                    .image_extent(r.image_extent)
            })
            .collect();
        let layout = |state: ResourceState| {
            state
                .accesses
                .layout()
                .unwrap_or(vk::ImageLayout::UNDEFINED)
        };
        // SAFETY: the image is live, idle and this thread's (this function's contract), has
        // HOST_TRANSFER usage and is in `from`'s layout over the ranges `from` describes (the
        // caller's state); both layouts were checked against the device's; every region lies
        // in a listed subresource, inside `ranges`, and reads its bytes inside `data`.
        unsafe {
            copier.transition_and_copy(
                self.dst.raw(),
                layout(self.from),
                layout(self.to),
                &self.ranges,
                &regions,
            )?;
        }
        self.next = self.pieces.len();
        self.finished = true;
        // Host writes made before vkQueueSubmit are visible to the work it submits (Vulkan
        // spec, "Host Write Ordering Guarantees"): nothing to record.
        Ok(Progress::Done(Finished {
            state: self.to,
            acquire: BarrierBatch::new(),
        }))
    }

    /// Makes `from` and `to` describe only the subresources the layouts list: the barriers cover
    /// those alone, and every other level and layer keeps its state and contents (stream one
    /// level in while the others are sampled). By default the whole image moves from `from` to
    /// `to`.
    pub fn listed_subresources_only(mut self) -> Self {
        self.ranges = crate::barrier::ranges_covering(self.block.aspect, &self.listed);
        self
    }

    /// Copies from `import` instead of staging: the data must lie inside the imported range
    /// (an asset pack read or mapped there once), laid out as the copy reads it (each
    /// subresource's rows a whole number of texel blocks apart, as packed data is) at offsets
    /// that are multiples of the texel block size (and of 4 for depth and stencil); the GPU then
    /// copies straight from it in one call, with no host copy and no ring space. The import must
    /// be of the stager's device and outlive the submissions (`record`'s contract). Refuses, naming
    /// why, data outside the import, an import without `TRANSFER_SRC`, a layout the copy cannot
    /// read in place, and an upload written in place.
    pub fn imported(mut self, import: &vkup_allocator::HostImport) -> Result<Self> {
        let source = std::mem::replace(&mut self.source, Source::Memory(&[])).imported(import)?;
        let Source::Imported { base, .. } = source else {
            return Err(Error::invalid("import", "not an imported source"));
        };
        let depth_stencil = self
            .block
            .aspect
            .intersects(vk::ImageAspectFlags::DEPTH | vk::ImageAspectFlags::STENCIL);
        let align = if depth_stencil {
            crate::plan::lcm(u64::from(self.block.bytes), 4).unwrap_or(u64::MAX)
        } else {
            u64::from(self.block.bytes)
        };
        for piece in &self.pieces[self.next..] {
            let Some(region) = piece.source_region(base, &self.block) else {
                return Err(Error::invalid(
                    "import",
                    format!(
                        "level {} layer {}: its row or slice pitch is not a whole number of \
                         texel blocks or rows, which a copy cannot read in place (pack it, or \
                         stage the upload)",
                        piece.level(),
                        piece.layer()
                    ),
                ));
            };
            if region.buffer_offset % align != 0 {
                return Err(Error::invalid(
                    "import",
                    format!(
                        "level {} layer {} starts at import offset {}, not a multiple of {align}",
                        piece.level(),
                        piece.layer(),
                        region.buffer_offset
                    ),
                ));
            }
        }
        self.source = source;
        Ok(self)
    }

    /// Whether the upload is done: its last copy recorded (or, on the direct path, written),
    /// its closing barrier handed out. A finished upload refuses further calls with
    /// [`Error::AlreadyFinished`], so callers recording several together pass only the
    /// unfinished ones.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The planned pieces (for inspection and tests); one that a `record` call cut shows what is
    /// left of it.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// The smallest staging ring this upload can go through: its largest staged row of blocks.
    pub fn min_ring_size(&self) -> u64 {
        self.pieces
            .iter()
            .map(Piece::staging_row_pitch)
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
    /// image, the ring and, for an upload [`imported`](Self::imported) from one, the import (of
    /// `stager`'s device) stay alive until the submissions that use them complete; on the
    /// direct path ([`resolved_path`](Self::resolved_path): a host image copy), no pending GPU
    /// work uses the image and no other thread accesses it during the call (the host writes
    /// it now).
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

    /// Takes ownership on `stager`'s recording family (see [`Stager::recording_family`]) before
    /// the first barrier, over the ranges the upload's states describe: the acquire half goes
    /// into `acquire`, to be recorded before the batch [`ImageUpload::begin`] fills. Nothing
    /// when no family moves, or once begun. The states are checked against the image and the
    /// device's queue families first, before anything is rewritten.
    pub fn adopt(&mut self, stager: &Stager, acquire: &mut BarrierBatch) -> Result<()> {
        check::image_states(&self.dst, self.from, self.to, stager.queue_families())?;
        if self.finished {
            return Err(Error::AlreadyFinished);
        }
        self.settle_path();
        if self.started || self.path == UploadPath::Direct {
            // A host copy needs no queue family's ownership.
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
        self.settle_path();
        if self.started || self.path == UploadPath::Direct {
            return Ok(());
        }
        self.check_staged()?;
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
        cmd: vk::CommandBuffer,
        stager: &Stager,
        allocator: &Allocator,
        ring: &mut StagingRing,
        post: &mut BarrierBatch,
    ) -> Result<Progress> {
        // SAFETY: forwarded from this function's contract.
        unsafe { super::record_copies(self, cmd, stager, allocator, ring, post) }
    }
}

impl ImageUpload<'_> {
    /// Refuses the staged path for an image without `TRANSFER_DST` usage (made to be written
    /// by host copies alone).
    fn check_staged(&self) -> Result<()> {
        if self.dst.usage().contains(vk::ImageUsageFlags::TRANSFER_DST) {
            Ok(())
        } else {
            Err(Error::PathUnavailable {
                path: UploadPath::Staged,
                reason: "the image lacks TRANSFER_DST usage",
            })
        }
    }

    /// Refuses a ring that cannot hold the largest row.
    fn check_ring(&self, ring: &StagingRing) -> Result<()> {
        if matches!(self.source, Source::Imported { .. }) {
            // Copied from the import: the ring holds nothing of it.
            return Ok(());
        }
        let needed = self.min_ring_size();
        if needed > ring.capacity() {
            return Err(Error::RingTooSmall {
                needed,
                capacity: ring.capacity(),
            });
        }
        Ok(())
    }

    /// Hands out ring space for as many pieces as `budget` bytes and the ring's free run hold,
    /// cutting the last one at a row (or slice), without writing it; the caller rolls the ring
    /// back if anything after fails.
    fn reserve(&self, ring: &mut StagingRing, budget: u64) -> Result<Reserved> {
        let mut reserved = Reserved {
            staged: Staged {
                regions: Vec::new(),
                src: None,
                next: self.next,
                rest: None,
            },
            spans: Vec::new(),
            bytes: 0,
        };
        let staged = &mut reserved.staged;
        if let Source::Imported { buffer, base, .. } = self.source {
            // Straight from the import: every piece left, no ring (`imported` checked that each
            // piece's rows lie there as the copy reads them).
            staged.src = Some(buffer);
            // `imported` checked that every piece has a source region.
            staged.regions = self.pieces[self.next..]
                .iter()
                .filter_map(|piece| piece.source_region(base, &self.block))
                .collect();
            staged.next = self.pieces.len();
            return Ok(reserved);
        }
        while let Some(&whole) = self.pieces.get(staged.next) {
            let size = whole.staging_size();
            let free = ring.room(size, self.offset_align);
            let mut room = free.min(budget.saturating_sub(reserved.bytes));
            if reserved.bytes == 0 {
                // Not one row fits the batch: the batch takes one row.
                room = room.max(whole.staging_row_pitch().min(free));
            }
            let piece = if size <= room {
                whole
            } else if let Some((head, rest)) = whole.split(room) {
                staged.rest = Some(rest);
                head
            } else {
                break;
            };
            let Some(span) = ring.alloc(piece.staging_size(), self.offset_align)? else {
                staged.rest = None;
                break;
            };
            staged.regions.push(piece.region(span.offset()));
            reserved.spans.push((piece, span));
            if staged.rest.is_some() {
                // The batch or the ring's free run is full.
                break;
            }
            reserved.bytes += piece.staging_size();
            staged.next += 1;
        }
        Ok(reserved)
    }

    /// Records the next copies of several uploads into `cmd`, their bytes written in parallel:
    /// each upload's producer (or copy from memory) runs on one of up to
    /// [`Stager::copy_threads`] threads (the calling one and the stager's pool; threads scoped to
    /// the call beside an executor; none when that is 1), its slots in order, and the batch
    /// (a quarter of the ring) is shared out so that as many uploads as there are threads fill
    /// at once. This is how decoders of many textures write into one ring side by side while the
    /// GPU copies the previous batches. Uploads on the direct path
    /// ([`resolved_path`](Self::resolved_path)) are host image copies, one image per thread on
    /// the same threads, after the staged part: they finish in this call and record nothing.
    /// Returns each upload's progress, in order; each finished staged upload's closing barrier
    /// goes into `post`.
    ///
    /// Every upload is checked first (begun unless direct, not finished, states, the ring holds
    /// its largest row, the host copy possible); an error, a producer's included, leaves `cmd`,
    /// the ring and every upload as they were, except an error of the driver's own during a
    /// host copy (out of memory), after which the images on the direct path hold undefined
    /// contents.
    ///
    /// # Safety
    /// As for [`ImageUpload::record_copies`], for each upload.
    pub unsafe fn record_copies_together(
        cmd: vk::CommandBuffer,
        stager: &Stager,
        allocator: &Allocator,
        ring: &mut StagingRing,
        uploads: &mut [&mut ImageUpload<'_>],
        post: &mut BarrierBatch,
    ) -> Result<Vec<Progress>> {
        let threads = stager.copy_threads().max(1);
        for upload in uploads.iter_mut() {
            upload.settle_path();
        }
        let direct: Vec<bool> = uploads
            .iter()
            .map(|u| u.path == UploadPath::Direct)
            .collect();
        for (upload, &direct) in uploads.iter().zip(&direct) {
            if upload.finished {
                return Err(Error::AlreadyFinished);
            }
            upload.check(stager)?;
            if direct {
                if let Some(reason) = upload.host_copy_refusal() {
                    return Err(Error::PathUnavailable {
                        path: UploadPath::Direct,
                        reason,
                    });
                }
                continue;
            }
            upload.check_staged()?;
            stager.check_owned(upload.from)?;
            if !upload.started {
                return Err(Error::InvalidState {
                    which: crate::error::StateRole::From,
                    reason: <Self as super::Destination>::UNBEGUN.into(),
                });
            }
            upload.check_ring(ring)?;
        }
        let batch = (ring.capacity() / DEFAULT_BATCH_SHARE).max(1);
        let (mut hosted, mut uploads): (Vec<_>, Vec<_>) = uploads
            .iter_mut()
            .zip(&direct)
            .partition(|(_, &direct)| direct);
        let pending = uploads.iter().filter(|(u, _)| u.remaining()).count();
        let share = (batch / pending.clamp(1, threads) as u64).max(1);
        let reserved = ring.all_or_nothing(|ring| {
            let mut reserved = Vec::with_capacity(uploads.len());
            let mut total = 0u64;
            for (upload, _) in uploads.iter() {
                let budget = upload.batch.unwrap_or(u64::MAX).min(share);
                let r = if total >= batch {
                    Reserved::empty(upload.next)
                } else {
                    upload.reserve(ring, budget.min(batch - total))?
                };
                total += r.bytes;
                reserved.push(r);
            }
            let spans: Vec<RingSpan> = reserved
                .iter()
                .flat_map(|r| r.spans.iter().map(|&(_, span)| span))
                .collect();
            let mut slices = ring.spans_mut(&spans)?.into_iter();
            let mut jobs = Vec::new();
            for ((upload, _), r) in uploads.iter_mut().zip(&reserved) {
                let pieces: Vec<(Piece, &mut [u8])> = r
                    .spans
                    .iter()
                    .map(|&(piece, _)| piece)
                    .zip(slices.by_ref())
                    .collect();
                if !pieces.is_empty() {
                    jobs.push((&mut upload.source, pieces));
                }
            }
            // Each job on one thread: its own copies stay on that thread.
            let mode = CopyMode {
                threads: 1,
                ..stager.copy_mode()
            };
            run_jobs(jobs, threads, mode, stager.pool())?;
            for span in spans {
                ring.flush(allocator, span)?;
            }
            Ok(reserved)
        })?;
        let device = stager.device();
        let mut progress: Vec<Option<Progress>> = direct.iter().map(|_| None).collect();
        let mut at = (0..direct.len()).filter(|&i| !direct[i]);
        for ((upload, _), r) in uploads.iter_mut().zip(reserved) {
            // SAFETY: forwarded from this function's contract; `begin`'s batch is recorded
            // before, and the regions came from `reserve` on this ring, written above.
            unsafe { super::Destination::emit(&mut ***upload, device, cmd, ring, r.staged) };
            let done = if upload.remaining() {
                Progress::Pending
            } else {
                Progress::Done(super::Destination::end(&mut ***upload, post))
            };
            if let Some(i) = at.next() {
                progress[i] = Some(done);
            }
        }
        // The host copies, one image per thread, once the staged part can no longer fail.
        let jobs: Vec<&mut ImageUpload<'_>> = hosted.iter_mut().map(|(u, _)| &mut ***u).collect();
        run_parallel(jobs, threads, stager.pool(), |upload| {
            // SAFETY: each image is idle and accessed by no other thread (this function's
            // contract); each upload runs on one thread.
            unsafe { upload.host_copy() }.map(drop)
        })?;
        let mut at = (0..direct.len()).filter(|&i| direct[i]);
        for (upload, _) in &hosted {
            if let Some(i) = at.next() {
                progress[i] = Some(Progress::Done(Finished {
                    state: upload.to,
                    acquire: BarrierBatch::new(),
                }));
            }
        }
        Ok(progress.into_iter().flatten().collect())
    }
}

/// Ring space handed out for one upload's next pieces, not yet written.
struct Reserved {
    staged: Staged,
    spans: Vec<(Piece, RingSpan)>,
    bytes: u64,
}

impl Reserved {
    fn empty(next: usize) -> Self {
        Self {
            staged: Staged {
                regions: Vec::new(),
                src: None,
                next,
                rest: None,
            },
            spans: Vec::new(),
            bytes: 0,
        }
    }
}

/// Writes `pieces` (each with its staging bytes) from `source`, in order.
fn write<'s>(
    source: &mut Source<'_>,
    pieces: impl IntoIterator<Item = (Piece, &'s mut [u8])>,
    mode: CopyMode<'_>,
) -> Result<()> {
    for (piece, bytes) in pieces {
        match source {
            Source::Memory(data) => match piece.contiguous_source() {
                Some((start, len)) => {
                    fill::copy(&data[start..start + len], &mut bytes[..len], mode)
                }
                None => piece.fill(data, bytes)?,
            },
            Source::Produced { producer, .. } => {
                Source::produce(producer.as_mut(), slot(&piece, bytes))?
            }
            // Reserves no ring space, so has no pieces to write.
            Source::Imported { .. } => {}
        }
    }
    Ok(())
}

/// One upload's share of a batch: its source and the pieces it writes.
type Job<'j, 'a> = (&'j mut Source<'a>, Vec<(Piece, &'j mut [u8])>);

/// Writes each job's pieces from its source, through [`run_parallel`].
fn run_jobs(
    jobs: Vec<Job<'_, '_>>,
    threads: usize,
    mode: CopyMode<'_>,
    pool: Option<&crate::fill::CopyPool>,
) -> Result<()> {
    run_parallel(jobs, threads, pool, |(source, pieces)| {
        write(source, pieces, mode)
    })
}

/// Runs `work` on each of `jobs` on up to `threads` threads (the calling one included: the
/// stager's pool, or threads scoped to the call beside an executor), each job whole on one
/// thread; the first error is returned once every job has ended, and a panic is resumed on the
/// calling thread.
fn run_parallel<J: Send>(
    jobs: Vec<J>,
    threads: usize,
    pool: Option<&crate::fill::CopyPool>,
    work: impl Fn(J) -> Result<()> + Sync,
) -> Result<()> {
    let threads = threads.min(jobs.len());
    if threads <= 1 {
        return jobs.into_iter().try_for_each(work);
    }
    let queue = std::sync::Mutex::new(jobs.into_iter());
    let failed = std::sync::Mutex::new(None);
    let work = || loop {
        // A poisoned lock means a job panicked on another thread; that panic is resumed.
        let next = match queue.lock() {
            Ok(mut jobs) => jobs.next(),
            Err(_) => None,
        };
        let Some(job) = next else {
            return;
        };
        if let Err(err) = work(job) {
            if let Ok(mut failed) = failed.lock() {
                failed.get_or_insert(err);
            }
        }
    };
    match pool {
        Some(pool) => pool.run_on_all(threads, &work),
        None => std::thread::scope(|scope| {
            let handles: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
            work();
            for handle in handles {
                if let Err(panic) = handle.join() {
                    std::panic::resume_unwind(panic);
                }
            }
        }),
    }
    match failed.into_inner() {
        Ok(Some(err)) => Err(err),
        _ => Ok(()),
    }
}

impl super::Destination for ImageUpload<'_> {
    type Staged = Staged;
    const UNBEGUN: &'static str =
        "record_copies before begin: the image is not in TRANSFER_DST_OPTIMAL";

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
        check::image_states(&self.dst, self.from, self.to, stager.queue_families())
    }

    unsafe fn shortcut(&mut self, _: &Stager, _: &Allocator) -> Option<Result<Progress>> {
        // Even an upload of no subresources moves the image to `to`.
        self.settle_path();
        match self.path {
            // SAFETY: forwarded from `record`'s contract.
            UploadPath::Direct => Some(unsafe { self.host_copy() }),
            _ => self.check_staged().err().map(Err),
        }
    }

    /// Host work: stages as many pieces as the batch and the ring's free run hold, cutting the
    /// last one at a row (or slice) so that each batch is full, and takes the ring back to where
    /// it was if anything fails.
    fn fill(
        &mut self,
        stager: &Stager,
        allocator: &Allocator,
        ring: &mut StagingRing,
    ) -> Result<Staged> {
        self.check_ring(ring)?;
        let budget = self
            .batch
            .unwrap_or(ring.capacity() / DEFAULT_BATCH_SHARE)
            .max(1);
        ring.all_or_nothing(|ring| {
            let reserved = self.reserve(ring, budget)?;
            let spans: Vec<RingSpan> = reserved.spans.iter().map(|&(_, span)| span).collect();
            let slices = ring.spans_mut(&spans)?;
            let pieces = reserved.spans.iter().map(|&(piece, _)| piece).zip(slices);
            write(&mut self.source, pieces, stager.copy_mode())?;
            for span in spans {
                ring.flush(allocator, span)?;
            }
            Ok(reserved.staged)
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
            let src = staged.src.unwrap_or_else(|| ring.buffer().raw());
            // SAFETY: every region was planned inside its subresource, and inside the ring's
            // spans or the import (this function's contract).
            unsafe {
                device.cmd_copy_buffer_to_image(
                    cmd,
                    src,
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

    fn stalled(&self, staged: &Staged) -> bool {
        staged.regions.is_empty() && staged.next < self.pieces.len()
    }

    fn adopt(&mut self, stager: &Stager, acquire: &mut BarrierBatch) -> Result<()> {
        ImageUpload::adopt(self, stager, acquire)
    }

    fn begin(&mut self, pre: &mut BarrierBatch) -> Result<()> {
        ImageUpload::begin(self, pre)
    }

    fn remaining(&self) -> bool {
        self.next < self.pieces.len()
    }
}
