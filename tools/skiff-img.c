/* skiff-img.c: the image tool (subcommands come with the block layer) */
#include "util/osdep.h"

int main(int argc, char **argv)
{
    fprintf(stderr, "skiff-img: no subcommands yet\n");
    return 1;
}
