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
import shutil
import subprocess
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

    def __delattr__(self, name):
        del self[name]

    def get_safe(self, name, default=None):
        return self.get(name, default)

    def rm_safe(self, name):
        self.pop(name, None)


class Settings(dict):
    def get_safe(self, name, default=None):
        return self.get(name, default)

    def __getattr__(self, name):
        return self.get(name)


class Conf(dict):
    def get(self, name, default=None, check_type=None):
        return dict.get(self, name, default)


class CppInfo:
    def __init__(self):
        self.properties = {}
        self.components = _Components()
        self.includedirs = ["include"]
        self.libdirs = ["lib"]
        self.bindirs = ["bin"]
        self.resdirs = []
        self.libs = []
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
                                  "compiler.cppstd": "20", "compiler.libcxx": "libstdc++11",
                                  "build_type": "Release"})
        self.conf = Conf()
        self.folders = types.SimpleNamespace(source=None, build=None, generators=None)
        self.cpp = types.SimpleNamespace(build=types.SimpleNamespace(bindir="."))
        self.cpp_info = CppInfo()
        self.tested_reference_str = None
        self.dependencies = {}
        self.required = []
        self.layout_calls = []
        self.copies = []
        self.removed = []
        self.toolchains = []
        self.cmake_calls = []
        self.min_cppstd = None
        self.info = types.SimpleNamespace(cleared=False)
        self.info.clear = lambda: setattr(self.info, "cleared", True)

    def requires(self, ref, **kwargs):
        self.required.append(ref)


def _copy(conanfile, pattern, src, dst, **kwargs):
    """Copies as conan.tools.files.copy does (a pattern on the path below src, or the name)."""
    src = os.path.normpath(src)
    matched = []
    for root, _, files in os.walk(src):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), src)
            if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(f, pattern):
                matched.append(rel)
                os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
                shutil.copyfile(os.path.join(src, rel), os.path.join(dst, rel))
    conanfile.copies.append((pattern, src, dst, matched))
    return matched


def _load(conanfile, path, **kwargs):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _rmdir(conanfile, path):
    conanfile.removed.append(path)
    shutil.rmtree(path, ignore_errors=True)


def _basic_layout(conanfile, src_folder="."):
    conanfile.layout_calls.append(("basic_layout", src_folder))


def _cmake_layout(conanfile, generator=None, src_folder=".", build_folder="build"):
    """Folders as Conan 2's cmake_layout sets them (single-config generator): the conf
    tools.cmake.cmake_layout:test_folder (a test package) or :build_folder wins over the
    argument; the build folder is relative to the recipe's folder unless absolute."""
    conanfile.layout_calls.append(("cmake_layout", src_folder))
    folder = "test_folder" if conanfile.tested_reference_str else "build_folder"
    build_folder = conanfile.conf.get(f"tools.cmake.cmake_layout:{folder}") or build_folder
    conanfile.folders.source = src_folder
    conanfile.folders.build = os.path.join(build_folder, str(conanfile.settings.build_type))
    conanfile.folders.generators = os.path.join(conanfile.folders.build, "generators")


class _CMakeToolchain:
    def __init__(self, conanfile):
        self.conanfile = conanfile
        self.cache_variables = {}
        self.variables = {}
        self.user_presets_path = "CMakeUserPresets.json"  # Conan's default: next to CMakeLists

    def generate(self):
        self.conanfile.toolchains.append(self)


class _CMakeDeps:
    def __init__(self, conanfile):
        self.conanfile = conanfile

    def generate(self):
        pass


class _CMake:
    def __init__(self, conanfile):
        self.conanfile = conanfile

    def configure(self, variables=None, **kwargs):
        self.conanfile.cmake_calls.append(("configure", variables))

    def build(self, **kwargs):
        self.conanfile.cmake_calls.append(("build", None))

    def install(self, **kwargs):
        self.conanfile.cmake_calls.append(("install", None))


def _check_min_cppstd(conanfile, std):
    conanfile.min_cppstd = int(std)


def _stdcpp_library(conanfile):
    return {"libstdc++": "stdc++", "libstdc++11": "stdc++", "libc++": "c++"}.get(
        conanfile.settings.get_safe("compiler.libcxx"))


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
    mods["conan.tools.build"].stdcpp_library = _stdcpp_library
    mods["conan.tools.files"].copy = _copy
    mods["conan.tools.files"].load = _load
    mods["conan.tools.files"].rmdir = _rmdir
    mods["conan.tools.layout"].basic_layout = _basic_layout
    mods["conan.tools.cmake"].CMake = _CMake
    mods["conan.tools.cmake"].CMakeToolchain = _CMakeToolchain
    mods["conan.tools.cmake"].CMakeDeps = _CMakeDeps
    mods["conan.tools.cmake"].cmake_layout = _cmake_layout
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


def run_recipe(root, module, tmp, shm, shared=False, os_name="Linux"):
    """Runs the recipe's methods in Conan's order; the package folder is tmp/package."""
    recipe = module.HotrestartConan(os.path.join(root, "conan"))
    recipe.options = Options(shm=shm, shared=shared, fPIC=True)
    recipe.settings["os"] = os_name
    recipe.set_version()
    for method in ("config_options", "configure"):
        if hasattr(recipe, method):
            getattr(recipe, method)()
    recipe.layout()
    recipe.requirements()
    recipe.validate()
    if hasattr(recipe, "package_id"):
        recipe.package_id()
    if hasattr(recipe, "generate"):
        recipe.generate()
    recipe.export_sources_folder = os.path.join(tmp, "export")
    recipe.export_sources()
    recipe.source_folder = root
    recipe.build_folder = os.path.join(tmp, "build")
    recipe.package_folder = os.path.join(tmp, "package")
    recipe.build()
    recipe.package()
    recipe.package_info()
    return recipe


# ---- the build module, run as CMakeDeps runs it ------------------------------------------------
def fake_cmakedeps_config(folder, recipe):
    """A hotrestart-config.cmake in the order of CMakeDeps' generated one (conan-io/conan,
    conan/tools/cmake/cmakedeps/templates/config.py): the package's targets first (its Targets
    file), then each of cmake_build_modules included from the package folder. Config mode: the
    generated config does not set hotrestart_FOUND after the build modules."""
    info = recipe.cpp_info
    lines = ["# written by conan_recipe_test.py: what CMakeDeps' config does, in its order"]
    targets = [info.properties.get("cmake_target_name")] + [
        c.properties.get("cmake_target_name") for c in info.components.values()]
    for t in targets:
        lines.append(f"if(NOT TARGET {t})\n  add_library({t} INTERFACE IMPORTED)\nendif()")
    for m in info.properties.get("cmake_build_modules", []):
        path = os.path.join(recipe.package_folder, m).replace(os.sep, "/")
        lines.append(f'include("{path}")')
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "hotrestart-config.cmake"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def run_find_package(cmake, config_dir, work, call):
    """Configures a project that calls `find_package(hotrestart CONFIG <call>)`: (rc, output
    with its whitespace runs made single spaces, as CMake wraps its messages)."""
    src = os.path.join(work, "src")
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "CMakeLists.txt"), "w", encoding="utf-8") as f:
        f.write("cmake_minimum_required(VERSION 3.25)\nproject(consumer NONE)\n"
                f"find_package(hotrestart CONFIG {call})\n"
                'message(STATUS "found=${hotrestart_FOUND} mmap=${hotrestart_mmap_FOUND} '
                'nonesuch=${hotrestart_nonesuch_FOUND}")\n')
    proc = subprocess.run([cmake, "-S", src, "-B", os.path.join(work, "build"),
                           f"-Dhotrestart_DIR={config_dir}"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    return proc.returncode, " ".join(proc.stdout.split())


def check_build_module(root, recipe, config, tag):
    cmake = shutil.which("cmake")
    check(cmake is not None, tag + "cmake found (to run the build module)")
    if cmake is None:
        return
    # The message of the project's own config, rendered for 'nonesuch'.
    known = re.search(r"set\(_hotrestart_known ([^)]*)\)", config)
    template = re.search(r'"(hotrestart: unknown component [^"]*)"', config)
    check(known and template, "hotrestartConfig.cmake.in: the known components and the message")
    if not (known and template):
        return
    want = template.group(1).replace("${_hr_c}", "nonesuch").replace(
        "${_hotrestart_known}", ";".join(known.group(1).split()))
    with tempfile.TemporaryDirectory() as work:
        cfg = os.path.join(work, "config")
        fake_cmakedeps_config(cfg, recipe)
        rc, out = run_find_package(cmake, cfg, os.path.join(work, "a"),
                                   "REQUIRED COMPONENTS mmap nonesuch")
        check(rc != 0 and want in out,
              tag + f"find_package(hotrestart REQUIRED COMPONENTS mmap nonesuch) fails under "
              f"CMakeDeps with the package's own message \"{want}\" (rc {rc}): {out[-300:]}")
        rc, out = run_find_package(cmake, cfg, os.path.join(work, "b"), "REQUIRED COMPONENTS mmap")
        check(rc == 0 and "found=1 mmap=TRUE" in out,
              tag + f"find_package(hotrestart REQUIRED COMPONENTS mmap) passes (rc {rc}): {out[-300:]}")
        rc, out = run_find_package(cmake, cfg, os.path.join(work, "c"),
                                   "REQUIRED COMPONENTS mmap OPTIONAL_COMPONENTS nonesuch")
        check(rc == 0 and "mmap=TRUE nonesuch=FALSE" in out,
              tag + f"an unknown OPTIONAL_COMPONENTS name is only not found (rc {rc}): {out[-300:]}")
        rc, out = run_find_package(cmake, cfg, os.path.join(work, "d"), "REQUIRED COMPONENTS hrctl")
        check(rc != 0 and "component 'hrctl' was not installed" in out,
              tag + f"hrctl (not in the Conan package) is refused as not installed (rc {rc}): {out[-300:]}")


def check_readme_command(root):
    """Every `conan create` command line in the docs and CI names a C++20 profile setting: a
    default gcc 12 profile says gnu17, which the recipe's validate() refuses."""
    places = ["README.md"] + [os.path.join("docs", d) for d in sorted(os.listdir(
        os.path.join(root, "docs"))) if d.endswith(".md")]
    jobs = os.path.join(root, ".ci", "jobs")
    if os.path.isdir(jobs):
        places += [os.path.join(".ci", "jobs", j) for j in sorted(os.listdir(jobs))]
    found = 0
    for rel in places:
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            text = f.read()
        for line in re.findall(r"conan create conan/[^\n`]*", text):
            found += 1
            check("-s compiler.cppstd=20" in line,
                  f"{rel}: `{line.strip()}` lacks -s compiler.cppstd=20 (a default gcc profile is gnu17)")
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    check("conan create conan/ -s compiler.cppstd=20 --build=missing" in readme,
          "README.md gives `conan create conan/ -s compiler.cppstd=20 --build=missing`")
    check(found > 0, "the docs name a conan create command")


def check_test_package(root):
    """The test package: outputs outside conan/test_package (what `conan create` left untracked
    there: build/ and CMakeUserPresets.json), a C program on hotrestart::chorus that expects
    K_ENOTSUPERVISED, and the shm check."""
    tp_dir = os.path.join(root, "conan", "test_package")
    tp = import_recipe(os.path.join(tp_dir, "conanfile.py"), "hr_tp")
    cls_tp = tp.HotrestartTestConan
    gens = set(getattr(cls_tp, "generators", ()))
    check(hasattr(cls_tp, "generate") or gens >= {"CMakeDeps", "CMakeToolchain"},
          "test_package generates CMakeDeps and CMakeToolchain files")
    conf_folder = os.path.join(tempfile.gettempdir(), "hr-conf")
    for conf in ({}, {"tools.cmake.cmake_layout:test_folder": conf_folder}):
        t = cls_tp(tp_dir)
        t.tested_reference_str = "hotrestart/0.1.0"
        t.conf = Conf(conf)
        before = set(os.listdir(tempfile.gettempdir()))
        t.layout()
        made = set(os.listdir(tempfile.gettempdir())) - before
        build = os.path.normpath(os.path.join(tp_dir, t.folders.build or "."))
        gen = os.path.normpath(os.path.join(tp_dir, t.folders.generators or "."))
        for what, folder in (("build", build), ("generators", gen)):
            check(os.path.relpath(folder, tp_dir).startswith(os.pardir),
                  f"test_package {what} folder {folder} is outside conan/test_package (conf {conf})")
        if conf:
            check(build.startswith(conf_folder), "test_package honours cmake_layout:test_folder")
        for m in made:
            shutil.rmtree(os.path.join(tempfile.gettempdir(), m), ignore_errors=True)
        if hasattr(t, "generate"):
            opts = Options(shm=False, shared=False)
            t.dependencies = {"hotrestart": types.SimpleNamespace(options=opts)}
            t.generate()
            presets = [tc.user_presets_path for tc in t.toolchains]
        else:
            presets = ["CMakeUserPresets.json"] if "CMakeToolchain" in gens else []
        check(presets and not any(presets),
              f"test_package writes no CMakeUserPresets.json into conan/test_package ({presets})")
    with open(os.path.join(tp_dir, "CMakeLists.txt"), encoding="utf-8") as f:
        tp_cmake = f.read()
    check("find_package(hotrestart CONFIG REQUIRED)" in tp_cmake, "test_package find_package")
    check("HOTRESTART_SECTION_LINKER_FRAGMENT" in tp_cmake,
          "test_package checks the build module's variables")
    check(re.search(r"project\([^)]*LANGUAGES C CXX", tp_cmake) is not None, "test_package enables C")
    check(re.search(r"add_executable\(test_package_c test_package\.c\)", tp_cmake) and
          re.search(r"target_link_libraries\(test_package_c PRIVATE hotrestart::chorus\)", tp_cmake),
          "test_package builds a C program linked with hotrestart::chorus")
    c_path = os.path.join(tp_dir, "test_package.c")
    check(os.path.isfile(c_path), "test_package.c exists")
    if os.path.isfile(c_path):
        with open(c_path, encoding="utf-8") as f:
            c_text = f.read()
        check("#include <pmm/chPmm.h>" in c_text and "K_ENOTSUPERVISED" in c_text,
              "test_package.c includes pmm/chPmm.h and expects K_ENOTSUPERVISED outside hrctl")
    with open(os.path.join(tp_dir, "conanfile.py"), encoding="utf-8") as f:
        tp_text = f.read()
    check("test_package_c" in tp_text, "test_package runs the C program")


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), os.pardir, os.pardir))
    install_stub()
    module = import_recipe(os.path.join(root, "conan", "conanfile.py"), "hotrestart_recipe")
    version, cmake_components, config = cmake_package(root)
    cls = module.HotrestartConan
    with open(os.path.join(root, "CMakeLists.txt"), encoding="utf-8") as f:
        top = f.read()

    check(cls.name == "hotrestart", "recipe name is hotrestart")
    check(cls.package_type == "library",
          "package_type is library (the ChorusOS library is compiled), not header-library")
    for attr in ("url", "homepage"):
        value = getattr(cls, attr, None) or ""
        check(re.fullmatch(r"https://\S+", value) is not None, f"the recipe's {attr} is set: {value!r}")
    check(cls.license == "MIT", "license is MIT (as LICENSE)")
    check(os.path.isfile(os.path.join(root, "LICENSE")), "LICENSE exists")
    check("shm" in cls.options and cls.default_options.get("shm") is False,
          "option shm, off by default")
    check(cls.options.get("shared") == [True, False] and cls.options.get("fPIC") == [True, False],
          "options shared and fPIC (a library's usual)")
    check(cls.default_options.get("shared") is False and cls.default_options.get("fPIC") is True,
          "static and position-independent by default")
    check(set(cls.settings) == {"os", "arch", "compiler", "build_type"},
          "settings os, arch, compiler, build_type")
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
    # shm.hpp comes only with the shm option: the package is what the CMake install puts there,
    # and the install rules install a component's headers only when its target exists (the shm
    # target only when Boost is found, which the recipe forbids without the option).
    with open(os.path.join(root, "cmake", "install.cmake"), encoding="utf-8") as f:
        install = f.read()
    check(re.search(r"if\(NOT TARGET \$\{hr_target\}\)\s*continue\(\)", install) is not None,
          "cmake/install.cmake skips the components whose target does not exist")
    with open(os.path.join(root, "backends", "shm", "CMakeLists.txt"), encoding="utf-8") as f:
        shm_cmake = f.read()
    check(re.search(r"if\(NOT Boost_FOUND\).*?return\(\).*?add_library\(hotrestart_shm", shm_cmake,
                    re.S) is not None,
          "backends/shm defines hotrestart_shm only when Boost is found")

    matrix = [(shm, shared, "Linux") for shm in (False, True) for shared in (False, True)]
    matrix.append((False, False, "Macos"))
    for shm, shared, os_name in matrix:
        with tempfile.TemporaryDirectory() as tmp:
            r = run_recipe(root, module, tmp, shm, shared, os_name)
            tag = f"[shm={shm} shared={shared} os={os_name}] "
            check_recipe_run(root, r, tag, version, cmake_components, config, top,
                             tl_ref, boost_ref, shm, shared, os_name)
            if (shm, shared, os_name) == (False, False, "Linux"):
                check_build_module(root, r, config, tag)
    check("find_package(Boost 1.74" in config, "the CMake config also asks Boost for >= 1.74")
    check('if(_hr_c STREQUAL "chorus")' in config and "list(APPEND _hotrestart_load mmap posix)"
          in config, "the CMake config pulls posix in for chorus")

    # A profile without compiler.cppstd is not refused (the CMake targets ask for C++20).
    r = module.HotrestartConan(os.path.join(root, "conan"))
    r.options = Options(shm=False, shared=False, fPIC=True)
    del r.settings["compiler.cppstd"]
    r.validate()
    check(r.min_cppstd is None, "validate does not check a standard the profile does not set")

    check_readme_command(root)
    check_test_package(root)
    with open(os.path.join(root, "conan", "hotrestart-vars.cmake"), encoding="utf-8") as f:
        vars_module = f.read()
    for var in ("HOTRESTART_INCLUDE_DIR", "HOTRESTART_SECTION_LD_DIR", "HOTRESTART_SECTION_LINKER_FRAGMENT"):
        check(f"set({var}" in vars_module and var in config,
              f"{var}: set by the build module as by hotrestartConfig")

    if failures:
        print(f"conan recipe check: {len(failures)} failure(s)")
        return 1
    print("conan recipe check: recipe agrees with the CMake package (shm, shared, Linux and not)")
    return 0


def check_recipe_run(root, r, tag, version, cmake_components, config, top, tl_ref, boost_ref,
                     shm, shared, os_name):
    check(r.version == version, tag + f"version {r.version} is the CMake project's {version}")
    check(r.layout_calls == [("cmake_layout", ".")], tag + "layout: cmake_layout, sources at the root")
    check(r.min_cppstd == 20, tag + "validate: C++20 at least")
    check(not r.info.cleared, tag + "package_id not cleared (a compiled library: settings and options count)")
    want = [tl_ref] + ([boost_ref] if shm else [])
    check(r.required == want, tag + f"requirements {r.required} == {want}")
    check("fPIC" not in r.options if shared else r.options.get("fPIC") is True,
          tag + "fPIC removed for a shared library, kept for a static one")
    # The CMake build: what generate() gives CMakeToolchain, and configure/build/install run.
    tcs = r.toolchains
    check(len(tcs) == 1, tag + "generate() writes one CMakeToolchain")
    cv = tcs[0].cache_variables if tcs else {}
    for v in ("HOTRESTART_BUILD_TOOLS", "HOTRESTART_BUILD_TESTS", "HOTRESTART_BUILD_EXAMPLES",
              "HOTRESTART_BUILD_BENCHMARKS"):
        check(cv.get(v) is False, tag + f"{v} off")
    check(cv.get("HOTRESTART_INSTALL") is True, tag + "HOTRESTART_INSTALL on")
    check(cv.get("HOTRESTART_CHORUS_SHARED") is shared and cv.get("HOTRESTART_CHORUS_STATIC") is (not shared),
          tag + "HOTRESTART_CHORUS_SHARED/STATIC follow the shared option")
    check(cv.get("HOTRESTART_BUILD_CHORUS", True) is (os_name == "Linux"),
          tag + "the ChorusOS library built on Linux only")
    check(bool(cv.get("CMAKE_DISABLE_FIND_PACKAGE_Boost")) is (not shm),
          tag + "without shm, CMake must not find Boost (no hotrestart::shm, no shm.hpp packaged)")
    for v in cv:
        if v.startswith("HOTRESTART_"):
            check(re.search(r"option\(%s " % v, top) is not None,
                  tag + f"{v} is an option of CMakeLists.txt")
    check([c for c, _ in r.cmake_calls] == ["configure", "build", "install"],
          tag + f"CMake configure, build (build()) and install (package()): {r.cmake_calls}")
    packaged = [(os.path.relpath(src, root), m) for _, src, _, m in r.copies]
    exported = {p for p, _, _, _ in r.copies}
    check("LICENSE" in exported, tag + "exports the LICENSE")
    for pattern, src, dst, matched in r.copies:
        check(matched, tag + f"copy({pattern!r}) from {os.path.relpath(src, root)} matches files")
    # shm.hpp: no copy of the shm headers beside the CMake install (which has them with shm only).
    check(not any(s.startswith(os.path.join("backends", "shm")) for s, _ in packaged),
          tag + "package() copies no shm header itself (shm.hpp only through the install, with shm)")
    pkg = r.package_folder
    check(not os.path.exists(os.path.join(pkg, "include", "hotrestart", "backends", "shm.hpp")),
          tag + "shm.hpp not copied into the package by the recipe")
    for d in (("lib", "cmake"), ("lib", "pkgconfig")):
        check(os.path.join(pkg, *d) in r.removed,
              tag + f"the project's own {'/'.join(d)} files removed (Conan's generators describe it)")

    info = r.cpp_info
    check(info.properties.get("cmake_file_name") == "hotrestart", tag + "cmake_file_name")
    check(info.properties.get("cmake_target_name") == "hotrestart::hotrestart",
          tag + "the root (aggregate) target is hotrestart::hotrestart, as the CMake package's")
    modules = info.properties.get("cmake_build_modules") or []
    for m in modules:
        check(os.path.isfile(os.path.join(pkg, m)), tag + f"build module {m} is in the package")
    check(any(m.endswith("hotrestart-vars.cmake") for m in modules),
          tag + "the build module sets HOTRESTART_SECTION_LD_DIR and friends")
    check(info.properties.get("cmake_find_mode", "config") == "config",
          tag + "config mode (a module-mode Find file sets hotrestart_FOUND after the build modules)")
    comps = info.components
    # Every CMake component (but the hrctl program) is a Conan component of the same name, with
    # the same target; shm only with the option, chorus only on Linux. No target or .pc name
    # twice, none that the CMake package lacks.
    expected = [c for c in cmake_components if c != "hrctl" and (shm or c != "shm")
                and (os_name == "Linux" or c != "chorus")]
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
        if c != "chorus":
            check(comps[c].libdirs == [] and comps[c].bindirs == [] and not comps[c].libs,
                  tag + f"{c}: header-only, no lib/bin dirs")
    # Dependencies between components as the CMake config resolves them.
    check(comps["posix"].requires == ["mmap"], tag + "posix -> mmap (as hotrestartConfig)")
    check(("pthread" in comps["mmap"].system_libs) is (os_name in ("Linux", "FreeBSD")),
          tag + "mmap needs pthread on Linux (CMake: Threads)")
    check(comps["section"].resdirs == [os.path.join("share", "hotrestart", "ld")],
          tag + "section's linker fragment folder is share/hotrestart/ld (as CMake)")
    if os_name == "Linux":
        ch = comps["chorus"]
        check(ch.requires == ["posix"], tag + "chorus -> posix (as hotrestartConfig)")
        check(ch.libs == ["hotrestart_chorus"] and ch.libdirs == ["lib"],
              tag + "chorus: the library hotrestart_chorus in lib/")
        check(os.path.join("include", "hotrestart", "chorus-compat") in ch.includedirs,
              tag + "chorus: include/hotrestart/chorus-compat on the include path (#include <pmm/chPmm.h>)")
        check("pthread" in ch.system_libs, tag + "chorus needs pthread")
        # A C program links the static library with the C driver: the C++ runtime is named.
        check(("stdc++" in ch.system_libs) is (not shared),
              tag + "the static chorus library names the C++ runtime (C programs link with gcc)")
    if shm:
        check(set(comps["shm"].requires) == {"mmap", "boost::headers"},
              tag + "shm -> mmap + boost::headers (CMake: Boost::headers)")


if __name__ == "__main__":
    sys.exit(main())
