# SPDX-License-Identifier: GPL-2.0-or-later
# Runs inside the guest (busybox sh): loads i6300esb with a short
# heartbeat, checks that it found the qdev-i6300esb device (PCI 8086:25ab),
# keeps the watchdog fed with busybox's `watchdog` daemon for PING_FOR
# seconds, then kills the daemon with SIGKILL: /dev/watchdog is closed
# without the magic 'V', the kernel leaves the timer running, and the
# machine's watchdog action must follow within HEARTBEAT seconds.
#
# Prints key=value lines that tests/tests/guest_watchdog.rs checks, and
# writes the moments the host times on the third serial port (ttyS2):
# "pinging" when the daemon runs, "stopping" right before the kill.
set -eu

: "${HEARTBEAT:=2}" "${PING_FOR:=6}"

ko=$(find /lib/modules -name i6300esb.ko | head -n 1)
[ -n "$ko" ] || { echo "no i6300esb.ko in the guest"; exit 1; }
insmod "$ko" heartbeat="$HEARTBEAT"

dev=
for d in /sys/bus/pci/devices/*; do
    if [ "$(cat "$d/vendor")" = 0x8086 ] && [ "$(cat "$d/device")" = 0x25ab ]; then
        dev=$d
    fi
done
if [ -z "$dev" ]; then
    echo "no PCI device 8086:25ab in /sys/bus/pci/devices"
    exit 1
fi
echo "bdf=${dev##*/}"
echo "class=$(cat "$dev/class")"
[ -e "$dev/driver" ] || { echo "no driver bound to ${dev##*/}"; exit 1; }
echo "driver=$(basename "$(readlink "$dev/driver")")"
dmesg | grep -i 6300 | sed 's/^/dmesg: /'

# The watchdog class device the driver registered (the only one: q35's
# iTCO_wdt is not loaded).
wd=
for w in /sys/class/watchdog/watchdog*; do
    if [ "$(cat "$w/identity")" = "i6300ESB timer" ]; then wd=$w; fi
done
[ -n "$wd" ] || { echo "no watchdog with identity 'i6300ESB timer'"; exit 1; }
echo "watchdog=${wd##*/}"
echo "identity=$(cat "$wd/identity")"
echo "state_before=$(cat "$wd/state")"
echo "timeout_before=$(cat "$wd/timeout")"
node=/dev/${wd##*/}
[ -c "$node" ] || node=/dev/watchdog

exec 5>/dev/ttyS2
signal() { printf '%s\n' "$1" >&5; }

# Feed it every second, with the same timeout set through WDIOC_SETTIMEOUT.
watchdog -F -T "$HEARTBEAT" -t 1 "$node" &
pinger=$!
sleep 1
echo "state_pinging=$(cat "$wd/state")"
echo "timeout_pinging=$(cat "$wd/timeout")"
signal pinging
sleep "$PING_FOR"
kill -0 "$pinger"
echo "state_still=$(cat "$wd/state")"
echo "alive_after_pinging=$PING_FOR"
echo "uptime=$(cut -d' ' -f1 /proc/uptime)"

# Starve it: SIGKILL leaves the daemon no chance to write the magic 'V'.
signal stopping
kill -9 "$pinger"
echo "stopped=1"
sleep $((HEARTBEAT * 10))
echo "survived=1"
