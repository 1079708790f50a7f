//! glTF 2.0 scenes: `.gltf` (buffers and images embedded as data URIs or in files beside it) and
//! `.glb`. The node hierarchy with its transforms, every triangle primitive of every mesh (u8,
//! u16 or u32 indices, or none), base-colour textures with their samplers (sRGB), and defaults
//! for what a file lacks: flat normals, (0, 0) texture coordinates, a 1x1 texture of the
//! material's base colour (white without a material).
//!
//! Images stay encoded here; the loader decodes them on worker threads. Every error names the
//! file and what is wrong with it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use ash::vk;
use base64::Engine as _;

use crate::scene::{
    Draw, Indices, Mat4, MaterialData, MeshData, SamplerDesc, SceneData, TextureInput, Vertex,
};

/// Reads the data a `uri` names: a base64 data URI, or a file relative to `base`.
fn read_uri(uri: &str, base: &Path, file: &Path) -> Result<Vec<u8>> {
    if let Some(rest) = uri.strip_prefix("data:") {
        let (_, data) = rest
            .split_once(";base64,")
            .ok_or_else(|| anyhow!("{}: a data URI that is not base64", file.display()))?;
        return base64::engine::general_purpose::STANDARD
            .decode(data)
            .with_context(|| format!("{}: a data URI with invalid base64", file.display()));
    }
    let path = base.join(percent_decode(uri));
    std::fs::read(&path)
        .with_context(|| format!("{}: cannot read {}", file.display(), path.display()))
}

/// Undoes `%XX` escapes in a relative URI (spaces in file names, say).
fn percent_decode(uri: &str) -> PathBuf {
    let bytes = uri.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    PathBuf::from(String::from_utf8_lossy(&out).into_owned())
}

fn sampler(texture: &gltf::Texture<'_>) -> SamplerDesc {
    use gltf::texture::{MagFilter, MinFilter, WrappingMode};
    let s = texture.sampler();
    let wrap = |w| match w {
        WrappingMode::ClampToEdge => vk::SamplerAddressMode::CLAMP_TO_EDGE,
        WrappingMode::MirroredRepeat => vk::SamplerAddressMode::MIRRORED_REPEAT,
        WrappingMode::Repeat => vk::SamplerAddressMode::REPEAT,
    };
    let mipmapped = !matches!(s.min_filter(), Some(MinFilter::Nearest | MinFilter::Linear));
    let (min, mipmap) = match s.min_filter() {
        Some(MinFilter::Nearest | MinFilter::NearestMipmapNearest) => {
            (vk::Filter::NEAREST, vk::SamplerMipmapMode::NEAREST)
        }
        Some(MinFilter::NearestMipmapLinear) => {
            (vk::Filter::NEAREST, vk::SamplerMipmapMode::LINEAR)
        }
        Some(MinFilter::LinearMipmapNearest) => {
            (vk::Filter::LINEAR, vk::SamplerMipmapMode::NEAREST)
        }
        _ => (vk::Filter::LINEAR, vk::SamplerMipmapMode::LINEAR),
    };
    SamplerDesc {
        mag: match s.mag_filter() {
            Some(MagFilter::Nearest) => vk::Filter::NEAREST,
            _ => vk::Filter::LINEAR,
        },
        min,
        mipmap,
        mipmapped,
        wrap_u: wrap(s.wrap_s()),
        wrap_v: wrap(s.wrap_t()),
    }
}

/// Linear base-colour factor -> an sRGB 1x1 texel.
fn srgb_texel(factor: [f32; 4]) -> [u8; 4] {
    let encode = |c: f32| {
        let c = c.clamp(0.0, 1.0);
        let s = if c <= 0.003_130_8 {
            c * 12.92
        } else {
            1.055 * c.powf(1.0 / 2.4) - 0.055
        };
        (s * 255.0).round() as u8
    };
    [
        encode(factor[0]),
        encode(factor[1]),
        encode(factor[2]),
        (factor[3].clamp(0.0, 1.0) * 255.0).round() as u8,
    ]
}

/// Per-vertex normals from the triangles (area-weighted), for primitives without them.
fn flat_normals(vertices: &mut [Vertex], indices: &[u32]) {
    let mut sums = vec![[0.0f32; 3]; vertices.len()];
    for tri in indices.chunks_exact(3) {
        let p: [[f32; 3]; 3] = std::array::from_fn(|k| vertices[tri[k] as usize].position);
        let e1: [f32; 3] = std::array::from_fn(|k| p[1][k] - p[0][k]);
        let e2: [f32; 3] = std::array::from_fn(|k| p[2][k] - p[0][k]);
        let n = [
            e1[1] * e2[2] - e1[2] * e2[1],
            e1[2] * e2[0] - e1[0] * e2[2],
            e1[0] * e2[1] - e1[1] * e2[0],
        ];
        for &i in tri {
            for k in 0..3 {
                sums[i as usize][k] += n[k];
            }
        }
    }
    for (v, n) in vertices.iter_mut().zip(sums) {
        let l = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        v.normal = if l > 0.0 {
            n.map(|c| c / l)
        } else {
            [0.0, 1.0, 0.0]
        };
    }
}

/// Refuses a file that says a reader needs more than glTF 2.0 (`asset.minVersion`) or an
/// extension this viewer does not implement (`extensionsRequired`): drawing it anyway would show
/// something other than the file describes.
fn check_version_and_extensions(document: &gltf::Gltf, path: &Path) -> Result<()> {
    if let Some(min) = &document.as_json().asset.min_version {
        let mut parts = min.split('.').map(str::parse::<u32>);
        let version = match (parts.next(), parts.next(), parts.next()) {
            (Some(Ok(major)), Some(Ok(minor)), None) => (major, minor),
            _ => bail!(
                "{}: asset.minVersion '{min}' is not MAJOR.MINOR",
                path.display()
            ),
        };
        if version > (2, 0) {
            bail!(
                "{}: asset.minVersion is {min}; this viewer reads glTF 2.0",
                path.display()
            );
        }
    }
    if let Some(name) = document.extensions_required().next() {
        bail!(
            "{}: extensionsRequired names {name}, which this viewer does not implement",
            path.display()
        );
    }
    Ok(())
}

/// Loads the glTF or GLB file at `path`.
pub fn load(path: &Path) -> Result<SceneData> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let document = gltf::Gltf::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a valid glTF 2.0 file (.gltf or .glb)",
            path.display()
        )
    })?;
    check_version_and_extensions(&document, path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut buffers = Vec::new();
    for buffer in document.buffers() {
        let mut data = match buffer.source() {
            gltf::buffer::Source::Bin => document.blob.clone().ok_or_else(|| {
                anyhow!(
                    "{}: buffer {} needs a GLB binary chunk, and there is none",
                    path.display(),
                    buffer.index()
                )
            })?,
            gltf::buffer::Source::Uri(uri) => read_uri(uri, base, path)?,
        };
        if data.len() < buffer.length() {
            bail!(
                "{}: buffer {} has {} bytes, the file says {} (truncated?)",
                path.display(),
                buffer.index(),
                data.len(),
                buffer.length()
            );
        }
        data.truncate(buffer.length());
        buffers.push(data);
    }

    let mut scene = SceneData {
        name: path
            .file_name()
            .map_or_else(|| "gltf".into(), |n| n.to_string_lossy().into_owned()),
        ..SceneData::default()
    };
    // Images, still encoded.
    let mut image_texture = HashMap::new();
    for image in document.images() {
        let bytes = match image.source() {
            gltf::image::Source::View { view, .. } => {
                let buffer = &buffers[view.buffer().index()];
                let end = view.offset() + view.length();
                buffer
                    .get(view.offset()..end)
                    .ok_or_else(|| {
                        anyhow!(
                            "{}: image {} lies outside its buffer",
                            path.display(),
                            image.index()
                        )
                    })?
                    .to_vec()
            }
            gltf::image::Source::Uri { uri, .. } => read_uri(uri, base, path)?,
        };
        image_texture.insert(image.index(), scene.textures.len());
        scene.textures.push(TextureInput::Encoded {
            what: format!(
                "{}: image {}{}",
                path.display(),
                image.index(),
                image.name().map(|n| format!(" ({n})")).unwrap_or_default()
            ),
            bytes,
        });
    }
    // Materials; index `len` is the default (white) one, made on demand.
    let mut default_material = None;
    let mut material_index = HashMap::new();
    for material in document.materials() {
        let pbr = material.pbr_metallic_roughness();
        let (texture, sampler_desc) = match pbr.base_color_texture() {
            Some(info) => {
                let texture = info.texture();
                let index = image_texture[&texture.source().index()];
                (index, sampler(&texture))
            }
            None => {
                let name = format!("material {} colour", material.index().unwrap_or(0));
                (
                    scene.solid_texture(&name, srgb_texel(pbr.base_color_factor())),
                    SamplerDesc::default(),
                )
            }
        };
        material_index.insert(material.index(), scene.materials.len());
        scene.materials.push(MaterialData {
            name: material.name().unwrap_or("material").to_owned(),
            texture,
            sampler: sampler_desc,
        });
    }
    // Meshes: one of ours per triangle primitive.
    let mut primitives: HashMap<usize, Vec<(usize, Option<usize>)>> = HashMap::new();
    for mesh in document.meshes() {
        for primitive in mesh.primitives() {
            if primitive.mode() != gltf::mesh::Mode::Triangles {
                tracing::warn!(file = %path.display(), mesh = mesh.index(), mode = ?primitive.mode(), "skipping a non-triangle primitive");
                continue;
            }
            let reader = primitive.reader(|b| buffers.get(b.index()).map(Vec::as_slice));
            let positions: Vec<[f32; 3]> = reader
                .read_positions()
                .ok_or_else(|| {
                    anyhow!(
                        "{}: mesh {} has a primitive without POSITION",
                        path.display(),
                        mesh.index()
                    )
                })?
                .collect();
            let mut vertices: Vec<Vertex> = positions
                .iter()
                .map(|&position| Vertex {
                    position,
                    ..Vertex::default()
                })
                .collect();
            if let Some(uvs) = reader.read_tex_coords(0) {
                for (v, uv) in vertices.iter_mut().zip(uvs.into_f32()) {
                    v.uv = uv;
                }
            }
            let indices: Vec<u32> = match reader.read_indices() {
                Some(indices) => indices.into_u32().collect(),
                None => (0..vertices.len() as u32).collect(),
            };
            if let Some(&bad) = indices.iter().find(|&&i| i as usize >= vertices.len()) {
                bail!(
                    "{}: mesh {} indexes vertex {bad} of {}",
                    path.display(),
                    mesh.index(),
                    vertices.len()
                );
            }
            match reader.read_normals() {
                Some(normals) => {
                    for (v, n) in vertices.iter_mut().zip(normals) {
                        v.normal = n;
                    }
                }
                None => flat_normals(&mut vertices, &indices),
            }
            let indices = if vertices.len() <= usize::from(u16::MAX) {
                Indices::U16(indices.iter().map(|&i| i as u16).collect())
            } else {
                Indices::U32(indices)
            };
            primitives
                .entry(mesh.index())
                .or_default()
                .push((scene.meshes.len(), primitive.material().index()));
            scene.meshes.push(MeshData {
                name: format!(
                    "{} primitive {}",
                    mesh.name().unwrap_or("mesh"),
                    primitive.index()
                ),
                vertices,
                indices,
            });
        }
    }
    // Nodes of the default scene (or the first, or every root when the file has no scene).
    let roots: Vec<gltf::Node<'_>> = match document
        .default_scene()
        .or_else(|| document.scenes().next())
    {
        Some(s) => s.nodes().collect(),
        None => document.nodes().collect(),
    };
    let mut stack: Vec<(gltf::Node<'_>, Mat4)> =
        roots.into_iter().map(|n| (n, Mat4::IDENTITY)).collect();
    let mut visited = 0usize;
    while let Some((node, parent)) = stack.pop() {
        visited += 1;
        if visited > document.nodes().len() * 4 + 16 {
            bail!("{}: the node hierarchy has a cycle", path.display());
        }
        let transform = parent.mul(&Mat4(node.transform().matrix()));
        if let Some(mesh) = node.mesh() {
            for &(mesh_index, material) in primitives.get(&mesh.index()).into_iter().flatten() {
                let material = match material {
                    Some(m) => material_index[&Some(m)],
                    None => *default_material.get_or_insert_with(|| {
                        let texture = scene.solid_texture("default white", [255; 4]);
                        scene.materials.push(MaterialData {
                            name: "default".into(),
                            texture,
                            sampler: SamplerDesc::default(),
                        });
                        scene.materials.len() - 1
                    }),
                };
                scene.draws.push(Draw {
                    mesh: mesh_index,
                    material,
                    transform,
                });
            }
        }
        for child in node.children() {
            stack.push((child, transform));
        }
    }
    if scene.draws.is_empty() {
        bail!(
            "{}: the scene draws nothing (no node with a triangle mesh)",
            path.display()
        );
    }
    Ok(scene)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file that needs a later glTF or an extension the viewer lacks is refused by name, with
    /// the file named; a 2.0 minimum loads on.
    #[test]
    fn min_version_above_2_0_and_unknown_required_extensions_are_refused() {
        let dir = std::env::temp_dir().join(format!("gltf-version-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let load_json = |name: &str, json: &str| {
            let path = dir.join(name);
            std::fs::write(&path, json).unwrap();
            load(&path).map(|_| ()).map_err(|e| format!("{e:#}"))
        };
        let err = load_json(
            "later.gltf",
            r#"{"asset":{"version":"2.0","minVersion":"2.1"}}"#,
        )
        .unwrap_err();
        assert!(
            err.contains("later.gltf") && err.contains("minVersion is 2.1"),
            "{err}"
        );
        let err = load_json(
            "garbled.gltf",
            r#"{"asset":{"version":"2.0","minVersion":"two"}}"#,
        )
        .unwrap_err();
        assert!(err.contains("is not MAJOR.MINOR"), "{err}");
        let err = load_json(
            "needs.gltf",
            r#"{"asset":{"version":"2.0"},"extensionsUsed":["KHR_draco_mesh_compression"],"extensionsRequired":["KHR_draco_mesh_compression"]}"#,
        )
        .unwrap_err();
        assert!(err.contains("KHR_draco_mesh_compression"), "{err}");
        // A 2.0 minimum passes this check (the empty file then fails for having no scene).
        let err = load_json(
            "plain.gltf",
            r#"{"asset":{"version":"2.0","minVersion":"2.0"}}"#,
        )
        .unwrap_err();
        assert!(!err.contains("minVersion"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn percent_escapes_are_undone_in_relative_uris() {
        assert_eq!(percent_decode("my%20tex.png"), PathBuf::from("my tex.png"));
        assert_eq!(percent_decode("a%2"), PathBuf::from("a%2"));
    }

    #[test]
    fn base_colour_factors_are_encoded_as_srgb() {
        assert_eq!(srgb_texel([1.0, 0.0, 0.2158, 1.0]), [255, 0, 128, 255]);
    }
}
