//! Integration tests of the `staging` crate on a real device (lavapipe in CI) with validation and
//! synchronization validation on. Every upload is read back and compared byte for byte.

mod access_sets;
mod buffers;
mod chaining;
mod edges;
mod graph_exec;
mod images;
mod mips;
mod ownership;
mod soundness;

/// Deterministic bytes for a test case.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Reads a whole buffer, in state `from`, back through the GPU.
pub fn read_back(
    gpu: &gpu_tests::Gpu,
    alloc: &vkup_allocator::Allocator,
    buffer: &vkup_allocator::GpuBuffer,
    from: vkup_staging::Access,
) -> Vec<u8> {
    let stager = gpu.stager(alloc);
    let mut out = None;
    let from = vkup_staging::ResourceState::new(from);
    let value = gpu.submit_and_wait(|cmd| {
        // SAFETY: recording on the Gpu's queue; the buffer outlives the wait.
        let (readback, _) = unsafe {
            stager.record_buffer_readback(cmd, alloc, buffer, 0..buffer.size(), from, from)
        }
        .unwrap();
        out = Some(readback);
    });
    let mut readback = out.unwrap();
    // SAFETY: the submission that signalled `value` copied into it.
    unsafe { readback.submitted(gpu.timeline(), value) };
    let bytes = readback.read(alloc, gpu.timeline()).unwrap();
    // SAFETY: the copy has completed (submit_and_wait waited).
    unsafe { readback.destroy(alloc) };
    bytes
}
