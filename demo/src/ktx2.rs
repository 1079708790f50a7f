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

use vkup_staging::{Produce, ProduceError, Slot};

use crate::scene::{
    Draw, Encoding, Mat4, MaterialData, SamplerDesc, SceneData, TextureData, TextureInput,
    TextureShape, Viewer,
};

/// Most slices of a 3D texture drawn (evenly spaced through its depth); every layer of an array
/// is drawn.
const MAX_SLICES: u32 = 64;

/// Most array layers (faces included) of a texture the viewer shows.
const MAX_LAYERS: u32 = 2048;

/// Where one level of a KTX2 file lies in it, and the bytes it unpacks to.
#[derive(Clone, Debug)]
pub struct Level {
    /// The level's bytes in the file.
    pub file: std::ops::Range<usize>,
    /// Whether they are a Zstandard frame.
    pub zstd: bool,
    /// What the level holds unpacked: every layer, face and slice.
    pub len: u64,
}

/// The texture in KTX2 file `bytes` (`what` names it in errors), kept encoded: the header is
/// checked and each level found ([`Level`]), to be unpacked into staging memory as it uploads
/// ([`producer`]), largest level first, each level's layers, faces and slices in the file's
/// order (which is the order of Vulkan's array layers: layer * 6 + face).
pub fn index(bytes: Vec<u8>, what: &str) -> Result<TextureData> {
    let reader = ktx2::Reader::new(bytes.as_slice())
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
    // Every layer is a draw of its own; Vulkan guarantees 256 array layers, desktop GPUs 2048.
    if u64::from(layers) * u64::from(header.face_count) > u64::from(MAX_LAYERS) {
        bail!(
            "{what}: {layers} layers of {} faces, more than this viewer shows ({MAX_LAYERS})",
            header.face_count
        );
    }
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
    let mut index = Vec::new();
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
            .filter(|&n| usize::try_from(n).is_ok())
            .with_context(|| format!("{what}: level {i} is larger than this machine addresses"))?;
        // The reader's level data is a slice of `bytes`.
        let start = (level.data.as_ptr() as usize)
            .checked_sub(bytes.as_ptr() as usize)
            .filter(|&start| start + level.data.len() <= bytes.len())
            .with_context(|| format!("{what}: level {i} lies outside the file"))?;
        let file = start..start + level.data.len();
        let got = level.data.len() as u64;
        if !zstd && got != need {
            let slices = match shape {
                TextureShape::Flat => String::new(),
                TextureShape::Volume(_) => format!("x{d}"),
                _ => format!(" x {} layers", shape.layers()),
            };
            bail!("{what}: level {i} holds {got} bytes; {w}x{h}{slices} {format:?} is {need}");
        }
        index.push(Level {
            file,
            zstd,
            len: need,
        });
    }
    Ok(TextureData {
        name: what.to_owned(),
        width,
        height,
        shape,
        format,
        levels,
        bytes,
        encoding: Encoding::Ktx2(index),
    })
}

/// The texture in KTX2 file `bytes` unpacked into memory: its levels packed as [`index`]
/// orders them, through the same [`producer`] an upload runs.
#[cfg(test)]
pub fn read(bytes: &[u8], what: &str) -> Result<TextureData> {
    let texture = index(bytes.to_vec(), what)?;
    unpacked(texture)
}

/// `texture` with its KTX2 levels unpacked into `bytes` (a texture already packed as it is).
pub fn unpacked(texture: TextureData) -> Result<TextureData> {
    let Encoding::Ktx2(levels) = &texture.encoding else {
        return Ok(texture);
    };
    let len: u64 = levels.iter().map(|l| l.len).sum();
    let mut data = vec![0u8; usize::try_from(len).context("a texture past this machine's memory")?];
    let mut unpack = producer(&texture.name, &texture.bytes, levels);
    let mut at = 0u64;
    for level in levels {
        let range = at as usize..(at + level.len) as usize;
        let slot = Slot::over(at, level.len.max(1) as usize, &mut data[range]);
        unpack.produce(slot).map_err(|e| anyhow::anyhow!("{e}"))?;
        at += level.len;
    }
    drop(unpack);
    Ok(TextureData {
        bytes: data,
        encoding: Encoding::Packed,
        ..texture
    })
}

/// A producer that unpacks the KTX2 `file`'s `levels` into the slots of an upload of all of
/// them (`what` names the file in errors): a stored level is copied from the file, a Zstandard
/// one decompressed straight into the slots, and checked to hold exactly its bytes.
pub fn producer<'a>(
    what: &'a str,
    file: &'a [u8],
    levels: &'a [Level],
) -> impl Produce + Send + 'a {
    Unpacker {
        what,
        file,
        levels,
        level: 0,
        start: 0,
        zstd: None,
        next: 0,
    }
}

struct Unpacker<'a> {
    what: &'a str,
    file: &'a [u8],
    levels: &'a [Level],
    /// The level the next slot is in, and where it starts in the packed data.
    level: usize,
    start: u64,
    /// The decompressor of the current level, once started.
    zstd: Option<ruzstd::decoding::StreamingDecoder<&'a [u8], ruzstd::decoding::FrameDecoder>>,
    /// The offset the next slot must start at (a decompressor cannot go back).
    next: u64,
}

impl Produce for Unpacker<'_> {
    fn produce(&mut self, mut slot: Slot<'_>) -> std::result::Result<(), ProduceError> {
        let what = self.what;
        if slot.offset() != self.next {
            return Err(format!(
                "{what}: bytes asked for at {} after {}: the levels unpack once, in order",
                slot.offset(),
                self.next
            )
            .into());
        }
        // Slots lie inside one level (they are parts of one subresource).
        while self
            .levels
            .get(self.level)
            .is_some_and(|l| slot.offset() >= self.start + l.len)
        {
            self.start += self.levels[self.level].len;
            self.level += 1;
            self.zstd = None;
        }
        let (i, start) = (self.level, self.start);
        let level = self
            .levels
            .get(i)
            .ok_or_else(|| format!("{what}: bytes asked for past its last level"))?;
        if slot.offset() + slot.len() as u64 > start + level.len {
            return Err(format!("{what}: a slot across levels {i} and {}", i + 1).into());
        }
        let data = self
            .file
            .get(level.file.clone())
            .ok_or_else(|| format!("{what}: level {i} lies outside the file"))?;
        if level.zstd {
            let decoder = match &mut self.zstd {
                Some(decoder) => decoder,
                None => self.zstd.insert(
                    ruzstd::decoding::StreamingDecoder::new(data)
                        .map_err(|e| format!("{what}: level {i}: not Zstandard data: {e}"))?,
                ),
            };
            slot.read_from(decoder).map_err(|e| {
                format!(
                    "{what}: level {i}: Zstandard data that does not decode to its {} bytes: {e}",
                    level.len
                )
            })?;
            if self.next + slot.len() as u64 == start + level.len {
                // The level's last bytes: nothing may follow them.
                let mut more = [0u8; 1];
                if !matches!(std::io::Read::read(decoder, &mut more), Ok(0)) {
                    return Err(format!(
                        "{what}: level {i}: Zstandard data that holds more than its {} bytes",
                        level.len
                    )
                    .into());
                }
            }
        } else {
            let from = usize::try_from(slot.offset() - start).unwrap_or(usize::MAX);
            slot.copy_from(data.get(from..).unwrap_or_default())?;
        }
        self.next += slot.len() as u64;
        Ok(())
    }
}

/// `texture` decoded to RGBA8 on the CPU (`texture2ddecoder`), for a device that does not sample
/// its ETC2 or ASTC format; `None` for any other format. Every level, layer and slice is decoded;
/// sRGB stays sRGB.
pub fn decode_on_cpu(texture: &TextureData) -> Option<Result<TextureData>> {
    use texture2ddecoder as t2d;
    if matches!(texture.encoding, Encoding::Ktx2(_)) {
        return match unpacked(texture.clone()) {
            Ok(texture) => decode_on_cpu(&texture),
            Err(err) => Some(Err(err)),
        };
    }
    use vk::Format as F;
    type Decode = fn(&[u8], usize, usize, &mut [u32]) -> std::result::Result<(), &'static str>;
    let format = texture.format;
    let etc2: Option<Decode> = match format {
        F::ETC2_R8G8B8_UNORM_BLOCK | F::ETC2_R8G8B8_SRGB_BLOCK => Some(t2d::decode_etc2_rgb),
        F::ETC2_R8G8B8A1_UNORM_BLOCK | F::ETC2_R8G8B8A1_SRGB_BLOCK => Some(t2d::decode_etc2_rgba1),
        F::ETC2_R8G8B8A8_UNORM_BLOCK | F::ETC2_R8G8B8A8_SRGB_BLOCK => Some(t2d::decode_etc2_rgba8),
        _ => None,
    };
    let block = vkup_staging::block_info(format)?;
    let astc = (F::ASTC_4X4_UNORM_BLOCK.as_raw()..=F::ASTC_12X12_SRGB_BLOCK.as_raw())
        .contains(&format.as_raw());
    if etc2.is_none() && !astc {
        return None;
    }
    let srgb = format!("{format:?}").contains("SRGB");
    let decode = |data: &[u8], w: usize, h: usize, out: &mut [u32]| match etc2 {
        Some(decode) => decode(data, w, h, out),
        None => t2d::decode_astc(data, w, h, block.width as usize, block.height as usize, out),
    };
    let mut bytes = Vec::new();
    let mut offset = 0;
    for level in 0..texture.levels {
        let (w, h, d) = (
            (texture.width >> level).max(1),
            (texture.height >> level).max(1),
            (texture.shape.depth() >> level).max(1),
        );
        let size = w.div_ceil(block.width) as usize
            * h.div_ceil(block.height) as usize
            * block.bytes as usize;
        let mut texels = vec![0u32; w as usize * h as usize];
        for _ in 0..texture.shape.layers() * d {
            let Some(data) = texture.bytes.get(offset..offset + size) else {
                return Some(Err(anyhow::anyhow!(
                    "{}: level {level} is short",
                    texture.name
                )));
            };
            if let Err(e) = decode(data, w as usize, h as usize, &mut texels) {
                return Some(Err(anyhow::anyhow!(
                    "{}: level {level} does not decode as {format:?}: {e}",
                    texture.name
                )));
            }
            // The decoder writes B, G, R, A (little-endian words).
            bytes.extend(texels.iter().flat_map(|t| {
                let [b, g, r, a] = t.to_le_bytes();
                [r, g, b, a]
            }));
            offset += size;
        }
    }
    Some(Ok(TextureData {
        format: if srgb {
            vk::Format::R8G8B8A8_SRGB
        } else {
            vk::Format::R8G8B8A8_UNORM
        },
        bytes,
        ..texture.clone()
    }))
}

/// A scene showing the texture of the KTX2 file at `path` through the texture viewer.
pub fn scene(path: &Path) -> Result<SceneData> {
    let what = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {what}"))?;
    let mut texture = index(bytes, &what)?;
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
    fn zstd_levels_stream_into_small_slots_and_must_hold_exactly_their_bytes() {
        let levels = chain(16, 8, 4);
        let packed = levels.concat();
        let file = write(vk::Format::R8G8B8A8_UNORM, 16, 8, &levels, true);
        let texture = index(file, "t.ktx2").unwrap();
        let Encoding::Ktx2(index) = &texture.encoding else {
            panic!("not indexed")
        };
        assert!(index.iter().all(|l| l.zstd));
        // Slots of up to 12 bytes (three texels) inside each level, as an upload through a small
        // ring cuts them.
        let mut out = vec![0u8; packed.len()];
        let mut unpack = producer("t.ktx2", &texture.bytes, index);
        let mut at = 0;
        for level in &levels {
            let end = at + level.len();
            while at < end {
                let len = 12.min(end - at);
                let slot = Slot::over(at as u64, len, &mut out[at..at + len]);
                unpack.produce(slot).unwrap();
                at += len;
            }
        }
        assert!(out == packed);
        // A slot across two levels is refused.
        let mut unpack = producer("t.ktx2", &texture.bytes, index);
        let mut across = vec![0u8; levels[0].len() + 4];
        let len = across.len();
        let err = unpack.produce(Slot::over(0, len, &mut across)).unwrap_err();
        assert!(err.to_string().contains("across"), "{err}");
        // A level that decompresses to more, or to fewer, bytes than its extent holds.
        for delta in [4isize, -4] {
            let mut wrong = levels.clone();
            let len = (wrong[1].len() as isize + delta) as usize;
            wrong[1].resize(len, 9);
            let file = write(vk::Format::R8G8B8A8_UNORM, 16, 8, &wrong, true);
            let err = read(&file, "w.ktx2").unwrap_err().to_string();
            assert!(
                err.contains("w.ktx2: level 1: Zstandard data that"),
                "{delta}: {err}"
            );
        }
        // Asked again for bytes it already gave: refused, not repeated wrong.
        let mut unpack = producer("t.ktx2", &texture.bytes, index);
        let mut slot = [0u8; 8];
        unpack.produce(Slot::over(0, 8, &mut slot)).unwrap();
        assert!(unpack.produce(Slot::over(0, 8, &mut slot)).is_err());
    }

    #[test]
    fn arrays_cubes_and_volumes_read_in_the_files_layer_order() {
        use super::ktx2_writer::{write_shaped, Shape};
        let shapes = [
            (
                Shape {
                    layers: 3,
                    ..Shape::flat(4, 2)
                },
                TextureShape::Layers(3),
                3,
            ),
            (
                Shape {
                    faces: 6,
                    ..Shape::flat(4, 4)
                },
                TextureShape::Cube,
                6,
            ),
            (
                Shape {
                    faces: 6,
                    layers: 2,
                    ..Shape::flat(4, 4)
                },
                TextureShape::CubeArray(2),
                12,
            ),
            (
                Shape {
                    depth: 5,
                    ..Shape::flat(4, 2)
                },
                TextureShape::Volume(5),
                1,
            ),
        ];
        for (shape, expected, images) in shapes {
            let depth = shape.depth.max(1);
            let levels: Vec<Vec<u8>> = (0..3)
                .map(|i| {
                    let texels = (shape.width >> i).max(1)
                        * (shape.height >> i).max(1)
                        * (depth >> i).max(1)
                        * images;
                    (0..texels * 4).map(|b| (b * 3 + i) as u8).collect()
                })
                .collect();
            let file = write_shaped(vk::Format::R8G8B8A8_UNORM, shape, &levels, true);
            let texture = read(&file, "t.ktx2").unwrap();
            assert_eq!(texture.shape, expected);
            assert_eq!(texture.bytes, levels.concat(), "{expected:?}");
            let mut short = levels.clone();
            let len = short[2].len();
            short[2].truncate(len - 4);
            let err = read(
                &write_shaped(vk::Format::R8G8B8A8_UNORM, shape, &short, false),
                "s",
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains("s: level 2 holds"), "{expected:?}: {err}");
        }
    }

    #[test]
    fn etc2_and_astc_decode_on_the_cpu_and_other_formats_do_not() {
        let texture = |format, bytes: Vec<u8>| TextureData {
            name: "t".into(),
            width: 4,
            height: 4,
            shape: TextureShape::Layers(2),
            format,
            levels: 1,
            bytes,
            encoding: Encoding::Packed,
        };
        // Individual mode, base colour (15, 0, 0) of 4 bits, table 0, index 0 (+2): two layers.
        let red = [0xffu8, 0, 0, 0, 0, 0, 0, 0].repeat(2);
        let etc2 = decode_on_cpu(&texture(vk::Format::ETC2_R8G8B8_SRGB_BLOCK, red))
            .unwrap()
            .unwrap();
        assert_eq!(etc2.format, vk::Format::R8G8B8A8_SRGB);
        assert_eq!(etc2.bytes, [255, 2, 2, 255].repeat(32));
        // A void-extent block: one UNORM16 colour everywhere.
        let mut astc = vec![0xfc, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        astc.extend([0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff]);
        let astc = decode_on_cpu(&texture(vk::Format::ASTC_4X4_UNORM_BLOCK, astc.repeat(2)))
            .unwrap()
            .unwrap();
        assert_eq!(astc.format, vk::Format::R8G8B8A8_UNORM);
        assert_eq!(astc.bytes, [0, 255, 0, 255].repeat(32));
        let short = decode_on_cpu(&texture(vk::Format::ASTC_4X4_UNORM_BLOCK, vec![0; 16]));
        assert!(short.unwrap().is_err(), "one layer of two");
        assert!(decode_on_cpu(&texture(vk::Format::BC7_UNORM_BLOCK, vec![0; 32])).is_none());
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
        // Header fields at 28 (depth), 32 (layers), 36 (faces), rewritten on a valid 2D file.
        let refused = [
            (
                (8, 4),
                vec![(36, 6u32)],
                "cube.ktx2: a cube map of 8x4 faces",
            ),
            (
                (8, 8),
                vec![(28, 2), (36, 6)],
                "cube.ktx2: a cube map with depth",
            ),
            (
                (8, 8),
                vec![(28, 2), (32, 2)],
                "cube.ktx2: an array of 3D textures",
            ),
            ((8, 8), vec![(36, 3)], "cube.ktx2: faceCount 3"),
            ((8, 8), vec![(24, 0)], "cube.ktx2: a 1D texture"),
            (
                (8, 8),
                vec![(32, u32::MAX), (36, 6)],
                "cube.ktx2: 4294967295 layers of 6",
            ),
        ];
        for ((w, h), edits, says) in refused {
            let mut file = write(vk::Format::R8G8B8A8_UNORM, w, h, &chain(w, h, 4), false);
            for (at, value) in edits {
                file[at..at + 4].copy_from_slice(&value.to_le_bytes());
            }
            let err = read(&file, "cube.ktx2").unwrap_err().to_string();
            assert!(err.contains(says), "{says}: {err}");
        }
        let err = read(
            b"not a texture at all, but long enough to hold a header......................",
            "x.ktx2",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("x.ktx2 is not a KTX2 file"), "{err}");
    }
}
