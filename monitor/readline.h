/* readline.h: line editing for a terminal: typed bytes in, echo and whole lines out; it knows nothing of commands */
#ifndef MONITOR_READLINE_H
#define MONITOR_READLINE_H

#include "util/osdep.h"

#define READLINE_LINE_MAX 1024      /* with its NUL: a longer line is refused at Enter */

/* Text for the terminal (echo, erasing, the prompt); \n is the caller's to translate. */
typedef void readline_write_fn(void *opaque, const char *s, size_t len);
/* A whole line, without its end; it runs before the next prompt is shown. */
typedef void readline_line_fn(void *opaque, const char *line);

struct readline {
    char line[READLINE_LINE_MAX];
    int len;
    bool overflow;          /* the line grew past READLINE_LINE_MAX: it is refused at Enter */
    bool last_cr;           /* a \n right after \r ends no second line */
    int esc;                /* in an escape sequence (cursor keys): 1 after ESC, 2 after ESC [ */
    const char *prompt;
    readline_write_fn *write;
    readline_line_fn *line_done;
    void *opaque;
};

void readline_init(struct readline *rl, const char *prompt, readline_write_fn *write,
                   readline_line_fn *line_done, void *opaque);
/* A new session (a client connected, the terminal switched here): an empty line and the prompt. */
void readline_start(struct readline *rl);
/* Bytes as typed: printable ones join the line, DEL and Ctrl-H erase one, Ctrl-U all, Enter ends it. */
void readline_input(struct readline *rl, const uint8_t *buf, int len);

#endif
