# Sourced by tests/vm/init.sh when the rig boots for scripts/bench-ustreamer (BENCH=ustreamer
# in /etc/vmrig.conf): pistream and µStreamer (Debian's ustreamer, with its shared
# libraries and the loader in the initramfs) serve MJPEG over HTTP from the same vivid
# device, the same way (YUYV 640x480 at 25 fps, JPEG quality 80), to 1 and to 8 clients
# (/bin/mjpeg-count, which counts the parts it receives). Runs alternate between the two
# servers so that the host's load falls on both alike.
#
# Per run: a fresh server; wait until /snapshot answers; start the clients; warm up
# BENCH_WARMUP s; then over BENCH_SECS s count the parts every client received and the
# server's CPU time (utime + stime of /proc/PID/stat, all its threads), and the guest's
# idle time (/proc/stat). Prints one line per run:
#   VMRIG bench server=S clients=N run=R centis=T cpu_ticks=C hz=100 parts=P min=A max=B
#     bytes=Y idle_ticks=I all_ticks=K captured=F
# (captured: frames the server captured in the window, from its /state, or -). The host
# (scripts/bench-ustreamer) makes the table.

BENCH_SECS=${BENCH_SECS:-10}
BENCH_WARMUP=${BENCH_WARMUP:-3}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_CLIENTS=${BENCH_CLIENTS:-1 8}
BENCH_QUALITY=80
# (busybox 1.35's static wget crashes with -T: timeout bounds it instead.)
# µStreamer is dynamically linked: its libraries sit where Debian puts them.
USTREAMER_LIBS=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu

# Both servers capture the same way: YUYV (µStreamer's default and vivid's native
# format), 640x480, 25 fps (vivid's most at 640x480), JPEG quality 80 (both defaults).
# Both encode with libjpeg-turbo, baseline 4:2:0: µStreamer feeds it the YUYV as Y'CbCr
# rows, pistream converts to BGR first (what its own protocol sends) and encodes that.
bench_start() {
    server=$1 port=$2
    : > /tmp/server.log
    case "$server" in
        pistream)
            pistream camera --source /dev/video0 --listen 127.0.0.1:$port --format YUYV \
                --size 640x480 --fps 25 --jpeg-quality $BENCH_QUALITY --stats off \
                > /tmp/server.log 2>&1 &
            ;;
        ustreamer)
            LD_LIBRARY_PATH=$USTREAMER_LIBS ustreamer --device /dev/video0 --format YUYV \
                --resolution 640x480 --desired-fps 25 --quality $BENCH_QUALITY \
                --host 127.0.0.1 --port $port > /tmp/server.log 2>&1 &
            ;;
    esac
    SERVER_PID=$!
    i=0
    while [ $i -lt 300 ]; do
        kill -0 $SERVER_PID 2>/dev/null || return 1
        timeout 5 wget -q -O /tmp/snap.jpg "http://127.0.0.1:$port/snapshot" 2>/dev/null &&
            [ -s /tmp/snap.jpg ] && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
bench_stop() {
    kill $SERVER_PID 2>/dev/null
    wait $SERVER_PID 2>/dev/null
}
# utime + stime of a process, in clock ticks (USER_HZ, 100 on Linux).
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' /proc/$1/stat; }
# utime + stime of each of a process's threads, summed per thread name (spaces made _):
# "NAME TICKS" lines, from one read of every /proc/PID/task/*/stat.
thread_ticks() {
    awk '{ c = $0; sub(/^[^(]*\(/, "", c); sub(/\) [^)]*$/, "", c); gsub(/ /, "_", c)
           r = $0; sub(/^.*\) /, "", r); split(r, f, " "); t[c] += f[12] + f[13] }
         END { for (c in t) print c, t[c] }' /proc/"$1"/task/*/stat 2>/dev/null
}
# The guest's idle and total ticks so far (the cpu line of /proc/stat).
guest_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, t }' /proc/stat; }
# Frames captured so far (pistream's /state "captured") or the capture rate
# (µStreamer's /state "captured_fps"); "-" if neither is there.
captured() {
    timeout 5 wget -q -O - "http://127.0.0.1:$1/state" 2>/dev/null | tr -d ' \n' |
        sed -n 's/.*"captured":\([0-9]*\).*/c \1/p; s/.*"captured_fps":\([0-9]*\).*/f \1/p' | head -n 1
}

bench_run() {
    server=$1 n=$2 run=$3
    port=$((port + 1))
    if ! bench_start "$server" $port; then
        bench_stop
        show "$server" /tmp/server.log
        say "bench server=$server clients=$n run=$run failed: the server did not answer /snapshot"
        return
    fi
    pids=""
    c=1
    while [ $c -le "$n" ]; do
        mjpeg-count 127.0.0.1:$port /stream > /tmp/client$c.out 2> /tmp/client$c.err &
        pids="$pids $!"
        c=$((c + 1))
    done
    sleep "$BENCH_WARMUP"
    ct0=$(uptime_cs)
    cap0=$(captured $port)
    # shellcheck disable=SC2086 # one pid per word
    kill -USR1 $pids
    cpu0=$(cpu_ticks $SERVER_PID)
    thread_ticks $SERVER_PID > /tmp/threads0
    g0=$(guest_ticks)
    t0=$(uptime_cs)
    sleep "$BENCH_SECS"
    # shellcheck disable=SC2086
    kill -USR1 $pids
    cpu1=$(cpu_ticks $SERVER_PID)
    thread_ticks $SERVER_PID > /tmp/threads1
    g1=$(guest_ticks)
    t1=$(uptime_cs)
    cap1=$(captured $port)
    ct1=$(uptime_cs)
    # The clients print at their next read, within a frame's time.
    sleep 0.5
    # shellcheck disable=SC2086
    kill $pids 2>/dev/null
    wait $pids 2>/dev/null
    [ "$run" = 1 ] && [ "$n" = 1 ] && say "bench state $server $(timeout 5 wget -q -O - "http://127.0.0.1:$port/state" 2>/dev/null | tr -d '\n')"
    bench_stop
    # Parts and bytes each client received between the two reports.
    counts=$(for c in $(seq 1 "$n"); do
        awk 'NR == 1 { p = $1; b = $2 } NR == 2 { print $1 - p, $2 - b; ok = 1 } END { if (!ok) print "- -" }' /tmp/client$c.out
    done)
    summary=$(echo "$counts" | awk '
        $1 == "-" { bad++; next }
        { p += $1; b += $2; if (min == "" || $1 < min) min = $1; if ($1 > max) max = $1 }
        END { printf "parts=%d min=%s max=%d bytes=%d missing=%d", p, min == "" ? 0 : min, max, b, bad }')
    captured_frames=-
    case "$cap0 $cap1" in
        # A count, taken around the window (each /state takes a moment): its rate, over the
        # window.
        "c "*" c "*) captured_frames=$(((${cap1#c } - ${cap0#c }) * (t1 - t0) / (ct1 - ct0))) ;;
        # A rate (frames in the last whole second): the mean of the two, over the window.
        "f "*" f "*) captured_frames=$(((${cap0#f } + ${cap1#f }) * (t1 - t0) / 200)) ;;
    esac
    say "bench server=$server clients=$n run=$run centis=$((t1 - t0)) cpu_ticks=$((cpu1 - cpu0)) hz=100" \
        "$summary idle_ticks=$((${g1% *} - ${g0% *})) all_ticks=$((${g1#* } - ${g0#* })) captured=$captured_frames"
    # Where the server's CPU went: ticks per thread name over the window.
    say "bench threads server=$server clients=$n run=$run" "$(awk 'NR == FNR { a[$1] = $2; next }
        { d = $2 - a[$1]; if (d > 0) printf " %s=%d", $1, d }' /tmp/threads0 /tmp/threads1)"
    if [ "$run" = 1 ]; then
        show "$server" /tmp/server.log
        for c in $(seq 1 "$n"); do show "client$c" /tmp/client$c.err; done
    fi
}

say "bench ustreamer µStreamer $(LD_LIBRARY_PATH=$USTREAMER_LIBS ustreamer --version 2>&1 | head -n 1)"
say "bench settings secs=$BENCH_SECS warmup=$BENCH_WARMUP runs=$BENCH_RUNS clients=$(echo $BENCH_CLIENTS | tr ' ' ,) quality=$BENCH_QUALITY"
run=1
while [ $run -le "$BENCH_RUNS" ]; do
    for n in $BENCH_CLIENTS; do
        for server in pistream ustreamer; do
            bench_run $server "$n" $run
        done
    done
    run=$((run + 1))
done
