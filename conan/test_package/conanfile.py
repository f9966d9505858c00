# SPDX-License-Identifier: MIT
# conan create conan/ runs this: a program that creates, reopens and frees a block.
import os

from conan import ConanFile
from conan.tools.build import can_run
from conan.tools.cmake import CMake, cmake_layout


class HotrestartTestConan(ConanFile):
    settings = "os", "arch", "compiler", "build_type"
    generators = "CMakeDeps", "CMakeToolchain"
    test_type = "explicit"

    def requirements(self):
        self.requires(self.tested_reference_str)

    def layout(self):
        cmake_layout(self)

    def build(self):
        cmake = CMake(self)
        cmake.configure(variables={"HR_WITH_SHM": "ON" if self.dependencies["hotrestart"].options.shm else "OFF"})
        cmake.build()

    def test(self):
        if can_run(self):
            exe = os.path.join(self.cpp.build.bindir, "test_package")
            bank = os.path.join(self.cpp.build.bindir, "test_package.bank")
            self.run(f'"{exe}" "{bank}"', env="conanrun")
