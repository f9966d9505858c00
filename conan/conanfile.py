# SPDX-License-Identifier: MIT
# Conan 2 recipe for hotrestart, a header-only library:
#
#   conan create conan/ --build=missing                 # core, mmap, section, posix, chorus
#   conan create conan/ --build=missing -o "hotrestart/*:shm=True"   # + shm (Boost)
#
# Consumers use the same CMake names as with the project's own package:
# find_package(hotrestart CONFIG REQUIRED) and the targets hotrestart::hotrestart, hotrestart::mmap,
# hotrestart::section, hotrestart::posix, hotrestart::chorus and, with the shm option,
# hotrestart::shm, and the variables HOTRESTART_INCLUDE_DIR, HOTRESTART_SECTION_LD_DIR and
# HOTRESTART_SECTION_LINKER_FRAGMENT. One difference: here hotrestart::hotrestart is CMakeDeps'
# aggregate of every component (the core's headers and tl-expected, plus what the components
# need), where the project's package makes it the core alone; code written for either builds
# with both. The package holds every header, shm.hpp included: the shm option only adds the
# Boost requirement and the hotrestart::shm component (so the package id may ignore it). The
# hrctl program is not part of this package (a header-library package has no binaries): build it
# from the sources with CMake.
import os
import re

from conan import ConanFile
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy, load
from conan.tools.layout import basic_layout

required_conan_version = ">=2.0"


class HotrestartConan(ConanFile):
    name = "hotrestart"
    description = ("Persistent memory banks and a hot restart controller (ChorusOS-style) "
                   "for C++20")
    license = "MIT"
    topics = ("persistent-memory", "hot-restart", "crash-recovery", "header-only", "chorusos")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"shm": [True, False]}
    default_options = {"shm": False, "boost/*:header_only": True}
    no_copy_source = True
    # pins.txt: the pinned ConanCenter references (tl-expected, boost), kept in that file only.
    exports = "pins.txt"

    # The recipe lives in conan/; the sources are the repository around it.
    @property
    def _repo_root(self):
        return os.path.join(self.recipe_folder, os.pardir)

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
        root = self._repo_root
        for pattern in ("LICENSE", "include/*", "backends/*/include/*", "backends/section/ld/*",
                        "runtime/posix/include/*", "runtime/chorus/include/*", "conan/hotrestart-vars.cmake"):
            copy(self, pattern, src=root, dst=self.export_sources_folder)

    def layout(self):
        basic_layout(self, src_folder=".")

    def requirements(self):
        self.requires(self._pin("tl-expected"))
        if self.options.shm:
            self.requires(self._pin("boost"))

    def package_id(self):
        # The packaged files are the same for every setting and option value (header-only,
        # shm.hpp always packaged): one package id.
        self.info.clear()

    def validate(self):
        # Only when the profile sets a standard: a profile without compiler.cppstd (a
        # compiler defaulting to C++17) still works, since the CMake targets ask for C++20.
        if self.settings.get_safe("compiler.cppstd"):
            check_min_cppstd(self, 20)

    def source(self):
        pass  # the sources come with the recipe (export_sources)

    def build(self):
        pass  # header-only

    def package(self):
        src = self.source_folder
        inc = os.path.join(self.package_folder, "include")
        copy(self, "LICENSE", src=src, dst=os.path.join(self.package_folder, "licenses"))
        copy(self, "*.hpp", src=os.path.join(src, "include"), dst=inc)
        copy(self, "*.hpp", src=os.path.join(src, "backends", "mmap", "include"), dst=inc)
        copy(self, "*.hpp", src=os.path.join(src, "backends", "section", "include"), dst=inc)
        copy(self, "*.hpp", src=os.path.join(src, "backends", "shm", "include"), dst=inc)
        copy(self, "*.hpp", src=os.path.join(src, "runtime", "posix", "include"), dst=inc)
        copy(self, "*", src=os.path.join(src, "runtime", "chorus", "include"), dst=inc)
        copy(self, "hotrestart_bank.ld", src=os.path.join(src, "backends", "section", "ld"),
             dst=os.path.join(self.package_folder, "share", "hotrestart", "ld"))
        copy(self, "hotrestart-vars.cmake", src=os.path.join(src, "conan"),
             dst=os.path.join(self.package_folder, "share", "hotrestart", "cmake"))

    def package_info(self):
        info = self.cpp_info
        info.set_property("cmake_file_name", "hotrestart")
        # The root is CMakeDeps' aggregate of the components: hotrestart::hotrestart, and
        # hotrestart.pc for PkgConfigDeps (the names of the project's own package).
        info.set_property("cmake_target_name", "hotrestart::hotrestart")
        info.set_property("pkg_config_name", "hotrestart")
        info.set_property("cmake_build_modules",
                          [os.path.join("share", "hotrestart", "cmake", "hotrestart-vars.cmake")])
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
        mmap = component("mmap", core)
        if self.settings.get_safe("os") in ("Linux", "FreeBSD"):
            mmap.system_libs = ["pthread"]
        section = component("section", core)
        # The linker fragment (INCLUDE hotrestart_bank.ld): its folder is on the link path.
        section.resdirs = [os.path.join("share", "hotrestart", "ld")]
        ld_flag = "-L" + os.path.join(self.package_folder, "share", "hotrestart", "ld")
        section.exelinkflags = [ld_flag]
        section.sharedlinkflags = [ld_flag]
        component("posix", ["mmap"])
        component("chorus", ["posix"])
        if self.options.shm:
            component("shm", ["mmap", "boost::headers"])
