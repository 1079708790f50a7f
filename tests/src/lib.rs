//! The headless test harness shared by every integration test and benchmark.
//!
//! [`Gpu::new`] makes an instance and a device on whatever Vulkan device exists (lavapipe in CI)
//! with `VK_LAYER_KHRONOS_validation` and its synchronization validation on. Each `Gpu` has its own
//! debug messenger whose user data points at that `Gpu`'s message list, so tests running as
//! threads of one process each collect only their own messages. Any warning or error fails the
//! test when the `Gpu` is dropped. No device, loader or layer means a loud failure, never a skip.
//!
//! Teardown order, written once here: the test drops what it made (allocations, then the
//! allocator) before the `Gpu`, whose `Drop` waits idle and destroys device, messenger and
//! instance, in that order.

use std::ffi::{c_void, CStr};
use std::sync::Mutex;

use ash::vk;

/// Validation messages that are known false positives, silenced by VUID. Each entry says why.
const IGNORED_VUIDS: &[&str] = &[];

/// Messages collected by one `Gpu`'s messenger.
#[derive(Default)]
struct Messages(Mutex<Vec<String>>);

/// How a [`Gpu`] is made.
#[derive(Clone, Copy, Debug)]
pub struct GpuOptions {
    /// Enable the validation layer with synchronization validation (tests); off for benchmarks.
    pub validation: bool,
    /// Enable `VK_EXT_debug_utils` on the instance (implied by `validation`).
    pub debug_utils: bool,
    /// Enable `VK_KHR_pipeline_executable_properties` where the device has it, so a benchmark
    /// can read a pipeline's compiled statistics (registers, shared memory).
    pub pipeline_statistics: bool,
    /// Enable `VK_EXT_host_image_copy` with its feature where the device has it (off for the
    /// suite: validation layers older than the extension report its structures as unknown).
    pub host_image_copy: bool,
}

/// An instance, a device with one graphics+compute queue, and the validation messages they caused.
pub struct Gpu {
    pub entry: ash::Entry,
    pub instance: ash::Instance,
    pub physical_device: vk::PhysicalDevice,
    pub device: ash::Device,
    pub queue: vk::Queue,
    pub queue_family: u32,
    /// A queue of a transfer family without graphics, where the device has one (GPUs; lavapipe
    /// has a single family): `(family, queue)`.
    pub transfer: Option<(u32, vk::Queue)>,
    pub api_version: u32,
    pub properties: vk::PhysicalDeviceProperties,
    /// Whether `VK_KHR_pipeline_executable_properties` was enabled.
    pub pipeline_statistics: bool,
    /// Whether `VK_EXT_memory_budget` was enabled.
    pub memory_budget: bool,
    /// Whether `VK_EXT_external_memory_host` was enabled (lavapipe and the H200 have it).
    pub external_memory_host: bool,
    /// Whether `VK_EXT_host_image_copy` was enabled with its feature (the H200 has it; lavapipe
    /// 22.3 does not).
    pub host_image_copy: bool,
    debug_utils: bool,
    debug: Option<(ash::ext::debug_utils::Instance, vk::DebugUtilsMessengerEXT)>,
    messages: Box<Messages>,
    /// Signalled by every [`Gpu::submit_and_wait`], with the value it returns.
    timeline: Option<vkup_staging::Timeline>,
    timeline_value: std::sync::atomic::AtomicU64,
}

unsafe extern "system" fn on_message(
    severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    _types: vk::DebugUtilsMessageTypeFlagsEXT,
    data: *const vk::DebugUtilsMessengerCallbackDataEXT<'_>,
    user_data: *mut c_void,
) -> vk::Bool32 {
    // Never panic here: unwinding across the FFI boundary aborts the whole test process.
    if data.is_null() || user_data.is_null() {
        return vk::FALSE;
    }
    // SAFETY: the layer passes a valid callback-data struct for the duration of the call.
    let data = unsafe { &*data };
    // SAFETY: the strings are NUL-terminated and valid for the duration of the call, or null.
    let id = unsafe { data.message_id_name_as_c_str() }
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if IGNORED_VUIDS.contains(&id.as_str()) {
        return vk::FALSE;
    }
    // SAFETY: as above.
    let text = unsafe { data.message_as_c_str() }
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    // SAFETY: `user_data` is the `Messages` boxed inside the `Gpu` that owns this messenger; the
    // box outlives the messenger (destroyed first in `Drop`).
    let messages = unsafe { &*user_data.cast::<Messages>() };
    if let Ok(mut list) = messages.0.lock() {
        list.push(format!("[{severity:?}] {id}: {text}"));
    }
    vk::FALSE
}

/// The Vulkan header version the installed validation layer was built against
/// (`VkLayerProperties::specVersion`), `None` without the layer.
pub fn validation_layer_version() -> Option<u32> {
    // SAFETY: loading the system's Vulkan loader, as `Gpu::with_options` does.
    let entry = unsafe { ash::Entry::load() }.ok()?;
    // SAFETY: plain enumeration call on a loaded entry.
    unsafe { entry.enumerate_instance_layer_properties() }
        .ok()?
        .iter()
        .find(|l| l.layer_name_as_c_str() == Ok(VALIDATION_LAYER))
        .map(|l| l.spec_version)
}

fn has_layer(entry: &ash::Entry, name: &CStr) -> bool {
    // SAFETY: plain enumeration call on a loaded entry.
    unsafe { entry.enumerate_instance_layer_properties() }
        .unwrap_or_default()
        .iter()
        .any(|l| l.layer_name_as_c_str() == Ok(name))
}

fn messenger_info(user_data: *mut c_void) -> vk::DebugUtilsMessengerCreateInfoEXT<'static> {
    vk::DebugUtilsMessengerCreateInfoEXT::default()
        .message_severity(
            vk::DebugUtilsMessageSeverityFlagsEXT::WARNING
                | vk::DebugUtilsMessageSeverityFlagsEXT::ERROR,
        )
        .message_type(
            vk::DebugUtilsMessageTypeFlagsEXT::GENERAL
                | vk::DebugUtilsMessageTypeFlagsEXT::VALIDATION
                | vk::DebugUtilsMessageTypeFlagsEXT::PERFORMANCE,
        )
        .pfn_user_callback(Some(on_message))
        .user_data(user_data)
}

const VALIDATION_LAYER: &CStr = c"VK_LAYER_KHRONOS_validation";

impl Gpu {
    /// A device with validation and synchronization validation on. Panics with the fix when
    /// there is no loader, no validation layer or no device.
    pub fn new() -> Self {
        Self::with_options(GpuOptions {
            validation: true,
            debug_utils: true,
            pipeline_statistics: false,
            host_image_copy: false,
        })
    }

    /// A device without validation, for benchmarks.
    pub fn without_validation() -> Self {
        Self::with_options(GpuOptions {
            validation: false,
            debug_utils: true,
            pipeline_statistics: true,
            host_image_copy: true,
        })
    }

    /// A device made with `options`.
    pub fn with_options(options: GpuOptions) -> Self {
        // SAFETY: loading the system's Vulkan loader; nothing else is loaded concurrently that
        // would conflict with it.
        let entry = unsafe { ash::Entry::load() }.unwrap_or_else(|err| {
            panic!("no Vulkan loader ({err}): install it with `apt-get install libvulkan1 mesa-vulkan-drivers`")
        });
        if options.validation && !has_layer(&entry, VALIDATION_LAYER) {
            panic!(
                "VK_LAYER_KHRONOS_validation is missing: `apt-get install vulkan-validationlayers`"
            );
        }
        let messages = Box::<Messages>::default();
        let api_version = vk::API_VERSION_1_3;
        let app = vk::ApplicationInfo::default()
            .application_name(c"gpu-tests")
            .api_version(api_version);
        let layers = [VALIDATION_LAYER.as_ptr()];
        let mut extensions = Vec::new();
        if options.validation || options.debug_utils {
            extensions.push(ash::ext::debug_utils::NAME.as_ptr());
        }
        if options.validation {
            extensions.push(ash::ext::validation_features::NAME.as_ptr());
        }
        // GPU_TESTS_GPU_AV=1 adds GPU-assisted validation (shader-side checks), slow on lavapipe.
        let mut enabled = vec![vk::ValidationFeatureEnableEXT::SYNCHRONIZATION_VALIDATION];
        if std::env::var_os("GPU_TESTS_GPU_AV").is_some_and(|v| v == "1") {
            enabled.push(vk::ValidationFeatureEnableEXT::GPU_ASSISTED);
        }
        let mut features =
            vk::ValidationFeaturesEXT::default().enabled_validation_features(&enabled);
        let user_data: *mut c_void = (&*messages as *const Messages).cast_mut().cast();
        let mut chained_messenger = messenger_info(user_data);
        let mut info = vk::InstanceCreateInfo::default()
            .application_info(&app)
            .enabled_extension_names(&extensions);
        if options.validation {
            // Chained into instance creation so messages from vkCreate/DestroyInstance count too.
            info = info
                .enabled_layer_names(&layers)
                .push_next(&mut features)
                .push_next(&mut chained_messenger);
        }
        // SAFETY: every pointer in `info` refers to locals alive for the call.
        let instance = unsafe { entry.create_instance(&info, None) }
            .unwrap_or_else(|err| panic!("vkCreateInstance failed: {err}"));
        let debug = options.validation.then(|| {
            let loader = ash::ext::debug_utils::Instance::new(&entry, &instance);
            // A fresh create info: the one chained into instance creation now carries a pNext.
            let info = messenger_info(user_data);
            // SAFETY: valid instance with VK_EXT_debug_utils enabled; the user data outlives it.
            let messenger = unsafe { loader.create_debug_utils_messenger(&info, None) }
                .unwrap_or_else(|err| panic!("vkCreateDebugUtilsMessengerEXT failed: {err}"));
            (loader, messenger)
        });

        let (physical_device, properties) = pick_physical_device(&instance);
        let queue_family = graphics_queue_family(&instance, physical_device);
        // SAFETY: valid physical device of this instance.
        let device_extensions =
            unsafe { instance.enumerate_device_extension_properties(physical_device) }
                .unwrap_or_default();
        let memory_budget = device_extensions
            .iter()
            .any(|e| e.extension_name_as_c_str() == Ok(ash::ext::memory_budget::NAME));
        let mut enabled_extensions = Vec::new();
        if memory_budget {
            enabled_extensions.push(ash::ext::memory_budget::NAME.as_ptr());
        }
        let external_memory_host = device_extensions
            .iter()
            .any(|e| e.extension_name_as_c_str() == Ok(ash::ext::external_memory_host::NAME));
        if external_memory_host {
            enabled_extensions.push(ash::ext::external_memory_host::NAME.as_ptr());
        }
        let mut host_image_copy = options.host_image_copy
            && device_extensions
                .iter()
                .any(|e| e.extension_name_as_c_str() == Ok(ash::ext::host_image_copy::NAME));
        if host_image_copy {
            let mut supported = vk::PhysicalDeviceHostImageCopyFeaturesEXT::default();
            let mut features = vk::PhysicalDeviceFeatures2::default().push_next(&mut supported);
            // SAFETY: valid physical device; the extension is present, so its struct may be
            // chained.
            unsafe { instance.get_physical_device_features2(physical_device, &mut features) };
            host_image_copy = supported.host_image_copy == vk::TRUE;
        }
        if host_image_copy {
            enabled_extensions.push(ash::ext::host_image_copy::NAME.as_ptr());
        }
        let mut host_image_copy_features =
            vk::PhysicalDeviceHostImageCopyFeaturesEXT::default().host_image_copy(true);
        let pipeline_statistics = options.pipeline_statistics
            && device_extensions.iter().any(|e| {
                e.extension_name_as_c_str() == Ok(ash::khr::pipeline_executable_properties::NAME)
            });
        if pipeline_statistics {
            enabled_extensions.push(ash::khr::pipeline_executable_properties::NAME.as_ptr());
        }
        let mut executable_info =
            vk::PhysicalDevicePipelineExecutablePropertiesFeaturesKHR::default()
                .pipeline_executable_info(pipeline_statistics);

        let mut supported12 = vk::PhysicalDeviceVulkan12Features::default();
        let mut supported13 = vk::PhysicalDeviceVulkan13Features::default();
        let mut supported = vk::PhysicalDeviceFeatures2::default()
            .push_next(&mut supported12)
            .push_next(&mut supported13);
        // SAFETY: valid physical device; the chain holds 1.2 and 1.3 structs on a 1.3 device.
        unsafe { instance.get_physical_device_features2(physical_device, &mut supported) };
        assert!(
            supported13.synchronization2 == vk::TRUE && supported12.timeline_semaphore == vk::TRUE,
            "the device lacks synchronization2 or timeline semaphores"
        );
        let mut features12 = vk::PhysicalDeviceVulkan12Features::default()
            .timeline_semaphore(true)
            .buffer_device_address(supported12.buffer_device_address == vk::TRUE);
        // Only what the crates document as required: a feature enabled here but not by a user
        // would hide a dependency on it (maintenance4 once hid the downsampler's LocalSizeId).
        let mut features13 = vk::PhysicalDeviceVulkan13Features::default().synchronization2(true);
        let priorities = [1.0];
        let transfer_family = transfer_queue_family(&instance, physical_device);
        let mut queue_info = vec![vk::DeviceQueueCreateInfo::default()
            .queue_family_index(queue_family)
            .queue_priorities(&priorities)];
        if let Some(family) = transfer_family {
            queue_info.push(
                vk::DeviceQueueCreateInfo::default()
                    .queue_family_index(family)
                    .queue_priorities(&priorities),
            );
        }
        let mut device_info = vk::DeviceCreateInfo::default()
            .queue_create_infos(&queue_info)
            .enabled_extension_names(&enabled_extensions)
            .push_next(&mut features12)
            .push_next(&mut features13);
        // Chained only with its extension: the layer reports a feature struct of an extension
        // that is not enabled.
        if pipeline_statistics {
            device_info = device_info.push_next(&mut executable_info);
        }
        if host_image_copy {
            device_info = device_info.push_next(&mut host_image_copy_features);
        }
        // SAFETY: every pointer in `device_info` refers to locals alive for the call.
        let device = unsafe { instance.create_device(physical_device, &device_info, None) }
            .unwrap_or_else(|err| panic!("vkCreateDevice failed: {err}"));
        // SAFETY: the family was requested with one queue.
        let queue = unsafe { device.get_device_queue(queue_family, 0) };
        // SAFETY: as above.
        let transfer = transfer_family.map(|f| (f, unsafe { device.get_device_queue(f, 0) }));
        // SAFETY: timeline semaphores are enabled (features12); destroyed in `Drop` before the
        // device.
        let timeline = unsafe { vkup_staging::Timeline::new(&device) }.expect("timeline semaphore");
        Self {
            entry,
            instance,
            physical_device,
            device,
            queue,
            queue_family,
            transfer,
            api_version,
            properties,
            memory_budget,
            external_memory_host,
            host_image_copy,
            pipeline_statistics,
            debug_utils: options.validation || options.debug_utils,
            debug,
            messages,
            timeline: Some(timeline),
            timeline_value: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The timeline [`Gpu::submit_and_wait`] signals.
    pub fn timeline(&self) -> &vkup_staging::Timeline {
        self.timeline
            .as_ref()
            .expect("the timeline lives until drop")
    }

    /// The description of an allocator on this device: debug names on, buffer device address on,
    /// and the memory budget, external memory host and host image copy extensions where the
    /// device has them (`HOST_TRANSFER` image usage accepted with the last).
    pub fn allocator_desc(&self) -> vkup_allocator::AllocatorDesc<'_> {
        let desc =
            vkup_allocator::AllocatorDesc::new(&self.instance, self.physical_device, &self.device)
                .api_version(self.api_version);
        let desc = if self.debug_utils {
            desc.debug_names(&self.entry)
        } else {
            desc
        };
        let host_transfer = if self.host_image_copy {
            vk::ImageUsageFlags::HOST_TRANSFER_EXT
        } else {
            vk::ImageUsageFlags::empty()
        };
        desc.memory_budget(self.memory_budget)
            .external_memory_host(self.external_memory_host)
            .extra_usage(vk::BufferUsageFlags::empty(), host_transfer)
            .buffer_device_address(true)
    }

    /// An allocator made from [`Gpu::allocator_desc`].
    pub fn allocator(&self) -> vkup_allocator::Allocator {
        self.allocator_with(&self.allocator_desc())
    }

    /// An allocator made from `desc`, which must describe this `Gpu`.
    pub fn allocator_with(
        &self,
        desc: &vkup_allocator::AllocatorDesc<'_>,
    ) -> vkup_allocator::Allocator {
        // SAFETY: the handles are this Gpu's, which outlives allocators in every test (dropped
        // first); the options match how the device was created.
        unsafe { vkup_allocator::Allocator::new(desc) }.expect("allocator creation")
    }

    /// A stager for `allocator`'s device with a pool of copy threads (up to 8, the calling one
    /// included: what the benchmark measures as "the pool"), so that tests cover the spread copies
    /// too.
    pub fn stager(&self, allocator: &vkup_allocator::Allocator) -> vkup_staging::Stager {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        vkup_staging::Stager::new(allocator).threads(cores.min(8))
    }

    /// Mip generation pipelines for `allocator`'s device.
    pub fn mip_generator(
        &self,
        allocator: &vkup_allocator::Allocator,
    ) -> vkup_staging::MipGenerator {
        // SAFETY: this Gpu's instance and device, which outlive the generator in every test.
        unsafe { vkup_staging::MipGenerator::new(allocator) }.expect("mip generator")
    }

    /// A multi-submission driver on this Gpu's queue.
    pub fn submitter(&self) -> vkup_staging::Submitter {
        // SAFETY: the queue is this Gpu's, of `queue_family`; timeline semaphores and
        // synchronization2 are enabled; each test drives its queue from one thread.
        unsafe { vkup_staging::Submitter::new(&self.device, self.queue, self.queue_family) }
            .expect("submitter")
    }

    /// A multi-submission driver on the transfer queue, where there is one.
    pub fn transfer_submitter(&self) -> Option<vkup_staging::Submitter> {
        let (family, queue) = self.transfer?;
        // SAFETY: as for `submitter`, on the transfer queue of `family`.
        Some(
            unsafe { vkup_staging::Submitter::new(&self.device, queue, family) }
                .expect("submitter"),
        )
    }

    /// Records commands with `record`, submits them on the queue and waits for them to finish;
    /// the submission signals the returned value on [`Gpu::timeline`].
    pub fn submit_and_wait(&self, record: impl FnOnce(vk::CommandBuffer)) -> u64 {
        let value = 1 + self
            .timeline_value
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pool_info = vk::CommandPoolCreateInfo::default()
            .flags(vk::CommandPoolCreateFlags::TRANSIENT)
            .queue_family_index(self.queue_family);
        // SAFETY: valid device; every object made here is destroyed before returning, after the
        // timeline says the GPU is done with it.
        unsafe {
            let pool = self
                .device
                .create_command_pool(&pool_info, None)
                .expect("command pool");
            let alloc = vk::CommandBufferAllocateInfo::default()
                .command_pool(pool)
                .level(vk::CommandBufferLevel::PRIMARY)
                .command_buffer_count(1);
            let cmd = self
                .device
                .allocate_command_buffers(&alloc)
                .expect("command buffer")[0];
            let begin = vk::CommandBufferBeginInfo::default()
                .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT);
            self.device
                .begin_command_buffer(cmd, &begin)
                .expect("begin");
            record(cmd);
            self.device.end_command_buffer(cmd).expect("end");
            // vkQueueSubmit, not vkQueueSubmit2, with the timeline: see `vkup_staging::Submitter`.
            // The wait is on the timeline itself: lavapipe (Mesa 22.3) may signal a fence of the
            // same submission before the semaphore's counter moves.
            let cmds = [cmd];
            let semaphores = [self.timeline().raw()];
            let values = [value];
            let mut timeline =
                vk::TimelineSemaphoreSubmitInfo::default().signal_semaphore_values(&values);
            let submit = [vk::SubmitInfo::default()
                .command_buffers(&cmds)
                .signal_semaphores(&semaphores)
                .push_next(&mut timeline)];
            self.device
                .queue_submit(self.queue, &submit, vk::Fence::null())
                .expect("submit");
            assert!(
                self.timeline().wait(value, u64::MAX).expect("wait"),
                "the submission completes"
            );
            self.device.destroy_command_pool(pool, None);
        }
        value
    }

    /// Validation messages so far, removing them: for tests that provoke a message on purpose.
    pub fn take_messages(&self) -> Vec<String> {
        self.messages
            .0
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }

    /// Validation messages so far, leaving them in place.
    pub fn messages(&self) -> Vec<String> {
        self.messages
            .0
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// The device name, for benchmark output.
    pub fn device_name(&self) -> String {
        self.properties
            .device_name_as_c_str()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Records one command buffer's share of `uploads` recorded together: with `first`, their
/// opening barriers, then the next copies of every unfinished one
/// (`ImageUpload::record_copies_together`) and the closing barriers of those that finish.
/// Answers the index and progress of each upload it recorded.
///
/// # Safety
/// As for `ImageUpload::record_copies_together`; `cmd` holds or follows (in submission order)
/// the command buffer recorded with `first`.
pub unsafe fn record_together(
    cmd: vk::CommandBuffer,
    stager: &vkup_staging::Stager,
    alloc: &vkup_allocator::Allocator,
    ring: &mut vkup_staging::StagingRing,
    uploads: &mut [&mut vkup_staging::ImageUpload<'_>],
    first: bool,
) -> vkup_staging::Result<Vec<(usize, vkup_staging::Progress)>> {
    use vkup_staging::{BarrierBatch, ImageUpload};
    if first {
        let mut pre = BarrierBatch::new();
        for upload in uploads.iter_mut() {
            upload.begin(&mut pre)?;
        }
        // SAFETY: `cmd` is recording (this function's contract), before every copy of the run.
        unsafe { pre.record(cmd, stager.device()) };
    }
    let (index, mut open): (Vec<usize>, Vec<&mut ImageUpload<'_>>) = uploads
        .iter_mut()
        .enumerate()
        .filter(|(_, u)| !u.is_finished())
        .map(|(i, u)| (i, &mut **u))
        .unzip();
    let mut post = BarrierBatch::new();
    // SAFETY: forwarded from this function's contract; the opening barriers went into this or
    // an earlier command buffer, before these copies.
    let progress = unsafe {
        ImageUpload::record_copies_together(cmd, stager, alloc, ring, &mut open, &mut post)?
    };
    // SAFETY: `cmd` is recording, after the copies these barriers close.
    unsafe { post.record(cmd, stager.device()) };
    Ok(index.into_iter().zip(progress).collect())
}

impl Default for Gpu {
    fn default() -> Self {
        Self::new()
    }
}

fn pick_physical_device(
    instance: &ash::Instance,
) -> (vk::PhysicalDevice, vk::PhysicalDeviceProperties) {
    // SAFETY: valid instance.
    let devices = unsafe { instance.enumerate_physical_devices() }.unwrap_or_default();
    let rank = |t: vk::PhysicalDeviceType| match t {
        vk::PhysicalDeviceType::DISCRETE_GPU => 0,
        vk::PhysicalDeviceType::INTEGRATED_GPU => 1,
        vk::PhysicalDeviceType::VIRTUAL_GPU => 2,
        vk::PhysicalDeviceType::CPU => 3,
        _ => 4,
    };
    devices
        .into_iter()
        .map(|d| {
            // SAFETY: `d` was just enumerated from this instance.
            (d, unsafe { instance.get_physical_device_properties(d) })
        })
        .filter(|(_, p)| p.api_version >= vk::API_VERSION_1_3)
        .min_by_key(|(_, p)| rank(p.device_type))
        .unwrap_or_else(|| {
            panic!(
                "no Vulkan 1.3 device found: install lavapipe with `apt-get install mesa-vulkan-drivers` \
                 (tests never skip for want of a device)"
            )
        })
}

fn graphics_queue_family(instance: &ash::Instance, physical_device: vk::PhysicalDevice) -> u32 {
    // SAFETY: valid physical device.
    let families = unsafe { instance.get_physical_device_queue_family_properties(physical_device) };
    let wanted = vk::QueueFlags::GRAPHICS | vk::QueueFlags::COMPUTE;
    families
        .iter()
        .position(|f| f.queue_flags.contains(wanted))
        .map(|i| i as u32)
        .expect("the device has no graphics+compute queue family")
}

fn transfer_queue_family(
    instance: &ash::Instance,
    physical_device: vk::PhysicalDevice,
) -> Option<u32> {
    // SAFETY: valid physical device.
    let families = unsafe { instance.get_physical_device_queue_family_properties(physical_device) };
    families
        .iter()
        .position(|f| {
            f.queue_flags.contains(vk::QueueFlags::TRANSFER)
                && !f.queue_flags.contains(vk::QueueFlags::GRAPHICS)
        })
        .map(|i| i as u32)
}

impl Drop for Gpu {
    fn drop(&mut self) {
        // SAFETY: tests drop everything they made on this device before the Gpu; the order below
        // (device, messenger, instance) keeps each object's parent alive until it is gone.
        unsafe {
            let _ = self.device.device_wait_idle();
            if let Some(timeline) = self.timeline.take() {
                timeline.destroy();
            }
            self.device.destroy_device(None);
            if let Some((loader, messenger)) = self.debug.take() {
                loader.destroy_debug_utils_messenger(messenger, None);
            }
            self.instance.destroy_instance(None);
        }
        let messages = self.messages();
        if !messages.is_empty() && !std::thread::panicking() {
            panic!(
                "{} validation message(s):\n{}",
                messages.len(),
                messages.join("\n")
            );
        }
    }
}
