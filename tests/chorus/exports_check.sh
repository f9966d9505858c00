#!/usr/bin/env bash
# exports_check.sh LIB NM READELF SONAME
# The shared library exports exactly the ChorusOS API (runtime/chorus/compat/hotrestart_chorus.h),
# nothing of the C++ code below it, and carries its SONAME.
set -euo pipefail
lib=$1 nm=$2 readelf=$3 soname=$4
api="hrExitHandler hrGetActorGroup hrGroupKey hrGroupKeySize hrKillGroup hrfexecl hrfexecve
pmmAllocate pmmFree pmmFreeAll rgnAllocate vmPageSize"
want=$(tr ' ' '\n' <<<"$api" | grep -v '^$' | sort)
# Defined, exported symbols (text, data, bss, GNU-unique: a template's static), without their
# version (@HOTRESTART_CHORUS_0) and the version node itself (type A).
have=$("$nm" -D --defined-only "$lib" | awk '$2 != "U" && $2 != "w" && $2 != "A" { print $3 }' | sed 's/@.*//' | sort)
if [ "$have" != "$want" ]; then
  echo "exports of $lib differ from the API:"
  diff <(echo "$want") <(echo "$have") || true
  exit 1
fi
got=$("$readelf" -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$got" = "$soname" ] || { echo "SONAME is '$got', expected $soname"; exit 1; }
echo "exports_check: $(wc -l <<<"$have") symbols exported, all of the API; SONAME $got"
