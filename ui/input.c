/* input.c: where key and pointer events go: the keyboard and pointer devices that registered */
#include "ui/input.h"

static struct {
    const struct input_handler *kbd, *ptr;
} in;

void input_set_keyboard(const struct input_handler *h)
{
    in.kbd = h;
}

void input_set_pointer(const struct input_handler *h)
{
    in.ptr = h;
}

void input_key_event(unsigned key, bool down)
{
    if (in.kbd && in.kbd->key)
        in.kbd->key(in.kbd->opaque, key, down);
}

void input_rel_event(int dx, int dy, int dz, unsigned buttons)
{
    if (in.ptr && in.ptr->rel)
        in.ptr->rel(in.ptr->opaque, dx, dy, dz, buttons);
}
