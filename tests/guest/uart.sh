# SPDX-License-Identifier: GPL-2.0-or-later
# Runs inside the guest (busybox sh): finds the qdev-16550 UART (PCI
# 1234:1655) that Linux's 8250_pci bound, and moves data through its tty
# with nothing but busybox: 64 KiB from the host (read with dd), then 64 KiB
# of /dev/urandom to the host, each checksummed. The tty is also the kernel's
# console, so the host reads boot log, markers and data from one stream:
#
#   guest: <<qdev-uart-rx-ready>>\n   host: 64 KiB          (host to guest)
#   guest: <<qdev-uart-tx-begin>>\n + 64 KiB   host: ACK!   (guest to host)
#
# The acknowledgement keeps the script (and so the machine) running until
# the host has every byte. Prints key=value lines that
# tests/tests/guest_uart.rs checks.
set -eu

LEN=65536
RX_READY='<<qdev-uart-rx-ready>>'
TX_BEGIN='<<qdev-uart-tx-begin>>'

dev=
for d in /sys/bus/pci/devices/*; do
    if [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x1655 ]; then
        dev=$d
    fi
done
if [ -z "$dev" ]; then
    echo "no PCI device 1234:1655 in /sys/bus/pci/devices"
    exit 1
fi
echo "bdf=${dev##*/}"
echo "class=$(cat "$dev/class")"
[ -e "$dev/driver" ] || { echo "no driver bound to ${dev##*/}"; exit 1; }
echo "driver=$(basename "$(readlink "$dev/driver")")"
# 8250_pci registers the port's tty under the PCI device.
[ -d "$dev/tty" ] || { echo "${dev##*/} has no tty"; exit 1; }
tty=$(ls "$dev/tty")
echo "tty=$tty"
n=${tty#ttyS}
set -- $(head -n 1 "$dev/resource")
echo "bar0=$(printf '0x%x' "$1")"

serial_line() { grep "^$n: " /proc/tty/driver/serial; }
echo "serial_before=$(serial_line)"
irq=$(serial_line | sed -n 's/.* irq:\([0-9]*\).*/\1/p')
echo "irq=$irq"
# The interrupts of line $irq so far (all CPUs).
irqs() {
    awk -v l="$irq:" '$1 == l { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print s }' \
        /proc/interrupts
}
# The port's rx/tx counters.
count() { serial_line | sed -n "s/.* $1:\([0-9]*\).*/\1/p"; }
echo "consoles=$(tr -s ' ' < /proc/consoles | tr '\n' ';')"
dmesg | grep -E 'ttyS|printk: console|Command line' | sed 's/^/dmesg: /'

# From now on the kernel's messages would land in the middle of the data.
dmesg -n 1
t=/dev/$tty
stty -F "$t" raw -echo
echo "stty=$(stty -F "$t" | tr '\n' ' ')"
echo "irq_line=$(grep "^ *$irq:" /proc/interrupts | tr -s ' ')"

# --- host to guest
i0=$(irqs)
r0=$(count rx)
dd if="$t" of=/tmp/rx bs=1024 count=$((LEN / 1024)) iflag=fullblock 2>/dev/null &
reader=$!
printf '\n%s\n' "$RX_READY" > "$t"
wait $reader
i1=$(irqs)
r1=$(count rx)
echo "rx_bytes=$(wc -c < /tmp/rx)"
echo "rx_sha256=$(sha256sum /tmp/rx | cut -d' ' -f1)"
echo "rx_irqs=$((i1 - i0))"
echo "rx_counted=$((r1 - r0))"

# --- guest to host
head -c $LEN /dev/urandom > /tmp/tx
echo "tx_bytes=$(wc -c < /tmp/tx)"
echo "tx_sha256=$(sha256sum /tmp/tx | cut -d' ' -f1)"
i2=$(irqs)
t0=$(count tx)
dd if="$t" of=/tmp/ack bs=4 count=1 iflag=fullblock 2>/dev/null &
acker=$!
{ printf '%s\n' "$TX_BEGIN"; cat /tmp/tx; } > "$t"
wait $acker
i3=$(irqs)
t1=$(count tx)
echo "ack=$(cat /tmp/ack)"
echo "tx_irqs=$((i3 - i2))"
echo "tx_counted=$((t1 - t0))"
echo "serial_after=$(serial_line)"
echo "done=1"
