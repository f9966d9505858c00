#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Prints bench/README.md's tables (medians) from bench_alloc's JSON output:
#   bench_alloc ... --benchmark_out=out.json --benchmark_out_format=json; python3 table.py out.json
import json
import sys

m = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        m[b["run_name"]] = b["real_time"]


def f(k):
    if k not in m:
        return "–"
    t = m[k]
    if t >= 10000:
        return f"{t / 1000:.1f} µs"
    if t < 10:
        return f"{t:.2f} ns"
    return f"{t:.0f} ns" if t >= 100 else f"{t:.1f} ns"


NS = (16, 1024, 65536)
print("| path | N | hotrestart | Boost iset | Boost iunordered_set | std::unordered_map | reference |")
print("|---|---:|---:|---:|---:|---:|---:|")
for n in NS:
    print(f"| find existing | {n:,} | **{f(f'find/hotrestart/{n}')}** | {f(f'find/boost_iset/{n}')} | "
          f"{f(f'find/boost_iunordered_set/{n}')} | {f(f'find/std_unordered_map/{n}')} | "
          f"harness alone {f(f'find/harness_only/{n}')} |")
for n in NS:
    print(f"| create + free by name | {n:,} | **{f(f'create_free/hotrestart/{n}')}** | "
          f"{f(f'create_free/boost_iset/{n}')} | {f(f'create_free/boost_iunordered_set/{n}')} | "
          f"{f(f'create_free/std_unordered_map+calloc/{n}')} | malloc+memset+free {f('create_free/malloc+memset')} |")
for n in NS:
    print(f"| open existing + one find | {n:,} | **{f(f'open_find/hotrestart/{n}')}** | "
          f"{f(f'open_find/boost_iset/{n}')} | {f(f'open_find/boost_iunordered_set/{n}')} | – | "
          f"raw open+mmap+read {f(f'open_find/raw_open_mmap_read/{n}')} |")
print()
print("| open + find, analysis | N=16 | N=1,024 | N=65,536 |")
print("|---|---:|---:|---:|")
for k, label in [
    ("open_find/raw_open_mmap_read", "raw open + mmap + read one value (the target's baseline)"),
    ("open_find/raw_same_4_pages", "raw open + mmap + read the 4 words a bank open + find reads"),
    ("open_find/raw_same_4_pages+boot_id", "the same + read /proc/sys/kernel/random/boot_id"),
    ("open_find/hotrestart", "hotrestart open + find"),
]:
    print(f"| {label} | " + " | ".join(f(f"{k}/{n}") for n in NS) + " |")
print()
print("| typed blocks | N=16 | N=1,024 | N=65,536 |")
print("|---|---:|---:|---:|")
for k, label in [
    ("typed/find_or_construct", "`persistent<T>::find_or_construct`, existing (64-byte T)"),
    ("typed/construct_destroy", "first construction (shadow + replace) + destroy"),
]:
    print(f"| {label} | " + " | ".join(f(f"{k}/{n}") for n in NS) + " |")
print()
print("| update of one value | 64 B | 3,968 B |")
print("|---|---:|---:|")
for k, label in [
    ("in_place", "in place (plain stores, not crash-atomic)"),
    ("atomic_update", "`update(f)`: copy + f + switch"),
    ("atomic_store", "`store(v)`: write + switch"),
    ("new_block_replace", "alternative: a fresh block + `bank.replace` per update"),
]:
    print(f"| {label} | {f(f'update/64B/{k}')} | {f(f'update/3968B/{k}')} |")
