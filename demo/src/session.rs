//! [`Session`]: everything a run of the demo holds, windowed or headless: the context, the
//! systems, the renderer, the scene being shown and the one being loaded, and the scenes waiting
//! for the GPU to finish with them before they are destroyed.

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use ash::vk;
use vkup_allocator::Allocator;

use crate::frame::{Bloom, Presented, Renderer};
use crate::gpu::Gpu;
use crate::loader::{self, LoadContext, LoadedScene, Loading, SceneSource};
use crate::material_system::MaterialSystem;
use crate::mesh_system::{self, MeshSystem};
use crate::scene::{Camera, SceneId};
use crate::swapchain::Swapchain;
use crate::upload::{FrameClock, Uploader};

/// Frame times, split by whether a load was running.
#[derive(Default)]
pub struct FrameTimes {
    pub idle: Vec<f32>,
    pub loading: Vec<f32>,
    /// Where `idle` and `loading` stood when the last load finished: a load's own frames, and
    /// the idle ones before it (drawing the scene it replaces), lie past these.
    since: (usize, usize),
}

/// Median, p99 and max of `times` (ms).
pub fn summary(times: &[f32]) -> Option<(f32, f32, f32)> {
    if times.is_empty() {
        return None;
    }
    let mut sorted = times.to_vec();
    sorted.sort_by(f32::total_cmp);
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    Some((at(0.5), at(0.99), sorted[sorted.len() - 1]))
}

pub struct Session {
    pub gpu: Gpu,
    pub surface: Option<vk::SurfaceKHR>,
    pub allocator: Arc<Allocator>,
    pub meshes: Arc<MeshSystem>,
    pub materials: Arc<MaterialSystem>,
    pub renderer: Renderer,
    pub swapchain: Option<Swapchain>,
    pub stager: vkup_staging::Stager,
    uploader: Option<Uploader>,
    uploader_back: (mpsc::Sender<Uploader>, mpsc::Receiver<Uploader>),
    pub loading: Option<Loading>,
    pub pending: Option<SceneSource>,
    pub current: Option<(LoadedScene, Camera, SceneSource)>,
    retiring: Vec<(u64, SceneId)>,
    next_id: u64,
    /// Live allocations with no scene alive (render target, staging ring).
    pub baseline: u64,
    pub times: FrameTimes,
    last_frame: Option<Instant>,
    /// What `finish_loading` slept since the last frame, to give the loader the CPU: left out
    /// of the frame's time, so a loading frame and an idle one are measured alike.
    slept: Duration,
    /// Load errors so far (a failed load on the command line makes the exit code non-zero).
    pub errors: Vec<String>,
    /// Leak checks that failed (with the allocator's report).
    pub leaks: Vec<String>,
    pub last_load: Option<loader::LoadTimings>,
    last_progress: Instant,
    /// `--view-from`: where the camera looks from, for every scene.
    pub view_from: Option<[f32; 3]>,
    /// `--level`: the level the texture viewer shows first (clamped to the texture's chain).
    pub level: Option<u32>,
    /// `--readback`: where each load's textures are read back to.
    pub readback: Option<PathBuf>,
    /// `--decode-first`: images decoded into memory before their upload.
    pub decode_first: bool,
    /// Counts the frames submitted, for the uploader's budget.
    frames: FrameClock,
}

impl Session {
    /// Builds the systems and renderer on `gpu`, with a target of `extent`.
    pub fn new(
        gpu: Gpu,
        surface: Option<vk::SurfaceKHR>,
        extent: vk::Extent2D,
        bloom: Bloom,
    ) -> Result<Self> {
        let allocator = Arc::new(gpu.allocator()?);
        let mut renderer = Renderer::new(&gpu, true, bloom)?;
        let swapchain = match surface {
            Some(surface) => Some(Swapchain::new(&gpu, surface, extent, None)?),
            None => None,
        };
        let target = swapchain.as_ref().map_or(extent, |s| s.extent);
        renderer.resize(&allocator, target)?;
        let mut uploader = Uploader::new(&gpu, &allocator)?;
        uploader.warm_up(&allocator)?;
        let stager = vkup_staging::Stager::new(&allocator);
        let materials = Arc::new(MaterialSystem::new(
            &gpu.device,
            gpu.anisotropy,
            gpu.properties.limits.min_uniform_buffer_offset_alignment,
        ));
        // What the session itself holds (output image, staging ring); the frame graph's
        // transient memory comes and goes with the frame's shape and is counted separately.
        let baseline = allocator.live_allocations()? - renderer.allocations();
        Ok(Self {
            surface,
            allocator,
            meshes: Arc::new(MeshSystem::default()),
            materials,
            renderer,
            swapchain,
            stager,
            uploader: Some(uploader),
            uploader_back: mpsc::channel(),
            loading: None,
            pending: None,
            current: None,
            retiring: Vec::new(),
            next_id: 1,
            baseline,
            times: FrameTimes::default(),
            last_frame: None,
            slept: Duration::ZERO,
            errors: Vec::new(),
            leaks: Vec::new(),
            last_load: None,
            last_progress: Instant::now(),
            view_from: None,
            level: None,
            readback: None,
            decode_first: false,
            frames: FrameClock::default(),
            gpu,
        })
    }

    /// Asks for `source`: loaded in the background, shown once complete (the current scene
    /// keeps rendering meanwhile). A request during a load waits for it.
    pub fn request(&mut self, source: SceneSource) {
        self.pending = Some(source);
        self.start_pending();
    }

    fn start_pending(&mut self) {
        if self.loading.is_some() {
            return;
        }
        if let Ok(uploader) = self.uploader_back.1.try_recv() {
            self.uploader = Some(uploader);
        }
        if self.pending.is_none() || self.uploader.is_none() {
            return;
        }
        let (Some(source), Some(uploader)) = (self.pending.take(), self.uploader.take()) else {
            return;
        };
        let id = SceneId(self.next_id);
        self.next_id += 1;
        tracing::info!(scene = source.name(), id = id.0, "loading");
        let context = LoadContext {
            meshes: Arc::clone(&self.meshes),
            materials: Arc::clone(&self.materials),
            set_layout: self.renderer.pipeline.set_layout,
            max_texture: self.gpu.properties.limits.max_image_dimension2_d,
            bc_textures: self.gpu.bc_textures,
            readback: self.readback.clone(),
            decode_first: self.decode_first,
        };
        self.loading = Some(loader::start(
            source,
            id,
            context,
            Arc::clone(&self.allocator),
            uploader,
            self.uploader_back.0.clone(),
        ));
    }

    /// Unloads the current scene: its resources go once the frames that drew it complete.
    pub fn unload(&mut self) {
        if let Some((scene, _, _)) = self.current.take() {
            tracing::info!(scene = scene.name, id = scene.id.0, "unloading");
            self.retiring.push((self.renderer.submitted(), scene.id));
        }
    }

    /// Whether a scene is shown, loading, or waiting to be destroyed.
    pub fn busy(&self) -> bool {
        self.loading.is_some() || self.pending.is_some() || !self.retiring.is_empty()
    }

    /// Polls the load and retires scenes the GPU is done with.
    pub fn tick(&mut self) -> Result<()> {
        if let Some(loading) = &self.loading {
            // A long load reports its progress once a second.
            if loading.started.elapsed() > Duration::from_secs(1)
                && self.last_progress.elapsed() > Duration::from_secs(1)
            {
                self.last_progress = Instant::now();
                let progress = loading.progress().unwrap_or(0.0);
                tracing::info!(
                    scene = loading.source.name(),
                    percent = (progress * 100.0).round(),
                    "loading"
                );
            }
        }
        if let Some(loading) = self.loading.as_mut() {
            if let Some(result) = loading.poll() {
                let source = loading.source.clone();
                self.loading = None;
                match result {
                    Ok(mut scene) => {
                        let replaces = self.current.is_some();
                        self.unload();
                        if scene.levels > 0 {
                            scene.level = self.level.map(|l| l.min(scene.levels - 1));
                        }
                        let camera = self.framing(&scene);
                        self.last_load = Some(scene.timings);
                        self.report_frame_times(&scene.name, replaces);
                        self.current = Some((scene, camera, source));
                    }
                    Err(err) => {
                        let message = format!("{err:#}");
                        tracing::error!(scene = source.name(), "load failed: {message}");
                        self.errors.push(message);
                    }
                }
                self.start_pending();
            }
        }
        if self.loading.is_none() {
            self.start_pending();
        }
        let completed = self.renderer.completed()?;
        let (done, waiting): (Vec<_>, Vec<_>) =
            self.retiring.drain(..).partition(|(v, _)| *v <= completed);
        self.retiring = waiting;
        for (_, id) in done {
            self.destroy_scene(id);
        }
        Ok(())
    }

    fn destroy_scene(&mut self, id: SceneId) {
        // SAFETY: every frame that drew the scene has completed (its timeline value passed), and
        // its loader waited for its own uploads.
        unsafe {
            mesh_system::destroy_meshes(&self.allocator, self.meshes.take_scene(id));
            self.materials
                .destroy(&self.allocator, self.materials.take_scene(id));
        }
        let live = self.allocator.live_allocations().unwrap_or(0);
        tracing::info!(
            id = id.0,
            live_allocations = live,
            baseline = self.baseline + self.renderer.allocations(),
            "scene destroyed"
        );
        if self.current.is_none() && !self.busy() {
            self.check_leaks();
        }
    }

    /// A camera that frames `scene` in the current target.
    fn framing(&self, scene: &LoadedScene) -> Camera {
        let aspect = self
            .renderer
            .extent()
            .map_or(16.0 / 9.0, |e| e.width as f32 / e.height.max(1) as f32);
        Camera::framing(
            &scene.bounds,
            &scene.fit_points,
            self.view_from.unwrap_or(scene.view),
            aspect,
        )
    }

    /// Puts the camera back where it frames the current scene (the F key).
    pub fn reframe(&mut self) {
        if let Some((scene, _, _)) = &self.current {
            let camera = self.framing(scene);
            if let Some((_, current, _)) = self.current.as_mut() {
                *current = camera;
            }
        }
    }

    /// Takes the command line's settings for what it shows and checks.
    pub fn configure(&mut self, options: &crate::Options) {
        self.renderer.set_aliasing(!options.no_aliasing);
        self.view_from = options.view_from;
        self.level = options.level;
        self.readback = options.readback.clone();
        self.decode_first = options.decode_first;
        let budget =
            (options.upload_budget > 0.0).then_some((options.upload_budget * 1048576.0) as u64);
        if let Some(uploader) = self.uploader.as_mut() {
            let time = Duration::from_secs_f64(options.upload_budget_ms.max(0.0) / 1e3);
            uploader.budget(budget, time, self.frames.clone());
        }
    }

    /// Steps the level the texture viewer shows (the `[` and `]` keys) by `step` through
    /// "the sampler's pick", 0, 1, ... the last level, and around.
    pub fn step_level(&mut self, step: i64) {
        let Some((scene, _, _)) = self.current.as_mut().filter(|c| c.0.levels > 0) else {
            return;
        };
        // Position 0 is the sampler's pick, n + 1 is level n.
        let positions = i64::from(scene.levels) + 1;
        let at = scene.level.map_or(0, |l| i64::from(l) + 1);
        let next = (at + step).rem_euclid(positions);
        scene.level = u32::try_from(next - 1).ok();
        match scene.level {
            Some(level) => tracing::info!(level, of = scene.levels, "texture viewer: one level"),
            None => tracing::info!(levels = scene.levels, "texture viewer: the sampler's pick"),
        }
    }

    /// Nothing alive: the live count must be the baseline.
    pub fn check_leaks(&mut self) {
        let live = self.allocator.live_allocations().unwrap_or(u64::MAX);
        let expected = self.baseline + self.renderer.allocations();
        if live != expected {
            let report = self
                .allocator
                .leak_report()
                .ok()
                .flatten()
                .map(|r| r.to_string())
                .unwrap_or_default();
            let message = format!(
                "{live} live allocations with no scene alive, {expected} expected:\n{report}"
            );
            tracing::error!("{message}");
            self.leaks.push(message);
        }
    }

    /// Logs the frames drawn while this load ran against the idle ones before it, which drew
    /// what it replaces (nothing for a first load, which logs nothing).
    fn report_frame_times(&mut self, scene: &str, replaces: bool) {
        let (idle, loading) = (
            &self.times.idle[self.times.since.0..],
            &self.times.loading[self.times.since.1..],
        );
        let frames = (idle.len(), loading.len());
        self.times.since = (self.times.idle.len(), self.times.loading.len());
        if let (true, Some(idle), Some(load)) = (replaces, summary(idle), summary(loading)) {
            tracing::info!(
                scene,
                idle_median_ms = idle.0,
                idle_p99_ms = idle.1,
                idle_max_ms = idle.2,
                loading_median_ms = load.0,
                loading_p99_ms = load.1,
                loading_max_ms = load.2,
                idle_frames = frames.0,
                loading_frames = frames.1,
                "frame times while loading against idle"
            );
        }
    }

    /// Recreates the swapchain (and target) for `extent`; nothing while the window is 0x0.
    pub fn resize(&mut self, extent: vk::Extent2D) -> Result<()> {
        if extent.width == 0 || extent.height == 0 {
            return Ok(());
        }
        let (Some(surface), Some(old)) = (self.surface, self.swapchain.take()) else {
            return self.renderer.resize(&self.allocator, extent);
        };
        self.renderer.wait_idle()?;
        let new = Swapchain::new(&self.gpu, surface, extent, Some(&old));
        // SAFETY: every frame completed (waited above); the old swapchain is retired.
        unsafe { old.destroy(&self.gpu.device) };
        let new = new?;
        let target = new.extent;
        self.swapchain = Some(new);
        self.renderer.resize(&self.allocator, target)
    }

    /// Draws one frame; says whether the swapchain went stale.
    pub fn frame(&mut self) -> Result<Presented> {
        let now = Instant::now();
        if let Some(last) = self.last_frame {
            let ms = (now - last).saturating_sub(self.slept).as_secs_f32() * 1e3;
            if self.loading.is_some() {
                self.times.loading.push(ms);
            } else {
                self.times.idle.push(ms);
            }
        }
        self.last_frame = Some(now);
        self.slept = Duration::ZERO;
        let scene = self.current.as_ref().map(|(s, c, _)| (s, c));
        let presented = self.renderer.render(
            &self.allocator,
            scene,
            &self.meshes,
            &self.materials,
            self.swapchain.as_ref(),
        );
        self.frames.tick();
        presented
    }

    /// Sleeps a millisecond between two frames, giving a loader the CPU; the next frame's time
    /// leaves it out.
    pub fn pause(&mut self) {
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(1));
        self.slept += start.elapsed();
    }

    /// Runs until the load in progress (and any pending one) has finished, drawing frames, a
    /// [`pause`](Self::pause) after each while a load runs.
    pub fn finish_loading(
        &mut self,
        mut on_frame: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        while self.loading.is_some() || self.pending.is_some() {
            self.tick()?;
            on_frame(self)?;
            if self.loading.is_some() {
                self.pause();
            }
        }
        Ok(())
    }

    /// The window title: scene, frame time, live allocations, MiB per heap, last load.
    pub fn title(&self) -> String {
        let scene = match (&self.current, &self.loading) {
            (_, Some(l)) => format!(
                "loading {} ({:.1} s)",
                l.source.name(),
                l.started.elapsed().as_secs_f32()
            ),
            (Some((s, _, _)), None) => s.name.clone(),
            (None, None) => "no scene".into(),
        };
        let frame = self
            .times
            .idle
            .last()
            .or(self.times.loading.last())
            .copied()
            .unwrap_or(0.0);
        let live = self.allocator.live_allocations().unwrap_or(0);
        let heaps = self
            .allocator
            .statistics()
            .map(|s| {
                s.heaps
                    .iter()
                    .map(|h| format!("{:.0}", h.allocation_bytes as f64 / (1 << 20) as f64))
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_default();
        let load = self
            .last_load
            .map(|t| {
                format!(
                    " | last load {:.0} ms, {:.2} GB/s",
                    t.total.as_secs_f64() * 1e3,
                    t.gb_per_s()
                )
            })
            .unwrap_or_default();
        format!("{scene} | {frame:.1} ms | {live} allocations | MiB per heap {heaps}{load}")
    }

    /// Saves the last frame as a PNG.
    pub fn screenshot(&mut self, path: &std::path::Path) -> Result<()> {
        let (w, h, pixels) = self
            .renderer
            .read_target(&self.gpu, &self.allocator, &self.stager)?;
        image::save_buffer(path, &pixels, w, h, image::ExtendedColorType::Rgba8)
            .with_context(|| format!("writing {}", path.display()))?;
        tracing::info!(path = %path.display(), width = w, height = h, "screenshot saved");
        Ok(())
    }

    /// Unloads everything, waits, destroys it all in the documented order, and returns the
    /// leak checks' and validation's verdicts.
    pub fn shutdown(mut self, memory_json: Option<&std::path::Path>) -> Result<Verdict> {
        if let Some(loading) = self.loading.take() {
            let _ = loading.wait();
        }
        self.unload();
        self.renderer.wait_idle()?;
        self.tick()?;
        if !self.retiring.is_empty() {
            bail!("scenes still retiring after the GPU went idle");
        }
        self.check_leaks();
        if let Some(path) = memory_json {
            std::fs::write(path, self.allocator.json_dump(true)?)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        if let Ok(uploader) = self.uploader_back.1.try_recv() {
            self.uploader = Some(uploader);
        }
        if let Some(uploader) = self.uploader.take() {
            uploader.destroy(&self.allocator)?;
        }
        if let Some(swapchain) = self.swapchain.take() {
            // SAFETY: the renderer waited for every frame.
            unsafe { swapchain.destroy(&self.gpu.device) };
        }
        self.renderer.destroy(&self.allocator)?;
        let allocator = Arc::try_unwrap(self.allocator)
            .map_err(|_| anyhow::anyhow!("allocator still shared"))?;
        let leaked = allocator.destroy().err().map(|l| l.to_string());
        let validation = self.gpu.messages.all();
        // SAFETY: everything made from the device is destroyed; it is idle.
        unsafe {
            let _ = self.gpu.device.device_wait_idle();
            self.gpu.destroy(self.surface);
        }
        Ok(Verdict {
            errors: self.errors,
            leaks: self.leaks.into_iter().chain(leaked).collect(),
            validation,
        })
    }
}

/// How a run ended.
pub struct Verdict {
    pub errors: Vec<String>,
    pub leaks: Vec<String>,
    pub validation: Vec<String>,
}
