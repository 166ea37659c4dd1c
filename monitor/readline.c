/* readline.c: the monitor's line editor: echo, backspace and Ctrl-U, terminal escape sequences dropped, a bounded line */
#include "monitor/readline.h"

#include <stdio.h>

static void readline_puts(struct readline *rl, const char *s)
{
    rl->write(rl->opaque, s, strlen(s));
}

void readline_init(struct readline *rl, const char *prompt, readline_write_fn *write,
                   readline_line_fn *line_done, void *opaque)
{
    *rl = (struct readline){ .prompt = prompt, .write = write, .line_done = line_done, .opaque = opaque };
}

void readline_start(struct readline *rl)
{
    /* nothing of the last session's line: not an overlong one, nor an escape or \r it ended in */
    rl->len = 0;
    rl->overflow = false;
    rl->last_cr = false;
    rl->esc = 0;
    readline_puts(rl, rl->prompt);
}

static void readline_enter(struct readline *rl)
{
    readline_puts(rl, "\n");
    if (rl->overflow) {
        char msg[80];

        snprintf(msg, sizeof(msg), "the line is too long (at most %d characters)\n", READLINE_LINE_MAX - 1);
        readline_puts(rl, msg);
    } else {
        rl->line[rl->len] = '\0';
        rl->line_done(rl->opaque, rl->line);
    }
    rl->len = 0;
    rl->overflow = false;
    readline_puts(rl, rl->prompt);
}

void readline_input(struct readline *rl, const uint8_t *buf, int len)
{
    for (int i = 0; i < len; i++) {
        uint8_t ch = buf[i];
        bool cr = rl->last_cr;

        rl->last_cr = false;
        if (rl->esc == 1) {
            rl->esc = ch == '[' || ch == 'O' ? 2 : 0;
            continue;
        }
        if (rl->esc == 2) {
            /* parameters and intermediates until the final byte */
            if (ch >= 0x40 && ch <= 0x7e)
                rl->esc = 0;
            continue;
        }
        switch (ch) {
        case '\r':
            rl->last_cr = true;
            readline_enter(rl);
            break;
        case '\n':
            if (!cr)
                readline_enter(rl);
            break;
        case 0x7f: case 0x08:
            if (rl->len > 0) {
                rl->len--;
                readline_puts(rl, "\b \b");
            }
            break;
        case 0x15:      /* Ctrl-U: forget the line */
            while (rl->len > 0) {
                rl->len--;
                readline_puts(rl, "\b \b");
            }
            rl->overflow = false;
            break;
        case 0x1b:
            rl->esc = 1;
            break;
        default:
            if (ch < 0x20)
                break;
            if (rl->len < READLINE_LINE_MAX - 1) {
                rl->line[rl->len++] = (char)ch;
                rl->write(rl->opaque, (const char *)&ch, 1);
            } else {
                rl->overflow = true;
            }
        }
    }
}
