//! Texel-block sizes of the formats uploads handle.
//!
//! Copies between buffers and images are measured in texel blocks: 1x1 texels for ordinary
//! formats, 4x4 for BC and ETC2/EAC, and up to 12x12 for ASTC. Offsets, row lengths and extents of
//! every copy region follow from this table (Vulkan spec, "Compatible formats" and "Copying Data
//! Between Buffers and Images").

use ash::vk;

/// The texel-block shape of a format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockInfo {
    /// Block width in texels.
    pub width: u32,
    /// Block height in texels.
    pub height: u32,
    /// Bytes per block.
    pub bytes: u32,
    /// The aspect that copies of this format address.
    pub aspect: vk::ImageAspectFlags,
}

impl BlockInfo {
    const fn texel(bytes: u32) -> Self {
        Self {
            width: 1,
            height: 1,
            bytes,
            aspect: vk::ImageAspectFlags::COLOR,
        }
    }

    const fn block(width: u32, height: u32, bytes: u32) -> Self {
        Self {
            width,
            height,
            bytes,
            aspect: vk::ImageAspectFlags::COLOR,
        }
    }

    const fn depth(bytes: u32) -> Self {
        Self {
            width: 1,
            height: 1,
            bytes,
            aspect: vk::ImageAspectFlags::DEPTH,
        }
    }

    /// Whether blocks span more than one texel (block-compressed formats).
    pub fn is_compressed(&self) -> bool {
        self.width > 1 || self.height > 1
    }

    /// Whether the shape is one a format can have (no zero block size), as every shape from
    /// [`block_info`] is; a hand-made one may not be.
    pub fn is_valid(&self) -> bool {
        self.width > 0 && self.height > 0 && self.bytes > 0
    }

    /// Blocks across `width` texels.
    pub fn blocks_wide(&self, width: u32) -> u32 {
        width.div_ceil(self.width.max(1))
    }

    /// Blocks down `height` texels.
    pub fn blocks_high(&self, height: u32) -> u32 {
        height.div_ceil(self.height.max(1))
    }

    /// Bytes of one tightly packed row of blocks across `width` texels.
    pub fn row_bytes(&self, width: u32) -> u64 {
        u64::from(self.blocks_wide(width)) * u64::from(self.bytes)
    }

    /// Bytes of a tightly packed `extent` (all depth slices); `u64::MAX` where that overflows.
    pub fn extent_bytes(&self, extent: vk::Extent3D) -> u64 {
        self.row_bytes(extent.width)
            .saturating_mul(u64::from(self.blocks_high(extent.height)))
            .saturating_mul(u64::from(extent.depth))
    }
}

/// The block shape of `format`, or `None` for formats uploads do not handle: multi-planar
/// formats, and combined depth/stencil formats, whose two aspects are copied with different
/// layouts (upload each aspect's own single-aspect view instead).
pub fn block_info(format: vk::Format) -> Option<BlockInfo> {
    use vk::Format as F;
    let info = match format {
        F::R4G4_UNORM_PACK8
        | F::R8_UNORM
        | F::R8_SNORM
        | F::R8_USCALED
        | F::R8_SSCALED
        | F::R8_UINT
        | F::R8_SINT
        | F::R8_SRGB => BlockInfo::texel(1),
        F::R4G4B4A4_UNORM_PACK16
        | F::B4G4R4A4_UNORM_PACK16
        | F::R5G6B5_UNORM_PACK16
        | F::B5G6R5_UNORM_PACK16
        | F::R5G5B5A1_UNORM_PACK16
        | F::B5G5R5A1_UNORM_PACK16
        | F::A1R5G5B5_UNORM_PACK16
        | F::R8G8_UNORM
        | F::R8G8_SNORM
        | F::R8G8_USCALED
        | F::R8G8_SSCALED
        | F::R8G8_UINT
        | F::R8G8_SINT
        | F::R8G8_SRGB
        | F::R16_UNORM
        | F::R16_SNORM
        | F::R16_USCALED
        | F::R16_SSCALED
        | F::R16_UINT
        | F::R16_SINT
        | F::R16_SFLOAT => BlockInfo::texel(2),
        F::R8G8B8_UNORM
        | F::R8G8B8_SNORM
        | F::R8G8B8_USCALED
        | F::R8G8B8_SSCALED
        | F::R8G8B8_UINT
        | F::R8G8B8_SINT
        | F::R8G8B8_SRGB
        | F::B8G8R8_UNORM
        | F::B8G8R8_SNORM
        | F::B8G8R8_UINT
        | F::B8G8R8_SINT
        | F::B8G8R8_SRGB => BlockInfo::texel(3),
        F::R8G8B8A8_UNORM
        | F::R8G8B8A8_SNORM
        | F::R8G8B8A8_USCALED
        | F::R8G8B8A8_SSCALED
        | F::R8G8B8A8_UINT
        | F::R8G8B8A8_SINT
        | F::R8G8B8A8_SRGB
        | F::B8G8R8A8_UNORM
        | F::B8G8R8A8_SNORM
        | F::B8G8R8A8_UINT
        | F::B8G8R8A8_SINT
        | F::B8G8R8A8_SRGB
        | F::A8B8G8R8_UNORM_PACK32
        | F::A8B8G8R8_SNORM_PACK32
        | F::A8B8G8R8_UINT_PACK32
        | F::A8B8G8R8_SINT_PACK32
        | F::A8B8G8R8_SRGB_PACK32
        | F::A2R10G10B10_UNORM_PACK32
        | F::A2R10G10B10_UINT_PACK32
        | F::A2B10G10R10_UNORM_PACK32
        | F::A2B10G10R10_UINT_PACK32
        | F::R16G16_UNORM
        | F::R16G16_SNORM
        | F::R16G16_UINT
        | F::R16G16_SINT
        | F::R16G16_SFLOAT
        | F::R32_UINT
        | F::R32_SINT
        | F::R32_SFLOAT
        | F::B10G11R11_UFLOAT_PACK32
        | F::E5B9G9R9_UFLOAT_PACK32 => BlockInfo::texel(4),
        F::R16G16B16_UNORM
        | F::R16G16B16_SNORM
        | F::R16G16B16_UINT
        | F::R16G16B16_SINT
        | F::R16G16B16_SFLOAT => BlockInfo::texel(6),
        F::R16G16B16A16_UNORM
        | F::R16G16B16A16_SNORM
        | F::R16G16B16A16_UINT
        | F::R16G16B16A16_SINT
        | F::R16G16B16A16_SFLOAT
        | F::R32G32_UINT
        | F::R32G32_SINT
        | F::R32G32_SFLOAT
        | F::R64_UINT
        | F::R64_SINT
        | F::R64_SFLOAT => BlockInfo::texel(8),
        F::R32G32B32_UINT | F::R32G32B32_SINT | F::R32G32B32_SFLOAT => BlockInfo::texel(12),
        F::R32G32B32A32_UINT
        | F::R32G32B32A32_SINT
        | F::R32G32B32A32_SFLOAT
        | F::R64G64_UINT
        | F::R64G64_SINT
        | F::R64G64_SFLOAT => BlockInfo::texel(16),
        F::R64G64B64_UINT | F::R64G64B64_SINT | F::R64G64B64_SFLOAT => BlockInfo::texel(24),
        F::R64G64B64A64_UINT | F::R64G64B64A64_SINT | F::R64G64B64A64_SFLOAT => {
            BlockInfo::texel(32)
        }
        F::D16_UNORM => BlockInfo::depth(2),
        // The X8 byte travels with the depth in buffer copies.
        F::X8_D24_UNORM_PACK32 | F::D32_SFLOAT => BlockInfo::depth(4),
        F::S8_UINT => BlockInfo {
            aspect: vk::ImageAspectFlags::STENCIL,
            ..BlockInfo::texel(1)
        },
        F::BC1_RGB_UNORM_BLOCK
        | F::BC1_RGB_SRGB_BLOCK
        | F::BC1_RGBA_UNORM_BLOCK
        | F::BC1_RGBA_SRGB_BLOCK
        | F::BC4_UNORM_BLOCK
        | F::BC4_SNORM_BLOCK
        | F::ETC2_R8G8B8_UNORM_BLOCK
        | F::ETC2_R8G8B8_SRGB_BLOCK
        | F::ETC2_R8G8B8A1_UNORM_BLOCK
        | F::ETC2_R8G8B8A1_SRGB_BLOCK
        | F::EAC_R11_UNORM_BLOCK
        | F::EAC_R11_SNORM_BLOCK => BlockInfo::block(4, 4, 8),
        F::BC2_UNORM_BLOCK
        | F::BC2_SRGB_BLOCK
        | F::BC3_UNORM_BLOCK
        | F::BC3_SRGB_BLOCK
        | F::BC5_UNORM_BLOCK
        | F::BC5_SNORM_BLOCK
        | F::BC6H_UFLOAT_BLOCK
        | F::BC6H_SFLOAT_BLOCK
        | F::BC7_UNORM_BLOCK
        | F::BC7_SRGB_BLOCK
        | F::ETC2_R8G8B8A8_UNORM_BLOCK
        | F::ETC2_R8G8B8A8_SRGB_BLOCK
        | F::EAC_R11G11_UNORM_BLOCK
        | F::EAC_R11G11_SNORM_BLOCK => BlockInfo::block(4, 4, 16),
        F::ASTC_4X4_UNORM_BLOCK | F::ASTC_4X4_SRGB_BLOCK => BlockInfo::block(4, 4, 16),
        F::ASTC_5X4_UNORM_BLOCK | F::ASTC_5X4_SRGB_BLOCK => BlockInfo::block(5, 4, 16),
        F::ASTC_5X5_UNORM_BLOCK | F::ASTC_5X5_SRGB_BLOCK => BlockInfo::block(5, 5, 16),
        F::ASTC_6X5_UNORM_BLOCK | F::ASTC_6X5_SRGB_BLOCK => BlockInfo::block(6, 5, 16),
        F::ASTC_6X6_UNORM_BLOCK | F::ASTC_6X6_SRGB_BLOCK => BlockInfo::block(6, 6, 16),
        F::ASTC_8X5_UNORM_BLOCK | F::ASTC_8X5_SRGB_BLOCK => BlockInfo::block(8, 5, 16),
        F::ASTC_8X6_UNORM_BLOCK | F::ASTC_8X6_SRGB_BLOCK => BlockInfo::block(8, 6, 16),
        F::ASTC_8X8_UNORM_BLOCK | F::ASTC_8X8_SRGB_BLOCK => BlockInfo::block(8, 8, 16),
        F::ASTC_10X5_UNORM_BLOCK | F::ASTC_10X5_SRGB_BLOCK => BlockInfo::block(10, 5, 16),
        F::ASTC_10X6_UNORM_BLOCK | F::ASTC_10X6_SRGB_BLOCK => BlockInfo::block(10, 6, 16),
        F::ASTC_10X8_UNORM_BLOCK | F::ASTC_10X8_SRGB_BLOCK => BlockInfo::block(10, 8, 16),
        F::ASTC_10X10_UNORM_BLOCK | F::ASTC_10X10_SRGB_BLOCK => BlockInfo::block(10, 10, 16),
        F::ASTC_12X10_UNORM_BLOCK | F::ASTC_12X10_SRGB_BLOCK => BlockInfo::block(12, 10, 16),
        F::ASTC_12X12_UNORM_BLOCK | F::ASTC_12X12_SRGB_BLOCK => BlockInfo::block(12, 12, 16),
        _ => return None,
    };
    Some(info)
}

/// Every format [`block_info`] knows, for tests that sweep the table.
#[cfg(test)]
pub(crate) fn known_formats() -> Vec<vk::Format> {
    // Core formats are numbered 1..=184 (VK_FORMAT_ASTC_12x12_SRGB_BLOCK).
    (1..=184)
        .map(vk::Format::from_raw)
        .filter(|f| block_info(*f).is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_sizes_match_the_spec_for_representative_formats() {
        let cases = [
            (vk::Format::R8_UNORM, (1, 1, 1)),
            (vk::Format::R8G8B8A8_SRGB, (1, 1, 4)),
            (vk::Format::R16G16B16A16_SFLOAT, (1, 1, 8)),
            (vk::Format::R32G32B32_SFLOAT, (1, 1, 12)),
            (vk::Format::R32G32B32A32_SFLOAT, (1, 1, 16)),
            (vk::Format::BC1_RGB_UNORM_BLOCK, (4, 4, 8)),
            (vk::Format::BC7_SRGB_BLOCK, (4, 4, 16)),
            (vk::Format::ETC2_R8G8B8A8_UNORM_BLOCK, (4, 4, 16)),
            (vk::Format::EAC_R11_UNORM_BLOCK, (4, 4, 8)),
            (vk::Format::ASTC_10X6_UNORM_BLOCK, (10, 6, 16)),
            (vk::Format::D32_SFLOAT, (1, 1, 4)),
        ];
        for (format, (w, h, bytes)) in cases {
            let info = block_info(format).unwrap();
            assert_eq!(
                (info.width, info.height, info.bytes),
                (w, h, bytes),
                "{format:?}"
            );
        }
        assert_eq!(block_info(vk::Format::D24_UNORM_S8_UINT), None);
        assert_eq!(block_info(vk::Format::G8_B8R8_2PLANE_420_UNORM), None);
        assert!(known_formats().len() > 150);
    }

    #[test]
    fn partial_blocks_round_up() {
        let bc1 = block_info(vk::Format::BC1_RGBA_UNORM_BLOCK).unwrap();
        assert_eq!(bc1.row_bytes(5), 16);
        let extent = vk::Extent3D {
            width: 5,
            height: 3,
            depth: 1,
        };
        assert_eq!(bc1.extent_bytes(extent), 16);
        let astc = block_info(vk::Format::ASTC_12X12_SRGB_BLOCK).unwrap();
        assert_eq!(astc.row_bytes(1), 16);
    }
}
