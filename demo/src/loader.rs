//! Loading a scene on a background thread: read or build its data, decode its images on worker
//! threads, then create and upload its meshes and materials through the systems. The render
//! thread keeps drawing the current scene and polls for the result.
//!
//! A load that fails halfway destroys what it had made for the scene before it reports.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _, Result};
use ash::vk;
use vkup_allocator::Allocator;
use vkup_staging::Access;

use crate::material_system::MaterialSystem;
use crate::mesh_system::{self, MeshSystem};
use crate::scene::{
    Bounds, Draw, Encoding, SceneData, SceneId, TextureData, TextureInput, TextureShape, BASE_COLOR,
};
use crate::upload::{BufferJob, TextureJob, UploadStats, Uploader};

/// Where a scene comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SceneSource {
    /// A built-in procedural scene, by name.
    Builtin(String),
    /// A glTF or GLB file.
    File(PathBuf),
}

impl SceneSource {
    pub fn name(&self) -> String {
        match self {
            Self::Builtin(name) => name.clone(),
            Self::File(path) => path.display().to_string(),
        }
    }
}

/// A loaded scene: what the render thread needs to draw it.
#[derive(Clone, Debug)]
pub struct LoadedScene {
    pub id: SceneId,
    pub name: String,
    /// Draws with mesh and material indices into the systems' lists for `id`.
    pub draws: Vec<Draw>,
    pub bounds: Bounds,
    /// What the camera frames ([`SceneData::fit_points`]).
    pub fit_points: Vec<[f32; 3]>,
    /// Where the camera looks from first (towards the eye): the built-ins' three-quarter view,
    /// a file's front (+Z, glTF's front, as the Asset Generator's references show it).
    pub view: [f32; 3],
    /// The levels of the texture the viewer shows (0 without one), and the one it shows (`None`:
    /// the level the sampler picks).
    pub levels: u32,
    pub level: Option<u32>,
    pub timings: LoadTimings,
}

/// Where a load's time went.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadTimings {
    /// Building or reading the scene data.
    pub build: Duration,
    /// Decoding images (worker threads).
    pub decode: Duration,
    pub upload: UploadStats,
    pub total: Duration,
}

impl LoadTimings {
    /// Uploaded bytes per second over the upload time.
    pub fn gb_per_s(&self) -> f64 {
        self.upload.bytes as f64 / self.upload.upload.as_secs_f64().max(1e-9) / 1e9
    }
}

/// What the loader needs from the render side.
#[derive(Clone)]
pub struct LoadContext {
    pub meshes: Arc<MeshSystem>,
    pub materials: Arc<MaterialSystem>,
    pub set_layout: vk::DescriptorSetLayout,
    pub max_texture: u32,
    pub bc_textures: bool,
    /// `--readback DIR`: every texture read back into `DIR/SCENE.N.bin` once loaded.
    pub readback: Option<PathBuf>,
    /// `--decode-first`: images decoded into memory before the upload, not into staging memory.
    pub decode_first: bool,
}

/// A load in progress.
pub struct Loading {
    pub source: SceneSource,
    pub id: SceneId,
    pub started: Instant,
    /// Bytes uploaded so far, and the scene's total once known (0 before).
    pub uploaded: Arc<AtomicU64>,
    pub total: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
    result: mpsc::Receiver<Result<LoadedScene>>,
}

impl Loading {
    /// Uploaded fraction, once the scene's size is known.
    pub fn progress(&self) -> Option<f64> {
        let total = self.total.load(Ordering::Relaxed);
        (total > 0).then(|| self.uploaded.load(Ordering::Relaxed) as f64 / total as f64)
    }

    /// The result, once the load has finished.
    pub fn poll(&mut self) -> Option<Result<LoadedScene>> {
        let result = match self.result.try_recv() {
            Ok(result) => result,
            Err(mpsc::TryRecvError::Empty) => return None,
            Err(mpsc::TryRecvError::Disconnected) => Err(anyhow!("the loader thread died")),
        };
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        Some(result)
    }

    /// Blocks until the load has finished.
    pub fn wait(mut self) -> Result<LoadedScene> {
        let result = self
            .result
            .recv()
            .unwrap_or_else(|_| Err(anyhow!("the loader thread died")));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        result
    }
}

/// Starts loading `source` as scene `id` on a new thread, uploading through `uploader` (handed
/// back through `give_back` when done).
pub fn start(
    source: SceneSource,
    id: SceneId,
    context: LoadContext,
    allocator: Arc<Allocator>,
    mut uploader: Uploader,
    give_back: mpsc::Sender<Uploader>,
) -> Loading {
    let (send, result) = mpsc::channel();
    let thread_source = source.clone();
    uploader.progress.store(0, Ordering::Relaxed);
    let uploaded = Arc::clone(&uploader.progress);
    let total = Arc::new(AtomicU64::new(0));
    let thread_total = Arc::clone(&total);
    let thread = std::thread::Builder::new()
        .name(format!("load {}", source.name()))
        .spawn(move || {
            // A parser that panics (the `gltf` crate does on some malformed files) must not take
            // the uploader (its staging ring, semaphores and command pools) down with the thread,
            // nor leave the scene's resources behind: the panic becomes this load's error.
            let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                load(
                    &thread_source,
                    id,
                    &context,
                    &allocator,
                    &mut uploader,
                    &thread_total,
                )
            }))
            .unwrap_or_else(|panic| {
                // The load stopped wherever it was: let the GPU finish what it had submitted
                // before the cleanup below destroys what that work uses.
                let waited = uploader.wait_idle();
                let error = anyhow!(
                    "loading {}: the loader panicked: {}",
                    thread_source.name(),
                    panic_message(panic.as_ref())
                );
                Err(match waited {
                    Ok(()) => error,
                    Err(wait) => error.context(wait),
                })
            });
            if loaded.is_err() {
                // Nothing of a failed scene survives: what it made is destroyed now (the uploader
                // waited for its own submissions; the render thread never saw this scene).
                // SAFETY: no GPU work uses them (see above).
                unsafe {
                    mesh_system::destroy_meshes(&allocator, context.meshes.take_scene(id));
                    context
                        .materials
                        .destroy(&allocator, context.materials.take_scene(id));
                }
            }
            let _ = give_back.send(uploader);
            let _ = send.send(loaded);
        });
    let (thread, result) = match thread {
        Ok(thread) => (Some(thread), result),
        Err(err) => {
            let (send, result) = mpsc::channel();
            let _ = send.send(Err(anyhow!("cannot start a loader thread: {err}")));
            (None, result)
        }
    };
    Loading {
        source,
        id,
        started: Instant::now(),
        uploaded,
        total,
        thread,
        result,
    }
}

/// What a caught panic said, where it said it as a string.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Reads every encoded texture's header (its pixels are decoded into staging memory as it
/// uploads), or with `first` decodes it on worker threads.
fn decode(textures: Vec<TextureInput>, max: u32, first: bool) -> Result<Vec<TextureData>> {
    // Reading headers (the upload decodes in place) and passing ready textures through take
    // microseconds each, less than starting the workers: threads only for whole decodes.
    let decodes = first
        && textures
            .iter()
            .any(|t| matches!(t, TextureInput::Encoded { .. }));
    if !decodes {
        return textures
            .into_iter()
            .map(|input| decode_one(input, max, first))
            .collect();
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let count = textures.len();
    let chunk = count.div_ceil(workers).max(1);
    let mut parts: Vec<Vec<(usize, TextureInput)>> = Vec::new();
    for (i, input) in textures.into_iter().enumerate() {
        if i % chunk == 0 {
            parts.push(Vec::new());
        }
        if let Some(part) = parts.last_mut() {
            part.push((i, input));
        }
    }
    let mut out: Vec<Option<TextureData>> = (0..count).map(|_| None).collect();
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| {
                scope.spawn(move || -> Result<Vec<(usize, TextureData)>> {
                    part.into_iter()
                        .map(|(i, input)| decode_one(input, max, first).map(|t| (i, t)))
                        .collect()
                })
            })
            .collect();
        for handle in handles {
            let decoded = handle
                .join()
                .map_err(|_| anyhow!("an image decoder panicked"))??;
            for (i, texture) in decoded {
                out[i] = Some(texture);
            }
        }
        Ok(())
    })?;
    out.into_iter()
        .map(|t| t.ok_or_else(|| anyhow!("a texture was not decoded")))
        .collect()
}

fn decode_one(input: TextureInput, max: u32, first: bool) -> Result<TextureData> {
    let texture = match input {
        TextureInput::Ready(texture) => texture,
        TextureInput::Encoded { what, bytes, srgb } => {
            let format = if srgb {
                vk::Format::R8G8B8A8_SRGB
            } else {
                vk::Format::R8G8B8A8_UNORM
            };
            let ((width, height), bytes, encoding) = if first {
                let image = image::load_from_memory(&bytes)
                    .with_context(|| {
                        format!("{what} is not a PNG or JPEG image this demo can decode")
                    })?
                    .into_rgba8();
                (image.dimensions(), image.into_raw(), Encoding::Packed)
            } else {
                // Only the header now: the upload decodes it into staging memory.
                (
                    crate::encoded::dimensions(&what, &bytes)?,
                    bytes,
                    Encoding::Image,
                )
            };
            TextureData {
                name: what,
                width,
                height,
                shape: TextureShape::Flat,
                format,
                levels: 1,
                bytes,
                encoding,
            }
        }
    };
    if texture.width > max || texture.height > max {
        anyhow::bail!(
            "{} is {}x{}, larger than this device's {max}x{max} textures",
            texture.name,
            texture.width,
            texture.height
        );
    }
    Ok(texture)
}

fn load(
    source: &SceneSource,
    id: SceneId,
    context: &LoadContext,
    allocator: &Allocator,
    uploader: &mut Uploader,
    total: &AtomicU64,
) -> Result<LoadedScene> {
    let start = Instant::now();
    uploader.stats = UploadStats::default();
    let submitted = uploader.submitted();
    let mut data: SceneData = match source {
        SceneSource::Builtin(name) => crate::procedural::build(name, context.bc_textures)
            .ok_or_else(|| anyhow!("no built-in scene '{name}' (see --list-scenes)"))?,
        SceneSource::File(path)
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("ktx2")) =>
        {
            crate::ktx2::scene(path)?
        }
        SceneSource::File(path) => crate::gltf::load(path)?,
    };
    // Bound to every material slot without a texture (the shader ignores it there).
    let white = data.solid_texture("white", [255; 4], vk::Format::R8G8B8A8_UNORM);
    let built = start.elapsed();
    let bounds = data.bounds();
    let fit_points = data.fit_points();
    let SceneData {
        name,
        meshes,
        textures,
        materials,
        draws,
    } = data;
    let decode_start = Instant::now();
    let textures = decode(textures, context.max_texture, context.decode_first)?;
    let decoded = decode_start.elapsed();
    let bytes: usize = meshes
        .iter()
        .map(|m| std::mem::size_of_val(m.vertices.as_slice()) + m.indices.bytes().len())
        .chain(textures.iter().map(|t| t.upload_len() as usize))
        .sum();
    total.store(bytes as u64, Ordering::Relaxed);
    tracing::info!(
        scene = name,
        meshes = meshes.len(),
        textures = textures.len(),
        ?built,
        ?decoded,
        "scene data ready"
    );
    // Every resource first, then one upload of them all (a failure leaves what was made recorded
    // in the systems, which the loader thread destroys).
    let mut mesh_index = Vec::with_capacity(meshes.len());
    let mut buffer_jobs = Vec::with_capacity(2 * meshes.len());
    for mesh in &meshes {
        let (index, vertices, indices) = context.meshes.create(allocator, id, mesh)?;
        mesh_index.push(index);
        buffer_jobs.push(BufferJob {
            target: vertices,
            data: bytemuck::cast_slice(&mesh.vertices),
            access: Access::VertexBuffer,
        });
        buffer_jobs.push(BufferJob {
            target: indices,
            data: mesh.indices.bytes(),
            access: Access::IndexBuffer,
        });
    }
    let mut made = Vec::with_capacity(textures.len());
    for texture in &textures {
        made.push(
            context
                .materials
                .create_texture(allocator, uploader, id, texture)?,
        );
    }
    let texture_jobs: Vec<TextureJob<'_>> = made
        .iter()
        .zip(&textures)
        .map(|(new, texture)| TextureJob {
            target: new.target,
            data: new.decoded.as_ref().map_or(&texture.bytes, |d| &d.bytes),
            encoding: new
                .decoded
                .as_ref()
                .map_or(&texture.encoding, |d| &d.encoding),
            name: &texture.name,
            levels: new.upload_levels,
            generate: new.generate,
        })
        .collect();
    let params = context.materials.create_params(allocator, id, &materials)?;
    if let Some((target, bytes)) = &params {
        buffer_jobs.push(BufferJob {
            target: *target,
            data: bytes,
            access: Access::FragmentShaderUniformRead,
        });
    }
    let (buffer_states, texture_states) = uploader.scene(allocator, &buffer_jobs, &texture_jobs)?;
    for (&index, states) in mesh_index.iter().zip(buffer_states.chunks_exact(2)) {
        context.meshes.uploaded(id, index, states[0], states[1]);
    }
    if params.is_some() {
        if let Some(&state) = buffer_states.last() {
            context.materials.params_uploaded(id, state);
        }
    }
    for (new, &state) in made.iter().zip(&texture_states) {
        context.materials.uploaded(id, new.index, state);
    }
    let texture_index: Vec<usize> = made.iter().map(|n| n.index).collect();
    let texture_levels: Vec<u32> = made.iter().map(|n| n.levels).collect();
    // The texture viewer's texture: its levels can be picked one by one.
    let levels = materials
        .iter()
        .filter(|m| m.viewer.is_some())
        .filter_map(|m| {
            m.textures[BASE_COLOR].and_then(|slot| texture_levels.get(slot.texture).copied())
        })
        .max()
        .unwrap_or(0);
    context.materials.create_materials(
        id,
        &materials,
        &texture_index,
        white,
        context.set_layout,
    )?;
    if let Some(dir) = &context.readback {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let textures = context.materials.texture_states(id);
        for (n, (image, state)) in textures.into_iter().enumerate() {
            let bytes = uploader.read_back(allocator, image, state)?;
            let file = dir.join(format!("{name}.{n}.bin"));
            std::fs::write(&file, bytes)
                .with_context(|| format!("writing the readback {}", file.display()))?;
        }
    }
    let draws = draws
        .into_iter()
        .map(|d| Draw {
            mesh: mesh_index[d.mesh],
            ..d
        })
        .collect();
    uploader.stats.submissions = uploader.submitted() - submitted;
    let timings = LoadTimings {
        build: built,
        decode: decoded,
        upload: uploader.stats,
        total: start.elapsed(),
    };
    tracing::info!(
        scene = name,
        mib = timings.upload.bytes as f64 / (1 << 20) as f64,
        decode_ms = decoded.as_secs_f64() * 1e3,
        upload_ms = timings.upload.upload.as_secs_f64() * 1e3,
        mips_ms = timings.upload.mips.as_secs_f64() * 1e3,
        mips_cpu_ms = timings.upload.mips_cpu.as_secs_f64() * 1e3,
        gb_per_s = timings.gb_per_s(),
        total_ms = timings.total.as_secs_f64() * 1e3,
        submissions = timings.upload.submissions,
        largest_slice = timings.upload.largest_slice,
        "scene loaded"
    );
    let view = match source {
        SceneSource::Builtin(_) => {
            let (yaw, pitch) = (0.6f32, 0.45f32);
            [
                pitch.cos() * yaw.sin(),
                pitch.sin(),
                pitch.cos() * yaw.cos(),
            ]
        }
        SceneSource::File(_) => [0.0, 0.0, 1.0],
    };
    Ok(LoadedScene {
        id,
        name,
        draws,
        bounds,
        fit_points,
        view,
        levels,
        level: None,
        timings,
    })
}
