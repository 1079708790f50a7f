//! The pure planners behind image uploads and compute mip generation: public for inspection and
//! property tests, **not part of the stable surface** (they may change in any release; the
//! uploads and [`MipGenerator`](crate::MipGenerator) that use them are the stable way in).
//!
//! Planning buffer-to-image copies, as pure functions.
//!
//! One subresource (a mip level of an array layer) of caller data becomes one or more
//! [`Piece`]s: runs of whole rows of texel blocks (or whole depth slices) that each fit the
//! staging budget. A piece knows where its bytes are in the caller's data, how to lay them out in
//! staging memory, and the `VkBufferImageCopy` that moves them into the image.
//!
//! Layout rules applied (Vulkan spec, "Copying Data Between Buffers and Images"):
//! - buffer offsets are multiples of the texel-block size and of 4
//!   (VUID-vkCmdCopyBufferToImage-dstImage-07975, -07978), and of
//!   `optimalBufferCopyOffsetAlignment` for speed;
//! - the staged row pitch is a whole number of blocks and a multiple of
//!   `optimalBufferCopyRowPitchAlignment`; `bufferRowLength` and `bufferImageHeight` are given in
//!   texels, multiples of the block extent;
//! - image offsets are multiples of the block extent, and extents reach the level's edge or are
//!   multiples of the block extent (VUID-vkCmdCopyBufferToImage-pRegions-07274 and neighbours).

use ash::vk;

use crate::error::{Error, Result};
use crate::format::BlockInfo;

pub use crate::mips::{plan_compute_passes, MipKernel, MipPass};

/// The device's preferred alignments for buffer/image copies
/// (`VkPhysicalDeviceLimits::optimalBufferCopyOffsetAlignment` and
/// `optimalBufferCopyRowPitchAlignment`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyAlignment {
    /// Preferred alignment of a region's buffer offset, in bytes.
    pub offset: u64,
    /// Preferred alignment of a region's row pitch, in bytes.
    pub row_pitch: u64,
}

impl CopyAlignment {
    /// The alignments of a physical device.
    pub fn from_limits(limits: &vk::PhysicalDeviceLimits) -> Self {
        Self {
            offset: limits.optimal_buffer_copy_offset_alignment.max(1),
            row_pitch: limits.optimal_buffer_copy_row_pitch_alignment.max(1),
        }
    }
}

/// Where one subresource's texel blocks are in the caller's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubresourceLayout {
    /// Mip level.
    pub level: u32,
    /// Array layer (cube faces are layers 0..6 of a cube).
    pub layer: u32,
    /// Byte offset of the first block in the data.
    pub offset: u64,
    /// Bytes from one row of blocks to the next; `0` means tightly packed.
    pub row_pitch: u64,
    /// Bytes from one depth slice to the next; `0` means rows are packed slice after slice.
    pub slice_pitch: u64,
}

/// One staged copy: whole rows of blocks of one subresource. Made only by
/// [`plan_subresource`], so its fields agree with one another and with the data it was planned
/// against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    level: u32,
    layer: u32,
    /// Offset in the caller's data of the piece's first byte.
    src_offset: u64,
    src_row_pitch: u64,
    src_slice_pitch: u64,
    /// Bytes copied per row (a tight row of blocks).
    row_bytes: u64,
    /// Rows of blocks per slice in this piece.
    rows: u32,
    slices: u32,
    staging_row_pitch: u64,
    image_offset: vk::Offset3D,
    image_extent: vk::Extent3D,
    /// Texels per staged row (`bufferRowLength`).
    buffer_row_length: u32,
    /// Texel rows per staged slice (`bufferImageHeight`).
    buffer_image_height: u32,
    aspect: vk::ImageAspectFlags,
}

impl Piece {
    /// Mip level.
    pub fn level(&self) -> u32 {
        self.level
    }

    /// Array layer.
    pub fn layer(&self) -> u32 {
        self.layer
    }

    /// Where the piece lands in the image, in texels.
    pub fn image_offset(&self) -> vk::Offset3D {
        self.image_offset
    }

    /// How much of the image it covers, in texels.
    pub fn image_extent(&self) -> vk::Extent3D {
        self.image_extent
    }

    /// Staging bytes of one of its rows of blocks: the least a piece of one slice can be cut to.
    pub fn staging_row_pitch(&self) -> u64 {
        self.staging_row_pitch
    }

    /// Staging bytes the piece occupies (at most the budget it was planned with).
    pub fn staging_size(&self) -> u64 {
        self.staging_row_pitch * u64::from(self.rows) * u64::from(self.slices)
    }

    /// The copy region for this piece staged at `buffer_offset`.
    pub fn region(&self, buffer_offset: u64) -> vk::BufferImageCopy {
        vk::BufferImageCopy {
            buffer_offset,
            buffer_row_length: self.buffer_row_length,
            buffer_image_height: self.buffer_image_height,
            image_subresource: vk::ImageSubresourceLayers {
                aspect_mask: self.aspect,
                mip_level: self.level,
                base_array_layer: self.layer,
                layer_count: 1,
            },
            image_offset: self.image_offset,
            image_extent: self.image_extent,
        }
    }

    /// The copy region that reads this piece where its source lies, `base` bytes into a buffer
    /// the GPU reads (an import of the caller's data), when the source's pitches are whole texel
    /// blocks of `block` (rows) and whole rows (slices); `None` otherwise. Offsets are not
    /// checked for alignment here.
    pub(crate) fn source_region(
        &self,
        base: u64,
        block: &BlockInfo,
    ) -> Option<vk::BufferImageCopy> {
        let bytes = u64::from(block.bytes);
        if self.src_row_pitch % bytes != 0 {
            return None;
        }
        let row_length = u32::try_from(self.src_row_pitch / bytes)
            .ok()?
            .checked_mul(block.width)?;
        let image_height = if self.slices > 1 {
            if self.src_slice_pitch % self.src_row_pitch != 0 {
                return None;
            }
            u32::try_from(self.src_slice_pitch / self.src_row_pitch)
                .ok()?
                .checked_mul(block.height)?
        } else {
            0
        };
        let mut region = self.region(base.checked_add(self.src_offset)?);
        region.buffer_row_length = row_length;
        region.buffer_image_height = image_height;
        Some(region)
    }

    /// Offset in the source of the piece's first byte.
    pub(crate) fn src_offset(&self) -> u64 {
        self.src_offset
    }

    /// Bytes of one row of blocks, without the staged pitch's padding.
    pub(crate) fn row_bytes(&self) -> u64 {
        self.row_bytes
    }

    /// Rows of blocks per slice, and slices.
    pub(crate) fn rows_and_slices(&self) -> (u32, u32) {
        (self.rows, self.slices)
    }

    /// The source bytes of the piece when they are laid out exactly as staged (one copy fills
    /// it), as `(offset, len)`.
    pub fn contiguous_source(&self) -> Option<(usize, usize)> {
        let contiguous = self.src_row_pitch == self.staging_row_pitch
            && (self.slices == 1
                || self.src_slice_pitch == self.staging_row_pitch * u64::from(self.rows));
        // The last row needs only its own bytes, not the pitch padding after it.
        let len = self.staging_size() - (self.staging_row_pitch - self.row_bytes);
        contiguous.then_some((self.src_offset as usize, len as usize))
    }

    /// Splits the piece into a head that fits `bytes` of staging memory and the rest: whole rows
    /// of blocks, or whole slices for a piece of several slices. `None` when the whole piece fits
    /// (nothing to split) or not even one row (slice) does.
    pub fn split(&self, bytes: u64) -> Option<(Piece, Piece)> {
        if bytes >= self.staging_size() {
            return None;
        }
        let (mut head, mut rest) = (*self, *self);
        if self.slices > 1 {
            let slice = self.staging_row_pitch * u64::from(self.rows);
            // Fewer than `self.slices`: `bytes` is below the piece's size.
            let n = (bytes / slice) as u32;
            if n == 0 {
                return None;
            }
            head.slices = n;
            head.image_extent.depth = n;
            rest.slices -= n;
            rest.image_extent.depth -= n;
            rest.image_offset.z += n as i32;
            rest.src_offset += u64::from(n) * self.src_slice_pitch;
        } else {
            // Fewer than `self.rows`, as above.
            let n = (bytes / self.staging_row_pitch) as u32;
            if n == 0 {
                return None;
            }
            // Rows are rows of blocks: `buffer_image_height` is `rows` block heights.
            let block_height = self.buffer_image_height / self.rows;
            let texels = n * block_height;
            head.rows = n;
            head.buffer_image_height = texels;
            head.image_extent.height = texels;
            rest.rows -= n;
            rest.buffer_image_height -= texels;
            rest.image_extent.height -= texels;
            rest.image_offset.y += texels as i32;
            rest.src_offset += u64::from(n) * self.src_row_pitch;
        }
        Some((head, rest))
    }

    /// One past the last source byte the piece reads (checked against the data when planned).
    fn src_end(&self) -> u64 {
        self.src_offset
            + u64::from(self.slices - 1) * self.src_slice_pitch
            + u64::from(self.rows - 1) * self.src_row_pitch
            + self.row_bytes
    }

    /// Copies the piece's rows from `src` (the caller's data) into `dst` (its staging bytes,
    /// `staging_size()` long), repacking rows to the staged pitch. Refuses buffers too short for
    /// the piece instead of reading or writing past them.
    pub fn fill(&self, src: &[u8], dst: &mut [u8]) -> Result<()> {
        let src_end = self.src_end();
        if src_end > src.len() as u64 || (dst.len() as u64) < self.staging_size() {
            return Err(Error::invalid(
                "data",
                format!(
                    "the piece needs {src_end} source bytes and {} staging bytes, got {} and {}",
                    self.staging_size(),
                    src.len(),
                    dst.len()
                ),
            ));
        }
        if let Some((start, len)) = self.contiguous_source() {
            dst[..len].copy_from_slice(&src[start..start + len]);
            return Ok(());
        }
        let row = self.row_bytes as usize;
        let pitch = self.staging_row_pitch as usize;
        let rows = dst
            .chunks_mut(pitch)
            .take(self.rows as usize * self.slices as usize);
        let starts = (0..u64::from(self.slices)).flat_map(|z| {
            (0..u64::from(self.rows))
                .map(move |y| self.src_offset + z * self.src_slice_pitch + y * self.src_row_pitch)
        });
        for (out, start) in rows.zip(starts) {
            let start = start as usize;
            out[..row].copy_from_slice(&src[start..start + row]);
        }
        Ok(())
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Least common multiple of two positive alignments, `None` where it overflows.
pub(crate) fn lcm(a: u64, b: u64) -> Option<u64> {
    let (a, b) = (a.max(1), b.max(1));
    (a / gcd(a, b)).checked_mul(b)
}

fn alignment_overflow() -> Error {
    Error::invalid(
        "align",
        "the alignments' least common multiple overflows u64",
    )
}

/// Alignment of every staged piece's buffer offset for `block`.
pub fn offset_alignment(block: &BlockInfo, align: CopyAlignment) -> Result<u64> {
    lcm(u64::from(block.bytes), 4)
        .and_then(|a| lcm(a, align.offset))
        .ok_or_else(alignment_overflow)
}

/// The largest offset Vulkan can address in an image (`VkOffset3D` holds `int32_t`).
const MAX_IMAGE_COORD: u32 = i32::MAX as u32;

/// Splits one subresource of extent `level_extent` into pieces no larger than `max_piece` staging
/// bytes, checking the caller's layout against `data`. All arithmetic on the caller's sizes is
/// checked: an offset or pitch that overflows is an error, never a wrapped value. The plan is
/// bounded by the data it was given: every piece holds at least one row of at least one byte of
/// `data`, so there are at most `data.len()` of them.
pub fn plan_subresource(
    block: &BlockInfo,
    level_extent: vk::Extent3D,
    src: &SubresourceLayout,
    data: &[u8],
    align: CopyAlignment,
    max_piece: u64,
) -> Result<Vec<Piece>> {
    plan(
        block,
        level_extent,
        src,
        data.len() as u64,
        align,
        Some(max_piece),
    )
}

/// As [`plan_subresource`], with one piece per depth slice and no size limit: what an upload
/// plans, leaving the cuts to the ring and batch it meets when it records (a piece of one slice
/// can be cut at any row of blocks). The source is `data_len` bytes long: the caller's data, or
/// the packed data a producer writes in place.
pub(crate) fn plan_slices(
    block: &BlockInfo,
    level_extent: vk::Extent3D,
    src: &SubresourceLayout,
    data_len: u64,
    align: CopyAlignment,
) -> Result<Vec<Piece>> {
    plan(block, level_extent, src, data_len, align, None)
}

fn plan(
    block: &BlockInfo,
    level_extent: vk::Extent3D,
    src: &SubresourceLayout,
    data_len: u64,
    align: CopyAlignment,
    max_piece: Option<u64>,
) -> Result<Vec<Piece>> {
    if !block.is_valid() {
        return Err(Error::invalid(
            "block",
            format!("{block:?} has a zero size"),
        ));
    }
    let e = level_extent;
    if e.width == 0 || e.height == 0 || e.depth == 0 {
        return Err(Error::invalid("extent", format!("{e:?} is empty")));
    }
    if e.width > MAX_IMAGE_COORD || e.height > MAX_IMAGE_COORD || e.depth > MAX_IMAGE_COORD {
        return Err(Error::invalid(
            "extent",
            format!("{e:?} exceeds Vulkan's i32 offsets"),
        ));
    }
    let row_bytes = block.row_bytes(e.width);
    let block_rows = block.blocks_high(e.height);
    let depth = e.depth;
    let src_row_pitch = if src.row_pitch == 0 {
        row_bytes
    } else {
        src.row_pitch
    };
    if src_row_pitch < row_bytes {
        return Err(Error::invalid(
            "row_pitch",
            format!("{src_row_pitch} bytes is shorter than a row of {row_bytes} bytes"),
        ));
    }
    let too_far = || {
        Error::invalid(
            "data",
            format!(
                "level {} layer {}: offset {} and pitches {}/{} reach past u64",
                src.level, src.layer, src.offset, src.row_pitch, src.slice_pitch
            ),
        )
    };
    let packed_slice = src_row_pitch
        .checked_mul(u64::from(block_rows))
        .ok_or_else(too_far)?;
    let src_slice_pitch = if src.slice_pitch == 0 {
        packed_slice
    } else {
        src.slice_pitch
    };
    if depth > 1 && src_slice_pitch < packed_slice {
        return Err(Error::invalid(
            "slice_pitch",
            format!("{src_slice_pitch} bytes is shorter than a slice of {packed_slice} bytes"),
        ));
    }
    let last_byte = u64::from(depth - 1)
        .checked_mul(src_slice_pitch)
        .and_then(|z| z.checked_add(u64::from(block_rows - 1).checked_mul(src_row_pitch)?))
        .and_then(|v| v.checked_add(src.offset)?.checked_add(row_bytes))
        .ok_or_else(too_far)?;
    if last_byte > data_len {
        return Err(Error::invalid(
            "data",
            format!(
                "level {} layer {} needs bytes up to {last_byte}, but the data has {data_len}",
                src.level, src.layer
            ),
        ));
    }

    // A whole number of blocks, and a multiple of the preferred pitch alignment.
    let staging_row_pitch = lcm(u64::from(block.bytes), align.row_pitch)
        .and_then(|a| row_bytes.checked_next_multiple_of(a))
        .ok_or_else(alignment_overflow)?;
    let buffer_row_length = u32::try_from(staging_row_pitch / u64::from(block.bytes))
        .ok()
        .and_then(|blocks| blocks.checked_mul(block.width))
        .ok_or_else(|| {
            Error::invalid(
                "align",
                format!("a staged row of {staging_row_pitch} bytes exceeds bufferRowLength"),
            )
        })?;
    if let Some(budget) = max_piece.filter(|&budget| staging_row_pitch > budget) {
        return Err(Error::PieceBudgetTooSmall {
            needed: staging_row_pitch,
            budget,
        });
    }
    // Every offset below is at most `last_byte`, and every row count at most `block_rows`:
    // checked above, so the plain arithmetic that follows cannot overflow.
    let slice_bytes = staging_row_pitch.saturating_mul(u64::from(block_rows));
    let piece = |z0: u32, slices: u32, r0: u32, rows: u32| {
        let y0 = r0 * block.height;
        Piece {
            level: src.level,
            layer: src.layer,
            src_offset: src.offset
                + u64::from(z0) * src_slice_pitch
                + u64::from(r0) * src_row_pitch,
            src_row_pitch,
            src_slice_pitch,
            row_bytes,
            rows,
            slices,
            staging_row_pitch,
            image_offset: vk::Offset3D {
                x: 0,
                y: y0 as i32,
                z: z0 as i32,
            },
            image_extent: vk::Extent3D {
                width: e.width,
                height: ((r0 + rows) * block.height).min(e.height) - y0,
                depth: slices,
            },
            buffer_row_length,
            buffer_image_height: rows * block.height,
            aspect: block.aspect,
        }
    };
    let mut pieces = Vec::new();
    let Some(max_piece) = max_piece else {
        pieces.extend((0..depth).map(|z| piece(z, 1, 0, block_rows)));
        return Ok(pieces);
    };
    if slice_bytes <= max_piece {
        let per_piece = (max_piece / slice_bytes).clamp(1, u64::from(depth)) as u32;
        let mut z = 0;
        while z < depth {
            let slices = per_piece.min(depth - z);
            pieces.push(piece(z, slices, 0, block_rows));
            z += slices;
        }
    } else {
        let per_piece = (max_piece / staging_row_pitch).clamp(1, u64::from(block_rows)) as u32;
        for z in 0..depth {
            let mut r = 0;
            while r < block_rows {
                let rows = per_piece.min(block_rows - r);
                pieces.push(piece(z, 1, r, rows));
                r += rows;
            }
        }
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{block_info, known_formats};
    use proptest::prelude::*;

    /// Level 0 of layer 0, tightly packed at the start of the data.
    fn level0() -> SubresourceLayout {
        SubresourceLayout {
            level: 0,
            layer: 0,
            offset: 0,
            row_pitch: 0,
            slice_pitch: 0,
        }
    }

    /// What vkCmdCopyBufferToImage does with `region` on a block-addressed image, on the CPU: the
    /// blocks land in `image` (tightly packed, one subresource), each counted in `hits`.
    fn emulate_copy(
        block: &BlockInfo,
        extent: vk::Extent3D,
        staging: &[u8],
        region: &vk::BufferImageCopy,
        image: &mut [u8],
        hits: &mut [u32],
    ) {
        let bw = block.blocks_wide(extent.width) as usize;
        let bh = block.blocks_high(extent.height) as usize;
        let bytes = block.bytes as usize;
        let row_blocks = (region.buffer_row_length / block.width) as usize;
        let image_rows = (region.buffer_image_height / block.height) as usize;
        let (x0, y0, z0) = (
            region.image_offset.x as usize / block.width as usize,
            region.image_offset.y as usize / block.height as usize,
            region.image_offset.z as usize,
        );
        let w = block.blocks_wide(region.image_extent.width) as usize;
        let h = block.blocks_high(region.image_extent.height) as usize;
        for z in 0..region.image_extent.depth as usize {
            for y in 0..h {
                for x in 0..w {
                    let src = region.buffer_offset as usize
                        + ((z * image_rows + y) * row_blocks + x) * bytes;
                    let block_index = ((z0 + z) * bh + (y0 + y)) * bw + (x0 + x);
                    image[block_index * bytes..][..bytes]
                        .copy_from_slice(&staging[src..src + bytes]);
                    hits[block_index] += 1;
                }
            }
        }
    }

    /// One generated planning case: a format, an extent, a source layout and a piece budget.
    #[derive(Clone, Debug)]
    struct Case {
        format: vk::Format,
        extent: vk::Extent3D,
        align: CopyAlignment,
        offset: u64,
        row_pad: Option<u64>,
        slice_pad: Option<u64>,
        /// Fraction (per mille) of the subresource the budget adds to one staged row.
        budget: u64,
        /// Where the upload cuts each piece, per mille of what is left of it (0: never).
        cut: u64,
        seed: u8,
    }

    fn case() -> impl Strategy<Value = Case> {
        let formats = known_formats();
        (
            prop::sample::select(formats),
            (1u32..70, 1u32..70, 1u32..7, any::<bool>()),
            (0u32..9, 0u32..9),
            0u64..100,
            prop::option::of(0u64..40),
            prop::option::of(0u64..64),
            0u64..=1100,
            prop_oneof![Just(0u64), 0u64..1000],
            any::<u8>(),
        )
            .prop_map(
                |(
                    format,
                    (w, h, d, three_d),
                    (oa, ra),
                    offset,
                    row_pad,
                    slice_pad,
                    budget,
                    cut,
                    seed,
                )| {
                    let block = block_info(format).unwrap();
                    let depth = if three_d && !block.is_compressed() {
                        d
                    } else {
                        1
                    };
                    Case {
                        format,
                        extent: vk::Extent3D {
                            width: w,
                            height: h,
                            depth,
                        },
                        align: CopyAlignment {
                            offset: 1 << oa,
                            row_pitch: 1 << ra,
                        },
                        offset,
                        row_pad,
                        slice_pad,
                        budget,
                        cut,
                        seed,
                    }
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any format, extent, pitches and budget, with pieces cut where the ring or batch ends
        /// (as an upload does): staging every piece and replaying the copies writes every block
        /// of the subresource exactly once, with the caller's bytes.
        #[test]
        fn random_layouts_round_trip_through_staging(c in case()) {
            let block = block_info(c.format).unwrap();
            let extent = c.extent;
            let row_bytes = block.row_bytes(extent.width);
            let rows = u64::from(block.blocks_high(extent.height));
            let row_pitch = c.row_pad.map_or(0, |pad| row_bytes + pad);
            let real_pitch = if row_pitch == 0 { row_bytes } else { row_pitch };
            let slice_pitch = c.slice_pad.map_or(0, |pad| real_pitch * rows + pad);
            let real_slice = if slice_pitch == 0 { real_pitch * rows } else { slice_pitch };
            let data_len = c.offset + real_slice * u64::from(extent.depth);
            let data: Vec<u8> = (0..data_len)
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(c.seed))
                .collect();
            let pitch = row_bytes.next_multiple_of(lcm(u64::from(block.bytes), c.align.row_pitch).unwrap());
            // From one staged row up to the whole subresource and beyond.
            let max_piece = pitch + pitch * rows * u64::from(extent.depth) * c.budget / 1000;
            let src = SubresourceLayout {
                level: 0,
                layer: 0,
                offset: c.offset,
                row_pitch,
                slice_pitch,
            };
            let planned = plan_subresource(&block, extent, &src, &data, c.align, max_piece).unwrap();
            let mut pieces = Vec::new();
            for &piece in &planned {
                let mut piece = piece;
                loop {
                    let room = piece.staging_size() * c.cut / 1000;
                    let Some((head, rest)) = piece.split(room) else {
                        pieces.push(piece);
                        break;
                    };
                    prop_assert!(head.staging_size() > 0 && head.staging_size() <= room);
                    prop_assert_eq!(head.staging_size() + rest.staging_size(), piece.staging_size());
                    pieces.push(head);
                    piece = rest;
                }
            }

            // Stage every piece at aligned offsets, as the ring would.
            let offset_align = offset_alignment(&block, c.align).unwrap();
            let mut staging = Vec::new();
            let mut regions = Vec::new();
            for piece in &pieces {
                prop_assert!(piece.staging_size() <= max_piece, "piece over budget");
                let at = (staging.len() as u64).next_multiple_of(offset_align);
                staging.resize((at + piece.staging_size()) as usize, 0);
                piece.fill(&data, &mut staging[at as usize..]).unwrap();
                let region = piece.region(at);
                prop_assert_eq!(region.buffer_offset % u64::from(block.bytes), 0);
                prop_assert_eq!(region.buffer_offset % 4, 0);
                prop_assert_eq!(region.buffer_row_length % block.width, 0);
                prop_assert_eq!(region.buffer_image_height % block.height, 0);
                prop_assert_eq!(region.image_offset.y as u32 % block.height, 0);
                prop_assert!(region.buffer_row_length >= region.image_extent.width);
                prop_assert_eq!(
                    (u64::from(region.buffer_row_length) / u64::from(block.width)
                        * u64::from(block.bytes))
                        % c.align.row_pitch.min(pitch),
                    0,
                    "staged pitch keeps the preferred alignment"
                );
                regions.push(region);
            }

            // Replay the copies and compare with the tightly packed source.
            let blocks = (block.blocks_wide(extent.width)
                * block.blocks_high(extent.height)
                * extent.depth) as usize;
            let mut image = vec![0u8; blocks * block.bytes as usize];
            let mut hits = vec![0u32; blocks];
            for region in &regions {
                emulate_copy(&block, extent, &staging, region, &mut image, &mut hits);
            }
            prop_assert!(hits.iter().all(|&h| h == 1), "every block exactly once");
            let mut expected = Vec::new();
            for z in 0..u64::from(extent.depth) {
                for y in 0..rows {
                    let start = (c.offset + z * real_slice + y * real_pitch) as usize;
                    expected.extend_from_slice(&data[start..start + row_bytes as usize]);
                }
            }
            prop_assert!(image == expected, "bytes differ");
        }

        /// Offsets, pitches, alignments and extents anywhere in their range, with overflow checks
        /// on or off: an error, or pieces that stay inside the data and the budget. Never a
        /// panic.
        #[test]
        fn hostile_layouts_are_refused_or_planned_inside_the_data(
            format in prop::sample::select(known_formats()),
            (w, h, d) in (0u32..=u32::MAX, 0u32..=u32::MAX, 0u32..=4),
            offset in prop_oneof![0u64..64, (u64::MAX - 64)..=u64::MAX, any::<u64>()],
            row_pitch in prop_oneof![0u64..64, (u64::MAX - 64)..=u64::MAX, any::<u64>()],
            slice_pitch in prop_oneof![Just(0u64), any::<u64>()],
            data_len in 0usize..8192,
            (oa, ra) in (any::<u64>(), any::<u64>()),
            max_piece in any::<u64>(),
        ) {
            let block = block_info(format).unwrap();
            let extent = vk::Extent3D { width: w % 300, height: h % 300, depth: d };
            let extent = if w % 7 == 0 { vk::Extent3D { width: w, ..extent } } else { extent };
            let src = SubresourceLayout { level: 0, layer: 0, offset, row_pitch, slice_pitch };
            let align = CopyAlignment { offset: oa, row_pitch: ra };
            let data = vec![0u8; data_len];
            if let Ok(pieces) = plan_subresource(&block, extent, &src, &data, align, max_piece) {
                prop_assert!(pieces.len() <= data_len, "the plan is bounded by the data");
                for piece in pieces.iter().take(64) {
                    prop_assert!(piece.src_end() <= data_len as u64);
                    prop_assert!(piece.staging_size() <= max_piece);
                }
            }
        }
    }

    #[test]
    fn fill_refuses_short_buffers() {
        let block = block_info(vk::Format::R8G8B8A8_UNORM).unwrap();
        let extent = vk::Extent3D {
            width: 8,
            height: 8,
            depth: 1,
        };
        let src = level0();
        let align = CopyAlignment {
            offset: 4,
            row_pitch: 4,
        };
        let piece = plan_subresource(&block, extent, &src, &[0; 256], align, 1 << 20).unwrap()[0];
        assert_eq!(piece.src_end(), 256);
        let data = [0u8; 256];
        assert!(piece.fill(&data, &mut [0u8; 255]).is_err());
        assert!(piece.fill(&data[..255], &mut [0u8; 256]).is_err());
        assert!(piece.fill(&data, &mut [0u8; 256]).is_ok());
    }

    #[test]
    fn a_row_larger_than_the_budget_is_refused() {
        let block = block_info(vk::Format::R32G32B32A32_SFLOAT).unwrap();
        let extent = vk::Extent3D {
            width: 1024,
            height: 4,
            depth: 1,
        };
        let src = level0();
        let align = CopyAlignment {
            offset: 16,
            row_pitch: 16,
        };
        let err =
            plan_subresource(&block, extent, &src, &vec![0; 1 << 20], align, 1000).unwrap_err();
        assert!(
            matches!(
                err,
                Error::PieceBudgetTooSmall {
                    needed: 16384,
                    budget: 1000
                }
            ),
            "{err}"
        );
        let short = plan_subresource(&block, extent, &src, &[0; 100], align, 1 << 20).unwrap_err();
        assert!(
            matches!(short, Error::InvalidSource { field: "data", .. }),
            "{short}"
        );
    }

    #[test]
    fn offsets_and_pitches_near_u64_max_are_errors_not_overflows() {
        let block = block_info(vk::Format::R8G8B8A8_UNORM).unwrap();
        let extent = vk::Extent3D {
            width: 8,
            height: 8,
            depth: 1,
        };
        let align = CopyAlignment {
            offset: 4,
            row_pitch: 4,
        };
        for (offset, row_pitch) in [(u64::MAX - 8, 0), (0, u64::MAX - 1), (u64::MAX, u64::MAX)] {
            let src = SubresourceLayout {
                offset,
                row_pitch,
                ..level0()
            };
            let err =
                plan_subresource(&block, extent, &src, &[0; 4096], align, 1 << 20).unwrap_err();
            assert!(
                matches!(err, Error::InvalidSource { field: "data", .. }),
                "{err}"
            );
        }
        let empty = vk::Extent3D { width: 0, ..extent };
        let src = level0();
        let err =
            plan_subresource(&block, empty, &src, &vec![0; 1 << 20], align, 1 << 20).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidSource {
                    field: "extent",
                    ..
                }
            ),
            "{err}"
        );
        let huge_align = CopyAlignment {
            offset: u64::MAX,
            row_pitch: u64::MAX - 1,
        };
        let err = plan_subresource(&block, extent, &src, &vec![0; 1 << 20], huge_align, 1 << 20)
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidSource { field: "align", .. }),
            "{err}"
        );
        assert!(offset_alignment(&block, huge_align).is_err());
    }

    #[test]
    fn odd_block_compressed_extent_reaches_the_edge() {
        let block = block_info(vk::Format::BC7_UNORM_BLOCK).unwrap();
        let extent = vk::Extent3D {
            width: 257,
            height: 129,
            depth: 1,
        };
        let src = level0();
        let align = CopyAlignment {
            offset: 128,
            row_pitch: 128,
        };
        let len = block.extent_bytes(extent);
        let pieces =
            plan_subresource(&block, extent, &src, &vec![0; len as usize], align, 10_000).unwrap();
        let last = pieces.last().unwrap();
        assert_eq!(
            last.image_offset.y as u32 + last.image_extent.height,
            129,
            "the last piece ends at the level's edge, not at a block multiple"
        );
        assert_eq!(last.image_extent.width, 257);
        assert!(pieces.iter().all(|p| p.image_offset.y % 4 == 0));
    }
}
