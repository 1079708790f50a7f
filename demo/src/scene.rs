//! Scenes as the loaders produce them (CPU data), scene identity, and the little math the demo
//! needs (column-major 4x4 matrices, bounds, the orbit camera).
//!
//! A scene owns its nodes; the GPU resources it needs belong to the systems (`MeshSystem`,
//! `MaterialSystem`), recorded against the scene's [`SceneId`] and destroyed when it unloads.

use ash::vk;

/// Identifies one load of a scene: loading the same scene twice gives two ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SceneId(pub u64);

/// One interleaved vertex, as `shaders/mesh.vert` reads it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Vertex {
    pub position: [f32; 3],
    pub normal: [f32; 3],
    pub uv: [f32; 2],
}

/// Index data, in the width the source had.
#[derive(Clone, Debug)]
pub enum Indices {
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl Indices {
    pub fn len(&self) -> usize {
        match self {
            Self::U16(v) => v.len(),
            Self::U32(v) => v.len(),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::U16(v) => bytemuck::cast_slice(v),
            Self::U32(v) => bytemuck::cast_slice(v),
        }
    }

    pub fn index_type(&self) -> vk::IndexType {
        match self {
            Self::U16(_) => vk::IndexType::UINT16,
            Self::U32(_) => vk::IndexType::UINT32,
        }
    }
}

/// A mesh: one primitive's vertices and triangle-list indices.
#[derive(Clone, Debug)]
pub struct MeshData {
    pub name: String,
    pub vertices: Vec<Vertex>,
    pub indices: Indices,
}

/// A texture ready for upload: `levels` tightly packed levels in `format` (usually 1: the rest of
/// the chain is generated on the GPU; block-compressed textures bring their own).
#[derive(Clone, Debug)]
pub struct TextureData {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub format: vk::Format,
    pub levels: u32,
    pub bytes: Vec<u8>,
}

/// A texture as a loader found it: ready, or still encoded (decoded on worker threads).
#[derive(Clone, Debug)]
pub enum TextureInput {
    Ready(TextureData),
    /// PNG or JPEG bytes; `what` names where they came from, for errors.
    Encoded {
        what: String,
        bytes: Vec<u8>,
    },
}

/// Sampler settings (a glTF sampler, or the defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SamplerDesc {
    pub mag: vk::Filter,
    pub min: vk::Filter,
    pub mipmap: vk::SamplerMipmapMode,
    /// Whether minification uses the mip chain (glTF's NEAREST and LINEAR min filters do not).
    pub mipmapped: bool,
    pub wrap_u: vk::SamplerAddressMode,
    pub wrap_v: vk::SamplerAddressMode,
}

impl Default for SamplerDesc {
    fn default() -> Self {
        Self {
            mag: vk::Filter::LINEAR,
            min: vk::Filter::LINEAR,
            mipmap: vk::SamplerMipmapMode::LINEAR,
            mipmapped: true,
            wrap_u: vk::SamplerAddressMode::REPEAT,
            wrap_v: vk::SamplerAddressMode::REPEAT,
        }
    }
}

/// A material: a base-colour texture (index into the scene's textures) and its sampler.
#[derive(Clone, Debug)]
pub struct MaterialData {
    pub name: String,
    pub texture: usize,
    pub sampler: SamplerDesc,
}

/// One thing to draw: a mesh with a material at a transform.
#[derive(Clone, Copy, Debug)]
pub struct Draw {
    pub mesh: usize,
    pub material: usize,
    pub transform: Mat4,
}

/// A scene as loaded from its source, before anything is on the GPU.
#[derive(Clone, Debug, Default)]
pub struct SceneData {
    pub name: String,
    pub meshes: Vec<MeshData>,
    pub textures: Vec<TextureInput>,
    pub materials: Vec<MaterialData>,
    pub draws: Vec<Draw>,
}

impl SceneData {
    /// Adds a 1x1 texture of one sRGB colour (the default for materials without a texture) and
    /// returns its index.
    pub fn solid_texture(&mut self, name: &str, rgba: [u8; 4]) -> usize {
        self.textures.push(TextureInput::Ready(TextureData {
            name: name.to_owned(),
            width: 1,
            height: 1,
            format: vk::Format::R8G8B8A8_SRGB,
            levels: 1,
            bytes: rgba.to_vec(),
        }));
        self.textures.len() - 1
    }

    /// The world-space bounds of every draw.
    pub fn bounds(&self) -> Bounds {
        let mut bounds = Bounds::EMPTY;
        for draw in &self.draws {
            if let Some(mesh) = self.meshes.get(draw.mesh) {
                for v in &mesh.vertices {
                    bounds.add(draw.transform.transform_point(v.position));
                }
            }
        }
        bounds
    }
}

/// An axis-aligned box.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    pub min: [f32; 3],
    pub max: [f32; 3],
}

impl Bounds {
    pub const EMPTY: Self = Self {
        min: [f32::MAX; 3],
        max: [f32::MIN; 3],
    };

    pub fn add(&mut self, p: [f32; 3]) {
        self.min = std::array::from_fn(|i| self.min[i].min(p[i]));
        self.max = std::array::from_fn(|i| self.max[i].max(p[i]));
    }

    pub fn is_empty(&self) -> bool {
        self.min[0] > self.max[0]
    }

    pub fn center(&self) -> [f32; 3] {
        std::array::from_fn(|i| 0.5 * (self.min[i] + self.max[i]))
    }

    pub fn radius(&self) -> f32 {
        let d: [f32; 3] = std::array::from_fn(|i| self.max[i] - self.min[i]);
        0.5 * (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
    }
}

/// A column-major 4x4 matrix (as glTF and GLSL store them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mat4(pub [[f32; 4]; 4]);

impl Mat4 {
    pub const IDENTITY: Self = Self([
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ]);

    pub fn translation(t: [f32; 3]) -> Self {
        let mut m = Self::IDENTITY;
        m.0[3] = [t[0], t[1], t[2], 1.0];
        m
    }

    pub fn scale(s: [f32; 3]) -> Self {
        let mut m = Self::IDENTITY;
        for (i, &v) in s.iter().enumerate() {
            m.0[i][i] = v;
        }
        m
    }

    /// Rotation about the Y axis by `angle` radians.
    pub fn rotation_y(angle: f32) -> Self {
        let (s, c) = angle.sin_cos();
        let mut m = Self::IDENTITY;
        m.0[0] = [c, 0.0, -s, 0.0];
        m.0[2] = [s, 0.0, c, 0.0];
        m
    }

    /// `self * other` (apply `other` first).
    pub fn mul(&self, other: &Self) -> Self {
        let mut out = [[0.0f32; 4]; 4];
        for (c, col) in out.iter_mut().enumerate() {
            for (r, v) in col.iter_mut().enumerate() {
                *v = (0..4).map(|k| self.0[k][r] * other.0[c][k]).sum();
            }
        }
        Self(out)
    }

    pub fn transform_point(&self, p: [f32; 3]) -> [f32; 3] {
        let m = &self.0;
        std::array::from_fn(|r| m[0][r] * p[0] + m[1][r] * p[1] + m[2][r] * p[2] + m[3][r])
    }

    /// A right-handed view matrix looking from `eye` at `target`.
    pub fn look_at(eye: [f32; 3], target: [f32; 3], up: [f32; 3]) -> Self {
        let sub = |a: [f32; 3], b: [f32; 3]| [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
        let cross = |a: [f32; 3], b: [f32; 3]| {
            [
                a[1] * b[2] - a[2] * b[1],
                a[2] * b[0] - a[0] * b[2],
                a[0] * b[1] - a[1] * b[0],
            ]
        };
        let dot = |a: [f32; 3], b: [f32; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
        let norm = |a: [f32; 3]| {
            let l = dot(a, a).sqrt().max(1e-12);
            [a[0] / l, a[1] / l, a[2] / l]
        };
        let f = norm(sub(target, eye));
        let s = norm(cross(f, up));
        let u = cross(s, f);
        Self([
            [s[0], u[0], -f[0], 0.0],
            [s[1], u[1], -f[1], 0.0],
            [s[2], u[2], -f[2], 0.0],
            [-dot(s, eye), -dot(u, eye), dot(f, eye), 1.0],
        ])
    }

    /// A Vulkan perspective projection (depth 0..1, Y down in clip space).
    pub fn perspective(fov_y: f32, aspect: f32, near: f32, far: f32) -> Self {
        let f = 1.0 / (0.5 * fov_y).tan();
        Self([
            [f / aspect, 0.0, 0.0, 0.0],
            [0.0, -f, 0.0, 0.0],
            [0.0, 0.0, far / (near - far), -1.0],
            [0.0, 0.0, near * far / (near - far), 0.0],
        ])
    }
}

/// An orbit camera that frames a scene's bounds.
#[derive(Clone, Copy, Debug)]
pub struct Camera {
    pub target: [f32; 3],
    pub radius: f32,
    pub yaw: f32,
    pub pitch: f32,
    pub distance: f32,
}

impl Camera {
    /// A camera that sees all of `bounds`.
    pub fn framing(bounds: &Bounds) -> Self {
        let (target, radius) = if bounds.is_empty() {
            ([0.0; 3], 1.0)
        } else {
            (bounds.center(), bounds.radius().max(1e-3))
        };
        Self {
            target,
            radius,
            yaw: 0.6,
            pitch: 0.45,
            distance: radius * 1.9,
        }
    }

    pub fn orbit(&mut self, dx: f32, dy: f32) {
        self.yaw += dx * 0.01;
        self.pitch = (self.pitch + dy * 0.01).clamp(-1.5, 1.5);
    }

    pub fn zoom(&mut self, steps: f32) {
        self.distance =
            (self.distance * 0.9f32.powf(steps)).clamp(self.radius * 0.2, self.radius * 20.0);
    }

    /// The clip-from-world matrix for a target of `width` x `height`.
    pub fn clip_from_world(&self, width: u32, height: u32) -> Mat4 {
        let eye = [
            self.target[0] + self.distance * self.pitch.cos() * self.yaw.sin(),
            self.target[1] + self.distance * self.pitch.sin(),
            self.target[2] + self.distance * self.pitch.cos() * self.yaw.cos(),
        ];
        let view = Mat4::look_at(eye, self.target, [0.0, 1.0, 0.0]);
        let aspect = width.max(1) as f32 / height.max(1) as f32;
        let near = (self.distance - self.radius * 1.5).max(self.radius * 0.01);
        let far = self.distance + self.radius * 1.5;
        Mat4::perspective(0.9, aspect, near, far).mul(&view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_camera_puts_the_bounds_centre_in_the_middle_of_the_screen() {
        let mut bounds = Bounds::EMPTY;
        bounds.add([-1.0, 2.0, 3.0]);
        bounds.add([3.0, 4.0, 5.0]);
        let camera = Camera::framing(&bounds);
        let m = camera.clip_from_world(800, 600);
        let c = bounds.center();
        let x = m.0[0][0] * c[0] + m.0[1][0] * c[1] + m.0[2][0] * c[2] + m.0[3][0];
        let y = m.0[0][1] * c[0] + m.0[1][1] * c[1] + m.0[2][1] * c[2] + m.0[3][1];
        let z = m.0[0][2] * c[0] + m.0[1][2] * c[1] + m.0[2][2] * c[2] + m.0[3][2];
        let w = m.0[0][3] * c[0] + m.0[1][3] * c[1] + m.0[2][3] * c[2] + m.0[3][3];
        assert!((x / w).abs() < 1e-4 && (y / w).abs() < 1e-4, "{x} {y} {w}");
        assert!((0.0..1.0).contains(&(z / w)));
    }

    #[test]
    fn matrix_product_applies_the_right_operand_first() {
        let t = Mat4::translation([1.0, 0.0, 0.0]);
        let s = Mat4::scale([2.0, 2.0, 2.0]);
        assert_eq!(t.mul(&s).transform_point([1.0, 1.0, 1.0]), [3.0, 2.0, 2.0]);
    }
}
