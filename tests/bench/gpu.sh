#!/usr/bin/env bash
# The WebGPU benchmark on a machine with an NVIDIA GPU, through its Vulkan driver: installs what it needs
# (Deno from npm, Debian's Chromium and the Vulkan loader, the npm packages of the bench), checks that an
# adapter other than a software one answers, then runs `deno task bench:webgpu` (Chromium: Loom beside
# TF.js's WebGPU backend; Deno: Loom alone) in under 5 minutes. Run as root from anywhere:
#   bash tests/bench/gpu.sh [--quick]
# The table goes to stdout and to tests/bench/webgpu_results.md (not written with --quick).
set -euo pipefail
cd "$(dirname "$0")/../.."

want=2.9.6
if ! command -v deno >/dev/null 2>&1 || ! deno --version | head -n 1 | grep -q " $want "; then
  npm i -g --allow-scripts=deno "deno@$want"
fi
if ! command -v chromium >/dev/null 2>&1 || ! ldconfig -p | grep -q libvulkan.so.1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libvulkan1 >/dev/null
fi
# NVIDIA's driver brings its Vulkan ICD; where it lies outside the loader's search path, point at it.
for icd in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
  /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then export VK_DRIVER_FILES="$icd"; fi
done
deno install >/dev/null


adapter=$(deno eval --unstable-webgpu \
  'const a = await navigator.gpu?.requestAdapter(); console.log(a ? [a.info.vendor, a.info.device, a.info.description].join(" ") : "none")')
echo "Deno's WebGPU adapter: $adapter" >&2
# Chromium on a real GPU: Vulkan for Dawn, the GPU blocklist off (headless servers are often listed). Without
# one, Chromium keeps its SwiftShader adapter (with these flags and no GPU it closes at once).
gpu_flags="--enable-features=Vulkan --use-vulkan=native --use-angle=vulkan --ignore-gpu-blocklist --disable-vulkan-surface"
case "$adapter" in
  none | *llvmpipe* | *lavapipe* | *SwiftShader*)
    echo "warning: no hardware adapter; the figures will be software ones" >&2
    gpu_flags=""
    ;;
esac
export LOOM_CHROMIUM_FLAGS="${LOOM_CHROMIUM_FLAGS-$gpu_flags}"

timeout 290 deno task bench:webgpu "$@"
