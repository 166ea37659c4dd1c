# tests/lib/common.sh: shared by the script suites: TAP output, Debian packages, temp dirs.
# Source it: . "$(dirname "$0")/../lib/common.sh"

: "${SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${SKIFF:=$SRCDIR/skiff}"
: "${SKIFF_IMG:=$SRCDIR/skiff-img}"
: "${SKIFF_CACHE:=$SRCDIR/.cache}"
export SRCDIR SKIFF SKIFF_IMG SKIFF_CACHE

_tap_n=0
_tap_failed=0

# ok DESCRIPTION / not_ok DESCRIPTION / skip REASON DESCRIPTION
ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - $*"; }
skip() { local why=$1; shift; _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $* # SKIP $why"; }
note() { echo "# $*"; }

# check DESCRIPTION COMMAND...: ok when the command succeeds
check() {
    local d=$1; shift
    if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# done_testing: print the plan, exit 0 when nothing failed
done_testing() {
    echo "1..$_tap_n"
    [ "$_tap_failed" -eq 0 ]
    exit $?
}

# need_pkg PKG...: make sure Debian packages are installed. As root, installs what is
# missing (apt-get); otherwise returns 1 so the caller can skip, naming the packages.
MISSING_PKGS=""
need_pkg() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        MISSING_PKGS="${missing[*]}"
        return 1
    fi
    "$SRCDIR/scripts/install-deps" "${missing[@]}" >&2 || { MISSING_PKGS="${missing[*]}"; return 1; }
}

# a scratch folder removed on exit
TMP=$(mktemp -d "${TMPDIR:-/tmp}/skiff-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# vm_run SECS WHAT OUT ERR CMD...: run a VMM under `timeout SECS`, its stdout to OUT and stderr
# to ERR (one file when the two are the same), stdin from /dev/null; sets $status. In the svm
# lane's L1 only (SKIFF_IN_L1), a run that hit its timeout runs once more, saying so: there the
# outer machine (Debian's QEMU emulating SVM) now and then resumes an L2 vCPU at a wrong
# instruction after a port I/O exit, which hangs or resets the guest; QEMU as L2's VMM is hit
# the same way (docs/svm-lane.md, "Known flaws of the svm lane"). Each attempt starts its output
# files afresh, so that checks read only the last one. A suite whose runs end in seconds sets
# VM_RUN_L1_FIRST to a shorter limit for the first attempt in L1: a hang then costs that, not SECS.
vm_run() {
    local secs=$1 what=$2 out=$3 err=$4 attempt limit
    shift 4
    for attempt in 1 2; do
        limit=$secs
        [ -n "${SKIFF_IN_L1:-}" ] && [ "$attempt" -eq 1 ] && limit=${VM_RUN_L1_FIRST:-$secs}
        if [ "$out" = "$err" ]; then
            timeout "$limit" "$@" >"$out" 2>&1 </dev/null
        else
            timeout "$limit" "$@" >"$out" 2>"$err" </dev/null
        fi
        status=$?
        [ -n "${SKIFF_IN_L1:-}" ] && [ "$status" -eq 124 ] && [ "$attempt" -eq 1 ] || break
        note "$what: timed out after $limit s in the svm lane's L1 (a known flaw of the emulated SVM): running it once more"
    done
}

# kvm_usable: is there a /dev/kvm we can open?
kvm_usable() { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }

# native_lane WHAT [--linux] [--alone]: the suite needs a usable /dev/kvm. Returns when this
# machine has one; where it has none, runs the whole suite in the svm lane's L1 instead
# (hardware-style KVM, this machine's files through virtio-9p), reports its results as this
# suite's, and exits. Skips only when neither can run, saying why. --linux: the suite boots Linux
# guests, which need L1 emulated by two TCG threads (docs/svm-lane.md, "Known flaws of the svm
# lane"). tests/run runs such a suite beside another where L1 stands in, but not one with
# --linux or --alone (t-seabios' guests, all port I/O, hung in L1 more often beside other work).
native_lane() {
    local thread=single a
    kvm_usable && return 0
    if [ -n "${SKIFF_IN_L1:-}" ]; then
        skip "no usable /dev/kvm in the svm lane's L1 either" "$1"
        done_testing
    fi
    for a in "${@:2}"; do [ "$a" = --linux ] && thread=multi; done
    . "$SRCDIR/tests/guest/kit.sh"
    KIT_L1_TCG_THREAD=$thread \
        kit_native_in_l1 "$(cd "$(dirname "$0")" && pwd)/$(basename "$0")" "$1"
    done_testing
}
