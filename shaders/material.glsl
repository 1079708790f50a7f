// The material's uniform block (set 0, binding 5), shared by the mesh stages.
layout(set = 0, binding = 5) uniform Material {
    vec4 base_color;
    // xyz: emissive factor; w: alpha cutoff
    vec4 emissive_cutoff;
    // metallic, roughness, normal scale, occlusion strength
    vec4 factors;
    // xyz: specular factor; w: glossiness factor
    vec4 specular_glossiness;
    // x: which slots have a texture (bit per slot), y: which use TEXCOORD_1, z: mode bits
    uvec4 flags;
    // Slot i's 2x3 coordinate transform: rows 2i and 2i+1.
    vec4 transforms[10];
} material;
