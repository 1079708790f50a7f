use allocator::{BufferDesc, GpuBuffer, GpuImage, ImageDesc, MemoryIntent};
use ash::vk;
use gpu_tests::Gpu;

enum Handle {
    Buffer(GpuBuffer),
    Image(GpuImage),
}

/// xorshift64*: a deterministic per-thread sequence without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn eight_threads_mixing_five_thousand_creates_and_destroys_leave_nothing() {
    const THREADS: u64 = 8;
    const OPS: usize = 5_000;
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let intents = [
        MemoryIntent::GpuOnly,
        MemoryIntent::Upload,
        MemoryIntent::Readback,
        MemoryIntent::CpuToGpu,
    ];
    let created: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let alloc = &alloc;
                scope.spawn(move || {
                    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t + 1));
                    let mut live: Vec<Handle> = Vec::new();
                    let mut created = 0u64;
                    for op in 0..OPS {
                        let create = live.is_empty() || (live.len() < 64 && rng.next() % 3 != 0);
                        if create {
                            let r = rng.next();
                            let handle = if r % 4 == 0 {
                                let side = 16 << (r % 3);
                                let name = format!("t{t} image {op}");
                                Handle::Image(
                                    alloc
                                        .create_image(
                                            &ImageDesc::texture_2d(
                                                vk::Format::R8G8B8A8_UNORM,
                                                side,
                                                side,
                                            )
                                            .name(&name),
                                        )
                                        .unwrap(),
                                )
                            } else {
                                let size = 256 << (r % 9);
                                let intent = intents[(r >> 8) as usize % intents.len()];
                                Handle::Buffer(
                                    alloc
                                        .create_buffer(&BufferDesc::vertex(size).memory(intent))
                                        .unwrap(),
                                )
                            };
                            live.push(handle);
                            created += 1;
                        } else {
                            let index = rng.next() as usize % live.len();
                            match live.swap_remove(index) {
                                // SAFETY: the handles come from this allocator and no submitted work uses them.
                                Handle::Buffer(b) => unsafe { alloc.destroy_buffer(b) },
                                // SAFETY: the handles come from this allocator and no submitted work uses them.
                                Handle::Image(i) => unsafe { alloc.destroy_image(i) },
                            }
                        }
                    }
                    for handle in live {
                        match handle {
                            // SAFETY: the handles come from this allocator and no submitted work uses them.
                            Handle::Buffer(b) => unsafe { alloc.destroy_buffer(b) },
                            // SAFETY: the handles come from this allocator and no submitted work uses them.
                            Handle::Image(i) => unsafe { alloc.destroy_image(i) },
                        }
                    }
                    created
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert!(
        created > THREADS * OPS as u64 / 2,
        "too few creations: {created}"
    );
    assert_eq!(alloc.live_allocations().unwrap(), 0);
    alloc.destroy().unwrap();
}
