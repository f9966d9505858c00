# SPDX-License-Identifier: MIT
# Conan 2 recipe for hotrestart: the header-only library and, on Linux, the compiled ChorusOS API
# library (hotrestart_chorus, shared or static after the `shared` option):
#
#   conan create conan/ -s compiler.cppstd=20 --build=missing                 # no shm
#   conan create conan/ -s compiler.cppstd=20 --build=missing -o "hotrestart/*:shm=True"
#
# (`-s compiler.cppstd=20`: a default gcc profile says gnu17, which validate() refuses.)
#
# Consumers use the same CMake names as with the project's own package:
# find_package(hotrestart CONFIG REQUIRED [COMPONENTS ...]) and the targets hotrestart::hotrestart,
# hotrestart::mmap, hotrestart::section, hotrestart::baremetal, hotrestart::posix,
# hotrestart::chorus (Linux) and, with the shm option, hotrestart::shm; the variables
# HOTRESTART_INCLUDE_DIR, HOTRESTART_SECTION_LD_DIR and HOTRESTART_SECTION_LINKER_FRAGMENT; an unknown COMPONENTS name is refused with the package's
# own message (both from the build modules in conan/*.cmake). Differences: hotrestart::hotrestart
# is CMakeDeps' aggregate of every component, where the project's package makes it the core alone
# (code written for either builds with both); hotrestart::chorus is the one library the `shared`
# option chose (no hotrestart::chorus_static); hrctl and bankdump are not packaged (build them
# from the sources with CMake).
import os
import re

from conan import ConanFile
from conan.tools.build import check_min_cppstd, stdcpp_library
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load, rmdir

required_conan_version = ">=2.0"


class HotrestartConan(ConanFile):
    name = "hotrestart"
    description = ("Persistent memory banks and a hot restart controller (ChorusOS-style) "
                   "for C++20")
    license = "MIT"
    url = "https://github.com/hotrestart/hotrestart"
    homepage = "https://github.com/hotrestart/hotrestart"
    topics = ("persistent-memory", "hot-restart", "crash-recovery", "chorusos")
    package_type = "library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"shared": [True, False], "fPIC": [True, False], "shm": [True, False]}
    default_options = {"shared": False, "fPIC": True, "shm": False, "boost/*:header_only": True}
    # pins.txt: the pinned ConanCenter references (tl-expected, boost), kept in that file only.
    exports = "pins.txt"
    # The build modules that CMakeDeps includes after find_package(hotrestart) (package_info).
    _build_modules = ("hotrestart-components.cmake", "hotrestart-vars.cmake")

    # The recipe lives in conan/; the sources are the repository around it.
    @property
    def _repo_root(self):
        return os.path.join(self.recipe_folder, os.pardir)

    @property
    def _with_chorus(self):
        # The ChorusOS library sits on the POSIX runtime (pidfd, memfd, signalfd): Linux only,
        # as CMakeLists.txt builds it.
        return self.settings.get_safe("os") == "Linux"

    def _pin(self, name):
        text = load(self, os.path.join(self.recipe_folder, "pins.txt"))
        for line in text.splitlines():
            ref = line.split("#", 1)[0].strip()
            if ref.startswith(name + "/"):
                return ref
        raise ValueError(f"conan/pins.txt pins no version of {name}")

    def set_version(self):
        if self.version:
            return
        cmakelists = load(self, os.path.join(self._repo_root, "CMakeLists.txt"))
        found = re.search(r"project\(\s*hotrestart\s+VERSION\s+([0-9][0-9.]*)", cmakelists)
        self.version = found.group(1)

    def export_sources(self):
        # What a build with tools, tests, examples and benchmarks off reads.
        root = self._repo_root
        for pattern in ("LICENSE", "CMakeLists.txt", "cmake/*", "include/*", "backends/*",
                        "runtime/*"):
            copy(self, pattern, src=root, dst=self.export_sources_folder)
        for module in self._build_modules:
            copy(self, module, src=os.path.join(root, "conan"),
                 dst=os.path.join(self.export_sources_folder, "conan"))

    def config_options(self):
        if self.settings.os == "Windows":
            del self.options.fPIC

    def configure(self):
        if self.options.shared:
            self.options.rm_safe("fPIC")

    def layout(self):
        cmake_layout(self, src_folder=".")

    def requirements(self):
        # transitive_headers: the public headers include tl/expected.hpp and boost/interprocess.
        self.requires(self._pin("tl-expected"), transitive_headers=True)
        if self.options.shm:
            self.requires(self._pin("boost"), transitive_headers=True)

    def validate(self):
        # Only when the profile sets a standard: a profile without compiler.cppstd (a
        # compiler defaulting to C++17) still works, since the CMake targets ask for C++20.
        if self.settings.get_safe("compiler.cppstd"):
            check_min_cppstd(self, 20)

    def generate(self):
        tc = CMakeToolchain(self)
        tc.cache_variables["HOTRESTART_BUILD_TOOLS"] = False
        tc.cache_variables["HOTRESTART_BUILD_TESTS"] = False
        tc.cache_variables["HOTRESTART_BUILD_EXAMPLES"] = False
        tc.cache_variables["HOTRESTART_BUILD_BENCHMARKS"] = False
        tc.cache_variables["HOTRESTART_FIRMWARE_TESTS"] = False
        tc.cache_variables["HOTRESTART_INSTALL"] = True
        tc.cache_variables["HOTRESTART_BUILD_CHORUS"] = self._with_chorus
        # One library, the kind the `shared` option asks for (the package id depends on it).
        tc.cache_variables["HOTRESTART_CHORUS_SHARED"] = bool(self.options.shared)
        tc.cache_variables["HOTRESTART_CHORUS_STATIC"] = not self.options.shared
        # Without the shm option a Boost on the build machine must not add hotrestart::shm and
        # shm.hpp to the package (the package id would not say so).
        if not self.options.shm:
            tc.cache_variables["CMAKE_DISABLE_FIND_PACKAGE_Boost"] = True
        tc.generate()
        CMakeDeps(self).generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        cmake = CMake(self)
        cmake.install()
        copy(self, "LICENSE", src=self.source_folder,
             dst=os.path.join(self.package_folder, "licenses"))
        # Conan's generators describe the package: not the project's own CMake and pkg-config
        # files (nor, from an older layout, their share/ folders), nor its doc folder.
        for folder in (("lib", "cmake"), ("lib", "pkgconfig"), ("share", "cmake"),
                       ("share", "pkgconfig"), ("share", "doc"), ("lib", "systemd"),
                       ("lib", "ocf")):
            rmdir(self, os.path.join(self.package_folder, *folder))
        for module in self._build_modules:
            copy(self, module, src=os.path.join(self.source_folder, "conan"),
                 dst=os.path.join(self.package_folder, "share", "hotrestart", "cmake"))

    def package_info(self):
        info = self.cpp_info
        info.set_property("cmake_file_name", "hotrestart")
        # The root is CMakeDeps' aggregate of the components: hotrestart::hotrestart, and
        # hotrestart.pc for PkgConfigDeps (the names of the project's own package).
        info.set_property("cmake_target_name", "hotrestart::hotrestart")
        info.set_property("pkg_config_name", "hotrestart")
        # Config mode only: the generated config leaves hotrestart_FOUND to the build modules
        # (a module-mode Find file would set it back to true after them).
        info.set_property("cmake_find_mode", "config")
        info.set_property("cmake_build_modules",
                          [os.path.join("share", "hotrestart", "cmake", m)
                           for m in self._build_modules])
        info.bindirs = []
        info.libdirs = []

        def component(name, requires):
            c = info.components[name]
            c.set_property("cmake_target_name", f"hotrestart::{name}")
            c.set_property("pkg_config_name", f"hotrestart-{name}")
            c.includedirs = ["include"]
            c.bindirs = []
            c.libdirs = []
            c.requires = requires
            return c

        # The core has no component of its own (its target name is the aggregate's): every
        # component carries the core's headers and its tl-expected requirement.
        core = ["tl-expected::tl-expected"]
        threads = ["pthread"] if self.settings.get_safe("os") in ("Linux", "FreeBSD") else []
        mmap = component("mmap", core)
        mmap.system_libs = list(threads)
        section = component("section", core)
        # The linker fragment (INCLUDE hotrestart_bank.ld): its folder is on the link path.
        section.resdirs = [os.path.join("share", "hotrestart", "ld")]
        ld_flag = "-L" + os.path.join(self.package_folder, "share", "hotrestart", "ld")
        section.exelinkflags = [ld_flag]
        section.sharedlinkflags = [ld_flag]
        # The bare-metal runtime: headers, and its linker fragment beside the section's.
        component("baremetal", ["section"])
        component("posix", ["mmap"])
        if self._with_chorus:
            chorus = component("chorus", ["posix"])
            # C programs write #include <pmm/chPmm.h>: the ChorusOS folder is this target's only.
            chorus.includedirs = ["include", os.path.join("include", "hotrestart", "chorus-compat")]
            chorus.libdirs = ["lib"]
            chorus.libs = ["hotrestart_chorus"]
            chorus.system_libs = list(threads)
            if not self.options.shared:
                # A C program links with the C driver: the static library's C++ runtime must be
                # named (the shared library records it itself).
                libcxx = stdcpp_library(self)
                if libcxx:
                    chorus.system_libs.append(libcxx)
                chorus.system_libs.append("m")
        if self.options.shm:
            component("shm", ["mmap", "boost::headers"])
