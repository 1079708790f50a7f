#version 450
// The executed graph test's draw pass (tests/tests/staging/graph_exec.rs): a full-screen
// triangle (fullscreen.vert) filling one subresource with the colour pushed.

layout(location = 0) in vec2 in_uv;
layout(location = 0) out vec4 out_color;

layout(push_constant) uniform Push {
    vec4 color;
} push;

void main() {
    out_color = push.color;
}
