#!/usr/bin/env bash
# Packaging: a fresh top-level build (Release) runs the package tests (CTest label "package"):
# install into a prefix, then consumers through find_package (every component; mmap alone
# without Boost; a wrong major version and an unknown component refused), add_subdirectory
# and pkg-config, each building and running a program that creates, reopens and frees a block;
# the Conan recipe against a stub of the conan module; the vcpkg port's static check. Then a
# staged install (DESTDIR, prefix /usr) as a distribution would do it, and `conan create` when
# Conan happens to be installed. Budget: under a minute on 2 cores (about 30 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get install -y -qq cmake g++ make libexpected-dev doctest-dev libboost-dev \
  pkg-config python3 >/dev/null

b=build/ci-package
cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Wconversion -Werror" \
  -DHOTRESTART_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$b" -j2 --target hrctl bankdump
ctest --test-dir "$b" --output-on-failure -j2 -L package
n=$(ctest --test-dir "$b" -N -L package | grep -Eo 'Total Tests: [0-9]+' | grep -Eo '[0-9]+')
[ "$n" -ge 9 ] || { echo "package job: only $n package tests registered" >&2; exit 1; }

# A distribution's staged install.
stage=$PWD/$b/stage
rm -rf "$stage"
DESTDIR=$stage cmake --install "$b" --prefix /usr >/dev/null
for f in usr/include/hotrestart/bank.hpp usr/share/cmake/hotrestart/hotrestartConfig.cmake \
         usr/share/cmake/hotrestart/hotrestartConfigVersion.cmake usr/share/pkgconfig/hotrestart.pc \
         usr/share/hotrestart/ld/hotrestart_bank.ld usr/bin/hrctl usr/share/doc/hotrestart/LICENSE; do
  [ -e "$stage/$f" ] || { echo "package job: staged install lacks /$f" >&2; exit 1; }
done
PKG_CONFIG_SYSROOT_DIR=$stage PKG_CONFIG_LIBDIR=$stage/usr/share/pkgconfig \
  pkg-config --cflags --libs hotrestart
echo "package job: staged install (DESTDIR, /usr) complete"

if command -v conan >/dev/null; then
  conan create conan/ --build=missing
  echo "package job: conan create passed"
else
  echo "package job: conan not installed: the recipe was checked against the stub only"
fi
echo "package job: passed in $(( $(date +%s) - start ))s"
