//! The frame's graph: the scene pass, the bloom chain and tonemap, and the present blit, with
//! the scene's uploads imported in the states they were left in.

use ash::vk;
use vkup_staging::graph::{BufferId, Graph, ImageId, TransientImage};
use vkup_staging::{Access, BufferTarget, ImageTarget, ResourceState};

use crate::loader::LoadedScene;
use crate::material_system::MaterialSystem;
use crate::mesh_system::MeshSystem;
use crate::pipeline::DEPTH_FORMAT;
use crate::post::Mode;

use super::HDR_FORMAT;

/// Most bloom levels (halvings of the frame).
const BLOOM_LEVELS: u32 = 5;

/// One post-process pass: `target` drawn from `sources` by `mode`.
#[derive(Clone, Copy, Debug)]
pub(super) struct PostPass {
    pub(super) mode: Mode,
    pub(super) sources: [ImageId; 2],
    pub(super) source_extent: vk::Extent2D,
    /// A transient, or `None` for the output image.
    pub(super) target: Option<ImageId>,
    pub(super) extent: vk::Extent2D,
    /// Dispatched by `bloom.comp` (on the bloom family) instead of drawn by `post.frag`.
    pub(super) compute: bool,
}

/// A frame's graph and the ids its recording needs.
pub(super) struct FrameGraph {
    pub(super) graph: Graph,
    pub(super) hdr: ImageId,
    pub(super) depth: ImageId,
    pub(super) output: ImageId,
    /// The post passes, in order: graph passes `1..=post.len()` (the scene pass is 0).
    pub(super) post: Vec<PostPass>,
    /// The present pass's index and the swapchain image it blits to.
    pub(super) present: Option<(usize, vk::Image)>,
}

fn half(extent: vk::Extent2D) -> vk::Extent2D {
    vk::Extent2D {
        width: (extent.width / 2).max(1),
        height: (extent.height / 2).max(1),
    }
}

/// The imports of the scene pass: textures and vertex/index buffers with the states their
/// uploads left them in.
#[derive(Default)]
pub(super) struct SceneImports {
    textures: Vec<(ImageTarget, ResourceState)>,
    buffers: Vec<(BufferTarget, ResourceState, Access)>,
}

impl SceneImports {
    pub(super) fn of(
        scene: Option<&LoadedScene>,
        meshes: &MeshSystem,
        materials: &MaterialSystem,
    ) -> Self {
        let Some(scene) = scene else {
            return Self::default();
        };
        let mut buffers: Vec<_> = meshes.with_scene(scene.id, |meshes| {
            meshes
                .iter()
                .flat_map(|m| {
                    [
                        (
                            BufferTarget::from(&m.vertices),
                            m.vertex_state,
                            Access::VertexBuffer,
                        ),
                        (
                            BufferTarget::from(&m.indices),
                            m.index_state,
                            Access::IndexBuffer,
                        ),
                    ]
                })
                .collect()
        });
        buffers.extend(materials.buffer_states(scene.id));
        Self {
            textures: materials.texture_states(scene.id),
            buffers,
        }
    }
}

/// Declares the frame: transients first (their ids stay the same from frame to frame), then
/// the imports.
/// `bloom` is the family the bloom chain's compute dispatches run on (a compute family, or the
/// graphics one), or `None` for fragment passes on the graphics queue.
pub(super) fn declare(
    queue_family: u32,
    bloom: Option<u32>,
    extent: vk::Extent2D,
    output: (ImageTarget, ResourceState),
    swapchain: Option<ImageTarget>,
    scene: &SceneImports,
) -> FrameGraph {
    let mut graph = Graph::new();
    let transient = |graph: &mut Graph, name: &str, format, extent: vk::Extent2D| {
        graph.transient_image(
            name,
            TransientImage::new_2d(format, extent.width, extent.height),
        )
    };
    let hdr = transient(&mut graph, "hdr scene", HDR_FORMAT, extent);
    let depth = transient(&mut graph, "depth", DEPTH_FORMAT, extent);
    // Halvings down to 8 pixels on the short side, at most BLOOM_LEVELS.
    let mut extents = vec![half(extent)];
    while extents.len() < BLOOM_LEVELS as usize {
        let next = half(extents[extents.len() - 1]);
        if next.width.min(next.height) < 8 {
            break;
        }
        extents.push(next);
    }
    const DOWN: [&str; BLOOM_LEVELS as usize] = [
        "bloom down 1/2",
        "bloom down 1/4",
        "bloom down 1/8",
        "bloom down 1/16",
        "bloom down 1/32",
    ];
    const UP: [&str; BLOOM_LEVELS as usize] = [
        "bloom up 1/2",
        "bloom up 1/4",
        "bloom up 1/8",
        "bloom up 1/16",
        "bloom up 1/32",
    ];
    let down: Vec<ImageId> = extents
        .iter()
        .enumerate()
        .map(|(i, &e)| transient(&mut graph, DOWN[i], HDR_FORMAT, e))
        .collect();
    let levels = down.len();
    // up[i] (i < levels - 1) holds down[i] plus the upsampled level below it.
    let up: Vec<ImageId> = extents[..levels - 1]
        .iter()
        .enumerate()
        .map(|(i, &e)| transient(&mut graph, UP[i], HDR_FORMAT, e))
        .collect();
    let (output_target, output_state) = output;
    let output = graph.import_image("output", output_target, output_state);
    // The first barrier on an acquired image waits where the acquire semaphore is waited.
    let swapchain_id = swapchain.map(|target| {
        let raw = target.raw();
        (
            graph.import_image("swapchain image", target, Access::Acquired.into()),
            raw,
        )
    });
    let textures: Vec<ImageId> = scene
        .textures
        .iter()
        .map(|(target, state)| graph.import_image("scene texture", target, *state))
        .collect();
    let buffers: Vec<(BufferId, Access)> = scene
        .buffers
        .iter()
        .map(|(target, state, access)| {
            (graph.import_buffer("scene buffer", target, *state), *access)
        })
        .collect();

    let mut pass = graph
        .pass("scene", queue_family)
        .image(hdr, Access::ColorAttachmentWrite)
        .image(depth, Access::DepthStencilAttachmentWrite);
    for &texture in &textures {
        pass = pass.image(texture, Access::FragmentShaderSampledRead);
    }
    for &(buffer, access) in &buffers {
        pass = pass.buffer(buffer, access);
    }

    let mut post = Vec::new();
    let mut add = |graph: &mut Graph, name: &str, mut p: PostPass| {
        // The tonemap draws into the output; the bloom chain dispatches where `bloom` says.
        let on = bloom.filter(|_| p.target.is_some());
        p.compute = on.is_some();
        let (family, read, write) = match on {
            Some(family) => (
                family,
                Access::ComputeShaderSampledRead,
                Access::ComputeStorageWrite,
            ),
            None => (
                queue_family,
                Access::FragmentShaderSampledRead,
                Access::ColorAttachmentWrite,
            ),
        };
        let mut pass = graph.pass(name, family);
        pass = pass.image(p.sources[0], read);
        if p.sources[1] != p.sources[0] {
            pass = pass.image(p.sources[1], read);
        }
        pass.image(p.target.unwrap_or(output), write);
        post.push(p);
    };
    add(
        &mut graph,
        "bloom prefilter",
        PostPass {
            mode: Mode::Prefilter,
            sources: [hdr, hdr],
            source_extent: extent,
            target: Some(down[0]),
            extent: extents[0],
            compute: false,
        },
    );
    for i in 1..levels {
        add(
            &mut graph,
            "bloom downsample",
            PostPass {
                mode: Mode::Downsample,
                sources: [down[i - 1], down[i - 1]],
                source_extent: extents[i - 1],
                target: Some(down[i]),
                extent: extents[i],
                compute: false,
            },
        );
    }
    let mut bloom = down[levels - 1];
    for i in (0..levels - 1).rev() {
        add(
            &mut graph,
            "bloom upsample",
            PostPass {
                mode: Mode::Upsample,
                sources: [bloom, down[i]],
                source_extent: extents[i + 1],
                target: Some(up[i]),
                extent: extents[i],
                compute: false,
            },
        );
        bloom = up[i];
    }
    add(
        &mut graph,
        "tonemap",
        PostPass {
            mode: Mode::Tonemap,
            sources: [hdr, bloom],
            source_extent: extent,
            target: None,
            extent,
            compute: false,
        },
    );
    let present = swapchain_id.map(|(id, image)| {
        graph
            .pass("present", queue_family)
            .image(output, Access::TransferRead)
            .image(id, Access::TransferWrite);
        graph.leave_image(id, Access::Present.into());
        (graph.pass_count() - 1, image)
    });
    FrameGraph {
        graph,
        hdr,
        depth,
        output,
        post,
        present,
    }
}
