/* char-mux.c: a chardev shared by several frontends (mux=on, mon:): the Ctrl-A escape that switches between them */
#include "chardev/chardev-int.h"
#include "util/main-loop.h"     // loop_quit

static const char mux_help[] =
    "\r\n"
    "C-a h    print this help\r\n"
    "C-a x    exit skiff\r\n"
    "C-a c    switch between console and monitor\r\n"
    "C-a b    send break (magic sysrq)\r\n"
    "C-a C-a  send C-a\r\n";

/* Bytes typed on a mux: Ctrl-A starts an escape, everything else goes to the focused frontend. */
void chardev_mux_input(struct chardev *c, const uint8_t *buf, int len)
{
    struct chardev_frontend *f;

    for (int i = 0; i < len; i++) {
        uint8_t ch = buf[i];

        if (c->escape) {
            c->escape = false;
            switch (ch) {
            case 'x':
                chardev_printf(c, "\r\nskiff: terminated\r\n");
                loop_quit(0);
                continue;
            case 'h': case '?':
                chardev_write(c, (const uint8_t *)mux_help, sizeof(mux_help) - 1);
                continue;
            case 'c':
                if (c->nfe > 1) {
                    c->focus = (c->focus + 1) % c->nfe;
                    f = chardev_focus(c);
                    if (f->ops->event)
                        f->ops->event(f->opaque, CHR_EVENT_FOCUS);
                }
                continue;
            case 'b':
                f = chardev_focus(c);
                if (f && f->ops->event)
                    f->ops->event(f->opaque, CHR_EVENT_BREAK);
                continue;
            case 0x01: case 'a':
                break;      /* send a literal Ctrl-A */
            default:
                continue;
            }
        } else if (ch == 0x01) {
            c->escape = true;
            continue;
        }
        f = chardev_focus(c);
        if (f && f->ops->read)
            f->ops->read(f->opaque, &ch, 1);
    }
}
