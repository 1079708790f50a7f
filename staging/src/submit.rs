//! [`Submitter`]: a small driver that runs a multi-submission upload on a queue the caller passes.
//!
//! The core of this crate only records. This helper is for the common case of "upload this now":
//! it records an upload into command buffers of its own, submits each with a timeline semaphore
//! signal, tells the ring which value each used, and waits for ring space only when the ring is
//! more than half full, so the host fills the next batch while the GPU copies the last.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use ash::vk;

use crate::error::{Error, Result};
use crate::ring::StagingRing;
use crate::timeline::Timeline;
use crate::upload::{Finished, Progress};

/// Command buffers and a timeline semaphore for driving uploads on one queue.
pub struct Submitter {
    device: ash::Device,
    queue: vk::Queue,
    pool: vk::CommandPool,
    timeline: Timeline,
    value: u64,
    free: Vec<vk::CommandBuffer>,
    in_flight: VecDeque<(vk::CommandBuffer, u64)>,
    queue_lock: Option<Arc<Mutex<()>>>,
}

impl std::fmt::Debug for Submitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submitter")
            .field("queue", &self.queue)
            .field("value", &self.value)
            .finish_non_exhaustive()
    }
}

impl Submitter {
    /// A driver for `queue`, of family `queue_family`.
    ///
    /// # Safety
    /// `queue` belongs to `device` and family `queue_family`; the device has timeline semaphores
    /// enabled (and synchronization2, for what the uploads record); nothing else submits to
    /// `queue` from another thread while this driver runs (Vulkan queues are externally
    /// synchronised), except while holding the lock given to [`Submitter::queue_lock`].
    pub unsafe fn new(device: &ash::Device, queue: vk::Queue, queue_family: u32) -> Result<Self> {
        let pool_info = vk::CommandPoolCreateInfo::default()
            .flags(
                vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER
                    | vk::CommandPoolCreateFlags::TRANSIENT,
            )
            .queue_family_index(queue_family);
        // SAFETY: valid device (this function's contract).
        let pool = unsafe { device.create_command_pool(&pool_info, None) }?;
        // SAFETY: valid device with timeline semaphores (this function's contract); the driver
        // destroys the timeline before the device can go.
        let timeline = match unsafe { Timeline::new(device) } {
            Ok(semaphore) => semaphore,
            Err(err) => {
                // SAFETY: the pool was just created and holds nothing in use.
                unsafe { device.destroy_command_pool(pool, None) };
                return Err(err);
            }
        };
        Ok(Self {
            device: device.clone(),
            queue,
            pool,
            timeline,
            value: 0,
            free: Vec::new(),
            in_flight: VecDeque::new(),
            queue_lock: None,
        })
    }

    /// Shares the queue with other threads: every submission of this driver holds `lock`, and
    /// so must every other submission or present on the queue (a render thread, say, while this
    /// driver uploads from a loader thread). The lock is held only around `vkQueueSubmit`.
    pub fn queue_lock(mut self, lock: Arc<Mutex<()>>) -> Self {
        self.queue_lock = Some(lock);
        self
    }

    /// The timeline each submission signals: the one to tie a readback to (with
    /// [`Submitter::last_value`] once the run returned), or to wait on from another queue.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The value the last submission signals.
    pub fn last_value(&self) -> u64 {
        self.value
    }

    fn wait(&self, value: u64) -> Result<()> {
        self.timeline.wait(value, u64::MAX)?;
        Ok(())
    }

    fn recycle(&mut self, completed: u64) {
        while let Some(&(cmd, value)) = self.in_flight.front() {
            if value > completed {
                break;
            }
            self.in_flight.pop_front();
            self.free.push(cmd);
        }
    }

    fn command_buffer(&mut self) -> Result<vk::CommandBuffer> {
        if let Some(cmd) = self.free.pop() {
            return Ok(cmd);
        }
        let info = vk::CommandBufferAllocateInfo::default()
            .command_pool(self.pool)
            .level(vk::CommandBufferLevel::PRIMARY)
            .command_buffer_count(1);
        // SAFETY: the pool is this driver's own.
        let cmds = unsafe { self.device.allocate_command_buffers(&info) }?;
        Ok(cmds[0])
    }

    /// Records with `record` into fresh command buffers, submitting each, until it reports
    /// [`Progress::Done`]; waits for the last submission and returns what it finished with.
    ///
    /// A call that stages nothing (the ring has no room for the next piece) is not submitted:
    /// the driver waits for the oldest submission still holding ring space and records again
    /// into the same command buffer. Only when nothing holds space and the call still stages
    /// nothing does it give up, with [`Error::NoProgress`](crate::Error::NoProgress).
    ///
    /// # Safety
    /// What `record` records is valid on this queue (its own `# Safety` duties are the caller's),
    /// and every resource it uses stays alive until this call returns. `record` stages through
    /// `ring` whatever it records (a call that stages nothing records nothing), and the spans of
    /// `ring` handed out and not yet [`submitted`](StagingRing::submitted) when this is called
    /// are read by nothing but what `record` records (this driver names its own submissions as
    /// the readers of every pending span).
    pub unsafe fn run(
        &mut self,
        ring: &mut StagingRing,
        mut record: impl FnMut(vk::CommandBuffer, &mut StagingRing) -> Result<Progress>,
    ) -> Result<Finished> {
        loop {
            let completed = self.timeline.completed()?;
            // Also refuses, before anything is submitted, a ring whose outstanding space another
            // timeline names (marking it after the submission could not fail then).
            ring.reclaim(&self.timeline)?;
            self.recycle(completed);
            // Refused before anything is recorded, not after the submission: the ring must
            // learn which value reads its spans, or they would stay writable while the GPU reads
            // them (waiting below only ever takes groups off the ring).
            ring.check_submitted(&self.timeline, self.value + 1)?;
            let cmd = self.command_buffer()?;
            let progress = match self.record_until_staged(cmd, ring, &mut record) {
                Ok(progress) => progress,
                Err(err) => {
                    // Begun but never submitted: idle, and reusable.
                    self.free.push(cmd);
                    return Err(err);
                }
            };
            // SAFETY: `cmd` holds what `record` recorded, valid on this queue (this function's
            // contract), and is executable.
            unsafe { self.submit_cmd(cmd) }?;
            // SAFETY: the submission just made signals `self.value` on this timeline once it
            // completes, and it holds every read of the ring's pending spans: what `record`
            // recorded into `cmd` (this function's contract).
            unsafe { ring.submitted(&self.timeline, self.value) }?;
            if let Progress::Done(finished) = progress {
                self.wait(self.value)?;
                ring.reclaim(&self.timeline)?;
                self.recycle(self.value);
                return Ok(finished);
            }
            // Keep the GPU busy with what is submitted while the host fills the other half of
            // the ring; wait only when the ring is more than half full.
            while ring.in_use() > ring.capacity() / 2 {
                let Some(oldest) = ring.oldest_value() else {
                    break;
                };
                self.wait(oldest)?;
                ring.reclaim(&self.timeline)?;
            }
        }
    }

    /// Submits `cmd` signalling the next timeline value, and counts it in flight.
    ///
    /// # Safety
    /// `cmd` is executable on this queue, and what it uses stays alive until its value passes.
    unsafe fn submit_cmd(&mut self, cmd: vk::CommandBuffer) -> Result<u64> {
        let value = self.value + 1;
        // vkQueueSubmit with a VkTimelineSemaphoreSubmitInfo, not vkQueueSubmit2: the same
        // submission through vkQueueSubmit2 makes GPU-assisted validation in the layers up to
        // at least 1.3.239 (Debian 12's) time out in its semaphore tracking
        // ("UNASSIGNED-VkSemaphore-state-timeout ... most likely a validation bug"), stalling
        // every wait for seconds; through vkQueueSubmit it runs clean. Measured on lavapipe
        // with a bare submit/wait loop outside this crate, so the layer, not the crate, is
        // at fault (reported upstream as KhronosGroup/Vulkan-ValidationLayers#4968, fixed by
        // #6079).
        let cmds = [cmd];
        let semaphores = [self.timeline.raw()];
        let values = [value];
        let mut timeline =
            vk::TimelineSemaphoreSubmitInfo::default().signal_semaphore_values(&values);
        let submit = [vk::SubmitInfo::default()
            .command_buffers(&cmds)
            .signal_semaphores(&semaphores)
            .push_next(&mut timeline)];
        let guard = self
            .queue_lock
            .as_ref()
            .map(|lock| lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        // SAFETY: the queue is this driver's to submit to, or shared under `guard`
        // (constructor contract); the command buffer is executable and stays untouched until
        // its value passes.
        let submitted = unsafe {
            self.device
                .queue_submit(self.queue, &submit, vk::Fence::null())
        };
        drop(guard);
        submitted?;
        self.value = value;
        self.in_flight.push_back((cmd, value));
        Ok(value)
    }

    /// Records `record` into a command buffer of its own, submits it and waits for it: for work
    /// that stages nothing (an ownership acquire, a layout change, a clear), where [`run`]
    /// would need a made-up [`Finished`]. Returns the timeline value the submission signalled
    /// (to tie a readback to, say).
    ///
    /// # Safety
    /// What `record` records is valid on this queue, and every resource it uses stays alive
    /// until this call returns.
    ///
    /// [`run`]: Submitter::run
    pub unsafe fn submit(
        &mut self,
        record: impl FnOnce(vk::CommandBuffer) -> Result<()>,
    ) -> Result<u64> {
        let completed = self.timeline.completed()?;
        self.recycle(completed);
        let cmd = self.command_buffer()?;
        let begin = vk::CommandBufferBeginInfo::default()
            .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT);
        // SAFETY: the command buffer is idle (fresh, or recycled after its value passed).
        let recorded = unsafe { self.device.begin_command_buffer(cmd, &begin) }
            .map_err(Error::from)
            .and_then(|()| record(cmd))
            // SAFETY: recording (begun above).
            .and_then(|()| Ok(unsafe { self.device.end_command_buffer(cmd) }?));
        if let Err(err) = recorded {
            // Never submitted: idle, and reusable (begin resets it).
            self.free.push(cmd);
            return Err(err);
        }
        // SAFETY: `cmd` holds what `record` recorded, valid on this queue (this function's
        // contract).
        let value = unsafe { self.submit_cmd(cmd) }?;
        self.wait(value)?;
        self.recycle(value);
        Ok(value)
    }

    /// Waits until every submission so far has completed (after an error, say, before destroying
    /// what the failed upload used).
    pub fn wait_idle(&mut self) -> Result<()> {
        self.wait(self.value)?;
        self.recycle(self.value);
        Ok(())
    }

    /// Records into `cmd` until the recording is done or has staged something, waiting for ring
    /// space in between (an empty buffer is never submitted).
    fn record_until_staged(
        &mut self,
        cmd: vk::CommandBuffer,
        ring: &mut StagingRing,
        record: &mut impl FnMut(vk::CommandBuffer, &mut StagingRing) -> Result<Progress>,
    ) -> Result<Progress> {
        let begin = vk::CommandBufferBeginInfo::default()
            .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT);
        loop {
            // SAFETY: the command buffer is idle (fresh, recycled after its value passed, or
            // begun and never submitted) and its pool allows individual resets, which begin
            // performs.
            unsafe { self.device.begin_command_buffer(cmd, &begin) }?;
            let progress = record(cmd, ring);
            // SAFETY: the command buffer is recording.
            let ended = unsafe { self.device.end_command_buffer(cmd) };
            let progress = progress?;
            ended?;
            if matches!(progress, Progress::Done(_)) || ring.has_pending() {
                return Ok(progress);
            }
            // Nothing staged: wait for ring space rather than submit an empty buffer.
            let oldest = ring.oldest_value().ok_or(Error::NoProgress)?;
            self.wait(oldest)?;
            ring.reclaim(&self.timeline)?;
            self.recycle(oldest);
        }
    }

    /// Waits for every submission, then destroys the driver's objects.
    ///
    /// # Safety
    /// The device is still alive.
    pub unsafe fn destroy(self) -> Result<()> {
        let waited = self.wait(self.value);
        // SAFETY: every submission has completed (or waiting failed, in which case the device is
        // lost and destroying is all that is left to do).
        unsafe {
            self.timeline.destroy();
            self.device.destroy_command_pool(self.pool, None);
        }
        waited
    }
}
