#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stand-in for qemu-system-arm that dies at a chosen moment, to test run_firmware.py itself.

A real QEMU that aborts (a firmware lockup: "qemu: fatal: Lockup", SIGABRT) can do so at any
point of the harness's talk with its monitor socket. Which point depends on timing, so a real
firmware hits each one only now and then. This program takes QEMU's command line as
run_firmware.py writes it and reaches each point every time; the machine (-M) names the point:

  die-before-monitor   abort before the monitor socket exists (connect keeps failing)
  die-before-greeting  listen, abort once the harness's connection waits in the backlog,
                       unaccepted (its greeting read gets ECONNRESET)
  die-midcommand       accept, send the greeting and prompt, abort once the harness's
                       command has arrived unread (its reply read gets ECONNRESET)

With semihosting (a console run held for a dump), before each command it waits for, it prints
"[boot N] holding for a memory dump" as the firmware does; then two more machines:

  die-at-reset         die-midcommand, the command being the harness's system_reset
  die-at-pmemsave      answer the system_reset, then die at the pmemsave that follows

Each prints "qemu: fatal: Lockup: ..." on stderr first, as QEMU does, then aborts (exit code
-6 for the harness). --write-inputs ELF SEQUENCE writes a minimal ELF with a NOBITS
.hotrestart_bank section in a load segment without file bytes, which the harness's ELF check
accepts (so these tests need no cross toolchain), and the expected console lines.
"""
import os
import resource
import select
import socket
import struct
import sys

# How long to wait for the harness before giving up (it kills us long before, if it works).
PATIENCE = 60.0


def write_elf(path):
    """A 32-bit little-endian Arm ELF: one PT_LOAD of 256 bytes at 0x20000000, no file bytes,
    and section headers: null, .hotrestart_bank (NOBITS) and .shstrtab."""
    names = b"\0.hotrestart_bank\0.shstrtab\0"
    ehsize, phentsize, shentsize = 52, 32, 40
    names_off = ehsize + phentsize
    shoff = (names_off + len(names) + 3) & ~3
    addr, size = 0x20000000, 256
    header = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)
    header += struct.pack("<HHIIIIIHHHHHH", 2, 40, 1, 0, ehsize, shoff, 0x05000000, ehsize,
                          phentsize, 1, shentsize, 3, 2)
    segment = struct.pack("<IIIIIIII", 1, 0, addr, addr, 0, size, 6, 4)  # PT_LOAD, RW
    sections = bytes(shentsize)
    sections += struct.pack("<IIIIIIIIII", 1, 8, 3, addr, shoff, size, 0, 0, 4, 0)
    sections += struct.pack("<IIIIIIIIII", names.index(b".shstrtab"), 3, 0, 0, names_off,
                            len(names), 0, 0, 1, 0)
    data = header + segment + names
    data += bytes(shoff - len(data)) + sections
    write_whole(path, data)


def write_sequence(path):
    write_whole(path, b"[boot 1] holding for a memory dump\n[boot 2] holding for a memory dump\n")


def write_whole(path, data):
    # Renamed into place: a harness of another ctest run on the same build tree may be reading
    # the previous copy.
    part = "%s.%d" % (path, os.getpid())
    with open(part, "wb") as f:
        f.write(data)
    os.replace(part, path)


def hold(boot):
    print("[boot %d] holding for a memory dump" % boot, file=sys.stderr, flush=True)


def die(mode):
    print("qemu: fatal: Lockup: fake QEMU, mode %s" % mode, file=sys.stderr, flush=True)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file in the build tree
    os.abort()


def wait_readable(sock, what):
    if not select.select([sock], [], [], PATIENCE)[0]:
        print("fake QEMU: no %s within %.0f s" % (what, PATIENCE), file=sys.stderr, flush=True)
        sys.exit(3)


def main(argv):
    if len(argv) == 4 and argv[1] == "--write-inputs":
        write_elf(argv[2])
        write_sequence(argv[3])
        return 0
    opts = {}
    i = 1
    while i < len(argv):
        if argv[i] == "-nographic":
            i += 1
            continue
        if i + 1 >= len(argv):
            print("fake QEMU: option %s has no value" % argv[i], file=sys.stderr)
            return 2
        opts[argv[i]] = argv[i + 1]
        i += 2
    mode = opts.get("-M", "")
    monitor = opts.get("-monitor", "")
    console = "-semihosting-config" in opts
    modes = ["die-before-monitor", "die-before-greeting", "die-midcommand"]
    if console:
        modes += ["die-at-reset", "die-at-pmemsave"]
    if mode not in modes:
        print("fake QEMU: unknown machine %r" % mode, file=sys.stderr)
        return 2
    if not monitor.startswith("unix:"):
        print("fake QEMU: needs -monitor unix:PATH,server=on,... (got %r)" % monitor,
              file=sys.stderr)
        return 2
    path = monitor[len("unix:"):].split(",")[0]

    if mode == "die-before-monitor":
        die(mode)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    if console:
        hold(1)
    # A pending connection makes the listening socket readable: the harness has connected.
    wait_readable(listener, "connection to the monitor")
    if mode == "die-before-greeting":
        die(mode)
    conn, _ = listener.accept()
    conn.sendall(b"QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) ")
    if mode == "die-at-pmemsave":
        command = b""
        while not command.endswith(b"\n"):
            wait_readable(conn, "system_reset")
            chunk = conn.recv(4096)
            if not chunk:
                return 3
            command += chunk
        conn.sendall(b"\r\n(qemu) ")
        hold(2)
    # Readable: the command is queued, unread; closing now resets the harness's side.
    wait_readable(conn, "monitor command")
    die(mode)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
