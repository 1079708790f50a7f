//! Handles outlive what they name only as inert data: every safe method refuses a handle or
//! memory block that another allocator made (of another device, or of the same one), before
//! anything reaches VMA or Vulkan, and nothing is created or lost. `flush_host`, which takes a
//! `HostAccess` that does not keep its buffer alive, is `unsafe` (the crate's `compile_fail`
//! doctest shows it cannot be called from safe code).

use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::{BufferDesc, Error, ImageDesc, MemoryDesc, MemoryIntent};

fn foreign(err: Error) -> Option<&'static str> {
    match err {
        Error::ForeignHandle { what } => Some(what),
        _ => None,
    }
}

#[test]
fn handles_of_another_allocator_or_device_are_refused() {
    let (gpu, other_gpu) = (Gpu::new(), Gpu::new());
    let alloc = gpu.allocator();
    let same_device = gpu.allocator();
    let other_device = other_gpu.allocator();
    let desc = BufferDesc::new(256, vk::BufferUsageFlags::TRANSFER_DST);
    let requirements = alloc.buffer_requirements(&desc).unwrap();
    let memory = alloc
        .allocate_memory(&MemoryDesc::new(requirements, MemoryIntent::GpuOnly))
        .unwrap();
    let mut mapped = alloc
        .create_buffer(&BufferDesc::staging(256).name("mapped"))
        .unwrap();
    alloc.write(&mut mapped, 0, &[7u8; 256]).unwrap();
    let image = alloc
        .create_image(&ImageDesc::texture_2d(vk::Format::R8G8B8A8_UNORM, 4, 4))
        .unwrap();
    let counts = |a: &vkup_allocator::Allocator| a.live_allocations().unwrap();
    let before = (counts(&alloc), counts(&same_device), counts(&other_device));
    for (name, stranger) in [
        ("same device", &same_device),
        ("other device", &other_device),
    ] {
        let placed = stranger
            .create_placed_buffer(&desc, &memory, 0)
            .unwrap_err();
        assert_eq!(foreign(placed), Some("memory"), "{name}");
        let image_desc =
            ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 4, 4).usage(vk::ImageUsageFlags::SAMPLED);
        let placed = stranger
            .create_placed_image(&image_desc, &memory, 0)
            .unwrap_err();
        assert_eq!(foreign(placed), Some("memory"), "{name}");
        let err = stranger.write(&mut mapped, 0, &[1u8; 4]).unwrap_err();
        assert_eq!(foreign(err), Some("buffer"), "{name}");
        let err = stranger.read(&mapped, 0, &mut [0u8; 4]).unwrap_err();
        assert_eq!(foreign(err), Some("buffer"), "{name}");
        let err = stranger.read_vec::<u8>(&mapped).unwrap_err();
        assert_eq!(foreign(err), Some("buffer"), "{name}");
        assert_eq!(
            foreign(stranger.map_buffer(&mapped).unwrap_err()),
            Some("buffer")
        );
        assert_eq!(
            foreign(stranger.flush(&mapped, 0, 4).unwrap_err()),
            Some("buffer")
        );
        assert_eq!(
            foreign(stranger.invalidate(&mapped, 0, 4).unwrap_err()),
            Some("buffer")
        );
        assert_eq!(
            foreign(stranger.map_image(&image).unwrap_err()),
            Some("image")
        );
        let access = mapped.host_access().unwrap();
        // SAFETY: the buffer is alive; the call is refused before VMA sees the allocation.
        let err = unsafe { stranger.flush_host(&access, 0, 4) }.unwrap_err();
        assert_eq!(foreign(err), Some("buffer"), "{name}");
    }
    assert_eq!(
        (counts(&alloc), counts(&same_device), counts(&other_device)),
        before,
        "nothing was created or freed"
    );
    let mut back = [0u8; 256];
    alloc.read(&mapped, 0, &mut back).unwrap();
    assert_eq!(back, [7u8; 256], "the refused writes changed nothing");
    // SAFETY: nothing was submitted with them; this allocator made them.
    unsafe {
        alloc.destroy_image(image);
        alloc.destroy_buffer(mapped);
        alloc.free_memory(memory);
    }
    drop(other_device);
    drop(same_device);
    drop(alloc);
}
