//! [`MeshSystem`]: the vertex and index buffers of every loaded scene, recorded against the
//! [`SceneId`] that asked for them and destroyed together when that scene unloads.
//!
//! The allocator tracks nothing; this system is where the demo's mesh memory is accounted for.

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::{Context as _, Result};
use ash::vk;
use vkup_allocator::{Allocator, BufferDesc, GpuBuffer};
use vkup_staging::{BufferTarget, ResourceState};

use crate::scene::{Bounds, MeshData, SceneId, Topology};

/// One mesh on the GPU.
pub struct Mesh {
    pub vertices: GpuBuffer,
    pub indices: GpuBuffer,
    pub index_count: u32,
    pub index_type: vk::IndexType,
    pub topology: Topology,
    /// The centre of the vertices' bounds, in object space (blended draws sort by it).
    pub center: [f32; 3],
    /// The states the uploads left the buffers in.
    pub vertex_state: ResourceState,
    pub index_state: ResourceState,
}

/// Meshes per scene. Shared by the loader thread (which creates) and the render thread (which
/// draws and, once the GPU is done, destroys).
#[derive(Default)]
pub struct MeshSystem {
    scenes: Mutex<HashMap<SceneId, Vec<Mesh>>>,
}

impl MeshSystem {
    /// Creates `data`'s buffers for `scene` and records them (their states set once uploaded,
    /// [`MeshSystem::uploaded`]); returns the mesh's index in the scene and the two buffers, for
    /// the scene's upload. On failure what was made for it is destroyed (what the scene made
    /// before stays recorded, for [`MeshSystem::take_scene`]).
    pub fn create(
        &self,
        allocator: &Allocator,
        scene: SceneId,
        data: &MeshData,
    ) -> Result<(usize, BufferTarget, BufferTarget)> {
        let what = || format!("mesh '{}'", data.name);
        let vertex_bytes: &[u8] = bytemuck::cast_slice(&data.vertices);
        let index_bytes = data.indices.bytes();
        let vertices = allocator
            .create_buffer(&BufferDesc::vertex(vertex_bytes.len() as u64).name(&data.name))
            .with_context(what)?;
        let indices = match allocator
            .create_buffer(&BufferDesc::index(index_bytes.len() as u64).name(&data.name))
            .with_context(what)
        {
            Ok(buffer) => buffer,
            Err(err) => {
                // SAFETY: never used by the GPU.
                unsafe { allocator.destroy_buffer(vertices) };
                return Err(err);
            }
        };
        let targets = (BufferTarget::from(&vertices), BufferTarget::from(&indices));
        let mut scenes = self.scenes.lock().unwrap_or_else(|p| p.into_inner());
        let list = scenes.entry(scene).or_default();
        list.push(Mesh {
            vertices,
            indices,
            index_count: data.indices.len() as u32,
            index_type: data.indices.index_type(),
            topology: data.topology,
            center: {
                let mut bounds = Bounds::EMPTY;
                for v in &data.vertices {
                    bounds.add(v.position);
                }
                bounds.center()
            },
            vertex_state: ResourceState::UNDEFINED,
            index_state: ResourceState::UNDEFINED,
        });
        Ok((list.len() - 1, targets.0, targets.1))
    }

    /// Notes the states the scene's upload left mesh `index`'s buffers in.
    pub fn uploaded(
        &self,
        scene: SceneId,
        index: usize,
        vertex_state: ResourceState,
        index_state: ResourceState,
    ) {
        let mut scenes = self.scenes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(mesh) = scenes.get_mut(&scene).and_then(|list| list.get_mut(index)) {
            mesh.vertex_state = vertex_state;
            mesh.index_state = index_state;
        }
    }

    /// Calls `f` with `scene`'s meshes (none when the scene has none).
    pub fn with_scene<R>(&self, scene: SceneId, f: impl FnOnce(&[Mesh]) -> R) -> R {
        let scenes = self.scenes.lock().unwrap_or_else(|p| p.into_inner());
        f(scenes.get(&scene).map_or(&[], Vec::as_slice))
    }

    /// Removes `scene`'s meshes, for destruction once the GPU is done with them.
    pub fn take_scene(&self, scene: SceneId) -> Vec<Mesh> {
        let mut scenes = self.scenes.lock().unwrap_or_else(|p| p.into_inner());
        scenes.remove(&scene).unwrap_or_default()
    }
}

/// Destroys meshes taken from the system.
///
/// # Safety
/// No pending GPU work uses them; `allocator` made them.
pub unsafe fn destroy_meshes(allocator: &Allocator, meshes: Vec<Mesh>) {
    for mesh in meshes {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            allocator.destroy_buffer(mesh.vertices);
            allocator.destroy_buffer(mesh.indices);
        }
    }
}
