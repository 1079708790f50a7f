use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::{BufferDesc, ImageDesc};

#[test]
fn destroy_with_live_allocations_reports_them_by_name_and_hands_the_allocator_back() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let buffer = alloc
        .create_buffer(&BufferDesc::vertex(4096).name("leaky vertex buffer"))
        .unwrap();
    let image = alloc
        .create_image(&ImageDesc::texture_2d(vk::Format::R8G8B8A8_UNORM, 64, 64))
        .unwrap();
    let leaked = alloc.destroy().unwrap_err();
    assert_eq!(leaked.report.count, 2);
    assert!(leaked.report.bytes >= 4096 + 64 * 64 * 4);
    let names: Vec<_> = leaked
        .report
        .allocations
        .iter()
        .map(|a| a.name.as_deref())
        .collect();
    assert!(
        names.contains(&Some("leaky vertex buffer")),
        "{}",
        leaked.report
    );
    assert!(
        names.contains(&None),
        "the unnamed image is listed too: {}",
        leaked.report
    );
    assert!(leaked.to_string().contains("leaky vertex buffer"));

    let alloc = leaked.allocator;
    // SAFETY: the handles come from this allocator and no submitted work uses them.
    unsafe {
        alloc.destroy_buffer(buffer);
        alloc.destroy_image(image);
    }
    assert_eq!(alloc.leak_report().unwrap(), None);
    alloc.destroy().unwrap();
}
