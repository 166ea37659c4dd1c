/* vga.h: what the board and a display read from the standard VGA: the text screen */
#ifndef HW_DISPLAY_VGA_H
#define HW_DISPLAY_VGA_H

#include "util/osdep.h"

struct device;

#define VGA_TEXT_MAX_COLS 132
#define VGA_TEXT_MAX_ROWS 60

struct vga_text {
    int cols, rows;
    int cursor_col, cursor_row;     /* -1 when the cursor is off or off screen */
    uint8_t ch[VGA_TEXT_MAX_ROWS][VGA_TEXT_MAX_COLS];
    uint8_t attr[VGA_TEXT_MAX_ROWS][VGA_TEXT_MAX_COLS];
};

/* The screen in an alphanumeric mode; -EINVAL when the VGA shows graphics. */
int vga_text_read(struct device *dev, struct vga_text *t);
/* Program 80x25 text mode 3 as the VGA BIOS would, for a direct boot that runs no VGA BIOS. */
void vga_set_text_mode(struct device *dev);

#endif
