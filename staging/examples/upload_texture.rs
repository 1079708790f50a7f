//! Uploads a PNG with a full mip chain and reads every level back, headless.
//!
//! ```sh
//! cargo run -p vkup-staging --example upload_texture [-- image.png]
//! ```
//!
//! Without an argument it uploads a generated 256x256 gradient. It makes its own Vulkan 1.3
//! device (the first with a graphics queue: lavapipe on a machine without a GPU), so it shows
//! every step a renderer takes: allocator, stager, mip generator, a staging ring and a
//! `Submitter` to drive them.

use std::error::Error;

use ash::vk;
use vkup_allocator::{Allocator, AllocatorDesc, ImageDesc};
use vkup_staging::{
    Access, ImageUpload, MipGenerator, MipOptions, Progress, ResourceState, Stager, StagingRing,
    Submitter,
};

/// An instance and a device with one graphics queue, synchronization2 and timeline semaphores.
struct Device {
    _entry: ash::Entry,
    instance: ash::Instance,
    physical_device: vk::PhysicalDevice,
    device: ash::Device,
    queue: vk::Queue,
    family: u32,
    name: String,
}

impl Device {
    fn new() -> Result<Self, Box<dyn Error>> {
        // SAFETY: loading the system's Vulkan loader.
        let entry = unsafe { ash::Entry::load() }?;
        let app = vk::ApplicationInfo::default().api_version(vk::API_VERSION_1_3);
        // SAFETY: a valid create info; the instance is destroyed in `Drop`.
        let instance = unsafe {
            entry.create_instance(
                &vk::InstanceCreateInfo::default().application_info(&app),
                None,
            )
        }?;
        // SAFETY: a live instance.
        let devices = unsafe { instance.enumerate_physical_devices() }?;
        let found = devices.into_iter().find_map(|pd| {
            // SAFETY: `pd` belongs to `instance`.
            let (props, families) = unsafe {
                (
                    instance.get_physical_device_properties(pd),
                    instance.get_physical_device_queue_family_properties(pd),
                )
            };
            let family = families
                .iter()
                .position(|f| f.queue_flags.contains(vk::QueueFlags::GRAPHICS))?;
            (props.api_version >= vk::API_VERSION_1_3).then_some((pd, family as u32, props))
        });
        let Some((physical_device, family, props)) = found else {
            // SAFETY: nothing was made from the instance.
            unsafe { instance.destroy_instance(None) };
            return Err(
                "no Vulkan 1.3 device with a graphics queue (install mesa-vulkan-drivers)".into(),
            );
        };
        let priorities = [1.0];
        let queues = [vk::DeviceQueueCreateInfo::default()
            .queue_family_index(family)
            .queue_priorities(&priorities)];
        let mut features12 = vk::PhysicalDeviceVulkan12Features::default().timeline_semaphore(true);
        let mut features13 = vk::PhysicalDeviceVulkan13Features::default().synchronization2(true);
        let info = vk::DeviceCreateInfo::default()
            .queue_create_infos(&queues)
            .push_next(&mut features12)
            .push_next(&mut features13);
        // SAFETY: `physical_device` belongs to `instance`; the pointers in `info` are locals.
        let device = match unsafe { instance.create_device(physical_device, &info, None) } {
            Ok(device) => device,
            Err(err) => {
                // SAFETY: nothing else was made from the instance.
                unsafe { instance.destroy_instance(None) };
                return Err(err.into());
            }
        };
        // SAFETY: the family was created with one queue.
        let queue = unsafe { device.get_device_queue(family, 0) };
        let name = props
            .device_name_as_c_str()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Self {
            _entry: entry,
            instance,
            physical_device,
            device,
            queue,
            family,
            name,
        })
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // SAFETY: everything made on the device is destroyed before it (see `main`).
        unsafe {
            let _ = self.device.device_wait_idle();
            self.device.destroy_device(None);
            self.instance.destroy_instance(None);
        }
    }
}

/// The image to upload: a PNG from the command line, or a generated gradient.
fn texels() -> Result<(u32, u32, Vec<u8>), Box<dyn Error>> {
    if let Some(path) = std::env::args().nth(1) {
        let image = image::open(&path)
            .map_err(|err| format!("{path}: {err}"))?
            .into_rgba8();
        return Ok((image.width(), image.height(), image.into_raw()));
    }
    let size = 256u32;
    let bytes = (0..size * size)
        .flat_map(|i| {
            let (x, y) = (i % size, i / size);
            [x as u8, y as u8, ((x ^ y) & 0xff) as u8, 255]
        })
        .collect();
    Ok((size, size, bytes))
}

fn main() -> Result<(), Box<dyn Error>> {
    let (width, height, bytes) = texels()?;
    let gpu = Device::new()?;
    println!("device: {}", gpu.name);
    let desc = AllocatorDesc::new(&gpu.instance, gpu.physical_device, &gpu.device);
    // SAFETY: the handles outlive the allocator (dropped before `gpu`), which matches the device.
    let allocator = unsafe { Allocator::new(&desc) }?;
    let stager = Stager::new(&allocator);
    // SAFETY: the instance and device outlive the generator (destroyed before them).
    let mips = unsafe { MipGenerator::new(&allocator) }?;
    // SAFETY: the queue is of `family`; timeline semaphores and synchronization2 are on; only
    // this thread submits to it.
    let mut submitter = unsafe { Submitter::new(&gpu.device, gpu.queue, gpu.family) }?;
    let mut ring = StagingRing::new(&allocator, 16 << 20)?;

    let image = allocator.create_image(
        &ImageDesc::texture_2d(vk::Format::R8G8B8A8_UNORM, width, height).name("uploaded texture"),
    )?;
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
    let mut upload = ImageUpload::packed(
        &stager,
        &image,
        &bytes,
        1,
        ResourceState::UNDEFINED,
        sampled,
    )?;
    let mut scratch = None;
    let mut readback = None;
    // SAFETY: recording on the submitter's queue; the image, the ring and the data outlive the
    // calls, which wait for their last submission.
    let result = unsafe {
        submitter
            .run(&mut ring, |cmd, ring| {
                upload.record(cmd, &stager, &allocator, ring)
            })
            .and_then(|_| {
                submitter.run(&mut ring, |cmd, _| {
                    let (made, s) =
                        mips.record(cmd, &image, sampled, sampled, MipOptions::default())?;
                    scratch = Some(s);
                    let (r, done) = stager
                        .record_image_readback(cmd, &allocator, &image, made.state, sampled)?;
                    readback = Some(r);
                    Ok(Progress::Done(done))
                })
            })
    };
    let outcome = result.map_err(Box::<dyn Error>::from).and_then(|done| {
        println!(
            "uploaded {width}x{height}, {} levels, left in {:?}",
            image.mip_levels(),
            done.state.accesses
        );
        let readback = readback.as_mut().ok_or("no readback")?;
        // SAFETY: `run` waited for its last submission, which copied into the readback.
        unsafe { readback.submitted(submitter.timeline(), submitter.last_value()) };
        for level in 0..image.mip_levels() {
            let texels = readback.read(&allocator, submitter.timeline(), level, 0)?;
            let e = image.level_extent(level);
            let mean = texels.chunks_exact(4).fold([0u64; 4], |mut sum, t| {
                for (s, &c) in sum.iter_mut().zip(t) {
                    *s += u64::from(c);
                }
                sum
            });
            let n = (texels.len() / 4).max(1) as u64;
            println!(
                "level {level:2}: {:4}x{:<4} {:8} bytes, mean RGBA {:?}",
                e.width,
                e.height,
                texels.len(),
                mean.map(|s| s / n)
            );
        }
        Ok(())
    });

    // Teardown, in the order the crates' notes give: GPU work done, resources, staging memory,
    // the allocator, then the device (dropped last).
    // SAFETY: every submission completed (`run` waits; `destroy` waits for the rest).
    unsafe {
        submitter.destroy()?;
        if let Some(readback) = readback {
            readback.destroy(&allocator);
        }
        if let Some(scratch) = scratch {
            scratch.destroy(&gpu.device);
        }
        ring.destroy(&allocator);
        allocator.destroy_image(image);
        mips.destroy();
    }
    if let Err(leaked) = allocator.destroy() {
        eprintln!("{}", leaked.report);
        return Err("allocations leaked".into());
    }
    println!("nothing leaked");
    outcome
}
