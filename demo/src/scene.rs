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
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Vertex {
    pub position: [f32; 3],
    pub normal: [f32; 3],
    /// xyz: the tangent; w: the bitangent's sign (glTF's TANGENT).
    pub tangent: [f32; 4],
    /// TEXCOORD_0 and TEXCOORD_1.
    pub uv: [[f32; 2]; 2],
    /// COLOR_0, linear RGBA (white when the primitive has none).
    pub color: [f32; 4],
}

impl Default for Vertex {
    fn default() -> Self {
        Self {
            position: [0.0; 3],
            normal: [0.0, 0.0, 1.0],
            tangent: [1.0, 0.0, 0.0, 1.0],
            uv: [[0.0; 2]; 2],
            color: [1.0; 4],
        }
    }
}

/// What a mesh's indices make (glTF's strips, fans and loops arrive converted to lists).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topology {
    #[default]
    Triangles,
    Lines,
    Points,
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

/// A mesh: one primitive's vertices and list indices.
#[derive(Clone, Debug)]
pub struct MeshData {
    pub name: String,
    pub vertices: Vec<Vertex>,
    pub indices: Indices,
    pub topology: Topology,
}

/// What kind of image a texture is, which decides the view it is sampled through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TextureShape {
    /// One 2D image, sampled through a 2D view (by materials).
    #[default]
    Flat,
    /// 2D layers, sampled through a 2D-array view (by the texture viewer; a flat KTX2 file is
    /// one layer of it, so that its levels can be picked like any other's).
    Layers(u32),
    /// Six square layers, +X, -X, +Y, -Y, +Z, -Z, sampled through a cube view.
    Cube,
    /// Cube maps of six layers each, sampled through a 2D-array view of all their faces (a
    /// cube-array view needs the `imageCubeArray` feature, and a sky shows one cube).
    CubeArray(u32),
    /// A 3D image of this many slices, sampled through a 3D view.
    Volume(u32),
}

impl TextureShape {
    /// The image's array layers.
    pub fn layers(self) -> u32 {
        match self {
            Self::Flat | Self::Volume(_) => 1,
            Self::Layers(n) => n,
            Self::Cube => 6,
            Self::CubeArray(n) => 6 * n,
        }
    }

    /// The image's depth in texels.
    pub fn depth(self) -> u32 {
        match self {
            Self::Volume(depth) => depth,
            _ => 1,
        }
    }

    /// The view type it is sampled through.
    pub fn view_type(self) -> vk::ImageViewType {
        match self {
            Self::Flat => vk::ImageViewType::TYPE_2D,
            Self::Layers(_) | Self::CubeArray(_) => vk::ImageViewType::TYPE_2D_ARRAY,
            Self::Cube => vk::ImageViewType::CUBE,
            Self::Volume(_) => vk::ImageViewType::TYPE_3D,
        }
    }
}

/// A texture ready for upload: `levels` tightly packed levels in `format` (usually 1: the rest of
/// the chain is generated on the GPU; block-compressed textures bring their own), every layer
/// (and slice) of a level before the next level, as KTX2 stores them; or still encoded in
/// `bytes` ([`Encoding`]), unpacked into staging memory as it uploads.
#[derive(Clone, Debug)]
pub struct TextureData {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub shape: TextureShape,
    pub format: vk::Format,
    pub levels: u32,
    pub bytes: Vec<u8>,
    pub encoding: Encoding,
}

/// What a texture's `bytes` hold.
#[derive(Clone, Debug)]
pub enum Encoding {
    /// The packed levels themselves.
    Packed,
    /// A PNG or JPEG file of level 0, decoded to RGBA8 ([`crate::encoded`]).
    Image,
    /// A KTX2 file: where each level lies in it ([`crate::ktx2`]).
    Ktx2(Vec<crate::ktx2::Level>),
}

impl TextureData {
    /// Bytes the upload puts in the image.
    pub fn upload_len(&self) -> u64 {
        match &self.encoding {
            Encoding::Packed => self.bytes.len() as u64,
            Encoding::Image => u64::from(self.width) * u64::from(self.height) * 4,
            Encoding::Ktx2(levels) => levels.iter().map(|l| l.len).sum(),
        }
    }
}

/// A texture as a loader found it: ready, or still encoded (decoded on worker threads).
#[derive(Clone, Debug)]
pub enum TextureInput {
    Ready(TextureData),
    /// PNG or JPEG bytes; `what` names where they came from, for errors. `srgb`: colour data
    /// (base colour, emissive), uploaded as sRGB; otherwise linear data (normals, roughness),
    /// uploaded as UNORM.
    Encoded {
        what: String,
        bytes: Vec<u8>,
        srgb: bool,
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

/// The texture slots of a material, in the order of `shaders/mesh.frag`'s bindings.
pub const BASE_COLOR: usize = 0;
pub const METALLIC_ROUGHNESS: usize = 1;
pub const NORMAL: usize = 2;
pub const OCCLUSION: usize = 3;
pub const EMISSIVE: usize = 4;
pub const TEXTURE_SLOTS: usize = 5;

/// One texture of a material: which of the scene's textures, sampled how, through which set of
/// texture coordinates, moved by which transform (KHR_texture_transform; identity without).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TextureSlot {
    pub texture: usize,
    pub sampler: SamplerDesc,
    /// 0: TEXCOORD_0, 1: TEXCOORD_1.
    pub tex_coord: u32,
    /// Rows of the 2x3 matrix applied to the coordinates: `uv' = (r0 . (u, v, 1), r1 . (u, v, 1))`.
    pub transform: [[f32; 3]; 2],
}

impl TextureSlot {
    pub const IDENTITY: [[f32; 3]; 2] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];

    /// The texture sampled through TEXCOORD_0, untransformed.
    pub fn plain(texture: usize, sampler: SamplerDesc) -> Self {
        Self {
            texture,
            sampler,
            tex_coord: 0,
            transform: Self::IDENTITY,
        }
    }
}

/// How a material's alpha is used.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum AlphaMode {
    /// Alpha ignored.
    #[default]
    Opaque,
    /// Fragments with alpha below the cutoff are discarded, the rest are opaque.
    Mask(f32),
    /// Blended over what is behind (drawn after the opaque draws, back to front).
    Blend,
}

/// The material model's parameters besides the base colour.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Workflow {
    /// glTF's core model: the metallic-roughness texture's B and G channels scale these.
    MetallicRoughness { metallic: f32, roughness: f32 },
    /// KHR_materials_pbrSpecularGlossiness: the base colour slot holds the diffuse texture, the
    /// metallic-roughness slot the specular-glossiness texture (sRGB RGB, linear A).
    SpecularGlossiness { specular: [f32; 3], glossiness: f32 },
}

/// A material: glTF's metallic-roughness model (or specular-glossiness), its five textures.
#[derive(Clone, Debug, PartialEq)]
pub struct MaterialData {
    pub name: String,
    /// Linear RGBA, multiplied with the base colour texture and the vertex colour.
    pub base_color: [f32; 4],
    pub workflow: Workflow,
    pub normal_scale: f32,
    pub occlusion_strength: f32,
    /// Linear RGB, multiplied with the emissive texture.
    pub emissive: [f32; 3],
    pub alpha: AlphaMode,
    /// Back faces drawn (with flipped normals) instead of culled.
    pub double_sided: bool,
    pub textures: [Option<TextureSlot>; TEXTURE_SLOTS],
    /// Set for the texture viewer's materials: the base colour texture shown as it is, unlit,
    /// through the view its shape needs, instead of the material model.
    pub viewer: Option<Viewer>,
}

/// How the texture viewer shows its texture (`shaders/texture_view.frag`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Viewer {
    /// Layer `n` of a 2D-array view on the mesh's TEXCOORD_0.
    Layer(u32),
    /// A cube map on the sky, seen from inside (the mesh is a placeholder: the sky covers the
    /// screen).
    Sky,
    /// The slice at depth coordinate `w` (0..1) of a 3D view, on the mesh's TEXCOORD_0.
    Slice(f32),
}

impl MaterialData {
    /// glTF's defaults: white, metallic 1, roughness 1, opaque, single-sided, no textures.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            base_color: [1.0; 4],
            workflow: Workflow::MetallicRoughness {
                metallic: 1.0,
                roughness: 1.0,
            },
            normal_scale: 1.0,
            occlusion_strength: 1.0,
            emissive: [0.0; 3],
            alpha: AlphaMode::Opaque,
            double_sided: false,
            textures: [None; TEXTURE_SLOTS],
            viewer: None,
        }
    }

    /// A rough, non-metallic, double-sided material showing `texture` (the built-in scenes').
    pub fn textured(name: &str, texture: usize, sampler: SamplerDesc) -> Self {
        let mut material = Self::new(name);
        material.workflow = Workflow::MetallicRoughness {
            metallic: 0.0,
            roughness: 1.0,
        };
        material.double_sided = true;
        material.textures[BASE_COLOR] = Some(TextureSlot::plain(texture, sampler));
        material
    }
}

/// One thing to draw: a mesh with a material at a transform.
#[derive(Clone, Copy, Debug)]
pub struct Draw {
    pub mesh: usize,
    pub material: usize,
    pub transform: Mat4,
}

impl Draw {
    /// Whether the transform mirrors (negative determinant): the winding of front faces flips.
    pub fn mirrors(&self) -> bool {
        let m = &self.transform.0;
        let det = m[0][0] * (m[1][1] * m[2][2] - m[2][1] * m[1][2])
            - m[1][0] * (m[0][1] * m[2][2] - m[2][1] * m[0][2])
            + m[2][0] * (m[0][1] * m[1][2] - m[1][1] * m[0][2]);
        det < 0.0
    }
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
    /// Adds a 1x1 texture of one colour in `format` (an RGBA8 one) and returns its index.
    pub fn solid_texture(&mut self, name: &str, rgba: [u8; 4], format: vk::Format) -> usize {
        self.textures.push(TextureInput::Ready(TextureData {
            name: name.to_owned(),
            width: 1,
            height: 1,
            shape: TextureShape::Flat,
            format,
            levels: 1,
            bytes: rgba.to_vec(),
            encoding: Encoding::Packed,
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

    /// Points whose framing frames the scene: the world-space corners of each draw's
    /// object-space bounds (tighter than the corners of the scene's box, which can lie far
    /// outside anything drawn).
    pub fn fit_points(&self) -> Vec<[f32; 3]> {
        let mut points = Vec::with_capacity(self.draws.len() * 8);
        for draw in &self.draws {
            let Some(mesh) = self.meshes.get(draw.mesh) else {
                continue;
            };
            let mut local = Bounds::EMPTY;
            for v in &mesh.vertices {
                local.add(v.position);
            }
            if !local.is_empty() {
                points.extend(local.corners().map(|c| draw.transform.transform_point(c)));
            }
        }
        points
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

    /// The box's eight corners.
    pub fn corners(&self) -> [[f32; 3]; 8] {
        std::array::from_fn(|corner| {
            std::array::from_fn(|i| {
                if corner & (1 << i) == 0 {
                    self.min[i]
                } else {
                    self.max[i]
                }
            })
        })
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

/// The camera's vertical field of view (radians).
const FOV_Y: f32 = 0.9;

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
    /// A camera looking at the centre of `bounds` from direction `from` (towards the eye; it
    /// need not be normalized), as close as it can be with every one of `points` (the box's
    /// corners when empty) in view at `aspect` (width / height), with a small margin.
    pub fn framing(bounds: &Bounds, points: &[[f32; 3]], from: [f32; 3], aspect: f32) -> Self {
        let (target, radius) = if bounds.is_empty() {
            ([0.0; 3], 1.0)
        } else {
            (bounds.center(), bounds.radius().max(1e-3))
        };
        let length = (from[0] * from[0] + from[1] * from[1] + from[2] * from[2]).sqrt();
        let from = if length > 1e-6 {
            from.map(|c| c / length)
        } else {
            [0.0, 0.0, 1.0]
        };
        let pitch = from[1].clamp(-1.0, 1.0).asin().clamp(-1.5, 1.5);
        let yaw = from[0].atan2(from[2]);
        let mut camera = Self {
            target,
            radius,
            yaw,
            pitch,
            distance: radius * 2.0,
        };
        if !bounds.is_empty() {
            let corners = bounds.corners();
            let points = if points.is_empty() {
                &corners[..]
            } else {
                points
            };
            camera.distance = camera.fitting_distance(points, aspect);
        }
        camera
    }

    /// The eye's unit direction from the target, and the view's right and up axes.
    fn axes(&self) -> [[f32; 3]; 3] {
        let back = [
            self.pitch.cos() * self.yaw.sin(),
            self.pitch.sin(),
            self.pitch.cos() * self.yaw.cos(),
        ];
        let right = [self.yaw.cos(), 0.0, -self.yaw.sin()];
        let up = [
            back[1] * right[2] - back[2] * right[1],
            back[2] * right[0] - back[0] * right[2],
            back[0] * right[1] - back[1] * right[0],
        ];
        [back, right, up]
    }

    /// The smallest distance from the target at which every one of `points` is inside the view
    /// at `aspect`, with 8% to spare on the widest.
    fn fitting_distance(&self, points: &[[f32; 3]], aspect: f32) -> f32 {
        let [back, right, up] = self.axes();
        let tan_y = (0.5 * FOV_Y).tan();
        let tan_x = tan_y * aspect.max(1e-3);
        let dot = |a: [f32; 3], b: [f32; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
        let mut distance = 0.0f32;
        for point in points {
            let p: [f32; 3] = std::array::from_fn(|i| point[i] - self.target[i]);
            // The point is `dot(p, back)` nearer the eye than the target.
            let near = dot(p, back);
            distance = distance
                .max(near + 1.08 * dot(p, right).abs() / tan_x)
                .max(near + 1.08 * dot(p, up).abs() / tan_y);
        }
        distance.max(self.radius * 0.05)
    }

    pub fn orbit(&mut self, dx: f32, dy: f32) {
        self.yaw += dx * 0.01;
        self.pitch = (self.pitch + dy * 0.01).clamp(-1.5, 1.5);
    }

    pub fn zoom(&mut self, steps: f32) {
        self.distance =
            (self.distance * 0.9f32.powf(steps)).clamp(self.radius * 0.05, self.radius * 20.0);
    }

    /// The eye's position.
    pub fn eye(&self) -> [f32; 3] {
        let [back, _, _] = self.axes();
        std::array::from_fn(|i| self.target[i] + self.distance * back[i])
    }

    /// The clip-from-world matrix for a target of `width` x `height`.
    pub fn clip_from_world(&self, width: u32, height: u32) -> Mat4 {
        let view = Mat4::look_at(self.eye(), self.target, [0.0, 1.0, 0.0]);
        let aspect = width.max(1) as f32 / height.max(1) as f32;
        let near = (self.distance - self.radius * 1.5).max(self.radius * 0.01);
        let far = self.distance + self.radius * 1.5;
        Mat4::perspective(FOV_Y, aspect, near, far).mul(&view)
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
        let camera = Camera::framing(&bounds, &[], [1.0, 0.5, 1.0], 800.0 / 600.0);
        let m = camera.clip_from_world(800, 600);
        let c = bounds.center();
        let x = m.0[0][0] * c[0] + m.0[1][0] * c[1] + m.0[2][0] * c[2] + m.0[3][0];
        let y = m.0[0][1] * c[0] + m.0[1][1] * c[1] + m.0[2][1] * c[2] + m.0[3][1];
        let z = m.0[0][2] * c[0] + m.0[1][2] * c[1] + m.0[2][2] * c[2] + m.0[3][2];
        let w = m.0[0][3] * c[0] + m.0[1][3] * c[1] + m.0[2][3] * c[2] + m.0[3][3];
        assert!((x / w).abs() < 1e-4 && (y / w).abs() < 1e-4, "{x} {y} {w}");
        assert!((0.0..1.0).contains(&(z / w)));
    }

    /// Tall, wide and deep boxes at several aspects and directions: every corner lands inside
    /// the clip volume, and one touches the margin (the box is not framed from too far).
    #[test]
    fn framing_fits_the_box_at_any_aspect_and_no_further() {
        let boxes = [
            ([-0.5, -3.0, -0.5], [0.5, 3.0, 0.5]),
            ([-4.0, -0.2, -1.0], [4.0, 0.2, 1.0]),
            ([0.0, 0.0, 0.0], [1.0, 1.0, 9.0]),
            ([10.0, -1.0, 3.0], [11.0, 1.0, 3.5]),
        ];
        let views = [
            [0.0, 0.0, 1.0],
            [0.0, 20.0, -20.0],
            [1.0, 0.5, 1.0],
            [-1.0, -0.2, 0.3],
        ];
        for (min, max) in boxes {
            let bounds = Bounds { min, max };
            for from in views {
                for (w, h) in [(1920u32, 1080u32), (400, 900), (256, 256)] {
                    let camera = Camera::framing(&bounds, &[], from, w as f32 / h as f32);
                    let m = camera.clip_from_world(w, h);
                    let mut widest = 0.0f32;
                    for corner in 0..8 {
                        let p: [f32; 3] = std::array::from_fn(|i| {
                            if corner & (1 << i) == 0 {
                                min[i]
                            } else {
                                max[i]
                            }
                        });
                        let clip: [f32; 4] = std::array::from_fn(|r| {
                            m.0[0][r] * p[0] + m.0[1][r] * p[1] + m.0[2][r] * p[2] + m.0[3][r]
                        });
                        let (x, y, z) = (clip[0] / clip[3], clip[1] / clip[3], clip[2] / clip[3]);
                        assert!(
                            x.abs() <= 1.0 && y.abs() <= 1.0 && (0.0..=1.0).contains(&z),
                            "{min:?}..{max:?} from {from:?} at {w}x{h}: corner at {x} {y} {z}"
                        );
                        widest = widest.max(x.abs()).max(y.abs());
                    }
                    assert!(widest > 0.8, "{min:?}..{max:?} from {from:?}: {widest}");
                }
            }
        }
    }

    #[test]
    fn matrix_product_applies_the_right_operand_first() {
        let t = Mat4::translation([1.0, 0.0, 0.0]);
        let s = Mat4::scale([2.0, 2.0, 2.0]);
        assert_eq!(t.mul(&s).transform_point([1.0, 1.0, 1.0]), [3.0, 2.0, 2.0]);
    }
}
