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
use vkup_allocator::{Allocator, GpuBuffer, GpuImage};
use vkup_staging::{
    Access, BarrierBatch, BufferTarget, BufferUpload, Finished, ImageTarget, ImageUpload,
    MipMethod, MipOptions, Progress, ResourceState, Stager, StagingRing, Submitter,
};

use crate::gpu::Gpu;

/// Staging ring size: smaller than the big scene's texture (256 MiB) and mesh, so those are
/// split into pieces across submissions.
pub const RING_BYTES: u64 = 32 << 20;

/// Byte, time and submission counters of one load.
#[derive(Clone, Copy, Debug, Default)]
pub struct UploadStats {
    pub bytes: u64,
    pub upload: Duration,
    pub mips: Duration,
    /// Queue submissions made (copies, acquires, mips), on every queue: set by the loader.
    pub submissions: u64,
}

/// A buffer of a scene upload: where, what, and the access it is read with once uploaded.
pub struct BufferJob<'a> {
    pub target: BufferTarget,
    pub data: &'a [u8],
    pub access: Access,
}

/// A texture of a scene upload: `levels` packed levels for `target` (see
/// `ImageUpload::packed`), and whether the rest of its chain is generated after.
pub struct TextureJob<'a> {
    pub target: ImageTarget,
    pub data: &'a [u8],
    pub levels: u32,
    pub generate: bool,
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
        // Built now, not in the first load (1.7 s on an H200 with a cold driver cache).
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
            stats: UploadStats::default(),
            progress: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Counts `bytes` uploaded, for the load's statistics and the render thread's progress.
    fn count(&mut self, bytes: usize) {
        self.stats.bytes += bytes as u64;
        self.progress.fetch_add(bytes as u64, Ordering::Relaxed);
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

    /// Records `acquire` on the graphics queue and waits for it (nothing when empty).
    fn acquire(&mut self, mut acquire: BarrierBatch) -> Result<()> {
        let (Some(graphics), false) = (self.graphics.as_mut(), acquire.is_empty()) else {
            return Ok(());
        };
        let device = self.device.clone();
        // SAFETY: the barriers name resources alive until this returns (submit waits).
        unsafe {
            graphics.submit(|cmd| {
                acquire.record(cmd, &device);
                Ok(())
            })
        }?;
        Ok(())
    }

    /// Uploads `data` into the start of `buffer`, leaving it in `access` on the graphics queue;
    /// returns the state staging left it in (the frame graph imports it in that state).
    pub fn buffer(
        &mut self,
        allocator: &Allocator,
        buffer: &mut GpuBuffer,
        data: &[u8],
        access: Access,
    ) -> Result<ResourceState> {
        let start = Instant::now();
        let (from, to) = (self.fresh(), self.on_graphics(access));
        let mut upload =
            BufferUpload::new(buffer, 0, data, from, to)?.path(vkup_staging::UploadPath::Staged);
        let ring = self.ring.as_mut().context("uploader already destroyed")?;
        let stager = &self.stager;
        // SAFETY: recording on the upload queue's family; buffer, data and ring outlive `run`.
        let finished = unsafe {
            self.upload.run(ring, |cmd, ring| {
                upload.record(cmd, stager, allocator, ring)
            })
        };
        let finished = settle(&mut self.upload, finished)?;
        self.acquire(finished.acquire)?;
        self.count(data.len());
        self.stats.upload += start.elapsed();
        Ok(finished.state)
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
                if let Some(r) = readback {
                    // SAFETY: never submitted (recording failed after the copy was made).
                    unsafe { r.destroy(allocator) };
                }
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
    /// every acquire and mip chain goes in one graphics submission. After an error it waits for
    /// what it submitted, so the caller may destroy the resources.
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
        let mut buffer_uploads =
            buffers
                .iter()
                .map(|job| {
                    Ok(BufferUpload::new(
                        job.target,
                        0,
                        job.data,
                        fresh,
                        self.on_graphics(job.access),
                    )?
                    .path(vkup_staging::UploadPath::Staged))
                })
                .collect::<Result<Vec<_>>>()?;
        let mut image_uploads = textures
            .iter()
            .map(|job| {
                let to = if job.generate { before_mips } else { sampled };
                Ok(ImageUpload::packed(
                    &self.stager,
                    job.target,
                    job.data,
                    job.levels,
                    fresh,
                    to,
                )?)
            })
            .collect::<Result<Vec<_>>>()?;
        let count = buffer_uploads.len() + image_uploads.len();
        let mut states = vec![ResourceState::UNDEFINED; count];
        let mut acquire = BarrierBatch::new();
        let stager = &self.stager;
        let device = self.device.clone();
        let ring = self.ring.as_mut().context("uploader already destroyed")?;
        // The next upload to record, over buffers then textures.
        let mut next = 0;
        let mut begun = false;
        // SAFETY: recording on the upload queue's family, which supports transfers; the
        // resources, their data and the ring outlive `run`; the `pre` batch is recorded before
        // any copy (in the first command buffer: later ones run after it on the same queue) and
        // `post` after the copies of its command buffer; a call stages before it records.
        let finished = unsafe {
            self.upload.run(ring, |cmd, ring| {
                if !begun {
                    let (mut adopt, mut pre) = (BarrierBatch::new(), BarrierBatch::new());
                    for upload in &mut buffer_uploads {
                        upload.adopt(stager, &mut adopt)?;
                        upload.begin(&mut pre)?;
                    }
                    for upload in &mut image_uploads {
                        upload.adopt(stager, &mut adopt)?;
                        upload.begin(&mut pre)?;
                    }
                    adopt.record(cmd, &device);
                    pre.record(cmd, &device);
                    begun = true;
                }
                let mut post = BarrierBatch::new();
                while next < count {
                    let progress = if next < buffer_uploads.len() {
                        buffer_uploads[next].record_copies(cmd, stager, allocator, ring, &mut post)
                    } else {
                        image_uploads[next - buffer_uploads.len()]
                            .record_copies(cmd, stager, allocator, ring, &mut post)
                    }?;
                    match progress {
                        Progress::Done(mut done) => {
                            states[next] = done.state;
                            acquire.append(&mut done.acquire);
                            next += 1;
                        }
                        Progress::Pending => break,
                    }
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
        let bytes: usize = buffers
            .iter()
            .map(|b| b.data.len())
            .chain(textures.iter().map(|t| t.data.len()))
            .sum();
        self.count(bytes);
        let uploaded = Instant::now();
        self.stats.upload += uploaded - start;
        let generating = textures.iter().any(|t| t.generate);
        if generating || !acquire.is_empty() {
            let mips = &self.mips;
            let mut scratches = Vec::new();
            let ring = self.ring.as_mut().context("uploader already destroyed")?;
            let submitter = self.graphics.as_mut().unwrap_or(&mut self.upload);
            let image_states = &mut states[buffers.len()..];
            // SAFETY: on the graphics family (blit and compute capable); the images outlive
            // `run`; it stages nothing.
            let result = unsafe {
                submitter.run(ring, |cmd, _| {
                    acquire.record(cmd, &device);
                    for (job, state) in textures.iter().zip(image_states.iter_mut()) {
                        if job.generate {
                            let (done, scratch) = mips.record(
                                cmd,
                                job.target,
                                *state,
                                sampled,
                                MipOptions::default(),
                            )?;
                            scratches.push(scratch);
                            *state = done.state;
                        }
                    }
                    Ok(Progress::Done(Finished {
                        state: sampled,
                        acquire: BarrierBatch::new(),
                    }))
                })
            };
            let result = settle(submitter, result);
            for scratch in scratches {
                // SAFETY: run, or `settle` after an error, waited for the submission.
                unsafe { scratch.destroy(&device) };
            }
            let _ = result?;
            if generating {
                self.stats.mips += uploaded.elapsed();
            }
        }
        let textures_at = states.split_off(buffers.len());
        Ok((states, textures_at))
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
