#!/bin/sh
# Guest suite: runs /bin/nsenter against targets of its own in namespaces of every kind.
# Each test prints one line, 'GUEST-TEST ok NAME' or 'GUEST-TEST FAIL NAME: REASON', and the
# suite ends with 'GUEST-SUMMARY N passed, M failed'; xtask reads them from the serial console.

# Absolute paths: Debian's static busybox runs its own applets (it has an nsenter) before
# searching PATH, in sh, env and timeout alike.
nsenter=/bin/nsenter
helper=/bin/nsenter-guest-helper
passed=0
failed=0
targets=""
kinds="cgroup ipc mnt net pid time user uts"
ns_script="for k in $kinds; do readlink /proc/self/ns/\$k; done"

pass() {
    echo "GUEST-TEST ok $1"
    passed=$((passed + 1))
}

# fail NAME REASON: the reason is put on one line, so each test stays one line.
fail() {
    echo "GUEST-TEST FAIL $1: $(printf '%s' "$2" | tr '\n' '|')"
    failed=$((failed + 1))
}

# check NAME STATUS STDOUT -- COMMAND...: runs COMMAND (killed after 10 s) and compares its exit
# status and stdout.
check() {
    name=$1 want_status=$2 want_out=$3
    shift 4
    out=$(timeout 10 "$@" 2>/tmp/stderr)
    status=$?
    if [ "$status" != "$want_status" ]; then
        fail "$name" "exit status $status, expected $want_status; stdout: $out; stderr: $(cat /tmp/stderr)"
    elif [ "$out" != "$want_out" ]; then
        fail "$name" "stdout '$out', expected '$want_out'; stderr: $(cat /tmp/stderr)"
    else
        pass "$name"
    fi
}

# check_stderr NAME STATUS TEXT -- COMMAND...: runs COMMAND and expects the exit status and TEXT
# in its stderr.
check_stderr() {
    name=$1 want_status=$2 want_text=$3
    shift 4
    out=$(timeout 10 "$@" 2>/tmp/stderr)
    status=$?
    if [ "$status" != "$want_status" ]; then
        fail "$name" "exit status $status, expected $want_status; stderr: $(cat /tmp/stderr)"
    elif ! grep -qF -- "$want_text" /tmp/stderr; then
        fail "$name" "stderr '$(cat /tmp/stderr)' does not contain '$want_text'"
    else
        pass "$name"
    fi
}

# start VARIABLE SPAWN-ARGS...: starts a target with the helper and stores its PID in VARIABLE.
start() {
    variable=$1
    shift
    pid=$(timeout 10 $helper spawn "$@" 2>/tmp/stderr)
    if [ -z "$pid" ]; then
        fail "start $variable" "$helper spawn $* failed: $(cat /tmp/stderr)"
    fi
    targets="$targets $pid"
    eval "$variable=\$pid"
}

# wait_for_file PATH: waits up to 10 s for PATH to exist.
wait_for_file() {
    tries=0
    while [ ! -e "$1" ] && [ $tries -lt 200 ]; do
        sleep 0.05
        tries=$((tries + 1))
    done
}

process_state() {
    cut -d' ' -f3 /proc/$1/stat 2>/dev/null
}

# wait_for_state PID STATE: waits up to 5 s for the process to reach STATE (S, T, ...).
wait_for_state() {
    tries=0
    while [ "$(process_state $1)" != "$2" ] && [ $tries -lt 100 ]; do
        sleep 0.05
        tries=$((tries + 1))
    done
    [ "$(process_state $1)" = "$2" ]
}

# /tmp/without-proc COMMAND...: runs COMMAND in a new mount namespace without /proc. A script
# and not a function, so that timeout can run it.
cat >/tmp/without-proc <<'END'
#!/bin/sh
exec unshare -m --propagation private -- sh -c 'umount /proc && exec "$@"' sh "$@"
END
chmod +x /tmp/without-proc

# --- targets ---------------------------------------------------------------------------------

mkdir -p /sys/fs/cgroup/nsenter-target
# A: every namespace kind, its own hostname, cgroup and environment.
start A --ns mnt,uts,ipc,net,pid,cgroup,time,user --hostname target-all --cgroup /sys/fs/cgroup/nsenter-target -- env FOO=target-env sleep 600
# S: new namespaces, but the caller's user namespace.
start S --ns uts,ipc,net --hostname target-same-user -- sleep 600
# U: a user namespace mapping 0-65535 to 100000-165535, target running as 5:6 inside.
start U --ns user,uts --map "0 100000 65536" --uid 5 --gid 6 --hostname target-user -- sleep 600
# D: a user namespace whose setgroups is denied.
start D --ns user --map "0 100000 65536" --deny-setgroups -- sleep 600
# N: has a socket of a network namespace that is neither ours nor its own open as fd 5.
start N --ns net --net-socket 5 -- sleep 600
# C: a chroot with a shell, cwd /work.
root_shell=/tmp/root-shell
mkdir -p $root_shell/bin $root_shell/work
cp /bin/busybox $root_shell/bin/
echo root-shell >$root_shell/marker
start C --ns mnt --chroot $root_shell -- /bin/busybox sh -c 'cd /work && exec /bin/busybox sleep 600'
# E: a chroot with no shell at all.
root_empty=/tmp/root-empty
mkdir -p $root_empty
cp $helper $root_empty/helper
start E --ns mnt --chroot $root_empty -- /helper pause
# C's shell changes its cwd after exec: wait for it (at most 5 s) before tests read the cwd.
tries=0
while [ "$(readlink /proc/$C/cwd)" != $root_shell/work ] && [ $tries -lt 100 ]; do
    sleep 0.05
    tries=$((tries + 1))
done

# The tests compare namespace ids with the suite's, so each target must have its own namespaces.
for pair in S:uts S:ipc S:net U:user U:uts D:user; do
    name=${pair%%:*}
    kind=${pair#*:}
    eval "target_pid=\$$name"
    target_ns=$(readlink /proc/$target_pid/ns/$kind)
    if [ -z "$target_ns" ] || [ "$target_ns" = "$(readlink /proc/self/ns/$kind)" ]; then
        fail "setup $name $kind" "target $name has no $kind namespace of its own"
    fi
done

export FOO=caller-env

# --- every kind by -t and by FILE ------------------------------------------------------------

for pair in mnt:mount uts:uts ipc:ipc net:net pid:pid cgroup:cgroup time:time user:user; do
    kind=${pair%%:*}
    long=${pair#*:}
    want=$(readlink /proc/$A/ns/$kind)
    if [ "$want" = "$(readlink /proc/self/ns/$kind)" ]; then
        fail "setup $kind" "target A shares the $kind namespace of the suite"
    fi
    check "target $kind" 0 "$want" -- $nsenter -t "$A" --$long -- readlink /proc/self/ns/$kind
    check "file $kind" 0 "$want" -- $nsenter --$long=/proc/$A/ns/$kind -- readlink /proc/self/ns/$kind
done

check "short options attached" 0 "$(readlink /proc/$A/ns/net)" -- $nsenter -t"$A" -n/proc/$A/ns/net readlink /proc/self/ns/net
check "uts hostname" 0 target-all -- $nsenter -t "$A" -u hostname
touch /tmp/netns-bind
mount --bind /proc/$A/ns/net /tmp/netns-bind
check "file bind mount" 0 "$(readlink /proc/$A/ns/net)" -- $nsenter --net=/tmp/netns-bind readlink /proc/self/ns/net
umount /tmp/netns-bind
check "time offset" 0 yes -- $nsenter -t "$A" -T -- sh -c 'read up rest </proc/uptime; [ ${up%.*} -ge 100000 ] && echo yes'
check_stderr "target missing" 1 "neither filename nor target pid supplied for ns/uts" -- $nsenter -u true

# --- --all ------------------------------------------------------------------------------------

want_all=$(for k in $kinds; do readlink /proc/$A/ns/$k; done)
check "all kinds" 0 "$want_all" -- $nsenter -t "$A" --all -- sh -c "$ns_script"
# S shares the suite's user namespace, so --all must enter S's uts, ipc and net namespaces and
# leave the user namespace alone.
want_same=$(for k in $kinds; do readlink /proc/$S/ns/$k; done)
check "all same user namespace" 0 "$(printf '%s\ntarget-same-user' "$want_same")" -- $nsenter -t "$S" -a -- sh -c "$ns_script; hostname"

# --- user namespace credentials ----------------------------------------------------------------

# The suite runs as root in the initial user namespace, where any uid and gid can be set, so
# each test also prints the user namespace that the program is in.
user_u=$(readlink /proc/$U/ns/user)
user_d=$(readlink /proc/$D/ns/user)
user_script='readlink /proc/self/ns/user; id -u; id -g'
check "user forced root" 0 "$(printf '%s\n0\n0\n0' "$user_u")" -- $nsenter -t "$U" -U -- sh -c "$user_script; id -G"
check "user setuid setgid" 0 "$(printf '%s\n7\n8' "$user_u")" -- $nsenter -t "$U" -U -S 7 -G 8 -- sh -c "$user_script"
check "user follow" 0 "$(printf '%s\n5\n6' "$user_u")" -- $nsenter -t "$U" -U -S follow -G follow -- sh -c "$user_script"
check "user preserve credentials" 0 "$(printf '%s\n65534' "$user_u")" -- $nsenter -t "$U" -U --preserve-credentials -- sh -c 'readlink /proc/self/ns/user; id -u'
# /proc/self/setgroups shows the setting of the reader's user namespace, which is 'allow' in the
# suite's.
check "user setgroups denied" 0 "$(printf '%s\n0\ndeny' "$user_d")" -- $nsenter -t "$D" -U -- sh -c 'readlink /proc/self/ns/user; id -u; cat /proc/self/setgroups'

# --- root and working directory ----------------------------------------------------------------

check "root target" 0 root-shell -- $nsenter -t "$C" -r -- /bin/busybox cat /marker
check "root and wd target" 0 /work -- $nsenter -t "$C" -r -w -- /bin/busybox pwd
check "root file" 0 root-shell -- $nsenter --root=$root_shell -- /bin/busybox cat /marker
check "wd file" 0 /sys -- $nsenter -w/sys pwd
check "wdns in root" 0 /work -- $nsenter -t "$C" -r -W /work -- /bin/busybox pwd
# A tmpfs on /mnt in target A's mount namespace contains /mnt/inside and /mnt/not-executable, and the
# suite's own /mnt contains /mnt/suite-only. The suite writes /mnt/not-executable through
# /proc/A/root, so that it lands in A's mount namespace even if nsenter mounted the tmpfs elsewhere.
if ! timeout 10 $nsenter -t "$A" -m -- sh -c 'mount -t tmpfs inner /mnt && mkdir /mnt/inside' 2>/tmp/stderr; then
    fail "setup wdns" "mounting a tmpfs on /mnt in target A's mount namespace failed: $(cat /tmp/stderr)"
fi
echo 'echo never' >/proc/$A/root/mnt/not-executable
printf '#!/bin/sh\necho suite-only\n' >/mnt/suite-only
chmod +x /mnt/suite-only
if [ -e /mnt/inside ]; then
    fail "setup wdns" "/mnt/inside of target A's mount namespace is visible to the suite"
fi
check "wdns in mount namespace" 0 /mnt/inside -- $nsenter -t "$A" -m -W /mnt/inside pwd

# --- environment, cgroup, network socket --------------------------------------------------------

check "env target" 0 target-env -- $nsenter -t "$A" -e -- sh -c 'echo $FOO'
check "join cgroup" 0 0::/nsenter-target -- $nsenter -t "$A" -c -- cat /proc/self/cgroup
socket_net=$(timeout 10 $nsenter -t "$N" -N 5 -- readlink /proc/self/ns/net 2>/tmp/stderr)
if [ -z "$socket_net" ]; then
    fail "net socket" "$nsenter -N failed: $(cat /tmp/stderr)"
elif [ "$socket_net" = "$(readlink /proc/self/ns/net)" ] || [ "$socket_net" = "$(readlink /proc/$N/ns/net)" ]; then
    fail "net socket" "entered $socket_net, which is not the socket's network namespace"
else
    pass "net socket"
fi

# --- fork, exit status and signals ---------------------------------------------------------------

pid_a=$(readlink /proc/$A/ns/pid)
check "exit status forked" 7 "$pid_a" -- $nsenter -t "$A" -p -- sh -c 'readlink /proc/self/ns/pid; exit 7'
check "exit status exec" 7 target-all -- $nsenter -t "$A" -u -- sh -c 'hostname; exit 7'
check "no fork with pid" 0 "$(readlink /proc/self/ns/pid) $(readlink /proc/$A/ns/pid)" -- $nsenter -t "$A" -p -F -- sh -c 'echo $(readlink /proc/$$/ns/pid) $(readlink /proc/$$/ns/pid_for_children)'
check "killed by signal" 0 "$(printf '%s\nsignal 10' "$pid_a")" -- $helper status $nsenter -t "$A" -p -- sh -c 'readlink /proc/self/ns/pid; kill -USR1 $$'
# nsenter looks the program up after entry, where the tmpfs on target A's /mnt hides /mnt/suite-only.
check_stderr "program not found" 127 "failed to execute /mnt/suite-only" -- $nsenter -t "$A" -m -- /mnt/suite-only
check "program not executable" 126 "" -- $nsenter -t "$A" -m -- /mnt/not-executable

# forward SIGNAL: nsenter's forking parent gets SIGNAL and must pass it to its child, whose trap
# exits 3. An nsenter that died of the signal itself would give 128+N instead. The child writes
# its PID namespace to /tmp/ready, because a program run without a forking parent would get the
# signal directly and exit 3 as well.
for signal in INT TERM HUP QUIT USR1 USR2; do
    rm -f /tmp/ready
    $helper reset-signals $nsenter -t "$A" -p -- sh -c "trap 'kill \$! 2>/dev/null; exit 3' $signal; sleep 30 & readlink /proc/self/ns/pid >/tmp/ready.part && mv /tmp/ready.part /tmp/ready; wait" &
    nsenter_pid=$!
    # A watchdog, so an nsenter that ignores the signal cannot hang the suite.
    (sleep 10 && kill -KILL $nsenter_pid) 2>/dev/null &
    watchdog=$!
    wait_for_file /tmp/ready
    kill -$signal $nsenter_pid
    wait $nsenter_pid
    status=$?
    kill $watchdog 2>/dev/null
    child_pid_ns=$(cat /tmp/ready 2>/dev/null)
    if [ "$child_pid_ns" != "$pid_a" ]; then
        fail "forward $signal" "the program ran in PID namespace '$child_pid_ns', expected target A's $pid_a"
    elif [ $status = 3 ]; then
        pass "forward $signal"
    else
        fail "forward $signal" "exit status $status, expected 3 from the child's trap"
    fi
done

# stop and continue: when the child stops, the forking parent stops itself, and continuing the
# parent continues the child. The watchdog leaves /tmp/watchdog-fired, so that its SIGKILL is not
# taken for one that nsenter re-raised.
rm -f /tmp/ready /tmp/watchdog-fired
$nsenter -t "$A" -p -- sh -c 'touch /tmp/ready; exec sleep 30' &
nsenter_pid=$!
(sleep 10 && touch /tmp/watchdog-fired && kill -KILL $nsenter_pid) 2>/dev/null &
watchdog=$!
wait_for_file /tmp/ready
# The children file lists PIDs, each followed by a space.
child=""
read -r child rest 2>/dev/null </proc/$nsenter_pid/task/$nsenter_pid/children
if [ -z "$child" ] || [ "$(readlink /proc/$child/ns/pid)" != "$pid_a" ]; then
    reason="nsenter (PID $nsenter_pid) has no child in target A's PID namespace"
    fail "stop propagated" "$reason"
    fail "continue propagated" "$reason"
    fail "child SIGKILL reraised" "$reason"
    kill -KILL $nsenter_pid 2>/dev/null
    wait $nsenter_pid
else
    kill -STOP $child
    if ! wait_for_state $nsenter_pid T; then
        fail "stop propagated" "nsenter is in state '$(process_state $nsenter_pid)' after its child stopped, expected T"
    else
        pass "stop propagated"
    fi
    kill -CONT $nsenter_pid
    if ! wait_for_state $child S; then
        fail "continue propagated" "the child is in state '$(process_state $child)' after nsenter continued, expected S"
    else
        pass "continue propagated"
    fi
    kill -KILL $child
    wait $nsenter_pid
    status=$?
    if [ -e /tmp/watchdog-fired ]; then
        fail "child SIGKILL reraised" "the watchdog killed nsenter 10 s after it started"
    elif [ $status = 137 ]; then
        pass "child SIGKILL reraised"
    else
        fail "child SIGKILL reraised" "exit status $status, expected 137 (SIGKILL)"
    fi
fi
kill $watchdog 2>/dev/null

# --- no /proc: entry by pidfd --------------------------------------------------------------------

# The program is still root in the private mount namespace of /tmp/without-proc, so it can mount
# a proc there after entry and read its network and IPC namespaces.
check "no proc target" 0 "$(printf 'target-all\n%s\n%s' "$(readlink /proc/$A/ns/net)" "$(readlink /proc/$A/ns/ipc)")" -- /tmp/without-proc $nsenter -t "$A" -u -n -i -- sh -c 'hostname; mount -t proc proc /proc && readlink /proc/self/ns/net && readlink /proc/self/ns/ipc'
# Inside U's user namespace the program cannot mount a proc. The suite's root (uid 0) owns /tmp,
# and U does not map uid 0, so stat inside U reports the overflow uid 65534.
check "no proc user" 0 "$(printf 'target-user\n0\n65534')" -- /tmp/without-proc $nsenter -t "$U" -U -u -- sh -c 'hostname; id -u; stat -c %u /tmp'
check "no proc mount" 0 "$(readlink /proc/$A/ns/uts)" -- /tmp/without-proc $nsenter -t "$A" -m -u -- readlink /proc/self/ns/uts

# --- /proc/PID/ns fallback, forced by a seccomp filter on pidfd_open -----------------------------

check "seccomp filter active" 0 "$(printf 'Seccomp:\t2')" -- $helper no-pidfd grep Seccomp: /proc/self/status
check "fallback target" 0 "$(printf 'target-all\n%s' "$(readlink /proc/$A/ns/net)")" -- $helper no-pidfd $nsenter -t "$A" -u -n -- sh -c 'hostname; readlink /proc/self/ns/net'
check "fallback all" 0 "$want_all" -- $helper no-pidfd $nsenter -t "$A" --all -- sh -c "$ns_script"
check_stderr "fallback needs proc" 1 "cannot open /proc/$A/ns/uts" -- /tmp/without-proc $helper no-pidfd $nsenter -t "$A" -u hostname

# --- a target root without a shell ---------------------------------------------------------------

check_stderr "no shell default program" 127 "failed to execute /bin/sh" -- env SHELL=/bin/sh $nsenter -t "$E" -m -r
check_stderr "no shell named program" 127 "failed to execute sh" -- $nsenter -t "$E" -m -r -- sh -c true

# --- end -----------------------------------------------------------------------------------------

for pid in $targets; do
    kill -KILL "$pid" 2>/dev/null
done
echo "GUEST-SUMMARY $passed passed, $failed failed"
