#version 450
// The demo's post-process passes, one shader chosen by `mode`:
//   0  bloom prefilter: 2x downsample of the HDR scene, keeping what is brighter than `param`
//   1  bloom downsample: 2x downsample (a 4x4 box made of four bilinear taps)
//   2  bloom upsample: a 3x3 tent of the smaller level (source 0) added to this level (source 1)
//   3  tonemap: scene (source 0) plus bloom (source 1) times `param`, exposure, ACES fit (Narkowicz
//      2015); the target is sRGB, so the output is linear
// `texel` is the size of one texel of source 0 in uv.

layout(location = 0) in vec2 in_uv;

layout(set = 0, binding = 0) uniform sampler2D source0;
layout(set = 0, binding = 1) uniform sampler2D source1;

layout(push_constant) uniform Push {
    vec2 texel;
    uint mode;
    float param;
} push;

layout(location = 0) out vec4 out_color;

#extension GL_GOOGLE_include_directive : require
#include "bloom.glsl"

vec3 aces(vec3 x) {
    return clamp((x * (2.51 * x + 0.03)) / (x * (2.43 * x + 0.59) + 0.14), 0.0, 1.0);
}

void main() {
    vec3 color;
    if (push.mode < 3u) {
        color = bloom(in_uv);
    } else {
        vec3 hdr = texture(source0, in_uv).rgb + push.param * texture(source1, in_uv).rgb;
        color = aces(hdr * 0.8);
    }
    out_color = vec4(color, 1.0);
}
