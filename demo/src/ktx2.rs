//! KTX2 textures (`--scene FILE.ktx2`): 2D textures, arrays, cube maps, cube-map arrays and 3D
//! textures in any format the device samples (uncompressed, BC, ETC2, ASTC), with their stored
//! mip chains, Zstandard-supercompressed or not. The texture viewer shows a 2D texture on a quad
//! of its aspect, an array as rows of quads (one per layer; a cube-map array one row per cube,
//! its six faces in order), a cube map on the sky, a 3D texture as rows of slices; `--level` and
//! the `[` `]` keys pick one level. A file with `levelCount` 0 gets its chain generated on the
//! GPU, as a PNG does.
//!
//! Not read: 1D textures, Basis Universal (BasisLZ, or `VK_FORMAT_UNDEFINED` with UASTC), and
//! supercompression other than Zstandard: each is refused by name.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use ash::vk;

use crate::scene::{
    Draw, Mat4, MaterialData, SamplerDesc, SceneData, TextureData, TextureInput, TextureShape,
    Viewer,
};

/// Most slices of a 3D texture drawn (evenly spaced through its depth); every layer of an array
/// is drawn.
const MAX_SLICES: u32 = 64;

/// The texture in KTX2 file `bytes` (`what` names it in errors), its levels packed from the
/// largest down as the uploads take them, each level's layers, faces and slices in the file's
/// order (which is the order of Vulkan's array layers: layer * 6 + face).
pub fn read(bytes: &[u8], what: &str) -> Result<TextureData> {
    let reader = ktx2::Reader::new(bytes)
        .map_err(|e| anyhow::anyhow!("{what} is not a KTX2 file this viewer reads: {e}"))?;
    let header = reader.header();
    let Some(format) = header.format else {
        bail!("{what}: VK_FORMAT_UNDEFINED (Basis Universal): not supported by this viewer");
    };
    let format = vk::Format::from_raw(format.value() as i32);
    let Some(block) = vkup_staging::block_info(format) else {
        bail!("{what}: {format:?} is not a format this viewer uploads");
    };
    let (width, height, depth) = (header.pixel_width, header.pixel_height, header.pixel_depth);
    let layers = header.layer_count;
    if height == 0 {
        bail!("{what}: a 1D texture, which this viewer does not show");
    }
    let shape = match (header.face_count, layers, depth) {
        (1, 0, 0) => TextureShape::Flat,
        (1, n, 0) => TextureShape::Layers(n),
        (6, _, 0) if width != height => {
            bail!("{what}: a cube map of {width}x{height} faces (they must be square)")
        }
        (6, 0, 0) => TextureShape::Cube,
        (6, n, 0) => TextureShape::CubeArray(n),
        (1, 0, d) => TextureShape::Volume(d),
        (1, _, _) => bail!("{what}: an array of 3D textures, which Vulkan does not have"),
        (6, _, _) => bail!("{what}: a cube map with depth {depth} (KTX2 allows none)"),
        (faces, _, _) => bail!("{what}: faceCount {faces} (KTX2 allows 1 or 6)"),
    };
    let zstd = match header.supercompression_scheme {
        None => false,
        Some(ktx2::SupercompressionScheme::Zstandard) => true,
        Some(other) => bail!("{what}: supercompression {other:?} is not supported"),
    };
    let full_chain = 32 - width.max(height).max(depth).leading_zeros();
    let levels = header.level_count.max(1);
    if levels > full_chain {
        bail!(
            "{what}: {levels} levels, more than a {width}x{height}x{} image has ({full_chain})",
            depth.max(1)
        );
    }
    // Each level holds its layers (faces included) one after the other.
    let images = u64::from(shape.layers());
    let mut data = Vec::new();
    for (i, level) in reader.levels().enumerate() {
        let (w, h, d) = (
            (width >> i).max(1),
            (height >> i).max(1),
            (shape.depth() >> i).max(1),
        );
        let need = u64::from(w.div_ceil(block.width))
            .checked_mul(u64::from(h.div_ceil(block.height)))
            .and_then(|n| n.checked_mul(u64::from(block.bytes)))
            .and_then(|n| n.checked_mul(u64::from(d)))
            .and_then(|n| n.checked_mul(images))
            .and_then(|n| usize::try_from(n).ok())
            .with_context(|| format!("{what}: level {i} is larger than this machine addresses"))?;
        let start = data.len();
        if zstd {
            // What the header claims is reserved only up to a bound: a hostile header must not
            // make the reader allocate what the data never fills.
            data.reserve(need.min(64 << 20));
            ruzstd::decoding::FrameDecoder::new()
                .decode_all_to_vec(level.data, &mut data)
                .map_err(|e| {
                    anyhow::anyhow!("{what}: level {i}: Zstandard data that does not decode: {e}")
                })?;
        } else {
            data.extend_from_slice(level.data);
        }
        let got = data.len() - start;
        if got != need {
            let slices = match shape {
                TextureShape::Flat => String::new(),
                TextureShape::Volume(_) => format!("x{d}"),
                _ => format!(" x {} layers", shape.layers()),
            };
            bail!("{what}: level {i} holds {got} bytes; {w}x{h}{slices} {format:?} is {need}");
        }
    }
    Ok(TextureData {
        name: what.to_owned(),
        width,
        height,
        shape,
        format,
        levels,
        bytes: data,
    })
}

/// A scene showing the texture of the KTX2 file at `path` through the texture viewer.
pub fn scene(path: &Path) -> Result<SceneData> {
    let what = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {what}"))?;
    let mut texture = read(&bytes, &what)?;
    let name = path
        .file_name()
        .map_or_else(|| "ktx2".into(), |n| n.to_string_lossy().into_owned());
    Ok(viewer_scene(name, {
        // A 2D texture is shown as the one layer of an array, like any other's.
        if texture.shape == TextureShape::Flat {
            texture.shape = TextureShape::Layers(1);
        }
        texture
    }))
}

/// The texture viewer's scene for `texture`: one draw per layer or slice shown, in rows (one per
/// cube of a cube-map array, else up to eight across), or the sky for a cube map.
fn viewer_scene(name: String, texture: TextureData) -> SceneData {
    let aspect = texture.width as f32 / texture.height as f32;
    let (shown, across): (Vec<Viewer>, u32) = match texture.shape {
        TextureShape::Cube => (vec![Viewer::Sky], 1),
        TextureShape::Volume(depth) => {
            let n = depth.min(MAX_SLICES);
            // Slice centres, evenly spaced: `n` of `depth`.
            let slices = (0..n)
                .map(|k| {
                    let slice = (u64::from(k) * u64::from(depth) / u64::from(n)) as f32;
                    Viewer::Slice((slice + 0.5) / depth as f32)
                })
                .collect();
            (slices, n.min(8))
        }
        TextureShape::CubeArray(_) => ((0..texture.shape.layers()).map(Viewer::Layer).collect(), 6),
        shape => {
            let n = shape.layers();
            ((0..n).map(Viewer::Layer).collect(), n.min(8))
        }
    };
    let mut scene = SceneData {
        name,
        ..SceneData::default()
    };
    let (w, h) = (2.0 * aspect, 2.0);
    scene.meshes.push(crate::procedural::quad(w, h));
    scene.textures.push(TextureInput::Ready(texture));
    // Edges clamp: a layer must not show its opposite edge.
    let sampler = SamplerDesc {
        wrap_u: vk::SamplerAddressMode::CLAMP_TO_EDGE,
        wrap_v: vk::SamplerAddressMode::CLAMP_TO_EDGE,
        ..SamplerDesc::default()
    };
    let rows = (shown.len() as u32).div_ceil(across);
    for (i, viewer) in shown.into_iter().enumerate() {
        let (column, row) = (i as u32 % across, i as u32 / across);
        let mut material = MaterialData::textured(&format!("{viewer:?}"), 0, sampler);
        material.viewer = Some(viewer);
        scene.materials.push(material);
        // Left to right, top to bottom, a tenth of a quad apart, centred on the origin.
        let x = (column as f32 - (across - 1) as f32 / 2.0) * 1.1 * w;
        let y = ((rows - 1) as f32 / 2.0 - row as f32) * 1.1 * h;
        scene.draws.push(Draw {
            mesh: 0,
            material: i,
            transform: Mat4::translation([x, y, 0.0]),
        });
    }
    scene
}

#[cfg(test)]
#[path = "../tests/common/ktx2_writer.rs"]
mod ktx2_writer;

#[cfg(test)]
mod tests {
    use super::ktx2_writer::write;
    use super::*;

    fn chain(width: u32, height: u32, texel: usize) -> Vec<Vec<u8>> {
        let mut levels = Vec::new();
        let (mut w, mut h) = (width, height);
        loop {
            let n = (w * h) as usize * texel;
            levels.push((0..n).map(|i| (i * 7 + levels.len() * 31) as u8).collect());
            if w == 1 && h == 1 {
                break;
            }
            (w, h) = ((w / 2).max(1), (h / 2).max(1));
        }
        levels
    }

    #[test]
    fn stored_chains_read_back_byte_exact_plain_and_zstd() {
        let levels = chain(8, 4, 4);
        let packed: Vec<u8> = levels.concat();
        for zstd in [false, true] {
            let file = write(vk::Format::R8G8B8A8_SRGB, 8, 4, &levels, zstd);
            let texture = read(&file, "t.ktx2").unwrap();
            assert_eq!((texture.width, texture.height, texture.levels), (8, 4, 4));
            assert_eq!(texture.format, vk::Format::R8G8B8A8_SRGB);
            assert!(texture.bytes == packed, "zstd {zstd}: bytes differ");
        }
        // BC7: 16-byte 4x4 blocks; a 10x6 base level is 3x2 blocks.
        let bc7: Vec<Vec<u8>> = [96usize, 32, 16, 16]
            .iter()
            .map(|&n| (0..n).map(|i| i as u8).collect())
            .collect();
        let file = write(vk::Format::BC7_SRGB_BLOCK, 10, 6, &bc7, true);
        let texture = read(&file, "bc7.ktx2").unwrap();
        assert_eq!(texture.bytes, bc7.concat());
    }

    #[test]
    fn wrong_level_sizes_and_shapes_not_shown_are_refused_by_name() {
        let mut levels = chain(8, 4, 4);
        levels[1].pop();
        let err = read(
            &write(vk::Format::R8G8B8A8_UNORM, 8, 4, &levels, false),
            "short.ktx2",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("short.ktx2: level 1 holds 31 bytes; 4x2"),
            "{err}"
        );
        let mut cube = write(vk::Format::R8G8B8A8_UNORM, 8, 8, &chain(8, 8, 4), false);
        cube[36..40].copy_from_slice(&6u32.to_le_bytes());
        let err = read(&cube, "cube.ktx2").unwrap_err().to_string();
        assert!(err.contains("cube.ktx2: a cube map"), "{err}");
        let err = read(
            b"not a texture at all, but long enough to hold a header......................",
            "x.ktx2",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("x.ktx2 is not a KTX2 file"), "{err}");
    }
}
