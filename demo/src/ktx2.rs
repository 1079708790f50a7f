//! KTX2 textures (`--scene FILE.ktx2`): 2D textures in any format the device samples
//! (uncompressed or block-compressed), with their stored mip chains, Zstandard-supercompressed or
//! not, shown on a quad of the texture's aspect. A file with `levelCount` 0 gets its chain
//! generated on the GPU, as a PNG does.
//!
//! Not yet: cube maps, arrays and 3D textures (refused by name), Basis Universal (BasisLZ, or
//! `VK_FORMAT_UNDEFINED` with UASTC), and choosing which level is shown.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use ash::vk;

use crate::scene::{Draw, Mat4, MaterialData, SamplerDesc, SceneData, TextureData, TextureInput};

/// The texture in KTX2 file `bytes` (`what` names it in errors), its levels packed from the
/// largest down as the uploads take them.
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
    if header.face_count == 6 {
        bail!("{what}: a cube map, which this viewer does not show yet");
    }
    if header.face_count != 1 {
        bail!(
            "{what}: faceCount {} (KTX2 allows 1 or 6)",
            header.face_count
        );
    }
    if header.layer_count > 0 {
        bail!(
            "{what}: an array texture of {} layers, which this viewer does not show yet",
            header.layer_count
        );
    }
    if header.pixel_depth > 0 {
        bail!("{what}: a 3D texture, which this viewer does not show yet");
    }
    if header.pixel_height == 0 {
        bail!("{what}: a 1D texture, which this viewer does not show");
    }
    let zstd = match header.supercompression_scheme {
        None => false,
        Some(ktx2::SupercompressionScheme::Zstandard) => true,
        Some(other) => bail!("{what}: supercompression {other:?} is not supported"),
    };
    let (width, height) = (header.pixel_width, header.pixel_height);
    let full_chain = 32 - width.max(height).leading_zeros();
    let levels = header.level_count.max(1);
    if levels > full_chain {
        bail!("{what}: {levels} levels, more than a {width}x{height} image has ({full_chain})");
    }
    let mut data = Vec::new();
    for (i, level) in reader.levels().enumerate() {
        let (w, h) = ((width >> i).max(1), (height >> i).max(1));
        let need = u64::from(w.div_ceil(block.width))
            * u64::from(h.div_ceil(block.height))
            * u64::from(block.bytes);
        let start = data.len();
        if zstd {
            data.reserve(usize::try_from(need).context("level too large")?);
            ruzstd::decoding::FrameDecoder::new()
                .decode_all_to_vec(level.data, &mut data)
                .map_err(|e| {
                    anyhow::anyhow!("{what}: level {i}: Zstandard data that does not decode: {e}")
                })?;
        } else {
            data.extend_from_slice(level.data);
        }
        let got = (data.len() - start) as u64;
        if got != need {
            bail!("{what}: level {i} holds {got} bytes; {w}x{h} {format:?} is {need}");
        }
    }
    Ok(TextureData {
        name: what.to_owned(),
        width,
        height,
        format,
        levels,
        bytes: data,
    })
}

/// A scene showing the texture of the KTX2 file at `path` on a quad of its aspect.
pub fn scene(path: &Path) -> Result<SceneData> {
    let what = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {what}"))?;
    let texture = read(&bytes, &what)?;
    let aspect = texture.width as f32 / texture.height as f32;
    let mut scene = SceneData {
        name: path
            .file_name()
            .map_or_else(|| "ktx2".into(), |n| n.to_string_lossy().into_owned()),
        ..SceneData::default()
    };
    scene
        .meshes
        .push(crate::procedural::quad(2.0 * aspect, 2.0));
    scene.textures.push(TextureInput::Ready(texture));
    scene
        .materials
        .push(MaterialData::textured("ktx2", 0, SamplerDesc::default()));
    scene.draws.push(Draw {
        mesh: 0,
        material: 0,
        transform: Mat4::IDENTITY,
    });
    Ok(scene)
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
