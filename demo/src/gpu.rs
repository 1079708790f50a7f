//! The Vulkan context: instance (with validation when asked), physical device, device, queues, and
//! the allocator, stager and mip generator every system shares.
//!
//! Teardown order, written once here and in `App`: wait idle, then per-scene resources (the
//! systems), then staging memory, then the allocator, then the device, surface, messenger and
//! instance ([`Gpu::destroy`]).

use std::ffi::{c_void, CStr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context as _, Result};
use ash::vk;

/// Validation messages collected by the messenger.
#[derive(Default)]
pub struct Messages(Mutex<Vec<String>>);

impl Messages {
    /// All of them.
    pub fn all(&self) -> Vec<String> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

unsafe extern "system" fn on_message(
    severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    _types: vk::DebugUtilsMessageTypeFlagsEXT,
    data: *const vk::DebugUtilsMessengerCallbackDataEXT<'_>,
    user_data: *mut c_void,
) -> vk::Bool32 {
    // Never panic here: unwinding across the FFI boundary aborts.
    if data.is_null() || user_data.is_null() {
        return vk::FALSE;
    }
    // SAFETY: the layer passes a valid callback-data struct for the duration of the call.
    let data = unsafe { &*data };
    // SAFETY: NUL-terminated strings valid for the call, or null.
    let text = unsafe { data.message_as_c_str() }
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let line = format!("[{severity:?}] {text}");
    tracing::error!(target: "validation", "{line}");
    // SAFETY: `user_data` is the `Messages` inside the `Gpu` that owns the messenger, which is
    // destroyed before it.
    let messages = unsafe { &*user_data.cast::<Messages>() };
    if let Ok(mut list) = messages.0.lock() {
        list.push(line);
    }
    vk::FALSE
}

/// A queue and its family.
#[derive(Clone, Copy, Debug)]
pub struct Queue {
    pub raw: vk::Queue,
    pub family: u32,
}

/// How the context is made.
pub struct GpuOptions {
    /// Khronos validation with synchronization validation.
    pub validation: bool,
    /// The display the window lives on; `None` for headless.
    pub display: Option<raw_window_handle::RawDisplayHandle>,
    /// `--pipeline-cache`: the file the pipeline cache is read from and written back to.
    pub pipeline_cache: Option<PathBuf>,
    /// Uploads run on the device's transfer-only queue where it has one; `false` leaves that
    /// queue unmade (`--no-transfer-queue`).
    pub transfer_queue: bool,
}

/// The Vulkan context.
pub struct Gpu {
    pub entry: ash::Entry,
    pub instance: ash::Instance,
    pub physical_device: vk::PhysicalDevice,
    pub properties: vk::PhysicalDeviceProperties,
    pub device: ash::Device,
    /// Graphics + compute; also presents in windowed mode.
    pub graphics: Queue,
    /// A transfer-only queue, where the device has one: uploads run there.
    pub transfer: Option<Queue>,
    /// A compute queue without graphics, where the device has one: the bloom chain runs there.
    pub compute: Option<Queue>,
    /// Held around every submit and present on `graphics`, which the loader thread shares.
    pub graphics_lock: Arc<Mutex<()>>,
    pub surface_loader: Option<ash::khr::surface::Instance>,
    pub bc_textures: bool,
    pub anisotropy: Option<f32>,
    /// Every pipeline is built through it (the mesh and post pipelines, the mip generator's), read
    /// from `cache_file` at start and written back at exit, so that a second run compiles nothing.
    pub pipeline_cache: vk::PipelineCache,
    cache_file: Option<PathBuf>,
    debug: Option<(ash::ext::debug_utils::Instance, vk::DebugUtilsMessengerEXT)>,
    pub messages: Box<Messages>,
}

const VALIDATION_LAYER: &CStr = c"VK_LAYER_KHRONOS_validation";

impl Gpu {
    /// Makes the instance and picks a device; `surface_for` creates the window's surface from the
    /// instance (windowed mode) so the graphics family can be checked for present support.
    pub fn new(
        options: &GpuOptions,
        surface_for: impl FnOnce(&ash::Entry, &ash::Instance) -> Result<Option<vk::SurfaceKHR>>,
    ) -> Result<(Self, Option<vk::SurfaceKHR>)> {
        // SAFETY: loading the system's Vulkan loader.
        let entry = unsafe { ash::Entry::load() }.context(
            "no Vulkan loader: install it with `apt-get install libvulkan1 mesa-vulkan-drivers`",
        )?;
        let mut extensions: Vec<*const std::ffi::c_char> = Vec::new();
        if let Some(display) = options.display {
            extensions.extend_from_slice(
                ash_window::enumerate_required_extensions(display)
                    .context("this display has no Vulkan surface support")?,
            );
        }
        let mut layers = Vec::new();
        if options.validation {
            // SAFETY: plain enumeration.
            let available = unsafe { entry.enumerate_instance_layer_properties() }?;
            if !available
                .iter()
                .any(|l| l.layer_name_as_c_str() == Ok(VALIDATION_LAYER))
            {
                bail!("--validation needs VK_LAYER_KHRONOS_validation: `apt-get install vulkan-validationlayers`");
            }
            layers.push(VALIDATION_LAYER.as_ptr());
            extensions.push(ash::ext::debug_utils::NAME.as_ptr());
            extensions.push(ash::ext::validation_features::NAME.as_ptr());
        }
        let messages = Box::<Messages>::default();
        let user_data: *mut c_void = (&*messages as *const Messages).cast_mut().cast();
        let messenger_info = || {
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
        };
        let app = vk::ApplicationInfo::default()
            .application_name(c"upload-path demo")
            .api_version(vk::API_VERSION_1_3);
        let enabled = [vk::ValidationFeatureEnableEXT::SYNCHRONIZATION_VALIDATION];
        let mut features =
            vk::ValidationFeaturesEXT::default().enabled_validation_features(&enabled);
        let mut chained = messenger_info();
        let mut info = vk::InstanceCreateInfo::default()
            .application_info(&app)
            .enabled_extension_names(&extensions)
            .enabled_layer_names(&layers);
        if options.validation {
            info = info.push_next(&mut features).push_next(&mut chained);
        }
        // SAFETY: every pointer in `info` refers to locals alive for the call.
        let instance = unsafe { entry.create_instance(&info, None) }.context("vkCreateInstance")?;
        let debug = if options.validation {
            let loader = ash::ext::debug_utils::Instance::new(&entry, &instance);
            // SAFETY: valid instance with VK_EXT_debug_utils; the user data outlives it.
            let messenger =
                unsafe { loader.create_debug_utils_messenger(&messenger_info(), None) }?;
            Some((loader, messenger))
        } else {
            None
        };
        let surface_loader = options
            .display
            .map(|_| ash::khr::surface::Instance::new(&entry, &instance));
        let surface = surface_for(&entry, &instance)?;
        let picked = pick(&instance, surface_loader.as_ref(), surface);
        let (physical_device, properties, graphics_family, transfer_family, compute_family) =
            match picked {
                Ok(p) => p,
                Err(err) => {
                    // SAFETY: nothing else was made from the instance but the surface and messenger.
                    unsafe {
                        if let (Some(loader), Some(surface)) = (&surface_loader, surface) {
                            loader.destroy_surface(surface, None);
                        }
                        if let Some((loader, messenger)) = &debug {
                            loader.destroy_debug_utils_messenger(*messenger, None);
                        }
                        instance.destroy_instance(None);
                    }
                    return Err(err);
                }
            };
        let transfer_family = transfer_family.filter(|_| options.transfer_queue);
        // SAFETY: valid physical device.
        let supported = unsafe { instance.get_physical_device_features(physical_device) };
        let bc_textures = supported.texture_compression_bc == vk::TRUE;
        let anisotropy = (supported.sampler_anisotropy == vk::TRUE)
            .then(|| properties.limits.max_sampler_anisotropy.min(8.0));
        // Every block-compressed family the device samples, for KTX2 files (`--scene F.ktx2`);
        // a format whose family is missing is refused when its image is made.
        let features10 = vk::PhysicalDeviceFeatures::default()
            .texture_compression_bc(bc_textures)
            .texture_compression_etc2(supported.texture_compression_etc2 == vk::TRUE)
            .texture_compression_astc_ldr(supported.texture_compression_astc_ldr == vk::TRUE)
            .sampler_anisotropy(anisotropy.is_some());
        let mut features12 = vk::PhysicalDeviceVulkan12Features::default().timeline_semaphore(true);
        let mut features13 = vk::PhysicalDeviceVulkan13Features::default()
            .synchronization2(true)
            .dynamic_rendering(true);
        let priorities = [1.0];
        let mut queue_infos = vec![vk::DeviceQueueCreateInfo::default()
            .queue_family_index(graphics_family)
            .queue_priorities(&priorities)];
        for family in [transfer_family, compute_family].into_iter().flatten() {
            queue_infos.push(
                vk::DeviceQueueCreateInfo::default()
                    .queue_family_index(family)
                    .queue_priorities(&priorities),
            );
        }
        let mut device_extensions = Vec::new();
        if options.display.is_some() {
            device_extensions.push(ash::khr::swapchain::NAME.as_ptr());
        }
        let device_info = vk::DeviceCreateInfo::default()
            .queue_create_infos(&queue_infos)
            .enabled_extension_names(&device_extensions)
            .enabled_features(&features10)
            .push_next(&mut features12)
            .push_next(&mut features13);
        // SAFETY: every pointer in `device_info` refers to locals alive for the call.
        let device = unsafe { instance.create_device(physical_device, &device_info, None) }
            .context("vkCreateDevice")?;
        let pipeline_cache = load_pipeline_cache(&device, options.pipeline_cache.as_deref());
        let graphics = Queue {
            // SAFETY: each family was created with one queue.
            raw: unsafe { device.get_device_queue(graphics_family, 0) },
            family: graphics_family,
        };
        let transfer = transfer_family.map(|family| Queue {
            // SAFETY: as above.
            raw: unsafe { device.get_device_queue(family, 0) },
            family,
        });
        let compute = compute_family.map(|family| Queue {
            // SAFETY: as above.
            raw: unsafe { device.get_device_queue(family, 0) },
            family,
        });
        let name = properties
            .device_name_as_c_str()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        tracing::info!(
            device = name,
            graphics_family,
            transfer_family = ?transfer_family,
            compute_family = ?compute_family,
            bc_textures,
            "Vulkan device ready"
        );
        Ok((
            Self {
                entry,
                instance,
                physical_device,
                properties,
                device,
                graphics,
                transfer,
                compute,
                graphics_lock: Arc::new(Mutex::new(())),
                surface_loader,
                bc_textures,
                anisotropy,
                pipeline_cache,
                cache_file: options.pipeline_cache.clone(),
                debug,
                messages,
            },
            surface,
        ))
    }

    /// The device's name.
    pub fn device_name(&self) -> String {
        self.properties
            .device_name_as_c_str()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// An allocator for this device.
    pub fn allocator(&self) -> Result<vkup_allocator::Allocator> {
        let mut desc =
            vkup_allocator::AllocatorDesc::new(&self.instance, self.physical_device, &self.device)
                .api_version(vk::API_VERSION_1_3);
        if self.debug.is_some() {
            desc = desc.debug_names(&self.entry);
        }
        // SAFETY: the handles outlive the allocator (dropped before `destroy`); the options match
        // the device.
        Ok(unsafe { vkup_allocator::Allocator::new(&desc) }?)
    }

    /// Destroys the device, surface, messenger and instance, in that order.
    ///
    /// # Safety
    /// Everything made from the device is destroyed and the device is idle.
    pub unsafe fn destroy(self, surface: Option<vk::SurfaceKHR>) {
        if let Some(file) = &self.cache_file {
            // SAFETY: the cache is idle (every pipeline is built; the device is idle).
            match unsafe { self.device.get_pipeline_cache_data(self.pipeline_cache) } {
                Ok(data) => {
                    let written = file
                        .parent()
                        .map_or(Ok(()), std::fs::create_dir_all)
                        .and_then(|()| std::fs::write(file, &data));
                    match written {
                        Ok(()) => tracing::info!(
                            file = %file.display(),
                            bytes = data.len(),
                            "pipeline cache saved"
                        ),
                        Err(err) => tracing::warn!(
                            file = %file.display(),
                            "the pipeline cache is not saved: {err}"
                        ),
                    }
                }
                Err(err) => tracing::warn!("the pipeline cache cannot be read back: {err}"),
            }
        }
        // SAFETY: forwarded from this function's contract.
        unsafe {
            self.device
                .destroy_pipeline_cache(self.pipeline_cache, None);
            self.device.destroy_device(None);
            if let (Some(loader), Some(surface)) = (&self.surface_loader, surface) {
                loader.destroy_surface(surface, None);
            }
            if let Some((loader, messenger)) = &self.debug {
                loader.destroy_debug_utils_messenger(*messenger, None);
            }
            self.instance.destroy_instance(None);
        }
    }
}

/// A pipeline cache holding `file`'s data, where it has some (the driver checks its header and
/// starts empty on data of another device or driver); an empty one without a file, and a null
/// handle (no cache) where even that fails.
fn load_pipeline_cache(device: &ash::Device, file: Option<&Path>) -> vk::PipelineCache {
    let data = file.and_then(|f| std::fs::read(f).ok()).unwrap_or_default();
    let create = |data: &[u8]| {
        // SAFETY: valid device; the data is only read for the call.
        unsafe {
            device.create_pipeline_cache(
                &vk::PipelineCacheCreateInfo::default().initial_data(data),
                None,
            )
        }
    };
    tracing::info!(bytes = data.len(), "pipeline cache read");
    create(&data)
        .or_else(|_| create(&[]))
        .unwrap_or_else(|err| {
            tracing::warn!("no pipeline cache: {err}");
            vk::PipelineCache::null()
        })
}

type Picked = (
    vk::PhysicalDevice,
    vk::PhysicalDeviceProperties,
    u32,
    Option<u32>,
    Option<u32>,
);

/// The best Vulkan 1.3 device with a graphics + compute family (that presents to `surface`, when
/// there is one), its transfer-only family and its compute family without graphics, where it
/// has them.
fn pick(
    instance: &ash::Instance,
    surface_loader: Option<&ash::khr::surface::Instance>,
    surface: Option<vk::SurfaceKHR>,
) -> Result<Picked> {
    // SAFETY: valid instance.
    let devices = unsafe { instance.enumerate_physical_devices() }?;
    let rank = |t: vk::PhysicalDeviceType| match t {
        vk::PhysicalDeviceType::DISCRETE_GPU => 0,
        vk::PhysicalDeviceType::INTEGRATED_GPU => 1,
        vk::PhysicalDeviceType::VIRTUAL_GPU => 2,
        vk::PhysicalDeviceType::CPU => 3,
        _ => 4,
    };
    let mut best: Option<(u32, Picked)> = None;
    for device in devices {
        // SAFETY: enumerated from this instance.
        let props = unsafe { instance.get_physical_device_properties(device) };
        if props.api_version < vk::API_VERSION_1_3 {
            continue;
        }
        // SAFETY: as above.
        let families = unsafe { instance.get_physical_device_queue_family_properties(device) };
        let presents = |i: u32| match (surface_loader, surface) {
            (Some(loader), Some(surface)) => {
                // SAFETY: valid device, family index and surface.
                unsafe { loader.get_physical_device_surface_support(device, i, surface) }
                    .unwrap_or(false)
            }
            _ => true,
        };
        let wanted = vk::QueueFlags::GRAPHICS | vk::QueueFlags::COMPUTE;
        let Some(graphics) = (0..families.len() as u32)
            .find(|&i| families[i as usize].queue_flags.contains(wanted) && presents(i))
        else {
            continue;
        };
        let transfer = (0..families.len() as u32).find(|&i| {
            let flags = families[i as usize].queue_flags;
            flags.contains(vk::QueueFlags::TRANSFER)
                && !flags.intersects(vk::QueueFlags::GRAPHICS | vk::QueueFlags::COMPUTE)
        });
        let compute = (0..families.len() as u32).find(|&i| {
            let flags = families[i as usize].queue_flags;
            flags.contains(vk::QueueFlags::COMPUTE) && !flags.contains(vk::QueueFlags::GRAPHICS)
        });
        let r = rank(props.device_type);
        if best.as_ref().is_none_or(|(b, _)| r < *b) {
            best = Some((r, (device, props, graphics, transfer, compute)));
        }
    }
    best.map(|(_, p)| p).context(
        "no Vulkan 1.3 device with a graphics queue: install lavapipe with `apt-get install mesa-vulkan-drivers`",
    )
}
