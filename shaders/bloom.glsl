// The bloom chain's filters, shared by post.frag (the fragment passes) and bloom.comp (the same
// passes as compute dispatches, for a compute queue). The includer declares `source0`,
// `source1` and `push` (texel, mode, param) first.

vec3 box4(vec2 uv) {
    vec2 d = push.texel;
    return 0.25 * (texture(source0, uv + vec2(-d.x, -d.y)).rgb + texture(source0, uv + vec2(d.x, -d.y)).rgb
                 + texture(source0, uv + vec2(-d.x, d.y)).rgb + texture(source0, uv + vec2(d.x, d.y)).rgb);
}

vec3 tent9(vec2 uv) {
    vec2 d = push.texel;
    vec3 sum = 4.0 * texture(source0, uv).rgb;
    sum += 2.0 * (texture(source0, uv + vec2(d.x, 0.0)).rgb + texture(source0, uv - vec2(d.x, 0.0)).rgb
                + texture(source0, uv + vec2(0.0, d.y)).rgb + texture(source0, uv - vec2(0.0, d.y)).rgb);
    sum += texture(source0, uv + d).rgb + texture(source0, uv - d).rgb
         + texture(source0, uv + vec2(d.x, -d.y)).rgb + texture(source0, uv + vec2(-d.x, d.y)).rgb;
    return sum / 16.0;
}

// Modes 0-2: prefilter, downsample, upsample (see post.frag).
vec3 bloom(vec2 uv) {
    if (push.mode == 0u) {
        vec3 c = box4(uv);
        float bright = max(c.r, max(c.g, c.b));
        return c * (max(bright - push.param, 0.0) / max(bright, 1e-4));
    } else if (push.mode == 1u) {
        return box4(uv);
    }
    return tent9(uv) + texture(source1, uv).rgb;
}
