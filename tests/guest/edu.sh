# SPDX-License-Identifier: GPL-2.0-or-later
# Runs inside the guest (busybox sh): drives the edu device (PCI 1234:11e8)
# with nothing but sysfs, /dev/mem and busybox's devmem, and prints
# key=value lines that tests/tests/guest_edu.rs checks.
set -eu

dev=
for d in /sys/bus/pci/devices/*; do
    if [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ]; then
        dev=$d
    fi
done
if [ -z "$dev" ]; then
    echo "no PCI device 1234:11e8 in /sys/bus/pci/devices:"
    for d in /sys/bus/pci/devices/*; do
        echo "  ${d##*/} $(cat "$d/vendor"):$(cat "$d/device") class $(cat "$d/class")"
    done
    exit 1
fi
echo "bdf=${dev##*/}"
echo "vendor=$(cat "$dev/vendor")"
echo "device=$(cat "$dev/device")"
echo "class=$(cat "$dev/class")"
echo "revision=$(cat "$dev/revision")"

# BAR 0: the first line of `resource` is "start end flags".
set -- $(head -n 1 "$dev/resource")
bar=$1
echo "bar0=$bar"
echo "bar0_size=$(printf '0x%x' $(( $2 - $1 + 1 )))"
[ $(( $1 )) -ne 0 ] || { echo "BAR 0 is not assigned"; exit 1; }

# The command register (config offset 4), written through sysfs: the
# firmware enabled memory decoding (bit 1); turn it off, see the BAR stop
# answering, turn it on again.
cmd_byte() { dd if="$dev/config" bs=1 skip=4 count=1 2>/dev/null | od -An -tu1 | tr -d ' '; }
set_cmd_byte() {
    printf "\\$(printf '%o' "$1")" | dd of="$dev/config" bs=1 seek=4 count=1 conv=notrunc 2>/dev/null
}
cmd=$(cmd_byte)
echo "command_before=$(printf '0x%02x' "$cmd")"
set_cmd_byte $(( cmd & ~2 ))
echo "command_off=$(printf '0x%02x' "$(cmd_byte)")"
echo "id_off=$(printf '0x%08x' "$(devmem "$bar" 32)")"
set_cmd_byte $(( cmd | 2 ))
echo "command=$(printf '0x%02x' "$(cmd_byte)")"

# MMIO through /dev/mem (STRICT_DEVMEM allows a BAR no driver claims).
rd() { printf '0x%08x' "$(devmem $(( bar + $1 )) 32)"; }
wr() { devmem $(( bar + $1 )) 32 $(( $2 )); }

echo "id=$(rd 0x00)"

wr 0x04 0x12345678
echo "liveness=$(rd 0x04)"
wr 0x04 0
echo "liveness0=$(rd 0x04)"

# Factorials; wait for STATUS bit 0 (computing) to clear, boundedly.
fact() {
    wr 0x08 "$1"
    n=0
    while [ $(( $(devmem $(( bar + 0x20 )) 32) & 1 )) -ne 0 ]; do
        n=$(( n + 1 ))
        [ $n -lt 1000 ] || { echo "factorial of $1 still computing"; exit 1; }
        usleep 1000
    done
    printf '%d' "$(devmem $(( bar + 0x08 )) 32)"
}
for n in 0 1 5 10 12; do
    echo "fact$n=$(fact $n)"
done

# Interrupt status: raise sets the bits, acknowledge clears them. No driver
# has the line, so the kernel keeps it masked.
wr 0x60 0x42
echo "irq_status_raised=$(rd 0x24)"
wr 0x64 0x42
echo "irq_status_acked=$(rd 0x24)"
echo done=1
