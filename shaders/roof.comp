#version 450
// The memory roof beside the mip generator in the benchmark: reads `read_words` 16-byte words and
// writes `write_words`, each thread reading `ratio` consecutive words and writing their sum, so it
// moves the same bytes a mip chain must (level 0 read once, every other level written once) with
// no filtering, no images and no synchronization between workgroups.

layout(local_size_x = 256) in;

layout(set = 0, binding = 0, std430) readonly buffer Src { uvec4 src[]; };
layout(set = 0, binding = 1, std430) writeonly buffer Dst { uvec4 dst[]; };

layout(push_constant, std430) uniform Push {
    uint write_words;
    uint ratio;
} pc;

void main() {
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 256u;
    if (i >= pc.write_words) {
        return;
    }
    uvec4 sum = uvec4(0);
    for (uint k = 0u; k < pc.ratio; ++k) {
        sum += src[i * pc.ratio + k];
    }
    dst[i] = sum;
}
