//! Creates buffers and an image, writes one, prints the statistics, and tears the allocator down
//! with one buffer still alive to show the leak report, headless.
//!
//! ```sh
//! cargo run -p vkup-allocator --example leak_report
//! ```
//!
//! It makes its own Vulkan 1.3 device (the first there is: lavapipe on a machine without a GPU).

use std::error::Error;

use ash::vk;
use vkup_allocator::{Allocator, AllocatorDesc, BufferDesc, ImageDesc, MemoryIntent};

fn main() -> Result<(), Box<dyn Error>> {
    // SAFETY: loading the system's Vulkan loader.
    let entry = unsafe { ash::Entry::load() }?;
    let app = vk::ApplicationInfo::default().api_version(vk::API_VERSION_1_3);
    let info = vk::InstanceCreateInfo::default().application_info(&app);
    // SAFETY: a valid create info; destroyed at the end of `main`.
    let instance = unsafe { entry.create_instance(&info, None) }?;
    let result = with_instance(&instance);
    // SAFETY: everything made from the instance is gone by now.
    unsafe { instance.destroy_instance(None) };
    result
}

fn with_instance(instance: &ash::Instance) -> Result<(), Box<dyn Error>> {
    // SAFETY: a live instance.
    let physical_device = unsafe { instance.enumerate_physical_devices() }?
        .into_iter()
        // SAFETY: each device belongs to `instance`.
        .find(|&pd| unsafe { instance.get_physical_device_properties(pd) }.api_version >= vk::API_VERSION_1_3)
        .ok_or("no Vulkan 1.3 device (install mesa-vulkan-drivers)")?;
    let priorities = [1.0];
    let queues = [vk::DeviceQueueCreateInfo::default()
        .queue_family_index(0)
        .queue_priorities(&priorities)];
    let info = vk::DeviceCreateInfo::default().queue_create_infos(&queues);
    // SAFETY: the physical device belongs to `instance`; the allocator needs no feature here.
    let device = unsafe { instance.create_device(physical_device, &info, None) }?;
    let result = with_device(instance, physical_device, &device);
    // SAFETY: the allocator and everything it made are gone by now.
    unsafe { device.destroy_device(None) };
    result
}

fn with_device(
    instance: &ash::Instance,
    physical_device: vk::PhysicalDevice,
    device: &ash::Device,
) -> Result<(), Box<dyn Error>> {
    let desc = AllocatorDesc::new(instance, physical_device, device);
    // SAFETY: the handles outlive the allocator, which matches how the device was made.
    let allocator = unsafe { Allocator::new(&desc) }?;

    let vertices =
        allocator.create_buffer(&BufferDesc::vertex(1 << 20).name("terrain vertices"))?;
    let mut uniforms = allocator.create_buffer(
        &BufferDesc::new(256, vk::BufferUsageFlags::UNIFORM_BUFFER)
            .memory(MemoryIntent::CpuToGpu)
            .name("frame uniforms"),
    )?;
    allocator.write(&mut uniforms, 0, &[1.0f32, 0.5, 0.25, 1.0])?;
    let mut back = [0.0f32; 4];
    allocator.read(&uniforms, 0, &mut back)?;
    println!("uniforms read back: {back:?}");
    let albedo = allocator.create_image(
        &ImageDesc::texture_2d(vk::Format::R8G8B8A8_SRGB, 1024, 1024).name("albedo"),
    )?;
    println!(
        "albedo: {} levels, {} bytes of memory",
        albedo.mip_levels(),
        albedo.allocation_size()
    );
    println!("live allocations: {}", allocator.live_allocations()?);

    // A bad description is a typed error naming the field, and nothing is created.
    match allocator.create_buffer(&BufferDesc::vertex(0)) {
        Err(err) => println!("refused: {err} (field {:?})", err.field()),
        Ok(_) => return Err("a zero-sized buffer was created".into()),
    }

    // SAFETY: nothing was submitted with them.
    unsafe {
        allocator.destroy_image(albedo);
        allocator.destroy_buffer(uniforms);
    }
    // `vertices` is still alive: the allocator refuses to go and says what is left.
    let leaked = match allocator.destroy() {
        Ok(()) => return Err("the live buffer was not reported".into()),
        Err(leaked) => leaked,
    };
    println!("teardown refused:\n{}", leaked.report);
    let allocator = leaked.allocator;
    // SAFETY: nothing was submitted with it.
    unsafe { allocator.destroy_buffer(vertices) };
    allocator
        .destroy()
        .map_err(|leaked| format!("still leaking: {}", leaked.report))?;
    println!("nothing leaked");
    Ok(())
}
