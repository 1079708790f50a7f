#version 450
// Textured-mesh fragment stage: the base-colour texture (sRGB, so sampled in linear), lit by one
// fixed directional light plus ambient, written to the HDR scene target: lit surfaces go above
// 1.0, which the bloom pass picks up and the tonemap pass brings back into range.

layout(location = 0) in vec3 in_normal;
layout(location = 1) in vec2 in_uv;

layout(set = 0, binding = 0) uniform sampler2D base_color;

layout(location = 0) out vec4 out_color;

void main() {
    vec4 albedo = texture(base_color, in_uv);
    vec3 n = normalize(in_normal);
    float light = 0.35 + 1.9 * max(dot(n, normalize(vec3(0.4, 0.8, 0.45))), 0.0);
    out_color = vec4(albedo.rgb * light, 1.0);
}
