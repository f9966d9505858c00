// SPDX-License-Identifier: MIT
// Every extension point of hotrestart, in one place (docs/concepts.md has the same list with
// what each concept asks for). A bank is basic_bank<Backend, Allocator, Registry>; a controller
// is basic_controller<Policy, Store, Tracker>. Each concept is defined, with a table of its
// members, beside its default model:
//
// | concept           | what it decides                                   | defined in                    | default model        |
// |-------------------|---------------------------------------------------|-------------------------------|----------------------|
// | `bank_backend`    | where a bank's bytes and its lock live            | backend.hpp                   | mmap_file_backend (backends/mmap), shm_backend, section_backend, span_backend |
// | `block_allocator` | pages in, extents out                             | policies/concepts.hpp         | extent_allocator     |
// | `name_registry`   | names to blocks, lock-free lookups                | policies/concepts.hpp         | hash_registry        |
// | `group_tracker`   | the tables of groups and processes                | policies/group_tracker.hpp    | table_tracker        |
// | `restart_policy`  | what a group's failure leads to                   | policies/restart_policy.hpp   | chorus_counter (and sliding_window, exponential_backoff, discard_after, runtime_policy) |
// | `block_store`     | how the controller frees a group's blocks         | policies/block_store.hpp      | bank_block_store (controller/bank_store.hpp), null_block_store |
//
// tests/archetypes_test.cpp instantiates both class templates with the smallest model of each.
#ifndef HOTRESTART_CONCEPTS_HPP
#define HOTRESTART_CONCEPTS_HPP

#include "backend.hpp"
#include "policies/block_store.hpp"
#include "policies/concepts.hpp"
#include "policies/group_tracker.hpp"
#include "policies/restart_policy.hpp"

#endif  // HOTRESTART_CONCEPTS_HPP
