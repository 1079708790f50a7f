//! The loader thread's upload path: a staging ring, and submitters on the upload queue (the
//! transfer queue where the device has one, else the graphics queue, shared with the render
//! thread under its lock) and on the graphics queue (ownership acquires and mip generation).
//!
//! A scene's buffers and textures go up together ([`Uploader::scene`]): their copies recorded
//! back to back into one command buffer per ring-full, between one barrier batch before and one
//! after, then every ownership acquire and every mip chain in one graphics submission; the
//! loader waits once for each, never per resource. Every wait is on this thread, never on the
//! frame path; the render thread keeps drawing meanwhile.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use ash::vk;
use vkup_allocator::{Allocator, GpuImage};
use vkup_staging::{
    Access, BarrierBatch, BufferTarget, BufferUpload, Finished, ImageTarget, ImageUpload,
    MipMethod, MipOptions, Progress, ResourceState, Stager, StagingRing, Submitter,
};

use crate::gpu::Gpu;
use crate::scene::Encoding;

/// Staging ring size: smaller than the big scene's texture (256 MiB) and mesh, so those are
/// split into pieces across submissions.
pub const RING_BYTES: u64 = 32 << 20;

/// Byte, time and submission counters of one load.
#[derive(Clone, Copy, Debug, Default)]
pub struct UploadStats {
    pub bytes: u64,
    pub upload: Duration,
    pub mips: Duration,
    /// The CPU's part of `mips`: recording the chains and destroying their scratch objects.
    pub mips_cpu: Duration,
    /// Queue submissions made (copies, acquires, mips), on every queue: set by the loader.
    pub submissions: u64,
    /// With a budget, the most bytes of copies and mip level 0 the graphics queue took between
    /// two frames (the budget's measure).
    pub largest_slice: u64,
}

/// What a budgeted upload leaves of a frame's share for the ring's alignment padding around the
/// data it stages in one call (one copy alignment per piece: a level, layer or buffer).
const PADDING: u64 = 1024;

/// How long a budgeted upload waits for a frame before it submits the next slice anyway (a
/// window that is not drawing, say, must not stop the load).
const FRAME_WAIT: Duration = Duration::from_millis(250);

/// The frames the render thread has submitted: a budgeted upload submits a slice, then waits
/// for the next frame.
#[derive(Clone, Debug, Default)]
pub struct FrameClock(Arc<AtomicU64>);

impl FrameClock {
    /// Counts one frame submitted.
    pub fn tick(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn now(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Waits until a frame after `seen` (or `FRAME_WAIT`); returns the count then.
    fn wait_after(&self, seen: u64) -> u64 {
        let start = Instant::now();
        loop {
            let now = self.now();
            if now > seen || start.elapsed() > FRAME_WAIT {
                return now;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

/// One upload of a scene's: a buffer or an image.
enum Job<'a> {
    Buffer(BufferUpload<'a>),
    Image(ImageUpload<'a>),
}

impl<'a> Job<'a> {
    fn adopt(&mut self, stager: &Stager, acquire: &mut BarrierBatch) -> vkup_staging::Result<()> {
        match self {
            Self::Buffer(u) => u.adopt(stager, acquire),
            Self::Image(u) => u.adopt(stager, acquire),
        }
    }

    fn begin(&mut self, pre: &mut BarrierBatch) -> vkup_staging::Result<()> {
        match self {
            Self::Buffer(u) => u.begin(pre),
            Self::Image(u) => u.begin(pre),
        }
    }

    /// At most `bytes` staged per `record_copies` call from now on.
    fn capped(self, bytes: u64) -> Self {
        match self {
            Self::Buffer(u) => Self::Buffer(u.batch_bytes(bytes)),
            Self::Image(u) => Self::Image(u.batch_bytes(bytes)),
        }
    }

    /// # Safety
    /// As for the uploads' `record_copies`.
    unsafe fn record_copies(
        &mut self,
        cmd: vk::CommandBuffer,
        stager: &Stager,
        allocator: &Allocator,
        ring: &mut StagingRing,
        post: &mut BarrierBatch,
    ) -> vkup_staging::Result<Progress> {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            match self {
                Self::Buffer(u) => u.record_copies(cmd, stager, allocator, ring, post),
                Self::Image(u) => u.record_copies(cmd, stager, allocator, ring, post),
            }
        }
    }
}

/// What a budgeted upload has put on the graphics queue since the last frame.
struct FrameShare {
    clock: FrameClock,
    /// The frame count this share belongs to.
    seen: u64,
    bytes: u64,
    time: Duration,
    /// The most bytes any frame's share held.
    largest: u64,
}

impl FrameShare {
    fn new(clock: FrameClock) -> Self {
        let seen = clock.now();
        Self {
            clock,
            seen,
            bytes: 0,
            time: Duration::ZERO,
            largest: 0,
        }
    }

    /// The bytes and time left of this frame's budget (`bytes`, `time`; a zero time is not
    /// counted), after waiting for the next frame when this one's is spent: when no more than
    /// `keep` bytes of it are left (a caller that stages nothing into `keep` bytes would
    /// otherwise find room it cannot use, and stage nothing in a frame that has not ended).
    fn room(&mut self, bytes: u64, keep: u64, time: Duration) -> (u64, Duration) {
        let spent = self.bytes + keep >= bytes || (!time.is_zero() && self.time >= time);
        self.next_frame(spent);
        (bytes - self.bytes, time.saturating_sub(self.time))
    }

    /// Waits for the next frame, when `bytes` more would take this frame's share past `budget`
    /// and something is already in it.
    fn fit(&mut self, bytes: u64, budget: u64) {
        self.next_frame(self.bytes > 0 && self.bytes + bytes > budget);
    }

    /// Starts a new share once a frame has passed, waiting for one first when `wait`.
    fn next_frame(&mut self, wait: bool) {
        let now = self.clock.now();
        if now > self.seen || wait {
            self.seen = if now > self.seen {
                now
            } else {
                self.clock.wait_after(self.seen)
            };
            self.bytes = 0;
            self.time = Duration::ZERO;
        }
    }

    fn spend(&mut self, bytes: u64, time: Duration) {
        self.bytes += bytes;
        self.time += time;
        self.largest = self.largest.max(self.bytes);
    }
}

/// A buffer of a scene upload: where, what, and the access it is read with once uploaded.
pub struct BufferJob<'a> {
    pub target: BufferTarget,
    pub data: &'a [u8],
    pub access: Access,
}

/// A texture of a scene upload: `levels` packed levels for `target` (see
/// `ImageUpload::packed`), or `data` still encoded as `encoding` says, unpacked into staging
/// memory as it uploads (`name` names it in errors); and whether the rest of its chain is
/// generated after.
pub struct TextureJob<'a> {
    pub target: ImageTarget,
    pub data: &'a [u8],
    pub encoding: &'a Encoding,
    pub name: &'a str,
    pub levels: u32,
    pub generate: bool,
}

/// Bytes of a texture's level 0 as the GPU holds it (its data may be an encoded file).
fn level0_bytes(job: &TextureJob<'_>) -> u64 {
    vkup_staging::packed_layouts(job.target, 1).map_or(0, |(_, len)| len)
}

/// The result of a run on `submitter`; after an error it first waits for what the run did
/// submit, so the caller may destroy what the upload used.
fn settle(submitter: &mut Submitter, result: vkup_staging::Result<Finished>) -> Result<Finished> {
    result.or_else(|err| {
        submitter.wait_idle()?;
        Err(err.into())
    })
}

/// What the loader uploads through.
pub struct Uploader {
    device: ash::Device,
    stager: Stager,
    ring: Option<StagingRing>,
    /// On the upload queue (transfer, or graphics when there is none).
    upload: Submitter,
    upload_family: u32,
    /// On the graphics queue, for acquires and mips; `None` when `upload` already is.
    graphics: Option<Submitter>,
    graphics_family: u32,
    mips: vkup_staging::MipGenerator,
    /// Bytes the graphics queue takes between two frames (`--upload-budget`); `None`: unbounded.
    budget: Option<u64>,
    /// The time each budgeted mip slice should take (sized from the last slice's rate).
    budget_time: Duration,
    frames: FrameClock,
    pub stats: UploadStats,
    /// Bytes uploaded by the current load, for progress reports on the render thread.
    pub progress: Arc<AtomicU64>,
}

impl Uploader {
    /// An uploader for `gpu`'s queues.
    pub fn new(gpu: &Gpu, allocator: &Allocator) -> Result<Self> {
        let lock = Arc::clone(&gpu.graphics_lock);
        let graphics_submitter = || -> Result<Submitter> {
            // SAFETY: the graphics queue of this device, shared under `graphics_lock`, which the
            // render thread holds for its own submits and presents.
            Ok(
                unsafe { Submitter::new(&gpu.device, gpu.graphics.raw, gpu.graphics.family) }?
                    .queue_lock(Arc::clone(&lock)),
            )
        };
        let (upload, upload_family, graphics) = match gpu.transfer {
            Some(transfer) => (
                // SAFETY: the transfer queue is used by the loader thread alone, one load at a time.
                unsafe { Submitter::new(&gpu.device, transfer.raw, transfer.family) }?,
                transfer.family,
                Some(graphics_submitter()?),
            ),
            None => (graphics_submitter()?, gpu.graphics.family, None),
        };
        // Scenes hold tens to hundreds of MiB: large copies spread over up to 8 threads (the
        // stager starts none unless asked).
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let stager = Stager::new(allocator).threads(cores.min(8));
        // SAFETY: the context's own instance, device and pipeline cache, alive until the uploader
        // is destroyed (the cache is destroyed with the device).
        let mips = unsafe {
            vkup_staging::MipGenerator::new(allocator)?.pipeline_cache(gpu.pipeline_cache)
        };
        // Built now, not in the first load.
        mips.prepare()?;
        let ring = StagingRing::new(allocator, RING_BYTES).context("creating the staging ring")?;
        Ok(Self {
            device: gpu.device.clone(),
            stager,
            ring: Some(ring),
            upload,
            upload_family,
            graphics,
            graphics_family: gpu.graphics.family,
            mips,
            budget: None,
            budget_time: Duration::ZERO,
            frames: FrameClock::default(),
            stats: UploadStats::default(),
            progress: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Slices the work this uploader puts on the graphics queue to `bytes` between two frames
    /// that `frames` counts (copies when the graphics queue also uploads, mip chains always): a
    /// frame never waits behind more than that (64 KiB at
    /// least; a row of texel blocks larger than the budget, or a texture's level 0 for its mips,
    /// still goes whole). Mip slices are also sized to take about `time` at the rate the last
    /// slice ran.
    pub fn budget(&mut self, bytes: Option<u64>, time: Duration, frames: FrameClock) {
        self.budget = bytes.filter(|&b| b > 0).map(|b| b.max(64 << 10));
        self.budget_time = time;
        self.frames = frames;
    }

    /// Whether uploads move between queue families (a transfer queue exists).
    fn transfers(&self) -> bool {
        self.graphics.is_some()
    }

    /// The state a new resource is in, on the upload queue.
    fn fresh(&self) -> ResourceState {
        if self.transfers() {
            ResourceState::UNDEFINED.on_queue(self.upload_family)
        } else {
            ResourceState::UNDEFINED
        }
    }

    /// `access`, owned by the graphics family when ownership moves.
    fn on_graphics(&self, access: Access) -> ResourceState {
        if self.transfers() {
            ResourceState::new(access).on_queue(self.graphics_family)
        } else {
            ResourceState::new(access)
        }
    }

    /// Every level and layer of `image` as the GPU holds it, packed as KTX2 stores them (level by
    /// level, every layer of a level, each 3D level's slices in order): `--readback`. The image
    /// is in `state` on the graphics queue, and stays so.
    pub fn read_back(
        &mut self,
        allocator: &Allocator,
        image: ImageTarget,
        state: ResourceState,
    ) -> Result<Vec<u8>> {
        let stager = &self.stager;
        let submitter = self.graphics.as_mut().unwrap_or(&mut self.upload);
        let mut readback = None;
        // SAFETY: on the graphics family, which owns the image in `state`; the image outlives
        // the call (submit waits).
        let submitted = unsafe {
            submitter.submit(|cmd| {
                let (r, _) = stager.record_image_readback(cmd, allocator, image, state, state)?;
                readback = Some(r);
                Ok(())
            })
        };
        let value = match submitted {
            Ok(value) => value,
            Err(err) => {
                // Recording, submitting or waiting failed: nothing may still read the memory
                // once this returns.
                let waited = submitter.wait_idle();
                if let Some(r) = readback {
                    // SAFETY: never submitted, or waited for just above.
                    unsafe { r.destroy(allocator) };
                }
                waited?;
                return Err(err.into());
            }
        };
        let mut readback = readback.context("the readback was not recorded")?;
        // SAFETY: `submit` waited for the submission that signalled `value`, which copied into it.
        unsafe { readback.submitted(submitter.timeline(), value) };
        let mut bytes = Vec::new();
        let mut result = Ok(());
        'levels: for level in 0..image.mip_levels() {
            for layer in 0..image.array_layers() {
                match readback.read(allocator, submitter.timeline(), level, layer) {
                    Ok(part) => bytes.extend_from_slice(&part),
                    Err(err) => {
                        result = Err(err);
                        break 'levels;
                    }
                }
            }
        }
        // SAFETY: the copy completed (above).
        unsafe { readback.destroy(allocator) };
        result?;
        Ok(bytes)
    }

    /// Submissions made so far on both queues (copies, acquires, mips).
    pub fn submitted(&self) -> u64 {
        self.upload.last_value() + self.graphics.as_ref().map_or(0, Submitter::last_value)
    }

    /// Uploads a scene's `buffers` and `textures` together and generates the chains the textures
    /// ask for; returns the state each is left in (read by vertex input, index input or fragment
    /// shaders on the graphics queue), buffers first. The copies go through the ring one
    /// ring-full per submission (the driver waits only when the ring is more than half full);
    /// the acquires and mip chains go in one graphics submission. With a budget
    /// ([`Uploader::budget`]) the graphics queue's share is cut into slices of at most that many
    /// bytes, a frame between each. After an error it waits for what it submitted, so the caller
    /// may destroy the resources.
    pub fn scene(
        &mut self,
        allocator: &Allocator,
        buffers: &[BufferJob<'_>],
        textures: &[TextureJob<'_>],
    ) -> Result<(Vec<ResourceState>, Vec<ResourceState>)> {
        let start = Instant::now();
        let fresh = self.fresh();
        let sampled = self.on_graphics(Access::FragmentShaderSampledRead);
        let before_mips = self.on_graphics(Access::TransferRead);
        // Copies on a transfer queue do not hold frames up: only a shared queue slices them.
        let copy_budget = self.budget.filter(|_| !self.transfers());
        let mut uploads = Vec::with_capacity(buffers.len() + textures.len());
        for job in buffers {
            let upload =
                BufferUpload::new(job.target, 0, job.data, fresh, self.on_graphics(job.access))?
                    .path(vkup_staging::UploadPath::Staged);
            uploads.push(Some(Job::Buffer(upload)));
        }
        let mut sizes: Vec<u64> = buffers.iter().map(|b| b.data.len() as u64).collect();
        for job in textures {
            let to = if job.generate { before_mips } else { sampled };
            let stager = &self.stager;
            let (target, levels) = (job.target, job.levels);
            let upload = match job.encoding {
                Encoding::Packed => {
                    ImageUpload::packed(stager, target, job.data, levels, fresh, to)?
                }
                Encoding::Image => {
                    let producer = crate::encoded::producer(job.name, job.data);
                    ImageUpload::in_place(stager, target, levels, fresh, to, producer)?
                }
                Encoding::Ktx2(index) => {
                    let producer = crate::ktx2::producer(job.name, job.data, index);
                    ImageUpload::in_place(stager, target, levels, fresh, to, producer)?
                }
            };
            sizes.push(vkup_staging::packed_layouts(job.target, job.levels)?.1);
            uploads.push(Some(Job::Image(upload)));
        }
        let count = uploads.len();
        let mut states = vec![ResourceState::UNDEFINED; count];
        let mut acquire = BarrierBatch::new();
        let stager = &self.stager;
        let device = self.device.clone();
        let mut share = FrameShare::new(self.frames.clone());
        // Each upload's bytes (`sizes`), counted as it finishes: the render thread's progress
        // moves through the load, not only at its end.
        let counted = Arc::clone(&self.progress);
        let ring = self.ring.as_mut().context("uploader already destroyed")?;
        // The next upload to record, and which are done (images recorded together finish in
        // any order).
        let mut next = 0;
        let mut done = vec![false; count];
        let mut begun = false;
        // SAFETY: recording on the upload queue's family, which supports transfers; the
        // resources, their data and the ring outlive `run`; the `pre` batch is recorded before
        // any copy (in the first command buffer: later ones run after it on the same queue) and
        // `post` after the copies of its command buffer; a call stages before it records.
        let finished = unsafe {
            self.upload.run(ring, |cmd, ring| {
                if !begun {
                    let (mut adopt, mut pre) = (BarrierBatch::new(), BarrierBatch::new());
                    for upload in uploads.iter_mut().flatten() {
                        upload.adopt(stager, &mut adopt)?;
                        upload.begin(&mut pre)?;
                    }
                    adopt.record(cmd, &device);
                    pre.record(cmd, &device);
                    begun = true;
                }
                // What this frame's budget has left (after waiting for a frame if nothing).
                let room = copy_budget.map(|b| share.room(b, PADDING, Duration::ZERO).0);
                let used = ring.in_use();
                let mut post = BarrierBatch::new();
                while next < count {
                    if copy_budget.is_none() && matches!(uploads[next], Some(Job::Image(_))) {
                        // Every image left, side by side: their decoders (or copies) fill
                        // the batch on the stager's threads.
                        let (index, mut open): (Vec<usize>, Vec<&mut ImageUpload<'_>>) = uploads
                            .iter_mut()
                            .enumerate()
                            .skip(next)
                            .filter(|&(i, _)| !done[i])
                            .filter_map(|(i, job)| match job {
                                Some(Job::Image(upload)) => Some((i, upload)),
                                _ => None,
                            })
                            .unzip();
                        let progress = ImageUpload::record_copies_together(
                            cmd, stager, allocator, ring, &mut open, &mut post,
                        )?;
                        for (i, progress) in index.into_iter().zip(progress) {
                            if let Progress::Done(mut finished) = progress {
                                states[i] = finished.state;
                                acquire.append(&mut finished.acquire);
                                counted.fetch_add(sizes[i], Ordering::Relaxed);
                                done[i] = true;
                            }
                        }
                        while next < count && done[next] {
                            next += 1;
                        }
                        break;
                    }
                    let staged = ring.in_use() - used;
                    let progress = match room {
                        // The share counts ring space, which adds alignment padding to the
                        // data: each upload is capped short of the room by PADDING.
                        Some(room) if staged + PADDING >= room => break,
                        Some(room) => uploads[next]
                            .take()
                            .map(|job| job.capped(room - staged - PADDING))
                            .map(|job| &mut *uploads[next].insert(job)),
                        None => uploads[next].as_mut(),
                    }
                    .ok_or(vkup_staging::Error::AlreadyFinished)?
                    .record_copies(cmd, stager, allocator, ring, &mut post)?;
                    match progress {
                        Progress::Done(mut finished) => {
                            states[next] = finished.state;
                            acquire.append(&mut finished.acquire);
                            counted.fetch_add(sizes[next], Ordering::Relaxed);
                            done[next] = true;
                            next += 1;
                        }
                        Progress::Pending => break,
                    }
                }
                if copy_budget.is_some() {
                    // Copies count against a frame only where they share its queue.
                    share.spend(ring.in_use() - used, Duration::ZERO);
                }
                post.record(cmd, &device);
                Ok(if next < count {
                    Progress::Pending
                } else {
                    Progress::Done(Finished {
                        state: ResourceState::UNDEFINED,
                        acquire: BarrierBatch::new(),
                    })
                })
            })
        };
        // The run's own `Finished` is a placeholder: each upload's acquires were collected above.
        let _ = settle(&mut self.upload, finished)?;
        self.stats.bytes += sizes.iter().sum::<u64>();
        let uploaded = Instant::now();
        self.stats.upload += uploaded - start;
        let generating = textures.iter().any(|t| t.generate);
        if generating || !acquire.is_empty() {
            let image_states = &mut states[buffers.len()..];
            self.mips(textures, image_states, acquire, sampled, &mut share)?;
            if generating {
                self.stats.mips += uploaded.elapsed();
            }
        }
        if self.budget.is_some() {
            self.stats.largest_slice = self.stats.largest_slice.max(share.largest);
        }
        let textures_at = states.split_off(buffers.len());
        Ok((states, textures_at))
    }

    /// Records `acquire` and the chains `textures` ask for on the graphics queue (each texture
    /// from its entry in `states`, which it updates, to `sampled`): one submission, or with a
    /// budget slices that fit what `share` has left of each frame's bytes (of level 0, one
    /// texture at least) and time (at the rate the last slice ran); waits for them all.
    fn mips(
        &mut self,
        textures: &[TextureJob<'_>],
        states: &mut [ResourceState],
        mut acquire: BarrierBatch,
        sampled: ResourceState,
        share: &mut FrameShare,
    ) -> Result<()> {
        let device = self.device.clone();
        let budget = self.budget;
        let mips = &self.mips;
        let submitter = self.graphics.as_mut().unwrap_or(&mut self.upload);
        let mut scratches = Vec::new();
        let mut cpu = Duration::ZERO;
        let mut todo = textures
            .iter()
            .zip(states.iter_mut())
            .filter(|(t, _)| t.generate);
        let mut pending = todo.next();
        let mut first = true;
        let mut rate: Option<f64> = None;
        let mut result = Ok(());
        let budget_time = self.budget_time;
        while first || pending.is_some() {
            let mut slice = 0u64;
            // What is left of this frame's bytes, and what the last slice's rate makes of its
            // time; the first slice, one texture, measures the rate.
            let limit = budget.map(|b| {
                // The next texture goes whole: into this frame if it fits, else the next one's.
                if let Some((job, _)) = &pending {
                    share.fit(level0_bytes(job), b);
                }
                let (bytes, time) = share.room(b, 0, budget_time);
                match rate {
                    Some(bytes_per_s) if !budget_time.is_zero() => {
                        bytes.min((bytes_per_s * time.as_secs_f64()) as u64)
                    }
                    Some(_) => bytes,
                    None => 1,
                }
            });
            let began = Instant::now();
            // SAFETY: on the graphics family (blit and compute capable); the images outlive the
            // call (submit waits); the acquires come before the chains that need them.
            let submitted = unsafe {
                submitter.submit(|cmd| {
                    if first {
                        acquire.record(cmd, &device);
                    }
                    while let Some((job, state)) = pending.take() {
                        let bytes = level0_bytes(job);
                        // A slice holds one texture at least, then what fits.
                        if slice > 0 && limit.is_some_and(|l| slice + bytes > l) {
                            pending = Some((job, state));
                            break;
                        }
                        let at = Instant::now();
                        let (done, scratch) =
                            mips.record(cmd, job.target, *state, sampled, MipOptions::default())?;
                        cpu += at.elapsed();
                        scratches.push(scratch);
                        *state = done.state;
                        slice += bytes;
                        pending = todo.next();
                    }
                    Ok(())
                })
            };
            first = false;
            let took = began.elapsed();
            share.spend(slice, took);
            if slice > 0 && !took.is_zero() {
                rate = Some(slice as f64 / took.as_secs_f64());
            }
            if let Err(err) = submitted {
                result = Err(err);
                break;
            }
        }
        // Waited for: `submit` waits, and after an error nothing is left running (`settle`).
        let waited = match &result {
            Ok(()) => Ok(()),
            Err(_) => submitter.wait_idle(),
        };
        let at = Instant::now();
        for scratch in scratches {
            // SAFETY: every submission that used it has completed (waited above).
            unsafe { scratch.destroy(&device) };
        }
        self.stats.mips_cpu += cpu + at.elapsed();
        result?;
        Ok(waited?)
    }

    /// Waits for every submission of both submitters: after a load was cut short (a panic), so
    /// that what it made can be destroyed.
    pub fn wait_idle(&mut self) -> Result<()> {
        self.upload.wait_idle()?;
        if let Some(graphics) = self.graphics.as_mut() {
            graphics.wait_idle()?;
        }
        Ok(())
    }

    /// Makes one tiny chain in each format the demo's decoded textures use (RGBA8 UNORM and
    /// sRGB), so that a driver that compiles its blit shaders on a format's first use (lavapipe)
    /// does it now rather than in the first load.
    pub fn warm_up(&mut self, allocator: &Allocator) -> Result<()> {
        let sampled = self.on_graphics(Access::FragmentShaderSampledRead);
        let from = if self.transfers() {
            ResourceState::UNDEFINED.on_queue(self.graphics_family)
        } else {
            ResourceState::UNDEFINED
        };
        for format in [vk::Format::R8G8B8A8_UNORM, vk::Format::R8G8B8A8_SRGB] {
            let image = allocator.create_image(
                &vkup_allocator::ImageDesc::new_2d(format, 4, 4)
                    .mip_levels(vkup_allocator::MipLevels::Full)
                    .usage(
                        vk::ImageUsageFlags::SAMPLED
                            | vk::ImageUsageFlags::TRANSFER_SRC
                            | vk::ImageUsageFlags::TRANSFER_DST,
                    )
                    .name("mip warm-up"),
            )?;
            let mips = &self.mips;
            let submitter = self.graphics.as_mut().unwrap_or(&mut self.upload);
            let mut scratch = None;
            // SAFETY: on the graphics family; the image outlives the call (submit waits).
            let submitted = unsafe {
                submitter.submit(|cmd| {
                    let (_, s) = mips.record(cmd, &image, from, sampled, MipOptions::default())?;
                    scratch = Some(s);
                    Ok(())
                })
            };
            let waited = if submitted.is_err() {
                submitter.wait_idle()
            } else {
                Ok(())
            };
            // SAFETY: the submission completed (`submit` waits) or never ran (waited above).
            unsafe {
                if let Some(scratch) = scratch {
                    scratch.destroy(&self.device);
                }
                allocator.destroy_image(image);
            }
            submitted?;
            waited?;
        }
        Ok(())
    }

    /// Whether the mip generator can make `image`'s chain.
    pub fn can_generate(&self, image: &GpuImage) -> bool {
        self.mips.resolve(image, MipMethod::Auto).is_ok()
    }

    /// Waits for everything, then destroys the ring, submitters and pipelines.
    pub fn destroy(mut self, allocator: &Allocator) -> Result<()> {
        // SAFETY: every submitter waits for its own work before destroying.
        unsafe {
            self.upload.destroy()?;
            if let Some(graphics) = self.graphics.take() {
                graphics.destroy()?;
            }
            if let Some(ring) = self.ring.take() {
                ring.destroy(allocator);
            }
            self.mips.destroy();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame's share with no more than the padding left is spent: `room` starts the next
    /// frame's share instead of handing back room that no staging call can use (a budgeted
    /// load on the H200 once stopped so, with "the recording made no progress with an empty
    /// staging ring"); with more left, the same frame's share goes on.
    #[test]
    fn a_share_with_only_the_padding_left_is_spent() {
        let clock = FrameClock::default();
        let mut share = FrameShare::new(clock.clone());
        let budget = 64 << 10;
        share.spend(budget - PADDING / 2, Duration::ZERO);
        let ticker = {
            let clock = clock.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                clock.tick();
            })
        };
        let (room, _) = share.room(budget, PADDING, Duration::ZERO);
        ticker.join().unwrap();
        assert_eq!(room, budget);
        assert_eq!(share.seen, 1);
        share.spend(budget / 2, Duration::ZERO);
        assert_eq!(share.room(budget, PADDING, Duration::ZERO).0, budget / 2);
        assert_eq!(share.seen, 1);
    }
}
