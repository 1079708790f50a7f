#version 450
// The access-set draw test: samples the texture the vertex shader sampled, and the depth image
// the pass tests against read-only, and writes what it read, so the test can check both.

layout(set = 0, binding = 0) uniform sampler2D tex;
layout(set = 0, binding = 1) uniform sampler2D depth;

layout(location = 0) flat in vec4 from_vertex;
layout(location = 0) out vec4 color;

void main() {
    ivec2 texel = ivec2(gl_FragCoord.xy);
    vec4 c = texelFetch(tex, texel, 0);
    color = vec4(c.r, c.g, from_vertex.r, texelFetch(depth, texel, 0).r);
}
