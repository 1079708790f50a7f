//! wgpu, the peer for uploads: its Vulkan backend on the same physical device, and the two calls
//! a wgpu renderer uploads with, each timed to the completion of the submission that carries it.

/// A wgpu device on the benchmark's GPU.
pub struct Wgpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
}

impl Wgpu {
    /// wgpu's Vulkan adapter named `device_name` (the one the rest of the run uses), or why
    /// there is none.
    pub fn new(device_name: &str) -> Result<Self, String> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::VULKAN,
            // No validation: the other contenders run without it too.
            flags: wgpu::InstanceFlags::empty(),
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::VULKAN));
        let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
        let adapter = adapters
            .into_iter()
            .find(|a| a.get_info().name == device_name)
            .ok_or_else(|| {
                format!("wgpu offers no Vulkan adapter named '{device_name}' (it lists {names:?})")
            })?;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("bench"),
            required_features: wgpu::Features::empty(),
            required_limits: adapter.limits(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| format!("wgpu refused the device: {e}"))?;
        Ok(Self { device, queue })
    }

    /// Waits for everything submitted.
    pub fn wait(&self) -> Result<(), String> {
        self.queue.submit([]);
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| format!("wgpu poll: {e}"))
    }

    /// `Queue::write_buffer` of `data` at 0, submitted and waited for.
    pub fn write_buffer(&self, buffer: &wgpu::Buffer, data: &[u8]) -> Result<(), String> {
        self.queue.write_buffer(buffer, 0, data);
        self.wait()
    }

    /// A buffer wgpu can write and read as vertices.
    pub fn buffer(&self, size: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("bench"),
            size,
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::VERTEX,
            mapped_at_creation: false,
        })
    }

    /// An RGBA8 sRGB texture with `levels` levels.
    pub fn texture(&self, side: u32, levels: u32) -> wgpu::Texture {
        self.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("bench"),
            size: wgpu::Extent3d {
                width: side,
                height: side,
                depth_or_array_layers: 1,
            },
            mip_level_count: levels,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8UnormSrgb,
            usage: wgpu::TextureUsages::COPY_DST | wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        })
    }

    /// `Queue::write_texture` of one level (tightly packed RGBA8), not yet submitted.
    pub fn write_level(&self, texture: &wgpu::Texture, level: u32, side: u32, data: &[u8]) {
        self.queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture,
                mip_level: level,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            data,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(side * 4),
                rows_per_image: Some(side),
            },
            wgpu::Extent3d {
                width: side,
                height: side,
                depth_or_array_layers: 1,
            },
        );
    }

    /// Bytes wgpu's allocator has handed out now (its staging memory included).
    pub fn allocated_bytes(&self) -> Option<u64> {
        self.device
            .generate_allocator_report()
            .map(|r| r.total_allocated_bytes)
    }
}
