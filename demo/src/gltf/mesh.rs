//! glTF primitives as the viewer's meshes: every mode (strips, fans and loops become lists),
//! u8/u16/u32 indices, sparse and normalized attributes, flat normals where a triangle
//! primitive has none (as glTF requires), and MikkTSpace tangents where a normal-mapped one
//! has none (as glTF recommends).

use gltf::mesh::Mode;
use gltf::Semantic;

use super::document::Source;
use super::LoadError;
use crate::scene::{Indices, MeshData, Topology, Vertex};

/// The attribute's name as the file spells it.
fn semantic_name(semantic: &Semantic) -> String {
    match semantic {
        Semantic::Positions => "POSITION".into(),
        Semantic::Normals => "NORMAL".into(),
        Semantic::Tangents => "TANGENT".into(),
        Semantic::Colors(n) => format!("COLOR_{n}"),
        Semantic::TexCoords(n) => format!("TEXCOORD_{n}"),
        Semantic::Joints(n) => format!("JOINTS_{n}"),
        Semantic::Weights(n) => format!("WEIGHTS_{n}"),
        #[allow(unreachable_patterns)]
        other => format!("{other:?}"),
    }
}

/// `indices` (in `mode`'s order) as a list of `topology`: glTF's strip and fan orders (3.7.2.1),
/// a loop closed by its last segment. Trailing indices that make no whole primitive are dropped.
pub fn to_list(mode: Mode, indices: &[u32]) -> (Topology, Vec<u32>) {
    let n = indices.len();
    match mode {
        Mode::Points => (Topology::Points, indices.to_vec()),
        Mode::Lines => (Topology::Lines, indices[..n - n % 2].to_vec()),
        Mode::LineStrip | Mode::LineLoop => {
            let mut out: Vec<u32> = indices.windows(2).flatten().copied().collect();
            if mode == Mode::LineLoop && n > 2 {
                out.extend([indices[n - 1], indices[0]]);
            }
            (Topology::Lines, out)
        }
        Mode::Triangles => (Topology::Triangles, indices[..n - n % 3].to_vec()),
        Mode::TriangleStrip => {
            let out = (0..n.saturating_sub(2))
                .flat_map(|i| {
                    let odd = i % 2;
                    [indices[i], indices[i + 1 + odd], indices[i + 2 - odd]]
                })
                .collect();
            (Topology::Triangles, out)
        }
        Mode::TriangleFan => {
            let out = (1..n.saturating_sub(1))
                .flat_map(|i| [indices[i], indices[i + 1], indices[0]])
                .collect();
            (Topology::Triangles, out)
        }
    }
}

/// One vertex per index (flat shading and per-corner tangents need corners of their own).
fn unweld(vertices: &[Vertex], indices: &[u32]) -> Vec<Vertex> {
    indices.iter().map(|&i| vertices[i as usize]).collect()
}

/// Each triangle's face normal on its three (unwelded) corners.
fn flat_normals(vertices: &mut [Vertex]) {
    for tri in vertices.chunks_exact_mut(3) {
        let p = [tri[0].position, tri[1].position, tri[2].position];
        let e1: [f32; 3] = std::array::from_fn(|k| p[1][k] - p[0][k]);
        let e2: [f32; 3] = std::array::from_fn(|k| p[2][k] - p[0][k]);
        let n = [
            e1[1] * e2[2] - e1[2] * e2[1],
            e1[2] * e2[0] - e1[0] * e2[2],
            e1[0] * e2[1] - e1[1] * e2[0],
        ];
        let l = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        let n = if l > 0.0 {
            n.map(|c| c / l)
        } else {
            [0.0, 0.0, 1.0]
        };
        for v in tri {
            v.normal = n;
        }
    }
}

/// Unwelded triangles seen by MikkTSpace, through texture coordinate set `uv`.
struct Corners<'a> {
    vertices: &'a mut [Vertex],
    uv: usize,
}

impl mikktspace::Geometry for Corners<'_> {
    fn num_faces(&self) -> usize {
        self.vertices.len() / 3
    }
    fn num_vertices_of_face(&self, _face: usize) -> usize {
        3
    }
    fn position(&self, face: usize, vert: usize) -> [f32; 3] {
        self.vertices[face * 3 + vert].position
    }
    fn normal(&self, face: usize, vert: usize) -> [f32; 3] {
        self.vertices[face * 3 + vert].normal
    }
    fn tex_coord(&self, face: usize, vert: usize) -> [f32; 2] {
        // MikkTSpace's bitangent follows +V; glTF's V runs down the image while its normal maps'
        // +Y points up it, so V is flipped going in (as Blender's exporter does coming out).
        let [u, v] = self.vertices[face * 3 + vert].uv[self.uv];
        [u, 1.0 - v]
    }
    fn set_tangent_encoded(&mut self, tangent: [f32; 4], face: usize, vert: usize) {
        self.vertices[face * 3 + vert].tangent = tangent;
    }
}

/// One vertex's JOINTS_0 and WEIGHTS_0.
pub type Influence = ([u16; 4], [f32; 4]);

/// A primitive as read: its mesh, and each vertex's influences when it is skinned.
pub type Read = (MeshData, Option<Vec<Influence>>);

/// Reads primitive `primitive` of `mesh` (`tangent_uv`: the coordinate set of its material's
/// normal texture, when it has one), with each vertex's joint influences when it has them.
/// `None` when it has too few indices to draw anything.
pub fn read(
    source: &Source,
    mesh: &gltf::Mesh<'_>,
    primitive: &gltf::Primitive<'_>,
    tangent_uv: Option<u32>,
) -> Result<Option<Read>, LoadError> {
    let at = format!("meshes[{}].primitives[{}]", mesh.index(), primitive.index());
    let Some(position) = primitive.get(&Semantic::Positions) else {
        return Err(source.invalid(format!("{at}.attributes"), "has no POSITION"));
    };
    let count = position.count();
    for (semantic, accessor) in primitive.attributes() {
        let attribute_at = format!("{at}.attributes.{}", semantic_name(&semantic));
        source.check_accessor(&accessor, &attribute_at)?;
        if accessor.count() != count {
            return Err(source.invalid(
                attribute_at,
                format!(
                    "has {} elements, POSITION has {count} (all attributes of a primitive \
                     must have the same count)",
                    accessor.count()
                ),
            ));
        }
    }
    let reader = primitive.reader(|b| source.buffers.get(b.index()).map(Vec::as_slice));
    let unreadable = |name: &str| {
        source.invalid(
            format!("{at}.attributes.{name}"),
            "has a component type or shape glTF does not allow for it",
        )
    };
    let mut vertices: Vec<Vertex> = reader
        .read_positions()
        .ok_or_else(|| unreadable("POSITION"))?
        .map(|position| Vertex {
            position,
            ..Vertex::default()
        })
        .collect();
    let has_normals = primitive.get(&Semantic::Normals).is_some();
    if has_normals {
        let normals = reader.read_normals().ok_or_else(|| unreadable("NORMAL"))?;
        for (v, n) in vertices.iter_mut().zip(normals) {
            v.normal = n;
        }
    }
    let has_tangents = primitive.get(&Semantic::Tangents).is_some();
    if has_tangents {
        let tangents = reader
            .read_tangents()
            .ok_or_else(|| unreadable("TANGENT"))?;
        for (v, t) in vertices.iter_mut().zip(tangents) {
            v.tangent = t;
        }
    }
    for set in 0..2 {
        if primitive.get(&Semantic::TexCoords(set)).is_none() {
            continue;
        }
        let uvs = reader
            .read_tex_coords(set)
            .ok_or_else(|| unreadable(&format!("TEXCOORD_{set}")))?;
        for (v, uv) in vertices.iter_mut().zip(uvs.into_f32()) {
            v.uv[set as usize] = uv;
        }
    }
    if primitive.get(&Semantic::Colors(0)).is_some() {
        let colors = reader.read_colors(0).ok_or_else(|| unreadable("COLOR_0"))?;
        for (v, c) in vertices.iter_mut().zip(colors.into_rgba_f32()) {
            v.color = c;
        }
    }
    let mut influences: Option<Vec<Influence>> = None;
    if primitive.get(&Semantic::Joints(0)).is_some()
        && primitive.get(&Semantic::Weights(0)).is_some()
    {
        let joints = reader
            .read_joints(0)
            .ok_or_else(|| unreadable("JOINTS_0"))?;
        let weights = reader
            .read_weights(0)
            .ok_or_else(|| unreadable("WEIGHTS_0"))?;
        influences = Some(joints.into_u16().zip(weights.into_f32()).collect());
    }
    let indices: Vec<u32> = match primitive.indices() {
        Some(accessor) => {
            let indices_at = format!("{at}.indices");
            source.check_accessor(&accessor, &indices_at)?;
            let (type_name, restart) = match accessor.data_type() {
                gltf::accessor::DataType::U8 => ("UNSIGNED_BYTE", u32::from(u8::MAX)),
                gltf::accessor::DataType::U16 => ("UNSIGNED_SHORT", u32::from(u16::MAX)),
                gltf::accessor::DataType::U32 => ("UNSIGNED_INT", u32::MAX),
                other => {
                    return Err(source.invalid(
                        indices_at,
                        format!("indices of component type {other:?}: glTF allows unsigned ones"),
                    ))
                }
            };
            let indices: Vec<u32> = reader
                .read_indices()
                .ok_or_else(|| source.invalid(&indices_at, "cannot be read"))?
                .into_u32()
                .collect();
            for (i, &index) in indices.iter().enumerate() {
                if index == restart {
                    return Err(source.invalid(
                        indices_at,
                        format!(
                            "element {i} is {index}, the primitive-restart value of \
                             {type_name} indices, which glTF forbids"
                        ),
                    ));
                }
                if index as usize >= vertices.len() {
                    return Err(source.invalid(
                        indices_at,
                        format!(
                            "element {i} is {index}, past the primitive's {} vertices",
                            vertices.len()
                        ),
                    ));
                }
            }
            indices
        }
        None => (0..vertices.len() as u32).collect(),
    };
    let (topology, mut indices) = to_list(primitive.mode(), &indices);
    if indices.is_empty() {
        tracing::warn!(file = %source.file.display(), at, mode = ?primitive.mode(), "too few indices to draw anything: skipped");
        return Ok(None);
    }
    match topology {
        Topology::Triangles => {
            let tangents = tangent_uv.filter(|_| !has_tangents);
            if !has_normals || tangents.is_some() {
                vertices = unweld(&vertices, &indices);
                influences =
                    influences.map(|all| indices.iter().map(|&i| all[i as usize]).collect());
                indices = (0..vertices.len() as u32).collect();
            }
            if !has_normals {
                flat_normals(&mut vertices);
            }
            if let Some(uv) = tangents {
                let generated = mikktspace::generate_tangents(&mut Corners {
                    vertices: &mut vertices,
                    uv: uv as usize,
                });
                if !generated {
                    tracing::warn!(file = %source.file.display(), at, "MikkTSpace made no tangents: the normal map is drawn with default ones");
                }
            }
        }
        // Lines and points without normals are drawn unlit (a zero normal says so).
        Topology::Lines | Topology::Points if !has_normals => {
            for v in &mut vertices {
                v.normal = [0.0; 3];
            }
        }
        Topology::Lines | Topology::Points => {}
    }
    let indices = if vertices.len() <= usize::from(u16::MAX) {
        Indices::U16(indices.iter().map(|&i| i as u16).collect())
    } else {
        Indices::U32(indices)
    };
    let data = MeshData {
        name: format!(
            "{} primitive {}",
            mesh.name().unwrap_or("mesh"),
            primitive.index()
        ),
        vertices,
        indices,
        topology,
    };
    Ok(Some((data, influences)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_fans_and_loops_become_lists_in_gltf_order() {
        let idx = [0, 1, 2, 3, 4];
        assert_eq!(
            to_list(Mode::TriangleStrip, &idx),
            (Topology::Triangles, vec![0, 1, 2, 1, 3, 2, 2, 3, 4])
        );
        assert_eq!(
            to_list(Mode::TriangleFan, &idx),
            (Topology::Triangles, vec![1, 2, 0, 2, 3, 0, 3, 4, 0])
        );
        assert_eq!(
            to_list(Mode::LineLoop, &[0, 1, 2]),
            (Topology::Lines, vec![0, 1, 1, 2, 2, 0])
        );
        assert_eq!(
            to_list(Mode::LineStrip, &[0, 1, 2]),
            (Topology::Lines, vec![0, 1, 1, 2])
        );
        assert_eq!(
            to_list(Mode::Triangles, &idx),
            (Topology::Triangles, vec![0, 1, 2])
        );
        assert_eq!(
            to_list(Mode::Lines, &idx),
            (Topology::Lines, vec![0, 1, 2, 3])
        );
        assert!(to_list(Mode::TriangleStrip, &[0, 1]).1.is_empty());
        assert!(to_list(Mode::TriangleFan, &[]).1.is_empty());
    }

    #[test]
    fn flat_normals_face_the_counter_clockwise_side() {
        let mut v = [Vertex::default(); 3];
        v[0].position = [0.0, 0.0, 0.0];
        v[1].position = [1.0, 0.0, 0.0];
        v[2].position = [0.0, 1.0, 0.0];
        flat_normals(&mut v);
        assert!(v.iter().all(|v| v.normal == [0.0, 0.0, 1.0]));
    }
}
