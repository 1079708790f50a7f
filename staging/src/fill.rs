//! Host copies into staging memory and mapped destinations.
//!
//! A staging copy writes bytes the CPU never reads again: the GPU reads them, over PCIe or from
//! its own memory. Plain stores first read every destination cache line into the CPU's caches
//! (a read for ownership) and then evict the cache's earlier contents; non-temporal (streaming)
//! stores write whole lines straight to memory and skip both. Large copies use them where the
//! target has them (x86-64: 32-byte AVX stores where the CPU has AVX, 16-byte SSE2 ones, part of
//! the baseline, otherwise) and spread over a pool of threads.

use std::sync::{mpsc, Arc, Condvar, Mutex, OnceLock};

/// Each thread of a spread copy takes at least this much: handing a piece to a waiting worker
/// costs a wake-up, a few microseconds.
const PER_THREAD_MIN: usize = 256 << 10;

/// From what size a copy spreads over threads and streams, by who reads the bytes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CopyLimits {
    pub parallel_min: usize,
    pub streaming_min: usize,
}

impl CopyLimits {
    /// A GPU reads staging memory across the bus, long after the host's caches matter: on an
    /// H200 host, 4 MiB staged uploads ran at 20.3 GB/s streaming on 8 threads against 7.5 with
    /// plain stores, and 1 MiB at 9.2 against 8.5.
    pub const GPU: Self = Self {
        parallel_min: 1 << 20,
        streaming_min: 1 << 20,
    };
    /// A CPU device (lavapipe) copies the staged bytes itself right after, from its caches where
    /// they fit, on the same cores: on a 2-core EPYC, 1 MiB staged uploads ran at 9.9 GB/s with
    /// plain stores against 7.0 streaming (4 MiB: 11.3 against 8.0; 16 MiB: 4.9 against 5.6),
    /// and at 11.2 on one thread against 9.9 on two.
    pub const CPU: Self = Self {
        parallel_min: 4 << 20,
        streaming_min: 16 << 20,
    };
}

/// A caller's own way of running host copies in parallel (rayon, an engine's job system), for
/// [`Stager::executor`](crate::Stager::executor): a large copy into staging memory is cut into
/// jobs, handed over in one call, and the stager waits for that call to return.
///
/// ```
/// struct Inline;
/// impl vkup_staging::CopyExecutor for Inline {
///     fn parallelism(&self) -> usize {
///         1
///     }
///     fn run(&self, jobs: &mut [vkup_staging::CopyJob<'_>]) {
///         jobs.iter_mut().for_each(vkup_staging::CopyJob::run); // rayon: `par_iter_mut()`
///     }
/// }
/// ```
pub trait CopyExecutor: Send + Sync {
    /// How many jobs it runs at once: a large copy is cut into at most this many.
    fn parallelism(&self) -> usize;

    /// Runs every job ([`CopyJob::run`]), on any threads, and returns once all have run. A job
    /// left unrun is run on the calling thread after this returns, so no byte is lost.
    fn run(&self, jobs: &mut [CopyJob<'_>]);
}

/// One piece of a host copy, for a [`CopyExecutor`] to run: it borrows its source and its part
/// of the destination, so it cannot outlive the call it was handed to.
#[derive(Debug)]
pub struct CopyJob<'a> {
    src: &'a [u8],
    dst: &'a mut [u8],
    streaming: bool,
    done: bool,
}

impl CopyJob<'_> {
    /// Copies the piece; a second call does nothing.
    pub fn run(&mut self) {
        if !self.done {
            copy_one(self.src, self.dst, self.streaming);
            self.done = true;
        }
    }

    /// Bytes the piece copies.
    pub fn len(&self) -> usize {
        self.src.len()
    }

    /// Whether the piece copies nothing.
    pub fn is_empty(&self) -> bool {
        self.src.is_empty()
    }
}

/// Where the threads of a spread copy come from.
#[derive(Clone, Copy)]
pub(crate) enum Helpers<'p> {
    /// The stager's own pool (no threads when it was not asked for any).
    Pool(&'p CopyPool),
    /// The caller's executor.
    Executor(&'p dyn CopyExecutor),
}

/// How a host copy writes its destination.
#[derive(Clone, Copy)]
pub(crate) struct CopyMode<'p> {
    /// Threads for large copies, the calling one included (1 for none).
    pub threads: usize,
    /// Non-temporal stores for large copies.
    pub streaming: bool,
    /// Where copies start to spread and to stream.
    pub limits: CopyLimits,
    /// Where the other threads come from.
    pub helpers: Helpers<'p>,
}

/// Copies `src` into `dst` (same length), over up to `mode.threads` threads for large copies:
/// the calling thread and the pool's workers.
pub(crate) fn copy(src: &[u8], dst: &mut [u8], mode: CopyMode<'_>) {
    debug_assert_eq!(src.len(), dst.len());
    let len = src.len().min(dst.len());
    let (src, dst) = (&src[..len], &mut dst[..len]);
    let streaming = mode.streaming && len >= mode.limits.streaming_min;
    let wanted = mode.threads.min(len / PER_THREAD_MIN);
    if wanted <= 1 || len < mode.limits.parallel_min {
        copy_one(src, dst, streaming);
        return;
    }
    let pool = match mode.helpers {
        Helpers::Pool(pool) => pool,
        Helpers::Executor(executor) => {
            let chunk = len.div_ceil(wanted).next_multiple_of(4096);
            let mut jobs: Vec<CopyJob<'_>> = dst
                .chunks_mut(chunk)
                .zip(src.chunks(chunk))
                .map(|(dst, src)| CopyJob {
                    src,
                    dst,
                    streaming,
                    done: false,
                })
                .collect();
            executor.run(&mut jobs);
            jobs.iter_mut().for_each(CopyJob::run);
            return;
        }
    };
    if IN_CALL.with(std::cell::Cell::get) {
        // Inside `run_on_all` (a producer calling the stager's copy, say): the workers may all
        // be busy with that call's work, waiting for each other; copy here.
        copy_one(src, dst, streaming);
        return;
    }
    // Only now: a stager whose copies never spread never starts its threads.
    let workers = pool.workers();
    let threads = wanted.min(workers.len() + 1);
    if threads <= 1 {
        copy_one(src, dst, streaming);
        return;
    }
    let chunk = len.div_ceil(threads).next_multiple_of(4096);
    let latch = Arc::new(Latch::default());
    // Waits for every handed-out piece before this function returns, by any path, so no worker
    // writes through a borrow that has ended.
    let wait = WaitOnDrop(&latch);
    let mut pieces = dst.chunks_mut(chunk).zip(src.chunks(chunk));
    let own = pieces.next();
    let mut helpers = workers.iter();
    for (d, s) in pieces {
        let task = Task {
            kind: Kind::Copy {
                src: s.as_ptr(),
                dst: d.as_mut_ptr(),
                len: s.len(),
                streaming,
            },
            latch: Arc::clone(&latch),
        };
        latch.add();
        let sent = helpers.next().map(|worker| worker.send(task));
        if !matches!(sent, Some(Ok(()))) {
            // No worker left to take it (one exited): copy it here.
            latch.done();
            copy_one(s, d, streaming);
        }
    }
    if let Some((d, s)) = own {
        copy_one(s, d, streaming);
    }
    drop(wait);
}

/// Threads that fill staging memory for a stager and its clones. Started on the first copy large
/// enough to spread (a stager that never makes one never starts them), idle between copies, and
/// ended when the last clone is dropped.
#[derive(Debug)]
pub(crate) struct CopyPool {
    helpers: usize,
    workers: OnceLock<Vec<mpsc::Sender<Task>>>,
    handles: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl CopyPool {
    /// A pool of `helpers` threads beside the calling one.
    pub(crate) fn new(helpers: usize) -> Self {
        Self {
            helpers,
            workers: OnceLock::new(),
            handles: Mutex::new(Vec::new()),
        }
    }

    /// Threads a copy through this pool may use: its helpers and the calling thread.
    pub(crate) fn threads(&self) -> usize {
        self.helpers + 1
    }

    /// The workers' queues, starting them on first use. A thread the system refuses is left out:
    /// copies then spread over fewer threads.
    fn workers(&self) -> &[mpsc::Sender<Task>] {
        if self.helpers == 0 {
            return &[];
        }
        self.workers.get_or_init(|| {
            let mut senders = Vec::with_capacity(self.helpers);
            let mut handles = lock(&self.handles);
            for i in 0..self.helpers {
                let (tx, rx) = mpsc::channel::<Task>();
                let spawned = std::thread::Builder::new()
                    .name(format!("staging-copy-{i}"))
                    .spawn(move || {
                        for task in rx {
                            // A panicking piece (a bug: copies of equal lengths do not panic)
                            // still counts itself done, and the worker lives on for the pieces
                            // queued behind it, so no caller waits forever.
                            let run = std::panic::AssertUnwindSafe(|| task.run());
                            let _ = std::panic::catch_unwind(run);
                        }
                    });
                if let Ok(handle) = spawned {
                    senders.push(tx);
                    handles.push(handle);
                }
            }
            senders
        })
    }
}

impl Drop for CopyPool {
    fn drop(&mut self) {
        // Closing the queues ends the workers' loops; none holds a task, since a copy keeps its
        // stager (and so this pool) alive until its pieces are done.
        drop(self.workers.take());
        for handle in lock(&self.handles).drain(..) {
            // A worker that panicked has nothing left to report: its pieces were counted down.
            let _ = handle.join();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

std::thread_local! {
    /// Whether this thread is running a [`CopyPool::run_on_all`] call.
    static IN_CALL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// One piece of work run by a worker, counted down on `latch` when it ends.
struct Task {
    kind: Kind,
    latch: Arc<Latch>,
}

enum Kind {
    /// A piece of a copy.
    Copy {
        src: *const u8,
        dst: *mut u8,
        len: usize,
        streaming: bool,
    },
    /// A call of a borrowed closure ([`CopyPool::run_on_all`]).
    Call(*const (dyn Fn() + Sync)),
}

// SAFETY: a task is borrowed data in raw form, and whoever made it does not return until the
// task's latch counts it done. A copy is a pair of slices that `copy` made from a `&[u8]` and a
// disjoint `&mut [u8]` chunk and does not touch meanwhile, so the worker has exclusive use of
// the destination and shared use of the source while it holds them (`u8` slices are `Send` and
// `Sync`). A call is a shared borrow of a `Fn + Sync` closure, which any thread may call.
unsafe impl Send for Task {}

impl Task {
    fn run(self) {
        // Counts the piece done however it ends, a panic included.
        let _done = DoneOnDrop(&self.latch);
        match self.kind {
            Kind::Copy {
                src,
                dst,
                len,
                streaming,
            } => {
                // SAFETY: see `impl Send for Task`: both ranges are live, `len` bytes long, and
                // the destination is this task's alone until the latch counts it done.
                let (src, dst) = unsafe {
                    (
                        std::slice::from_raw_parts(src, len),
                        std::slice::from_raw_parts_mut(dst, len),
                    )
                };
                copy_one(src, dst, streaming);
            }
            // SAFETY: see `impl Send for Task`: the closure outlives the task.
            Kind::Call(work) => unsafe { (*work)() },
        }
    }
}

impl CopyPool {
    /// Calls `work` on up to `threads` threads at once: the calling one and that many less one
    /// of this pool's workers (started now if they were not); returns once every call has
    /// ended. A panic in any call is resumed here, after all have ended.
    pub(crate) fn run_on_all(&self, threads: usize, work: &(dyn Fn() + Sync)) {
        let panicked: Mutex<Option<Box<dyn std::any::Any + Send>>> = Mutex::new(None);
        let guarded = || {
            let outer = IN_CALL.with(|c| c.replace(true));
            if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
                lock(&panicked).get_or_insert(panic);
            }
            IN_CALL.with(|c| c.set(outer));
        };
        let guarded: &(dyn Fn() + Sync) = &guarded;
        let latch = Arc::new(Latch::default());
        {
            // Waits for every call handed out before `guarded` and `work` go out of scope, by
            // any path.
            let _wait = WaitOnDrop(&latch);
            let helpers = threads.saturating_sub(1);
            for worker in self.workers().iter().take(helpers) {
                latch.add();
                // SAFETY (of the task's use): `guarded` outlives it: `_wait` returns only once
                // the latch counts every task done.
                let erased: *const (dyn Fn() + Sync + '_) = guarded;
                // The lifetime is erased for the channel; the latch keeps it honest.
                #[allow(clippy::missing_transmute_annotations)]
                // SAFETY: the same fat pointer with its lifetime bound dropped, nothing else
                // changed; see above for why the closure outlives every call through it.
                let erased: *const (dyn Fn() + Sync + 'static) =
                    unsafe { std::mem::transmute(erased) };
                let task = Task {
                    kind: Kind::Call(erased),
                    latch: Arc::clone(&latch),
                };
                if worker.send(task).is_err() {
                    // The worker exited: one call fewer.
                    latch.done();
                }
            }
            guarded();
        }
        let panic = lock(&panicked).take();
        if let Some(panic) = panic {
            std::panic::resume_unwind(panic);
        }
    }
}

/// Counts pieces handed out and not yet done.
#[derive(Default)]
struct Latch {
    left: Mutex<usize>,
    zero: Condvar,
}

impl Latch {
    fn add(&self) {
        *lock(&self.left) += 1;
    }

    fn done(&self) {
        let mut left = lock(&self.left);
        *left = left.saturating_sub(1);
        if *left == 0 {
            self.zero.notify_all();
        }
    }

    fn wait(&self) {
        let mut left = lock(&self.left);
        while *left > 0 {
            left = self
                .zero
                .wait(left)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

struct DoneOnDrop<'a>(&'a Latch);

impl Drop for DoneOnDrop<'_> {
    fn drop(&mut self) {
        self.0.done();
    }
}

struct WaitOnDrop<'a>(&'a Latch);

impl Drop for WaitOnDrop<'_> {
    fn drop(&mut self) {
        self.0.wait();
    }
}

fn copy_one(src: &[u8], dst: &mut [u8], streaming: bool) {
    if streaming {
        copy_streaming(src, dst);
    } else {
        dst.copy_from_slice(src);
    }
}

/// `dst.copy_from_slice(src)` with non-temporal stores for the aligned body, ordered before this
/// function returns: 32-byte AVX stores where the CPU has AVX, 16-byte SSE2 stores otherwise.
#[cfg(target_arch = "x86_64")]
fn copy_streaming(src: &[u8], dst: &mut [u8]) {
    copy_streaming_with(src, dst, true);
}

/// [`copy_streaming`], allowed AVX stores or not (`avx` takes effect only where the CPU has it).
#[cfg(target_arch = "x86_64")]
fn copy_streaming_with(src: &[u8], dst: &mut [u8], avx: bool) {
    let avx = avx && std::arch::is_x86_feature_detected!("avx");
    let align = if avx { 32 } else { 16 };
    let len = src.len().min(dst.len());
    let head = dst.as_ptr().align_offset(align).min(len);
    let body = (len - head) / STEP * STEP;
    let (dst_head, rest) = dst.split_at_mut(head);
    let (src_head, src_rest) = src.split_at(head);
    dst_head.copy_from_slice(src_head);
    let (dst_body, dst_tail) = rest.split_at_mut(body);
    let (src_body, src_tail) = src_rest.split_at(body);
    if avx {
        // SAFETY: the CPU has AVX (checked above); `head` made the body 32-byte aligned.
        unsafe { stream_avx(src_body, dst_body) };
    } else {
        // SAFETY: SSE2 is part of the x86-64 baseline; the body is 16-byte aligned.
        unsafe { stream_sse2(src_body, dst_body) };
    }
    // SAFETY: SSE2 is part of the x86-64 baseline. The fence orders the weakly ordered streaming
    // stores before every later store, so the submission that follows (or the thread join that
    // hands the bytes to it) sees them.
    unsafe { std::arch::x86_64::_mm_sfence() };
    dst_tail.copy_from_slice(src_tail);
}

/// Bytes per step of the streaming loops: two cache lines.
#[cfg(target_arch = "x86_64")]
const STEP: usize = 128;
/// How far ahead of the loads the streaming loops prefetch the source. Measured on an H200 host
/// (`bench --only fill` and a probe of loop variants): 8 threads filling upload memory moved
/// 45 GB/s with 32-byte streaming stores alone and 55 GB/s with this prefetch; 16-byte stores
/// without it, 40 GB/s.
#[cfg(target_arch = "x86_64")]
const PREFETCH: usize = 2048;

/// Streams `src` into `dst` (same length, a multiple of [`STEP`]) with 32-byte stores.
///
/// # Safety
/// The CPU has AVX, and `dst` starts 32-byte aligned.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn stream_avx(src: &[u8], dst: &mut [u8]) {
    use std::arch::x86_64::{
        __m256i, _mm256_loadu_si256, _mm256_stream_si256, _mm_prefetch, _MM_HINT_T0,
    };
    for (d, s) in dst.chunks_exact_mut(STEP).zip(src.chunks_exact(STEP)) {
        let (d, s) = (
            d.as_mut_ptr().cast::<__m256i>(),
            s.as_ptr().cast::<__m256i>(),
        );
        // SAFETY: each chunk is 128 bytes, so the four 32-byte loads and stores stay inside it;
        // the loads are unaligned loads, the stores aligned (the body starts 32-byte aligned and
        // every step is 128 bytes); AVX is the caller's duty. A prefetch never faults, so its
        // address may lie past the source (`wrapping_add` keeps the arithmetic defined).
        unsafe {
            let ahead = s.cast::<i8>().wrapping_add(PREFETCH);
            _mm_prefetch::<_MM_HINT_T0>(ahead);
            _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(64));
            let a = _mm256_loadu_si256(s);
            let b = _mm256_loadu_si256(s.add(1));
            let c = _mm256_loadu_si256(s.add(2));
            let e = _mm256_loadu_si256(s.add(3));
            _mm256_stream_si256(d, a);
            _mm256_stream_si256(d.add(1), b);
            _mm256_stream_si256(d.add(2), c);
            _mm256_stream_si256(d.add(3), e);
        }
    }
}

/// Streams `src` into `dst` (same length, a multiple of [`STEP`]) with 16-byte stores.
///
/// # Safety
/// `dst` starts 16-byte aligned.
#[cfg(target_arch = "x86_64")]
unsafe fn stream_sse2(src: &[u8], dst: &mut [u8]) {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_stream_si128};
    for (d, s) in dst.chunks_exact_mut(16).zip(src.chunks_exact(16)) {
        // SAFETY: one 16-byte unaligned load and one aligned store (the caller's duty; every
        // chunk keeps the alignment) inside 16-byte chunks; SSE2 is part of the baseline.
        unsafe {
            let v = _mm_loadu_si128(s.as_ptr().cast::<__m128i>());
            _mm_stream_si128(d.as_mut_ptr().cast::<__m128i>(), v);
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn copy_streaming(src: &[u8], dst: &mut [u8]) {
    dst.copy_from_slice(src);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `run_on_all` calls the work on the pool's workers and the caller at once, a copy through
    /// the same pool inside it runs on its own thread instead of waiting for busy workers, and a
    /// panic in a worker's call comes back to the caller after every call ended.
    #[test]
    fn run_on_all_spreads_nests_copies_and_resumes_panics() {
        let pool = CopyPool::new(3);
        let seen = Mutex::new(std::collections::HashSet::new());
        let arrived = std::sync::Barrier::new(4);
        let mode = CopyMode {
            threads: 4,
            streaming: false,
            limits: CopyLimits {
                parallel_min: 0,
                streaming_min: usize::MAX,
            },
            helpers: Helpers::Pool(&pool),
        };
        let src = vec![7u8; 4 * PER_THREAD_MIN];
        pool.run_on_all(4, &|| {
            // Every thread is inside the call before any copies: four of them, at once.
            arrived.wait();
            lock(&seen).insert(std::thread::current().id());
            let mut dst = vec![0u8; src.len()];
            copy(&src, &mut dst, mode);
            assert!(dst == src);
        });
        assert_eq!(lock(&seen).len(), 4);
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.run_on_all(4, &|| {
                if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 2 {
                    panic!("a producer's bug");
                }
            })
        }));
        assert!(caught.is_err());
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 4);
        // The pool lives on.
        pool.run_on_all(2, &|| {});
    }

    /// Every alignment of source and destination, lengths around the 128-byte step and the
    /// streaming threshold, one and several threads: the bytes arrive, and nothing outside the
    /// destination changes.
    #[test]
    fn copies_every_alignment_and_length_exactly() {
        let src: Vec<u8> = (0..CopyLimits::GPU.streaming_min + 300)
            .map(|i| (i * 31 + 7) as u8)
            .collect();
        let pool = CopyPool::new(2);
        let lens = [
            0,
            1,
            15,
            16,
            63,
            64,
            65,
            200,
            CopyLimits::GPU.streaming_min - 1,
            CopyLimits::GPU.streaming_min,
            CopyLimits::GPU.streaming_min + 129,
        ];
        for streaming in [false, true] {
            for threads in [1, 3] {
                for src_off in 0..4 {
                    for dst_off in [0, 1, 8, 15, 16, 17] {
                        for &len in &lens {
                            let mut dst = vec![0xAAu8; len + dst_off + 64];
                            copy(
                                &src[src_off..src_off + len],
                                &mut dst[dst_off..dst_off + len],
                                CopyMode {
                                    threads,
                                    streaming,
                                    limits: CopyLimits::GPU,
                                    helpers: Helpers::Pool(&pool),
                                },
                            );
                            assert!(dst[..dst_off].iter().all(|&b| b == 0xAA));
                            assert_eq!(&dst[dst_off..dst_off + len], &src[src_off..src_off + len]);
                            assert!(dst[dst_off + len..].iter().all(|&b| b == 0xAA));
                        }
                    }
                }
            }
        }
    }

    /// The SSE2 loop (CPUs without AVX), which the dispatch above skips on this machine.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_sse2_loop_copies_every_alignment_exactly() {
        let src: Vec<u8> = (0..5000).map(|i| (i * 13 + 1) as u8).collect();
        for src_off in 0..3 {
            for dst_off in [0, 5, 16, 31, 32] {
                for len in [0, 17, 127, 128, 129, 1000, 4000] {
                    let mut dst = vec![0x55u8; len + dst_off + 40];
                    copy_streaming_with(
                        &src[src_off..src_off + len],
                        &mut dst[dst_off..dst_off + len],
                        false,
                    );
                    assert!(dst[..dst_off].iter().all(|&b| b == 0x55));
                    assert_eq!(&dst[dst_off..dst_off + len], &src[src_off..src_off + len]);
                    assert!(dst[dst_off + len..].iter().all(|&b| b == 0x55));
                }
            }
        }
    }

    #[test]
    fn a_parallel_streaming_copy_of_a_large_buffer_is_exact() {
        let src: Vec<u8> = (0..(CopyLimits::GPU.parallel_min * 2 + 4097))
            .map(|i| (i ^ (i >> 9)) as u8)
            .collect();
        // More threads asked for than the pool has: the pieces spread over what there is.
        for (helpers, threads) in [(4, 5), (2, 8), (0, 4)] {
            let pool = CopyPool::new(helpers);
            let mut dst = vec![0u8; src.len() + 3];
            copy(
                &src,
                &mut dst[3..],
                CopyMode {
                    threads,
                    streaming: true,
                    limits: CopyLimits::GPU,
                    helpers: Helpers::Pool(&pool),
                },
            );
            assert_eq!(&dst[3..], &src[..], "{helpers} helpers, {threads} threads");
        }
    }

    /// A caller's executor gets a large copy as jobs in one call; jobs it leaves unrun are run
    /// after it returns, so the copy is whole whatever the executor does.
    #[test]
    fn an_executor_runs_the_jobs_and_what_it_skips_is_run_after() {
        struct Half(std::sync::atomic::AtomicUsize);
        impl CopyExecutor for Half {
            fn parallelism(&self) -> usize {
                4
            }
            fn run(&self, jobs: &mut [CopyJob<'_>]) {
                self.0
                    .fetch_add(jobs.len(), std::sync::atomic::Ordering::Relaxed);
                let half = jobs.len() / 2;
                std::thread::scope(|scope| {
                    for job in &mut jobs[..half] {
                        scope.spawn(move || job.run());
                    }
                });
            }
        }
        let executor = Half(std::sync::atomic::AtomicUsize::new(0));
        let pool = CopyPool::new(0);
        let src: Vec<u8> = (0..CopyLimits::GPU.parallel_min * 3 + 77)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let mut dst = vec![0u8; src.len()];
        let mode = CopyMode {
            threads: 4,
            streaming: true,
            limits: CopyLimits::GPU,
            helpers: Helpers::Executor(&executor),
        };
        copy(&src, &mut dst, mode);
        assert!(dst == src, "the copy is whole");
        assert_eq!(executor.0.load(std::sync::atomic::Ordering::Relaxed), 4);
        // Small copies never reach it.
        let mut small = vec![0u8; 64];
        copy(&src[..64], &mut small, mode);
        assert_eq!(executor.0.load(std::sync::atomic::Ordering::Relaxed), 4);
        assert!(pool.workers.get().is_none());
    }

    /// Copies too small to spread never start the pool's threads.
    #[test]
    fn small_copies_start_no_threads() {
        let pool = CopyPool::new(3);
        let src = vec![1u8; CopyLimits::GPU.parallel_min - 1];
        let mut dst = vec![0u8; src.len()];
        let mode = CopyMode {
            threads: 4,
            streaming: true,
            limits: CopyLimits::GPU,
            helpers: Helpers::Pool(&pool),
        };
        copy(&src, &mut dst, mode);
        assert_eq!(dst, src);
        assert!(pool.workers.get().is_none(), "no thread started");
        let big = vec![2u8; CopyLimits::GPU.parallel_min];
        let mut out = vec![0u8; big.len()];
        copy(&big, &mut out, mode);
        assert_eq!(out, big);
        assert_eq!(pool.workers.get().map(Vec::len), Some(3));
    }

    /// Several threads copying through one pool at once (clones of a stager on loader threads)
    /// each get exactly their bytes; dropping the pool afterwards ends its workers.
    #[test]
    fn concurrent_copies_through_one_pool_are_exact() {
        let pool = CopyPool::new(3);
        let len = CopyLimits::GPU.parallel_min + 12_345;
        std::thread::scope(|scope| {
            for t in 0..4u8 {
                let pool = &pool;
                scope.spawn(move || {
                    let src: Vec<u8> = (0..len).map(|i| (i as u8) ^ t.wrapping_mul(37)).collect();
                    for round in 0..3 {
                        let mut dst = vec![0u8; len];
                        copy(
                            &src,
                            &mut dst,
                            CopyMode {
                                threads: 4,
                                streaming: round % 2 == 0,
                                limits: CopyLimits::GPU,
                                helpers: Helpers::Pool(pool),
                            },
                        );
                        assert!(dst == src, "thread {t}, round {round}");
                    }
                });
            }
        });
        assert_eq!(pool.workers().len(), 3);
        drop(pool);
    }
}
