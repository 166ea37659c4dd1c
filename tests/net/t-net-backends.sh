#!/bin/bash
# t-net-backends.sh: skiff's tap and user backends end to end, with the host's own kernel as the
# guest: a tap device and a user backend on hub 0, so that the tap's side of the host is on
# libslirp's network. Busybox's udhcpc gets a lease through the tap from libslirp, wget fetches
# a file from the host through libslirp's NAT, tftp reads from tftp=, a hostfwd= reaches a server
# on the tap's side, the monitor adds and removes a rule and lists connections (info usernet),
# nslookup goes through libslirp's DNS forwarder to a stub resolver, and skiff quits cleanly
# (the sanitizer build where there is one). All of it in a network and mount namespace of the
# suite's own: nothing leaves it, and it goes when the suite ends.
# budget: 120 (about 15 s, more on a loaded machine: each step starts a python3)
if [ -z "${T_NET_IN_NS:-}" ]; then
    if [ "$(id -u)" -eq 0 ] && [ -e /dev/net/tun ] && unshare -n true 2>/dev/null; then
        T_NET_IN_NS=1 exec unshare -n -m "$0" "$@"
    fi
    . "$(dirname "$0")/../lib/common.sh"
    skip "needs root, /dev/net/tun and a network namespace of its own" "tap and user backends end to end"
    done_testing
fi
. "$(dirname "$0")/../lib/common.sh"

VMM=${SKIFF_SAN:-$SKIFF}
BB=$(command -v busybox)
if [ -z "$BB" ] && ! need_pkg busybox; then
    skip "needs busybox (udhcpc, wget, tftp)" "tap and user backends end to end"
    done_testing
fi
BB=$(command -v busybox)
ip link set lo up

# the host's resolver, as libslirp reads it from /etc/resolv.conf: a stub on 127.0.0.1 (in this
# mount namespace only) that answers every A query with 192.0.2.7
echo "nameserver 127.0.0.1" >"$TMP/resolv.conf"
mount --bind "$TMP/resolv.conf" /etc/resolv.conf
python3 -c '
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
while True:
    q, peer = s.recvfrom(512)
    end = 12
    while q[end]:
        end += q[end] + 1
    question = q[12:end + 5]
    answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 7])
    s.sendto(q[:2] + b"\x81\x80" + struct.pack(">HHHH", 1, 1, 0, 0) + question + answer, peer)
' &
DNS_PID=$!

# the host's side: a web server on 127.0.0.1, a file to fetch and one to serve over TFTP
mkdir -p "$TMP/www" "$TMP/tftp"
head -c 100000 /dev/urandom >"$TMP/www/blob"
echo "skiff tftp" >"$TMP/tftp/hello.txt"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WEB=$(free_port)
FWD=$(free_port)
FWD2=$(free_port)
python3 -m http.server "$WEB" --bind 127.0.0.1 --directory "$TMP/www" >/dev/null 2>&1 &
WEB_PID=$!
for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $WEB), 1)" 2>/dev/null && break; sleep 0.05; done

ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:exitcode=86} \
"$VMM" -accel qtest -qtest null -display none \
    -netdev tap,id=t0,ifname=sktap0,script=no,downscript=no -netdev hubport,id=p0,hubid=0,netdev=t0 \
    -netdev user,id=u0,hostfwd=tcp:127.0.0.1:$FWD-:8080,tftp=$TMP/tftp,hostname=tapside \
    -netdev hubport,id=p1,hubid=0,netdev=u0 \
    -monitor unix:$TMP/mon,server=on,wait=off >"$TMP/out" 2>"$TMP/err" &
VMM_PID=$!
trap 'kill $WEB_PID $VMM_PID $DNS_PID 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do [ -S "$TMP/mon" ] && ip link show sktap0 >/dev/null 2>&1 && break; sleep 0.05; done

# mon CMD: one monitor command's answer, without the banner and prompts
mon() {
    python3 - "$TMP/mon" "$1" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
def until_prompt():
    buf = b""
    end = time.time() + 5
    while not buf.endswith(b"(skiff) ") and time.time() < end:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    return buf.decode(errors="replace").replace("\r", "")
until_prompt()
s.sendall(sys.argv[2].encode() + b"\n")
out = until_prompt()
lines = out.split("\n")
res = "\n".join(l for l in lines[1:] if not l.startswith("(skiff)")).strip("\n")
if res:
    print(res)
EOF
}

mon "info network" >"$TMP/info"
check "info network shows the tap and the user backend on hub 0" \
    sh -c "grep -q 'ifname=sktap0,script=no,downscript=no' '$TMP/info' && grep -q 'type=user,net=10.0.2.0,restrict=off' '$TMP/info'"

# DHCP through the tap, from libslirp
cat >"$TMP/udhcpc.sh" <<EOF
#!/bin/sh
[ "\$1" = bound ] || exit 0
echo "ip=\$ip mask=\$mask router=\$router dns=\$dns hostname=\$hostname" >"$TMP/lease"
ip addr add \$ip/\$mask dev \$interface
EOF
chmod +x "$TMP/udhcpc.sh"
ip link set sktap0 up
timeout 10 "$BB" udhcpc -i sktap0 -n -q -f -s "$TMP/udhcpc.sh" >"$TMP/udhcpc.log" 2>&1
check "udhcpc on the tap's side gets libslirp's lease: $(cat "$TMP/lease" 2>/dev/null)" \
    grep -q "ip=10.0.2.15 mask=24 router=10.0.2.2 dns=10.0.2.3 hostname=tapside" "$TMP/lease"
ip addr add 10.0.2.15/24 dev sktap0 2>/dev/null

timeout 5 "$BB" ping -c 1 -W 2 10.0.2.2 >/dev/null 2>&1
check "ping 10.0.2.2 through the tap is answered by libslirp" test $? -eq 0

timeout 20 "$BB" wget -q -O "$TMP/got" "http://10.0.2.2:$WEB/blob"
check "wget of 100000 bytes from 10.0.2.2:$WEB reaches the host's 127.0.0.1:$WEB through libslirp's NAT, intact" \
    cmp -s "$TMP/got" "$TMP/www/blob"

timeout 10 "$BB" nslookup skiff.test 10.0.2.3 >"$TMP/ns" 2>&1
check "nslookup through libslirp's DNS forwarder at 10.0.2.3 gets the host resolver's answer (192.0.2.7)" \
    grep -q "Address: 192.0.2.7" "$TMP/ns"
grep -q "192.0.2.7" "$TMP/ns" || sed 's/^/# /' "$TMP/ns"

(cd "$TMP" && timeout 10 "$BB" tftp -g -r hello.txt -l "$TMP/tftp-got" 10.0.2.2) >/dev/null 2>&1
check "tftp reads hello.txt from tftp= at 10.0.2.2" cmp -s "$TMP/tftp-got" "$TMP/tftp/hello.txt"

# hostfwd=: the host's 127.0.0.1:FWD reaches a server on the tap's side at 10.0.2.15:8080
python3 -m http.server 8080 --bind 10.0.2.15 --directory "$TMP/www" >/dev/null 2>&1 &
TAPWEB_PID=$!
for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('10.0.2.15', 8080), 1)" 2>/dev/null && break; sleep 0.1; done
timeout 20 curl -s -o "$TMP/fwd-got" "http://127.0.0.1:$FWD/blob"
check "hostfwd=tcp:127.0.0.1:$FWD-:8080: the host's request reaches the server on the tap's side, and its 100000 bytes come back" \
    cmp -s "$TMP/fwd-got" "$TMP/www/blob"

mon "hostfwd_add u0 tcp:127.0.0.1:$FWD2-10.0.2.15:8080" >"$TMP/add"
timeout 20 curl -s -o "$TMP/fwd2-got" "http://127.0.0.1:$FWD2/blob"
check "hostfwd_add u0 tcp:127.0.0.1:$FWD2-10.0.2.15:8080 answers nothing and forwards at once" \
    sh -c "[ ! -s '$TMP/add' ] && cmp -s '$TMP/fwd2-got' '$TMP/www/blob'"
mon "info usernet" >"$TMP/usernet"
check "info usernet shows both rules under 'Hub 0 (u0):'" \
    sh -c "grep -q '^Hub 0 (u0):' '$TMP/usernet' && [ \$(grep -c 'TCP\[HOST_FORWARD\]' '$TMP/usernet') -eq 2 ]"
mon "hostfwd_remove u0 tcp:127.0.0.1:$FWD2" >"$TMP/rm"
check "hostfwd_remove answers as QEMU's: $(cat "$TMP/rm")" grep -q "^host forwarding rule for tcp:127.0.0.1:$FWD2 removed" "$TMP/rm"
timeout 5 curl -s -o /dev/null "http://127.0.0.1:$FWD2/blob"
check "then nothing listens on 127.0.0.1:$FWD2" test $? -eq 7
kill $TAPWEB_PID 2>/dev/null
mon "hostfwd_add t0 tcp:127.0.0.1:$FWD2-:22" >"$TMP/bad1"
mon "hostfwd_add" >"$TMP/bad2"
mon "hostfwd_remove u0 tcp::1 x" >"$TMP/bad3"
check "hostfwd_add of a backend that is not a user one, without a rule, and hostfwd_remove with too much: QEMU's answers" \
    sh -c "grep -qx 'invalid device specified' '$TMP/bad1' &&
           grep -qx 'hostfwd_add: string expected' '$TMP/bad2' &&
           grep -qx 'hostfwd_remove: extraneous characters at the end of line' '$TMP/bad3'"

mon "quit" >/dev/null
wait $VMM_PID
status=$?
check "skiff quits with status 0 and says nothing on stderr$([ "$VMM" != "$SKIFF" ] && echo ' (sanitizer build)')" \
    sh -c "[ $status -eq 0 ] && ! grep -v 'has no peer\|with no nics' '$TMP/err' | grep -q ."
[ $status -eq 0 ] || sed 's/^/# /' "$TMP/err" | head -20
check "the tap device skiff made is gone" sh -c "! ip link show sktap0 >/dev/null 2>&1"
kill $WEB_PID $DNS_PID 2>/dev/null
done_testing
