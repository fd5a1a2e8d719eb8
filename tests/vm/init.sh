#!/bin/sh
# /init of the VM rig's initramfs (see docs/VM-RIG.md). Runs inside qemu as PID 1 with
# busybox, pistream (static, or the drive's dynamic one: ON_DRIVE), the vivid modules and
# (for the loopback cases) v4l2loopback with the fake camera v4l2-writer (tools/v4l2-writer);
# prints every result on the serial console as a line starting with "VMRIG " (the host's
# tests/vm/check reads only those), then powers the VM off. The guest measures and reports;
# the host decides pass or fail.
#
# Settings come from /etc/vmrig.conf, written by scripts/vm-rig:
#   ARCH      x86_64 or aarch64
#   FORMATS   fourccs to capture one after another at 640x480
#   NETEM     1 to run the netem case (needs /opt/iproute2/tc)
#   CASES     which cases to run (tests/vm/cases lists them; scripts/vm-rig leaves out
#             those the table does not run on this architecture)
#   NETEM_ARGS  the netem qdisc's parameters
#   LOOPBACK  1 when v4l2loopback.ko and /bin/v4l2-writer are in the initramfs
#   DRIVE     1 when /dev/vda is an ext4 drive (scripts/vm-rig, make_drive) laid out as on
#             Debian (usr/lib/ld-linux-*, usr/lib/TRIPLET/...), mounted at /full, with /usr/lib
#             and /usr/share linked there
#   FULL      1 when the drive holds the full-feature (OpenCV) pistream as usr/bin/pistream
#             and its arm64 libraries; it runs as `pistream-full` for the cases `full` and `url`
#   LIBCAMERA 1 when vimc.ko is in the initramfs and the drive holds libcamera (cam,
#             libcamerify, GStreamer's libcamerasrc), the dynamic pistream (usr/bin/pistream-dyn)
#             and the stand-in rpicam-vid: the cases `libcamera`, `libcamerify`, `rpicam`
#   ON_DRIVE  1 when the initramfs has no static pistream: the drive's dynamic one
#             (usr/bin/pistream-dyn, glibc from the drive) runs as pistream in every case
#   VICODEC   1 when vicodec.ko (the kernel's virtual FWHT M2M codec) is in the initramfs
#             with v4l2-mem2mem: the cases `m2m` and `m2mloss`
#   M2M_CHECK_TIMEOUT  seconds each `pistream encoders --check` of the case `m2m` may take
#   BENCH     ustreamer: run the benchmark of /bench-ustreamer.sh (BENCH_SECS, BENCH_WARMUP,
#             BENCH_RUNS, BENCH_CLIENTS) instead of the cases, for scripts/bench-ustreamer

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
# Entropy from the host's virtio-rng, so getrandom() (every handshake's nonce) does not
# block on an uninitialised CRNG; /dev/random blocks until the CRNG is ready.
modprobe virtio_pci 2>/dev/null
modprobe virtio-rng 2>/dev/null
t0=$(cut -d' ' -f1 /proc/uptime)
if timeout 30 head -c 1 /dev/random > /dev/null; then
    say "rng ready at ${t0} s, waited until $(cut -d' ' -f1 /proc/uptime) s"
else
    say "fatal the kernel's random number generator was not ready after 30 s (virtio-rng missing?)"
fi
# The drive mounted read-only at /full, and the libraries where the loaders (PT_INTERP
# /lib/ld-linux-aarch64.so.1; /lib64/ld-linux-x86-64.so.2, which the x86_64 initramfs has for
# tc) and their default search path (/usr/lib/TRIPLET, /usr/lib) look, as on Raspberry Pi OS;
# no LD_LIBRARY_PATH.
if [ "${DRIVE:-0}" = 1 ]; then
    for m in virtio_blk crc32c_generic ext4; do modprobe $m 2>> /tmp/modprobe.log; done
    i=0
    while [ ! -e /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    mkdir -p /full
    if mount -t ext4 -o ro /dev/vda /full 2>> /tmp/modprobe.log; then
        [ -e /full/usr/lib/ld-linux-aarch64.so.1 ] && ln -s /full/usr/lib/ld-linux-aarch64.so.1 /lib/ld-linux-aarch64.so.1
        rmdir /usr/lib 2>/dev/null; ln -s /full/usr/lib /usr/lib
        ln -s /full/usr/share /usr/share
    else
        show drive /tmp/modprobe.log
        say "fatal cannot mount the drive /dev/vda (block devices: $(echo /dev/vd*))"
        FULL=0 LIBCAMERA=0
    fi
fi
# ON_DRIVE=1: the initramfs has no static pistream; the drive's dynamic one is pistream.
if [ "${ON_DRIVE:-0}" = 1 ]; then
    if [ -x /full/usr/bin/pistream-dyn ]; then
        ln -s /full/usr/bin/pistream-dyn /bin/pistream
    else
        say "fatal the drive has no usr/bin/pistream-dyn, which runs as pistream (ON_DRIVE=1)"
    fi
fi
say "pistream $(pistream --version 2>&1 | head -n 1)"

# The full-feature binary, from the drive.
if [ "$FULL" = 1 ]; then
    if [ -x /full/usr/bin/pistream ]; then
        ln -s /full/usr/bin/pistream /bin/pistream-full
        t0=$(uptime_cs)
        pistream-full --version > /tmp/version.txt 2>&1
        rc=$?
        say "full version $(head -n 1 /tmp/version.txt) (exit $rc, $(($(uptime_cs) - t0))0 ms)"
    else
        say "fatal full: the drive has no usr/bin/pistream"
        FULL=0
    fi
fi

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

# The MJPEG camera: v4l2loopback at /dev/video10 (clear of vivid's numbers), capture
# capabilities only while a writer is attached (exclusive_caps=1, as a camera that is
# either there or not). 8 buffers: the writer and pistream each ask for 4.
LOOP=/dev/video10
if [ "$LOOPBACK" = 1 ]; then
    if modprobe v4l2loopback devices=1 video_nr=10 exclusive_caps=1 max_buffers=8 \
        card_label=pistream-rig-loopback 2> /tmp/modprobe.log; then
        i=0
        while [ ! -e $LOOP ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        say "loopback $(cat /sys/class/video4linux/video10/name 2>/dev/null || echo missing)"
    else
        show modprobe /tmp/modprobe.log
        say "fatal modprobe v4l2loopback failed"
        LOOPBACK=0
    fi
fi

# libcamera's camera: vimc, after vivid (which keeps /dev/video0); its "RGB/YUV Capture" node
# is the one libcamerify and pistream open (VIMC), found by name.
VIMC=""
case "$ARCH" in x86_64) TRIPLET=x86_64-linux-gnu ;; *) TRIPLET=aarch64-linux-gnu ;; esac
if [ "${LIBCAMERA:-0}" = 1 ]; then
    if modprobe vimc 2> /tmp/modprobe.log; then
        i=0
        while [ -z "$VIMC" ] && [ $i -lt 100 ]; do
            for n in /sys/class/video4linux/video*; do
                [ "$(cat "$n/name" 2>/dev/null)" = "RGB/YUV Capture" ] && VIMC=/dev/${n##*/}
            done
            [ -n "$VIMC" ] || sleep 0.1
            i=$((i + 1))
        done
        # libcamera finds cameras through libudev, which without udevd hides every device
        # node that has no entry in udev's database: give each media and video4linux node one.
        mkdir -p /run/udev/data
        for d in /sys/bus/media/devices/* /sys/class/video4linux/*; do
            [ -r "$d/dev" ] && echo "I:1" > "/run/udev/data/c$(cat "$d/dev")"
        done
        say "vimc ${VIMC:-missing}"
    else
        show modprobe /tmp/modprobe.log
        say "fatal modprobe vimc failed"
        LIBCAMERA=0
    fi
    # Errors only (Debian's IPA folder holds v4l2-compat.so too, which libcamera reports as
    # a module without IPA info at every start: not an error of ours); only vimc's pipeline.
    export LIBCAMERA_LOG_LEVELS='*:ERROR,IPAModule:FATAL' LIBCAMERA_LOG_NO_COLOR=1 LIBCAMERA_PIPELINES_MATCH_LIST=vimc
    # GStreamer: its plugins from the drive, a registry in /tmp, no scanner process.
    export GST_PLUGIN_SYSTEM_PATH_1_0=/usr/lib/$TRIPLET/gstreamer-1.0 GST_REGISTRY_1_0=/tmp/gst-registry.bin GST_REGISTRY_FORK=no
    ln -s /full/usr/bin/pistream-dyn /bin/pistream-dyn
fi

port=5700
CAM_PID=""
# The camera's device: vivid's capture node, or $LOOP for the loopback cases.
CAM_DEV=/dev/video0
# The camera's binary: pistream (headless), or pistream-full (the cases `full` and `url`).
CAM_BIN=pistream
# start_camera LOG ARGS...: a listening camera on CAM_DEV on the next port; waits until it
# has chosen a mode (or has exited), at most 30 s (the full binary loads 250 libraries
# under TCG first). Sets CAM_PID, PORT and START_CENTIS (start to that line).
start_camera() {
    log=$1; shift
    port=$((port + 1)); PORT=$port
    START_CENTIS=$(uptime_cs)
    # Emptied here, not only by the camera's redirection: the loop below must not find the
    # previous camera's "chose" line before the new process has truncated the file.
    : > "$log"
    $CAM_BIN camera --source $CAM_DEV --listen 127.0.0.1:$PORT "$@" > "$log" 2>&1 &
    CAM_PID=$!
    i=0
    while [ $i -lt "${START_TRIES:-300}" ]; do
        grep -q "pistream: chose" "$log" && { START_CENTIS=$(($(uptime_cs) - START_CENTIS)); return 0; }
        # A URL, pattern or rpicam camera has no "chose" line.
        case $CAM_DEV in http:* | pattern | rpicam) grep -q "pistream: listening on" "$log" &&
            { START_CENTIS=$(($(uptime_cs) - START_CENTIS)); return 0; } ;; esac
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

# The wire formats a display's stats lines say its frames arrived in ("received N Mbit/s as
# FORMAT"), distinct, comma-separated in order of first appearance; "-" for none.
arrived() {
    a=$(sed -n 's/.*(received [0-9.]* Mbit\/s as \([A-Za-z0-9]*\)).*/\1/p' "$1" | awk '!seen[$0]++' | tr '\n' , | sed 's/,$//')
    echo "${a:--}"
}

# capture_case NAME W H WIRE CAMERA-ARGS...: rate over 5 s through a null sink, then three
# frames through a raw sink for size and content. WIRE "-" leaves the camera's --wire at its
# default; anything else is passed as --wire WIRE, and the null-sink display then runs 3 s
# with its stats lines on, so the case line says which wire formats arrived (wire=...).
capture_case() {
    name=$1; w=$2; h=$3; wire=$4; shift 4
    secs=${CASE_SECS:-5} dstats="--stats off"
    if [ "$wire" != - ]; then
        set -- --wire "$wire" "$@"
        secs=3 dstats=""
    fi
    if ! start_camera /tmp/cam.log --fps 25 --stats off "$@"; then
        stop_camera
        show "cam $name" /tmp/cam.log
        say "case $name camera=failed reason: $(grep -v '^pistream: /dev/video0: \|^pistream: chose' /tmp/cam.log | tail -n 1)"
        return
    fi
    t0=$(uptime_cs)
    # shellcheck disable=SC2086 # $dstats: no word or one
    timeout "${CASE_TIMEOUT:-30}" pistream display --connect 127.0.0.1:$PORT --sink null --seconds $secs $dstats > /tmp/disp.log 2>&1
    rc=$?
    t1=$(uptime_cs)
    show "disp $name" /tmp/disp.log
    frames=$(shown /tmp/disp.log)
    arrived=$(arrived /tmp/disp.log)
    rm -f /tmp/f.bgr /tmp/raw.log
    # A camera that has died (e.g. a conversion error) would leave the display retrying.
    kill -0 $CAM_PID 2>/dev/null &&
        timeout "${CASE_TIMEOUT:-30}" pistream display --connect 127.0.0.1:$PORT --sink raw:/tmp/f.bgr --frames 3 --stats off > /tmp/raw.log 2>&1
    rawrc=$?
    show "raw $name" /tmp/raw.log
    rawframes=$(shown /tmp/raw.log)
    bytes=$(wc -c < /tmp/f.bgr 2>/dev/null || echo 0)
    stop_camera
    show "cam $name" /tmp/cam.log
    say "case $name camera=ok exit=$rc frames=${frames:-0} centis=$((t1 - t0)) rawexit=$rawrc rawframes=${rawframes:-0} rawbytes=$bytes w=$w h=$h startcentis=$START_CENTIS wire=$wire arrived=$arrived"
    say "pixels $name$(sample_bars /tmp/f.bgr "$w" "$h")"
    rm -f /tmp/f.bgr
}

wants() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }

if [ "${BENCH:-}" = ustreamer ]; then
    . /bench-ustreamer.sh
    finish
fi

if wants formats; then
    for f in $FORMATS; do
        capture_case "$f" 640 480 - --format "$f" --size 640x480
    done
    # The same formats with the camera's --wire native: the frames go out in the capture's
    # own format where it has a wire form (YUYV, UYVY, NV12, YU12 as I420), else BGR3.
    tn=$(uptime_cs)
    for f in $FORMATS; do
        capture_case "native-$f" 640 480 native --format "$f" --size 640x480
    done
    say "took native $(($(uptime_cs) - tn))"
fi

# A size vivid's webcam input does not offer: captured at the nearest size and scaled.
wants scaled && capture_case scaled 700 500 - --size 700x500

# The same table with the full-feature binary (OpenCV) as the camera: cases full-FORMAT.
if [ "$FULL" = 1 ] && wants full; then
    CAM_BIN=pistream-full
    for f in $FORMATS; do
        capture_case "full-$f" 640 480 - --format "$f" --size 640x480
    done
    CAM_BIN=pistream
fi

# unplug_case NAME UNPLUG REPLUG: the camera (started by the caller: CAM_PID, PORT) streams
# to a display; 4 s in, the command UNPLUG takes its device away; 3 s after the camera's
# "lost" message REPLUG brings it back; after the camera's "is back" message the display
# runs 6 s more. Stops the camera and prints "NAME lost=N back=N retries=N before=N
# display_running=0|1 display_exit=N reconnects=N frames_after=N frames_total=N".
unplug_case() {
    name=$1 unplug=$2 replug=$3
    pistream display --connect 127.0.0.1:$PORT --sink null --seconds 40 > /tmp/disp.log 2>&1 &
    disp=$!
    sleep 4
    before=$(grep -c "stats:" /tmp/disp.log)
    $unplug
    i=0
    while ! grep -q "lost" /tmp/cam.log && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
    sleep 3
    $replug
    i=0
    while ! grep -q "is back" /tmp/cam.log && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
    mark=$(grep -c "stats:" /tmp/disp.log)
    say "$name nodes after replug: $(ls /sys/class/video4linux | tr '\n' ' ')camera fds on video nodes: $(ls -l /proc/$CAM_PID/fd 2>/dev/null | grep -c /dev/video)"
    sleep 6
    kill -0 $disp 2>/dev/null && running=1 || running=0
    kill -INT $disp 2>/dev/null
    wait $disp
    rc=$?
    stop_camera
    show "cam $name" /tmp/cam.log
    show "disp $name" /tmp/disp.log
    # Frames shown after the device came back: the per-second "shown N fps" after the mark.
    after=$(grep "stats:" /tmp/disp.log | tail -n +$((mark + 1)) |
        sed -n 's/.*shown \([0-9.]*\) fps.*/\1/p' | awk '{s += $1} END {printf "%d", s}')
    say "$name lost=$(grep -c "camera $CAM_DEV lost" /tmp/cam.log) back=$(grep -c 'is back' /tmp/cam.log)" \
        "retries=$(grep -c 'still no camera' /tmp/cam.log) before=$before display_running=$running display_exit=$rc" \
        "reconnects=$(grep -c 'reconnecting\|connection .* lost' /tmp/disp.log)" \
        "frames_after=${after:-0} frames_total=$(shown /tmp/disp.log)"
}

# Device loss: unbind vivid mid-stream, bind it back, count what the viewer sees after.
vivid_unbind() { echo vivid.0 > /sys/bus/platform/drivers/vivid/unbind; }
vivid_bind() { echo vivid.0 > /sys/bus/platform/drivers/vivid/bind; }
loss_case() {
    if ! start_camera /tmp/cam.log --fps 25 --size 640x480; then
        show "cam loss" /tmp/cam.log
        say "loss camera=failed"
        stop_camera
        return
    fi
    unplug_case loss vivid_unbind vivid_bind
}
wants loss && loss_case

# Netem on loopback: 50 ms delay, 1% loss, 50 Mbit/s; the session must survive. Two runs:
# the camera with --wire bgr (raw frames only) and with --wire auto (the default: it steps
# between BGR3, 4:2:2, 4:2:0 and JPEG as it measures the link); each prints
# "netem WIRE exit=N frames=N seconds=15 reconnects=N p50=MS p99=MS arrived=FORMATS".
netem_run() {
    wire=$1
    if ! start_camera /tmp/cam.log --fps 25 --size 640x480 --stats off --wire "$wire"; then
        show "cam netem-$wire" /tmp/cam.log
        say "netem $wire camera=failed reason: $(grep -v '^pistream: /dev/video0: \|^pistream: chose' /tmp/cam.log | tail -n 1)"
        stop_camera
        return
    fi
    timeout 60 pistream display --connect 127.0.0.1:$PORT --sink null --seconds 15 > /tmp/disp.log 2>&1
    rc=$?
    stop_camera
    show "disp netem-$wire" /tmp/disp.log
    summary=$(grep "summary:" /tmp/disp.log | tail -n 1)
    p50=$(echo "$summary" | sed -n 's/.*latency p50 \([0-9.]*\) ms.*/\1/p')
    p99=$(echo "$summary" | sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p')
    frames=$(shown /tmp/disp.log)
    say "netem $wire exit=$rc frames=${frames:-0} seconds=15" \
        "reconnects=$(grep -c 'reconnecting\|connection .* lost' /tmp/disp.log) p50=${p50:--} p99=${p99:--}" \
        "arrived=$(arrived /tmp/disp.log)"
}
netem_case() {
    export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
    tc=/opt/iproute2/tc
    $tc qdisc add dev lo root netem $NETEM_ARGS 2> /tmp/tc.log ||
        { show tc /tmp/tc.log; say "netem tc=failed"; return; }
    say "netem qdisc $($tc qdisc show dev lo | head -n 1)"
    tn=$(uptime_cs)
    netem_run bgr
    tb=$(uptime_cs)
    netem_run auto
    say "took netem-bgr $((tb - tn))"
    say "took netem-auto $(($(uptime_cs) - tb))"
    $tc qdisc del dev lo root
    unset LD_LIBRARY_PATH
}
[ "$NETEM" = 1 ] && wants netem && netem_case

# Keyed vs plain: the pattern camera (no V4L2, unpaced, raw BGR) to a null-sink display for
# KEYED_SECS, without a key and then both ends with a key made by `pistream keygen`. Under
# TCG only the ratio of the two rates means anything. The display's "streaming with ...
# (encrypted: CIPHER)" line appears only in a keyed session. Prints "keyed MODE exit=N
# frames=N centis=N encrypted=CIPHER|-".
KEYED_SECS=4
keyed_run() {
    mode=$1; shift
    if ! start_camera /tmp/cam.log --fps 0 --wire bgr --size 640x480 --stats off "$@"; then
        show "cam keyed-$mode" /tmp/cam.log
        say "keyed $mode camera=failed reason: $(tail -n 1 /tmp/cam.log)"
        stop_camera
        return
    fi
    t0=$(uptime_cs)
    timeout 30 pistream display --connect 127.0.0.1:$PORT --sink null --seconds $KEYED_SECS --stats off "$@" > /tmp/disp.log 2>&1
    rc=$?
    t1=$(uptime_cs)
    stop_camera
    show "cam keyed-$mode" /tmp/cam.log
    show "disp keyed-$mode" /tmp/disp.log
    cipher=$(sed -n 's/.*streaming with .*(encrypted: \([^)]*\)).*/\1/p' /tmp/disp.log | head -n 1 | tr ' ' _)
    frames=$(shown /tmp/disp.log)
    say "keyed $mode exit=$rc frames=${frames:-0} centis=$((t1 - t0)) encrypted=${cipher:--}"
}
keyed_case() {
    CAM_DEV=pattern
    tn=$(uptime_cs)
    keyed_run plain
    rm -f /tmp/rig.key
    if pistream keygen /tmp/rig.key > /tmp/keygen.log 2>&1; then
        keyed_run keyed --key-file /tmp/rig.key
    else
        show keygen /tmp/keygen.log
        say "keyed keyed camera=failed reason: keygen: $(tail -n 1 /tmp/keygen.log)"
    fi
    CAM_DEV=/dev/video0
    say "took keyed $(($(uptime_cs) - tn))"
}
wants keyed && keyed_case

# --- v4l2loopback: an MJPEG (or YUYV) camera fed by v4l2-writer --------------------------

WRITER_PID=""
# start_writer LOG ARGS...: the fake camera streaming into $LOOP; waits for its
# "streaming" line (or its exit). Sets WRITER_PID.
start_writer() {
    wlog=$1; shift
    : > "$wlog"
    v4l2-writer write $LOOP "$@" > "$wlog" 2>&1 &
    WRITER_PID=$!
    i=0
    while [ $i -lt 50 ]; do
        grep -q "v4l2-writer: streaming" "$wlog" && return 0
        kill -0 $WRITER_PID 2>/dev/null || return 1
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
stop_writer() {
    kill $WRITER_PID 2>/dev/null
    wait $WRITER_PID 2>/dev/null
}

# start_sampled_display LOG W H ARGS...: a display whose raw sink writes into a FIFO read
# by `v4l2-writer sample`, which prints samples of every frame into /tmp/samples.txt (the
# host compares each with the known image). Sets DISP_PID and SAMPLER_PID.
start_sampled_display() {
    dlog=$1 sw=$2 sh=$3; shift 3
    rm -f /tmp/frames.fifo /tmp/samples.txt
    mkfifo /tmp/frames.fifo
    v4l2-writer sample --size ${sw}x$sh /tmp/frames.fifo > /tmp/samples.txt 2>&1 &
    SAMPLER_PID=$!
    pistream display --connect 127.0.0.1:$PORT --sink raw:/tmp/frames.fifo "$@" > "$dlog" 2>&1 &
    DISP_PID=$!
}
# end_sampled_display TENTHS: lets the display run (or end by itself) for up to TENTHS of
# a second, then stops it with SIGINT; waits for the sampler to read the FIFO to its end.
# Sets DISP_RC.
end_sampled_display() {
    i=0
    while kill -0 $DISP_PID 2>/dev/null && [ $i -lt $1 ]; do sleep 0.1; i=$((i + 1)); done
    kill -INT $DISP_PID 2>/dev/null
    wait $DISP_PID
    DISP_RC=$?
    # A display that never opened the FIFO leaves the sampler waiting in open().
    i=0
    while kill -0 $SAMPLER_PID 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill $SAMPLER_PID 2>/dev/null
    wait $SAMPLER_PID 2>/dev/null
}
sampled() { n=$(grep -c '^frame ' /tmp/samples.txt 2>/dev/null); echo "${n:-0}"; }
show_samples() { grep '^frame\|^frames' /tmp/samples.txt | sed "s/^/VMRIG samples $1 /"; }
# Starts the writer and a camera on $LOOP, or says why not ("case NAME camera=failed").
start_loop() {
    name=$1 wargs=$2; shift 2
    # shellcheck disable=SC2086 # the writer's arguments, split on purpose
    if ! start_writer /tmp/writer.log $wargs; then
        stop_writer
        show "writer $name" /tmp/writer.log
        say "case $name camera=failed reason: writer: $(tail -n 1 /tmp/writer.log)"
        return 1
    fi
    if ! start_camera /tmp/cam.log "$@"; then
        stop_camera
        stop_writer
        show "cam $name" /tmp/cam.log
        say "case $name camera=failed reason: $(grep -v "^pistream: $LOOP: \|^pistream: chose" /tmp/cam.log | tail -n 1)"
        return 1
    fi
}

# loop_case NAME FORMAT W H KIND: the writer sends KIND frames of the known image at 25 fps;
# the camera captures FORMAT at WxH. Rate over 5 s through a null sink, then 5 frames
# through a sampled raw sink for size and content.
loop_case() {
    name=$1 fmt=$2 w=$3 h=$4 kind=$5
    start_loop "$name" "--format $fmt --size ${w}x$h --fps 25 --kind $kind" \
        --format "$fmt" --size "${w}x$h" --fps 25 --stats off || return
    srcbytes=$(sed -n 's/.*(\([0-9]*\) bytes per .*/\1/p' /tmp/writer.log)
    loop_measure "$name" "$w" "$h"
    say "case $name camera=ok exit=$rc frames=${frames:-0} centis=$((t1 - t0)) rawexit=$DISP_RC" \
        "rawframes=$(sampled) partial=${partial:-0} w=$w h=$h srcbytes=${srcbytes:-0}"
    show_samples "$name"
}
# loop_measure NAME W H: the camera on $PORT (CAM_PID) measured as loop_case says; stops the
# camera and the writer, shows their logs. Sets rc, frames, t0, t1 and partial.
loop_measure() {
    name=$1 w=$2 h=$3
    t0=$(uptime_cs)
    timeout 30 pistream display --connect 127.0.0.1:$PORT --sink null --seconds 5 --stats off > /tmp/disp.log 2>&1
    rc=$?
    t1=$(uptime_cs)
    frames=$(shown /tmp/disp.log)
    start_sampled_display /tmp/raw.log "$w" "$h" --frames 5 --stats off
    end_sampled_display 300
    # Later (issue 10, wire formats): a display with `--wire native` here must receive the
    # camera's JPEGs unchanged; `v4l2-writer frame --size WxH --kind KIND` prints the bytes
    # the writer sent, to compare with what the display got.
    stop_camera
    stop_writer
    show "writer $name" /tmp/writer.log
    show "cam $name" /tmp/cam.log
    show "disp $name" /tmp/disp.log
    show "raw $name" /tmp/raw.log
    partial=$(sed -n 's/^frames [0-9]* partial \([0-9]*\)/\1/p' /tmp/samples.txt)
}
if [ "$LOOPBACK" = 1 ]; then
    CAM_DEV=$LOOP
    if wants mjpeg; then
        loop_case mjpeg640 MJPG 640 480 good
        loop_case mjpeg720 MJPG 1280 720 good
    fi
    wants nodht && loop_case nodht MJPG 640 480 nodht
    CAM_DEV=/dev/video0
fi

# url_case: the full binary as the camera of a URL source (OpenCV's VideoCapture, FFmpeg).
# The static pistream captures the writer's MJPEG camera (the known image) and serves it as
# MJPEG over HTTP on its port (/stream, JPEG-encoded again at quality 80); the full binary
# opens http://127.0.0.1:PORT/stream and serves that as a camera; then rate and content as
# loop_case, from the full binary's port. "urlcam NAME ..." gives what its log said.
url_case() {
    name=url
    start_loop "$name" "--format MJPG --size 640x480 --fps 25" \
        --format MJPG --size 640x480 --fps 25 --stats off || return
    src_pid=$CAM_PID src_port=$PORT
    url=http://127.0.0.1:$src_port/stream
    CAM_DEV=$url CAM_BIN=pistream-full
    ok=1
    start_camera /tmp/urlcam.log --size 640x480 --fps 25 || ok=0
    CAM_DEV=$LOOP CAM_BIN=pistream
    # A URL camera has no "chose" line: start_camera returns at "listening on" (see there).
    if [ $ok = 0 ]; then
        stop_camera
        CAM_PID=$src_pid
        stop_camera
        stop_writer
        show "urlcam $name" /tmp/urlcam.log
        show "cam $name" /tmp/cam.log
        say "case $name camera=failed reason: $(grep -v '^pistream: listening' /tmp/urlcam.log | tail -n 1)"
        return
    fi
    loop_measure "$name" 640 480
    # loop_measure stopped the URL camera (CAM_PID); now the HTTP server's camera.
    CAM_PID=$src_pid
    stop_camera
    show "urlcam $name" /tmp/urlcam.log
    say "urlcam $name source=$url listening=$(grep -c 'listening on' /tmp/urlcam.log)" \
        "reopens=$(grep -c 'reopening' /tmp/urlcam.log) panics=$(grep -c 'panicked' /tmp/urlcam.log)"
    say "case $name camera=ok exit=$rc frames=${frames:-0} centis=$((t1 - t0)) rawexit=$DISP_RC" \
        "rawframes=$(sampled) partial=${partial:-0} w=640 h=480 srcbytes=0"
    show_samples "$name"
}
if [ "$LOOPBACK" = 1 ] && [ "$FULL" = 1 ] && wants url; then
    CAM_DEV=$LOOP
    url_case
    CAM_DEV=/dev/video0
fi

# The camera's count of bad frames so far: the largest of its "(N so far)" log lines and
# its stats lines' "bad frames skipped N".
skipped_so_far() {
    n=$(sed -n 's/.*skipped a bad frame.*(\([0-9]*\) so far).*/\1/p; s/.*stats:.*bad frames skipped \([0-9]*\).*/\1/p' \
        /tmp/cam.log | sort -n | tail -n 1)
    echo "${n:-0}"
}
# bad_case NAME FORMAT BURST: the writer sends good frames at 10 fps; a sampled display
# records every frame shown; 2 s in, the script steps the writer through BURST: SIGUSR1
# sends the next bad frame, after which the writer holds (sends nothing, so that frame
# stays the device's newest however late the camera looks) until the camera's count goes
# up, or 3.5 s, then SIGUSR2 resumes good frames for 0.5 s. The display goes on for 3 s
# after the burst. The camera's stats lines and summary must count every bad frame; no
# frame shown may differ from the known image.
bad_case() {
    name=$1 fmt=$2 burst=$3
    start_loop "$name" "--format $fmt --size 640x480 --fps 10 --burst $burst" \
        --format "$fmt" --size 640x480 --fps 10 || return
    start_sampled_display /tmp/raw.log 640 480 --stats off
    sleep 2
    before=$(sampled)
    for kind in $(echo "$burst" | tr , ' '); do
        count=$(skipped_so_far)
        kill -USR1 $WRITER_PID
        i=0
        while [ "$(skipped_so_far)" -le "$count" ] && [ $i -lt 35 ]; do sleep 0.1; i=$((i + 1)); done
        kill -USR2 $WRITER_PID
        sleep 0.5
    done
    i=0
    while ! grep -q "burst done" /tmp/writer.log && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    mark=$(sampled)
    sleep 3
    after=$(($(sampled) - mark))
    kill -0 $CAM_PID 2>/dev/null && alive=1 || alive=0
    end_sampled_display 0
    stop_camera
    stop_writer
    show "writer $name" /tmp/writer.log
    show "cam $name" /tmp/cam.log
    show "raw $name" /tmp/raw.log
    burst_bad=$(sed -n 's/.*burst done: \([0-9]*\) bad.*/\1/p' /tmp/writer.log)
    stats_skipped=$(sed -n 's/.*stats:.*bad frames skipped \([0-9]*\).*/\1/p' /tmp/cam.log | sort -n | tail -n 1)
    summary_skipped=$(sed -n 's/.*summary:.* \([0-9][0-9]*\) bad frames skipped.*/\1/p' /tmp/cam.log | tail -n 1)
    say "bad $name burst_bad=${burst_bad:--} camera_alive=$alive stats_skipped=${stats_skipped:--}" \
        "summary_skipped=${summary_skipped:--} skip_lines=$(grep -c 'skipped a bad frame' /tmp/cam.log)" \
        "panics=$(cat /tmp/cam.log /tmp/raw.log | grep -c 'panicked')" \
        "frames_before=$before frames_after=$after rawexit=$DISP_RC rawframes=$(sampled) w=640 h=480"
    show_samples "$name"
}
if [ "$LOOPBACK" = 1 ] && wants badframes; then
    CAM_DEV=$LOOP
    bad_case badmjpeg MJPG truncated,corrupt,garbage,empty
    bad_case badyuyv YUYV short,empty
    CAM_DEV=/dev/video0
fi

# The writer stops (a camera unplugged) and starts again 3 s after the camera reported it
# lost: the same messages and recovery as vivid's unbind/bind.
restart_writer() {
    start_writer /tmp/writer2.log --format MJPG --size 640x480 --fps 25 || show writer2 /tmp/writer2.log
}
restart_case() {
    CAM_DEV=$LOOP
    if start_loop restart "--format MJPG --size 640x480 --fps 25" --format MJPG --size 640x480 --fps 25; then
        unplug_case restart stop_writer restart_writer
        stop_writer
    else
        say "restart camera=failed"
    fi
    CAM_DEV=/dev/video0
}
# x86_64 only (tests/vm/cases): the recovery logic is the same on both architectures, and
# aarch64 keeps vivid's unbind/bind case (this one adds about 17 s).
[ "$LOOPBACK" = 1 ] && wants restart && restart_case

# --rotate 180, --hflip and --vflip on vivid: a raw frame upright, then one each way, which
# must be the upright one mirrored (v4l2-writer mirror; the middle half of the rows, below
# vivid's changing text). Twice: by pistream's own conversion (YUYV, vivid's mirror controls
# held at 0 with --control, so pistream mirrors), pixel for pixel; and by vivid's mirror
# controls (BGR3), at the bars' centres (vivid's mirror moves the bar edges a pixel or two).
# Prints "mirror WAY driver=N RESULT" per way, N the camera's "by the driver" lines.
mirror_case() {
    for how in "soft YUYV --control horizontal_flip=0 --control vertical_flip=0" "driver BGR3"; do
        # shellcheck disable=SC2086 # the words of $how, split
        set -- $how
        mode=$1 format=$2
        shift 2
        keep="$*"
        compare=""
        [ "$mode" = driver ] && compare=--bars
        rm -f /tmp/up.bgr
        # shellcheck disable=SC2086 # $keep: the --control options, split
        if ! start_camera /tmp/cam.log --fps 25 --size 640x480 --format "$format" --wire bgr --stats off $keep; then
            stop_camera
            show "cam mirror" /tmp/cam.log
            say "mirror $mode-up camera=failed"
            continue
        fi
        timeout 30 pistream display --connect 127.0.0.1:$PORT --sink raw:/tmp/up.bgr --frames 1 --stats off > /tmp/raw.log 2>&1
        stop_camera
        for way in "hv --rotate 180" "h --hflip" "v --vflip"; do
            # shellcheck disable=SC2086 # the flip and the options, split
            set -- $way
            flip=$1
            shift
            rm -f /tmp/turned.bgr
            # shellcheck disable=SC2086 # $keep, split
            if start_camera /tmp/cam.log --fps 25 --size 640x480 --format "$format" --wire bgr --stats off $keep "$@"; then
                timeout 30 pistream display --connect 127.0.0.1:$PORT --sink raw:/tmp/turned.bgr --frames 1 --stats off > /tmp/raw.log 2>&1
            fi
            driver=$(grep -c "by the driver" /tmp/cam.log)
            stop_camera
            show "cam mirror-$mode-$flip" /tmp/cam.log
            say "mirror $mode-$flip driver=$driver $(v4l2-writer mirror --size 640x480 --flip "$flip" $compare /tmp/up.bgr /tmp/turned.bgr 2>&1 | tail -n 1)"
        done
    done
}
wants mirror && mirror_case

# libcamera (Debian's 0.3.2) with vimc. `libcamera`: cam -l lists vimc's sensor.
# `libcamerify`: the dynamic pistream under libcamera's V4L2 adapter captures vimc's node.
# `rpicam`: the static pistream's --source rpicam with the stand-in rpicam-vid (libcamerasrc,
# rows padded as a Pi 4's). At 640x480 and 800x600 (vimc's sensor is 1920x1080, scaled by vimc):
# frames over 10 s and three raw frames, as capture_case; vimc manages a few frames a second
# under emulation, and libcamera takes a while to start.
vimc_case() {
    CASE_SECS=10 CASE_TIMEOUT=120 START_TRIES=1200
    tv=$(uptime_cs)
    capture_case "$@"
    say "took $1 $(($(uptime_cs) - tv))"
    unset CASE_SECS CASE_TIMEOUT START_TRIES
}
if [ "${LIBCAMERA:-0}" = 1 ]; then
    if wants libcamera; then
        t0=$(uptime_cs)
        timeout 120 /full/usr/bin/cam -l > /tmp/cam-l.txt 2>&1
        rc=$?
        show cam-l /tmp/cam-l.txt
        say "libcamera list exit=$rc centis=$(($(uptime_cs) - t0)) sensor=$(grep -c "Sensor B" /tmp/cam-l.txt)"
        if ! grep -q "Sensor B" /tmp/cam-l.txt; then
            # Why not: libcamera's own account of the devices it found.
            LIBCAMERA_LOG_LEVELS='*:DEBUG' timeout 120 /full/usr/bin/cam -l > /tmp/cam-l.txt 2>&1
            show cam-l-debug /tmp/cam-l.txt
            ls -l /run/udev/data /dev/media* > /tmp/nodes.txt 2>&1
            show nodes /tmp/nodes.txt
        fi
    fi
    if wants libcamerify && [ -n "$VIMC" ]; then
        CAM_BIN="/full/usr/bin/libcamerify pistream-dyn" CAM_DEV=$VIMC
        vimc_case libcamerify 640 480 - --size 640x480
        CAM_BIN=pistream CAM_DEV=/dev/video0
    fi
    if wants rpicam; then
        # The stand-in and the gst-launch it runs, first on PATH (not the whole of the drive's
        # usr/bin, whose pistream is the full binary's).
        mkdir -p /opt/standin
        ln -sf /full/usr/bin/rpicam-vid /full/usr/bin/gst-launch-1.0 /opt/standin/
        old_path=$PATH
        export PATH=/opt/standin:$PATH
        CAM_DEV=rpicam
        # 800 pixels: rows padded to 832 bytes, as a Pi 4's ISP pads them.
        vimc_case rpicam 800 600 - --size 800x600
        CAM_DEV=/dev/video0
        export PATH=$old_path
    fi
fi

# --- vicodec: the kernel's virtual stateful FWHT encoder and decoder (V4L2 M2M) -----------

# load_vicodec: modprobe vicodec (multi-planar queues, as the Pi's bcm2835-codec), after
# every other case (so they run without its nodes), just before its own. It
# registers three nodes at the first free numbers, found by their sysfs names; prints them
# ("vicodec| /dev/videoN NAME") and "vicodec enc=NODE dec=NODE sdec=NODE device=PLATFORM-DEVICE"
# ("-" for what is missing). Sets VICODEC_ENC, VICODEC_DECODER, VICODEC_SDEC (vicodec_nodes:
# true when all three are there) and VICODEC_DEV (the platform device, for the driver's
# unbind and bind).
VICODEC_ENC="" VICODEC_DEV=""
vicodec_nodes() {
    VICODEC_ENC="" VICODEC_DECODER="" VICODEC_SDEC=""
    for n in /sys/class/video4linux/video*; do
        case "$(cat "$n/name" 2>/dev/null)" in
            stateful-encoder) VICODEC_ENC=/dev/${n##*/} ;;
            stateful-decoder) VICODEC_DECODER=/dev/${n##*/} ;;
            stateless-decoder) VICODEC_SDEC=/dev/${n##*/} ;;
        esac
    done
    [ -n "$VICODEC_ENC" ] && [ -n "$VICODEC_DECODER" ] && [ -n "$VICODEC_SDEC" ] &&
        [ -e "$VICODEC_ENC" ] && [ -e "$VICODEC_DECODER" ] && [ -e "$VICODEC_SDEC" ]
}
# The platform device bound to vicodec (vicodec.0), or nothing.
vicodec_device() {
    for d in /sys/bus/platform/drivers/vicodec/*; do
        [ -L "$d" ] && [ -e "$d/driver_override" ] && { echo "${d##*/}"; return; }
    done
}
load_vicodec() {
    t0=$(uptime_cs)
    if ! modprobe vicodec multiplanar=1 2> /tmp/modprobe.log; then
        show modprobe /tmp/modprobe.log
        dmesg | grep -i 'vicodec\|mem2mem\|m2m' > /tmp/dmesg.txt
        show dmesg /tmp/dmesg.txt
        say "fatal modprobe vicodec multiplanar=1 failed"
        VICODEC=0
        return
    fi
    i=0
    while ! vicodec_nodes && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    VICODEC_DEV=$(vicodec_device)
    for n in /sys/class/video4linux/video*; do
        echo "/dev/${n##*/} $(cat "$n/name" 2>/dev/null)"
    done > /tmp/nodes.txt
    show vicodec /tmp/nodes.txt
    lsmod | grep -i 'vicodec\|mem2mem' > /tmp/lsmod.txt
    show lsmod /tmp/lsmod.txt
    dmesg | grep -i 'vicodec\|mem2mem\|m2m' > /tmp/dmesg.txt
    show dmesg /tmp/dmesg.txt
    say "vicodec enc=${VICODEC_ENC:--} dec=${VICODEC_DECODER:--} sdec=${VICODEC_SDEC:--} device=${VICODEC_DEV:--}" \
        "multiplanar=$(cat /sys/module/vicodec/parameters/multiplanar 2>/dev/null || echo -) centis=$(($(uptime_cs) - t0))"
}

# m2m: `pistream encoders --check` finds the M2M encoders by their capabilities (here
# vicodec's stateful encoder), drives each through encode, poll, drain and restart and decodes
# the stream back with the matching M2M decoder; one "check ok: ..." line per passed check,
# exit 0 when all pass. At 640x480 and 1280x720, 300 frames each. Prints its output
# ("m2m SIZE| ...") and "m2m size=SIZE exit=N ok=N failed=N centis=N"; then the
# allocation runs below: "m2m alloc short_secs=N long_secs=N short_frames=N short_rust=N
# short_fallback=N long_frames=N long_rust=N long_fallback=N".
m2m_case() {
    for size in 640x480 1280x720; do
        t0=$(uptime_cs)
        timeout "$M2M_CHECK_TIMEOUT" pistream encoders --check --size $size --frames 300 > /tmp/m2m.log 2>&1
        rc=$?
        t1=$(uptime_cs)
        show "m2m $size" /tmp/m2m.log
        say "m2m size=$size exit=$rc ok=$(grep -cE '^(pistream: )?check ok:' /tmp/m2m.log)" \
            "failed=$(grep -cE '^(pistream: )?(check failed|error):' /tmp/m2m.log) centis=$((t1 - t0))"
    done
    m2m_alloc_run "$M2M_ALLOC_SHORT"
    short="short_frames=$ALLOC_FRAMES short_rust=$ALLOC_RUST short_fallback=$ALLOC_FALLBACK"
    m2m_alloc_run "$M2M_ALLOC_LONG"
    say "m2m alloc short_secs=$M2M_ALLOC_SHORT long_secs=$M2M_ALLOC_LONG $short" \
        "long_frames=$ALLOC_FRAMES long_rust=$ALLOC_RUST long_fallback=$ALLOC_FALLBACK"
}

# The hardware encoding path's allocations per frame: the pattern camera (320x240, 30 fps)
# encodes with --h264-encoder hardware on vicodec (PISTREAM_TEST_M2M_CODEC=fwht) for one
# display, M2M_ALLOC_SHORT and then M2M_ALLOC_LONG seconds, its Rust allocations counted
# (PISTREAM_COUNT_ALLOCATIONS=1, printed at exit). The differences between the two runs
# (allocations over frames sent) are the steady state's allocations per frame: start-up,
# the display's connection and the encoder's set-up cancel out. Sets ALLOC_FRAMES,
# ALLOC_RUST ("-" when missing) and ALLOC_FALLBACK (the camera's "falls back" lines).
M2M_ALLOC_SHORT=3
M2M_ALLOC_LONG=23
m2m_alloc_run() {
    ALLOC_FRAMES=- ALLOC_RUST=- ALLOC_FALLBACK=-
    CAM_DEV=pattern CAM_BIN="env PISTREAM_TEST_M2M_CODEC=fwht PISTREAM_COUNT_ALLOCATIONS=1 pistream"
    start_camera /tmp/cam-alloc.log --size 320x240 --wire h264 --h264-encoder hardware
    started=$?
    CAM_DEV=/dev/video0 CAM_BIN=pistream
    if [ $started = 0 ]; then
        timeout $(($1 + 30)) pistream display --connect 127.0.0.1:$PORT --accept h264 --sink null \
            --seconds "$1" > /tmp/disp-alloc.log 2>&1
    fi
    stop_camera
    show "m2m alloc $1 s camera" /tmp/cam-alloc.log
    ALLOC_FRAMES=$(sed -n 's/.*summary: \([0-9]*\) frames sent.*/\1/p' /tmp/cam-alloc.log | tail -n 1)
    ALLOC_RUST=$(sed -n 's/.*allocations: \([0-9]*\) by Rust.*/\1/p' /tmp/cam-alloc.log | tail -n 1)
    ALLOC_FALLBACK=$(grep -c 'falls back to software' /tmp/cam-alloc.log)
    ALLOC_FRAMES=${ALLOC_FRAMES:--} ALLOC_RUST=${ALLOC_RUST:--}
}

# m2mloss: the hardware encoder disappears mid-stream. The pattern camera encodes H.264 with
# --h264-encoder hardware, which PISTREAM_TEST_M2M_CODEC=fwht points at vicodec's FWHT
# encoder (the frames are FWHT then, which the display cannot decode: it shows none of them);
# a display that accepts only H.264 runs 16 s; 5 s in, vicodec's platform device is unbound,
# the camera must say once that it "falls back to software" and go on with its software
# H.264 encoder, whose frames the display shows. vicodec is bound again after the display.
# Prints "m2mloss unbind=0|1 unbind_centis=N fallback_before=N fallback=N camera_alive=0|1
# display_exit=N display_centis=N reconnects=N frames_before=N frames_after=N frames_total=N
# rebound=0|1 nodes=N panics=N" (frames_before and _after from the display's stats lines,
# frames_total its summary; the centis from the display's start).
M2MLOSS_SECS=16
m2mloss_case() {
    CAM_DEV=pattern CAM_BIN="env PISTREAM_TEST_M2M_CODEC=fwht pistream"
    if ! start_camera /tmp/cam.log --size 640x480 --wire h264 --h264-encoder hardware; then
        CAM_DEV=/dev/video0 CAM_BIN=pistream
        stop_camera
        show "cam m2mloss" /tmp/cam.log
        say "m2mloss camera=failed reason: $(grep -v "^pistream: listening\|^Run 'pistream" /tmp/cam.log | tail -n 1)"
        return
    fi
    CAM_DEV=/dev/video0 CAM_BIN=pistream
    t0=$(uptime_cs)
    timeout $((M2MLOSS_SECS + 30)) pistream display --connect 127.0.0.1:$PORT --accept h264 --sink null \
        --seconds $M2MLOSS_SECS > /tmp/disp.log 2>&1 &
    disp=$!
    sleep 5
    # Frames shown so far (the per-second stats lines' "shown N fps"), then the unbind.
    mark=$(grep -c "stats:" /tmp/disp.log)
    fallback_before=$(grep -c 'falls back to software' /tmp/cam.log)
    tu=$(uptime_cs)
    echo "$VICODEC_DEV" > /sys/bus/platform/drivers/vicodec/unbind && unbound=1 || unbound=0
    say "m2mloss unbound $VICODEC_DEV at $(((tu - t0) / 100)) s: nodes now $(ls /sys/class/video4linux | tr '\n' ' ')"
    wait $disp
    rc=$?
    t1=$(uptime_cs)
    kill -0 $CAM_PID 2>/dev/null && alive=1 || alive=0
    echo "$VICODEC_DEV" > /sys/bus/platform/drivers/vicodec/bind 2> /tmp/bind.log
    i=0
    while ! vicodec_nodes && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    vicodec_nodes && rebound=1 || rebound=0
    show bind /tmp/bind.log
    stop_camera
    show "cam m2mloss" /tmp/cam.log
    show "disp m2mloss" /tmp/disp.log
    dmesg | grep -i 'vicodec\|mem2mem\|m2m' > /tmp/dmesg.txt
    show dmesg /tmp/dmesg.txt
    before=$(grep "stats:" /tmp/disp.log | head -n "$mark" |
        sed -n 's/.*shown \([0-9.]*\) fps.*/\1/p' | awk '{s += $1} END {printf "%d", s}')
    after=$(grep "stats:" /tmp/disp.log | tail -n +$((mark + 1)) |
        sed -n 's/.*shown \([0-9.]*\) fps.*/\1/p' | awk '{s += $1} END {printf "%d", s}')
    say "m2mloss unbind=$unbound unbind_centis=$((tu - t0)) fallback_before=$fallback_before fallback=$(grep -c 'falls back to software' /tmp/cam.log)" \
        "camera_alive=$alive display_exit=$rc display_centis=$((t1 - t0))" \
        "reconnects=$(grep -c 'reconnecting\|connection .* lost' /tmp/disp.log)" \
        "frames_before=${before:-0} frames_after=${after:-0} frames_total=$(shown /tmp/disp.log)" \
        "rebound=$rebound nodes=$(ls /sys/class/video4linux | wc -l)" \
        "panics=$(cat /tmp/cam.log /tmp/disp.log | grep -c 'panicked')"
}
if [ "${VICODEC:-0}" = 1 ] && { wants m2m || wants m2mloss; }; then
    load_vicodec
    if [ "$VICODEC" = 1 ]; then
        if wants m2m; then
            tm=$(uptime_cs)
            m2m_case
            say "took m2m $(($(uptime_cs) - tm))"
        fi
        if wants m2mloss; then
            tm=$(uptime_cs)
            if [ -n "$VICODEC_DEV" ]; then m2mloss_case; else say "m2mloss camera=failed reason: no vicodec platform device to unbind"; fi
            say "took m2mloss $(($(uptime_cs) - tm))"
        fi
    fi
fi

finish
