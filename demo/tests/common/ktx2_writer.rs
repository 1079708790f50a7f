//! A KTX2 writer for the tests (the demo's unit tests and `tests/demo.rs` include this file):
//! just what the reader needs, so that the files the tests read are made from their bytes.

use ash::vk;

/// The shape fields of a KTX2 header (0 where the specification says "not an array" or "not
/// 3D").
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub width: u32,
    pub height: u32,
    pub depth: u32,
    pub layers: u32,
    pub faces: u32,
}

impl Shape {
    /// A 2D texture.
    pub fn flat(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            depth: 0,
            layers: 0,
            faces: 1,
        }
    }
}

/// A 2D KTX2 file (see [`write_shaped`]).
pub fn write(
    format: vk::Format,
    width: u32,
    height: u32,
    levels: &[Vec<u8>],
    zstd: bool,
) -> Vec<u8> {
    write_shaped(format, Shape::flat(width, height), levels, zstd)
}

/// A KTX2 file of `format` and `shape`, with `levels` (largest first, each holding its layers,
/// faces and slices in KTX2's order), each Zstandard-compressed when `zstd`: header, level
/// index, a DFD of one basic block without samples, then the levels smallest first (as the
/// specification lays them out).
pub fn write_shaped(format: vk::Format, shape: Shape, levels: &[Vec<u8>], zstd: bool) -> Vec<u8> {
    let stored: Vec<Vec<u8>> = levels
        .iter()
        .map(|l| {
            if zstd {
                ruzstd::encoding::compress_to_vec(
                    &l[..],
                    ruzstd::encoding::CompressionLevel::Fastest,
                )
            } else {
                l.clone()
            }
        })
        .collect();
    let index_end = 80 + 24 * levels.len();
    let dfd_len = 4 + 24;
    let mut out = vec![
        0xAB, 0x4B, 0x54, 0x58, 0x20, 0x32, 0x30, 0xBB, 0x0D, 0x0A, 0x1A, 0x0A,
    ];
    let u32s = [
        format.as_raw() as u32,
        1,
        shape.width,
        shape.height,
        shape.depth,
        shape.layers,
        shape.faces,
        levels.len() as u32,
        if zstd { 2 } else { 0 },
        index_end as u32,
        dfd_len as u32,
        0,
        0,
    ];
    for v in u32s {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&[0; 16]); // no supercompression global data
    let mut offset = (index_end + dfd_len) as u64;
    let mut offsets = vec![0u64; levels.len()];
    for i in (0..levels.len()).rev() {
        offsets[i] = offset;
        offset += stored[i].len() as u64;
    }
    for i in 0..levels.len() {
        for v in [offsets[i], stored[i].len() as u64, levels[i].len() as u64] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out.extend_from_slice(&(dfd_len as u32).to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 2, 0, 24, 0]);
    out.extend_from_slice(&[0; 16]);
    for i in (0..levels.len()).rev() {
        out.extend_from_slice(&stored[i]);
    }
    out
}
