// Mip downsampler, in the manner of AMD's FidelityFX SPD and NVIDIA's nvpro_pyramid (written here
// from their published descriptions; no code taken).
//
// One dispatch turns level S into up to 6 more levels: each workgroup reads a 64x64 tile of level
// S from memory and writes the matching 32x32 tile of S+1, then S+2 .. S+6 of that tile. The
// first step reads memory, so it takes any extent: an odd extent is filtered with a 3-tap kernel
// whose weights are the exact area each output texel covers, so no texel is dropped. Where both
// S and S+1 have even extents, each thread also makes its texel of S+2 from the four of S+1 it
// just made, in registers. Later steps read shared memory and need even (or 1) extents, since an
// odd level's last texels filter the next tile's first: the host ends a dispatch before an odd
// level and starts the next one from it (unless one workgroup makes the whole level, so no tile
// has a neighbour; or, on small levels, a windowed dispatch continues past it: `windowed_main`),
// and a chain longer than 6 levels takes another dispatch (levels past S+6 are at most a few
// thousand texels, which one workgroup finishes in microseconds); so does one from a level over
// 2048x2048 after 2 levels (the host's planner says why). Where a dispatch's last level fits one
// 32x32 tile, the levels after it are its tail, made by the workgroup of each layer that
// finishes last (`fold_tail`): 4096x4096 takes levels 1-2, then 3-8 with 9-12 as their tail.
// The all-even kernel, which keeps no 32x32 tile in shared memory, takes no tail (run with one
// from 64x64, in the manner of its own first step, it took 4096x4096 from 57.8 to 61.5 us on an
// H200: every one of 4096 workgroups counting itself in, and one filtering 64x64 alone).
//
// Every level is rounded the way it is stored (8-bit UNORM, 8-bit sRGB or half float) before the
// next is filtered from it, so the result equals filtering each stored level in turn.
//
// sRGB decoding is a 256-entry table each workgroup builds in shared memory (the inputs are
// 8-bit codes); encoding, needed for a quarter as many texels, uses the formula. (A binary search
// over the rounding midpoints, also exact, was slower on an H100: 0.237 ms against 0.201 ms; so
// was a cubic in sqrt(c) settled by a table of those midpoints, on an H200: 0.067 against 0.058.)
#version 460
#extension GL_EXT_control_flow_attributes : require

#ifndef FORMAT
#define FORMAT rgba8
#endif

layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;

// Set when every level this dispatch reads has even extents: the odd-extent and extent-1 code
// paths then compile away, which frees registers for more workgroups in flight.
layout(constant_id = 0) const bool ALL_EVEN = false;
// Set for the windowed kernel (`windowed_main`): one workgroup per tile of the dispatch's last
// level.
layout(constant_id = 1) const bool WINDOWED = false;

#ifdef PACKED
// RGBA8 through 32-bit integer views: a texel is one register until it is used, and no store
// converts formats. Level S is also bound as a sampled image: the first step gathers it, four
// texels per instruction through the texture path, where storage-image loads left the level-1
// step at a third of the memory roof on an H200 (whatever the registers: 89 with float texels,
// 61 packed, the same 71 us for level 1 of 4096x4096).
layout(set = 0, binding = 0, r32ui) uniform readonly uimage2DArray src_level;
layout(set = 0, binding = 1, r32ui) uniform writeonly uimage2DArray dst[12];
// Nearest, clamp to edge, normalized coordinates (gathers take no others).
layout(set = 0, binding = 2) uniform usampler2DArray src_gather;
// The dispatch's last level, read back by the workgroup that makes the tail (`fold_tail`).
layout(set = 0, binding = 3, r32ui) uniform coherent readonly uimage2DArray tail_src;
#define TEXEL uint
#else
layout(set = 0, binding = 0, FORMAT) uniform readonly image2DArray src_level;
layout(set = 0, binding = 1, FORMAT) uniform writeonly image2DArray dst[12];
layout(set = 0, binding = 3, FORMAT) uniform coherent readonly image2DArray tail_src;
#define TEXEL vec4
#endif

// One arrival counter per layer of a dispatch that makes a tail, from `pc.counter` on: zero
// before the dispatch, and left zero by the workgroup that arrives last.
layout(set = 0, binding = 4, std430) coherent buffer Counters {
    uint arrived[];
} counters;

layout(push_constant, std430) uniform Push {
    ivec2 src_size;          // extent of level S
    uint levels;             // levels to make, 1..6
    uint srgb;               // 1: the stored values are sRGB-encoded
    int tile;                // windowed kernel: side of a workgroup's tile of its last level
    uint tail;               // levels the last workgroup of a layer makes after those, 0..5
    uint counter;            // the first of this dispatch's arrival counters
} pc;

// Level S+1's 32x32 tile is needed only where S+1 is made in shared memory; where every level read
// is even, S+2 is made in registers and tile_a holds 8x8 at most (S+3), which leaves 6 KiB of
// shared memory per workgroup instead of 21.
const int TILE_A = ALL_EVEN ? 8 * 8 : 32 * 32;
shared vec4 tile_a[TILE_A];
shared vec4 tile_b[16 * 16];
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
#ifdef PACKED
vec4 decode(uint u) {
    if (pc.srgb != 0u) {
        return vec4(decode_table[u & 255u], decode_table[(u >> 8) & 255u],
            decode_table[(u >> 16) & 255u], float(u >> 24) / 255.0);
    }
    return unpackUnorm4x8(u);
}
#else
vec4 decode(vec4 v) {
    if (pc.srgb != 0u) {
        uvec3 code = uvec3(v.rgb * 255.0 + 0.5);
        v.rgb = vec3(decode_table[code.r], decode_table[code.g], decode_table[code.b]);
    }
    return v;
}
#endif

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

void store_level(uint k, ivec3 p, vec4 stored) {
#ifdef PACKED
    uvec4 v = uvec4(packUnorm4x8(stored));
#else
    vec4 v = stored;
#endif
    // Constant indices: dynamic indexing of image arrays would need a device feature.
    switch (k) {
        case 0u: imageStore(dst[0], p, v); break;
        case 1u: imageStore(dst[1], p, v); break;
        case 2u: imageStore(dst[2], p, v); break;
        case 3u: imageStore(dst[3], p, v); break;
        case 4u: imageStore(dst[4], p, v); break;
        case 5u: imageStore(dst[5], p, v); break;
        case 6u: imageStore(dst[6], p, v); break;
        case 7u: imageStore(dst[7], p, v); break;
        case 8u: imageStore(dst[8], p, v); break;
        case 9u: imageStore(dst[9], p, v); break;
        case 10u: imageStore(dst[10], p, v); break;
        default: imageStore(dst[11], p, v); break;
    }
}

TEXEL load(ivec3 p) {
#ifdef PACKED
    return imageLoad(src_level, p).r;
#else
    return imageLoad(src_level, p);
#endif
}

vec4 fetch(ivec3 p) {
    return decode(load(p));
}

vec4 fetch_tail(ivec3 p) {
#ifdef PACKED
    return decode(imageLoad(tail_src, p).r);
#else
    return decode(imageLoad(tail_src, p));
#endif
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

// Level S (in memory, extent `in_size`) -> a 32x32 tile of S+1 at `origin_out`, into tile_a and
// dst[0]. Answers whether it also made the 16x16 tile of S+2 (into tile_b and dst[1]): when
// `fuse` is set and both S and S+1 have even extents.
bool first_step(ivec2 in_size, ivec2 origin_out, bool fuse, int layer) {
    ivec2 out_size = half_size(in_size);
    if (ALL_EVEN || ((in_size.x | in_size.y) & 1) == 0) {
        // Both extents even: each thread makes a 2x2 quad of outputs from a 4x4 block of inputs,
        // with all 16 loads issued before any arithmetic.
        ivec2 quad = ivec2(int(gl_LocalInvocationIndex % 16u), int(gl_LocalInvocationIndex / 16u));
        ivec2 g0 = origin_out + 2 * quad;
        ivec3 p = ivec3(2 * g0, layer);
        // Raw texels, decoded where used: in the packed form 16 registers rather than 64.
        TEXEL t[16];
#ifdef PACKED
        // Each gather samples the corner shared by a 2x2 block, whose four texels it returns as
        // (x0, y1), (x1, y1), (x1, y0), (x0, y0). Past the edge the sampler clamps, as min()
        // does below.
        vec2 inv = 1.0 / vec2(in_size);
        for (int by = 0; by < 2; ++by) {
            for (int bx = 0; bx < 2; ++bx) {
                vec2 corner = vec2(p.xy + 2 * ivec2(bx, by) + 1) * inv;
                uvec4 q = textureGather(src_gather, vec3(corner, float(layer)), 0);
                int b = 8 * by + 2 * bx;
                t[b] = q.w;
                t[b + 1] = q.z;
                t[b + 4] = q.x;
                t[b + 5] = q.y;
            }
        }
#else
        for (int y = 0; y < 4; ++y) {
            for (int x = 0; x < 4; ++x) {
                ivec3 q = min(p + ivec3(x, y, 0), ivec3(in_size - 1, layer));
                t[y * 4 + x] = load(q);
            }
        }
#endif
        // S+1 even too: this thread's 2x2 of S+1 is exactly the footprint of one texel of S+2.
        bool fused = fuse && (ALL_EVEN || ((out_size.x | out_size.y) & 1) == 0);
        // S+1 goes to shared memory only for a step that reads it there.
        bool keep = !fused && pc.levels > 1u;
        vec4 next = vec4(0.0);
        for (int j = 0; j < 2; ++j) {
            for (int i = 0; i < 2; ++i) {
                ivec2 g = g0 + ivec2(i, j);
                int b = 8 * j + 2 * i;
                vec4 acc = 0.25 * (decode(t[b]) + decode(t[b + 1]) + decode(t[b + 4]) + decode(t[b + 5]));
                vec4 stored;
                acc = quantize(acc, stored);
                next += acc;
                ivec2 local = 2 * quad + ivec2(i, j);
                if (!ALL_EVEN && keep) {
                    tile_a[local.y * 32 + local.x] = acc;
                }
                if (all(lessThan(g, out_size))) {
                    store_level(0u, ivec3(g, layer), stored);
                }
            }
        }
        if (fused) {
            ivec2 g = origin_out / 2 + quad;
            vec4 stored;
            tile_b[quad.y * 16 + quad.x] = quantize(0.25 * next, stored);
            if (all(lessThan(g, half_size(out_size)))) {
                store_level(1u, ivec3(g, layer), stored);
            }
        }
        barrier();
        return fused;
    }
#ifdef PACKED
    // An odd extent, gathered: each thread makes a 2x2 quad of S+1, whose taps (up to 3 a
    // dimension) span at most 5x5 texels of S from `base`; nine gathers of 2x2 blocks cover 6x6,
    // where storage-image loads took up to 36 (4095x4095's level 1: 146 us that way). Loops are
    // unrolled so every index into `t` is a constant and it stays in registers; the sums run in
    // the order of the loads path's, so the values are the same.
    ivec2 quad = ivec2(int(gl_LocalInvocationIndex % 16u), int(gl_LocalInvocationIndex / 16u));
    ivec2 g0 = origin_out + 2 * quad;
    ivec2 base = ivec2(in_size.x == 1 ? 0 : 2 * g0.x, in_size.y == 1 ? 0 : 2 * g0.y);
    uint t[36];
    vec2 inv = 1.0 / vec2(in_size);
    [[unroll]] for (int by = 0; by < 3; ++by) {
        [[unroll]] for (int bx = 0; bx < 3; ++bx) {
            vec2 corner = vec2(base + 2 * ivec2(bx, by) + 1) * inv;
            uvec4 q = textureGather(src_gather, vec3(corner, float(layer)), 0);
            int b = 12 * by + 2 * bx;
            t[b] = q.w;
            t[b + 1] = q.z;
            t[b + 6] = q.x;
            t[b + 7] = q.y;
        }
    }
    [[unroll]] for (int j = 0; j < 2; ++j) {
        [[unroll]] for (int i = 0; i < 2; ++i) {
            ivec2 local = 2 * quad + ivec2(i, j);
            ivec2 g = g0 + ivec2(i, j);
            if (all(lessThan(g, out_size))) {
                // Each output's taps start 2 texels after its neighbour's (at `base` for an
                // extent of 1, where only i = 0 or j = 0 is in range).
                Taps tx = taps(g.x, in_size.x);
                Taps ty = taps(g.y, in_size.y);
                vec4 acc = vec4(0.0);
                [[unroll]] for (int jj = 0; jj < 3; ++jj) {
                    [[unroll]] for (int ii = 0; ii < 3; ++ii) {
                        if (jj < ty.count && ii < tx.count) {
                            acc += tx.w[ii] * ty.w[jj] * decode(t[(2 * j + jj) * 6 + 2 * i + ii]);
                        }
                    }
                }
                vec4 stored;
                acc = quantize(acc, stored);
                tile_a[local.y * 32 + local.x] = acc;
                store_level(0u, ivec3(g, layer), stored);
            }
        }
    }
#else
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
                acc += tx.w[i] * ty.w[j] * fetch(ivec3(tx.base + i, ty.base + j, layer));
            }
        }
        vec4 stored;
        acc = quantize(acc, stored);
        tile_a[local.y * 32 + local.x] = acc;
        store_level(0u, ivec3(g, layer), stored);
    }
#endif
    barrier();
    return false;
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

// Windowed kernel, for dispatches that cross odd levels (where a tile's last texels filter its
// neighbour's first). Each workgroup makes a tile of T x T texels of the dispatch's last level,
// S+L, and every texel of each level that they depend on: walking back, the window of level k-1
// is [2 lo, 2 hi) of level k's window [lo, hi), one texel more where level k-1 is odd (its
// 3-tap filter), all of it where it is 1. The host keeps (T + 1) 2^(L-1) <= 33, so S+1's window
// is at most 32x32 and S+2's 16x16, and so on: they alternate between tile_a and tile_b.
// Neighbouring windows overlap and are computed twice; each texel is stored by one workgroup
// only, the one whose tile holds the last-level texel it halves down to (clamped to the last
// level's extent, for the odd tails).
ivec2 window_lo(ivec2 lo, ivec2 n) {
    return ivec2(n.x == 1 ? 0 : 2 * lo.x, n.y == 1 ? 0 : 2 * lo.y);
}

int window_hi1(int hi, int n) {
    return n == 1 ? 1 : ((n & 1) == 0 ? 2 * hi : min(2 * hi + 1, n));
}

ivec2 window_hi(ivec2 hi, ivec2 n) {
    return ivec2(window_hi1(hi.x, n.x), window_hi1(hi.y, n.y));
}

void windowed_main(int layer) {
    int last = int(pc.levels);
    // Extents of levels S .. S+L (L <= 5), and each level's window. Loops over levels have
    // constant bounds and are unrolled, so these arrays stay in registers (indexed by a loop
    // variable they went to memory: a first cut of this kernel, 5 levels from level 0 of
    // 1920x1080, took 0.072 ms that way and 0.054 unrolled).
    ivec2 size[6];
    size[0] = pc.src_size;
    [[unroll]] for (int k = 1; k <= 5; ++k) {
        size[k] = half_size(size[k - 1]);
    }
    ivec2 lo[6];
    ivec2 hi[6];
    ivec2 tile = ivec2(gl_WorkGroupID.xy);
    ivec2 last_size = size[0];
    [[unroll]] for (int k = 1; k <= 5; ++k) {
        if (k == last) {
            last_size = size[k];
        }
    }
    [[unroll]] for (int k = 5; k >= 1; --k) {
        if (k >= last) {
            lo[k] = tile * pc.tile;
            hi[k] = min(lo[k] + pc.tile, last_size);
        } else {
            lo[k] = window_lo(lo[k + 1], size[k]);
            hi[k] = window_hi(hi[k + 1], size[k]);
        }
    }
    [[unroll]] for (int k = 1; k <= 5; ++k) {
        if (k > last) {
            break;
        }
        ivec2 w = hi[k] - lo[k];
        ivec2 prev_w = k > 1 ? hi[k - 1] - lo[k - 1] : ivec2(0);
        bool into_a = (k & 1) == 1;
        for (int o = int(gl_LocalInvocationIndex); o < w.x * w.y; o += 256) {
            ivec2 g = lo[k] + ivec2(o % w.x, o / w.x);
            Taps tx = taps(g.x, size[k - 1].x);
            Taps ty = taps(g.y, size[k - 1].y);
            vec4 acc = vec4(0.0);
            for (int j = 0; j < ty.count; ++j) {
                for (int i = 0; i < tx.count; ++i) {
                    ivec2 t = ivec2(tx.base + i, ty.base + j);
                    vec4 v;
                    if (k == 1) {
                        v = fetch(ivec3(t, layer));
                    } else {
                        ivec2 r = t - lo[k - 1];
                        // Level k-1 is in the other array.
                        v = read_shared(!into_a, r.y * prev_w.x + r.x);
                    }
                    acc += tx.w[i] * ty.w[j] * v;
                }
            }
            vec4 stored;
            acc = quantize(acc, stored);
            if (into_a) {
                tile_a[o] = acc;
            } else {
                tile_b[o] = acc;
            }
            // The owner: the workgroup of the last-level texel this one halves down to.
            ivec2 owner = min(g >> (last - k), last_size - 1) / pc.tile;
            if (owner == tile) {
                store_level(uint(k - 1), ivec3(g, layer), stored);
            }
        }
        barrier();
    }
}

// The tail of a chain, folded into the dispatch before it: where the dispatch's last level T fits
// one 32x32 tile, the workgroup of each layer that finishes last (counted in on an atomic) reads
// T back into shared memory and makes levels T+1 .. T+tail there, as a one-workgroup dispatch
// would, without that dispatch's launch and barrier. Every other workgroup only counts itself
// in. (Folding from larger levels lost: 4095x4095's tail from 63x63, its first step filtering
// memory in one workgroup, took the chain from 133 to 141 us on an H200.)
shared bool last_to_arrive;

void fold_tail(int layer) {
    // This workgroup's stores of T are made visible before it counts itself in.
    memoryBarrierImage();
    barrier();
    if (gl_LocalInvocationIndex == 0u) {
        uint slot = pc.counter + uint(layer);
        uint groups = gl_NumWorkGroups.x * gl_NumWorkGroups.y;
        last_to_arrive = atomicAdd(counters.arrived[slot], 1u) == groups - 1u;
        if (last_to_arrive) {
            // Every other workgroup of this layer has counted itself in: the counter is ready
            // for the next dispatch that uses it.
            counters.arrived[slot] = 0u;
        }
    }
    barrier();
    if (!last_to_arrive) {
        return;
    }
    memoryBarrierImage();
    ivec2 size = pc.src_size;
    for (uint k = 0u; k < pc.levels; ++k) {
        size = half_size(size);
    }
    // T, at most 32x32, into tile_a as step 1 of a tiled dispatch finds level S+1 there.
    for (uint r = 0u; r < 4u; ++r) {
        uint o = gl_LocalInvocationIndex + 256u * r;
        ivec2 g = ivec2(int(o % 32u), int(o / 32u));
        if (all(lessThan(g, size))) {
            tile_a[g.y * 32 + g.x] = fetch_tail(ivec3(g, layer));
        }
    }
    barrier();
    for (uint step = 1u; step <= pc.tail; ++step) {
        shared_step(step, size, ivec2(0), pc.levels + step - 1u, layer);
        size = half_size(size);
    }
}

void tiled_main(int layer) {
    ivec2 origin = ivec2(gl_WorkGroupID.xy) * 32;
    bool fused = first_step(pc.src_size, origin, pc.levels > 1u, layer);
    ivec2 size = half_size(pc.src_size);
    uint step = 1u;
    if (fused) {
        origin = ivec2(size.x == 1 ? 0 : origin.x / 2, size.y == 1 ? 0 : origin.y / 2);
        size = half_size(size);
        step = 2u;
    }
    for (; step < pc.levels; ++step) {
        shared_step(step, size, origin, step, layer);
        origin = ivec2(size.x == 1 ? 0 : origin.x / 2, size.y == 1 ? 0 : origin.y / 2);
        size = half_size(size);
    }
}

void main() {
    if (pc.srgb != 0u) {
        build_tables();
    }
    int layer = int(gl_WorkGroupID.z);
    if (WINDOWED) {
        windowed_main(layer);
    } else {
        tiled_main(layer);
    }
    // All-even dispatches keep no 32x32 tile in shared memory, so they never take a tail.
    if (!ALL_EVEN && pc.tail > 0u) {
        fold_tail(layer);
    }
}
