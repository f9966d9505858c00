# SPDX-License-Identifier: MIT
# conan create conan/ runs this: a C++ program that creates, reopens and frees a block and, on
# Linux, a C program linked through hotrestart::chorus (outside hrctl its call must answer
# K_ENOTSUPERVISED).
import os
import shutil
import tempfile

from conan import ConanFile
from conan.tools.build import can_run
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout

# The folder of the build outputs when the profile does not choose one.
_TMP_PREFIX = "hotrestart-test_package-"


class HotrestartTestConan(ConanFile):
    settings = "os", "arch", "compiler", "build_type"
    test_type = "explicit"

    def requirements(self):
        self.requires(self.tested_reference_str)

    def layout(self):
        # Outputs outside the sources: by default cmake_layout builds in test_package/build/
        # and CMakeToolchain writes test_package/CMakeUserPresets.json, files that `conan create`
        # left untracked in the repository. The profile's tools.cmake.cmake_layout:test_folder
        # wins (Conan 2.2+); otherwise a fresh temporary folder, as its `$TMP` value would give.
        build_folder = self.conf.get("tools.cmake.cmake_layout:test_folder")
        if not build_folder:
            build_folder = tempfile.mkdtemp(prefix=_TMP_PREFIX)
        cmake_layout(self, build_folder=build_folder)

    def generate(self):
        tc = CMakeToolchain(self)
        tc.user_presets_path = False  # no CMakeUserPresets.json next to CMakeLists.txt
        hotrestart = self.dependencies["hotrestart"]
        tc.cache_variables["HR_WITH_SHM"] = bool(hotrestart.options.shm)
        tc.cache_variables["HR_WITH_CHORUS"] = self.settings.get_safe("os") == "Linux"
        tc.generate()
        CMakeDeps(self).generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def test(self):
        if not can_run(self):
            return
        bindir = self.cpp.build.bindir
        exe = os.path.join(bindir, "test_package")
        bank = os.path.join(bindir, "test_package.bank")
        self.run(f'"{exe}" "{bank}"', env="conanrun")
        if self.settings.get_safe("os") == "Linux":
            # The C program prints the call's answer and returns 0 when it is K_ENOTSUPERVISED.
            self.run(f'"{os.path.join(bindir, "test_package_c")}"', env="conanrun")
        # The temporary folder this recipe made (not one the profile named) goes once it passed.
        top = os.path.dirname(self.build_folder.rstrip(os.sep))
        if os.path.basename(top).startswith(_TMP_PREFIX) and \
                os.path.dirname(top) == tempfile.gettempdir():
            shutil.rmtree(top, ignore_errors=True)
