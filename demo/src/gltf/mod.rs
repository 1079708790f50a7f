//! glTF 2.0 scenes: `.gltf` (buffers and images embedded as data URIs or in files beside it) and
//! `.glb`. The node hierarchy with its transforms, every primitive of every mesh
//! ([`mesh`]), metallic-roughness materials with their textures and samplers ([`material`]).
//! Animations, skins and cameras are left out (the scene shows its rest pose), with one info
//! line saying so.
//!
//! Images stay encoded here; the loader decodes them on worker threads. Every error is a
//! [`LoadError`] naming the file and, for bad content, the JSON path of what is wrong
//! (`meshes[0].primitives[1].indices`), found before anything reads out of range.

mod document;
mod material;
mod mesh;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::scene::{Draw, Mat4, SceneData, NORMAL};
use document::Source;

/// Why a glTF file did not load.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: cannot read {}: {source}", file.display(), what.display())]
    Read {
        file: PathBuf,
        /// The glTF file itself, or a buffer or image it names.
        what: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a glTF 2.0 file: {why}", file.display())]
    NotGltf { file: PathBuf, why: String },
    /// Content that breaks a rule of glTF, at a JSON path.
    #[error("{}: {at}: {what}", file.display())]
    Invalid {
        file: PathBuf,
        at: String,
        what: String,
    },
    /// Valid glTF that asks for more than this viewer implements.
    #[error("{}: {what}", file.display())]
    Unsupported { file: PathBuf, what: String },
}

/// Loads the glTF or GLB file at `path`.
pub fn load(path: &Path) -> Result<SceneData, LoadError> {
    let source = Source::read(path)?;
    let document = &source.document;
    if !source.ignored.is_empty() {
        tracing::info!(
            file = %path.display(),
            "not shown: {} (the viewer draws the scene at rest)",
            source.ignored.join(", ")
        );
    }
    let mut scene = SceneData {
        name: path
            .file_name()
            .map_or_else(|| "gltf".into(), |n| n.to_string_lossy().into_owned()),
        ..SceneData::default()
    };
    let mut materials = Vec::new();
    {
        let mut reader = material::Materials::new(&source, &mut scene);
        for m in document.materials() {
            materials.push(reader.material(&m)?);
        }
    }
    // Index `len` is the default material, added when a primitive has none.
    let default_material = materials.len();
    let mut default_used = false;
    // Meshes: one of ours per drawable primitive.
    let mut primitives: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
    let mut skipped = 0usize;
    for mesh in document.meshes() {
        for primitive in mesh.primitives() {
            let material = primitive.material().index().unwrap_or(default_material);
            let tangent_uv = materials
                .get(material)
                .and_then(|m| m.textures[NORMAL])
                .map(|slot| slot.tex_coord);
            let Some(data) = mesh::read(&source, &mesh, &primitive, tangent_uv)? else {
                skipped += 1;
                continue;
            };
            default_used |= material == default_material;
            primitives
                .entry(mesh.index())
                .or_default()
                .push((scene.meshes.len(), material));
            scene.meshes.push(data);
        }
    }
    if default_used {
        materials.push(crate::scene::MaterialData::new("default"));
    }
    scene.materials = materials;
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
            return Err(source.invalid(
                format!("nodes[{}].children", node.index()),
                "the node hierarchy has a cycle",
            ));
        }
        let transform = parent.mul(&Mat4(node.transform().matrix()));
        if let Some(mesh) = node.mesh() {
            for &(mesh_index, material) in primitives.get(&mesh.index()).into_iter().flatten() {
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
        return Err(LoadError::Unsupported {
            file: path.to_owned(),
            what: format!(
                "the scene draws nothing (no node of it has a mesh with a drawable primitive{})",
                if skipped > 0 {
                    format!("; {skipped} had too few indices")
                } else {
                    String::new()
                }
            ),
        });
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
        assert!(err.contains("is not \"MAJOR.MINOR\""), "{err}");
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
        use document::percent_decode;
        assert_eq!(percent_decode("my%20tex.png"), PathBuf::from("my tex.png"));
        assert_eq!(percent_decode("a%2"), PathBuf::from("a%2"));
    }
}
