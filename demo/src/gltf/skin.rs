//! Skinned meshes posed at rest on the CPU: each vertex moved by its joints' world transforms
//! times their inverse bind matrices, weighted (glTF 3.7.3). The viewer plays no animation, so
//! this pose is the one it shows; without it a skinned mesh would be drawn in its bind space,
//! which is often folded or edge-on.

use super::document::Source;
use super::mesh::Influence;
use super::LoadError;
use crate::scene::{Mat4, MeshData};

/// Every node's world transform (roots of every tree, not only the scene's: joints may lie
/// outside it).
pub fn global_transforms(source: &Source) -> Result<Vec<Mat4>, LoadError> {
    let document = &source.document;
    let count = document.nodes().len();
    let mut parent = vec![None; count];
    for node in document.nodes() {
        for child in node.children() {
            parent[child.index()] = Some(node.index());
        }
    }
    let mut globals = vec![Mat4::IDENTITY; count];
    let mut stack: Vec<(gltf::Node<'_>, Mat4)> = document
        .nodes()
        .filter(|n| parent[n.index()].is_none())
        .map(|n| (n, Mat4::IDENTITY))
        .collect();
    let mut visited = 0usize;
    while let Some((node, above)) = stack.pop() {
        visited += 1;
        if visited > count {
            return Err(source.invalid(
                format!("nodes[{}].children", node.index()),
                "the node hierarchy has a cycle or a node with two parents",
            ));
        }
        let global = above.mul(&Mat4(node.transform().matrix()));
        globals[node.index()] = global;
        stack.extend(node.children().map(|c| (c, global)));
    }
    Ok(globals)
}

/// `skin`'s joint matrices: each joint's world transform times its inverse bind matrix.
pub fn joint_matrices(
    source: &Source,
    skin: &gltf::Skin<'_>,
    globals: &[Mat4],
) -> Result<Vec<Mat4>, LoadError> {
    let at = format!("skins[{}].inverseBindMatrices", skin.index());
    let joints: Vec<usize> = skin.joints().map(|j| j.index()).collect();
    let inverse: Vec<Mat4> = match skin.inverse_bind_matrices() {
        Some(accessor) => {
            source.check_accessor(&accessor, &at)?;
            if accessor.count() < joints.len() {
                return Err(source.invalid(
                    at,
                    format!(
                        "has {} matrices for {} joints",
                        accessor.count(),
                        joints.len()
                    ),
                ));
            }
            let reader = skin.reader(|b| source.buffers.get(b.index()).map(Vec::as_slice));
            reader
                .read_inverse_bind_matrices()
                .ok_or_else(|| source.invalid(&at, "cannot be read"))?
                .map(Mat4)
                .collect()
        }
        None => vec![Mat4::IDENTITY; joints.len()],
    };
    Ok(joints
        .iter()
        .zip(&inverse)
        .map(|(&joint, inverse)| globals[joint].mul(inverse))
        .collect())
}

/// `data` posed by `joints` (`at`: the primitive's JSON path, for a joint index out of range).
pub fn pose(
    source: &Source,
    data: &MeshData,
    influences: &[Influence],
    joints: &[Mat4],
    at: &str,
) -> Result<MeshData, LoadError> {
    let mut posed = data.clone();
    posed.name = format!("{} (posed)", data.name);
    let apply = |m: &Mat4, v: [f32; 3], w: f32| -> [f32; 3] {
        std::array::from_fn(|r| {
            m.0[0][r] * v[0] + m.0[1][r] * v[1] + m.0[2][r] * v[2] + m.0[3][r] * w
        })
    };
    for (vertex, (ids, weights)) in posed.vertices.iter_mut().zip(influences) {
        let mut position = [0.0f32; 3];
        let mut normal = [0.0f32; 3];
        let mut tangent = [0.0f32; 3];
        for (&id, &weight) in ids.iter().zip(weights) {
            if weight == 0.0 {
                continue;
            }
            let Some(m) = joints.get(usize::from(id)) else {
                return Err(source.invalid(
                    format!("{at}.attributes.JOINTS_0"),
                    format!("names joint {id} of a skin with {}", joints.len()),
                ));
            };
            let p = apply(m, vertex.position, 1.0);
            let n = apply(m, vertex.normal, 0.0);
            let t = apply(
                m,
                [vertex.tangent[0], vertex.tangent[1], vertex.tangent[2]],
                0.0,
            );
            for k in 0..3 {
                position[k] += weight * p[k];
                normal[k] += weight * n[k];
                tangent[k] += weight * t[k];
            }
        }
        let normalize = |v: [f32; 3]| {
            let l = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
            if l > 0.0 {
                v.map(|c| c / l)
            } else {
                v
            }
        };
        vertex.position = position;
        // A zero normal (unlit lines and points) stays zero.
        vertex.normal = normalize(normal);
        let [x, y, z] = normalize(tangent);
        vertex.tangent = [x, y, z, vertex.tangent[3]];
    }
    Ok(posed)
}
