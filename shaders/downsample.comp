// Single-pass mip downsampler, in the manner of AMD's FidelityFX SPD and NVIDIA's nvpro_pyramid
// (written here from their published descriptions; no code taken).
//
// One dispatch turns level S into up to 12 more levels:
// - phase 1: each workgroup reads a 64x64 tile of level S from memory and writes the matching
//   32x32 tile of S+1, then S+2 .. S+6 from shared memory;
// - phase 2: the last workgroup of each layer to finish (an atomic counter) reads level S+6 back
//   (at most 64x64) and writes S+7 .. S+12 the same way.
// The first step of each phase reads memory, so it takes any extent: an odd extent is filtered
// with a 3-tap kernel whose weights are the exact area each output texel covers, so no texel is
// dropped. Steps from shared memory need even (or 1) extents; the host ends a dispatch before an
// odd level and starts the next one from it.
//
// Every level is rounded the way it is stored (8-bit UNORM, 8-bit sRGB or half float) before the
// next is filtered from it, so the result equals filtering each stored level in turn.
//
// sRGB decoding is a 256-entry table each workgroup builds in shared memory (the inputs are
// 8-bit codes); encoding, needed for a quarter as many texels, uses the formula. (A binary search
// over the rounding midpoints, also exact, was slower on an H100: 0.237 ms against 0.201 ms.)
#version 460

#ifndef FORMAT
#define FORMAT rgba8
#endif

layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;

// Set when every level this dispatch reads has even extents: the odd-extent and extent-1 code
// paths then compile away, which frees registers for more workgroups in flight.
layout(constant_id = 0) const bool ALL_EVEN = false;

layout(set = 0, binding = 0, FORMAT) uniform readonly image2DArray src_level;
layout(set = 0, binding = 1, FORMAT) uniform writeonly image2DArray dst[12];
layout(set = 0, binding = 2, std430) coherent buffer Counters { uint counters[]; };
// Level S+6 again: written by every workgroup, read back by the last one, so coherent.
layout(set = 0, binding = 3, FORMAT) uniform coherent image2DArray mid;

layout(push_constant, std430) uniform Push {
    ivec2 src_size;          // extent of level S
    uint phase1_levels;      // 1..6
    uint phase2_levels;      // 0..6; only when phase1_levels == 6
    uint srgb;               // 1: the stored values are sRGB-encoded
    uint groups_per_layer;   // workgroups in x * y
    uint counter_base;       // this dispatch's first counter
    uint pad;
} pc;

shared vec4 tile_a[32 * 32];
shared vec4 tile_b[16 * 16];
shared bool last_group;
shared float decode_table[256];

float to_linear(float c) {
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

float to_srgb(float c) {
    return c <= 0.0031308 ? c * 12.92 : 1.055 * pow(c, 1.0 / 2.4) - 0.055;
}

void build_tables() {
    decode_table[gl_LocalInvocationIndex] = to_linear(float(gl_LocalInvocationIndex) / 255.0);
    barrier();
}

// Stored value -> linear.
vec4 decode(vec4 v) {
    if (pc.srgb != 0u) {
        uvec3 code = uvec3(v.rgb * 255.0 + 0.5);
        v.rgb = vec3(decode_table[code.r], decode_table[code.g], decode_table[code.b]);
    }
    return v;
}

// The sRGB code nearest to linear `c`.
uint srgb_code(float c) {
    return uint(round(clamp(to_srgb(c), 0.0, 1.0) * 255.0));
}

// Rounds linear `v` the way storing it rounds, returning the linear value it reads back as and
// setting `stored` to the value to write.
vec4 quantize(vec4 v, out vec4 stored) {
#ifdef HALF
    stored = vec4(unpackHalf2x16(packHalf2x16(v.xy)), unpackHalf2x16(packHalf2x16(v.zw)));
    return stored;
#else
    stored = round(clamp(v, 0.0, 1.0) * 255.0) / 255.0;
    if (pc.srgb != 0u) {
        uvec3 code = uvec3(srgb_code(v.r), srgb_code(v.g), srgb_code(v.b));
        stored.rgb = vec3(code) / 255.0;
        return vec4(decode_table[code.r], decode_table[code.g], decode_table[code.b], stored.a);
    }
    return stored;
#endif
}

void store_level(uint k, ivec3 p, vec4 v) {
    // Constant indices: dynamic indexing of image arrays would need a device feature.
    switch (k) {
        case 0u: imageStore(dst[0], p, v); break;
        case 1u: imageStore(dst[1], p, v); break;
        case 2u: imageStore(dst[2], p, v); break;
        case 3u: imageStore(dst[3], p, v); break;
        case 4u: imageStore(dst[4], p, v); break;
        case 5u: imageStore(mid, p, v); break;
        case 6u: imageStore(dst[6], p, v); break;
        case 7u: imageStore(dst[7], p, v); break;
        case 8u: imageStore(dst[8], p, v); break;
        case 9u: imageStore(dst[9], p, v); break;
        case 10u: imageStore(dst[10], p, v); break;
        default: imageStore(dst[11], p, v); break;
    }
}

vec4 fetch(bool from_mid, ivec3 p) {
    return decode(from_mid ? imageLoad(mid, p) : imageLoad(src_level, p));
}

// The taps of output texel `i` along a dimension whose source extent is `n`.
struct Taps {
    int base;
    int count;
    vec3 w;
};

Taps taps(int i, int n) {
    Taps t;
    t.base = 2 * i;
    if (n == 1) {
        t.base = 0;
        t.count = 1;
        t.w = vec3(1.0, 0.0, 0.0);
    } else if ((n & 1) == 0) {
        t.count = 2;
        t.w = vec3(0.5, 0.5, 0.0);
    } else {
        // n = 2m + 1 texels onto m: output i covers [i * n / m, (i + 1) * n / m), which overlaps
        // texels 2i, 2i + 1 and 2i + 2 by (m - i), m and (i + 1) parts in n.
        int m = n >> 1;
        float inv = 1.0 / float(n);
        t.count = 3;
        t.w = vec3(float(m - i) * inv, float(m) * inv, float(i + 1) * inv);
    }
    return t;
}

ivec2 half_size(ivec2 n) {
    return max(n >> 1, ivec2(1));
}

// Level `in_size` (in memory) -> a 32x32 tile of the next level at `origin_out`, into tile_a and
// into dst[k].
void first_step(bool from_mid, ivec2 in_size, ivec2 origin_out, uint k, int layer) {
    ivec2 out_size = half_size(in_size);
    if (ALL_EVEN || ((in_size.x | in_size.y) & 1) == 0) {
        // Both extents even: each thread makes a 2x2 quad of outputs from a 4x4 block of inputs,
        // with all 16 loads issued before any arithmetic.
        ivec2 quad = ivec2(int(gl_LocalInvocationIndex % 16u), int(gl_LocalInvocationIndex / 16u));
        ivec2 g0 = origin_out + 2 * quad;
        ivec3 p = ivec3(2 * g0, layer);
        vec4 t[16];
        for (int y = 0; y < 4; ++y) {
            for (int x = 0; x < 4; ++x) {
                ivec3 q = min(p + ivec3(x, y, 0), ivec3(in_size - 1, layer));
                t[y * 4 + x] = fetch(from_mid, q);
            }
        }
        for (int j = 0; j < 2; ++j) {
            for (int i = 0; i < 2; ++i) {
                ivec2 g = g0 + ivec2(i, j);
                int b = 8 * j + 2 * i;
                vec4 acc = 0.25 * (t[b] + t[b + 1] + t[b + 4] + t[b + 5]);
                vec4 stored;
                acc = quantize(acc, stored);
                ivec2 local = 2 * quad + ivec2(i, j);
                tile_a[local.y * 32 + local.x] = acc;
                if (all(lessThan(g, out_size))) {
                    store_level(k, ivec3(g, layer), stored);
                }
            }
        }
        barrier();
        return;
    }
    for (uint r = 0u; r < 4u; ++r) {
        uint o = gl_LocalInvocationIndex + 256u * r;
        ivec2 local = ivec2(int(o % 32u), int(o / 32u));
        ivec2 g = origin_out + local;
        if (any(greaterThanEqual(g, out_size))) {
            continue;
        }
        Taps tx = taps(g.x, in_size.x);
        Taps ty = taps(g.y, in_size.y);
        vec4 acc = vec4(0.0);
        for (int j = 0; j < ty.count; ++j) {
            for (int i = 0; i < tx.count; ++i) {
                acc += tx.w[i] * ty.w[j] * fetch(from_mid, ivec3(tx.base + i, ty.base + j, layer));
            }
        }
        vec4 stored;
        acc = quantize(acc, stored);
        tile_a[local.y * 32 + local.x] = acc;
        store_level(k, ivec3(g, layer), stored);
    }
    barrier();
}

vec4 read_shared(bool from_a, int index) {
    return from_a ? tile_a[index] : tile_b[index];
}

// Step `step` (1..5) from shared memory: level `in_size`, whose tile starts at `origin_in` and is
// (32 >> (step - 1)) texels wide, -> the next level into the other shared array and dst[k].
void shared_step(uint step, ivec2 in_size, ivec2 origin_in, uint k, int layer) {
    bool from_a = (step & 1u) == 1u;
    int in_width = 32 >> (step - 1u);
    int out_width = in_width >> 1;
    ivec2 out_size = half_size(in_size);
    // A dimension of extent 1 has a single tile at origin 0.
    ivec2 origin_out = ivec2(in_size.x == 1 ? 0 : origin_in.x / 2, in_size.y == 1 ? 0 : origin_in.y / 2);
    int t = int(gl_LocalInvocationIndex);
    if (t < out_width * out_width) {
        ivec2 local = ivec2(t % out_width, t / out_width);
        ivec2 g = origin_out + local;
        if (all(lessThan(g, out_size))) {
            vec4 acc = vec4(0.0);
            if (ALL_EVEN || ((in_size.x | in_size.y) & 1) == 0) {
                ivec2 s = 2 * g - origin_in;
                int i = s.y * in_width + s.x;
                acc = 0.25 * (read_shared(from_a, i) + read_shared(from_a, i + 1)
                    + read_shared(from_a, i + in_width) + read_shared(from_a, i + in_width + 1));
            } else {
                Taps tx = taps(g.x, in_size.x);
                Taps ty = taps(g.y, in_size.y);
                for (int j = 0; j < ty.count; ++j) {
                    for (int i = 0; i < tx.count; ++i) {
                        ivec2 s = ivec2(tx.base + i, ty.base + j) - origin_in;
                        acc += tx.w[i] * ty.w[j] * read_shared(from_a, s.y * in_width + s.x);
                    }
                }
            }
            vec4 stored;
            acc = quantize(acc, stored);
            if (from_a) {
                tile_b[local.y * out_width + local.x] = acc;
            } else {
                tile_a[local.y * out_width + local.x] = acc;
            }
            store_level(k, ivec3(g, layer), stored);
        }
    }
    barrier();
}

// Runs `levels` levels from level `in_size` (in memory; mid level when `from_mid`), writing dst[k0..].
void run_phase(bool from_mid, ivec2 in_size, ivec2 origin_out, uint k0, uint levels, int layer) {
    first_step(from_mid, in_size, origin_out, k0, layer);
    ivec2 size = half_size(in_size);
    ivec2 origin = origin_out;
    for (uint step = 1u; step < levels; ++step) {
        shared_step(step, size, origin, k0 + step, layer);
        origin = ivec2(size.x == 1 ? 0 : origin.x / 2, size.y == 1 ? 0 : origin.y / 2);
        size = half_size(size);
    }
}

void main() {
    if (pc.srgb != 0u) {
        build_tables();
    }
    int layer = int(gl_WorkGroupID.z);
    ivec2 origin_out = ivec2(gl_WorkGroupID.xy) * 32;
    run_phase(false, pc.src_size, origin_out, 0u, pc.phase1_levels, layer);
    if (pc.phase2_levels == 0u) {
        return;
    }
    // Make this workgroup's level S+6 visible, then count it in; the last one continues.
    memoryBarrierImage();
    memoryBarrier();
    barrier();
    if (gl_LocalInvocationIndex == 0u) {
        uint done = atomicAdd(counters[pc.counter_base + uint(layer)], 1u);
        last_group = done == pc.groups_per_layer - 1u;
    }
    barrier();
    if (!last_group) {
        return;
    }
    memoryBarrierImage();
    ivec2 mid = pc.src_size;
    for (int i = 0; i < 6; ++i) {
        mid = half_size(mid);
    }
    run_phase(true, mid, ivec2(0), 6u, pc.phase2_levels, layer);
}
