#version 450
// The texture viewer (`demo --scene FILE.ktx2`): the texture itself, unlit, through the view its
// shape needs. Built three times:
//   LAYERS  a 2D-array view, the material's layer on the mesh's first texture coordinates
//   SKY     a cube view, sampled in the direction from the eye (with sky.vert)
//   SLICES  a 3D view, the material's depth coordinate on the mesh's first texture coordinates
// The push constants' eye.w picks one level (negative: the sampler picks by distance).

layout(push_constant) uniform Push {
    mat4 clip_from_object;
    vec4 world_rows[3];
    vec4 eye;
} push;

// The material's uniform block is mesh.frag's; the viewer reads only its last vec4
// (MaterialParams::view, VIEW_OFFSET in material_system.rs): x, the layer or depth coordinate.
layout(set = 0, binding = 5) uniform Material {
    layout(offset = 240) vec4 view;
} material;

layout(location = 0) out vec4 out_color;

#if defined(LAYERS) || defined(SLICES)
// Everything mesh.vert writes is declared (an output nobody reads is a performance warning).
layout(location = 0) in vec3 in_world;
layout(location = 1) in vec3 in_normal;
layout(location = 2) in vec4 in_tangent;
layout(location = 3) in vec2 in_uv;
layout(location = 4) in vec2 in_uv1;
layout(location = 5) in vec4 in_color;
#endif

#if defined(LAYERS)
layout(set = 0, binding = 0) uniform sampler2DArray image;
vec3 at() { return vec3(in_uv, material.view.x); }
#elif defined(SKY)
layout(set = 0, binding = 0) uniform samplerCube image;
layout(location = 0) in vec4 in_world;
vec3 at() { return in_world.xyz / in_world.w - push.eye.xyz; }
#elif defined(SLICES)
layout(set = 0, binding = 0) uniform sampler3D image;
vec3 at() { return vec3(in_uv, material.view.x); }
#else
#error "build with LAYERS, SKY or SLICES defined"
#endif

void main() {
    vec3 coordinate = at();
    vec4 texel = push.eye.w < 0.0 ? texture(image, coordinate)
                                  : textureLod(image, coordinate, push.eye.w);
    out_color = vec4(texel.rgb, 1.0);
}
