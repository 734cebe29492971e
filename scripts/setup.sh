#!/usr/bin/env bash
# One-time set-up on a fresh Debian 12 machine: cross compilers, QEMU and tinygen with all extras.
# Safe to re-run: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# chromium: headless, checks that the training report (run/report.html) renders (tests).
# openocd: flashing the real boards offline (tinygen flash, pio run -t upload).
# clang-22 / llvm-22 (bookworm-security): the Xtensa backend for ESP32 / ESP32-S3; binutils-xtensa-lx106:
# GNU ld for Xtensa (lld cannot link it). qemu-system-misc holds the Xtensa twin (QEMU sim).
DEBIAN_PACKAGES=(gcc make gcc-arm-none-eabi libnewlib-arm-none-eabi gcc-riscv64-unknown-elf
                 qemu-system-arm qemu-system-misc chromium openocd clang-22 llvm-22
                 binutils-xtensa-lx106)
missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

echo "setup: installing tinygen and its Python dependencies (TensorFlow, TFLite-Micro, PlatformIO, ...)"
python3 -m pip install -q --disable-pip-version-check -e ".[all]"
echo "setup: done ($(tinygen --version))"
