#!/bin/sh
# /init of the VM rig's initramfs (see docs/VM-RIG.md). Runs inside qemu as PID 1 with
# busybox, a static pistream and the vivid modules; prints every result on the serial
# console as a line starting with "VMRIG " (the host's tests/vm/check reads only those),
# then powers the VM off. The guest measures and reports; the host decides pass or fail.
#
# Settings come from /etc/vmrig.conf, written by scripts/vm-rig:
#   ARCH      x86_64 or aarch64
#   FORMATS   fourccs to capture one after another at 640x480
#   NETEM     1 to run the netem case (needs /opt/iproute2/tc)
#   CASES     which cases to run: any of formats scaled loss netem
#   NETEM_ARGS  the netem qdisc's parameters

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
# Only kernel errors on the console from here on, so they do not split our lines.
echo 3 > /proc/sys/kernel/printk

. /etc/vmrig.conf

say() { echo "VMRIG $*"; }
# Prints a file's lines with a tag, for the host log (and for the checker where needed).
show() { sed "s/^/VMRIG $1| /" "$2"; }
uptime_cs() { read -r up _ < /proc/uptime; echo "${up%.*}${up#*.}"; }
# The number in "N frames shown" of a display's summary line (empty if it has none).
shown() { sed -n 's/.*summary: \([0-9]*\) frames shown.*/\1/p' "$1" | tail -n 1; }
finish() { say "done"; sync; poweroff -f; }

say "boot arch=$ARCH kernel=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo)"
say "pistream $(pistream --version 2>&1 | head -n 1)"

# One vivid instance with only its video capture node, so /dev/video0 is the camera.
if ! modprobe vivid n_devs=1 node_types=0x1 2> /tmp/modprobe.log; then
    show modprobe /tmp/modprobe.log
    say "fatal modprobe vivid failed"
    finish
fi
[ "$NETEM" = 1 ] && { modprobe sch_netem || say "fatal modprobe sch_netem failed"; }
ip link set lo up
i=0
while [ ! -e /dev/video0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
say "video0 $(cat /sys/class/video4linux/video0/name 2>/dev/null || echo missing)"

pistream devices > /tmp/devices.txt 2>&1
say "devices exit=$?"
show devices /tmp/devices.txt

port=5700
CAM_PID=""
# start_camera LOG ARGS...: a listening camera on the next port; waits until it has chosen
# a mode (or has exited). Sets CAM_PID and PORT.
start_camera() {
    log=$1; shift
    port=$((port + 1)); PORT=$port
    # Emptied here, not only by the camera's redirection: the loop below must not find the
    # previous camera's "chose" line before the new process has truncated the file.
    : > "$log"
    pistream camera --source /dev/video0 --listen 127.0.0.1:$PORT "$@" > "$log" 2>&1 &
    CAM_PID=$!
    i=0
    while [ $i -lt 100 ]; do
        grep -q "pistream: chose" "$log" && return 0
        kill -0 $CAM_PID 2>/dev/null || return 1
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
stop_camera() {
    kill $CAM_PID 2>/dev/null
    wait $CAM_PID 2>/dev/null
}

# sample_bars FILE W H: BGR pixels at the centre of each of the eight colour bars, on a row
# three quarters down (below vivid's text overlay), in the last whole frame of FILE.
sample_bars() {
    file=$1; w=$2; h=$3
    frame=$((w * h * 3))
    size=$(wc -c < "$file")
    [ "$frame" -gt 0 ] && [ "$size" -ge "$frame" ] || { echo "none"; return; }
    base=$(((size / frame - 1) * frame))
    y=$((h * 3 / 4))
    out=""
    for bar in 0 1 2 3 4 5 6 7; do
        x=$(((2 * bar + 1) * w / 16))
        px=$(od -An -tu1 -j $((base + (y * w + x) * 3)) -N 3 "$file" | awk '{print $1","$2","$3}')
        out="$out $px"
    done
    echo "$out"
}

# capture_case NAME W H CAMERA-ARGS...: rate over 5 s through a null sink, then three
# frames through a raw sink for size and content.
capture_case() {
    name=$1; w=$2; h=$3; shift 3
    if ! start_camera /tmp/cam.log --fps 25 --stats off "$@"; then
        stop_camera
        show "cam $name" /tmp/cam.log
        say "case $name camera=failed reason: $(grep -v '^pistream: /dev/video0: \|^pistream: chose' /tmp/cam.log | tail -n 1)"
        return
    fi
    t0=$(uptime_cs)
    timeout 30 pistream display --connect 127.0.0.1:$PORT --sink null --seconds 5 --stats off > /tmp/disp.log 2>&1
    rc=$?
    t1=$(uptime_cs)
    show "disp $name" /tmp/disp.log
    frames=$(shown /tmp/disp.log)
    rm -f /tmp/f.bgr /tmp/raw.log
    # A camera that has died (e.g. a conversion error) would leave the display retrying.
    kill -0 $CAM_PID 2>/dev/null &&
        timeout 30 pistream display --connect 127.0.0.1:$PORT --sink raw:/tmp/f.bgr --frames 3 --stats off > /tmp/raw.log 2>&1
    rawrc=$?
    show "raw $name" /tmp/raw.log
    rawframes=$(shown /tmp/raw.log)
    bytes=$(wc -c < /tmp/f.bgr 2>/dev/null || echo 0)
    stop_camera
    show "cam $name" /tmp/cam.log
    say "case $name camera=ok exit=$rc frames=${frames:-0} centis=$((t1 - t0)) rawexit=$rawrc rawframes=${rawframes:-0} rawbytes=$bytes w=$w h=$h"
    say "pixels $name$(sample_bars /tmp/f.bgr "$w" "$h")"
    rm -f /tmp/f.bgr
}

wants() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }

if wants formats; then
    for f in $FORMATS; do
        capture_case "$f" 640 480 --format "$f" --size 640x480
    done
fi

# A size vivid's webcam input does not offer: captured at the nearest size and scaled.
wants scaled && capture_case scaled 700 500 --size 700x500

# Device loss: unbind vivid mid-stream, bind it back, count what the viewer sees after.
loss_case() {
    drv=/sys/bus/platform/drivers/vivid
    if ! start_camera /tmp/cam.log --fps 25 --size 640x480; then
        show "cam loss" /tmp/cam.log
        say "loss camera=failed"
        stop_camera
        return
    fi
    pistream display --connect 127.0.0.1:$PORT --sink null --seconds 40 > /tmp/disp.log 2>&1 &
    disp=$!
    sleep 4
    before=$(grep -c "stats:" /tmp/disp.log)
    echo vivid.0 > $drv/unbind
    i=0
    while ! grep -q "lost" /tmp/cam.log && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    sleep 3
    echo vivid.0 > $drv/bind
    i=0
    while ! grep -q "is back" /tmp/cam.log && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
    mark=$(grep -c "stats:" /tmp/disp.log)
    say "loss nodes after bind: $(ls /sys/class/video4linux | tr '\n' ' ')camera fds on video nodes: $(ls -l /proc/$CAM_PID/fd 2>/dev/null | grep -c /dev/video)"
    sleep 6
    kill -0 $disp 2>/dev/null && running=1 || running=0
    kill -INT $disp 2>/dev/null
    wait $disp
    rc=$?
    stop_camera
    show "cam loss" /tmp/cam.log
    show "disp loss" /tmp/disp.log
    # Frames shown after the device came back: the per-second "shown N fps" after the mark.
    after=$(grep "stats:" /tmp/disp.log | tail -n +$((mark + 1)) |
        sed -n 's/.*shown \([0-9.]*\) fps.*/\1/p' | awk '{s += $1} END {printf "%d", s}')
    say "loss lost=$(grep -c 'camera /dev/video0 lost' /tmp/cam.log) back=$(grep -c 'is back' /tmp/cam.log)" \
        "before=$before display_running=$running display_exit=$rc" \
        "reconnects=$(grep -c 'reconnecting\|connection .* lost' /tmp/disp.log)" \
        "frames_after=${after:-0} frames_total=$(shown /tmp/disp.log)"
}
wants loss && loss_case

# Netem on loopback: 50 ms delay, 1% loss, 50 Mbit/s; the session must survive and the
# capture-to-shown latency stay bounded.
netem_case() {
    export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
    tc=/opt/iproute2/tc
    $tc qdisc add dev lo root netem $NETEM_ARGS 2> /tmp/tc.log ||
        { show tc /tmp/tc.log; say "netem tc=failed"; return; }
    say "netem qdisc $($tc qdisc show dev lo | head -n 1)"
    if ! start_camera /tmp/cam.log --fps 25 --size 640x480 --stats off; then
        show "cam netem" /tmp/cam.log
        say "netem camera=failed"
        stop_camera
    else
        timeout 60 pistream display --connect 127.0.0.1:$PORT --sink null --seconds 15 > /tmp/disp.log 2>&1
        rc=$?
        stop_camera
        show "disp netem" /tmp/disp.log
        summary=$(grep "summary:" /tmp/disp.log | tail -n 1)
        p50=$(echo "$summary" | sed -n 's/.*latency p50 \([0-9.]*\) ms.*/\1/p')
        p99=$(echo "$summary" | sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p')
        say "netem exit=$rc frames=$(shown /tmp/disp.log) seconds=15" \
            "reconnects=$(grep -c 'reconnecting\|connection .* lost' /tmp/disp.log) p50=${p50:--} p99=${p99:--}"
    fi
    $tc qdisc del dev lo root
}
[ "$NETEM" = 1 ] && wants netem && netem_case

finish
