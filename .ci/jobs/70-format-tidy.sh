#!/usr/bin/env bash
# Style and static analysis:
#   1. clang-format-14 --dry-run -Werror over every tracked C and C++ file, except the paths listed in
#      .ci/format-exclude (the seed fixture, kept as written).
#   2. clang-tidy-14 with the repository's .clang-tidy (warnings are errors) over the library's
#      public headers (one generated translation unit that includes them all), the ChorusOS
#      library's source, the tools and the examples; diagnostics in excluded paths are not
#      counted. Tests are not analysed.
# Configure only (no build): a compilation database is all clang-tidy needs. Budget: under a
# minute on 2 cores (about 30 s).
. "$(dirname "$0")/../lib.sh"
ci_install cmake g++ make libexpected-dev doctest-dev libboost-dev \
  clang-14 clang-format-14 clang-tidy-14

# is_excluded PATH: listed in .ci/format-exclude (exact file, or folder ending in /).
mapfile -t excludes < <(grep -Ev '^[[:space:]]*(#|$)' .ci/format-exclude)
is_excluded() {
  local p
  for p in "${excludes[@]}"; do
    if [[ "$p" == */ ]]; then [[ "$1" == "$p"* ]] && return 0; else [[ "$1" == "$p" ]] && return 0; fi
  done
  return 1
}

# An exclusion that names nothing any more is reported (it can go).
for p in "${excludes[@]}"; do
  [ -e "$p" ] || echo "format-tidy job: note: .ci/format-exclude lists $p, which does not exist"
done

# 1. clang-format.
files=()
while IFS= read -r f; do
  is_excluded "$f" || files+=("$f")
done < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.c' '*.cc' '*.hh' '*.cxx')
clang-format-14 --dry-run -Werror "${files[@]}"
echo "format-tidy job: clang-format: ${#files[@]} files clean (${#excludes[@]} exclusions in .ci/format-exclude)"

# 2. clang-tidy.
CXX=clang++-14 cmake -S . -B build/ci-tidy -DCMAKE_BUILD_TYPE=Debug -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DHOTRESTART_BUILD_BENCHMARKS=OFF >/dev/null
units=(build/ci-tidy/tests/package/headers_alone/all_public_headers.cpp)
for f in $(git ls-files 'tools/*.cpp' 'examples/*.cpp' 'runtime/*.cpp'); do
  is_excluded "$f" && continue
  [[ "$f" == examples/firmware/* ]] && continue  # cross-compiled: not in the host database
  units+=("$f")
done
log=build/ci-tidy/tidy.log
tidy_status=0
printf '%s\n' "${units[@]}" | xargs -P2 -n1 clang-tidy-14 -p build/ci-tidy --quiet >"$log" 2>&1 ||
  tidy_status=$?
# clang-tidy exits non-zero for its diagnostics (counted below) and when it cannot process a
# unit at all: the latter must fail the job, not be mistaken for "no diagnostics".
if grep -qE 'Error while processing|error: unable to|Found compiler error' "$log"; then
  grep -E 'Error while processing|error: unable to|Found compiler error' "$log" | head -20
  echo "format-tidy job: clang-tidy could not process every unit (status $tidy_status)" >&2
  exit 1
fi
problems=0
while IFS= read -r line; do
  path=${line%%:*}
  rel=$(realpath -m --relative-to=. "$path")
  is_excluded "$rel" && continue
  echo "$line"
  problems=$((problems + 1))
done < <(grep -E '^[^ ].*:[0-9]+:[0-9]+: (warning|error): ' "$log" | sort -u)
if [ "$problems" -ne 0 ]; then
  echo "format-tidy job: clang-tidy: $problems diagnostic(s)" >&2
  exit 1
fi
echo "format-tidy job: clang-tidy: ${#units[@]} translation units clean"
echo "format-tidy job: passed in $(( $(date +%s) - start ))s"
