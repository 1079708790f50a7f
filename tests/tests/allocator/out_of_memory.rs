use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::{BufferDesc, Error, ImageDesc};

#[test]
fn capped_heap_runs_out_then_recovers_once_memory_is_freed() {
    let gpu = Gpu::new();
    let cap = 64 << 20;
    // Every heap is capped: GpuOnly prefers device-local memory but may fall back to any heap
    // the buffer can live in (on the H100, host memory when heap 0 is full).
    let mut desc = gpu.allocator_desc();
    let heaps = {
        // SAFETY: valid physical device of this instance.
        let props = unsafe {
            gpu.instance
                .get_physical_device_memory_properties(gpu.physical_device)
        };
        props.memory_heap_count
    };
    for heap in 0..heaps {
        desc = desc.heap_size_limit(heap, cap);
    }
    let alloc = gpu.allocator_with(&desc);
    let size = 8 << 20;
    let mut live = Vec::new();
    let failure = loop {
        match alloc.create_buffer(&BufferDesc::vertex(size)) {
            Ok(buffer) => live.push(buffer),
            Err(err) => break err,
        }
        assert!(
            live.len() <= (u64::from(heaps) * cap / size) as usize,
            "the caps were not enforced"
        );
    };
    assert!(
        matches!(failure, Error::OutOfMemory { requested, .. } if requested == size),
        "{failure}"
    );
    assert!(failure.is_out_of_memory());
    // The staging crate asks the same question of its own error, whichever shape it comes in.
    assert!(vkup_staging::Error::from(failure).is_out_of_memory());
    assert!(vkup_staging::Error::Vulkan(vk::Result::ERROR_OUT_OF_DEVICE_MEMORY).is_out_of_memory());
    assert!(!vkup_staging::Error::StaleSpan.is_out_of_memory());
    assert!(!live.is_empty());
    let count = alloc.live_allocations().unwrap();
    assert_eq!(
        count,
        live.len() as u64,
        "the failed call left something behind"
    );

    // Images run out too, with the same variant.
    let image = alloc.create_image(
        &ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 2048, 2048)
            .usage(vk::ImageUsageFlags::SAMPLED),
    );
    assert!(matches!(image, Err(Error::OutOfMemory { requested, .. }) if requested >= 16 << 20));

    // Free one and the same request succeeds again.
    // SAFETY: the handles come from this allocator and no submitted work uses them.
    unsafe { alloc.destroy_buffer(live.pop().unwrap()) };
    live.push(alloc.create_buffer(&BufferDesc::vertex(size)).unwrap());
    for buffer in live {
        // SAFETY: the handles come from this allocator and no submitted work uses them.
        unsafe { alloc.destroy_buffer(buffer) };
    }
    assert_eq!(alloc.live_allocations().unwrap(), 0);
    // And the whole cap is usable once more.
    let big = alloc.create_buffer(&BufferDesc::vertex(cap / 2)).unwrap();
    // SAFETY: the handles come from this allocator and no submitted work uses them.
    unsafe { alloc.destroy_buffer(big) };
}
