#version 450
// The executed graph test's compute pass (tests/tests/staging/graph_exec.rs): copies `words`
// words from a storage buffer range to another, one invocation per word. The descriptors bind
// exactly the ranges the pass declares, so synchronization validation sees only those bytes.

layout(local_size_x = 64) in;

layout(set = 0, binding = 0) readonly buffer Src { uint src[]; };
layout(set = 0, binding = 1) writeonly buffer Dst { uint dst[]; };

layout(push_constant) uniform Push {
    uint words;
} push;

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < push.words) {
        dst[i] = src[i];
    }
}
