//! The harness judges every other test, so it is tested too: a provoked validation error and a
//! provoked synchronization hazard must each reach the test's own message list.

use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::BufferDesc;

#[test]
fn a_validation_error_reaches_the_tests_message_list() {
    let gpu = Gpu::new();
    // VUID-VkBufferCreateInfo-size-00912: size must be greater than 0. The layer reports it and
    // skips the call, so nothing is created.
    let info = vk::BufferCreateInfo::default()
        .size(0)
        .usage(vk::BufferUsageFlags::TRANSFER_DST);
    // SAFETY: valid device; the layer checks (and skips) the invalid call on purpose.
    let result = unsafe { gpu.device.create_buffer(&info, None) };
    if let Ok(buffer) = result {
        // SAFETY: created just above on this device and never used.
        unsafe { gpu.device.destroy_buffer(buffer, None) };
    }
    let messages = gpu.take_messages();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("VUID-VkBufferCreateInfo-size-00912")),
        "{messages:?}"
    );
}

#[test]
fn a_synchronization_hazard_reaches_the_tests_message_list() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let usage = vk::BufferUsageFlags::TRANSFER_SRC | vk::BufferUsageFlags::TRANSFER_DST;
    let a = alloc.create_buffer(&BufferDesc::new(256, usage)).unwrap();
    let b = alloc.create_buffer(&BufferDesc::new(256, usage)).unwrap();
    // SAFETY: the buffers are live and sized for these copies; the harness waits for them.
    gpu.submit_and_wait(|cmd| unsafe {
        let region = [vk::BufferCopy::default().size(256)];
        // Two writes to `b` with no barrier between them: a write-after-write hazard.
        gpu.device.cmd_copy_buffer(cmd, a.raw(), b.raw(), &region);
        gpu.device.cmd_copy_buffer(cmd, a.raw(), b.raw(), &region);
    });
    let messages = gpu.take_messages();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("SYNC-HAZARD-WRITE-AFTER-WRITE")),
        "{messages:?}"
    );
    // SAFETY: the handles come from this allocator and no submitted work uses them.
    unsafe {
        alloc.destroy_buffer(a);
        alloc.destroy_buffer(b);
    }
}
