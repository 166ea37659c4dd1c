#!/bin/bash
# t-console.sh: the terminal as a user drives it: typing reaches the guest, -nographic's
# Ctrl-A escapes (h help, x quit, C-a C-a a literal C-a), as in QEMU.
. "$(dirname "$0")/../lib/common.sh"

make -s -C "$SRCDIR" payloads >&2
native_lane "console"
K=$SRCDIR/build/payloads/echo.elf
DX="-device isa-debug-exit,iobase=0xf4,iosize=4"

# plain -serial stdio: lines typed reach the guest, which echoes them and exits on "quit"
(sleep 0.5; printf 'hello skiff\r'; sleep 0.3; printf 'quit\r') |
    timeout 20 "$SKIFF" -kernel "$K" -nodefaults -serial stdio $DX >"$TMP/out" 2>"$TMP/err"
status=$?
check "with -serial stdio, a typed line reaches the guest" grep -q "echo: hello skiff" "$TMP/out"
check "and the guest's \"quit\" ends skiff through debug-exit (status $status)" test "$status" -eq 1

# -nographic: Ctrl-A h prints help, Ctrl-A x quits with status 0
(sleep 0.5; printf 'abc\r'; sleep 0.3; printf '\001h'; sleep 0.3; printf 'x\001\001y\r'; sleep 0.3;
 printf '\001x'; sleep 5) |
    timeout 20 "$SKIFF" -kernel "$K" -nographic $DX >"$TMP/out" 2>"$TMP/err"
status=$?
check "with -nographic, typed lines reach the guest" grep -q "echo: abc" "$TMP/out"
check "Ctrl-A h lists the escape keys" grep -q "C-a x    exit skiff" "$TMP/out"
check "Ctrl-A Ctrl-A sends one Ctrl-A to the guest" grep -q $'echo: x\001y' "$TMP/out"
check "Ctrl-A x ends skiff with status 0 (status $status)" test "$status" -eq 0
check "and says so" grep -q "skiff: terminated" "$TMP/out"

# end of input does not spin or quit: the guest keeps running until it exits
timeout 5 "$SKIFF" -kernel "$K" -nodefaults -serial stdio $DX </dev/null >"$TMP/out" 2>"$TMP/err"
status=$?
check "with stdin at its end the guest keeps running (status $status = timeout)" test "$status" -eq 124
done_testing
