//! Rows 2 and 3: buffer and texture uploads, end to end (host copy, GPU copy, wait), ours against
//! a one-thread memcpy (the floor of any upload), a hand-written staged copy, and wgpu.

use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::{Allocator, BufferDesc, GpuImage, ImageDesc, MemoryIntent, MipLevels};
use vkup_staging::{
    Access, BarrierBatch, BufferUpload, Finished, ImageUpload, ProduceError, Progress,
    ResourceState, Slot, Stager, StagingRing, Submitter, UploadPath,
};

use crate::peer::Wgpu;
use crate::stats::{interleaved, seconds, size_label, Contender, Row};

/// The staging ring of every upload here: smaller than the largest upload, so those are split.
const RING: u64 = 64 << 20;

fn data(len: usize, seed: u32) -> Vec<u8> {
    (0..len)
        .map(|i| {
            ((i as u32) ^ seed)
                .wrapping_mul(2_654_435_761)
                .rotate_left(7) as u8
        })
        .collect()
}

/// A command buffer and fence for the hand-written baseline.
struct Baseline<'g> {
    gpu: &'g Gpu,
    pool: vk::CommandPool,
    cmd: vk::CommandBuffer,
    fence: vk::Fence,
}

impl<'g> Baseline<'g> {
    fn new(gpu: &'g Gpu) -> Self {
        let device = &gpu.device;
        // SAFETY: plain object creation on the benchmark's device; destroyed in `drop`.
        unsafe {
            let pool = device
                .create_command_pool(
                    &vk::CommandPoolCreateInfo::default()
                        .flags(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER)
                        .queue_family_index(gpu.queue_family),
                    None,
                )
                .expect("pool");
            let cmd = device
                .allocate_command_buffers(
                    &vk::CommandBufferAllocateInfo::default()
                        .command_pool(pool)
                        .command_buffer_count(1),
                )
                .expect("cmd")[0];
            let fence = device
                .create_fence(&vk::FenceCreateInfo::default(), None)
                .expect("fence");
            Self {
                gpu,
                pool,
                cmd,
                fence,
            }
        }
    }

    /// memcpy into the mapped staging buffer, one `vkCmdCopyBuffer`, submit, wait.
    fn upload(
        &self,
        alloc: &Allocator,
        staging: &mut vkup_allocator::GpuBuffer,
        dst: vk::Buffer,
        data: &[u8],
    ) -> Result<(), String> {
        alloc.write(staging, 0, data).map_err(|e| e.to_string())?;
        let device = &self.gpu.device;
        // SAFETY: the command buffer is idle (the last submission was waited for); both buffers
        // are live and at least `data.len()` bytes long.
        unsafe {
            device
                .begin_command_buffer(
                    self.cmd,
                    &vk::CommandBufferBeginInfo::default()
                        .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT),
                )
                .map_err(|e| e.to_string())?;
            device.cmd_copy_buffer(
                self.cmd,
                staging.raw(),
                dst,
                &[vk::BufferCopy::default().size(data.len() as u64)],
            );
            device
                .end_command_buffer(self.cmd)
                .map_err(|e| e.to_string())?;
            let cmds = [vk::CommandBufferSubmitInfo::default().command_buffer(self.cmd)];
            device
                .queue_submit2(
                    self.gpu.queue,
                    &[vk::SubmitInfo2::default().command_buffer_infos(&cmds)],
                    self.fence,
                )
                .map_err(|e| e.to_string())?;
            device
                .wait_for_fences(&[self.fence], true, u64::MAX)
                .map_err(|e| e.to_string())?;
            device
                .reset_fences(&[self.fence])
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

impl Drop for Baseline<'_> {
    fn drop(&mut self) {
        // SAFETY: every submission was waited for.
        unsafe {
            self.gpu.device.destroy_fence(self.fence, None);
            self.gpu.device.destroy_command_pool(self.pool, None);
        }
    }
}

/// One buffer upload through `stager`, staged or direct, run to completion; answers the host
/// seconds spent inside `record` (the ring fill, for staged uploads).
fn ours_buffer(
    stager: &Stager,
    alloc: &Allocator,
    submitter: &mut Submitter,
    ring: &mut StagingRing,
    dst: &vkup_allocator::GpuBuffer,
    data: &[u8],
    path: UploadPath,
) -> Result<f64, String> {
    ours_buffer_with(stager, alloc, submitter, ring, dst, data, |upload| {
        upload.path(path)
    })
}

/// One buffer upload, set up by `configure`, run to completion; answers the host seconds spent
/// inside `record`.
fn ours_buffer_with<'a>(
    stager: &Stager,
    alloc: &Allocator,
    submitter: &mut Submitter,
    ring: &mut StagingRing,
    dst: &vkup_allocator::GpuBuffer,
    data: &'a [u8],
    configure: impl FnOnce(BufferUpload<'a>) -> BufferUpload<'a>,
) -> Result<f64, String> {
    let mut upload = configure(
        BufferUpload::new(
            dst,
            0,
            data,
            ResourceState::UNDEFINED,
            Access::VertexBuffer.into(),
        )
        .map_err(|e| e.to_string())?,
    );
    let mut recording = 0.0;
    // SAFETY: recording on the submitter's queue; the destination is idle (every earlier
    // upload into it was waited for) and outlives `run`.
    unsafe {
        submitter.run(ring, |cmd, ring| {
            let start = std::time::Instant::now();
            let progress = upload.record(cmd, stager, alloc, ring);
            recording += start.elapsed().as_secs_f64();
            progress
        })
    }
    .map(|_| recording)
    .map_err(|e| e.to_string())
}

/// Row 2: buffer uploads from 4 KiB to 256 MiB.
pub fn buffers(gpu: &Gpu, peer: Result<&Wgpu, &String>, quick: bool) -> Vec<Row> {
    let sizes: &[u64] = if quick {
        &[4 << 10, 64 << 10]
    } else {
        &[4 << 10, 64 << 10, 1 << 20, 16 << 20, 256 << 20, 1 << 30]
    };
    let rounds = if quick { 2 } else { 7 };
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let one_thread = gpu.stager(&alloc).threads(1);
    let mut submitter = gpu.submitter();
    let mut ring = StagingRing::new(&alloc, RING).expect("ring");
    let baseline = Baseline::new(gpu);
    let mut rows = Vec::new();
    let mut direct_memory = String::new();
    for &size in sizes {
        let bytes = data(size as usize, 1);
        // Small uploads repeat within one measurement, so each takes long enough to time.
        let reps = ((64u64 << 20) / size).clamp(1, if quick { 4 } else { 256 }) as usize;
        let total = (size * reps as u64) as f64;
        let usage = vk::BufferUsageFlags::TRANSFER_DST | vk::BufferUsageFlags::VERTEX_BUFFER;
        let gpu_only = alloc
            .create_buffer(&BufferDesc::new(size, usage))
            .expect("destination");
        let mappable = alloc
            .create_buffer(&BufferDesc::new(size, usage).memory(MemoryIntent::CpuToGpu))
            .expect("mappable destination");
        direct_memory = format!("{:?}", mappable.memory_flags());
        let mut staging = alloc
            .create_buffer(&BufferDesc::staging(size))
            .expect("staging");
        let mut host = vec![0u8; size as usize];
        let wgpu_buffer = peer.ok().map(|p| p.buffer(size));
        let results = {
            let (submitter, ring) = (&mut submitter, &mut ring);
            let cell = std::cell::RefCell::new((submitter, ring));
            let gbps = |f: &mut dyn FnMut() -> Result<(), String>| -> Result<f64, String> {
                let mut result = Ok(());
                let secs = seconds(|| {
                    for _ in 0..reps {
                        if let Err(e) = f() {
                            result = Err(e);
                            return;
                        }
                    }
                });
                result.map(|()| total / secs / 1e9)
            };
            let ours = |stager: &Stager, dst: &vkup_allocator::GpuBuffer, path: UploadPath| {
                let mut c = cell.borrow_mut();
                let (s, r) = &mut *c;
                gbps(&mut || ours_buffer(stager, &alloc, s, r, dst, &bytes, path).map(drop))
            };
            let mut contenders = [
                Contender::new("ours staged", || {
                    ours(&stager, &gpu_only, UploadPath::Staged)
                }),
                Contender::new("ours staged, 1 thread", || {
                    ours(&one_thread, &gpu_only, UploadPath::Staged)
                }),
                Contender::new("ours direct", || {
                    ours(&stager, &mappable, UploadPath::Direct)
                }),
                Contender::new("memcpy, 1 thread", || {
                    gbps(&mut || {
                        host.copy_from_slice(&bytes);
                        std::hint::black_box(&host);
                        Ok(())
                    })
                }),
                Contender::new("hand-written staged copy", || {
                    gbps(&mut || baseline.upload(&alloc, &mut staging, gpu_only.raw(), &bytes))
                }),
                Contender::new("wgpu write_buffer", || match (peer, &wgpu_buffer) {
                    (Ok(p), Some(b)) => gbps(&mut || p.write_buffer(b, &bytes)),
                    (Err(why), _) => Err(why.clone()),
                    _ => Err("no wgpu buffer".into()),
                }),
            ];
            interleaved(rounds, &mut contenders)
        };
        rows.push(Row {
            group: "Buffer upload",
            case: size_label(size),
            unit: "GB/s",
            higher_is_better: true,
            size: Some(size),
            results,
            note: None,
            compare: true,
        });
        // SAFETY: every upload into them was waited for.
        unsafe {
            alloc.destroy_buffer(gpu_only);
            alloc.destroy_buffer(mappable);
            alloc.destroy_buffer(staging);
        }
    }
    if let Some(last) = rows.last_mut() {
        last.note = Some(format!(
            "end to end: host copy, GPU copy, wait for completion; ours staged goes through a \
             {} MiB ring (uploads larger than it in several submissions), ours direct writes \
             {direct_memory} memory; small sizes repeat up to 256 times per measurement",
            RING >> 20
        ));
    }
    // SAFETY: every submission completed.
    unsafe {
        submitter.destroy().expect("submitter");
        ring.destroy(&alloc);
    }
    rows
}

/// Many small buffer uploads in a row (a level's worth of meshes and uniform blocks): ours records
/// them all through one submitter run, several per command buffer; wgpu queues one
/// `write_buffer` each and submits once. GB/s end to end, and the host time per upload spent
/// recording (ours) or in `write_buffer` (wgpu).
pub fn small_buffers(gpu: &Gpu, peer: Result<&Wgpu, &String>, quick: bool) -> Row {
    let count = if quick { 100 } else { 10_000 };
    let rounds = if quick { 2 } else { 5 };
    let mut lcg = crate::stats::Lcg::new(5);
    let sizes: Vec<u64> = (0..count)
        .map(|_| lcg.log_uniform(4 << 10, 64 << 10).next_multiple_of(4))
        .collect();
    let total: u64 = sizes.iter().sum();
    let bytes = data(64 << 10, 9);
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let mut submitter = gpu.submitter();
    let mut ring = StagingRing::new(&alloc, RING).expect("ring");
    let usage = vk::BufferUsageFlags::TRANSFER_DST | vk::BufferUsageFlags::VERTEX_BUFFER;
    let buffers: Vec<vkup_allocator::GpuBuffer> = sizes
        .iter()
        .map(|&s| {
            alloc
                .create_buffer(&BufferDesc::new(s, usage))
                .expect("buffer")
        })
        .collect();
    let wgpu_buffers: Vec<wgpu::Buffer> = peer
        .ok()
        .map(|p| sizes.iter().map(|&s| p.buffer(s)).collect())
        .unwrap_or_default();
    let (mut ours_cpu, mut wgpu_cpu) = (Vec::new(), Vec::new());
    let results = {
        let mut contenders = [
            Contender::new("ours staged", || {
                let mut uploads = buffers
                    .iter()
                    .zip(&sizes)
                    .map(|(b, &s)| {
                        BufferUpload::new(
                            b,
                            0,
                            &bytes[..s as usize],
                            ResourceState::UNDEFINED,
                            Access::VertexBuffer.into(),
                        )
                        .map(|u| u.path(UploadPath::Staged))
                    })
                    .collect::<vkup_staging::Result<Vec<_>>>()
                    .map_err(|e| e.to_string())?;
                let (mut next, mut recording) = (0, 0.0);
                let start = std::time::Instant::now();
                // SAFETY: recording on the submitter's queue; the buffers and data outlive
                // `run`, which waits.
                let result = unsafe {
                    submitter.run(&mut ring, |cmd, ring| {
                        let t = std::time::Instant::now();
                        while next < uploads.len() {
                            match uploads[next].record(cmd, &stager, &alloc, ring) {
                                Ok(Progress::Done(_)) => next += 1,
                                Ok(Progress::Pending) => {
                                    recording += t.elapsed().as_secs_f64();
                                    return Ok(Progress::Pending);
                                }
                                Err(e) => return Err(e),
                            }
                        }
                        recording += t.elapsed().as_secs_f64();
                        Ok(Progress::Done(Finished {
                            state: Access::VertexBuffer.into(),
                            acquire: BarrierBatch::new(),
                        }))
                    })
                };
                let secs = start.elapsed().as_secs_f64();
                let _ = result.map_err(|e| e.to_string())?;
                ours_cpu.push(recording / count as f64 * 1e6);
                Ok(total as f64 / secs / 1e9)
            }),
            Contender::new("wgpu write_buffer", || {
                let p = peer.map_err(|why| why.clone())?;
                let start = std::time::Instant::now();
                for (b, &s) in wgpu_buffers.iter().zip(&sizes) {
                    p.queue.write_buffer(b, 0, &bytes[..s as usize]);
                }
                let queued = start.elapsed().as_secs_f64();
                p.wait()?;
                let secs = start.elapsed().as_secs_f64();
                wgpu_cpu.push(queued / count as f64 * 1e6);
                Ok(total as f64 / secs / 1e9)
            }),
        ];
        interleaved(rounds, &mut contenders)
    };
    let median = |v: &[f64]| crate::stats::Sample::of(v).map_or(f64::NAN, |s| s.median);
    // SAFETY: every upload completed.
    unsafe {
        for b in buffers {
            alloc.destroy_buffer(b);
        }
        submitter.destroy().expect("submitter");
        ring.destroy(&alloc);
    }
    Row {
        group: "Buffer upload",
        case: format!(
            "{count} buffers of 4-64 KiB ({:.0} MiB)",
            total as f64 / (1u64 << 20) as f64
        ),
        unit: "GB/s",
        higher_is_better: true,
        size: None,
        results,
        note: Some(format!(
            "host time per upload: ours {:.2} µs recording (ring fill included), wgpu {:.2} µs \
             in write_buffer; ours records many uploads per command buffer, wgpu submits once",
            median(&ours_cpu),
            median(&wgpu_cpu)
        )),
        compare: true,
    }
}

/// Every level of a `side`-square RGBA8 image, packed.
fn chain(side: u32) -> (Vec<u8>, Vec<(u32, std::ops::Range<usize>)>) {
    let mut levels = Vec::new();
    let mut offset = 0usize;
    let mut s = side;
    loop {
        let len = (s * s * 4) as usize;
        levels.push((s, offset..offset + len));
        offset += len;
        if s == 1 {
            break;
        }
        s = (s / 2).max(1);
    }
    (data(offset, side), levels)
}

/// Uploads every image's full chain through one submitter run (several submissions when the
/// ring fills), or with `import` copied straight from the import `bytes` lies in; answers the
/// seconds spent recording.
#[allow(clippy::too_many_arguments)]
fn ours_textures(
    stager: &Stager,
    alloc: &Allocator,
    submitter: &mut Submitter,
    ring: &mut StagingRing,
    images: &[GpuImage],
    bytes: &[u8],
    batch: Option<u64>,
    import: Option<&vkup_allocator::HostImport>,
) -> Result<f64, String> {
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
    let mut uploads = images
        .iter()
        .map(|image| {
            let upload = ImageUpload::packed(
                stager,
                image,
                bytes,
                image.mip_levels(),
                ResourceState::UNDEFINED,
                sampled,
            )?;
            let upload = match batch {
                Some(bytes) => upload.batch_bytes(bytes),
                None => upload,
            };
            match import {
                Some(import) => upload.imported(import),
                None => Ok(upload),
            }
        })
        .collect::<vkup_staging::Result<Vec<_>>>()
        .map_err(|e| e.to_string())?;
    let (mut next, mut recording) = (0, 0.0);
    // SAFETY: recording on the submitter's queue; images, data and the import (of this
    // device) outlive `run`, which waits.
    unsafe {
        submitter.run(ring, |cmd, ring| {
            while next < uploads.len() {
                let t = std::time::Instant::now();
                let progress = uploads[next].record(cmd, stager, alloc, ring)?;
                recording += t.elapsed().as_secs_f64();
                match progress {
                    Progress::Done(_) => next += 1,
                    Progress::Pending => return Ok(Progress::Pending),
                }
            }
            Ok(Progress::Done(Finished {
                state: sampled,
                acquire: BarrierBatch::new(),
            }))
        })
    }
    .map(|_| recording)
    .map_err(|e| e.to_string())
}

/// Host memory aligned for an import, freed on drop.
struct Aligned {
    ptr: std::ptr::NonNull<u8>,
    layout: std::alloc::Layout,
}

impl Aligned {
    /// `data` copied into memory of its length rounded up to `align`, aligned to it.
    fn copy_of(data: &[u8], align: usize) -> Option<Self> {
        let len = data.len().next_multiple_of(align);
        let layout = std::alloc::Layout::from_size_align(len, align).ok()?;
        // SAFETY: a non-zero size (the chain holds bytes).
        let ptr = std::ptr::NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) })?;
        // SAFETY: `len` >= `data.len()` bytes were just allocated at `ptr`.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), ptr.as_ptr(), data.len()) };
        Some(Self { ptr, layout })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: allocated with this length, alive while `self` is.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.layout.size()) }
    }
}

impl Drop for Aligned {
    fn drop(&mut self) {
        // SAFETY: allocated with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

/// How the in-place contenders' producers write their slots.
#[derive(Clone, Copy)]
enum Writes {
    /// `fill`: plain stores.
    Plain,
    /// Non-temporal stores (a single-threaded stager's copy) from a cache-resident 1 MiB block:
    /// only the destination's stream reaches memory, as for a decoder that streams its output.
    Streaming,
}

/// Records one command buffer's share of `uploads` recorded together
/// ([`gpu_tests::record_together`], the first call, `begun` false, with their opening
/// barriers). Done, in `state`, once all are finished.
///
/// # Safety
/// As for `ImageUpload::record_copies_together`; every command buffer of the run is recorded by
/// one call, in submission order.
unsafe fn record_together(
    cmd: vk::CommandBuffer,
    stager: &Stager,
    alloc: &Allocator,
    ring: &mut StagingRing,
    uploads: &mut [ImageUpload<'_>],
    begun: &mut bool,
    state: ResourceState,
) -> vkup_staging::Result<Progress> {
    let mut refs: Vec<&mut ImageUpload<'_>> = uploads.iter_mut().collect();
    // SAFETY: forwarded from this function's contract; only the first call begins.
    unsafe { gpu_tests::record_together(cmd, stager, alloc, ring, &mut refs, !*begun)? };
    *begun = true;
    Ok(if uploads.iter().all(ImageUpload::is_finished) {
        Progress::Done(Finished {
            state,
            acquire: BarrierBatch::new(),
        })
    } else {
        Progress::Pending
    })
}

/// Uploads every image's full chain written in place: a producer per image writes each slot once
/// (the stores a decoder's output makes, with no source in memory to read), all the images
/// recorded together so their producers run side by side on the stager's threads. Answers the
/// seconds spent recording (the producers' writes, mostly).
fn ours_in_place(
    stager: &Stager,
    alloc: &Allocator,
    submitter: &mut Submitter,
    ring: &mut StagingRing,
    images: &[GpuImage],
    writes: Writes,
) -> Result<f64, String> {
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
    // Each producer copies on its own thread: no pool of its own.
    let single = Stager::new(alloc);
    let block = vec![0x5au8; 1 << 20];
    let (single, block) = (&single, &block);
    let mut uploads = images
        .iter()
        .map(|image| {
            ImageUpload::in_place(
                stager,
                image,
                image.mip_levels(),
                ResourceState::UNDEFINED,
                sampled,
                move |mut slot: Slot<'_>| -> Result<(), ProduceError> {
                    let value = (slot.level() * 31 + slot.layer()) as u8;
                    let Some(bytes) = slot.packed_mut() else {
                        slot.rows_mut().for_each(|row| row.fill(value));
                        return Ok(());
                    };
                    match writes {
                        Writes::Plain => bytes.fill(value),
                        Writes::Streaming => {
                            for chunk in bytes.chunks_mut(block.len()) {
                                single.copy(&block[..chunk.len()], chunk)?;
                            }
                        }
                    }
                    Ok(())
                },
            )
        })
        .collect::<vkup_staging::Result<Vec<_>>>()
        .map_err(|e| e.to_string())?;
    let (mut begun, mut recording) = (false, 0.0);
    // SAFETY: recording on the submitter's queue; images outlive `run`, which waits; each
    // command buffer is recorded by one `record_together`, the first one begins the uploads.
    unsafe {
        submitter.run(ring, |cmd, ring| {
            let t = std::time::Instant::now();
            let progress =
                record_together(cmd, stager, alloc, ring, &mut uploads, &mut begun, sampled);
            recording += t.elapsed().as_secs_f64();
            progress
        })
    }
    .map(|_| recording)
    .map_err(|e| e.to_string())
}

/// The GPU side of [`ours_textures`] alone: every level of every image copied from one staging
/// buffer already filled (`staging`, at least level 0's size), with the same transitions, timed by
/// GPU timestamps; answers milliseconds.
fn copies_only(
    gpu: &Gpu,
    timer: &crate::mips::Timer<'_>,
    staging: vk::Buffer,
    images: &[GpuImage],
) -> Result<f64, String> {
    let device = &gpu.device;
    let barrier = |image: &GpuImage, from: vk::ImageLayout, to: vk::ImageLayout| {
        let (src_stage, src_access, dst_stage, dst_access) = if from == vk::ImageLayout::UNDEFINED {
            (
                vk::PipelineStageFlags2::NONE,
                vk::AccessFlags2::NONE,
                vk::PipelineStageFlags2::COPY,
                vk::AccessFlags2::TRANSFER_WRITE,
            )
        } else {
            (
                vk::PipelineStageFlags2::COPY,
                vk::AccessFlags2::TRANSFER_WRITE,
                vk::PipelineStageFlags2::FRAGMENT_SHADER,
                vk::AccessFlags2::SHADER_SAMPLED_READ,
            )
        };
        vk::ImageMemoryBarrier2::default()
            .src_stage_mask(src_stage)
            .src_access_mask(src_access)
            .dst_stage_mask(dst_stage)
            .dst_access_mask(dst_access)
            .old_layout(from)
            .new_layout(to)
            .image(image.raw())
            .subresource_range(image.full_range(vk::ImageAspectFlags::COLOR))
    };
    timer.time(|cmd| {
        let to_dst: Vec<_> = images
            .iter()
            .map(|i| {
                barrier(
                    i,
                    vk::ImageLayout::UNDEFINED,
                    vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                )
            })
            .collect();
        let to_read: Vec<_> = images
            .iter()
            .map(|i| {
                barrier(
                    i,
                    vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                    vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL,
                )
            })
            .collect();
        // SAFETY: recording on the timer's queue; the images and the staging buffer (as large as
        // level 0, so every level's copy stays inside it) outlive the wait.
        unsafe {
            device.cmd_pipeline_barrier2(
                cmd,
                &vk::DependencyInfo::default().image_memory_barriers(&to_dst),
            );
            for image in images {
                let regions: Vec<_> = (0..image.mip_levels())
                    .map(|level| {
                        let e = image.level_extent(level);
                        vk::BufferImageCopy::default()
                            .image_subresource(vk::ImageSubresourceLayers {
                                aspect_mask: vk::ImageAspectFlags::COLOR,
                                mip_level: level,
                                base_array_layer: 0,
                                layer_count: 1,
                            })
                            .image_extent(e)
                    })
                    .collect();
                device.cmd_copy_buffer_to_image(
                    cmd,
                    staging,
                    image.raw(),
                    vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                    &regions,
                );
            }
            device.cmd_pipeline_barrier2(
                cmd,
                &vk::DependencyInfo::default().image_memory_barriers(&to_read),
            );
        }
    })
}

/// Row 3: one large texture with all levels, and many small ones.
pub fn textures(gpu: &Gpu, peer: Result<&Wgpu, &String>, quick: bool) -> Vec<Row> {
    let rounds = if quick { 2 } else { 5 };
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let mut submitter = gpu.submitter();
    let mut rows = Vec::new();
    let cases: [(u32, usize); 2] = if quick {
        [(256, 1), (64, 16)]
    } else {
        [(4096, 12), (256, 256)]
    };
    for (side, count) in cases {
        let (bytes, levels) = chain(side);
        let images: Vec<GpuImage> = (0..count)
            .map(|_| {
                alloc
                    .create_image(
                        &ImageDesc::new_2d(vk::Format::R8G8B8A8_SRGB, side, side)
                            .mip_levels(MipLevels::Full)
                            .usage(
                                vk::ImageUsageFlags::SAMPLED | vk::ImageUsageFlags::TRANSFER_DST,
                            ),
                    )
                    .expect("texture")
            })
            .collect();
        let textures: Vec<wgpu::Texture> = peer
            .ok()
            .map(|p| {
                (0..count)
                    .map(|_| p.texture(side, levels.len() as u32))
                    .collect()
            })
            .unwrap_or_default();
        let mut ring = StagingRing::new(&alloc, RING).expect("ring");
        let total = (bytes.len() * count) as f64;
        let mut wgpu_peak = 0u64;
        let timer = crate::mips::Timer::new(gpu);
        // Level 0's bytes, staged once: the source of the copies-only contender, and the target
        // of the fill-only one.
        let level0 = levels[0].1.len();
        let mut filled = alloc
            .create_buffer(&BufferDesc::staging(level0 as u64))
            .expect("staging");
        mapped(&mut filled).copy_from_slice(&bytes[..level0]);
        // A second staging buffer as large, for the host to write while the GPU copies from the
        // first: whether the copies keep their rate beside a fill (they share host memory).
        let spare = std::cell::RefCell::new(
            alloc
                .create_buffer(&BufferDesc::staging(level0 as u64))
                .expect("staging"),
        );
        // The host's GB/s beside those copies, by contender.
        let beside = std::cell::RefCell::new([Vec::new(), Vec::new()]);
        let share = std::cell::RefCell::new(Vec::new());
        let share_in_place = std::cell::RefCell::new(Vec::new());
        // Stagers of fewer copy threads: how fast producers may write before their stores slow
        // the copies that read the same host memory.
        let fewer = [4, 2].map(|n| Stager::new(&alloc).threads(n));
        // The chain in host memory imported once (where the device can), for the import rows.
        let align = alloc.host_import_alignment();
        let pack = align.and_then(|a| Aligned::copy_of(&bytes, a as usize));
        let import_of = |pack: &Aligned| {
            // SAFETY: `pack` outlives the import (destroyed before it below), and nothing writes
            // it while imported.
            unsafe {
                alloc.import_host_memory(
                    pack.ptr,
                    pack.layout.size() as u64,
                    vk::BufferUsageFlags::TRANSFER_SRC,
                )
            }
            .map_err(|e| e.to_string())
        };
        let kept = pack.as_ref().map(import_of);
        // SAFETY: the bench's device enables VK_EXT_host_image_copy wherever it is offered.
        let copier =
            unsafe { vkup_staging::HostImageCopier::new(&alloc) }.map_err(|e| e.to_string());
        // Images the host copies into (HOST_TRANSFER usage), where the device can.
        let host_images: Vec<GpuImage> = match &copier {
            Ok(_) => (0..count)
                .filter_map(|_| {
                    alloc
                        .create_image(
                            &ImageDesc::new_2d(vk::Format::R8G8B8A8_SRGB, side, side)
                                .mip_levels(MipLevels::Full)
                                .usage(
                                    vk::ImageUsageFlags::SAMPLED
                                        | vk::ImageUsageFlags::HOST_TRANSFER_EXT,
                                ),
                        )
                        .ok()
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        let host_copy = |threads: usize| -> Result<f64, String> {
            let copier = copier.as_ref().map_err(|e| e.clone())?;
            if host_images.len() != count {
                return Err("HOST_TRANSFER images could not be made".into());
            }
            let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
            let levels = levels.len() as u32;
            let next = std::sync::atomic::AtomicUsize::new(0);
            let failed = std::sync::Mutex::new(None);
            let work = || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(image) = host_images.get(i) else {
                    return;
                };
                // SAFETY: each image is this thread's alone (one index each) and idle: the
                // previous round's readers are done (nothing reads these images).
                if let Err(e) = unsafe { copier.upload_packed(image, &bytes, levels, sampled) } {
                    *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                }
            };
            let secs = seconds(|| {
                std::thread::scope(|scope| {
                    for _ in 1..threads {
                        scope.spawn(work);
                    }
                    work();
                })
            });
            match failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
                Some(e) => Err(e),
                None => Ok(total / secs / 1e9),
            }
        };
        let results = {
            let cell = std::cell::RefCell::new((&mut submitter, &mut ring, &mut filled));
            let ours = |batch: Option<u64>| {
                let mut c = cell.borrow_mut();
                let (submitter, ring, _) = &mut *c;
                let mut result = Ok(0.0);
                let secs = seconds(|| {
                    result = ours_textures(
                        &stager, &alloc, submitter, ring, &images, &bytes, batch, None,
                    )
                });
                result.map(|recording| {
                    if batch.is_none() {
                        share.borrow_mut().push(recording / secs);
                    }
                    total / secs / 1e9
                })
            };
            let in_place = |writes, by: &Stager| {
                let mut c = cell.borrow_mut();
                let (submitter, ring, _) = &mut *c;
                let mut result = Ok(0.0);
                let secs = seconds(|| {
                    result = ours_in_place(by, &alloc, submitter, ring, &images, writes)
                });
                result.map(|recording| {
                    if matches!(writes, Writes::Streaming) && std::ptr::eq(by, &stager) {
                        share_in_place.borrow_mut().push(recording / secs);
                    }
                    total / secs / 1e9
                })
            };
            // The copies-only contender with the stager's threads writing `spare` the while:
            // copied from the chain in memory, or written from a cache-resident block with
            // streaming stores (as a producer writing in place). Answers the copies' GB/s; the
            // host's goes into `beside[slot]`.
            let copies_beside_fill = |from_chain: bool, slot: usize| -> Result<f64, String> {
                let timer = timer.as_ref().map_err(|e| e.clone())?;
                let staging = cell.borrow().2.raw();
                let mut spare = spare.borrow_mut();
                let target = mapped(&mut spare);
                let threads = stager.copy_threads().max(1);
                let part = target.len().div_ceil(threads);
                let single = Stager::new(&alloc);
                let block = vec![0x5au8; 1 << 20];
                let stop = std::sync::atomic::AtomicBool::new(false);
                let start = std::time::Instant::now();
                let (copies, written) = std::thread::scope(|scope| {
                    let fillers: Vec<_> = target
                        .chunks_mut(part)
                        .enumerate()
                        .map(|(i, mine)| {
                            let (single, block, stop, bytes) = (&single, &block, &stop, &bytes);
                            scope.spawn(move || -> vkup_staging::Result<usize> {
                                let mut written = 0;
                                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                                    for (j, chunk) in mine.chunks_mut(block.len()).enumerate() {
                                        let at = i * part + j * block.len();
                                        let src = if from_chain {
                                            &bytes[at..at + chunk.len()]
                                        } else {
                                            &block[..chunk.len()]
                                        };
                                        single.copy(src, chunk)?;
                                        written += chunk.len();
                                    }
                                }
                                Ok(written)
                            })
                        })
                        .collect();
                    let copies = copies_only(gpu, timer, staging, &images);
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    let written: Result<usize, String> = fillers
                        .into_iter()
                        .map(|f| match f.join() {
                            Ok(w) => w.map_err(|e| e.to_string()),
                            Err(_) => Err("a filler panicked".to_string()),
                        })
                        .sum();
                    (copies, written)
                });
                let secs = start.elapsed().as_secs_f64();
                beside.borrow_mut()[slot].push(written? as f64 / secs / 1e9);
                copies.map(|ms| total / ms / 1e6)
            };
            let mut contenders = [
                Contender::new("ours", || ours(None)),
                Contender::new("ours, batches of the whole ring", || ours(Some(RING))),
                Contender::new("ours, batches of half the ring", || ours(Some(RING / 2))),
                Contender::new("ours, written in place, streaming stores", || {
                    in_place(Writes::Streaming, &stager)
                }),
                Contender::new(
                    "ours, written in place, streaming stores, 4 threads",
                    || in_place(Writes::Streaming, &fewer[0]),
                ),
                Contender::new(
                    "ours, written in place, streaming stores, 2 threads",
                    || in_place(Writes::Streaming, &fewer[1]),
                ),
                Contender::new("ours, written in place, plain stores", || {
                    in_place(Writes::Plain, &stager)
                }),
                Contender::new("ours, copied from an import made once", || {
                    let (Some(pack), Some(import)) = (&pack, &kept) else {
                        return Err("no VK_EXT_external_memory_host".into());
                    };
                    let import = import.as_ref().map_err(|e| e.clone())?;
                    let mut c = cell.borrow_mut();
                    let (submitter, ring, _) = &mut *c;
                    let data = &pack.bytes()[..bytes.len()];
                    let mut result = Ok(());
                    let secs = seconds(|| {
                        result = ours_textures(
                            &stager,
                            &alloc,
                            submitter,
                            ring,
                            &images,
                            data,
                            None,
                            Some(import),
                        )
                        .map(|_| ())
                    });
                    result.map(|()| total / secs / 1e9)
                }),
                Contender::new("ours, imported for this upload alone", || {
                    let Some(pack) = &pack else {
                        return Err("no VK_EXT_external_memory_host".into());
                    };
                    let mut c = cell.borrow_mut();
                    let (submitter, ring, _) = &mut *c;
                    let data = &pack.bytes()[..bytes.len()];
                    let mut result = Ok(());
                    let secs = seconds(|| {
                        result = import_of(pack).and_then(|import| {
                            let done = ours_textures(
                                &stager,
                                &alloc,
                                submitter,
                                ring,
                                &images,
                                data,
                                None,
                                Some(&import),
                            )
                            .map(|_| ());
                            // SAFETY: `run` waited for the copies from it.
                            unsafe { alloc.destroy_host_import(import) }
                                .map_err(|(e, _)| e.to_string())?;
                            done
                        })
                    });
                    result.map(|()| total / secs / 1e9)
                }),
                Contender::new("ours, host image copy, one thread", || host_copy(1)),
                Contender::new("ours, host image copy, 8 threads (an image each)", || {
                    host_copy(8)
                }),
                Contender::new("GPU copies only (level 0 staged once)", || {
                    let timer = timer.as_ref().map_err(|e| e.clone())?;
                    let staging = cell.borrow().2.raw();
                    copies_only(gpu, timer, staging, &images).map(|ms| total / ms / 1e6)
                }),
                Contender::new(
                    "GPU copies only, the host copying into another staging buffer",
                    || copies_beside_fill(true, 0),
                ),
                Contender::new(
                    "GPU copies only, the host writing another staging buffer",
                    || copies_beside_fill(false, 1),
                ),
                Contender::new("host fill only, half-ring calls", || {
                    let mut c = cell.borrow_mut();
                    let target = mapped(&mut *c.2);
                    let mut result = Ok(());
                    let secs = seconds(|| {
                        for _ in 0..count {
                            for s in bytes.chunks(level0.min(RING as usize / 2)) {
                                if let Err(e) = stager.copy(s, &mut target[..s.len()]) {
                                    result = Err(e.to_string());
                                }
                            }
                        }
                    });
                    result.map(|()| total / secs / 1e9)
                }),
                Contender::new("wgpu write_texture", || {
                    let p = peer.map_err(|why| why.clone())?;
                    let before = p.allocated_bytes();
                    let mut result = Ok(());
                    let secs = seconds(|| {
                        for texture in &textures {
                            for (level, (s, range)) in levels.iter().enumerate() {
                                p.write_level(texture, level as u32, *s, &bytes[range.clone()]);
                            }
                        }
                        if let (Some(b), Some(a)) = (before, p.allocated_bytes()) {
                            wgpu_peak = wgpu_peak.max(a.saturating_sub(b));
                        }
                        result = p.wait();
                    });
                    result.map(|()| total / secs / 1e9)
                }),
            ];
            interleaved(rounds, &mut contenders)
        };
        let share = crate::stats::Sample::of(&share.into_inner()).map_or(f64::NAN, |s| s.median);
        let share_in_place =
            crate::stats::Sample::of(&share_in_place.into_inner()).map_or(f64::NAN, |s| s.median);
        let [beside_copying, beside_writing] = beside
            .into_inner()
            .map(|rates| crate::stats::Sample::of(&rates).map_or(f64::NAN, |s| s.median));
        let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
        rows.push(Row {
            group: "Texture upload",
            case: format!(
                "{count} x {side}x{side} RGBA8, {} levels ({:.1} MiB)",
                levels.len(),
                mib(total as u64)
            ),
            unit: "GB/s",
            higher_is_better: true,
            size: Some(total as u64),
            results,
            compare: true,
            note: Some(format!(
                "peak host-visible staging: ours {:.1} MiB (the ring's high-water mark; the ring \
                 is {} MiB), wgpu {} (growth of wgpu's allocator between the first \
                 write_texture and the submit); ours spends {:.0}% of its time in record (the \
                 fill); batches of a quarter ring unless said; copies only: the GPU time of the \
                 same copies and transitions from a buffer filled beforehand; written in place: \
                 each image's producer writes its slots once, with plain stores (fill) or \
                 streaming ones (from a cache-resident block), the images recorded together, \
                 streaming ones spending {:.0}% of their time in record; \
                 import: the chain in host memory imported once (VK_EXT_external_memory_host) and \
                 copied from by the GPU, or imported and released around each upload; host image \
                 copy: VK_EXT_host_image_copy into images with HOST_TRANSFER usage, no GPU work; \
                 copies beside the host: the copies-only contender while the stager's threads \
                 write another staging buffer, the host meanwhile at {:.1} GB/s copying from \
                 the chain, {:.1} writing from a cache-resident block",
                mib(ring.high_water()),
                RING >> 20,
                if peer.is_ok() {
                    format!("{:.1} MiB", mib(wgpu_peak))
                } else {
                    "n/a".into()
                },
                share * 100.0,
                share_in_place * 100.0,
                beside_copying,
                beside_writing,
            )),
        });
        for image in host_images {
            // SAFETY: nothing uses it.
            unsafe { alloc.destroy_image(image) };
        }
        if let Some(Ok(import)) = kept {
            // SAFETY: every upload from it completed; the pack outlives it.
            let _ = unsafe { alloc.destroy_host_import(import) };
        }
        drop(pack);
        // SAFETY: every upload completed.
        unsafe {
            alloc.destroy_buffer(filled);
            alloc.destroy_buffer(spare.into_inner());
            ring.destroy(&alloc);
            for image in images {
                alloc.destroy_image(image);
            }
        }
    }
    // SAFETY: as above.
    unsafe { submitter.destroy().expect("submitter") };
    rows
}

/// A mapped buffer's bytes.
fn mapped(buffer: &mut vkup_allocator::GpuBuffer) -> &mut [u8] {
    let ptr = buffer.host_access().expect("persistently mapped").ptr;
    // SAFETY: the mapping covers the whole buffer and lives as long as it; the `&mut` borrow of
    // the buffer keeps other host access out, and no GPU work uses it while the slice lives.
    unsafe { std::slice::from_raw_parts_mut(ptr.as_ptr(), buffer.size() as usize) }
}

/// Where the staged path's time goes: the same upload through rings in each kind of host-visible
/// memory, with streaming and plain stores, at one thread and the default count, in batches of a
/// quarter and a half of the ring, and the host fill alone (no GPU copy) beside them: the fill's
/// rate is the roof of the staged path.
pub fn fill(gpu: &Gpu, quick: bool) -> Vec<Row> {
    let sizes: &[u64] = if quick {
        &[1 << 20, 8 << 20]
    } else {
        &[1 << 20, 4 << 20, 16 << 20, 256 << 20]
    };
    let rounds = if quick { 2 } else { 7 };
    let alloc = gpu.allocator();
    let mut submitter = gpu.submitter();
    let ring_in = |memory: MemoryIntent| {
        let buffer = alloc
            .create_buffer(
                &BufferDesc::new(RING, vk::BufferUsageFlags::TRANSFER_SRC).memory(memory),
            )
            .expect("ring buffer");
        let flags = buffer.memory_flags();
        (StagingRing::from_buffer(buffer).expect("ring"), flags)
    };
    let (mut upload_ring, upload_flags) = ring_in(MemoryIntent::Upload);
    let (mut cached_ring, cached_flags) = ring_in(MemoryIntent::Readback);
    let (mut bar_ring, bar_flags) = ring_in(MemoryIntent::CpuToGpu);
    let default = gpu.stager(&alloc);
    let default_threads = default.copy_threads();
    let threads = format!("{default_threads} threads");
    let wide = gpu.stager(&alloc).threads(16);
    let plain = gpu.stager(&alloc).streaming_stores(false);
    let one = gpu.stager(&alloc).threads(1);
    let one_plain = gpu.stager(&alloc).threads(1).streaming_stores(false);
    let rayon = gpu
        .stager(&alloc)
        .executor(std::sync::Arc::new(RayonCopies));
    let rayon_threads = format!("rayon, {} threads", rayon.copy_threads());
    let mut rows = Vec::new();
    for &size in sizes {
        let bytes = data(size as usize, 3);
        let reps = ((64u64 << 20) / size).clamp(1, 64) as usize;
        let total = (size * reps as u64) as f64;
        let usage = vk::BufferUsageFlags::TRANSFER_DST | vk::BufferUsageFlags::VERTEX_BUFFER;
        let dst = alloc
            .create_buffer(&BufferDesc::new(size, usage))
            .expect("destination");
        let mut target = alloc
            .create_buffer(&BufferDesc::staging(size))
            .expect("fill target");
        let share = std::cell::RefCell::new(Vec::new());
        let results = {
            let cell = std::cell::RefCell::new((
                &mut submitter,
                &mut upload_ring,
                &mut cached_ring,
                &mut bar_ring,
                &mut target,
            ));
            let staged = |stager: &Stager, which: u8, batch: Option<u64>| {
                let mut c = cell.borrow_mut();
                let (s, up, cached, bar, _) = &mut *c;
                let ring: &mut StagingRing = match which {
                    0 => up,
                    1 => cached,
                    _ => bar,
                };
                let (mut result, mut recording) = (Ok(()), 0.0);
                let secs = seconds(|| {
                    for _ in 0..reps {
                        match ours_buffer_with(stager, &alloc, s, ring, &dst, &bytes, |upload| {
                            let upload = upload.path(UploadPath::Staged);
                            match batch {
                                Some(bytes) => upload.batch_bytes(bytes),
                                None => upload,
                            }
                        }) {
                            Ok(r) => recording += r,
                            Err(e) => {
                                result = Err(e);
                                return;
                            }
                        }
                    }
                });
                result.map(|()| {
                    if which == 0 && batch.is_none() && stager.copy_threads() == default_threads {
                        share.borrow_mut().push(recording / secs);
                    }
                    total / secs / 1e9
                })
            };
            let fill_in = |stager: &Stager, calls: usize| {
                let mut c = cell.borrow_mut();
                let target = mapped(&mut *c.4);
                let piece = (size as usize).div_ceil(calls);
                let mut result = Ok(());
                let secs = seconds(|| {
                    for _ in 0..reps {
                        for (d, s) in target.chunks_mut(piece).zip(bytes.chunks(piece)) {
                            if let Err(e) = stager.copy(s, d) {
                                result = Err(e);
                            }
                        }
                    }
                });
                result
                    .map(|()| total / secs / 1e9)
                    .map_err(|e| e.to_string())
            };
            let fill_only = |stager: &Stager| fill_in(stager, 1);
            let mut contenders = [
                Contender::new(format!("staged, streaming, {threads}"), || {
                    staged(&default, 0, None)
                }),
                Contender::new(format!("staged, plain stores, {threads}"), || {
                    staged(&plain, 0, None)
                }),
                Contender::new("staged, streaming, 16 threads", || staged(&wide, 0, None)),
                Contender::new("staged, streaming, 1 thread", || staged(&one, 0, None)),
                Contender::new(format!("staged, streaming, {rayon_threads}"), || {
                    staged(&rayon, 0, None)
                }),
                Contender::new("staged, plain stores, 1 thread", || {
                    staged(&one_plain, 0, None)
                }),
                Contender::new(format!("staged, half-ring batches, {threads}"), || {
                    staged(&default, 0, Some(RING / 2))
                }),
                Contender::new(
                    format!("staged, ring in host-cached memory, {threads}"),
                    || staged(&default, 1, None),
                ),
                Contender::new(format!("staged, ring in BAR memory, {threads}"), || {
                    staged(&default, 2, None)
                }),
                Contender::new(format!("fill only, streaming, {threads}"), || {
                    fill_only(&default)
                }),
                Contender::new(format!("fill only, plain stores, {threads}"), || {
                    fill_only(&plain)
                }),
                Contender::new("fill only, streaming, 16 threads", || fill_only(&wide)),
                Contender::new("fill only, streaming, 1 thread", || fill_only(&one)),
                Contender::new(format!("fill only, streaming, {rayon_threads}"), || {
                    fill_only(&rayon)
                }),
                Contender::new(
                    format!("fill only, streaming, {threads}, in half-ring calls"),
                    || fill_in(&default, (size / (RING / 2)).max(1) as usize),
                ),
                Contender::new("fill only, plain stores, 1 thread", || {
                    fill_only(&one_plain)
                }),
            ];
            interleaved(rounds, &mut contenders)
        };
        let share = crate::stats::Sample::of(&share.into_inner()).map_or(f64::NAN, |s| s.median);
        // SAFETY: every upload completed (the submitter waited for each).
        unsafe {
            alloc.destroy_buffer(target);
            alloc.destroy_buffer(dst);
        }
        rows.push(Row {
            group: "Staging fill",
            case: size_label(size),
            unit: "GB/s",
            higher_is_better: true,
            size: None,
            results,
            note: Some(format!(
                "{} MiB rings; upload memory {upload_flags:?}, host-cached {cached_flags:?}, \
                 BAR {bar_flags:?}; fill only: the host copy into a mapped staging buffer, no \
                 GPU work; the first contender spends {:.0}% of its time in record (the fill)",
                RING >> 20,
                share * 100.0
            )),
            compare: true,
        });
    }
    // SAFETY: every upload completed (the submitter waited for each).
    unsafe {
        submitter.destroy().expect("submitter");
        upload_ring.destroy(&alloc);
        cached_ring.destroy(&alloc);
        bar_ring.destroy(&alloc);
    }
    rows
}

/// Host copies on rayon's global pool: what a renderer with a job system of its own hands the
/// stager instead of letting it start threads.
struct RayonCopies;

impl vkup_staging::CopyExecutor for RayonCopies {
    fn parallelism(&self) -> usize {
        rayon::current_num_threads().min(8)
    }

    fn run(&self, jobs: &mut [vkup_staging::CopyJob<'_>]) {
        use rayon::prelude::*;
        jobs.par_iter_mut().for_each(vkup_staging::CopyJob::run);
    }
}

/// Uploads `images` (each from `bytes`, its packed chain) on `path`: one `record` at a time, or
/// all recorded together (`record_copies_together` on the stager's threads); waits for the GPU.
fn ours_images_on(
    stager: &Stager,
    alloc: &Allocator,
    (submitter, ring): (&mut Submitter, &mut StagingRing),
    images: &[GpuImage],
    bytes: &[u8],
    path: UploadPath,
    together: bool,
) -> Result<(), String> {
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
    let mut uploads = images
        .iter()
        .map(|image| {
            ImageUpload::packed(
                stager,
                image,
                bytes,
                image.mip_levels(),
                ResourceState::UNDEFINED,
                sampled,
            )
            .map(|u| u.path(path))
        })
        .collect::<vkup_staging::Result<Vec<_>>>()
        .map_err(|e| e.to_string())?;
    let (mut next, mut begun) = (0, false);
    // SAFETY: recording on the submitter's queue; images, data and ring outlive `run`, which
    // waits; the images written on the host are idle (the previous round's work completed) and
    // this thread's alone; together, each command buffer is recorded by one `record_together`.
    let finished = unsafe {
        submitter.run(ring, |cmd, ring| {
            if together {
                return record_together(
                    cmd,
                    stager,
                    alloc,
                    ring,
                    &mut uploads,
                    &mut begun,
                    sampled,
                );
            }
            while next < uploads.len() {
                match uploads[next].record(cmd, stager, alloc, ring)? {
                    Progress::Done(_) => next += 1,
                    Progress::Pending => return Ok(Progress::Pending),
                }
            }
            Ok(Progress::Done(Finished {
                state: sampled,
                acquire: BarrierBatch::new(),
            }))
        })
    };
    finished.map(drop).map_err(|e| e.to_string())
}

/// Host image copies against staging, by image size: the same RGBA8 chains into the same
/// images (`HOST_TRANSFER` and `TRANSFER_DST` usage) through `ImageUpload` on each path, one
/// `record` at a time and recorded together on eight threads. Where `UploadPath::Auto` stops
/// taking the host copy comes from this row.
pub fn host_copies(gpu: &Gpu, quick: bool) -> Vec<Row> {
    let rounds = if quick { 2 } else { 5 };
    let alloc = gpu.allocator();
    // SAFETY: the bench's device enables VK_EXT_host_image_copy wherever it is offered.
    let copier = match unsafe { vkup_staging::HostImageCopier::new(&alloc) } {
        Ok(copier) => copier,
        Err(e) => {
            println!("host image copy rows skipped: {e}");
            return Vec::new();
        }
    };
    let stager = gpu.stager(&alloc).threads(8).host_image_copy(copier);
    let mut submitter = gpu.submitter();
    let mut ring = StagingRing::new(&alloc, RING).expect("ring");
    let cases: &[(u32, usize)] = if quick {
        &[(16, 8), (64, 8)]
    } else {
        &[
            (16, 256),
            (64, 256),
            (128, 256),
            (256, 256),
            (512, 64),
            (1024, 16),
            (4096, 4),
        ]
    };
    let mut rows = Vec::new();
    for &(side, count) in cases {
        let (bytes, levels) = chain(side);
        let images: Vec<GpuImage> = (0..count)
            .map(|_| {
                alloc
                    .create_image(
                        &ImageDesc::new_2d(vk::Format::R8G8B8A8_SRGB, side, side)
                            .mip_levels(MipLevels::Full)
                            .usage(
                                vk::ImageUsageFlags::SAMPLED
                                    | vk::ImageUsageFlags::TRANSFER_DST
                                    | vk::ImageUsageFlags::HOST_TRANSFER_EXT,
                            ),
                    )
                    .expect("texture")
            })
            .collect();
        let total = (bytes.len() * count) as f64;
        let results = {
            let cell = std::cell::RefCell::new((&mut submitter, &mut ring));
            let run = |path: UploadPath, together: bool| {
                let mut c = cell.borrow_mut();
                let (submitter, ring) = &mut *c;
                let mut result = Ok(());
                let secs = seconds(|| {
                    result = ours_images_on(
                        &stager,
                        &alloc,
                        (submitter, ring),
                        &images,
                        &bytes,
                        path,
                        together,
                    )
                });
                result.map(|()| total / secs / 1e9)
            };
            let mut contenders = [
                Contender::new("staged, one record at a time", || {
                    run(UploadPath::Staged, false)
                }),
                Contender::new("host image copy, one record at a time", || {
                    run(UploadPath::Direct, false)
                }),
                Contender::new("staged, recorded together (8 threads)", || {
                    run(UploadPath::Staged, true)
                }),
                Contender::new("host image copy, recorded together (8 threads)", || {
                    run(UploadPath::Direct, true)
                }),
                Contender::new("Auto, one record at a time", || {
                    run(UploadPath::Auto, false)
                }),
                Contender::new("Auto, recorded together (8 threads)", || {
                    run(UploadPath::Auto, true)
                }),
            ];
            interleaved(rounds, &mut contenders)
        };
        rows.push(Row {
            group: "Host image copy",
            case: format!(
                "{count} x {side}x{side} RGBA8, {} levels ({} a chain)",
                levels.len(),
                size_label(bytes.len() as u64)
            ),
            unit: "GB/s",
            higher_is_better: true,
            size: Some(total as u64),
            results,
            compare: true,
            note: None,
        });
        // SAFETY: every upload completed (`run` waits; host copies are done when they return).
        unsafe {
            for image in images {
                alloc.destroy_image(image);
            }
        }
    }
    // SAFETY: as above.
    unsafe {
        ring.destroy(&alloc);
        submitter.destroy().expect("submitter");
    }
    rows
}
