//! The demo: loads and unloads textured-mesh scenes through the allocator and staging crates, in
//! a window (winit + ash-window) or headless.
//!
//! Scenes own their nodes; `MeshSystem` and `MaterialSystem` own each scene's GPU resources,
//! recorded against its `SceneId`, and destroy them once the GPU is done with the scene; the
//! allocator tracks nothing. See `--help` for the options and the README for the controls.

mod app;
mod encoded;
mod frame;
mod gltf;
mod gpu;
mod ktx2;
mod loader;
mod material_system;
mod mesh_system;
mod pipeline;
mod post;
mod procedural;
mod scene;
mod session;
mod swapchain;
mod transients;
mod upload;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use ash::vk;
use clap::Parser;

use crate::gpu::{Gpu, GpuOptions};
use crate::loader::SceneSource;
use crate::session::{summary, Session, Verdict};

/// Loads and unloads textured-mesh scenes through the upload path, in a window or headless.
#[derive(Parser, Debug, Clone)]
#[command(version, about)]
pub struct Options {
    /// The scene to show first: a built-in name (see --list-scenes) or a .gltf/.glb file. With
    /// --screenshot-dir, several: each is loaded, shown and unloaded in turn.
    #[arg(long, num_args = 1.., default_value = "grid")]
    pub scene: Vec<String>,
    /// Lists the built-in scenes and exits.
    #[arg(long)]
    pub list_scenes: bool,
    /// Exits after N frames have been drawn with the scene loaded.
    #[arg(long, value_name = "N")]
    pub frames: Option<u64>,
    /// Saves the last frame as a PNG when the demo exits.
    #[arg(long, value_name = "FILE.png")]
    pub screenshot: Option<PathBuf>,
    /// Headless: loads every --scene in turn, draws --frames frames of it, saves the last one as
    /// DIR/NAME.png (NAME: the file's stem, or the built-in's name) and unloads it (checking for
    /// leaks with --check-leaks). A scene that fails to load gets no screenshot, and the exit
    /// code is non-zero.
    #[arg(long, value_name = "DIR")]
    pub screenshot_dir: Option<PathBuf>,
    /// Where the camera looks from, X,Y,Z (towards the eye, from the scene's centre): default
    /// +Z (glTF's front) for files, a three-quarter view for the built-ins. F reframes.
    #[arg(long, value_name = "X,Y,Z", value_parser = parse_direction)]
    pub view_from: Option<[f32; 3]>,
    /// The level of a KTX2 texture shown first (0 is the largest; clamped to its chain); by
    /// default the sampler picks by distance. The `[` and `]` keys step through them.
    #[arg(long, value_name = "N")]
    pub level: Option<u32>,
    /// After each load, reads every texture back from the GPU into DIR/SCENE.N.bin (N: the
    /// scene's texture index; levels, then layers, packed as KTX2 stores them), to check an
    /// upload against its source.
    #[arg(long, value_name = "DIR")]
    pub readback: Option<PathBuf>,
    /// Decodes every PNG and JPEG into memory on worker threads before the upload starts, and
    /// copies from there (by default each is decoded straight into staging memory as it
    /// uploads, side by side on the stager's threads): the path before write-in-place, kept
    /// for comparison.
    #[arg(long)]
    pub decode_first: bool,
    /// Loads and unloads every scene (built-ins, and --scene when it is a file) N times, then
    /// exits; with --check-leaks every unload must bring the live count back.
    #[arg(long, value_name = "N")]
    pub cycle: Option<u32>,
    /// Renders offscreen without a window (no display needed), at WxH (default 1280x720).
    #[arg(long, value_name = "WxH", num_args = 0..=1, default_missing_value = "1280x720")]
    pub headless: Option<String>,
    /// Exits non-zero, with the allocator's leak report, if any unload leaves allocations behind.
    #[arg(long)]
    pub check_leaks: bool,
    /// Khronos validation with synchronization validation; any message makes the exit code
    /// non-zero.
    #[arg(long)]
    pub validation: bool,
    /// Writes the allocator's JSON dump to FILE at exit.
    #[arg(long, value_name = "FILE")]
    pub memory_json: Option<PathBuf>,
    /// The window's initial size, WxH.
    #[arg(long, value_name = "WxH", default_value = "1280x720")]
    pub size: String,
    /// Gives every transient of the frame graph memory of its own instead of placing them by
    /// lifetime in shared memory (for comparison; the A key toggles it in the window).
    #[arg(long)]
    pub no_aliasing: bool,
    /// Where the bloom chain runs: `auto` (compute dispatches on a compute queue without
    /// graphics where the device has one, fragment passes on the graphics queue elsewhere),
    /// `fragment`, or `compute` (dispatches, on the graphics queue where there is no compute one).
    #[arg(long, default_value = "auto", value_parser = parse_bloom)]
    pub bloom: frame::Bloom,
    /// MiB of upload work the graphics queue takes between two frames: the copies where the
    /// device has no transfer queue, the mip chains (by level 0) everywhere. 0, the default: a
    /// scene goes in as few submissions as its ring-fulls allow (a budget trades load time for
    /// smoother frames; BENCHMARKS.md has the measurements).
    #[arg(long, value_name = "MIB", default_value_t = 0.0)]
    pub upload_budget: f64,
    /// With --upload-budget, the mip generation time the graphics queue takes between two
    /// frames, at the rate the last slice ran (0: bytes only).
    #[arg(long, value_name = "MS", default_value_t = 4.0)]
    pub upload_budget_ms: f64,
    /// Leaves the device's transfer-only queue unused: uploads share the graphics queue with
    /// the frames, as on a device without one (to measure the budget where there is one).
    #[arg(long)]
    pub no_transfer_queue: bool,
    /// Headless, after the first scene's --frames: loads SCENE while the first is drawn, then
    /// draws it for --frames more (the log's "frame times while loading against idle" line then
    /// compares the frames drawn during that load with the ones before it; every frame of such
    /// a run is followed by the millisecond's sleep a loading frame gets, left out of its time).
    #[arg(long, value_name = "SCENE")]
    pub next: Option<String>,
    /// Where the pipeline cache is kept between runs (every pipeline is built through it, so a
    /// second run compiles nothing), or `none`; by default
    /// `$XDG_CACHE_HOME/vkup-demo/pipeline-cache.bin` (`~/.cache` without it).
    #[arg(long, value_name = "FILE|none")]
    pub pipeline_cache: Option<String>,
    /// Resizes the window to WxH once N frames have been drawn (exercises swapchain
    /// recreation; the tests use it).
    #[arg(long, value_name = "WxH@N")]
    pub resize: Option<String>,
}

/// Parses `--bloom`.
fn parse_bloom(text: &str) -> Result<frame::Bloom, String> {
    match text {
        "auto" => Ok(frame::Bloom::Auto),
        "fragment" => Ok(frame::Bloom::Fragment),
        "compute" => Ok(frame::Bloom::Compute),
        other => Err(format!("'{other}' is not auto, fragment or compute")),
    }
}

/// Parses `X,Y,Z`.
fn parse_direction(text: &str) -> Result<[f32; 3], String> {
    let parts: Vec<f32> = text
        .split(',')
        .map(|p| p.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("'{text}': {e}"))?;
    match parts[..] {
        [x, y, z]
            if x.is_finite() && y.is_finite() && z.is_finite() && (x, y, z) != (0.0, 0.0, 0.0) =>
        {
            Ok([x, y, z])
        }
        _ => Err(format!(
            "'{text}' is not X,Y,Z with a non-zero direction (e.g. 0,0,1)"
        )),
    }
}

/// Parses `WxH@N`.
pub fn parse_resize(text: &str) -> Result<(vk::Extent2D, u64)> {
    let Some((size, frame)) = text.split_once('@') else {
        bail!("'{text}' is not WxH@N (e.g. 640x480@10)");
    };
    Ok((parse_size(size)?, frame.trim().parse()?))
}

/// Parses `WxH`.
pub fn parse_size(text: &str) -> Result<vk::Extent2D> {
    let Some((w, h)) = text.split_once('x') else {
        bail!("'{text}' is not WxH (e.g. 1280x720)");
    };
    let (width, height): (u32, u32) = (w.trim().parse()?, h.trim().parse()?);
    if width == 0 || height == 0 || width > 16384 || height > 16384 {
        bail!("'{text}': width and height must be between 1 and 16384");
    }
    Ok(vk::Extent2D { width, height })
}

/// The scene the user named.
pub fn source_of(name: &str) -> SceneSource {
    if procedural::SCENES.iter().any(|(n, _)| *n == name) {
        SceneSource::Builtin(name.to_owned())
    } else {
        SceneSource::File(PathBuf::from(name))
    }
}

/// The scene shown first.
/// `--pipeline-cache`'s file: the one named, none for `none`, else the user's cache directory's.
pub fn pipeline_cache_file(options: &Options) -> Option<PathBuf> {
    match options.pipeline_cache.as_deref() {
        Some("none") => None,
        Some(file) => Some(PathBuf::from(file)),
        None => std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|dir| dir.join("vkup-demo").join("pipeline-cache.bin")),
    }
}

pub fn first_scene(options: &Options) -> SceneSource {
    source_of(options.scene.first().map_or("grid", String::as_str))
}

/// The scenes keys 1-9 choose: the built-ins, then the files given on the command line.
pub fn scene_list(options: &Options) -> Vec<SceneSource> {
    let mut list: Vec<SceneSource> = procedural::SCENES
        .iter()
        .map(|(n, _)| SceneSource::Builtin((*n).to_owned()))
        .collect();
    for name in &options.scene {
        if let SceneSource::File(path) = source_of(name) {
            list.push(SceneSource::File(path));
        }
    }
    list
}

/// Drives a session without a window.
fn run_headless(options: &Options, extent: vk::Extent2D) -> Result<Verdict> {
    let (gpu, _) = Gpu::new(
        &GpuOptions {
            validation: options.validation,
            display: None,
            pipeline_cache: pipeline_cache_file(options),
            transfer_queue: !options.no_transfer_queue,
        },
        |_, _| Ok(None),
    )?;
    let mut session = Session::new(gpu, None, extent, options.bloom)?;
    session.configure(options);
    let outcome = drive(&mut session, options, |s| {
        s.frame()?;
        Ok(())
    });
    finish(session, options, outcome)
}

/// What a run does, windowed or not, given a way to draw one frame: `--cycle`, or show the
/// first scene for `--frames`.
pub fn drive(
    session: &mut Session,
    options: &Options,
    mut frame: impl FnMut(&mut Session) -> Result<()>,
) -> Result<()> {
    if let Some(cycles) = options.cycle {
        let scenes = scene_list(options);
        for round in 0..cycles {
            for source in &scenes {
                session.request(source.clone());
                session.finish_loading(&mut frame)?;
                for _ in 0..2 {
                    session.tick()?;
                    frame(session)?;
                }
                session.unload();
                while session.busy() {
                    session.tick()?;
                    frame(session)?;
                }
            }
            tracing::info!(
                round = round + 1,
                of = cycles,
                live = session.allocator.live_allocations()?,
                "cycle done"
            );
        }
        return Ok(());
    }
    if let Some(dir) = &options.screenshot_dir {
        return screenshot_each(session, options, dir, frame);
    }
    session.request(first_scene(options));
    session.finish_loading(&mut frame)?;
    if !session.errors.is_empty() {
        // Nothing to show: no frames, no screenshot; the error makes the exit code non-zero.
        return Ok(());
    }
    let frames = options.frames.unwrap_or(1);
    // With --next, idle frames are paced as loading ones are, so the two are measured alike.
    let paced = options.next.is_some();
    for _ in 0..frames {
        session.tick()?;
        frame(session)?;
        if paced {
            session.pause();
        }
    }
    if let Some(next) = &options.next {
        session.request(source_of(next));
        session.finish_loading(&mut frame)?;
        for _ in 0..frames {
            session.tick()?;
            frame(session)?;
            session.pause();
        }
    }
    Ok(())
}

/// `--screenshot-dir`: every scene in turn, loaded, drawn, saved and unloaded.
fn screenshot_each(
    session: &mut Session,
    options: &Options,
    dir: &std::path::Path,
    mut frame: impl FnMut(&mut Session) -> Result<()>,
) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot make {}: {e}", dir.display()))?;
    // Screenshots depend on the driver's filtering: say whose they are.
    println!("device: {}", session.gpu.device_name());
    for name in &options.scene {
        let source = source_of(name);
        let stem = match &source {
            SceneSource::Builtin(name) => name.clone(),
            SceneSource::File(path) => path
                .file_stem()
                .map_or_else(|| "scene".into(), |s| s.to_string_lossy().into_owned()),
        };
        let (errors, messages) = (session.errors.len(), session.gpu.messages.all().len());
        session.request(source);
        session.finish_loading(&mut frame)?;
        let loaded = session.errors.len() == errors;
        if loaded {
            for _ in 0..options.frames.unwrap_or(1) {
                session.tick()?;
                frame(session)?;
            }
            session.screenshot(&dir.join(format!("{stem}.png")))?;
        }
        session.unload();
        while session.busy() {
            session.tick()?;
            frame(session)?;
        }
        let new_messages = session.gpu.messages.all().len() - messages;
        // One line per scene, for whoever reads the run's output (the conformance test does).
        println!(
            "scene {name}: {}, {new_messages} validation message(s)",
            if loaded { "shown" } else { "failed to load" }
        );
    }
    Ok(())
}

/// Screenshot, shutdown, and the verdict.
pub fn finish(mut session: Session, options: &Options, outcome: Result<()>) -> Result<Verdict> {
    // A failed load leaves nothing worth a screenshot: the run exits non-zero without one.
    if outcome.is_ok() && session.errors.is_empty() {
        if let Some(path) = &options.screenshot {
            session.screenshot(path)?;
        }
    }
    if let (Some(idle), loading) = (
        summary(&session.times.idle),
        summary(&session.times.loading),
    ) {
        tracing::info!(
            idle_median_ms = idle.0,
            idle_p99_ms = idle.1,
            idle_max_ms = idle.2,
            loading = ?loading,
            "frame times (median, p99, max)"
        );
    }
    if let Some(kib) = peak_rss_kib() {
        // The tests compare short and long runs: memory must not grow with frames.
        tracing::info!(peak_rss_mib = kib / 1024, "process memory");
    }
    let verdict = session.shutdown(options.memory_json.as_deref())?;
    outcome?;
    Ok(verdict)
}

/// The process's peak resident memory (`VmHWM`), where the system says (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let options = Options::parse();
    if options.list_scenes {
        for (name, about) in procedural::SCENES {
            println!("{name:6} {about}");
        }
        println!("(or any .gltf / .glb file)");
        return ExitCode::SUCCESS;
    }
    if options.screenshot_dir.is_some() && options.headless.is_none() {
        eprintln!("error: --screenshot-dir runs headless: add --headless [WxH]");
        return ExitCode::from(2);
    }
    let scripted = options.cycle.is_some() || options.screenshot_dir.is_some();
    if options.next.is_some() && (options.headless.is_none() || scripted) {
        eprintln!("error: --next runs headless, without --cycle or --screenshot-dir");
        return ExitCode::from(2);
    }
    let result = match &options.headless {
        Some(size) => parse_size(size).and_then(|extent| run_headless(&options, extent)),
        None => app::run(&options),
    };
    match result {
        Ok(verdict) => {
            let mut failed = false;
            for error in &verdict.errors {
                eprintln!("error: {error}");
                failed = true;
            }
            for leak in &verdict.leaks {
                eprintln!("leak: {leak}");
                failed = true;
            }
            if options.validation && !verdict.validation.is_empty() {
                eprintln!("{} validation message(s):", verdict.validation.len());
                for message in &verdict.validation {
                    eprintln!("  {message}");
                }
                failed = true;
            }
            if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.downcast_ref::<app::NoDisplay>().is_some() {
                return ExitCode::from(2);
            }
            ExitCode::FAILURE
        }
    }
}
