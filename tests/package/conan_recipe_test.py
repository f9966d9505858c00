#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks conan/conanfile.py without Conan: imports it against a small stub of the `conan`
module, runs its methods (set_version, export_sources, layout, requirements, validate, package,
package_info) and checks that names, targets, components and requirements agree with the CMake
package (cmake/install.cmake, CMakeLists.txt), and that the pinned requirements are those of
conan/pins.txt (the one list of them) wherever the docs repeat them. Also imports
conan/test_package/conanfile.py.

    conan_recipe_test.py REPO_ROOT
"""
import fnmatch
import importlib.util
import os
import re
import sys
import tempfile
import types

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


# ---- the stub of the conan module -------------------------------------------------------------
class Options(dict):
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(name) from e


class Settings(dict):
    def get_safe(self, name, default=None):
        return self.get(name, default)

    def __getattr__(self, name):
        return self.get(name)


class CppInfo:
    def __init__(self):
        self.properties = {}
        self.components = _Components()
        self.includedirs = ["include"]
        self.libdirs = ["lib"]
        self.bindirs = ["bin"]
        self.resdirs = []
        self.requires = []
        self.system_libs = []
        self.exelinkflags = []
        self.sharedlinkflags = []

    def set_property(self, name, value):
        self.properties[name] = value


class _Components(dict):
    def __missing__(self, key):
        self[key] = CppInfo()
        return self[key]


class ConanFile:
    def __init__(self, recipe_folder):
        self.recipe_folder = recipe_folder
        self.version = None
        self.options = Options()
        self.settings = Settings({"os": "Linux", "arch": "x86_64", "compiler": "gcc",
                                  "compiler.cppstd": "20", "build_type": "Release"})
        self.cpp_info = CppInfo()
        self.required = []
        self.layout_calls = []
        self.copies = []
        self.min_cppstd = None
        self.info = types.SimpleNamespace(cleared=False)
        self.info.clear = lambda: setattr(self.info, "cleared", True)

    def requires(self, ref, **kwargs):
        self.required.append(ref)


def _copy(conanfile, pattern, src, dst, **kwargs):
    src = os.path.normpath(src)
    matched = []
    for root, _, files in os.walk(src):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), src)
            if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(f, pattern):
                matched.append(rel)
    conanfile.copies.append((pattern, src, dst, matched))
    return matched


def _load(conanfile, path, **kwargs):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _basic_layout(conanfile, src_folder="."):
    conanfile.layout_calls.append(("basic_layout", src_folder))


def _check_min_cppstd(conanfile, std):
    conanfile.min_cppstd = int(std)


def install_stub():
    mods = {
        "conan": types.ModuleType("conan"),
        "conan.tools": types.ModuleType("conan.tools"),
        "conan.tools.build": types.ModuleType("conan.tools.build"),
        "conan.tools.files": types.ModuleType("conan.tools.files"),
        "conan.tools.layout": types.ModuleType("conan.tools.layout"),
        "conan.tools.cmake": types.ModuleType("conan.tools.cmake"),
    }
    mods["conan"].ConanFile = ConanFile
    mods["conan.tools.build"].check_min_cppstd = _check_min_cppstd
    mods["conan.tools.build"].can_run = lambda conanfile: True
    mods["conan.tools.files"].copy = _copy
    mods["conan.tools.files"].load = _load
    mods["conan.tools.layout"].basic_layout = _basic_layout
    mods["conan.tools.cmake"].CMake = object
    mods["conan.tools.cmake"].cmake_layout = lambda conanfile, **kw: None
    sys.modules.update(mods)


def import_recipe(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- what the CMake package says ------------------------------------------------------------
def cmake_package(root):
    with open(os.path.join(root, "CMakeLists.txt"), encoding="utf-8") as f:
        version = re.search(r"project\(\s*hotrestart\s+VERSION\s+([0-9.]+)", f.read()).group(1)
    with open(os.path.join(root, "cmake", "install.cmake"), encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"set\(hr_component_targets\s+(.*?)\)", text, re.S).group(1).split()
    components = block[0::2]
    with open(os.path.join(root, "cmake", "hotrestartConfig.cmake.in"), encoding="utf-8") as f:
        config = f.read()
    return version, components, config


def read_pins(root):
    """conan/pins.txt: {name: reference}."""
    pins = {}
    with open(os.path.join(root, "conan", "pins.txt"), encoding="utf-8") as f:
        for line in f:
            ref = line.split("#", 1)[0].strip()
            if ref:
                pins[ref.split("/", 1)[0]] = ref
    return pins


def run_recipe(root, module, shm):
    recipe = module.HotrestartConan(os.path.join(root, "conan"))
    recipe.options = Options(shm=shm)
    recipe.set_version()
    recipe.layout()
    recipe.requirements()
    recipe.validate()
    recipe.package_id()
    with tempfile.TemporaryDirectory() as tmp:
        recipe.export_sources_folder = os.path.join(tmp, "export")
        recipe.export_sources()
        recipe.source_folder = root
        recipe.package_folder = os.path.join(tmp, "package")
        recipe.package()
        recipe.package_info()
    return recipe


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), os.pardir, os.pardir))
    install_stub()
    module = import_recipe(os.path.join(root, "conan", "conanfile.py"), "hotrestart_recipe")
    version, cmake_components, config = cmake_package(root)
    cls = module.HotrestartConan

    check(cls.name == "hotrestart", "recipe name is hotrestart")
    check(cls.package_type == "header-library", "package_type is header-library")
    check(cls.license == "MIT", "license is MIT (as LICENSE)")
    check(os.path.isfile(os.path.join(root, "LICENSE")), "LICENSE exists")
    check("shm" in cls.options and cls.default_options.get("shm") is False,
          "option shm, off by default")
    pins = read_pins(root)
    check(sorted(pins) == ["boost", "tl-expected"], f"conan/pins.txt pins boost and tl-expected: {pins}")
    tl_ref, boost_ref = pins.get("tl-expected", ""), pins.get("boost", "")
    check(re.fullmatch(r"tl-expected/\d+\.\d+\.\d+", tl_ref) is not None,
          "tl-expected pinned to an exact version")
    check(re.fullmatch(r"boost/1\.\d+\.\d+", boost_ref) is not None
          and int(boost_ref.split(".")[1]) >= 74, "boost pinned, at least 1.74 (as CMake)")
    check("pins.txt" in getattr(cls, "exports", ()) or getattr(cls, "exports", None) == "pins.txt",
          "the recipe exports pins.txt (it reads the pins from there in the cache)")
    with open(os.path.join(root, "conan", "conanfile.py"), encoding="utf-8") as f:
        recipe_text = f.read()
    for ref in pins.values():
        check(ref not in recipe_text, f"{ref} is written in pins.txt only, not in conanfile.py")
    # Wherever the docs name a pinned package's version, it is the pinned one.
    docs = [os.path.join("docs", d) for d in sorted(os.listdir(os.path.join(root, "docs")))
            if d.endswith(".md")]
    for rel in docs:
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            text = f.read()
        for name, ref in pins.items():
            for found in re.findall(r"`%s/([0-9][0-9.]*[0-9])`" % re.escape(name), text):
                check(f"{name}/{found}" == ref, f"{rel} names {name}/{found}, pins.txt has {ref}")

    for shm in (False, True):
        r = run_recipe(root, module, shm)
        tag = f"[shm={shm}] "
        check(r.version == version, tag + f"version {r.version} is the CMake project's {version}")
        check(r.layout_calls == [("basic_layout", ".")], tag + "layout: basic_layout")
        check(r.min_cppstd == 20, tag + "validate: C++20 at least")
        check(r.info.cleared, tag + "package_id cleared (header-only, same files for every option)")
        want = [tl_ref] + ([boost_ref] if shm else [])
        check(r.required == want, tag + f"requirements {r.required} == {want}")
        for pattern, src, dst, matched in r.copies:
            check(matched, tag + f"copy({pattern!r}) from {os.path.relpath(src, root)} matches files")
        exported = {p for p, _, _, _ in r.copies}
        check("LICENSE" in exported, tag + "exports the LICENSE")
        packaged = [(os.path.relpath(src, root), m) for _, src, _, m in r.copies]
        ld = [m for s, m in packaged if s == os.path.join("backends", "section", "ld")]
        check(ld and "hotrestart_bank.ld" in ld[0], tag + "packages the linker fragment")
        # The package id ignores the option, so the files must not depend on it: shm.hpp is
        # always there (the option adds only the Boost requirement and the component).
        shm_headers = [m for s, m in packaged if s == os.path.join("backends", "shm", "include")]
        check(shm_headers and any(m.endswith("shm.hpp") for m in shm_headers[0]),
              tag + "shm.hpp packaged whatever the option")
        vars_module = [m for s, m in packaged if s == "conan"]
        check(vars_module and "hotrestart-vars.cmake" in vars_module[0],
              tag + "packages the CMake variables module")

        info = r.cpp_info
        check(info.properties.get("cmake_file_name") == "hotrestart", tag + "cmake_file_name")
        check(info.properties.get("cmake_target_name") == "hotrestart::hotrestart",
              tag + "the root (aggregate) target is hotrestart::hotrestart, as the CMake package's")
        check(info.properties.get("cmake_build_modules") ==
              [os.path.join("share", "hotrestart", "cmake", "hotrestart-vars.cmake")],
              tag + "the build module sets HOTRESTART_SECTION_LD_DIR and friends")
        comps = info.components
        # Every CMake component (but the hrctl program) is a Conan component of the same name,
        # with the same target; shm only with the option. No target or .pc name twice, none
        # that the CMake package lacks.
        expected = [c for c in cmake_components if c != "hrctl" and (shm or c != "shm")]
        got = sorted(comps)
        check(got == sorted(expected), tag + f"components {got} == CMake's {sorted(expected)}")
        targets = [info.properties.get("cmake_target_name")] + [
            comps[c].properties.get("cmake_target_name") for c in got]
        check(len(set(targets)) == len(targets), tag + f"no CMake target name twice: {targets}")
        cmake_targets = {"hotrestart::hotrestart"} | {f"hotrestart::{c}" for c in cmake_components}
        check(set(targets) <= cmake_targets,
              tag + f"every target is one of the CMake package's: {sorted(set(targets) - cmake_targets)}")
        pcs = [info.properties.get("pkg_config_name")] + [
            comps[c].properties.get("pkg_config_name") for c in got]
        check(len(set(pcs)) == len(pcs), tag + f"no pkg-config name twice: {pcs}")
        check(pcs[0] == "hotrestart", tag + "the root's pkg-config name is hotrestart (hotrestart.pc)")
        # The core's requirement reaches every component (directly or through mmap).
        for c in got:
            reach, seen = list(comps[c].requires), set()
            while reach:
                x = reach.pop()
                if x in seen:
                    continue
                seen.add(x)
                if x in comps:
                    reach.extend(comps[x].requires)
            check("tl-expected::tl-expected" in seen, tag + f"{c} needs tl-expected (the core's)")
        for c in expected:
            check(comps[c].properties.get("cmake_target_name") == f"hotrestart::{c}",
                  tag + f"component {c} is hotrestart::{c}")
            check(comps[c].libdirs == [] and comps[c].bindirs == [], tag + f"{c}: no lib/bin dirs")
        # Dependencies between components as the CMake config resolves them.
        check(comps["posix"].requires == ["mmap"], tag + "posix -> mmap (as hotrestartConfig)")
        check(comps["chorus"].requires == ["posix"], tag + "chorus -> posix (as hotrestartConfig)")
        check("pthread" in comps["mmap"].system_libs, tag + "mmap needs pthread (CMake: Threads)")
        check(comps["section"].resdirs == [os.path.join("share", "hotrestart", "ld")],
              tag + "section's linker fragment folder is share/hotrestart/ld (as CMake)")
        if shm:
            check(set(comps["shm"].requires) == {"mmap", "boost::headers"},
                  tag + "shm -> mmap + boost::headers (CMake: Boost::headers)")
    check("find_package(Boost 1.74" in config, "the CMake config also asks Boost for >= 1.74")
    check('if(_hr_c STREQUAL "chorus")' in config and "list(APPEND _hotrestart_load mmap posix)"
          in config, "the CMake config pulls posix in for chorus")

    # A profile without compiler.cppstd is not refused (the CMake targets ask for C++20).
    r = module.HotrestartConan(os.path.join(root, "conan"))
    r.options = Options(shm=False)
    del r.settings["compiler.cppstd"]
    r.validate()
    check(r.min_cppstd is None, "validate does not check a standard the profile does not set")

    # The test package imports and declares what `conan create` needs.
    tp = import_recipe(os.path.join(root, "conan", "test_package", "conanfile.py"), "hr_tp")
    cls_tp = tp.HotrestartTestConan
    check(set(cls_tp.generators) == {"CMakeDeps", "CMakeToolchain"}, "test_package generators")
    with open(os.path.join(root, "conan", "test_package", "CMakeLists.txt"), encoding="utf-8") as f:
        tp_cmake = f.read()
    check("find_package(hotrestart CONFIG REQUIRED)" in tp_cmake, "test_package find_package")
    check("HOTRESTART_SECTION_LINKER_FRAGMENT" in tp_cmake, "test_package checks the build module's variables")
    with open(os.path.join(root, "conan", "hotrestart-vars.cmake"), encoding="utf-8") as f:
        module = f.read()
    for var in ("HOTRESTART_INCLUDE_DIR", "HOTRESTART_SECTION_LD_DIR", "HOTRESTART_SECTION_LINKER_FRAGMENT"):
        check(f"set({var}" in module and var in config, f"{var}: set by the build module as by hotrestartConfig")

    if failures:
        print(f"conan recipe check: {len(failures)} failure(s)")
        return 1
    print("conan recipe check: recipe agrees with the CMake package (shm off and on)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
