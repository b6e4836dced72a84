#!/usr/bin/env bash
# pidfile.sh - the pid file and the operator's commands around it, with two
# real agents on loopback (no HAProxy):
#   - the pid file is locked (flock) and written once the listeners are
#     bound; a second instance with the same config stops with "certspoa
#     already running (pid N)" and leaves the first one's pid file and
#     ready_file alone; one that fails to bind leaves them alone too;
#   - certspoa reload / stop signal the holder of the lock; with no pid file
#     they say "no such file: is certspoa running?", with a stale one (no
#     holder) they signal nobody;
#   - a pid file left by a killed agent does not block a restart;
#   - certspoa -c refuses bad addresses with file:line: key: why.
#
#   tests/integration/pidfile.sh          (also run by: make integration)
# Ends with exactly one line "pidfile: N passed, N failed".
set -u
. "$(dirname "$0")/lib.sh"

workdir pidfile
note "agent: $CERTSPOA_BIN"
cd "$WORK" || exit 1

free_port PORT || { fail "free port"; finish pidfile; exit 1; }
free_port PORT2 || { fail "free port"; finish pidfile; exit 1; }

# ini FILE PORT PIDFILE READY
ini() {
    printf '[agent]\nlisten = 127.0.0.1:%s\npid_file = %s\nready_file = %s\n' "$2" "$3" "$4" >"$1"
}
ini a.ini "$PORT" "$WORK/certspoa.pid" "$WORK/ready"

# ---- 1. the first agent: pid file written after binding, with its pid
start_agent a a.ini "$WORK/ready" || fail "first agent starts" "$WHY"
A=$AGENT_PID
check "pid_file holds the running agent's pid" eq "$(cat certspoa.pid 2>/dev/null)" "$A"
check "the pid_file is locked by the agent" \
    eq "$(flock -n -s certspoa.pid true 2>/dev/null && echo free || echo locked)" locked

# ---- 2. a second instance with the same config
cp ready ready.first
"$CERTSPOA_BIN" -f a.ini >b.log 2>&1
rc=$?
check "a second instance with the same config exits 69 (EX_UNAVAILABLE)" eq "$rc" 69
check "it says: certspoa already running (pid N)" file_has b.log "certspoa already running (pid $A)"
check "the first agent's pid_file is left alone" eq "$(cat certspoa.pid 2>/dev/null)" "$A"
check "the first agent's ready_file is left alone" cmp -s ready ready.first
check "the first agent still runs" kill -0 "$A"

# ---- 3. an instance that fails to bind (another pid file, same port)
ini c.ini "$PORT" "$WORK/c.pid" "$WORK/ready"
"$CERTSPOA_BIN" -f c.ini >c.log 2>&1
rc=$?
check "an instance whose port is taken fails (69)" eq "$rc" 69
check "it removes the pid file it created (its own)" test ! -e c.pid
check "it leaves the running agent's ready_file alone" cmp -s ready ready.first
check "and the running agent's pid_file" eq "$(cat certspoa.pid 2>/dev/null)" "$A"

# ---- 4. reload and stop through the pid file
out=$("$CERTSPOA_BIN" reload -f a.ini 2>&1)
check "certspoa reload signals the agent" has "$out" "reload signalled to pid $A"
wait_until 5 grep -q 'reload (SIGHUP)' a.log
check "the agent reloaded" file_has a.log "reload (SIGHUP)"
out=$("$CERTSPOA_BIN" stop -f a.ini 2>&1)
check "certspoa stop signals the agent" has "$out" "stop signalled to pid $A"
for _ in $(seq 1 50); do kill -0 "$A" 2>/dev/null || break; sleep 0.1; done
check "the agent stopped" eval "! kill -0 $A 2>/dev/null"
kill -0 "$A" 2>/dev/null && kill -KILL "$A"
wait "$A" 2>/dev/null
check "it exited 0" eq "$?" 0
forget_pid "$A"
check "it removed its own pid_file" test ! -e certspoa.pid

# ---- 5. no agent: reload / stop say so
for cmd in reload stop; do
    out=$("$CERTSPOA_BIN" $cmd -f a.ini 2>&1)
    rc=$?
    check "$cmd with no pid file: 'no such file: is certspoa running?'" \
        has "$out" "certspoa.pid: no such file: is certspoa running?"
    check "$cmd with no pid file exits 69" eq "$rc" 69
done

# ---- 6. a stale pid file (nobody holds its lock) names another process:
# it is not signalled
sleep 30 &
VICTIM=$!
CHILD_PIDS+=("$VICTIM")
echo "$VICTIM" >certspoa.pid
out=$("$CERTSPOA_BIN" reload -f a.ini 2>&1)
check "reload refuses a stale pid file" has "$out" "stale (pid $VICTIM does not hold it): is certspoa running?"
out=$("$CERTSPOA_BIN" stop -f a.ini 2>&1)
check "stop refuses a stale pid file" has "$out" "is certspoa running?"
check "the process it names was not signalled" kill -0 "$VICTIM"

# ---- 7. a pid file left by a killed agent does not block a restart
start_agent a2 a.ini "$WORK/ready" || fail "agent starts over a stale pid file" "$WHY"
A2=$AGENT_PID
check "the restarted agent took the stale pid file over" eq "$(cat certspoa.pid 2>/dev/null)" "$A2"
kill -KILL "$A2"
wait "$A2" 2>/dev/null
forget_pid "$A2"
check "SIGKILL leaves the pid file" test -e certspoa.pid
start_agent a3 a.ini "$WORK/ready" || fail "agent starts after a SIGKILL" "$WHY"
check "a restart after SIGKILL runs and owns the pid file" eq "$(cat certspoa.pid 2>/dev/null)" "$AGENT_PID"
stop_agent "$AGENT_PID"
check "and exits 0" eq "$AGENT_RC" 0

# ---- 8. -c checks addresses in full
bad_listen() {   # bad_listen VALUE WANT
    printf '[agent]\nlisten = %s\n' "$1" >bad.ini
    out=$("$CERTSPOA_BIN" -c -f bad.ini 2>&1)
    rc=$?
    check "-c refuses listen = $1 (78)" eq "$rc" 78
    check "-c says bad.ini:2: listen: $2" has "$out" "bad.ini:2: listen: $2"
}
bad_listen 127.0.0.1:93345 "'127.0.0.1:93345': port 93345 is out of range [0, 65535]"
bad_listen 28347 "'28347' has no host"
bad_listen 'bad_host:80' "'bad_host:80': 'bad_host' is neither an IPv4 address nor a host name"
printf '[agent]\nlisten = 127.0.0.1:%s\n[stats]\nlisten = 127.0.0.1:70000\n' "$PORT2" >bad.ini
out=$("$CERTSPOA_BIN" -c -f bad.ini 2>&1)
check "-c refuses [stats] listen = 127.0.0.1:70000" has "$out" "bad.ini:4: listen: '127.0.0.1:70000': port 70000 is out of range"

finish pidfile
