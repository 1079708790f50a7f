#version 450
// The bloom chain's passes (prefilter, downsample, upsample: `mode` 0-2, as in post.frag) as
// compute dispatches, so the demo can run them on a compute queue: one invocation per texel of
// `target`, sampling at the texel's centre as the fragment passes do.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 8, local_size_y = 8) in;

layout(set = 0, binding = 0) uniform sampler2D source0;
layout(set = 0, binding = 1) uniform sampler2D source1;
layout(set = 0, binding = 2, rgba16f) uniform writeonly image2D target;

layout(push_constant) uniform Push {
    vec2 texel;
    uint mode;
    float param;
} push;

#include "bloom.glsl"

void main() {
    ivec2 size = imageSize(target);
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    if (p.x >= size.x || p.y >= size.y) {
        return;
    }
    vec2 uv = (vec2(p) + 0.5) / vec2(size);
    imageStore(target, p, vec4(bloom(uv), 1.0));
}
