#!/bin/bash
# t-build.sh: configure and make install as a packager meets them.
# budget: 120 (a second once skiff is built)
. "$(dirname "$0")/../lib/common.sh"

# configure in a scratch folder (it writes config.mak where it runs)
cd "$TMP" || exit 1
PKG_CONFIG_LIBDIR=/nonexistent "$SRCDIR/configure" >"$TMP/out" 2>&1
status=$?
check "configure stops when zlib is missing (status $status)" test "$status" -ne 0
check "and names the Debian package to install" grep -q "install the Debian package zlib1g-dev" "$TMP/out"
"$SRCDIR/configure" --disable-lzma --disable-zstd >"$TMP/out" 2>&1
check "configure --disable-lzma --disable-zstd succeeds" test $? -eq 0
check "and leaves them out of config-host.h" sh -c "! grep -q 'CONFIG_LZMA\|CONFIG_ZSTD' '$TMP/config-host.h'"
check "while zlib stays in" grep -q CONFIG_ZLIB "$TMP/config-host.h"
"$SRCDIR/configure" --enable-frobnicator >"$TMP/out" 2>&1
check "an unknown configure option is refused by name" grep -q "unknown option '--enable-frobnicator'" "$TMP/out"
"$SRCDIR/configure" --help >"$TMP/out" 2>&1
check "configure --help lists --prefix and the optional features" sh -c "grep -q -- --prefix '$TMP/out' && grep -q -- --disable-lz4 '$TMP/out'"

# make install into a staging folder
cd "$SRCDIR" || exit 1
make -s install DESTDIR="$TMP/stage" PREFIX=/usr >"$TMP/out" 2>&1
check "make install DESTDIR=... PREFIX=/usr succeeds" test $? -eq 0
check "it installs skiff and skiff-img in PREFIX/bin" test -x "$TMP/stage/usr/bin/skiff" -a -x "$TMP/stage/usr/bin/skiff-img"
check "the installed skiff runs" sh -c "'$TMP/stage/usr/bin/skiff' --version | grep -q 'skiff version'"
check "the manual is installed under PREFIX/share/skiff" test -f "$TMP/stage/usr/share/skiff/options.md"
done_testing
