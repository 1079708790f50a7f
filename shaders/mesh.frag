#version 450
#extension GL_GOOGLE_include_directive : require
// Mesh fragment stage: glTF's metallic-roughness model (or KHR_materials_pbrSpecularGlossiness)
// with its five textures, each through its own coordinate set and KHR_texture_transform, vertex
// colours, alpha mask and blend, double-sided lighting. Lit by one directional light (GGX
// specular, Lambert diffuse) and an analytic sky for ambient, so normal, roughness and metallic
// maps all show; written to the HDR scene target, which the tonemap brings back into range.

layout(location = 0) in vec3 in_world;
layout(location = 1) in vec3 in_normal;
layout(location = 2) in vec4 in_tangent;
layout(location = 3) in vec2 in_uv0;
layout(location = 4) in vec2 in_uv1;
layout(location = 5) in vec4 in_color;

// Texture slots, in the order of the bindings (scene.rs has the same numbers).
const uint BASE_COLOR = 0u;
const uint METALLIC_ROUGHNESS = 1u;
const uint NORMAL = 2u;
const uint OCCLUSION = 3u;
const uint EMISSIVE = 4u;

// in_flags.z
const uint MASK = 1u;
const uint BLEND = 2u;
const uint SPECULAR_GLOSSINESS = 4u;
const uint DOUBLE_SIDED = 8u;

layout(set = 0, binding = 0) uniform sampler2D base_color_texture;
layout(set = 0, binding = 1) uniform sampler2D metallic_roughness_texture;
layout(set = 0, binding = 2) uniform sampler2D normal_texture;
layout(set = 0, binding = 3) uniform sampler2D occlusion_texture;
layout(set = 0, binding = 4) uniform sampler2D emissive_texture;
#include "material.glsl"

// The material's flags (in_flags.xyz), passed on flat by the vertex stage: branches on a
// varying, not on the uniform itself. lavapipe (Mesa 22.3) compiles a new variant of a shader
// whose branches read a uniform buffer every time a draw binds other contents, and keeps them:
// one compile per draw per frame, and memory that grows every frame.
layout(location = 6) flat in uvec3 in_flags;

layout(push_constant) uniform Push {
    mat4 clip_from_object;
    vec4 world_rows[3];
    vec4 eye;
} push;

layout(location = 0) out vec4 out_color;

const float PI = 3.14159265;
const vec3 LIGHT_DIR = vec3(0.4, 0.8, 0.45);
const vec3 LIGHT = vec3(5.5);

bool has(uint slot) {
    return (in_flags.x & (1u << slot)) != 0u;
}

vec2 uv_of(uint slot) {
    vec3 uv = vec3((in_flags.y & (1u << slot)) != 0u ? in_uv1 : in_uv0, 1.0);
    return vec2(dot(material.transforms[2u * slot].xyz, uv),
                dot(material.transforms[2u * slot + 1u].xyz, uv));
}

// Separate samplers, not an array: indexing one with a function argument would need the
// shaderSampledImageArrayDynamicIndexing feature.
#define SAMPLE(texture_, slot) texture(texture_, uv_of(slot))

// The ambient light arriving from direction `d`: a sky above, a darker ground below.
vec3 sky(vec3 d) {
    float t = clamp(d.y * 0.5 + 0.5, 0.0, 1.0);
    return mix(vec3(0.16, 0.15, 0.14), vec3(0.55, 0.62, 0.75), t);
}

void main() {
    vec4 base = material.base_color * in_color;
    if (has(BASE_COLOR)) {
        base *= SAMPLE(base_color_texture, BASE_COLOR);
    }
    uint mode = in_flags.z;
    if ((mode & MASK) != 0u && base.a < material.emissive_cutoff.w) {
        discard;
    }
    float alpha = (mode & BLEND) != 0u ? base.a : 1.0;
    vec3 emissive = material.emissive_cutoff.xyz;
    if (has(EMISSIVE)) {
        emissive *= SAMPLE(emissive_texture, EMISSIVE).rgb;
    }
    vec3 n = in_normal;
    if (dot(n, n) < 1e-12) {
        // Lines and points without normals.
        out_color = vec4(base.rgb + emissive, alpha);
        return;
    }
    n = normalize(n);
    if ((mode & DOUBLE_SIDED) != 0u && !gl_FrontFacing) {
        n = -n;
    }
    vec3 geometric = n;
    if (has(NORMAL)) {
        vec3 t = in_tangent.xyz;
        t = normalize(t - n * dot(n, t));
        float sign = in_tangent.w < 0.0 ? -1.0 : 1.0;
        if ((mode & DOUBLE_SIDED) != 0u && !gl_FrontFacing) {
            sign = -sign;
            t = -t;
        }
        vec3 b = cross(n, t) * sign;
        vec3 m = SAMPLE(normal_texture, NORMAL).xyz * 2.0 - 1.0;
        m.xy *= material.factors.z;
        n = normalize(mat3(t, b, n) * m);
    }

    vec3 diffuse_color;
    vec3 f0;
    float roughness;
    if ((mode & SPECULAR_GLOSSINESS) != 0u) {
        vec3 specular = material.specular_glossiness.xyz;
        float glossiness = material.specular_glossiness.w;
        if (has(METALLIC_ROUGHNESS)) {
            vec4 sg = SAMPLE(metallic_roughness_texture, METALLIC_ROUGHNESS);
            specular *= sg.rgb;
            glossiness *= sg.a;
        }
        f0 = specular;
        diffuse_color = base.rgb * (1.0 - max(max(specular.r, specular.g), specular.b));
        roughness = 1.0 - glossiness;
    } else {
        float metallic = material.factors.x;
        roughness = material.factors.y;
        if (has(METALLIC_ROUGHNESS)) {
            vec4 mr = SAMPLE(metallic_roughness_texture, METALLIC_ROUGHNESS);
            roughness *= mr.g;
            metallic *= mr.b;
        }
        f0 = mix(vec3(0.04), base.rgb, metallic);
        diffuse_color = base.rgb * (1.0 - metallic);
    }
    roughness = clamp(roughness, 0.04, 1.0);
    float a = roughness * roughness;

    vec3 v = normalize(push.eye.xyz - in_world);
    vec3 l = normalize(LIGHT_DIR);
    vec3 h = normalize(l + v);
    float nl = max(dot(n, l), 0.0);
    float nv = max(dot(n, v), 1e-4);
    float nh = max(dot(n, h), 0.0);
    float vh = max(dot(v, h), 0.0);
    vec3 fresnel = f0 + (1.0 - f0) * pow(1.0 - vh, 5.0);
    float d = a * a / (PI * pow(nh * nh * (a * a - 1.0) + 1.0, 2.0));
    float k = a * 0.5;
    float g = nl / (nl * (1.0 - k) + k) * nv / (nv * (1.0 - k) + k);
    vec3 specular = fresnel * d * g / max(4.0 * nl * nv, 1e-4);
    vec3 direct = ((1.0 - fresnel) * diffuse_color / PI + specular) * LIGHT * nl;

    // Ambient: the sky around the normal for diffuse; for specular, the sky in the mirror
    // direction, blurred towards the normal's with roughness.
    vec3 r = reflect(-v, n);
    vec3 ambient_fresnel = f0 + (max(vec3(1.0 - roughness), f0) - f0) * pow(1.0 - nv, 5.0);
    vec3 ambient = diffuse_color * sky(n) + ambient_fresnel * sky(normalize(mix(r, n, a)));
    if (has(OCCLUSION)) {
        ambient *= 1.0 + material.factors.w * (SAMPLE(occlusion_texture, OCCLUSION).r - 1.0);
    }
    out_color = vec4(direct + ambient + emissive, alpha);
}
