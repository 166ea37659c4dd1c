/* pc-drives.h: the command line's IDE drives (-hda..-hdd, -cdrom, -drive, -device ide-hd|ide-cd) */
#ifndef HW_PC_PC_DRIVES_H
#define HW_PC_PC_DRIVES_H

#include "hw/pc/pc.h" // struct pc_drive, PC_MAX_IDE

/* What the options say, gathered in order; the strings are the set's own. */
struct pc_drive_set {
    struct pc_drive ide[PC_MAX_IDE];    /* by index: bus * 2 + unit */
    /* -drive if=none,id=ID: backends that -device ide-hd|ide-cd,drive=ID places */
    struct {
        char *id;
        char *file;
        struct block_open_opts open;
        bool used;
    } named[PC_MAX_IDE];
    int nnamed;
};

/* Each returns 0, or -errno with *err saying what is wrong (WHAT names the option). */
/* -hda..-hdd (index 0-3) and -cdrom (index 2, cdrom), and a bare image name (index 0) */
int pc_drives_add(struct pc_drive_set *s, int index, const char *file, bool cdrom, const char *what,
                  char **err);
/* -drive file=F[,if=ide|none][,index=|bus=,unit=][,media=][,format=][,readonly=][,snapshot=][,cache=][,aio=][,id=] */
int pc_drives_parse_drive(struct pc_drive_set *s, const char *spec, char **err);
/* -device ide-hd|ide-cd,...: 1 when it was one (and is placed), 0 when it is another device */
int pc_drives_parse_device(struct pc_drive_set *s, const char *spec, char **err);
/* -snapshot: every drive's writes go to a temporary overlay (a read-only one needs none) */
void pc_drives_snapshot_all(struct pc_drive_set *s);
void pc_drives_free(struct pc_drive_set *s);

/* What -device help and -device ide-hd,help print for the two. */
extern const char pc_drives_device_help[];

#endif
