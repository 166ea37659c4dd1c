/* commands.h: the monitor's command cores: typed arguments in, data or an error out, named after QEMU's QMP commands; HMP and QMP format what they return */
#ifndef MONITOR_COMMANDS_H
#define MONITOR_COMMANDS_H

#include "util/osdep.h"
#include "block/block.h"    // struct block_cache_info
#include "hw/core/machine.h"    // enum run_state, run_state_name

/*
 * How a core answers: a query returns its struct by value, or a list linked by `next` (NULL when
 * empty) that mon_list_free releases (mon_block_info_free for query-block's). A command returns
 * 0, or -errno with *err set to a message that names what was wrong without naming the command,
 * for the caller to show and free. Struct fields carry QMP's member names (with _ for -), so that QMP's JSON is a walk over
 * them and HMP's text is QEMU's formatting of the same fields. Nothing here prints.
 */

/* Free a list whose items begin with their `next` and own nothing else. */
static inline void mon_list_free(void *list)
{
    while (list) {
        void *next;

        memcpy(&next, list, sizeof(next));      /* each item's first member */
        free(list);
        list = next;
    }
}

/* ---- the run state (cmd-machine.c) ---- */

/* query-status (StatusInfo): the machine's run state, which run_state_name gives in QMP's words */
struct mon_status_info {
    bool running;
    enum run_state status;
};
struct mon_status_info mon_query_status(void);

void mon_stop(void);
int mon_cont(char **err);                   /* -EBUSY when shut down: reset it first */
void mon_system_reset(void);
int mon_system_powerdown(char **err);       /* -ENODEV: no ACPI power button */
int mon_system_wakeup(char **err);          /* wake a guest suspended to RAM; an error when it is not */
void mon_quit(void);

/* ---- what the machine is (cmd-machine.c) ---- */

/* query-name (NameInfo) */
struct mon_name_info {
    const char *name;           /* -name, or NULL */
};
struct mon_name_info mon_query_name(void);

/* query-uuid (UuidInfo; QMP spells the member "UUID") */
struct mon_uuid_info {
    char uuid[37];              /* lower-case, 8-4-4-4-12; all zero without -uuid */
};
struct mon_uuid_info mon_query_uuid(void);

/* query-version (VersionInfo) */
struct mon_version_info {
    struct { int major, minor, micro; } qemu;   /* skiff's own version, in QMP's triple */
    const char *package;
};
struct mon_version_info mon_query_version(void);

/* query-kvm (KvmInfo) */
struct mon_kvm_info {
    bool enabled;               /* KVM runs the guest (not -accel qtest) */
    bool present;
};
struct mon_kvm_info mon_query_kvm(void);

/* ---- vCPUs and guest memory (cmd-cpu.c) ---- */

/* query-cpus-fast (CpuInfoFast): none under -accel qtest, which runs no vCPU */
struct mon_cpu_info_fast {
    struct mon_cpu_info_fast *next;
    int cpu_index;
    int64_t thread_id;          /* the vCPU thread's id, 0 until it runs */
};
_Static_assert(offsetof(struct mon_cpu_info_fast, next) == 0, "mon_list_free frees it");
struct mon_cpu_info_fast *mon_query_cpus_fast(void);

/* x-query-registers: CPU cpu_index's registers (-1: every CPU's) as QEMU's text; NULL with *err */
char *mon_x_query_registers(int cpu_index, char **err);
/* inject-nmi: an NMI to every CPU; -ENODEV without vCPUs */
int mon_inject_nmi(char **err);

/* Guest-physical memory into buf (xp): 0, or -EFAULT where it is not guest RAM. */
int mon_memory_read(uint64_t addr, void *buf, size_t len);
/* pmemsave: size bytes of guest-physical memory from val into a new file */
int mon_pmemsave(uint64_t val, uint64_t size, const char *filename, char **err);

/* ---- drives (cmd-block.c), by QEMU's names: ide0-hd0 (-hda) .. ide1-cd0 (-cdrom) ---- */

#define MON_DEVICE_NAME_MAX 16

/* BlockDeviceInfo: the medium in a drive */
struct mon_block_device_info {
    char *file;
    bool ro;
    char *drv;                  /* "raw", "qcow2" */
    struct block_cache_info cache;
};

/* query-block (BlockInfo) */
struct mon_block_info {
    struct mon_block_info *next;
    char device[MON_DEVICE_NAME_MAX];
    char qdev[MON_DEVICE_NAME_MAX];     /* the device it is attached to: its id, else its type ("" for none) */
    bool removable;             /* a CD-ROM drive */
    bool locked;                /* the guest locked its tray */
    bool has_tray_open, tray_open;
    struct mon_block_device_info *inserted;     /* NULL: no medium */
};
struct mon_block_info *mon_query_block(void);
void mon_block_info_free(struct mon_block_info *list);

/* query-blockstats (BlockStats, its stats a BlockDeviceStats); failed_operations is skiff's sum */
struct mon_block_stats {
    struct mon_block_stats *next;
    char device[MON_DEVICE_NAME_MAX];
    struct {
        uint64_t rd_bytes, wr_bytes, unmap_bytes;
        uint64_t rd_operations, wr_operations, flush_operations, unmap_operations;
        uint64_t rd_total_time_ns, wr_total_time_ns, flush_total_time_ns;
        uint64_t rd_merged, wr_merged;
        uint64_t failed_operations;
    } stats;
};
_Static_assert(offsetof(struct mon_block_stats, next) == 0, "mon_list_free frees it");
struct mon_block_stats *mon_query_blockstats(void);

/* Whether a drive of that name is there: 0, or -ENODEV with *err. */
int mon_drive_check(const char *device, char **err);
/* Whether skiff opens images of that format: 0, or -EINVAL with *err. */
int mon_format_check(const char *format, char **err);
/* eject: take the medium out, leaving the tray open; -EBUSY while the guest locked it, unless force */
int mon_eject(const char *device, bool force, char **err);
/* blockdev-change-medium: put a disc image (format NULL: probed) in a CD-ROM drive */
int mon_blockdev_change_medium(const char *device, const char *filename, const char *format,
                               char **err);

/* ---- PCI (cmd-pci.c) ---- */

/* PciMemoryRegion: one BAR */
struct mon_pci_memory_region {
    int bar;                    /* 0-5, 6 for the expansion ROM */
    const char *type;           /* "io" or "memory" */
    uint64_t address;           /* UINT64_MAX (QMP's -1) while unmapped */
    uint64_t size;
    bool prefetch, mem_type_64; /* memory BARs */
};

/* query-pci's PciDeviceInfo, for bus 0 (the only one) */
struct mon_pci_device_info {
    struct mon_pci_device_info *next;
    int bus, slot, function;
    struct {
        const char *desc;       /* QEMU's name of the class, or NULL */
        uint16_t class;         /* base class << 8 | subclass */
    } class_info;
    struct {
        uint16_t device, vendor, subsystem, subsystem_vendor;
    } id;
    int irq;                    /* the interrupt line register, when irq_pin is not 0 */
    int irq_pin;                /* 0: none, 1: INTA# .. 4: INTD# */
    int nregions;
    struct mon_pci_memory_region regions[7];
};
_Static_assert(offsetof(struct mon_pci_device_info, next) == 0, "mon_list_free frees it");
struct mon_pci_device_info *mon_query_pci(void);

/* ---- the balloon (cmd-balloon.c) ---- */

/* query-balloon (BalloonInfo): bytes of RAM the guest keeps; the statistics it last sent (skiff's) */
struct mon_balloon_info {
    int64_t actual;
    bool has_stats;
    uint64_t stats[10];         /* virtio's tags: swap in/out, major/minor faults, free, total, ... */
};
int mon_query_balloon(struct mon_balloon_info *info, char **err);
/* balloon: leave the guest `value` bytes of RAM; -ENODEV without a balloon, -EINVAL for 0 */
int mon_balloon(uint64_t value, char **err);

/* ---- input (cmd-input.c) ---- */

#define MON_SEND_KEY_MAX 16
#define MON_SEND_KEY_HOLD_MAX 60000

/*
 * send-key: press keys together (QEMU's key names, or scan code set 1 numbers, 0x1xx for the
 * E0-prefixed ones) and let them go after hold_time ms, last pressed first. Keys still held from
 * the last send-key go up first. -EINVAL with *err naming a key or a count or time out of range.
 */
int mon_send_key(const char *const *keys, int nkeys, int hold_time, char **err);
/* Let go of held keys and free the timer (at exit). */
void mon_send_key_cleanup(void);

/* ---- networking (cmd-net.c) ---- */

/*
 * set_link: the link of a NIC or backend (by the name info network shows) up or down, as QEMU's;
 * -ENODEV with *err ("Device 'NAME' not found") when there is no such client
 */
int mon_set_link(const char *name, bool up, char **err);
/* info network: QEMU's text (hubs, then each NIC with its backend, each unused backend, filters); free it */
char *mon_info_network(void);
/*
 * hostfwd_add [NETDEV] RULE: forward a host port to the guest through a user backend (NETDEV, or
 * the first one made), as QEMU's; 0, or -errno with *msg in QEMU's words
 */
int mon_hostfwd_add(const char *netdev, const char *rule, char **msg);
/* hostfwd_remove [NETDEV] [tcp|udp]:[HOSTADDR]:HOSTPORT: *msg is QEMU's answer either way; 0 when removed */
int mon_hostfwd_remove(const char *netdev, const char *rule, char **msg);
/* info usernet: each user backend's connections, as QEMU prints them; free it */
char *mon_info_usernet(void);

#endif
