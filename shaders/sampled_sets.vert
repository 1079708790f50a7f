#version 450
// The access-set draw test (tests/tests/staging/access_sets.rs): a full-screen triangle whose
// vertex shader samples the texture the fragment shader samples too, so that both stages read it
// in one state.

layout(set = 0, binding = 0) uniform sampler2D tex;

layout(location = 0) flat out vec4 from_vertex;

void main() {
    vec2 corner = vec2(float((gl_VertexIndex << 1) & 2), float(gl_VertexIndex & 2));
    from_vertex = texelFetch(tex, ivec2(0, 0), 0);
    // Depth 0: with LESS_OR_EQUAL every fragment passes the read-only depth test.
    gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);
}
