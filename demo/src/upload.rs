//! The loader thread's upload path: a staging ring, and submitters on the upload queue (the
//! transfer queue where the device has one, else the graphics queue, shared with the render
//! thread under its lock) and on the graphics queue (ownership acquires and mip generation).
//!
//! Every upload waits for its own submissions to complete on this thread, never on the frame
//! path; the render thread keeps drawing meanwhile.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use vkup_allocator::{Allocator, GpuBuffer, GpuImage};
use vkup_staging::{
    Access, BarrierBatch, BufferUpload, Finished, ImageTarget, ImageUpload, MipMethod, MipOptions,
    Progress, ResourceState, Stager, StagingRing, Submitter,
};

use crate::gpu::Gpu;

/// Staging ring size: smaller than the big scene's texture (256 MiB) and mesh, so those are
/// split into pieces across submissions.
pub const RING_BYTES: u64 = 32 << 20;

/// Byte and time counters of one load.
#[derive(Clone, Copy, Debug, Default)]
pub struct UploadStats {
    pub bytes: u64,
    pub upload: Duration,
    pub mips: Duration,
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

    /// Uploads `levels` packed levels into `image` and, when `generate` says so, makes the rest
    /// of the chain; the image ends sampled by fragment shaders on the graphics queue, in the
    /// state returned.
    pub fn texture(
        &mut self,
        allocator: &Allocator,
        image: &GpuImage,
        data: &[u8],
        levels: u32,
        generate: bool,
    ) -> Result<ResourceState> {
        let start = Instant::now();
        let sampled = self.on_graphics(Access::FragmentShaderSampledRead);
        let after_upload = if generate {
            self.on_graphics(Access::TransferRead)
        } else {
            sampled
        };
        let fresh = self.fresh();
        let ring = self.ring.as_mut().context("uploader already destroyed")?;
        let mut upload =
            ImageUpload::packed(&self.stager, image, data, levels, fresh, after_upload)?;
        let stager = &self.stager;
        // SAFETY: recording on the upload queue's family; image, data and ring outlive `run`.
        let finished = unsafe {
            self.upload.run(ring, |cmd, ring| {
                upload.record(cmd, stager, allocator, ring)
            })
        };
        let finished = settle(&mut self.upload, finished)?;
        self.count(data.len());
        let uploaded = Instant::now();
        self.stats.upload += uploaded - start;
        if !generate {
            self.acquire(finished.acquire)?;
            return Ok(finished.state);
        }
        let mut acquire = finished.acquire;
        let mips = &self.mips;
        let device = self.device.clone();
        let mut scratch = None;
        let ring = self.ring.as_mut().context("uploader already destroyed")?;
        let submitter = self.graphics.as_mut().unwrap_or(&mut self.upload);
        // SAFETY: on the graphics family (blit and compute capable); the image outlives `run`.
        let result = unsafe {
            submitter.run(ring, |cmd, _| {
                acquire.record(cmd, &device);
                let (done, s) =
                    mips.record(cmd, image, after_upload, sampled, MipOptions::default())?;
                scratch = Some(s);
                Ok(Progress::Done(done))
            })
        };
        let result = settle(submitter, result);
        if let Some(s) = scratch {
            // SAFETY: run, or `settle` after an error, waited for the submission.
            unsafe { s.destroy(&device) };
        }
        let done = result?;
        self.stats.mips += uploaded.elapsed();
        Ok(done.state)
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
