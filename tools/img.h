/* img.h: what skiff-img's subcommand files share: opening images with qemu-img's messages, size strings, JSON output */
#ifndef TOOLS_IMG_H
#define TOOLS_IMG_H

#include "block/qcow2.h"

#include <getopt.h>
#include <time.h>

enum img_output { OUT_HUMAN, OUT_JSON };

/* "skiff-img: " + message, to stderr */
void img_error(const char *fmt, ...) PRINTF_FMT(1, 2);
/* Open for a subcommand; prints the error itself. NULL on failure. */
struct block_dev *img_open(const char *name, const char *fmt, bool rw, const char *cache, bool no_backing,
                           bool check);
/* qemu's size_to_str: "196 KiB", "1 GiB", "0 B" */
char *img_size_str(uint64_t v);
int img_parse_output(const char *s, enum img_output *out);
/* A JSON string literal, quoted and escaped (free it). */
char *img_json_str(const char *s);
/* "-o key=val,..." options collected across repeats */
struct img_create_opts {
    struct qcow2_create_opts q;
    bool size_set;
    char *backing_file, *backing_fmt;
};
int img_parse_create_opts(const char *s, struct img_create_opts *o);
/* Create an image of `fmt`; prints the "Formatting ..." line unless quiet. */
int img_create_image(const char *name, const char *fmt, struct img_create_opts *o, bool quiet);
void img_progress(bool on, double pct);
/* After getopt: exactly one file name left? Prints qemu-img's message when not. */
bool img_one_file(int argc, char **argv);
/*
 * A flat JSON object as qemu-img prints it: keys in the order of QEMU's QDict
 * hash buckets, numbers shown only when non-zero unless `always`, `str` for a
 * pre-rendered value.
 */
struct img_jfield {
    const char *key;
    uint64_t num;
    bool always;
    const char *str;
};
void img_json_fields(struct img_jfield *f, size_t n);
/* Parse "+10G", "-1M", "20G" relative to cur */
int img_parse_size_arg(const char *s, uint64_t cur, uint64_t *out, bool *shrink);

int img_create(int argc, char **argv);
int img_info(int argc, char **argv);
int img_check(int argc, char **argv);
int img_convert(int argc, char **argv);
int img_snapshot(int argc, char **argv);
int img_rebase(int argc, char **argv);
int img_commit(int argc, char **argv);
int img_resize(int argc, char **argv);
int img_map(int argc, char **argv);
int img_compare(int argc, char **argv);
int img_bench(int argc, char **argv);

#endif
