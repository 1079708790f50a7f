//! [`Stager`]: the device facts uploads need, and how host copies into staging memory run.

use std::sync::Arc;

use ash::vk;
use vkup_allocator::Allocator;

use super::Ownership;
use crate::access::ResourceState;
use crate::check;
use crate::error::{Error, Result, StateRole};
use crate::fill::{self, CopyExecutor, CopyLimits, CopyMode, CopyPool, Helpers};
use crate::host_copy::HostImageCopier;
use crate::plan::CopyAlignment;

/// Device facts uploads need, and how host copies into staging memory are run. Cheap to clone;
/// clones share the copy threads and hold no other state.
///
/// A stager starts no thread unless told to: by default host copies run on the calling thread
/// (with streaming stores for large ones). [`Stager::threads`] gives it a pool of its own
/// (started on the first copy large enough to spread over it, idle between copies, ended when
/// the last clone is dropped); [`Stager::executor`] hands large copies to the caller's job
/// system instead.
#[derive(Clone)]
pub struct Stager {
    device: ash::Device,
    align: CopyAlignment,
    streaming: bool,
    limits: CopyLimits,
    pool: Arc<CopyPool>,
    executor: Option<Arc<dyn CopyExecutor>>,
    queue_families: u32,
    family: Option<u32>,
    host_copier: Option<Arc<HostImageCopier>>,
}

impl std::fmt::Debug for Stager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stager")
            .field("align", &self.align)
            .field("threads", &self.copy_threads())
            .field("streaming", &self.streaming)
            .field("host_image_copy", &self.host_copier.is_some())
            .finish_non_exhaustive()
    }
}

impl Stager {
    /// A stager for the device `allocator` creates resources on; it reads the copy alignments and
    /// the queue families (states naming a family the device lacks are refused). Host copies run
    /// on the calling thread until [`Stager::threads`] or [`Stager::executor`] says otherwise.
    pub fn new(allocator: &Allocator) -> Self {
        let (instance, physical_device) = (allocator.instance(), allocator.physical_device());
        // SAFETY: an allocator's physical device belongs to its instance (its constructor's
        // contract).
        let properties = unsafe { instance.get_physical_device_properties(physical_device) };
        let limits = properties.limits;
        // SAFETY: as above.
        let queue_families = unsafe { check::queue_family_count(instance, physical_device) };
        Self {
            device: allocator.device().clone(),
            align: CopyAlignment::from_limits(&limits),
            streaming: true,
            limits: if properties.device_type == vk::PhysicalDeviceType::CPU {
                CopyLimits::CPU
            } else {
                CopyLimits::GPU
            },
            pool: Arc::new(CopyPool::new(0)),
            executor: None,
            queue_families,
            family: None,
            host_copier: None,
        }
    }

    /// The number of queue families of the device.
    pub fn queue_families(&self) -> u32 {
        self.queue_families
    }

    /// Says which queue family the command buffers given to this stager record on. Uploads then
    /// take ownership of a resource another family owns before copying into it: its `from`
    /// state names that family, whose queue must already have executed the release, a barrier
    /// from `from` to the same access on `family` over the whole buffer, or over the image
    /// ranges the upload's states describe (`BarrierBatch::buffer` / `BarrierBatch::image` from
    /// `from` to `from.accesses` on `family` record exactly that release). Without it (the
    /// default) a recording is taken to run on the family of its `from` state, and `from` and
    /// `to` on different families mean a release at the end.
    pub fn recording_family(mut self, family: u32) -> Self {
        self.family = Some(family);
        self
    }

    /// Lets image uploads write through `copier` (`VK_EXT_host_image_copy`) instead of staging:
    /// an [`ImageUpload`](super::ImageUpload) on [`UploadPath::Direct`](super::UploadPath), or
    /// on `Auto` where [`UploadPath::Auto`](super::UploadPath::Auto) says the host copy wins,
    /// has the driver write the image on the host during the `record` call, recording nothing.
    /// Only images made with `HOST_TRANSFER` usage are written so (see
    /// [`HostImageCopier::optimal_device_access`] for where that usage costs nothing).
    pub fn host_image_copy(mut self, copier: HostImageCopier) -> Self {
        self.host_copier = Some(Arc::new(copier));
        self
    }

    /// The copier given by [`Stager::host_image_copy`].
    pub fn host_image_copier(&self) -> Option<&HostImageCopier> {
        self.host_copier.as_deref()
    }

    pub(crate) fn shared_host_copier(&self) -> Option<Arc<HostImageCopier>> {
        self.host_copier.clone()
    }

    /// The family set by [`Stager::recording_family`].
    pub fn family(&self) -> Option<u32> {
        self.family
    }

    /// What an upload from `from` must do on this stager's family before its first barrier:
    /// nothing (`Ok(None)`: `from` is local, unowned, or its contents are discarded) or an
    /// acquire to the returned local state. Refuses a family the device lacks.
    pub(crate) fn ownership_in(&self, from: ResourceState) -> Result<Ownership> {
        let Some(family) = self.family else {
            return Ok(Ownership::Local(from));
        };
        if family >= self.queue_families {
            return Err(Error::InvalidState {
                which: StateRole::RecordingFamily,
                reason: format!(
                    "records on queue family {family}; the device has {}",
                    self.queue_families
                ),
            });
        }
        let foreign = from.queue_family != vk::QUEUE_FAMILY_IGNORED && from.queue_family != family;
        Ok(if !foreign {
            Ownership::Local(from)
        } else if from.accesses.is_nothing() {
            // Discarded contents need no ownership transfer (Vulkan spec, "Queue Family
            // Ownership Transfer"): the resource is simply used on this family.
            Ownership::Local(from.on_queue(family))
        } else {
            Ownership::Acquire(from.on_queue(family))
        })
    }

    /// Refuses copies into a resource another family owns when this stager records elsewhere
    /// (the split `begin` / `record_copies` path, where the caller did not adopt it).
    pub(crate) fn check_owned(&self, from: ResourceState) -> Result<()> {
        match self.ownership_in(from)? {
            Ownership::Acquire(_) => Err(Error::InvalidState {
                which: StateRole::From,
                reason: format!(
                    "owned by queue family {} while this stager records on {:?}: call adopt \
                     before begin (record does), or the copies run on a family that does not \
                     own the resource",
                    from.queue_family, self.family
                ),
            }),
            Ownership::Local(_) => Ok(()),
        }
    }

    /// How many threads fill staging memory: 1 (the calling thread) by default, the pool's size
    /// after [`Stager::threads`], the executor's parallelism after [`Stager::executor`].
    pub fn copy_threads(&self) -> usize {
        self.executor
            .as_ref()
            .map_or_else(|| self.pool.threads(), |e| e.parallelism().max(1))
    }

    /// Gives the stager a pool of `threads` threads for large host copies, the calling one
    /// included (1 for none, the default). The pool starts on the first copy large enough to
    /// spread over it. Large uploads are bound by this fill: `BENCHMARKS.md` ("Staging fill")
    /// has what one thread, a pool and rayon reach on an H200 host. Replaces an executor.
    pub fn threads(mut self, threads: usize) -> Self {
        self.pool = Arc::new(CopyPool::new(threads.max(1) - 1));
        self.executor = None;
        self
    }

    /// Hands large host copies to `executor` (rayon, an engine's job system) instead of threads
    /// of the stager's own. Replaces a pool.
    pub fn executor(mut self, executor: Arc<dyn CopyExecutor>) -> Self {
        self.pool = Arc::new(CopyPool::new(0));
        self.executor = Some(executor);
        self
    }

    /// Whether large host copies into staging memory and mapped destinations use non-temporal
    /// stores, which write whole cache lines to memory without first reading them into the CPU's
    /// caches (on x86-64; plain stores elsewhere): from 1 MiB on GPUs, from 16 MiB on CPU
    /// devices, which read the bytes back through those caches. On by default; see
    /// `BENCHMARKS.md` for what they bring on an H200 host and on lavapipe.
    pub fn streaming_stores(mut self, on: bool) -> Self {
        self.streaming = on;
        self
    }

    /// Copies `src` into `dst` the way this stager fills staging memory (its threads, and
    /// streaming stores for large copies when on): for callers writing into mapped memory of
    /// their own. Refuses slices of different lengths.
    pub fn copy(&self, src: &[u8], dst: &mut [u8]) -> Result<()> {
        if src.len() != dst.len() {
            return Err(Error::invalid(
                "dst",
                format!("{} bytes cannot hold a {}-byte copy", dst.len(), src.len()),
            ));
        }
        fill::copy(src, dst, self.copy_mode());
        Ok(())
    }

    /// The stager's own copy threads, where it has them (not with an executor).
    pub(crate) fn pool(&self) -> Option<&CopyPool> {
        self.executor.is_none().then_some(&*self.pool)
    }

    pub(crate) fn copy_mode(&self) -> CopyMode<'_> {
        CopyMode {
            threads: self.copy_threads(),
            streaming: self.streaming,
            limits: self.limits,
            helpers: match &self.executor {
                Some(executor) => Helpers::Executor(executor.as_ref()),
                None => Helpers::Pool(&self.pool),
            },
        }
    }

    /// The device recorded on.
    pub fn device(&self) -> &ash::Device {
        &self.device
    }

    /// The copy alignments in force.
    pub fn alignment(&self) -> CopyAlignment {
        self.align
    }
}
