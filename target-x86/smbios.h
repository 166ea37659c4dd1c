/* smbios.h: the SMBIOS tables that tell the guest what machine it is on (dmidecode, /sys/class/dmi) */
#ifndef TARGET_X86_SMBIOS_H
#define TARGET_X86_SMBIOS_H

#include "util/osdep.h"
#include "target-x86/cpuid.h" // struct cpu_topology

/* the SMBIOS 2.1 (32-bit) entry point, DSP0134 5.2.1 */
#define SMBIOS_ANCHOR_LEN 31

struct smbios_config {
    const struct cpu_topology *topo;
    uint64_t ram_below_4g;
    uint64_t ram_above_4g;
    uint32_t cpuid_signature;       /* CPUID 1 EAX and EDX of the vCPUs: the processor ID */
    uint32_t cpuid_features;
};

struct smbios_tables {
    uint8_t anchor[SMBIOS_ANCHOR_LEN];  /* the table address left 0: the firmware sets it */
    uint8_t *data;                      /* the structures, back to back, type 127 last */
    size_t len;
};

/*
 * The structures QEMU's pc machine gives SeaBIOS through fw_cfg (etc/smbios/smbios-anchor and
 * etc/smbios/smbios-tables): system (1), chassis (3), a processor per socket (4), the memory
 * array (16) with a device per 16 GiB (17) and its mapped ranges (19), boot status (32). The
 * BIOS adds its own type 0.
 */
void smbios_build(struct smbios_tables *t, const struct smbios_config *c);

/* -smbios type=1,manufacturer=,product=,version=,serial=,uuid=,sku=,family= and
 * -smbios type=3,manufacturer=,version=,serial=,asset=,sku=: QEMU's spellings; an empty value
 * leaves the string out. 0, or -EINVAL with *err. */
int smbios_option(const char *spec, char **err);
/* -uuid: the machine's UUID, in SMBIOS type 1 and fw_cfg. 0, or -EINVAL with *err. */
int smbios_set_uuid(const char *s, char **err);
/* The UUID in RFC 4122 byte order (fw_cfg's), all zero when none was given. */
void smbios_get_uuid(uint8_t uuid[16]);
/* Forget what -smbios and -uuid set (for tests). */
void smbios_options_reset(void);
/* For a boot without firmware: the entry point at ADDR (16-byte aligned, in the F segment where
 * guests look for it), the structures right after it. 0, or -EFAULT outside guest RAM. */
int smbios_place(struct smbios_tables *t, uint64_t addr);
void smbios_tables_free(struct smbios_tables *t);

#endif
