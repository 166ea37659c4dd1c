/* cpuid.h: the guest's CPUID: CPU models (host, qemu64), +feat/-feat, and the -smp topology */
#ifndef TARGET_X86_CPUID_H
#define TARGET_X86_CPUID_H

#include "hw/core/machine.h" // struct cpu_topology
#include "util/osdep.h"

#include <linux/kvm.h>

/* Parse "-cpu MODEL[,+feat][,-feat][,feat=on|off]". 0, or -EINVAL with *err. */
int cpuid_configure(const char *spec, char **err);
/* Parse "-smp N[,sockets=S][,cores=C][,threads=T][,maxcpus=M]" (prefers cores, as QEMU 6.2+). */
int cpu_topology_parse(const char *spec, struct cpu_topology *t, char **err);
/* The APIC ID of vCPU `index`: packed socket/core/thread fields, each a power of two wide. */
uint32_t cpu_apic_id(const struct cpu_topology *t, int index);
/* Mark the named feature (a -cpu name) supported in KVM's set, for what KVM offers as a
 * capability rather than in KVM_GET_SUPPORTED_CPUID. */
void cpuid_add_supported(struct kvm_cpuid2 *supported, const char *name);
/* CPUID entries for one vCPU, from KVM's supported set; caller frees. */
struct kvm_cpuid2 *cpuid_build(const struct kvm_cpuid2 *supported, const struct cpu_topology *t,
                               int index);
/* CPUID 1's EAX (the signature) and EDX (the features) as vCPU 0 sees them. */
/* The same for this host's KVM (what the guest's vCPUs will be); false where KVM is not open. */
bool cpuid_guest_signature(const struct cpu_topology *t, uint32_t *eax, uint32_t *edx);
void cpuid_signature(const struct kvm_cpuid2 *supported, const struct cpu_topology *t,
                     uint32_t *eax, uint32_t *edx);
void cpuid_print_help(FILE *out);

#endif
