//! Row 1, allocation: buffer and image create+destroy pairs per second, mixed sizes, 1 and 8
//! threads, through `allocator`, raw vk-mem on the same VMA allocator, gpu-allocator behind a
//! `Mutex` (its `Allocator` takes `&mut self`, so that is how its users share it), and a raw
//! `vkAllocateMemory` per resource. Each thread creates a batch of 32 resources, then destroys
//! them, so allocations of many sizes are alive together. Then fragmentation after a random
//! create/destroy churn: bytes the allocator holds from Vulkan over bytes alive.

use std::sync::{Arc, Mutex};

use ash::vk;
use gpu_allocator::vulkan as ga;
use gpu_tests::Gpu;
use vk_mem::Alloc as _;
use vkup_allocator::{Allocator, BufferDesc, GpuBuffer, GpuImage, ImageDesc};

use crate::stats::{interleaved, seconds, Contender, Lcg, Row, Sample};

const BATCH: usize = 32;
const BUFFER_USAGE: vk::BufferUsageFlags = vk::BufferUsageFlags::from_raw(
    vk::BufferUsageFlags::VERTEX_BUFFER.as_raw() | vk::BufferUsageFlags::TRANSFER_DST.as_raw(),
);
const IMAGE_USAGE: vk::ImageUsageFlags = vk::ImageUsageFlags::from_raw(
    vk::ImageUsageFlags::SAMPLED.as_raw() | vk::ImageUsageFlags::TRANSFER_DST.as_raw(),
);
const FORMAT: vk::Format = vk::Format::R8G8B8A8_UNORM;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Sizes are bytes.
    Buffer,
    /// Sizes are the side of a square RGBA8 image.
    Image,
}

/// Something that creates and destroys resources.
trait Maker: Sync {
    type Handle;
    fn make(&self, kind: Kind, size: u64) -> Result<Self::Handle, String>;
    fn unmake(&self, handle: Self::Handle);
}

fn buffer_info(size: u64) -> vk::BufferCreateInfo<'static> {
    vk::BufferCreateInfo::default()
        .size(size)
        .usage(BUFFER_USAGE)
        .sharing_mode(vk::SharingMode::EXCLUSIVE)
}

fn image_info(side: u64) -> vk::ImageCreateInfo<'static> {
    vk::ImageCreateInfo::default()
        .image_type(vk::ImageType::TYPE_2D)
        .format(FORMAT)
        .extent(vk::Extent3D {
            width: side as u32,
            height: side as u32,
            depth: 1,
        })
        .mip_levels(1)
        .array_layers(1)
        .samples(vk::SampleCountFlags::TYPE_1)
        .tiling(vk::ImageTiling::OPTIMAL)
        .usage(IMAGE_USAGE)
        .sharing_mode(vk::SharingMode::EXCLUSIVE)
        .initial_layout(vk::ImageLayout::UNDEFINED)
}

enum Either<B, I> {
    Buffer(B),
    Image(I),
}

struct Ours<'a>(&'a Allocator);

impl Maker for Ours<'_> {
    type Handle = Either<GpuBuffer, GpuImage>;
    fn make(&self, kind: Kind, size: u64) -> Result<Self::Handle, String> {
        Ok(match kind {
            Kind::Buffer => Either::Buffer(
                self.0
                    .create_buffer(&BufferDesc::new(size, BUFFER_USAGE))
                    .map_err(|e| e.to_string())?,
            ),
            Kind::Image => Either::Image(
                self.0
                    .create_image(
                        &ImageDesc::new_2d(FORMAT, size as u32, size as u32).usage(IMAGE_USAGE),
                    )
                    .map_err(|e| e.to_string())?,
            ),
        })
    }
    fn unmake(&self, handle: Self::Handle) {
        // SAFETY: made by this allocator, never used by the GPU.
        unsafe {
            match handle {
                Either::Buffer(b) => self.0.destroy_buffer(b),
                Either::Image(i) => self.0.destroy_image(i),
            }
        }
    }
}

struct Vma<'a>(&'a vk_mem::Allocator);

impl Maker for Vma<'_> {
    type Handle = (Either<vk::Buffer, vk::Image>, vk_mem::Allocation);
    fn make(&self, kind: Kind, size: u64) -> Result<Self::Handle, String> {
        // The request `allocator` makes for a GpuOnly resource.
        let info = vk_mem::AllocationCreateInfo {
            usage: vk_mem::MemoryUsage::AutoPreferDevice,
            preferred_flags: vk::MemoryPropertyFlags::DEVICE_LOCAL,
            priority: 0.5,
            ..Default::default()
        };
        // SAFETY: valid create infos on a live allocator.
        unsafe {
            match kind {
                Kind::Buffer => self
                    .0
                    .create_buffer(&buffer_info(size), &info)
                    .map(|(b, a)| (Either::Buffer(b), a)),
                Kind::Image => self
                    .0
                    .create_image(&image_info(size), &info)
                    .map(|(i, a)| (Either::Image(i), a)),
            }
        }
        .map_err(|e| e.to_string())
    }
    fn unmake(&self, (handle, mut allocation): Self::Handle) {
        // SAFETY: made by this allocator, never used by the GPU.
        unsafe {
            match handle {
                Either::Buffer(b) => self.0.destroy_buffer(b, &mut allocation),
                Either::Image(i) => self.0.destroy_image(i, &mut allocation),
            }
        }
    }
}

type Raw = Either<vk::Buffer, vk::Image>;

/// A buffer of `size` bytes or an image of `size` pixels square, without memory, and what it
/// needs.
///
/// # Safety
/// `d` is a live device.
unsafe fn unbound(
    d: &ash::Device,
    kind: Kind,
    size: u64,
) -> Result<(Raw, vk::MemoryRequirements), String> {
    // SAFETY: valid create infos on a live device (this function's contract).
    unsafe {
        Ok(match kind {
            Kind::Buffer => {
                let b = d
                    .create_buffer(&buffer_info(size), None)
                    .map_err(|e| e.to_string())?;
                (Either::Buffer(b), d.get_buffer_memory_requirements(b))
            }
            Kind::Image => {
                let i = d
                    .create_image(&image_info(size), None)
                    .map_err(|e| e.to_string())?;
                (Either::Image(i), d.get_image_memory_requirements(i))
            }
        })
    }
}

/// Binds `memory` at `offset` to `handle`, or destroys `handle` and says why.
///
/// # Safety
/// `handle` is unbound, made on `d`; the range fits its requirements.
unsafe fn bind(
    d: &ash::Device,
    handle: Raw,
    memory: vk::DeviceMemory,
    offset: u64,
) -> Result<Raw, String> {
    // SAFETY: forwarded from this function's contract.
    let bound = unsafe {
        match &handle {
            Either::Buffer(b) => d.bind_buffer_memory(*b, memory, offset),
            Either::Image(i) => d.bind_image_memory(*i, memory, offset),
        }
    };
    match bound {
        Ok(()) => Ok(handle),
        Err(e) => {
            // SAFETY: never used.
            unsafe { destroy(d, handle) };
            Err(e.to_string())
        }
    }
}

/// # Safety
/// Made on `d`, no pending GPU work uses it.
unsafe fn destroy(d: &ash::Device, handle: Raw) {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        match handle {
            Either::Buffer(b) => d.destroy_buffer(b, None),
            Either::Image(i) => d.destroy_image(i, None),
        }
    }
}

struct GpuAllocator<'a> {
    device: &'a ash::Device,
    allocator: &'a Mutex<ga::Allocator>,
}

impl Maker for GpuAllocator<'_> {
    type Handle = (Raw, ga::Allocation);
    fn make(&self, kind: Kind, size: u64) -> Result<Self::Handle, String> {
        let d = self.device;
        // SAFETY: a live device.
        let (handle, requirements) = unsafe { unbound(d, kind, size) }?;
        let allocation = self
            .allocator
            .lock()
            .map_err(|_| "poisoned".to_string())
            .and_then(|mut a| {
                a.allocate(&ga::AllocationCreateDesc {
                    name: "bench",
                    requirements,
                    location: gpu_allocator::MemoryLocation::GpuOnly,
                    linear: kind == Kind::Buffer,
                    allocation_scheme: ga::AllocationScheme::GpuAllocatorManaged,
                })
                .map_err(|e| e.to_string())
            });
        let allocation = match allocation {
            Ok(a) => a,
            Err(e) => {
                // SAFETY: never used.
                unsafe { destroy(d, handle) };
                return Err(e);
            }
        };
        // SAFETY: gpu-allocator's range for these requirements.
        match unsafe { bind(d, handle, allocation.memory(), allocation.offset()) } {
            Ok(handle) => Ok((handle, allocation)),
            Err(e) => {
                if let Ok(mut a) = self.allocator.lock() {
                    let _ = a.free(allocation);
                }
                Err(e)
            }
        }
    }
    fn unmake(&self, (handle, allocation): Self::Handle) {
        // SAFETY: made here, never used by the GPU.
        unsafe { destroy(self.device, handle) };
        if let Ok(mut a) = self.allocator.lock() {
            let _ = a.free(allocation);
        }
    }
}

struct PerResource<'a> {
    device: &'a ash::Device,
    types: Vec<vk::MemoryType>,
}

impl Maker for PerResource<'_> {
    type Handle = (Raw, vk::DeviceMemory);
    fn make(&self, kind: Kind, size: u64) -> Result<Self::Handle, String> {
        let d = self.device;
        // SAFETY: a live device.
        let (handle, req) = unsafe { unbound(d, kind, size) }?;
        let allowed = |t: &usize| req.memory_type_bits & (1 << t) != 0;
        let index = (0..self.types.len())
            .filter(allowed)
            .find(|&t| {
                self.types[t]
                    .property_flags
                    .contains(vk::MemoryPropertyFlags::DEVICE_LOCAL)
            })
            .or_else(|| (0..self.types.len()).find(allowed));
        let info = vk::MemoryAllocateInfo::default()
            .allocation_size(req.size)
            .memory_type_index(index.unwrap_or(0) as u32);
        // SAFETY: a memory type the resource allows (checked above).
        let memory = match index.map(|_| unsafe { d.allocate_memory(&info, None) }) {
            Some(Ok(memory)) => memory,
            failed => {
                // SAFETY: never used.
                unsafe { destroy(d, handle) };
                return Err(failed.map_or("no memory type".into(), |r| format!("{r:?}")));
            }
        };
        // SAFETY: a whole allocation of the requirements' size.
        match unsafe { bind(d, handle, memory, 0) } {
            Ok(handle) => Ok((handle, memory)),
            Err(e) => {
                // SAFETY: bound to nothing.
                unsafe { d.free_memory(memory, None) };
                Err(e)
            }
        }
    }
    fn unmake(&self, (handle, memory): Self::Handle) {
        // SAFETY: made here, never used by the GPU.
        unsafe {
            destroy(self.device, handle);
            self.device.free_memory(memory, None);
        }
    }
}

/// Pairs per second of `maker` over `sizes`, split across `threads`, in batches of [`BATCH`].
fn pairs_per_second<M: Maker>(
    maker: &M,
    kind: Kind,
    sizes: &[u64],
    threads: usize,
) -> Result<f64, String> {
    let chunk = sizes.len().div_ceil(threads);
    let mut result = Ok(());
    let secs = seconds(|| {
        std::thread::scope(|scope| {
            let workers: Vec<_> = sizes
                .chunks(chunk)
                .map(|mine| {
                    scope.spawn(move || -> Result<(), String> {
                        // One list per thread, reused: a list allocated per batch put a malloc
                        // and free of BATCH handles in every batch, and a larger handle type (ours
                        // carries more than a raw pair) took glibc's slower paths for it.
                        let mut live = Vec::with_capacity(BATCH);
                        for batch in mine.chunks(BATCH) {
                            for &size in batch {
                                match maker.make(kind, size) {
                                    Ok(h) => live.push(h),
                                    Err(e) => {
                                        live.drain(..).for_each(|h| maker.unmake(h));
                                        return Err(e);
                                    }
                                }
                            }
                            live.drain(..).for_each(|h| maker.unmake(h));
                        }
                        Ok(())
                    })
                })
                .collect();
            for w in workers {
                let r = w.join().unwrap_or_else(|_| Err("a worker panicked".into()));
                if result.is_ok() {
                    result = r;
                }
            }
        })
    });
    result.map(|()| sizes.len() as f64 / secs)
}

/// A round of `maker` sized to take about 200 ms: the warm-up call runs the first 1024 sizes
/// twice and the second pass sets how many later rounds run (a prefix of the same sequence, 256
/// to all of it), so a fast allocator gets enough pairs to time and a raw `vkAllocateMemory` on a
/// real driver (thousands of pairs per second) does not take minutes. (Rated on a single pass,
/// whichever contender warmed up first paid for the allocator's cold start with a shorter prefix
/// in every round.)
fn adaptive<'a, M: Maker>(
    maker: &'a M,
    kind: Kind,
    sizes: &'a [u64],
    threads: usize,
) -> impl FnMut() -> Result<f64, String> + 'a {
    let mut count: Option<usize> = None;
    move || {
        let n = count.unwrap_or(1024).min(sizes.len());
        if count.is_none() {
            pairs_per_second(maker, kind, &sizes[..n], threads)?;
        }
        let rate = pairs_per_second(maker, kind, &sizes[..n], threads)?;
        if count.is_none() {
            count = Some(((rate * 0.2) as usize).clamp(256, sizes.len()));
        }
        Ok(rate)
    }
}

/// The allocation rows.
pub fn run(gpu: &Gpu, quick: bool) -> Vec<Row> {
    let rounds = if quick { 2 } else { 15 };
    // Enough pairs that one round of the fastest contender takes tens of milliseconds.
    let pairs = if quick { 256 } else { 262_144 };
    let mut info =
        vk_mem::AllocatorCreateInfo::new(&gpu.instance, &gpu.device, gpu.physical_device);
    info.vulkan_api_version = gpu.api_version;
    // SAFETY: the Gpu's handles outlive the allocators (dropped at the end of this function).
    let vma = Arc::new(unsafe { vk_mem::Allocator::new(info) }.expect("vma"));
    let desc = gpu.allocator_desc().buffer_device_address(false);
    // SAFETY: as above; `desc` describes the device `vma` was made on.
    let ours = unsafe { Allocator::from_vma(vma.clone(), &desc) }.expect("allocator");
    let ga_allocator = gpu_allocator(gpu);
    // SAFETY: a physical device of this instance.
    let props = unsafe {
        gpu.instance
            .get_physical_device_memory_properties(gpu.physical_device)
    };
    let raw = PerResource {
        device: &gpu.device,
        types: props.memory_types_as_slice().to_vec(),
    };
    let (o, v) = (Ours(&ours), Vma(&vma));
    let g = GpuAllocator {
        device: &gpu.device,
        allocator: &ga_allocator,
    };

    let mut rows = Vec::new();
    for (kind, what, low, high, unit_of) in [
        (Kind::Buffer, "buffers", 256u64, 64 << 20, "B"),
        (Kind::Image, "RGBA8 images", 16, 4096, "px"),
    ] {
        let mut lcg = Lcg::new(7);
        let sizes: Vec<u64> = (0..pairs)
            .map(|_| {
                let s = lcg.log_uniform(low, high);
                if kind == Kind::Buffer {
                    s.next_multiple_of(256)
                } else {
                    s
                }
            })
            .collect();
        for threads in [1usize, 8] {
            let sizes = &sizes;
            let mut contenders = [
                Contender::new("ours", adaptive(&o, kind, sizes, threads)),
                Contender::new("vk-mem", adaptive(&v, kind, sizes, threads)),
                Contender::new("gpu-allocator", adaptive(&g, kind, sizes, threads)),
                Contender::new("vkAllocateMemory", adaptive(&raw, kind, sizes, threads)),
            ];
            let range = if kind == Kind::Buffer {
                format!(
                    "{}-{}",
                    crate::stats::size_label(low),
                    crate::stats::size_label(high)
                )
            } else {
                format!("{low}-{high} {unit_of} square")
            };
            rows.push(Row {
                group: "Allocation",
                case: format!(
                    "{what} {range}, {threads} thread{}",
                    if threads == 1 { "" } else { "s" }
                ),
                unit: "pairs/s",
                higher_is_better: true,
                size: None,
                results: interleaved(rounds, &mut contenders),
                note: None,
                compare: true,
            });
        }
    }
    rows.push(fragmentation(gpu, quick));
    drop(ours);
    drop(vma);
    drop(ga_allocator);
    rows
}

/// Runs `script` through `maker` (create with a size, or destroy a random live resource), then
/// measures with everything still alive, then frees it all. Returns the measure and how many
/// were alive.
fn churn<M: Maker>(
    maker: &M,
    script: &[(bool, u64, f64)],
    measure: impl FnOnce() -> Option<f64>,
) -> Result<(f64, usize), String> {
    let mut live: Vec<M::Handle> = Vec::new();
    let mut result = Ok(());
    for &(create, size, pick) in script {
        if create || live.is_empty() {
            match maker.make(Kind::Buffer, size) {
                Ok(h) => live.push(h),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        } else {
            let i = (pick * live.len() as f64) as usize % live.len();
            maker.unmake(live.swap_remove(i));
        }
    }
    let figure = measure();
    let count = live.len();
    live.into_iter().for_each(|h| maker.unmake(h));
    result?;
    figure
        .map(|f| (f, count))
        .ok_or_else(|| "no statistics".to_string())
}

fn gpu_allocator(gpu: &Gpu) -> Mutex<ga::Allocator> {
    Mutex::new(
        ga::Allocator::new(&ga::AllocatorCreateDesc {
            instance: gpu.instance.clone(),
            device: gpu.device.clone(),
            physical_device: gpu.physical_device,
            debug_settings: Default::default(),
            buffer_device_address: false,
            allocation_sizes: Default::default(),
        })
        .expect("gpu-allocator"),
    )
}

/// The same random churn through a fresh VMA allocator (ours) and a fresh gpu-allocator: bytes
/// held from Vulkan over bytes alive at the end (lower is better).
fn fragmentation(gpu: &Gpu, quick: bool) -> Row {
    let ops = if quick { 500 } else { 6000 };
    let mut lcg = Lcg::new(11);
    let script: Vec<(bool, u64, f64)> = (0..ops)
        .map(|_| {
            let create = lcg.unit() < 0.55;
            let size = lcg.log_uniform(256, 16 << 20).next_multiple_of(256);
            (create, size, lcg.unit())
        })
        .collect();
    let ours = gpu.allocator_with(&gpu.allocator_desc().buffer_device_address(false));
    let ours_result = churn(&Ours(&ours), &script, || {
        let stats = ours.statistics().ok()?;
        let held: u64 = stats.heaps.iter().map(|h| h.block_bytes).sum();
        Some(held as f64 / stats.allocation_bytes.max(1) as f64)
    });
    let ga_allocator = gpu_allocator(gpu);
    let ga_result = churn(
        &GpuAllocator {
            device: &gpu.device,
            allocator: &ga_allocator,
        },
        &script,
        || {
            let r = ga_allocator.lock().ok()?.generate_report();
            Some(r.total_capacity_bytes as f64 / r.total_allocated_bytes.max(1) as f64)
        },
    );
    let live = ours_result.as_ref().map_or(0, |&(_, n)| n);
    let sample = |r: Result<(f64, usize), String>| {
        r.and_then(|(v, _)| Sample::of(&[v]).ok_or_else(|| "no figure".to_string()))
    };
    Row {
        group: "Allocation",
        case: format!(
            "fragmentation: {ops} random buffer creates/destroys (256 B-16 MiB), {live} alive at the end"
        ),
        unit: "held/live",
        higher_is_better: false,
        size: None,
        results: vec![
            ("ours".into(), sample(ours_result)),
            ("gpu-allocator".into(), sample(ga_result)),
        ],
        compare: true,
        note: Some(
            "held/live: bytes of VkDeviceMemory the allocator holds over bytes of live \
             allocations, once, after the same script on fresh allocators"
                .into(),
        ),
    }
}
