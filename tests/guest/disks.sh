# tests/guest/disks.sh: disk and CD images for the firmware suites of the svm lane, built as an
# ordinary user would on a host without mounting anything: MBR partition tables written byte by
# byte, FAT file systems through mtools, GRUB (grub-mkimage, grub-mkrescue), SYSLINUX/ISOLINUX
# (syslinux --install, xorriso). Source it after tests/lib/common.sh.
#
#   disks_need                          the Debian packages, installed as root (else 1)
#   disks_suite_needs PLAN              in a suite: them and the svm lane, else skip PLAN results
#   disk_mbr IMG SIZE_MIB PART...       a sparse image with an MBR partition table; a PART is
#                                       START_MIB:SIZE_MIB:TYPE[:boot] (TYPE in hex, e.g. 06)
#   disk_fat IMG START_MIB LABEL FILE[:NAME]...
#                                       a FAT file system in the partition at START_MIB, holding
#                                       the files (NAME: where in it, default the basename)
#   disk_grub IMG CFG MODULE...         GRUB's boot.img in the MBR and a core.img in the gap
#                                       before the first partition, with CFG as its grub.cfg in
#                                       a memdisk; the modules named load from that memdisk
#   iso_grub ISO CFG DIR MODULE...      a GRUB El Torito ISO (grub-mkimage, xorriso) holding
#                                       DIR's files, CFG as its grub.cfg; the modules load from it
#   disk_syslinux IMG START_MIB         SYSLINUX's MBR and its boot sector in the FAT partition
#   iso_isolinux ISO DIR                an ISOLINUX El Torito ISO holding DIR's files (DIR gets
#                                       isolinux/isolinux.bin and ldlinux.c32)
#   iso_make ISO DIR LABEL [BOOT_IMAGE] DIR as an ISO 9660 image, El Torito when BOOT_IMAGE is given
#   sha_of FILE [SKIP_BYTES COUNT_BYTES]  a file's (or a byte range's) SHA-256

DISKS_PKGS="grub-pc-bin grub-common xorriso mtools dosfstools syslinux syslinux-common isolinux"
GRUB_PC=/usr/lib/grub/i386-pc
# what a GRUB core image holds: BIOS disks, their file systems, and the commands the tests use
GRUB_CORE="biosdisk part_msdos fat iso9660 normal configfile serial terminal echo test ls lspci hashsum gcry_sha256 nativedisk halt"

disks_need() { need_pkg $DISKS_PKGS; }

# disks_suite_needs PLAN: in a suite: these tools and the svm lane, else skip all PLAN results
disks_suite_needs() {
    # the check phase of a shared L1 (kit.sh): the register phase had them
    [ "${KIT_PHASE:-}" = check ] && return 0
    if ! disks_need; then
        for _ in $(seq 1 "$1"); do skip "missing Debian packages: $MISSING_PKGS" "firmware guests"; done
        done_testing
    fi
    kit_suite_needs_lane "$1"
}

# le32 N: N as four little-endian bytes, as printf escapes
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }

disk_mbr() {
    local img=$1 size=$2 i=0 p start len type boot
    shift 2
    rm -f "$img"
    truncate -s "${size}M" "$img" || return 1
    for p in "$@"; do
        IFS=: read -r start len type boot <<<"$p"
        # CHS fields fe/ff/ff: "use the LBA fields", as tools write for disks past CHS limits
        printf "\\x$([ "$boot" = boot ] && echo 80 || echo 00)\\xfe\\xff\\xff\\x$type\\xfe\\xff\\xff$(le32 $((start * 2048)))$(le32 $((len * 2048)))" |
            dd of="$img" bs=1 seek=$((446 + 16 * i)) conv=notrunc status=none || return 1
        i=$((i + 1))
    done
    printf '\x55\xaa' | dd of="$img" bs=1 seek=510 conv=notrunc status=none
}

disk_fat() {
    local img=$1 start=$2 label=$3 f
    shift 3
    # mtools reads the partition's size from the MBR: @@offset is where it starts
    mformat -i "$img@@${start}M" -v "$label" :: || return 1
    for f in "$@"; do
        local src=${f%%:*} dst=${f#*:}
        [ "$src" = "$f" ] && dst=$(basename "$src")
        mcopy -i "$img@@${start}M" "$src" "::$dst" || return 1
    done
}

disk_grub() {
    local img=$1 cfg=$2 d m
    shift 2
    d=$(mktemp -d "${TMPDIR:-/tmp}/grub-md.XXXXXX")
    mkdir -p "$d/boot/grub/i386-pc"
    cp "$cfg" "$d/boot/grub/grub.cfg"
    # modules that must not start with the core (a native disk driver retires the BIOS disks
    # as it loads) come from the memdisk, with what they depend on
    for m in "$@"; do cp "$GRUB_PC/$m.mod" "$d/boot/grub/i386-pc/"; done
    tar -C "$d" -cf "$d/memdisk.tar" boot &&
        grub-mkimage -O i386-pc -o "$d/core.img" -p '(memdisk)/boot/grub' -m "$d/memdisk.tar" \
            $GRUB_CORE memdisk tar &&
        # boot.img finds the core at LBA 1 (its default); keep the partition table
        dd if="$GRUB_PC/boot.img" of="$img" bs=440 count=1 conv=notrunc status=none &&
        dd if="$d/core.img" of="$img" bs=512 seek=1 conv=notrunc status=none
    local r=$?
    rm -rf "$d"
    return $r
}

iso_grub() {
    local iso=$1 cfg=$2 dir=$3 m
    mkdir -p "$dir/boot/grub/i386-pc" && cp "$cfg" "$dir/boot/grub/grub.cfg" || return 1
    # as grub-mkrescue does, less its lists of every file system: GRUB would try each on
    # every drive it probes. Without a device in the prefix, GRUB's prefix is the boot CD.
    for m in "${@:4}"; do cp "$GRUB_PC/$m.mod" "$dir/boot/grub/i386-pc/"; done
    grub-mkimage -O i386-pc-eltorito -o "$dir/boot/grub/eltorito.img" -p /boot/grub \
        $GRUB_CORE &&
        iso_make "$iso" "$dir" GRUBCD boot/grub/eltorito.img
}

disk_syslinux() {
    local img=$1 start=$2
    # the MBR's code (the partition table stays), then the boot sector and ldlinux.sys
    dd if=/usr/lib/syslinux/mbr/mbr.bin of="$img" bs=440 count=1 conv=notrunc status=none &&
        syslinux --offset $((start * MiB_BYTES)) --install "$img"
}
MiB_BYTES=1048576

iso_isolinux() {
    local iso=$1 dir=$2
    mkdir -p "$dir/isolinux" &&
        cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$dir/isolinux/" &&
        iso_make "$iso" "$dir" SKIFFCD isolinux/isolinux.bin
}

# iso_make ISO DIR LABEL [BOOT_IMAGE]: DIR as an ISO 9660 image, El Torito bootable (no
# emulation, with the boot info table the boot image wants) when BOOT_IMAGE is given
iso_make() {
    local iso=$1 dir=$2 label=$3 boot=${4:-} args=()
    [ -n "$boot" ] && args=(-b "$boot" -c boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table)
    xorriso -as mkisofs -o "$iso" "${args[@]}" -V "$label" -J -R "$dir" >"$iso.log" 2>&1 ||
        { cat "$iso.log" >&2; return 1; }
    rm -f "$iso.log"
}

sha_of() {
    if [ $# -eq 1 ]; then
        sha256sum "$1" | cut -d' ' -f1
    else
        tail -c +$(($2 + 1)) "$1" | head -c "$3" | sha256sum | cut -d' ' -f1
    fi
}
