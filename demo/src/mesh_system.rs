//! [`MeshSystem`]: the vertex and index buffers of every loaded scene, recorded against the
//! [`SceneId`] that asked for them and destroyed together when that scene unloads.
//!
//! The allocator tracks nothing; this system is where the demo's mesh memory is accounted for.

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::{Context as _, Result};
use ash::vk;
use vkup_allocator::{Allocator, BufferDesc, GpuBuffer};
use vkup_staging::{Access, ResourceState};

use crate::scene::{Bounds, MeshData, SceneId, Topology};
use crate::upload::Uploader;

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
    /// Creates and uploads `data`'s buffers for `scene`; returns the mesh's index in the scene.
    /// On failure the buffers made for it are destroyed (what the scene made before stays
    /// recorded, for [`MeshSystem::take_scene`]).
    pub fn create(
        &self,
        allocator: &Allocator,
        uploader: &mut Uploader,
        scene: SceneId,
        data: &MeshData,
    ) -> Result<usize> {
        let what = || format!("mesh '{}'", data.name);
        let vertex_bytes: &[u8] = bytemuck::cast_slice(&data.vertices);
        let index_bytes = data.indices.bytes();
        let mut vertices = allocator
            .create_buffer(&BufferDesc::vertex(vertex_bytes.len() as u64).name(&data.name))
            .with_context(what)?;
        let mut indices = match allocator
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
        let uploaded = uploader
            .buffer(allocator, &mut vertices, vertex_bytes, Access::VertexBuffer)
            .and_then(|v| {
                uploader
                    .buffer(allocator, &mut indices, index_bytes, Access::IndexBuffer)
                    .map(|i| (v, i))
            });
        let (vertex_state, index_state) = match uploaded {
            Ok(states) => states,
            Err(err) => {
                // SAFETY: the uploader waited for its submissions before reporting the error.
                unsafe {
                    allocator.destroy_buffer(vertices);
                    allocator.destroy_buffer(indices);
                }
                return Err(err.context(what()));
            }
        };
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
            vertex_state,
            index_state,
        });
        Ok(list.len() - 1)
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
