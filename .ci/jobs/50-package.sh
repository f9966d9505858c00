#!/usr/bin/env bash
# Packaging: a fresh top-level build (Release) runs the package tests (CTest label "package"):
# install into a prefix, then consumers through find_package (every component; mmap alone
# without Boost; a wrong major version and an unknown component refused), add_subdirectory
# and pkg-config, each building and running a program that creates, reopens and frees a block;
# the Conan recipe against a stub of the conan module; the vcpkg port's static check. Then a
# staged install (DESTDIR, prefix /usr) as a distribution would do it, checked through
# pkg-config (include folder, libs, ldscriptdir, version; the headers compile with its
# cflags), and `conan create` when Conan happens to be installed. Budget: about 90 s on 2
# shared cores from scratch.
. "$(dirname "$0")/../lib.sh"
ci_install cmake g++ make libexpected-dev doctest-dev libboost-dev \
  pkg-config python3

b=build/ci-package
cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Wconversion -Werror" \
  -DHOTRESTART_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$b" -j2 --target hrctl bankdump hotrestart_chorus hotrestart_chorus_static
ctest --test-dir "$b" --output-on-failure -j2 -L package
n=$(ctest --test-dir "$b" -N -L package | grep -Eo 'Total Tests: [0-9]+' | grep -Eo '[0-9]+')
[ "$n" -ge 9 ] || { echo "package job: only $n package tests registered" >&2; exit 1; }

# A distribution's staged install.
stage=$PWD/$b/stage
rm -rf "$stage"
DESTDIR=$stage cmake --install "$b" --prefix /usr >/dev/null
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$b/CMakeCache.txt")
for f in usr/include/hotrestart/bank.hpp usr/$libdir/cmake/hotrestart/hotrestartConfig.cmake \
         usr/$libdir/cmake/hotrestart/hotrestartConfigVersion.cmake usr/$libdir/pkgconfig/hotrestart.pc \
         usr/$libdir/pkgconfig/hotrestart-chorus.pc usr/$libdir/libhotrestart_chorus.so.0 \
         usr/$libdir/libhotrestart_chorus.a usr/include/hotrestart/chorus-compat/pmm/chPmm.h \
         usr/share/hotrestart/ld/hotrestart_bank.ld usr/bin/hrctl usr/share/doc/hotrestart/LICENSE \
         usr/lib/systemd/system/hrctl@.service; do
  [ -e "$stage/$f" ] || { echo "package job: staged install lacks /$f" >&2; exit 1; }
done
grep -qx 'ExecStart=/usr/bin/hrctl serve --config /etc/hotrestart/%i.conf --on-give-up exit' \
  "$stage/usr/lib/systemd/system/hrctl@.service" ||
  { echo "package job: the staged hrctl@.service does not run /usr/bin/hrctl" >&2; exit 1; }
# pkg-config on the staged tree (relocatable .pc): the include folder and the linker fragment's
# folder are the staged ones, the version is the project's, and the headers compile from there.
spc() { PKG_CONFIG_SYSROOT_DIR=$stage PKG_CONFIG_LIBDIR=$stage/usr/$libdir/pkgconfig pkg-config "$@"; }
fail() { echo "package job: staged pkg-config: $1" >&2; exit 1; }
version=$(sed -nE 's/^project\(hotrestart VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)
[ "$(spc --modversion hotrestart)" = "$version" ] || fail "version $(spc --modversion hotrestart), not $version"
cflags=$(spc --cflags hotrestart)
incs=$(printf '%s\n' $cflags | sed -n 's/^-I//p')
[ "$(printf '%s\n' "$incs" | wc -l)" -eq 1 ] || fail "cflags '$cflags' do not name one include folder"
[ "$(realpath "$incs")" = "$stage/usr/include" ] || fail "include folder $incs is not $stage/usr/include"
[[ " $(spc --libs hotrestart) " == *" -pthread "* ]] || fail "libs lack -pthread"
ld=$(spc --variable=ldscriptdir hotrestart)
[ -f "$ld/hotrestart_bank.ld" ] && [ "$(realpath "$ld")" = "$stage/usr/share/hotrestart/ld" ] ||
  fail "ldscriptdir $ld is not the staged linker fragment's folder"
# shellcheck disable=SC2086  # cflags are words
printf '#include <hotrestart/backends/mmap_file.hpp>\n#include <hotrestart/backends/section.hpp>\nint main() {}\n' |
  g++ -std=c++20 -fsyntax-only $cflags -x c++ - || fail "the staged headers do not compile with its cflags"
echo "package job: staged install (DESTDIR, /usr) complete; pkg-config gives its include folder ($incs), -pthread and ldscriptdir"
# The seed's hello world as a C user builds it from the staged tree: gcc, C99, hotrestart-chorus's
# flags, the shared library; run outside hrctl it reports the ChorusOS error K_ENOTSUPERVISED (-7).
# shellcheck disable=SC2046  # flags are words
gcc -std=c99 -Wall -Wextra -Wno-unused-variable -x c examples/hello_chorus/hello.cpp -x none \
  $(spc --cflags --libs hotrestart-chorus) -o "$b/hello_c" || fail "the seed does not build as C with hotrestart-chorus"
out=$(LD_LIBRARY_PATH=$stage/usr/$libdir "$b/hello_c"; echo "status $?")
[[ "$out" == *"Error = -7"*"status 255" ]] || fail "the seed built as C said: $out"
# And statically (pkg-config --static: the C++ runtime and threads).
# shellcheck disable=SC2046
gcc -std=c99 -Wno-unused-variable -x c examples/hello_chorus/hello.cpp -x none -static-libgcc \
  $(spc --cflags hotrestart-chorus) "$stage/usr/$libdir/libhotrestart_chorus.a" \
  $(spc --libs --static hotrestart-chorus | sed 's/-lhotrestart_chorus//') -o "$b/hello_c_static" ||
  fail "the seed does not link as C with the static library and pkg-config --static"
out=$("$b/hello_c_static"; echo "status $?")
[[ "$out" == *"Error = -7"*"status 255" ]] || fail "the static seed said: $out"
echo "package job: the seed builds as C from the staged tree (shared and static) and runs"

if command -v conan >/dev/null; then
  conan create conan/ -s compiler.cppstd=20 --build=missing
  echo "package job: conan create passed"
else
  echo "package job: conan not installed: the recipe was checked against the stub only"
fi
echo "package job: passed in $(( $(date +%s) - start ))s"
