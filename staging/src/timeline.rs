//! [`Timeline`]: a timeline semaphore this crate can read, so that what depends on the GPU being
//! done checks it instead of taking the caller's word.
//!
//! The staging ring frees space, and a readback hands out bytes, only once the timeline's counter
//! (read from the device, never from the caller) has reached the value the work that uses them
//! signals. The caller still signals the timeline from its own submissions, naming
//! [`Timeline::raw`] and a value in `VkTimelineSemaphoreSubmitInfo`: that is `unsafe` code of the
//! caller's, which is where the promise "this value is signalled after that work" is made (see
//! [`StagingRing::submitted`](crate::StagingRing::submitted)).

use std::sync::atomic::{AtomicU64, Ordering};

use ash::vk;

use crate::error::Result;

/// Identifies timelines, so a ring or readback tied to one refuses another.
static NEXT_TIMELINE_ID: AtomicU64 = AtomicU64::new(1);

/// A timeline semaphore of one device. Not `Clone`: destroyed once, by [`Timeline::destroy`].
#[must_use = "a timeline that is dropped leaks its semaphore: destroy it"]
pub struct Timeline {
    device: ash::Device,
    raw: vk::Semaphore,
    id: u64,
}

impl std::fmt::Debug for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeline")
            .field("raw", &self.raw)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Timeline {
    /// Creates a timeline semaphore at value 0.
    ///
    /// # Safety
    /// `device` is a live device with the `timelineSemaphore` feature enabled, and outlives the
    /// timeline.
    pub unsafe fn new(device: &ash::Device) -> Result<Self> {
        let mut timeline_info = vk::SemaphoreTypeCreateInfo::default()
            .semaphore_type(vk::SemaphoreType::TIMELINE)
            .initial_value(0);
        let info = vk::SemaphoreCreateInfo::default().push_next(&mut timeline_info);
        // SAFETY: a live device with timeline semaphores (this function's contract).
        let raw = unsafe { device.create_semaphore(&info, None) }?;
        Ok(Self {
            device: device.clone(),
            raw,
            id: NEXT_TIMELINE_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The `VkSemaphore`, for the caller's submissions to signal and wait on.
    pub fn raw(&self) -> vk::Semaphore {
        self.raw
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The counter's current value (`vkGetSemaphoreCounterValue`).
    pub fn completed(&self) -> Result<u64> {
        // SAFETY: the semaphore is alive while `self` is (`destroy` consumes it) and belongs to
        // `device`; reading the counter needs no external synchronisation.
        Ok(unsafe { self.device.get_semaphore_counter_value(self.raw) }?)
    }

    /// Waits up to `timeout_ns` for the counter to reach `value`; `Ok(false)` on a timeout.
    pub fn wait(&self, value: u64, timeout_ns: u64) -> Result<bool> {
        let semaphores = [self.raw];
        let values = [value];
        let info = vk::SemaphoreWaitInfo::default()
            .semaphores(&semaphores)
            .values(&values);
        // SAFETY: a live semaphore of `device` (as in `completed`).
        match unsafe { self.device.wait_semaphores(&info, timeout_ns) } {
            Ok(()) => Ok(true),
            Err(vk::Result::TIMEOUT) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Destroys the semaphore.
    ///
    /// # Safety
    /// No pending submission signals or waits on it.
    pub unsafe fn destroy(self) {
        // SAFETY: forwarded from this function's contract.
        unsafe { self.device.destroy_semaphore(self.raw, None) };
    }
}
