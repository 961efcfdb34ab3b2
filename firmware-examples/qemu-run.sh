#!/usr/bin/env bash
# Cargo runner for the firmware examples (see .cargo/config.toml).
#
# Usage: qemu-run.sh <path-to-elf> [extra args ignored]
#
# Boots the ELF on a QEMU MPS2 board chosen by the ELF's target directory —
# mps2-an386 (Cortex-M4F) for thumbv7em-none-eabihf, mps2-an385 (Cortex-M3, no
# FPU) for thumbv7m-none-eabi; both FLASH 0x0000_0000 4M, RAM 0x2000_0000 4M,
# SysTick 25 MHz — or by $QEMU_MACHINE/$QEMU_CPU, and decodes the defmt frames the firmware writes to
# semihosting stdout with `defmt-print`.
#
#  * `-icount shift=0`: every guest instruction advances virtual time by
#    exactly 1 ns, which makes SysTick deterministic (25 MHz on mps2 => one
#    tick per 40 instructions). `src/measure.rs` relies on this.
#  * `-semihosting-config enable=on,target=native`: semihosting calls
#    (defmt output, exit) are serviced by QEMU itself.
#  * Exit status: QEMU exits 0 on a semihosting EXIT_SUCCESS and 1 on
#    EXIT_FAILURE; `pipefail` makes that (not defmt-print's status) the status
#    of this script, so `cargo run` fails when the firmware fails. A hung
#    firmware is killed by `timeout` after $QEMU_TIMEOUT seconds (default 120)
#    and yields status 124; Ctrl-C stops the run with a non-zero status.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: $0 <elf>" >&2
    exit 2
fi
ELF="$1"
TIMEOUT="${QEMU_TIMEOUT:-120}"
QEMU="${QEMU:-qemu-system-arm}"
DEFMT_PRINT="${DEFMT_PRINT:-defmt-print}"

for tool in "$QEMU" "$DEFMT_PRINT" timeout; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "qemu-run.sh: '$tool' not found in PATH (see firmware-examples/README.md)" >&2
        exit 127
    fi
done

# --foreground: keep QEMU in our process group so Ctrl-C reaches it (plain
# `timeout` moves the command to a background group and QEMU would survive).
# </dev/null: with -nographic QEMU would otherwise grab a terminal's stdin
# (raw mode, swallowing Ctrl-C).
case "$ELF" in
    *thumbv7m-none-eabi/*) machine=mps2-an385 cpu=cortex-m3 ;;
    *) machine=mps2-an386 cpu=cortex-m4 ;;
esac
machine="${QEMU_MACHINE:-$machine}"
cpu="${QEMU_CPU:-$cpu}"

timeout --foreground "$TIMEOUT" "$QEMU" \
    -machine "$machine" -cpu "$cpu" \
    -nographic \
    -semihosting-config enable=on,target=native \
    -icount shift=0 \
    -kernel "$ELF" \
    </dev/null \
    | "$DEFMT_PRINT" -e "$ELF"
