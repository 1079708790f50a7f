use ash::vk;
use gpu_tests::Gpu;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use vkup_allocator::{Allocator, BufferDesc, GpuBuffer, GpuImage, ImageDesc, MemoryIntent};

enum Handle {
    Buffer(GpuBuffer),
    Image(GpuImage),
}

/// One step of one thread's script.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// A sampled RGBA8 texture of side 16 << shift (with its mip chain).
    Image { shift: u8 },
    /// A vertex buffer of 256 << shift bytes.
    Buffer { shift: u8, intent: MemoryIntent },
    /// Destroy the live handle at this index (modulo the live count); create when none is live.
    Destroy { index: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let intent = prop::sample::select(vec![
        MemoryIntent::GpuOnly,
        MemoryIntent::Upload,
        MemoryIntent::Readback,
        MemoryIntent::CpuToGpu,
    ]);
    prop_oneof![
        1 => (0u8..3).prop_map(|shift| Op::Image { shift }),
        3 => (0u8..9, intent).prop_map(|(shift, intent)| Op::Buffer { shift, intent }),
        2 => any::<usize>().prop_map(|index| Op::Destroy { index }),
    ]
}

fn destroy(alloc: &Allocator, handle: Handle) {
    match handle {
        // SAFETY: the handles come from this allocator and no submitted work uses them.
        Handle::Buffer(b) => unsafe { alloc.destroy_buffer(b) },
        // SAFETY: as above.
        Handle::Image(i) => unsafe { alloc.destroy_image(i) },
    }
}

/// Runs one thread's script; returns how many handles it created.
fn run_script(alloc: &Allocator, thread: usize, script: &[Op]) -> u64 {
    let mut live: Vec<Handle> = Vec::new();
    let mut created = 0u64;
    for (step, &op) in script.iter().enumerate() {
        let op = match op {
            Op::Destroy { .. } if live.is_empty() => Op::Buffer {
                shift: 0,
                intent: MemoryIntent::GpuOnly,
            },
            Op::Image { .. } | Op::Buffer { .. } if live.len() >= 64 => Op::Destroy { index: step },
            other => other,
        };
        match op {
            Op::Image { shift } => {
                let side = 16 << shift;
                let name = format!("t{thread} image {step}");
                let desc =
                    ImageDesc::texture_2d(vk::Format::R8G8B8A8_UNORM, side, side).name(&name);
                live.push(Handle::Image(alloc.create_image(&desc).unwrap()));
                created += 1;
            }
            Op::Buffer { shift, intent } => {
                let desc = BufferDesc::vertex(256 << shift).memory(intent);
                live.push(Handle::Buffer(alloc.create_buffer(&desc).unwrap()));
                created += 1;
            }
            Op::Destroy { index } => {
                let handle = live.swap_remove(index % live.len());
                destroy(alloc, handle);
            }
        }
    }
    for handle in live {
        destroy(alloc, handle);
    }
    created
}

#[test]
fn eight_threads_mixing_five_thousand_creates_and_destroys_leave_nothing() {
    const THREADS: usize = 8;
    const OPS: usize = 5_000;
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let scripts = prop::collection::vec(prop::collection::vec(op(), OPS), THREADS);
    let mut runner = TestRunner::new(Config {
        cases: 4,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&scripts, |scripts| {
            let created: u64 = std::thread::scope(|scope| {
                let workers: Vec<_> = scripts
                    .iter()
                    .enumerate()
                    .map(|(t, script)| {
                        let alloc = &alloc;
                        scope.spawn(move || run_script(alloc, t, script))
                    })
                    .collect();
                workers.into_iter().map(|w| w.join().unwrap()).sum()
            });
            prop_assert!(
                created > (THREADS * OPS / 3) as u64,
                "too few creations: {}",
                created
            );
            prop_assert_eq!(alloc.live_allocations().unwrap(), 0);
            Ok(())
        })
        .unwrap();
    alloc.destroy().unwrap();
}
