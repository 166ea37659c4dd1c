/* aml.h: building ACPI Machine Language byte code for the DSDT (ACPI 6.4 chapter 20) */
#ifndef TARGET_X86_AML_H
#define TARGET_X86_AML_H

#include "util/osdep.h"

/*
 * A term under construction. Blocks (scopes, devices, methods, packages, if, buffers,
 * fields) take children with aml_append; every term is encoded when it is appended to
 * its parent, so a parent is appended only after its own children. aml_append frees
 * the child.
 */
struct aml;

struct aml *aml_block_new(void);            /* a bare list of terms (the DSDT body) */
void aml_append(struct aml *parent, struct aml *child);
/* The encoded bytes of a bare list; the aml is freed. */
uint8_t *aml_finish(struct aml *a, size_t *len);

/* Data */
struct aml *aml_int(uint64_t v);            /* Zero, One, Ones or the smallest constant */
struct aml *aml_string(const char *s);
struct aml *aml_eisaid(const char *id);     /* "PNP0A03" as a compressed EISA id */
struct aml *aml_name(const char *path);     /* a reference by name: "LNKA", "\\_SB.PCI0" */
struct aml *aml_arg(int n);
struct aml *aml_local(int n);
struct aml *aml_package(uint8_t nelems);    /* elements appended */
struct aml *aml_buffer(const uint8_t *data, size_t len);

/* Named objects and blocks */
struct aml *aml_name_decl(const char *name, struct aml *value);
struct aml *aml_scope(const char *name);
struct aml *aml_device(const char *name);
struct aml *aml_method(const char *name, int nargs, bool serialized);
struct aml *aml_if(struct aml *predicate);
enum aml_region_space { AML_SYSTEM_MEMORY = 0, AML_SYSTEM_IO = 1, AML_PCI_CONFIG = 2 };
struct aml *aml_operation_region(const char *name, enum aml_region_space space, uint64_t offset,
                                 uint64_t len);
/* Field(region, ByteAcc/AnyAcc..., NoLock, Preserve): add units with aml_field_unit */
struct aml *aml_field(const char *region, uint8_t flags);
#define AML_FIELD_BYTE_ACC 0x01
void aml_field_unit(struct aml *field, const char *name, unsigned bits);
struct aml *aml_create_dword_field(struct aml *buf, struct aml *index, const char *name);

/* Statements and expressions (a NULL target is no target) */
struct aml *aml_return(struct aml *v);
struct aml *aml_store(struct aml *src, struct aml *dst);
struct aml *aml_and(struct aml *a, struct aml *b, struct aml *target);
struct aml *aml_or(struct aml *a, struct aml *b, struct aml *target);
struct aml *aml_lless(struct aml *a, struct aml *b);
/* A call of a method that takes one argument (defined earlier in the table). */
struct aml *aml_call1(const char *method, struct aml *arg);

/* Resource descriptors (ACPI 6.4 section 6.4), for ResourceTemplate buffers */
struct resources {
    uint8_t *data;
    size_t len;
};
void res_io(struct resources *r, uint16_t base, uint8_t len);
void res_irq_noflags(struct resources *r, uint16_t mask);
void res_interrupts(struct resources *r, bool level, bool active_low, bool shared,
                    const uint32_t *irqs, int n);
void res_word_bus(struct resources *r, uint16_t min, uint16_t max);
void res_word_io(struct resources *r, uint16_t min, uint16_t max);
void res_dword_mem(struct resources *r, uint32_t min, uint32_t max, bool cacheable);
/* ResourceTemplate(): the descriptors and their end tag, as a buffer; r is emptied. */
struct aml *aml_resource_template(struct resources *r);

#endif
