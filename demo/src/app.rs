//! The window: a winit 0.30 `ApplicationHandler`. The window and surface are made in `resumed`;
//! `Resized` only sets a flag; `RedrawRequested` skips 0x0 windows and recreates the swapchain
//! when flagged or stale; `exiting` waits idle and tears down (in `Session::shutdown`).
//!
//! Keys: 1-9 switch scenes (the current one keeps drawing until the next is complete), U
//! unloads, R reloads, Esc quits. Drag with the left button to orbit, scroll to zoom.

use anyhow::{anyhow, Result};
use ash::vk;
use raw_window_handle::{HasDisplayHandle as _, HasWindowHandle as _};
use winit::application::ApplicationHandler;
use winit::dpi::PhysicalSize;
use winit::event::{ElementState, MouseButton, MouseScrollDelta, WindowEvent};
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::keyboard::{Key, NamedKey};
use winit::window::{Window, WindowId};

use crate::frame::Presented;
use crate::gpu::{Gpu, GpuOptions};
use crate::loader::SceneSource;
use crate::session::{Session, Verdict};
use crate::{parse_size, scene_list, Options};

/// There is no display to open a window on.
#[derive(Debug)]
pub struct NoDisplay(String);

impl std::fmt::Display for NoDisplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no display ({}): run under `xvfb-run -a`, or pass --headless to render offscreen",
            self.0
        )
    }
}

impl std::error::Error for NoDisplay {}

/// Where a scripted run (`--frames`, `--cycle`) stands.
enum Script {
    /// Interactive: run until closed.
    Interactive,
    /// Waiting for the first scene, then counting frames.
    Frames { left: u64, started: bool },
    /// A `--cycle` run: which round and scene, frames shown, and the phase.
    Cycle {
        round: u32,
        index: usize,
        shown: u32,
        unloading: bool,
        requested: bool,
    },
}

struct App {
    options: Options,
    /// The scenes keys 1-9 and `--cycle` go through.
    scenes: Vec<SceneSource>,
    size: PhysicalSize<u32>,
    window: Option<Window>,
    session: Option<Session>,
    resized: bool,
    script: Script,
    dragging: bool,
    cursor: Option<(f64, f64)>,
    last_title: std::time::Instant,
    outcome: Option<Result<Verdict>>,
    drawn: u64,
    resize: Option<(vk::Extent2D, u64)>,
}

impl App {
    fn start(&mut self, event_loop: &ActiveEventLoop) -> Result<()> {
        let window = event_loop.create_window(
            Window::default_attributes()
                .with_title("upload-path demo")
                .with_inner_size(self.size),
        )?;
        let display = window.display_handle()?.as_raw();
        let handle = window.window_handle()?.as_raw();
        let (gpu, surface) = Gpu::new(
            &GpuOptions {
                validation: self.options.validation,
                display: Some(display),
                pipeline_cache: crate::pipeline_cache_file(&self.options),
                transfer_queue: !self.options.no_transfer_queue,
            },
            |entry, instance| {
                // SAFETY: the window outlives the surface (destroyed in `Session::shutdown`, before
                // the window is dropped).
                Ok(Some(unsafe {
                    ash_window::create_surface(entry, instance, display, handle, None)
                }?))
            },
        )?;
        let size = window.inner_size();
        let extent = vk::Extent2D {
            width: size.width.max(1),
            height: size.height.max(1),
        };
        let mut session = Session::new(gpu, surface, extent, self.options.bloom)?;
        session.configure(&self.options);
        if self.options.cycle.is_none() {
            session.request(crate::first_scene(&self.options));
        }
        self.session = Some(session);
        self.window = Some(window);
        Ok(())
    }

    fn fail(&mut self, event_loop: &ActiveEventLoop, err: anyhow::Error) {
        self.outcome = Some(Err(err));
        event_loop.exit();
    }

    /// One redraw: tick, recreate when needed, draw, advance the script.
    fn redraw(&mut self, event_loop: &ActiveEventLoop) -> Result<()> {
        let (Some(window), Some(session)) = (&self.window, self.session.as_mut()) else {
            return Ok(());
        };
        let size = window.inner_size();
        if size.width == 0 || size.height == 0 {
            return Ok(()); // minimised: nothing to draw into
        }
        session.tick()?;
        if self.resized {
            self.resized = false;
            session.resize(vk::Extent2D {
                width: size.width,
                height: size.height,
            })?;
        }
        if session.frame()? == Presented::Stale {
            session.resize(vk::Extent2D {
                width: size.width,
                height: size.height,
            })?;
            // The new target holds nothing yet: the next redraw draws it, and only a frame that
            // reached the screen counts (a run must not end, and screenshot, on an empty one).
            return Ok(());
        }
        self.drawn += 1;
        if let Some((extent, at)) = self.resize {
            if self.drawn == at {
                let _ = window.request_inner_size(PhysicalSize::new(extent.width, extent.height));
            }
        }
        if self.last_title.elapsed().as_millis() > 250 {
            window.set_title(&session.title());
            self.last_title = std::time::Instant::now();
        }
        let scenes = &self.scenes;
        match &mut self.script {
            Script::Interactive => {}
            Script::Frames { left, started } => {
                if !*started && session.current.is_some() && !session.busy() {
                    *started = true;
                }
                if !session.errors.is_empty() && session.current.is_none() && !session.busy() {
                    event_loop.exit();
                } else if *started {
                    *left = left.saturating_sub(1);
                    if *left == 0 {
                        event_loop.exit();
                    }
                }
            }
            Script::Cycle {
                round,
                index,
                shown,
                unloading,
                requested,
            } => {
                if session.busy() {
                    return Ok(());
                }
                if *unloading {
                    *unloading = false;
                    *requested = false;
                    *index += 1;
                    if *index == scenes.len() {
                        *index = 0;
                        *round += 1;
                        if Some(*round) == self.options.cycle {
                            event_loop.exit();
                        }
                    }
                } else if session.current.is_none() {
                    if *requested {
                        // The load ended without a scene: it failed (and was reported).
                        *unloading = true;
                    } else {
                        session.request(scenes[*index].clone());
                        *requested = true;
                        *shown = 0;
                    }
                } else {
                    *shown += 1;
                    if *shown >= 2 {
                        session.unload();
                        *unloading = true;
                    }
                }
            }
        }
        Ok(())
    }

    fn key(&mut self, event_loop: &ActiveEventLoop, key: &Key) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let scenes = &self.scenes;
        match key {
            Key::Named(NamedKey::Escape) => event_loop.exit(),
            Key::Character(c) => match c.as_str() {
                "u" | "U" => session.unload(),
                "f" | "F" => session.reframe(),
                "[" => session.step_level(-1),
                "]" => session.step_level(1),
                "a" | "A" => {
                    let on = !session.renderer.aliasing();
                    session.renderer.set_aliasing(on);
                    tracing::info!(aliasing = on, "transient aliasing toggled");
                }
                "r" | "R" => {
                    if let Some((_, _, source)) = &session.current {
                        let source = source.clone();
                        session.request(source);
                    }
                }
                digit => {
                    if let Some(n) = digit.parse::<usize>().ok().filter(|n| (1..=9).contains(n)) {
                        if let Some(source) = scenes.get(n - 1) {
                            session.request(source.clone());
                        }
                    }
                }
            },
            _ => {}
        }
    }
}

impl ApplicationHandler for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.window.is_none() {
            if let Err(err) = self.start(event_loop) {
                self.fail(event_loop, err);
            }
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _id: WindowId, event: WindowEvent) {
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::Resized(_) => self.resized = true,
            WindowEvent::RedrawRequested => {
                if let Err(err) = self.redraw(event_loop) {
                    self.fail(event_loop, err);
                }
            }
            WindowEvent::KeyboardInput { event, .. } if event.state == ElementState::Pressed => {
                self.key(event_loop, &event.logical_key);
            }
            WindowEvent::MouseInput {
                state,
                button: MouseButton::Left,
                ..
            } => {
                self.dragging = state == ElementState::Pressed;
            }
            WindowEvent::CursorMoved { position, .. } => {
                if let (true, Some((x, y)), Some(session)) =
                    (self.dragging, self.cursor, self.session.as_mut())
                {
                    if let Some((_, camera, _)) = session.current.as_mut() {
                        camera.orbit((position.x - x) as f32, (position.y - y) as f32);
                    }
                }
                self.cursor = Some((position.x, position.y));
            }
            WindowEvent::MouseWheel { delta, .. } => {
                let steps = match delta {
                    MouseScrollDelta::LineDelta(_, y) => y,
                    MouseScrollDelta::PixelDelta(p) => p.y as f32 / 40.0,
                };
                if let Some((_, camera, _)) = self.session.as_mut().and_then(|s| s.current.as_mut())
                {
                    camera.zoom(steps);
                }
            }
            _ => {}
        }
    }

    fn about_to_wait(&mut self, _event_loop: &ActiveEventLoop) {
        if let Some(window) = &self.window {
            window.request_redraw();
        }
    }

    fn exiting(&mut self, _event_loop: &ActiveEventLoop) {
        if let Some(session) = self.session.take() {
            let outcome = match self.outcome.take() {
                Some(Err(err)) => Err(err),
                _ => Ok(()),
            };
            self.outcome = Some(crate::finish(session, &self.options, outcome));
        }
    }
}

/// Runs the windowed demo until it is closed (or its script ends).
pub fn run(options: &Options) -> Result<Verdict> {
    let size = parse_size(&options.size)?;
    let event_loop = EventLoop::new().map_err(|err| anyhow!(NoDisplay(err.to_string())))?;
    let script = match (options.cycle, options.frames) {
        (Some(_), _) => Script::Cycle {
            round: 0,
            index: 0,
            shown: 0,
            unloading: false,
            requested: false,
        },
        (None, Some(n)) => Script::Frames {
            left: n,
            started: false,
        },
        (None, None) => Script::Interactive,
    };
    let mut app = App {
        options: options.clone(),
        scenes: scene_list(options),
        size: PhysicalSize::new(size.width, size.height),
        window: None,
        session: None,
        resized: false,
        script,
        dragging: false,
        cursor: None,
        last_title: std::time::Instant::now(),
        outcome: None,
        drawn: 0,
        resize: options
            .resize
            .as_deref()
            .map(crate::parse_resize)
            .transpose()?,
    };
    event_loop.run_app(&mut app)?;
    app.outcome
        .unwrap_or_else(|| Err(anyhow!("the event loop ended before the window opened")))
}
