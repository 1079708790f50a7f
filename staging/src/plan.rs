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

/// One staged copy: whole rows of blocks of one subresource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Mip level.
    pub level: u32,
    /// Array layer.
    pub layer: u32,
    /// Offset in the caller's data of the piece's first byte.
    pub src_offset: u64,
    /// Source bytes between rows.
    pub src_row_pitch: u64,
    /// Source bytes between slices.
    pub src_slice_pitch: u64,
    /// Bytes copied per row (a tight row of blocks).
    pub row_bytes: u64,
    /// Rows of blocks per slice in this piece.
    pub rows: u32,
    /// Depth slices in this piece.
    pub slices: u32,
    /// Staged bytes between rows.
    pub staging_row_pitch: u64,
    /// Where the piece lands in the image.
    pub image_offset: vk::Offset3D,
    /// How much of the image it covers, in texels.
    pub image_extent: vk::Extent3D,
    /// Texels per staged row (`bufferRowLength`).
    pub buffer_row_length: u32,
}

impl Piece {
    /// Staging bytes the piece occupies.
    pub fn staging_size(&self) -> u64 {
        self.staging_row_pitch * u64::from(self.rows) * u64::from(self.slices)
    }

    /// The copy region for this piece staged at `buffer_offset`.
    pub fn region(&self, buffer_offset: u64, block: &BlockInfo) -> vk::BufferImageCopy {
        vk::BufferImageCopy {
            buffer_offset,
            buffer_row_length: self.buffer_row_length,
            buffer_image_height: self.rows * block.height,
            image_subresource: vk::ImageSubresourceLayers {
                aspect_mask: block.aspect,
                mip_level: self.level,
                base_array_layer: self.layer,
                layer_count: 1,
            },
            image_offset: self.image_offset,
            image_extent: self.image_extent,
        }
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

    /// Copies the piece's rows from `src` (the caller's data) into `dst` (its staging bytes,
    /// `staging_size()` long), repacking rows to the staged pitch. Refuses buffers too short for
    /// the piece instead of reading or writing past them.
    pub fn fill(&self, src: &[u8], dst: &mut [u8]) -> Result<()> {
        let row = self.row_bytes as usize;
        let src_end = self.src_offset
            + u64::from(self.slices - 1) * self.src_slice_pitch
            + u64::from(self.rows - 1) * self.src_row_pitch
            + self.row_bytes;
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
        let mut out = 0usize;
        for z in 0..u64::from(self.slices) {
            for y in 0..u64::from(self.rows) {
                let start =
                    (self.src_offset + z * self.src_slice_pitch + y * self.src_row_pitch) as usize;
                dst[out..out + row].copy_from_slice(&src[start..start + row]);
                out += self.staging_row_pitch as usize;
            }
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

/// Least common multiple; both arguments are small positive alignments.
pub(crate) fn lcm(a: u64, b: u64) -> u64 {
    a / gcd(a, b) * b
}

/// Alignment of every staged piece's buffer offset for `block`.
pub fn offset_alignment(block: &BlockInfo, align: CopyAlignment) -> u64 {
    lcm(lcm(u64::from(block.bytes), 4), align.offset.max(1))
}

/// Splits one subresource of extent `level_extent` into pieces no larger than `max_piece` staging
/// bytes, checking the caller's layout against `data_len`.
pub fn plan_subresource(
    block: &BlockInfo,
    level_extent: vk::Extent3D,
    src: &SubresourceLayout,
    data_len: u64,
    align: CopyAlignment,
    max_piece: u64,
) -> Result<Vec<Piece>> {
    let row_bytes = block.row_bytes(level_extent.width);
    let block_rows = block.blocks_high(level_extent.height);
    let depth = level_extent.depth;
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
    let packed_slice = src_row_pitch * u64::from(block_rows);
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
    let last_byte = src.offset
        + u64::from(depth - 1) * src_slice_pitch
        + u64::from(block_rows - 1) * src_row_pitch
        + row_bytes;
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
    let staging_row_pitch =
        row_bytes.next_multiple_of(lcm(u64::from(block.bytes), align.row_pitch.max(1)));
    let buffer_row_length = (staging_row_pitch / u64::from(block.bytes)) as u32 * block.width;
    if staging_row_pitch > max_piece {
        return Err(Error::RingTooSmall {
            needed: staging_row_pitch,
            capacity: max_piece,
        });
    }
    let slice_bytes = staging_row_pitch * u64::from(block_rows);
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
                width: level_extent.width,
                height: ((r0 + rows) * block.height).min(level_extent.height) - y0,
                depth: slices,
            },
            buffer_row_length,
        }
    };
    let mut pieces = Vec::new();
    if slice_bytes <= max_piece {
        let per_piece = ((max_piece / slice_bytes) as u32).clamp(1, depth);
        let mut z = 0;
        while z < depth {
            let slices = per_piece.min(depth - z);
            pieces.push(piece(z, slices, 0, block_rows));
            z += slices;
        }
    } else {
        let per_piece = (max_piece / staging_row_pitch) as u32;
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

    /// xorshift64*: deterministic random cases without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
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

    #[test]
    fn random_formats_extents_pitches_and_budgets_round_trip_through_staging() {
        let formats = known_formats();
        let mut rng = Rng(0x5EED_1234_ABCD_0001);
        for case in 0..3000 {
            let format = formats[rng.below(formats.len() as u64) as usize];
            let block = block_info(format).unwrap();
            let three_d = !block.is_compressed() && rng.below(4) == 0;
            let extent = vk::Extent3D {
                width: 1 + rng.below(70) as u32,
                height: 1 + rng.below(70) as u32,
                depth: if three_d { 1 + rng.below(6) as u32 } else { 1 },
            };
            let align = CopyAlignment {
                offset: 1 << rng.below(9),
                row_pitch: 1 << rng.below(9),
            };
            let row_bytes = block.row_bytes(extent.width);
            let rows = u64::from(block.blocks_high(extent.height));
            let row_pitch = if rng.below(2) == 0 {
                0
            } else {
                row_bytes + rng.below(40)
            };
            let real_pitch = if row_pitch == 0 { row_bytes } else { row_pitch };
            let slice_pitch = if rng.below(2) == 0 {
                0
            } else {
                real_pitch * rows + rng.below(64)
            };
            let real_slice = if slice_pitch == 0 {
                real_pitch * rows
            } else {
                slice_pitch
            };
            let offset = rng.below(100);
            let data_len = offset + real_slice * u64::from(extent.depth);
            let data: Vec<u8> = (0..data_len).map(|_| rng.next() as u8).collect();
            let pitch = row_bytes.next_multiple_of(lcm(u64::from(block.bytes), align.row_pitch));
            // From one staged row up to the whole subresource and beyond.
            let max_piece = pitch + rng.below(pitch * rows * u64::from(extent.depth) + 1);
            let src = SubresourceLayout {
                level: 0,
                layer: 0,
                offset,
                row_pitch,
                slice_pitch,
            };
            let pieces = plan_subresource(&block, extent, &src, data_len, align, max_piece)
                .unwrap_or_else(|e| panic!("case {case} {format:?} {extent:?}: {e}"));

            // Stage every piece at aligned offsets, as the ring would.
            let offset_align = offset_alignment(&block, align);
            let mut staging = Vec::new();
            let mut regions = Vec::new();
            for piece in &pieces {
                assert!(
                    piece.staging_size() <= max_piece,
                    "case {case}: piece over budget"
                );
                let at = (staging.len() as u64).next_multiple_of(offset_align);
                staging.resize((at + piece.staging_size()) as usize, 0);
                piece.fill(&data, &mut staging[at as usize..]).unwrap();
                let region = piece.region(at, &block);
                assert_eq!(region.buffer_offset % u64::from(block.bytes), 0);
                assert_eq!(region.buffer_offset % 4, 0);
                assert_eq!(region.buffer_row_length % block.width, 0);
                assert_eq!(region.buffer_image_height % block.height, 0);
                assert_eq!(region.image_offset.y as u32 % block.height, 0);
                assert!(region.buffer_row_length >= region.image_extent.width);
                assert_eq!(
                    (u64::from(region.buffer_row_length) / u64::from(block.width)
                        * u64::from(block.bytes))
                        % align.row_pitch.min(pitch),
                    0,
                    "case {case}: staged pitch keeps the preferred alignment"
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
            assert!(
                hits.iter().all(|&h| h == 1),
                "case {case}: every block exactly once"
            );
            let mut expected = Vec::new();
            for z in 0..u64::from(extent.depth) {
                for y in 0..rows {
                    let start = (offset + z * real_slice + y * real_pitch) as usize;
                    expected.extend_from_slice(&data[start..start + row_bytes as usize]);
                }
            }
            assert!(
                image == expected,
                "case {case}: {format:?} {extent:?} bytes differ"
            );
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
        let src = SubresourceLayout {
            level: 0,
            layer: 0,
            offset: 0,
            row_pitch: 0,
            slice_pitch: 0,
        };
        let align = CopyAlignment {
            offset: 4,
            row_pitch: 4,
        };
        let piece = plan_subresource(&block, extent, &src, 256, align, 1 << 20).unwrap()[0];
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
        let src = SubresourceLayout {
            level: 0,
            layer: 0,
            offset: 0,
            row_pitch: 0,
            slice_pitch: 0,
        };
        let align = CopyAlignment {
            offset: 16,
            row_pitch: 16,
        };
        let err = plan_subresource(&block, extent, &src, 1 << 20, align, 1000).unwrap_err();
        assert!(
            matches!(
                err,
                Error::RingTooSmall {
                    needed: 16384,
                    capacity: 1000
                }
            ),
            "{err}"
        );
        let short = plan_subresource(&block, extent, &src, 100, align, 1 << 20).unwrap_err();
        assert!(
            matches!(short, Error::InvalidSource { field: "data", .. }),
            "{short}"
        );
    }

    #[test]
    fn odd_block_compressed_extent_reaches_the_edge() {
        let block = block_info(vk::Format::BC7_UNORM_BLOCK).unwrap();
        let extent = vk::Extent3D {
            width: 257,
            height: 129,
            depth: 1,
        };
        let src = SubresourceLayout {
            level: 0,
            layer: 0,
            offset: 0,
            row_pitch: 0,
            slice_pitch: 0,
        };
        let align = CopyAlignment {
            offset: 128,
            row_pitch: 128,
        };
        let len = block.extent_bytes(extent);
        let pieces = plan_subresource(&block, extent, &src, len, align, 10_000).unwrap();
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
