# Sourced by scripts/test and scripts/demo: installs the system packages a fresh Debian/Ubuntu
# machine lacks, or prints the exact command when it cannot install them itself.
# Usage: need_packages PKG...

need_packages() {
    local missing=()
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
    if [ "$(id -u)" -eq 0 ]; then
        echo "installing: ${missing[*]}" >&2
        sh -c "$cmd" >&2
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        echo "installing with sudo: ${missing[*]}" >&2
        sudo sh -c "$cmd" >&2
    else
        echo "missing packages: ${missing[*]}" >&2
        echo "install them with:  sudo sh -c '$cmd'" >&2
        exit 1
    fi
}

need_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "cargo is missing: install Rust from https://rustup.rs, then run this again" >&2
        exit 1
    fi
}

# The Vulkan loader, lavapipe (Mesa's software Vulkan) and the Khronos validation layers, plus a
# C++ compiler for VMA, which vk-mem builds from source.
VULKAN_PACKAGES=(libvulkan1 mesa-vulkan-drivers vulkan-validationlayers g++)
