# tests/guest/kit.sh: the guest kit: Debian's kernel and busybox, initramfs images, the svm lane.
#
# Source it (after tests/lib/common.sh, or on its own with SRCDIR and SKIFF_CACHE set). It uses
# only Debian's packages, fetched with `apt-get download` and unpacked with `dpkg-deb -x` into
# $SKIFF_CACHE (never installed), so a machine downloads each version once.
#
#   kit_fetch                       kernel + modules + busybox: sets KIT_KERNEL (the bzImage),
#                                   KIT_KVER, KIT_MODROOT (lib/modules/$KIT_KVER), KIT_BUSYBOX
#   kit_initramfs OUT [opts]        an initramfs: busybox, /init (busybox init), the guest script
#       --script FILE               run at boot (busybox sh), then `poweroff -f` when it returns
#       --shell                     an interactive shell on the console instead (the demo)
#       --module NAME[:p=v:p=v]     a kernel module and what it depends on, loaded at boot
#       --file SRC[:DST]            an extra file (DST defaults to /SRC's basename)
#       --prog SRC[:DST]            a program, with the libraries it is linked with
#       --init FILE                 the whole /init (the L1 image uses this)
#   kit_static_skiff                build a static skiff into build-static/, set KIT_SKIFF_STATIC
#                                   (and L1's l1-kvm-hold: KIT_KVM_HOLD_STATIC)
#
# The svm lane (DESIGN.md "Two lanes"): Debian's QEMU in emulation, with an AMD CPU that has
# SVM, boots the same Debian kernel as a host "L1" with kvm-amd, and skiff runs there on a real
# hardware-style /dev/kvm. Several L2 scenarios run one after another in one outer boot:
#   kit_svm_reset                   start a new lane run
#   kit_svm_file SRC NAME           ship a file into L1 as /kit/f/NAME (anything else put under
#                                   $KIT_SVM_DIR/root goes into L1 at the same path)
#   kit_svm_firmware                SeaBIOS, the VGA BIOS and linuxboot_dma.bin in L1 (firmware boots)
#   kit_svm_bin SRC DST             a program in L1 at DST, with its libraries (kit_libs PROG lists them)
#   kit_svm_skiff_dyn               skiff's dynamic build (with libslirp) in L1 as /kit/f/skiff-dyn
#   kit_svm_qemu                    Debian's QEMU in L1, with its libraries and firmware (benchmarks,
#                                   a QEMU guest beside skiff's)
#   kit_svm_tool PROGRAM...         host programs in L1 at the same paths, with the libraries ldd
#                                   names (a judge of what a scenario left: debugfs, qemu-img;
#                                   a server for the guest: iperf3)
#   kit_svm_add NAME [--timeout S] [--input FILE] [--bin PATH] [--console] -- SKIFF-ARGS...
#                                   a scenario: L1 runs skiff SKIFF-ARGS (the L2 kernel is
#                                   /kit/bzImage) and records its console and exit status.
#                                   --input: a feeder script, one command a line:
#                                     wait TEXT        until skiff's output holds TEXT
#                                     waitn N TEXT     until it holds TEXT N times
#                                     send TEXT        type TEXT and Enter into skiff's stdin
#                                     keys BYTES       type bytes (printf escapes: \001c is Ctrl-A c)
#                                     sleep S          pause
#                                     kill             stop skiff (SIGTERM)
#                                   --bin: run this program from L1 instead of skiff
#                                   --console: run it on L1's console, in the foreground (the
#                                     demo); ends with "kit: skiff exited with status N"
#                                   --once: no second run when it times out or its guest's
#                                     kernel dies of a fatal exception (else it runs
#                                     once more, saying so: docs/svm-lane.md, "Known flaws of
#                                     the svm lane")
#                                   --quiet S: its console silent for S seconds is a hung
#                                     guest: it ends then ("stalled"), and runs once more
#                                     as a timed-out one does (for scenarios that print as
#                                     they go: a firmware or boot loader's hang ends in a
#                                     minute rather than at the timeout)
#   kit_svm_image OUT               the L1 initramfs for the scenarios added so far
#   kit_svm_qemu_cmd                the outer QEMU's command line (array KIT_QEMU), less
#                                   -kernel/-initrd/-append; KIT_QEMU_SERIAL (default stdio)
#   kit_svm_run LOG [TIMEOUT]       boot L1 and run the scenarios; LOG gets the whole console.
#                                   Returns 0 when L1 came up and ran every scenario. When L1
#                                   stalls or ends early (its kernel panicked), it boots again
#                                   for the scenarios left (twice at most).
#   kit_section LOG NAME            a scenario's console (skiff's stdout+stderr), \r stripped
#   kit_status LOG NAME             its exit status ("timeout" when the kit had to kill it,
#                                   "crashed" when it did so as the guest's kernel died,
#                                   "stalled" when its console was silent for --quiet S)
#   kit_svm_available               can this machine run the lane? (else KIT_WHY says why)
#   kit_host_runs_linux             can the host's /dev/kvm run a Linux guest?
#   kit_suite_needs_lane PLAN       in a suite: skip all PLAN results unless the lane can run
#
# One L1 for many suites. tests/run boots L1 once for every svm-lane suite it runs
# (tests/guest/lane.sh), so such a suite runs in two phases, each a run of the same script:
#   SKIFF_LANE_PHASE=register       it builds its guests and adds its scenarios to the shared
#                                   lane in SKIFF_LANE_DIR (names scoped "SUITE:NAME"), then
#                                   kit_suite_run saves what it defined and ends it
#   SKIFF_LANE_PHASE=check          it skips what `if kit_registering; then ... fi` holds, and
#                                   kit_suite_run brings back the register phase's variables,
#                                   functions and TAP count and points KIT_LOG at its share of
#                                   the shared console; its checks then run as they would alone
# Without SKIFF_LANE_PHASE (the suite run by hand) it does both, with an L1 of its own.

: "${SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${SKIFF_CACHE:=$SRCDIR/.cache}"
KIT_DIR="$SRCDIR/tests/guest"
KIT_L2_MARKER="kit: L2 init started"
# the phase is this suite's alone: nothing it starts inherits it
KIT_PHASE=${SKIFF_LANE_PHASE:-}
export -n SKIFF_LANE_PHASE
KIT_SUITE=$(basename "$0" .sh)
KIT_SVM_SCOPE=""
[ -n "$KIT_PHASE" ] && KIT_SVM_SCOPE="$KIT_SUITE:"

kit_log() { echo "kit: $*" >&2; }

# kit_locked CMD...: run CMD (a function of this shell: what it sets stays set) holding the
# cache's lock, so that suites run side by side (tests/run, where no /dev/kvm makes the native
# lane an L1 each) do not download, unpack or build the same thing at once. Nests.
kit_locked() {
    if [ -n "${_kit_locked:-}" ]; then
        "$@"
        return
    fi
    local fd rc
    mkdir -p "$SKIFF_CACHE" && exec {fd}>"$SKIFF_CACHE/.kit.lock" || return 1
    flock "$fd"
    _kit_locked=1
    "$@"
    rc=$?
    _kit_locked=""
    exec {fd}>&-
    return $rc
}

# kit_deb_version PKG: the version apt would download (from the local package lists)
kit_deb_version() {
    apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1
}

# kit_apt_update_once: refresh the package lists (root only) when a package cannot be found
kit_apt_update_once() {
    [ -n "${_kit_updated:-}" ] && return 1
    _kit_updated=1
    [ "$(id -u)" -eq 0 ] || return 1
    kit_log "refreshing the package lists (apt-get update)"
    apt-get update -q >/dev/null 2>&1
}

# kit_unpack_deb PKG: download PKG (cached by version) and unpack it; prints the tree's path
kit_unpack_deb() {
    local pkg=$1 ver tree deb
    ver=$(kit_deb_version "$pkg")
    if [ -z "$ver" ] && kit_apt_update_once; then
        ver=$(kit_deb_version "$pkg")
    fi
    if [ -z "$ver" ]; then
        # no package lists: fall back on what an earlier run cached
        tree=$(ls -d "$SKIFF_CACHE/guest/${pkg}_"*/ 2>/dev/null | sort -V | tail -n 1)
        if [ -n "$tree" ] && [ -e "$tree/.unpacked" ]; then
            echo "${tree%/}"
            return 0
        fi
        kit_log "Debian package $pkg not found (run apt-get update)"
        return 1
    fi
    tree="$SKIFF_CACHE/guest/${pkg}_${ver//:/%3a}"
    if [ ! -e "$tree/.unpacked" ]; then
        mkdir -p "$SKIFF_CACHE/debs" || return 1
        deb=$(ls "$SKIFF_CACHE/debs/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n 1)
        if [ -z "$deb" ]; then
            kit_log "downloading $pkg $ver"
            # apt's sandbox user cannot write into a root-owned cache; downloading as root is fine
            (cd "$SKIFF_CACHE/debs" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1) ||
                { kit_log "apt-get download $pkg=$ver failed"; return 1; }
            deb=$(ls "$SKIFF_CACHE/debs/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n 1)
            [ -n "$deb" ] || { kit_log "apt-get download $pkg=$ver left no .deb"; return 1; }
        fi
        rm -rf "$tree"
        mkdir -p "$tree" && dpkg-deb -x "$deb" "$tree" || { kit_log "cannot unpack $deb"; return 1; }
        touch "$tree/.unpacked"
    fi
    echo "$tree"
}

# kit_fetch: Debian's generic kernel (the one linux-image-amd64 depends on) and busybox-static
kit_fetch() {
    [ -n "${KIT_KERNEL:-}" ] && return 0
    kit_locked kit_fetch_locked
}

kit_fetch_locked() {
    local kpkg ktree btree
    kpkg=${KIT_KERNEL_PKG:-}
    if [ -z "$kpkg" ]; then
        kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)/\1/p' | head -n 1)
        if [ -z "$kpkg" ] && kit_apt_update_once; then
            kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)/\1/p' | head -n 1)
        fi
    fi
    if [ -z "$kpkg" ]; then
        # offline: the newest kernel an earlier run cached
        kpkg=$(ls -d "$SKIFF_CACHE/guest/linux-image-"*/ 2>/dev/null | sort -V | tail -n 1 | sed 's|.*/\(linux-image-[^_]*\)_.*|\1|')
    fi
    [ -n "$kpkg" ] || { kit_log "cannot tell which kernel linux-image-amd64 depends on (run apt-get update)"; return 1; }
    ktree=$(kit_unpack_deb "$kpkg") || return 1
    btree=$(kit_unpack_deb busybox-static) || return 1
    KIT_KVER=${kpkg#linux-image-}
    KIT_KERNEL="$ktree/boot/vmlinuz-$KIT_KVER"
    KIT_MODROOT="$ktree/lib/modules/$KIT_KVER"
    KIT_BUSYBOX="$btree/bin/busybox"
    [ -f "$KIT_KERNEL" ] && [ -x "$KIT_BUSYBOX" ] || { kit_log "the unpacked packages lack vmlinuz or busybox"; return 1; }
    # the package leaves modules.dep to its postinst: make it here, once
    if [ ! -e "$KIT_MODROOT/modules.dep" ]; then
        command -v depmod >/dev/null 2>&1 || PATH=$PATH:/sbin:/usr/sbin
        depmod -b "$ktree" "$KIT_KVER" || { kit_log "depmod failed (Debian package kmod)"; return 1; }
    fi
    export KIT_KVER KIT_KERNEL KIT_MODROOT KIT_BUSYBOX
}

# kit_module_paths NAME...: the modules' files relative to KIT_MODROOT, dependencies first
kit_module_paths() {
    awk -v want="$*" '
        function norm(s) { gsub(/-/, "_", s); return s }
        function base(p,   b) { b = p; sub(/.*\//, "", b); sub(/\.ko.*$/, "", b); return norm(b) }
        function visit(m,   n, i, d) {
            if (m in done) return
            done[m] = 1
            n = split(deps[m], d, " ")
            for (i = n; i >= 1; i--) visit(base(d[i]))
            if (!(m in path)) { print "missing " m > "/dev/stderr"; bad = 1; return }
            print path[m]
        }
        {
            p = $1; sub(/:$/, "", p); m = base(p); path[m] = p
            $1 = ""; deps[m] = $0
        }
        END { n = split(want, w, " "); for (i = 1; i <= n; i++) visit(norm(w[i])); exit bad }
    ' "$KIT_MODROOT/modules.dep"
}

# kit_cpio DIR OUT: pack DIR as a newc cpio archive (gzip'd when OUT ends in .gz)
kit_cpio() {
    local dir=$1 out=$2
    case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
    (cd "$dir" && find . -mindepth 1 | LC_ALL=C sort | "$KIT_BUSYBOX" cpio -o -H newc 2>/dev/null) >"$out.tmp" || return 1
    case "$out" in
    *.gz) gzip -n -6 <"$out.tmp" >"$out" && rm -f "$out.tmp" ;;
    *) mv "$out.tmp" "$out" ;;
    esac
}

# kit_initramfs OUT [--script F | --shell | --init F] [--module M[:p=v]]... [--file SRC[:DST]]...
kit_initramfs() {
    local out=$1; shift
    local script="" shell=0 init="" mods=() files=() d m name params p list f
    while [ $# -gt 0 ]; do
        case "$1" in
        --script) script=$2; shift ;;
        --shell) shell=1 ;;
        --init) init=$2; shift ;;
        --module) mods+=("$2"); shift ;;
        --file) files+=("$2"); shift ;;
        --prog)
            files+=("$2")
            for p in $(kit_libs "${2%%:*}"); do files+=("$p:$p"); done
            shift ;;
        *) kit_log "kit_initramfs: unknown option $1"; return 1 ;;
        esac
        shift
    done
    kit_fetch || return 1
    d=$(mktemp -d "${TMPDIR:-/tmp}/kit-initramfs.XXXXXX")
    mkdir -p "$d/bin" "$d/sbin" "$d/usr/bin" "$d/usr/sbin" "$d/etc/kit" "$d/proc" "$d/sys" \
        "$d/dev" "$d/tmp" "$d/root" "$d/lib/modules"
    cp "$KIT_BUSYBOX" "$d/bin/busybox"
    ln -s busybox "$d/bin/sh"
    # modules: copied with their dependencies; /etc/kit/modules lists them in load order
    : >"$d/etc/kit/modules"
    for m in "${mods[@]}"; do
        name=${m%%:*}
        params=""
        [ "$name" != "$m" ] && params=$(echo "${m#*:}" | tr ':' ' ')
        list=$(kit_module_paths "$name") || { kit_log "no module $name in $KIT_KVER"; rm -rf "$d"; return 1; }
        for p in $list; do
            [ -e "$d/lib/modules/${p##*/}" ] && continue
            cp "$KIT_MODROOT/$p" "$d/lib/modules/" || { rm -rf "$d"; return 1; }
            # parameters go to the module named, not to what it depends on
            if [ "$(basename "${p%%.ko*}" | tr - _)" = "$(echo "$name" | tr - _)" ]; then
                echo "${p##*/} $params" >>"$d/etc/kit/modules"
            else
                echo "${p##*/}" >>"$d/etc/kit/modules"
            fi
        done
    done
    for f in "${files[@]}"; do
        local src=${f%%:*} dst=${f#*:}
        [ "$src" = "$f" ] && dst="/$(basename "$src")"
        mkdir -p "$d$(dirname "$dst")"
        cp -L "$src" "$d$dst" || { rm -rf "$d"; return 1; }
    done
    if [ -n "$init" ]; then
        cp "$init" "$d/init" && chmod 755 "$d/init"
    else
        # busybox init, so that `poweroff` and `reboot` typed in a shell work as on a real system
        ln -s bin/busybox "$d/init"
        cp "$KIT_DIR/l2-rc" "$d/etc/kit/rc"
        chmod 755 "$d/etc/kit/rc"
        if [ "$shell" = 1 ]; then
            printf '::sysinit:/etc/kit/rc\n::respawn:/bin/cttyhack /bin/sh -l\n' >"$d/etc/inittab"
            echo 'echo "kit: $(uname -sr) on $(nproc) CPUs; type poweroff to leave"' >"$d/etc/kit/hello"
        else
            [ -n "$script" ] || { kit_log "kit_initramfs: --script, --shell or --init"; rm -rf "$d"; return 1; }
            cp "$script" "$d/etc/kit/test"
            printf '#!/bin/sh\n. /etc/kit/test\nexec poweroff -f\n' >"$d/etc/kit/main"
            chmod 755 "$d/etc/kit/main"
            printf '::sysinit:/etc/kit/rc\n::once:-/bin/cttyhack /etc/kit/main\n' >"$d/etc/inittab"
        fi
    fi
    kit_cpio "$d" "$out"
    local r=$?
    rm -rf "$d"
    return $r
}

# kit_static_skiff: a statically linked skiff in build-static/, apart from the normal build
kit_static_skiff() {
    KIT_SKIFF_STATIC="$SRCDIR/build-static/skiff"
    KIT_KVM_HOLD_STATIC="$SRCDIR/build-static/tests/guest/l1-kvm-hold"
    local log="$SRCDIR/build-static/kit-static-build.log"
    mkdir -p "$SRCDIR/build-static"
    kit_locked make -s -C "$SRCDIR" -j"$(nproc)" STATIC=yes BUILD=build-static BIN=build-static \
        build-static/skiff build-static/tests/guest/l1-kvm-hold >"$log" 2>&1 ||
        { kit_log "building the static skiff failed:"; tail -n 20 "$log" >&2; return 1; }
    export KIT_SKIFF_STATIC
}

# kit_host_runs_linux: does the host's /dev/kvm run Linux guests? It needs hardware
# virtualization (vmx or svm); a software KVM (kvm_pvm) runs small programs but not Linux.
kit_host_runs_linux() {
    [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
    grep -qwE 'vmx|svm' /proc/cpuinfo || return 1
    ! grep -qw kvm_pvm /proc/modules 2>/dev/null && [ ! -d /sys/module/kvm_pvm ]
}

# kit_svm_available: qemu-system-x86_64 and the tools the lane uses
kit_svm_available() {
    KIT_WHY=""
    command -v qemu-system-x86_64 >/dev/null 2>&1 || { KIT_WHY="no qemu-system-x86_64 (Debian package qemu-system-x86)"; return 1; }
    command -v apt-get >/dev/null 2>&1 || { KIT_WHY="no apt-get to fetch Debian's kernel"; return 1; }
    command -v depmod >/dev/null 2>&1 || [ -x /sbin/depmod ] || { KIT_WHY="no depmod (Debian package kmod)"; return 1; }
    return 0
}

# kit_suite_needs_lane PLAN: in a script suite (tests/lib/common.sh): make sure the svm lane
# can run (installing its Debian packages as root), else skip all PLAN results, with the reason
# kit_lane_ready: whether the svm lane can run here (installing its packages as root and
# fetching the kernel); if not, KIT_LANE_WHY says why
kit_lane_ready() {
    KIT_LANE_WHY=""
    if ! need_pkg qemu-system-x86 kmod; then
        KIT_LANE_WHY="missing Debian packages: $MISSING_PKGS (run as root)"
    elif ! kit_svm_available; then
        KIT_LANE_WHY=$KIT_WHY
    elif ! kit_fetch; then
        KIT_LANE_WHY="cannot fetch Debian's kernel and busybox"
    elif [ ! -x "$SKIFF" ]; then
        KIT_LANE_WHY="no skiff binary (make)"
    fi
    [ -z "$KIT_LANE_WHY" ]
}

kit_suite_needs_lane() {
    local why
    # the check phase: the register phase found the lane ready (else it skipped, and ended there)
    [ "$KIT_PHASE" = check ] && return 0
    kit_lane_ready && return 0
    why=$KIT_LANE_WHY
    for _ in $(seq 1 "$1"); do skip "$why" "svm lane"; done
    done_testing
}

# kit_native_in_l1 SUITE WHAT: run the script suite SUITE inside L1 (see native_lane in
# tests/lib/common.sh) and report its TAP lines as ours
kit_native_in_l1() {
    local suite=$1 what=$2 name l n=0 st
    if ! kit_lane_ready; then
        skip "no usable /dev/kvm, and the svm lane cannot stand in: $KIT_LANE_WHY" "$what"
        return
    fi
    note "no usable /dev/kvm here: $what runs in the svm lane's L1, on its /dev/kvm, with this machine's files"
    KIT_L1_MODULES="virtio_pci 9pnet_virtio 9p"
    # the host's root, read-write as the suite needs it (its own files go to L1's /tmp)
    KIT_L1_QEMU_EXTRA=(-fsdev "local,id=host,path=/,security_model=$([ "$(id -u)" = 0 ] && echo passthrough || echo none),multidevs=remap"
        -device virtio-9p-pci,fsdev=host,mount_tag=host)
    name=$(basename "$suite" .sh)
    kit_svm_reset
    kit_svm_file "$KIT_DIR/l1-native.sh" native.sh
    mkdir -p "$KIT_SVM_DIR/l1tmp"
    kit_svm_add native --timeout 1200 --once --bin /bin/sh -- /kit/f/native.sh "$KIT_SVM_DIR/l1tmp" "$suite" \
        "SRCDIR=$SRCDIR" "SKIFF=$SKIFF" "SKIFF_IMG=$SKIFF_IMG" "SKIFF_SAN=${SKIFF_SAN:-}" \
        "SKIFF_CACHE=$SKIFF_CACHE" "ASAN_OPTIONS=${ASAN_OPTIONS:-}" "UBSAN_OPTIONS=${UBSAN_OPTIONS:-}"
    # an L1 that stalls (see kit_svm_run) shows as no new result for 4 minutes: the suite runs
    # again. KIT_L1_TCG_THREAD comes from native_lane: single but for suites that boot Linux.
    KIT_STALL=240 kit_suite_run "$name.l1" 1500
    KIT_L1_MODULES=""
    KIT_L1_QEMU_EXTRA=()
    while IFS= read -r l; do
        case "$l" in
        "not ok "*) n=$((n + 1)); l=${l#not ok }; not_ok "${l#* - }" ;;
        "ok "*"# SKIP "*) n=$((n + 1)); l=${l#ok }; l=${l#* - }; skip "${l##*# SKIP }" "${l% # SKIP *}" ;;
        "ok "*) n=$((n + 1)); l=${l#ok }; ok "${l#* - }" ;;
        "#"*) echo "$l" ;;
        esac
    done < <(kit_section "$KIT_LOG" native)
    st=$(kit_status "$KIT_LOG" native)
    if [ "$n" -eq 0 ] || { [ "$st" != 0 ] && [ "$st" != 1 ]; }; then
        not_ok "$what: the suite ran to its end in the svm lane's L1 ($n results, status ${st:-none})"
        kit_section "$KIT_LOG" native | tail -n 30 | sed 's/^/#   /'
    fi
}

kit_svm_reset() {
    if [ "$KIT_PHASE" = register ]; then
        # the lane every suite of this run adds to: it is only ever added to
        KIT_SVM_DIR="$SKIFF_LANE_DIR/svm"
        mkdir -p "$KIT_SVM_DIR/root/kit/f" "$KIT_SVM_DIR/root/kit/in"
        touch "$KIT_SVM_DIR/root/kit/scenarios"
        return
    fi
    KIT_SVM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kit-svm.XXXXXX")
    mkdir -p "$KIT_SVM_DIR/root/kit/f" "$KIT_SVM_DIR/root/kit/in"
    : >"$KIT_SVM_DIR/root/kit/scenarios"
}

kit_svm_file() {
    [ -n "${KIT_SVM_DIR:-}" ] || kit_svm_reset
    local dst="$KIT_SVM_DIR/root/kit/f/$2"
    # in a shared lane, two suites must not ship different files under one name
    if [ "$KIT_PHASE" = register ] && [ -e "$dst" ] && ! cmp -s "$1" "$dst"; then
        not_ok "/kit/f/$2 is this suite's in the shared L1 (another suite of the run ships a different one)"
        return 1
    fi
    cp -L "$1" "$dst"
}

# kit_svm_firmware: SeaBIOS, the VGA BIOS and the Linux-loader option ROM in L1, where skiff
# looks for them (Debian's seabios and qemu-system-data), for scenarios that boot by firmware
kit_svm_firmware() {
    [ -n "${KIT_SVM_DIR:-}" ] || kit_svm_reset
    local f
    mkdir -p "$KIT_SVM_DIR/root/usr/share/seabios" "$KIT_SVM_DIR/root/usr/share/qemu"
    for f in /usr/share/seabios/bios-256k.bin /usr/share/seabios/vgabios-stdvga.bin; do
        cp -L "$f" "$KIT_SVM_DIR/root/usr/share/seabios/" || return 1
    done
    cp -L /usr/share/qemu/linuxboot_dma.bin "$KIT_SVM_DIR/root/usr/share/qemu/" 2>/dev/null
    return 0
}

# kit_libs PROGRAM: the shared libraries ldd names for PROGRAM (the loader included), one a line
kit_libs() {
    ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}

# kit_svm_bin SRC DST: a program of this machine into L1 at DST, with the libraries it is
# linked with at their own paths (a dynamically linked program runs there as here)
kit_svm_bin() {
    [ -n "${KIT_SVM_DIR:-}" ] || kit_svm_reset
    local lib
    mkdir -p "$KIT_SVM_DIR/root$(dirname "$2")"
    cp -L "$1" "$KIT_SVM_DIR/root$2" || return 1
    for lib in $(kit_libs "$1"); do
        [ -e "$KIT_SVM_DIR/root$lib" ] && continue
        mkdir -p "$KIT_SVM_DIR/root$(dirname "$lib")"
        cp -L "$lib" "$KIT_SVM_DIR/root$lib" || return 1
    done
}

# kit_svm_skiff_dyn: skiff's dynamically linked build in L1 as /kit/f/skiff-dyn, for scenarios
# that need what the static one L1 runs leaves out (libslirp: -netdev user)
kit_svm_skiff_dyn() { kit_svm_bin "$SKIFF" /kit/f/skiff-dyn; }

# kit_svm_qemu: Debian's QEMU in L1 as /usr/bin/qemu-system-x86_64, with its libraries and
# its firmware (SeaBIOS, the option ROMs QEMU loads by itself): benchmarks that run both VMMs
# in one L1, and guests of QEMU that meet skiff's on a network segment
kit_svm_qemu() {
    local q f
    q=$(command -v qemu-system-x86_64) || return 1
    kit_svm_bin "$q" /usr/bin/qemu-system-x86_64 || return 1
    mkdir -p "$KIT_SVM_DIR/root/usr/share/qemu" "$KIT_SVM_DIR/root/usr/share/seabios"
    cp -L /usr/share/seabios/* "$KIT_SVM_DIR/root/usr/share/seabios/" 2>/dev/null
    for f in kvmvapic linuxboot linuxboot_dma multiboot multiboot_dma pvh; do
        [ -e "/usr/share/qemu/$f.bin" ] && cp -L "/usr/share/qemu/$f.bin" "$KIT_SVM_DIR/root/usr/share/qemu/"
    done
    return 0
}

# kit_svm_tool PROGRAM...: programs of this machine (found in PATH, or /sbin, /usr/sbin) in L1
# at the same paths, with their libraries: a scenario's --bin script judges what the guest left
# (debugfs reads a file system, qemu-img checks an image) or serves it (iperf3) with tools not ours
kit_svm_tool() {
    local p q
    for p in "$@"; do
        q=$(PATH=$PATH:/sbin:/usr/sbin command -v "$p") || { kit_log "kit_svm_tool: no $p here"; return 1; }
        kit_svm_bin "$q" "$q" || return 1
    done
}

# kit_quote ARG: ARG single-quoted for sh
kit_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

kit_svm_add() {
    [ -n "${KIT_SVM_DIR:-}" ] || kit_svm_reset
    local name=$KIT_SVM_SCOPE$1 timeout=120 quiet="" input=- bin=/bin/skiff line a fn=kit_run; shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        case "$1" in
        --timeout) timeout=$2; shift ;;
        --quiet) quiet=$2; shift ;;
        --input) input=/kit/in/${name//[^A-Za-z0-9_.-]/_}; cp "$2" "$KIT_SVM_DIR/root$input"; shift ;;
        --bin) bin=$2; shift ;;
        --console) fn=kit_console ;;
        --once) fn=kit_run_once ;;
        *) kit_log "kit_svm_add: unknown option $1"; return 1 ;;
        esac
        shift
    done
    [ "${1:-}" = -- ] && shift
    # the third word: TIMEOUT, or TIMEOUT:QUIET (what awk reads as a number is the timeout)
    line="$fn $(kit_quote "$name") $timeout${quiet:+:$quiet} $input $(kit_quote "$bin")"
    for a in "$@"; do line="$line $(kit_quote "$a")"; done
    echo "$line" >>"$KIT_SVM_DIR/root/kit/scenarios"
}

# kit_unpacked_kernel_cache DIR: run skiff's own host-side unpacking of the L2 kernel on this
# machine (no vCPU: the qtest accelerator), so that L1, which runs under emulation, finds it
# in its cache instead of spending seconds on xz.
kit_unpacked_kernel_cache() {
    local dir=$1 pid i f
    # skiff names the entry after the bzImage's SHA-256
    f="$dir/$(sha256sum "$KIT_KERNEL" | cut -d' ' -f1).vmlinux"
    mkdir -p "$dir"
    KIT_UNPACKED=$f
    [ -s "$f" ] && return 0
    [ -x "${SKIFF:-}" ] || return 1
    "$SKIFF" -accel qtest -qtest null -display none -nodefaults -kernel "$KIT_KERNEL" \
        -kernel-cache "$dir" </dev/null >/dev/null 2>&1 &
    pid=$!
    for i in $(seq 1 300); do
        [ -s "$f" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ -s "$f" ]
}

kit_svm_image() {
    local out=$1 r kc
    kit_fetch || return 1
    kit_static_skiff || return 1
    [ -n "${KIT_SVM_DIR:-}" ] || kit_svm_reset
    kc="$SKIFF_CACHE/guest/unpacked-kernels"
    if kit_locked kit_unpacked_kernel_cache "$kc"; then
        mkdir -p "$KIT_SVM_DIR/root/root/.cache/skiff/kernels"
        cp "$KIT_UNPACKED" "$KIT_SVM_DIR/root/root/.cache/skiff/kernels/"
    fi
    cp "$KIT_DIR/l1-lib.sh" "$KIT_SVM_DIR/root/kit/lib.sh"
    local args=(--init "$KIT_DIR/l1-init" --file "$KIT_SKIFF_STATIC:/bin/skiff"
        --file "$KIT_KVM_HOLD_STATIC:/bin/l1-kvm-hold" --file "$KIT_KERNEL:/kit/bzImage"
        --file "$KIT_DIR/l1-ifup:/kit/ifup") f m
    for m in irqbypass ccp kvm kvm-amd:nested=1 ${KIT_L1_MODULES:-}; do args+=(--module "$m"); done
    # everything put under $KIT_SVM_DIR/root goes into L1 at the same path
    while IFS= read -r f; do
        args+=(--file "$KIT_SVM_DIR/root/${f#./}:/${f#./}")
    done < <(cd "$KIT_SVM_DIR/root" && find . -type f)
    kit_initramfs "$out" "${args[@]}"
}

# L1's khugepaged was seen in a soft lockup while L2 guests ran (collapsing the pages of a
# VMM's guest RAM under nested paging, in emulation): L1 goes without transparent huge pages.
# No KASLR: kit_l1_symbols names the functions a stopped L1's CPUs were in.
KIT_L1_CMDLINE="transparent_hugepage=never nokaslr"
# Scenario runs (not the demo): when L1 does stall, its console shows why: warnings (where a
# soft lockup's backtrace prints) and the backtraces of all CPUs
KIT_L1_DEBUG="loglevel=5 softlockup_all_cpu_backtrace=1"
# An L1 whose init has not beaten for this long has stopped (its CPUs halted for good or
# spinning in its kernel; busy with an L2 guest it still beats every 5 s)
: "${KIT_BEAT_STALL:=60}"

# kit_beat_reset, then kit_beat_stopped FILE every few seconds: whether the L1 whose init
# beats into FILE (its second serial port, tests/guest/l1-init) beat and then went
# KIT_BEAT_STALL s without a beat (its init's loop no longer runs)
kit_beat_reset() { KIT_BEATS=0 KIT_BEAT_AT=$SECONDS; }
kit_beat_stopped() {
    local b
    b=$(stat -c %s "$1" 2>/dev/null || echo 0)
    [ "$b" != "$KIT_BEATS" ] && KIT_BEATS=$b KIT_BEAT_AT=$SECONDS
    [ "$KIT_BEATS" -gt 0 ] && [ $((SECONDS - KIT_BEAT_AT)) -ge "$KIT_BEAT_STALL" ]
}

kit_svm_qemu_cmd() {
    # L1 with one CPU was seen to freeze: always two
    KIT_QEMU=(qemu-system-x86_64 -accel tcg,thread=${KIT_L1_TCG_THREAD:-multi} -cpu EPYC,+svm,+npt -smp 2
        -m "${KIT_L1_MEM:-2048}" -nodefaults -display none -serial "${KIT_QEMU_SERIAL:-stdio}"
        -no-reboot ${KIT_L1_QEMU_EXTRA[@]+"${KIT_L1_QEMU_EXTRA[@]}"})
}

kit_svm_run() {
    local log=$1 tmo=${2:-600} boots=${KIT_SVM_BOOTS:-3} img try
    kit_svm_available || { kit_log "$KIT_WHY"; return 1; }
    img="$KIT_SVM_DIR/l1.cpio"
    kit_svm_qemu_cmd
    # the longest a scenario may last (its --timeout, the third word of its line)
    KIT_SVM_MAX_TIMEOUT=$(awk '$3 + 0 > m { m = $3 + 0 } END { print m + 0 }' "$KIT_SVM_DIR/root/kit/scenarios")
    [ "$KIT_SVM_MAX_TIMEOUT" -ge 60 ] || KIT_SVM_MAX_TIMEOUT=60
    : >"$log"
    # An emulated L1 was seen to stop now and then on a busy machine, as a VMM started in it,
    # and its kernel once panicked under a VMM ("stack guard page was hit"): when no scenario
    # begins or ends for longer than the one running may last, or L1 ends before its last one,
    # boot L1 again with the scenarios that did not end (KIT_SVM_BOOTS boots in all, 3 unless
    # a long run says more). LOG gets every boot's console, each after a line "@@kit boot N".
    for try in $(seq 1 "$boots"); do
        kit_svm_image "$img" || return 1
        kit_svm_boot "$log.boot" "$img" "$tmo"
        echo "@@kit boot $try" >>"$log"
        cat "$log.boot" >>"$log"
        [ "$KIT_STALLED" = 1 ] && [ "$try" -lt "$boots" ] || break
        kit_log "the svm lane's L1 $KIT_STALL_WHY: booting it again for the scenarios left"
        tr -d '\r' <"$log" | sed -n 's/^@@kit end \([^ ]*\) .*/\1/p' >"$KIT_SVM_DIR/ended"
        # (FILENAME, not NR == FNR: the list of ended ones may be empty)
        awk -F"'" -v done="$KIT_SVM_DIR/ended" 'FILENAME == done { ended[$0] = 1; next } !($2 in ended)' "$KIT_SVM_DIR/ended" \
            "$KIT_SVM_DIR/root/kit/scenarios" >"$KIT_SVM_DIR/left"
        mv "$KIT_SVM_DIR/left" "$KIT_SVM_DIR/root/kit/scenarios"
    done
    rm -f "$log.boot"
    rm -rf "$KIT_SVM_DIR"
    kit_l1_symbols "$log"
    KIT_SVM_DIR=""
    tr -d '\r' <"$log" | grep -q '^kit: L1 done'
}

# kit_svm_boot LOG IMAGE TIMEOUT: one outer boot; sets KIT_STALLED=1 when L1 fell silent or
# ended (a panic) before it ran every scenario, and KIT_STALL_WHY to say which
kit_svm_boot() {
    local log=$1 img=$2 tmo=$3 pid monpid start last marks=-1 now timedout=0
    KIT_STALLED=0
    # KIT_STALL: how long L1 may go without progress, for runs whose scenarios show it in their
    # own TAP lines (the native lane); else longer than the scenario running may last
    KIT_STALL_S=${KIT_STALL:-$(kit_stall_limit "$log")}
    # the outer QEMU's monitor on two fifos, to ask where L1's CPUs are should it stop
    rm -f "$log.mon.in" "$log.mon.out" "$log.beat"
    mkfifo "$log.mon.in" "$log.mon.out"
    # QEMU warns about TCG's missing CPU features on stderr: keep that out of the console log.
    # L1's second serial port gets its init's beat every 5 s (tests/guest/l1-init).
    "${KIT_QEMU[@]}" -kernel "$KIT_KERNEL" -initrd "$img" -serial file:"$log.beat" \
        -chardev pipe,id=kitmon,path="$log.mon" -mon chardev=kitmon,mode=readline \
        -append "console=ttyS0 quiet panic=-1 $KIT_L1_CMDLINE $KIT_L1_DEBUG ${KIT_L1_APPEND:-}" </dev/null >"$log" 2>"$log.stderr" &
    pid=$!
    cat "$log.mon.out" >"$log.mon" 2>/dev/null &
    monpid=$!
    start=$SECONDS
    last=$SECONDS
    kit_beat_reset
    while kill -0 "$pid" 2>/dev/null; do
        sleep 2
        # progress is a scenario beginning or ending (a stuck L1 may still print lockup reports)
        now=$(grep -c '^@@kit \|^kit: \|^ok \|^not ok ' "$log" 2>/dev/null)
        if [ "$now" != "$marks" ]; then
            marks=$now last=$SECONDS
            KIT_STALL_S=${KIT_STALL:-$(kit_stall_limit "$log")}
        fi
        if kit_beat_stopped "$log.beat"; then
            KIT_STALLED=1
            KIT_STALL_WHY="stopped (no beat for $KIT_BEAT_STALL s)"
            kit_l1_where "$log"
            break
        fi
        if [ $((SECONDS - start)) -ge "$tmo" ]; then
            kit_log "the svm lane timed out after $tmo s"
            timedout=1
            break
        fi
        if [ $((SECONDS - last)) -ge "$KIT_STALL_S" ]; then
            KIT_STALLED=1
            KIT_STALL_WHY="stopped (no progress for $KIT_STALL_S s)"
            kit_l1_where "$log"
            break
        fi
    done
    kill "$pid" 2>/dev/null && sleep 1 && kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    kill "$monpid" 2>/dev/null
    wait "$monpid" 2>/dev/null
    rm -f "$log.mon.in" "$log.mon.out" "$log.mon" "$log.beat"
    tr -d '\r' <"$log" | grep -q '^kit: L1 done' && return 0
    if [ "$KIT_STALLED" = 0 ] && [ "$timedout" = 0 ]; then
        KIT_STALLED=1
        # (a panic before the last scenario that ended was an L2 guest's, as t-svm-boot's own)
        KIT_STALL_WHY="ended before its last scenario ($(tr -d '\r' <"$log" |
            awk '/^@@kit end / { n = 0; next } { l[n++] = $0 } END { for (i = 0; i < n; i++) print l[i] }' |
            grep -m1 -o 'Kernel panic - not syncing:.*' || echo 'no panic line'))"
    fi
    return 1
}

# kit_stall_limit LOG: how long L1 may go without progress now: 90 s more than the --timeout of
# the scenario it runs (which L1 ends by itself), 150 s while it boots or between scenarios
kit_stall_limit() {
    local cur t=""
    [ -e "$1" ] || { echo 150; return; }
    cur=$(tr -d '\r' <"$1" | sed -n 's/^@@kit \(begin\|end\) \([^ ]*\).*/\1 \2/p' | tail -n 1)
    case "$cur" in
    "begin "*)
        t=$(awk -F"'" -v n="${cur#begin }" '$2 == n { split($3, a, " "); print a[1] + 90; exit }' \
            "$KIT_SVM_DIR/root/kit/scenarios") ;;
    *) t=150 ;;
    esac
    echo "${t:-$((KIT_SVM_MAX_TIMEOUT + 90))}"
}

# kit_l1_where LOG: where a stopped L1's CPUs are, twice 2 s apart, from the outer QEMU's
# monitor: "kit: L1 CPU N look K: RIP ADDR" lines appended to LOG (kit_l1_symbols names them)
kit_l1_where() {
    local log=$1 i
    for i in 1 2; do
        # (opening the fifo would wait for ever were QEMU gone)
        timeout 5 sh -c 'printf "info registers -a\n" >"$1"' sh "$log.mon.in"
        sleep 2
    done
    tr -d '\r' <"$log.mon" | awk '
        /^CPU#/ { cpu = substr($1, 5); if (cpu == "0") look++ }
        /^RIP=/ { printf "kit: L1 CPU %s look %d: RIP %s\n", cpu, look, substr($1, 5) }' >>"$log"
}

# kit_l1_symbols LOG: name the kernel function of each "kit: L1 CPU" line in LOG (in place).
# Debian's System.map is a stub and L1 runs without KASLR, so L1's own /proc/kallsyms, taken
# once per kernel version by an extra boot, is kept in the cache.
kit_l1_symbols() {
    local log=$1 syms="$SKIFF_CACHE/guest/kallsyms-$KIT_KVER"
    [ -z "${KIT_NO_SYMBOLS:-}" ] && grep -q '^kit: L1 CPU .*: RIP [0-9a-f]*$' "$log" || return 0
    if [ ! -s "$syms" ]; then
        (
            KIT_NO_SYMBOLS=1
            kit_svm_reset
            kit_svm_add kallsyms --timeout 200 --once --bin /bin/sh -- -c \
                "grep ' [tTwW] ' /proc/kallsyms | grep -v '\\[' | gzip -c | base64 -w 0"
            kit_svm_run "$syms.log.$$" 600 >/dev/null 2>&1
            kit_section "$syms.log.$$" kallsyms | tr -d '\n' | base64 -d 2>/dev/null | gunzip >"$syms.new.$$" 2>/dev/null &&
                [ -s "$syms.new.$$" ] && mv "$syms.new.$$" "$syms"
            rm -f "$syms.log.$$" "$syms.new.$$"
        )
    fi
    [ -s "$syms" ] || return 0
    awk -v syms="$syms" '
        function hex(s,   i, v) { v = 0
            for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return v }
        BEGIN { while ((getline l < syms) > 0) { split(l, f, " ")
                    if (substr(f[1], 1, 8) == "ffffffff") { a[++n] = hex(substr(f[1], 9)); name[n] = f[3] } } }
        /^kit: L1 CPU .*: RIP [0-9a-f]*$/ { rip = $NF; where = "in L2 or L1 user space"
            if (substr(rip, 1, 8) == "ffffffff") { r = hex(substr(rip, 9)); best = 0
                for (j = 1; j <= n; j++) if (a[j] <= r && (best == 0 || a[j] > a[best])) best = j
                where = best && r - a[best] < 65536 ? sprintf("%s+0x%x", name[best], r - a[best]) : "not in L1'"'"'s kernel text: a module, or an L2 kernel" }
            $0 = $0 " " where }
        { print }' "$log" >"$log.sym" && mv "$log.sym" "$log"
}

# kit_section LOG NAME: the console of one scenario (of this suite's, in a shared lane)
kit_section() {
    # the last run that ended (an L1 that stalled may have left an earlier one unfinished)
    tr -d '\r' <"$1" | awk -v n="$KIT_SVM_SCOPE$2" '
        $0 == "@@kit begin " n { on = 1; buf = ""; next }
        $0 ~ /^@@kit begin / { on = 0 }
        on && index($0, "@@kit end " n " ") == 1 { out = buf; on = 0; next }
        on { buf = buf $0 "\n" }
        END { printf "%s", out }'
}

# kit_status LOG NAME: how skiff ended in one scenario: its exit status, "timeout", "crashed" or "stalled"
kit_status() {
    tr -d '\r' <"$1" | sed -n "s/^@@kit end $KIT_SVM_SCOPE$2 status=\([^ ]*\).*/\1/p" | tail -n 1
}

# In a suite, after its scenarios were added:
#   kit_registering                 true but in the check phase: `if kit_registering; then`
#                                   builds the guests and adds the scenarios
#   kit_suite_run NAME TIMEOUT      run the lane; the whole console goes to KIT_LOG
#                                   (build/test-logs/NAME.console.log), and when L1 did not
#                                   finish, its last lines go to the suite's log. In the register
#                                   phase it saves the suite's state and ends the script; in the
#                                   check phase it brings that state back and makes KIT_LOG this
#                                   suite's share of the shared console (KIT_LANE_LOG)
#   kit_has SCENARIO TEXT           that scenario's console holds TEXT
#   kit_show_on_fail SCENARIO       its console's last lines, when a check failed since the
#                                   suite ran the lane or since the last kit_show_on_fail
KIT_LANE_LOG="$SRCDIR/build/test-logs/svm-lane.console.log"

kit_registering() {
    # the register phase keeps what the suite defines from here on (kit_lane_save)
    if [ "$KIT_PHASE" = register ] && [ -z "${_kit_vars_before:-}" ]; then
        _kit_vars_before=" $(compgen -v | tr '\n' ' ') "
        _kit_funcs_before=" $(compgen -A function | tr '\n' ' ') "
    fi
    [ "$KIT_PHASE" != check ]
}

kit_suite_run() {
    KIT_LOG="$SRCDIR/build/test-logs/$1.console.log"
    mkdir -p "$(dirname "$KIT_LOG")"
    case "$KIT_PHASE" in
    register)
        mapfile -t KIT_SUITE_SCENARIOS < <(awk -F"'" -v p="$KIT_SVM_SCOPE" \
            'index($2, p) == 1 { print substr($2, length(p) + 1) }' "$KIT_SVM_DIR/root/kit/scenarios")
        kit_lane_save || { not_ok "the suite's scenarios join the svm lane's shared L1"; done_testing; }
        note "scenarios for the svm lane's shared L1 (tests/guest/lane.sh): ${KIT_SUITE_SCENARIOS[*]}"
        exit 0 ;;
    check)
        . "$SKIFF_LANE_DIR/state/$KIT_SUITE"
        kit_lane_share "$KIT_LANE_LOG" >"$KIT_LOG"
        note "its scenarios ran in the svm lane's shared L1: ${KIT_LANE_LOG#"$SRCDIR/"}, this suite's share in ${KIT_LOG#"$SRCDIR/"}"
        local n left=()
        for n in "${KIT_SUITE_SCENARIOS[@]}"; do
            [ -n "$(kit_status "$KIT_LOG" "$n")" ] || left+=("$n")
        done
        [ ${#left[@]} -eq 0 ] || kit_unfinished "$KIT_LANE_LOG" " (not run: ${left[*]})" ;;
    *)
        kit_svm_run "$KIT_LOG" "$2" || kit_unfinished "$KIT_LOG" "" ;;
    esac
    kit_scenario_notes "$KIT_LOG"
    _kit_failed_seen=${_tap_failed:-0}
}

# kit_scenario_notes LOG: "#" lines for a test's log: how each scenario ended, which ran once
# more, and where a stopped L1's CPUs were
kit_scenario_notes() {
    tr -d '\r' <"$1" | grep '^@@kit end\|^kit: .* once more\|^kit: L1 CPU' |
        sed 's/^@@kit end /# scenario /; s/^kit: /# /'
}

# kit_unfinished LOG WHAT: say in the suite's log that L1 did not finish, with its last lines
kit_unfinished() {
    echo "# the svm lane did not finish$2; its console:"
    tail -n 40 "$1" | sed 's/^/#   /'
    grep -v 'TCG doesn.t support' "$1.boot.stderr" 2>/dev/null | tail -n 5 | sed 's/^/#   stderr: /'
}

# kit_lane_save: the register phase's state for the check phase, which runs again what is not
# in `if kit_registering`: every variable and function the suite defined in there (declared
# global again when loaded in a function), the kernel kit_fetch found, and the TAP count so far
kit_lane_save() {
    local _kit_f="$SKIFF_LANE_DIR/state/$KIT_SUITE" _kit_v
    mkdir -p "$SKIFF_LANE_DIR/state" || return 1
    {
        for _kit_v in $(compgen -v); do
            case "$_kit_v" in KIT_KERNEL | KIT_KVER | KIT_MODROOT | KIT_BUSYBOX) ;;
            *) case "$_kit_vars_before" in *" $_kit_v "*) continue ;; esac ;;
            esac
            case "$_kit_v" in _kit_* | KIT_SVM_DIR | KIT_LOG | BASH* | FUNCNAME | PIPESTATUS) continue ;; esac
            declare -p "$_kit_v" 2>/dev/null | sed '1s/^declare /declare -g /'
        done
        for _kit_v in $(compgen -A function); do
            case "$_kit_funcs_before" in *" $_kit_v "*) continue ;; esac
            declare -f "$_kit_v"
        done
        echo "_tap_n=$_tap_n _tap_failed=$_tap_failed"
    } >"$_kit_f.tmp" && mv "$_kit_f.tmp" "$_kit_f"
}

# kit_lane_share LOG: this suite's share of a shared lane's console: L1's own lines, and this
# suite's scenarios (the others' left out)
kit_lane_share() {
    tr -d '\r' <"$1" | awk -v p="$KIT_SVM_SCOPE" '
        /^@@kit boot / { inside = 0; mine = 0 }
        /^@@kit begin / { inside = 1; mine = index($3, p) == 1 }
        /^kit: [^ ]* (timed out|crashed).*: running it once more/ && index($2, p) != 1 { next }
        mine || !inside { print }
        /^@@kit end / { inside = 0; mine = 0 }'
}
kit_has() { kit_section "$KIT_LOG" "$1" | grep -qF -- "$2"; }
kit_show_on_fail() {
    [ "${_tap_failed:-0}" -gt "${_kit_failed_seen:-0}" ] &&
        kit_section "$KIT_LOG" "$1" | tail -n 40 | sed 's/^/#   /'
    _kit_failed_seen=${_tap_failed:-0}
}
