#version 450
// The texture viewer's sky: one triangle over the viewport (the mesh bound is not read), each
// corner carrying the world-space point it shows, homogeneous, for texture_view.frag to turn into
// a direction from the eye.

layout(push_constant) uniform Push {
    mat4 clip_from_object;
    vec4 world_rows[3];
    vec4 eye;
} push;

layout(location = 0) out vec4 out_world;

void main() {
    vec2 ndc = vec2(float((gl_VertexIndex << 1) & 2), float(gl_VertexIndex & 2)) * 2.0 - 1.0;
    // The sky lies behind everything: just inside the far plane.
    gl_Position = vec4(ndc, 0.999999, 1.0);
    // Homogeneous, so that interpolation stays linear; the draw's transform is the identity.
    out_world = inverse(push.clip_from_object) * vec4(ndc, 0.5, 1.0);
}
