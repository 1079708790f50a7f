#version 450
// Textured-mesh vertex stage of the demo: one interleaved vertex (position, normal, uv) and a
// push-constant block with the object's clip and world transforms.

layout(location = 0) in vec3 in_position;
layout(location = 1) in vec3 in_normal;
layout(location = 2) in vec2 in_uv;

layout(push_constant) uniform Push {
    mat4 clip_from_object;
    mat4 world_from_object;
} push;

layout(location = 0) out vec3 out_normal;
layout(location = 1) out vec2 out_uv;

void main() {
    gl_Position = push.clip_from_object * vec4(in_position, 1.0);
    // Non-uniform scales would need the inverse transpose; the demo's shading is only a cue.
    out_normal = mat3(push.world_from_object) * in_normal;
    out_uv = in_uv;
}
