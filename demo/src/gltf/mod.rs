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
mod skin;

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
    // Every drawable primitive of every mesh, added to the scene when a node draws it.
    struct Primitive {
        data: crate::scene::MeshData,
        influences: Option<Vec<mesh::Influence>>,
        material: usize,
        at: String,
        /// Its index in the scene's meshes, once an unskinned node draws it.
        unskinned: Option<usize>,
    }
    let mut primitives: HashMap<usize, Vec<Primitive>> = HashMap::new();
    let mut skipped = 0usize;
    for mesh in document.meshes() {
        for primitive in mesh.primitives() {
            let material = primitive.material().index().unwrap_or(default_material);
            let tangent_uv = materials
                .get(material)
                .and_then(|m| m.textures[NORMAL])
                .map(|slot| slot.tex_coord);
            let Some((data, influences)) = mesh::read(&source, &mesh, &primitive, tangent_uv)?
            else {
                skipped += 1;
                continue;
            };
            primitives.entry(mesh.index()).or_default().push(Primitive {
                data,
                influences,
                material,
                at: format!("meshes[{}].primitives[{}]", mesh.index(), primitive.index()),
                unskinned: None,
            });
        }
    }
    let globals = skin::global_transforms(&source)?;
    let mut joint_matrices: HashMap<usize, Vec<Mat4>> = HashMap::new();
    let mut default_used = false;
    // Nodes of the default scene (or the first, or every root when the file has no scene).
    let roots: Vec<gltf::Node<'_>> = match document
        .default_scene()
        .or_else(|| document.scenes().next())
    {
        Some(s) => s.nodes().collect(),
        None => document.nodes().collect(),
    };
    let mut stack: Vec<gltf::Node<'_>> = roots;
    let mut visited = 0usize;
    while let Some(node) = stack.pop() {
        visited += 1;
        if visited > document.nodes().len() * 4 + 16 {
            return Err(source.invalid(
                format!("nodes[{}].children", node.index()),
                "the node hierarchy has a cycle",
            ));
        }
        let transform = globals[node.index()];
        if let Some(mesh) = node.mesh() {
            let skin = node.skin();
            if let Some(skin) = &skin {
                if let std::collections::hash_map::Entry::Vacant(entry) =
                    joint_matrices.entry(skin.index())
                {
                    entry.insert(skin::joint_matrices(&source, skin, &globals)?);
                }
            }
            for primitive in primitives.get_mut(&mesh.index()).into_iter().flatten() {
                default_used |= primitive.material == default_material;
                let skinned = skin.as_ref().zip(primitive.influences.as_ref());
                let (mesh_index, transform) = match skinned {
                    // Posed by its joints at rest; the node's own transform does not apply
                    // (glTF 3.7.3.3).
                    Some((skin, influences)) => {
                        let posed = skin::pose(
                            &source,
                            &primitive.data,
                            influences,
                            &joint_matrices[&skin.index()],
                            &primitive.at,
                        )?;
                        scene.meshes.push(posed);
                        (scene.meshes.len() - 1, Mat4::IDENTITY)
                    }
                    None => {
                        let index = *primitive.unskinned.get_or_insert_with(|| {
                            scene.meshes.push(primitive.data.clone());
                            scene.meshes.len() - 1
                        });
                        (index, transform)
                    }
                };
                scene.draws.push(Draw {
                    mesh: mesh_index,
                    material: primitive.material,
                    transform,
                });
            }
        }
        stack.extend(node.children());
    }
    if default_used {
        materials.push(crate::scene::MaterialData::new("default"));
    }
    scene.materials = materials;
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

    /// A one-quad file: POSITION (4 x VEC3 float, bytes 0..48) and u16 indices (bytes 48..60)
    /// in one base64 buffer, passed through `edit` (JSON, then buffer bytes) before loading.
    fn quad(
        name: &str,
        edit: impl FnOnce(&mut serde_json::Value, &mut Vec<u8>),
    ) -> Result<SceneData, LoadError> {
        use base64::Engine as _;
        let positions: [[f32; 3]; 4] = [
            [-1.0, -1.0, 0.0],
            [1.0, -1.0, 0.0],
            [1.0, 1.0, 0.0],
            [-1.0, 1.0, 0.0],
        ];
        let indices: [u16; 6] = [0, 1, 2, 0, 2, 3];
        let mut bin: Vec<u8> = bytemuck::cast_slice(&positions).to_vec();
        bin.extend_from_slice(bytemuck::cast_slice(&indices));
        let mut json = serde_json::json!({
            "asset": {"version": "2.0"},
            "scene": 0,
            "scenes": [{"nodes": [0]}],
            "nodes": [{"mesh": 0}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
            "buffers": [{"byteLength": 60}],
            "bufferViews": [
                {"buffer": 0, "byteOffset": 0, "byteLength": 48},
                {"buffer": 0, "byteOffset": 48, "byteLength": 12}
            ],
            "accessors": [
                {"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3",
                 "min": [-1, -1, 0], "max": [1, 1, 0]},
                {"bufferView": 1, "componentType": 5123, "count": 6, "type": "SCALAR"}
            ]
        });
        edit(&mut json, &mut bin);
        json["buffers"][0]["uri"] = format!(
            "data:application/octet-stream;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&bin)
        )
        .into();
        let dir = std::env::temp_dir().join(format!("gltf-quad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
        load(&path)
    }

    /// The JSON path and message of an `Invalid` error, or a panic naming what came instead.
    fn invalid_at(result: Result<SceneData, LoadError>) -> (String, String) {
        match result {
            Err(LoadError::Invalid { at, what, file }) => {
                assert!(file.to_string_lossy().ends_with(".gltf"));
                (at, what)
            }
            Err(other) => panic!("expected an Invalid error, got {other}"),
            Ok(_) => panic!("loaded"),
        }
    }

    #[test]
    fn the_quad_loads_as_written() {
        let scene = quad("plain.gltf", |_, _| {}).unwrap();
        assert_eq!(scene.meshes.len(), 1);
        assert_eq!(scene.meshes[0].indices.len(), 6);
        // Flat normals for a primitive without NORMAL: the quad faces +Z.
        assert!(scene.meshes[0]
            .vertices
            .iter()
            .all(|v| v.normal == [0.0, 0.0, 1.0]));
    }

    /// An animation channel without `node` is valid glTF (an extension may target something
    /// else) that gltf-json refuses: the viewer does not play animations, so it loads anyway.
    #[test]
    fn animations_skins_and_cameras_do_not_stop_a_load() {
        let scene = quad("animated.gltf", |json, _| {
            json["animations"] = serde_json::json!([{
                "channels": [{"sampler": 0, "target": {"path": "translation"}}],
                "samplers": [{"input": 0, "output": 0}]
            }]);
            json["cameras"] = serde_json::json!([{"type": "perspective",
                "perspective": {"yfov": 0.8, "znear": 0.1}}]);
        })
        .unwrap();
        assert_eq!(scene.draws.len(), 1);
    }

    #[test]
    fn accessors_past_their_view_name_the_attribute_that_uses_them() {
        let (at, what) = invalid_at(quad("count.gltf", |json, _| {
            json["accessors"][0]["count"] = 5.into();
        }));
        assert_eq!(at, "meshes[0].primitives[0].attributes.POSITION");
        assert!(
            what.contains("accessors[0]") && what.contains("runs past"),
            "{what}"
        );
        let (at, what) = invalid_at(quad("offset.gltf", |json, _| {
            json["accessors"][1]["byteOffset"] = 2.into();
        }));
        assert_eq!(at, "meshes[0].primitives[0].indices");
        assert!(
            what.contains("runs past the 12 bytes of bufferViews[1]"),
            "{what}"
        );
        let (at, what) = invalid_at(quad("view.gltf", |json, _| {
            json["bufferViews"][1]["byteLength"] = 40.into();
        }));
        assert_eq!(at, "meshes[0].primitives[0].indices");
        assert!(what.contains("bufferViews[1] spans bytes 48..88"), "{what}");
        let (at, what) = invalid_at(quad("stride.gltf", |json, _| {
            json["bufferViews"][0]["byteStride"] = 4.into();
        }));
        assert_eq!(at, "meshes[0].primitives[0].attributes.POSITION");
        assert!(what.contains("byteStride 4"), "{what}");
    }

    #[test]
    fn out_of_range_and_restart_indices_are_refused_with_their_element() {
        let (at, what) = invalid_at(quad("far.gltf", |_, bin| {
            bin[50] = 4; // indices[1] = 4, of 4 vertices
        }));
        assert_eq!(at, "meshes[0].primitives[0].indices");
        assert!(
            what.contains("element 1 is 4, past the primitive's 4 vertices"),
            "{what}"
        );
        let (_, what) = invalid_at(quad("restart.gltf", |_, bin| {
            bin[50] = 0xff;
            bin[51] = 0xff;
        }));
        assert!(
            what.contains("primitive-restart value of UNSIGNED_SHORT"),
            "{what}"
        );
    }

    #[test]
    fn sparse_substitutions_are_applied_and_checked() {
        // Vertex 3 moved to z = 5 by a sparse substitution appended to the buffer.
        let sparse = |index: u16| {
            move |json: &mut serde_json::Value, bin: &mut Vec<u8>| {
                bin.extend_from_slice(&index.to_le_bytes());
                bin.extend_from_slice(&[0, 0]);
                for v in [-1.0f32, 1.0, 5.0] {
                    bin.extend_from_slice(&v.to_le_bytes());
                }
                json["buffers"][0]["byteLength"] = 76.into();
                let views = json["bufferViews"].as_array_mut().unwrap();
                views.push(serde_json::json!({"buffer": 0, "byteOffset": 60, "byteLength": 2}));
                views.push(serde_json::json!({"buffer": 0, "byteOffset": 64, "byteLength": 12}));
                json["accessors"][0]["sparse"] = serde_json::json!({
                    "count": 1,
                    "indices": {"bufferView": 2, "componentType": 5123},
                    "values": {"bufferView": 3}
                });
                json["accessors"][0]["max"] = serde_json::json!([1, 1, 5]);
            }
        };
        let scene = quad("sparse.gltf", sparse(3)).unwrap();
        let moved: Vec<_> = scene.meshes[0]
            .vertices
            .iter()
            .filter(|v| v.position == [-1.0, 1.0, 5.0])
            .collect();
        assert!(!moved.is_empty(), "the substitution was not applied");
        let (at, what) = invalid_at(quad("sparse-far.gltf", sparse(9)));
        assert_eq!(at, "accessors[0].sparse.indices");
        assert!(
            what.contains("element 0 is 9, past the accessor's 4 elements"),
            "{what}"
        );
    }

    #[test]
    fn a_third_texture_coordinate_set_is_refused_by_path() {
        let (at, what) = invalid_at(quad("texcoord.gltf", |json, _| {
            json["meshes"][0]["primitives"][0]["material"] = 0.into();
            json["materials"] = serde_json::json!([{
                "pbrMetallicRoughness": {"baseColorTexture": {"index": 0, "texCoord": 2}}
            }]);
            json["textures"] = serde_json::json!([{"source": 0}]);
            json["images"] = serde_json::json!([{"uri": "never-read.png"}]);
        }));
        assert_eq!(at, "materials[0].pbrMetallicRoughness.baseColorTexture");
        assert!(what.contains("texCoord 2"), "{what}");
    }

    #[test]
    fn a_glb_without_its_magic_is_refused_as_such() {
        let dir = std::env::temp_dir().join(format!("gltf-magic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.glb");
        std::fs::write(&path, b"glTf\x02\0\0\0\x0c\0\0\0").unwrap();
        let err = load(&path).map(|_| ()).unwrap_err();
        assert!(matches!(err, LoadError::NotGltf { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("bad.glb") && text.contains("[67 6c 54 66]"),
            "{text}"
        );
    }

    #[test]
    fn percent_escapes_are_undone_in_relative_uris() {
        use document::percent_decode;
        assert_eq!(percent_decode("my%20tex.png"), PathBuf::from("my tex.png"));
        assert_eq!(percent_decode("a%2"), PathBuf::from("a%2"));
    }
}
