#version 450
#extension GL_GOOGLE_include_directive : require
// Mesh vertex stage of the demo: one interleaved vertex (position, normal, tangent, two texture
// coordinate sets, colour) and a push-constant block with the object's transforms and the eye.

layout(location = 0) in vec3 in_position;
layout(location = 1) in vec3 in_normal;
layout(location = 2) in vec4 in_tangent;
layout(location = 3) in vec2 in_uv0;
layout(location = 4) in vec2 in_uv1;
layout(location = 5) in vec4 in_color;

#include "material.glsl"

layout(push_constant) uniform Push {
    mat4 clip_from_object;
    // The rows of world_from_object's upper 3x4 (128 bytes in all, Vulkan's guaranteed minimum).
    vec4 world_rows[3];
    vec4 eye;
} push;

layout(location = 0) out vec3 out_world;
layout(location = 1) out vec3 out_normal;
layout(location = 2) out vec4 out_tangent;
layout(location = 3) out vec2 out_uv0;
layout(location = 4) out vec2 out_uv1;
layout(location = 5) out vec4 out_color;
#ifndef VIEW
// The material's flags, for the fragment stage to branch on (see mesh.frag); the texture
// viewer's fragment stage (built with VIEW) takes none.
layout(location = 6) flat out uvec3 out_flags;
#endif

void main() {
    gl_Position = push.clip_from_object * vec4(in_position, 1.0);
    // Points are one pixel (larger ones need the largePoints feature).
    gl_PointSize = 1.0;
    mat3 linear = transpose(mat3(push.world_rows[0].xyz, push.world_rows[1].xyz,
                                 push.world_rows[2].xyz));
    vec4 p = vec4(in_position, 1.0);
    out_world = vec3(dot(push.world_rows[0], p), dot(push.world_rows[1], p),
                     dot(push.world_rows[2], p));
    // Normals by the inverse transpose (non-uniform scales), tangents by the matrix itself. A zero
    // normal (lines and points without normals: drawn unlit) stays zero.
    out_normal = transpose(inverse(linear)) * in_normal;
    out_tangent = vec4(linear * in_tangent.xyz, in_tangent.w);
#ifndef VIEW
    out_flags = material.flags.xyz;
#endif
    out_uv0 = in_uv0;
    out_uv1 = in_uv1;
    out_color = in_color;
}
