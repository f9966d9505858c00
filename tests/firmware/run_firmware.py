#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs the hot-restart firmware under QEMU and fails loudly if its state does not survive.

Checks, each reported by kind:
  elf       every load segment that overlaps the bank section (by virtual or physical address)
            has no file bytes (QEMU rewrites such a segment at every reset, zero-filling it)
  sequence  the firmware's lines ("[boot N] ...", PASS, FAIL) equal the expected ones, in order,
            none missing (QEMU is stopped at the first mismatch)
  exit      QEMU's exit code is 0 (the firmware's own exit through semihosting)
  timeout   the run ended in time
  dump      (--dump) after the sequence, a reset from QEMU's monitor, a pmemsave of the bank
            section, and bankdump on that image: every expected pattern matched, exit code 0

--expect-fail KINDS turns it into a negative control: it passes only if every listed kind
failed, so a harness that stops catching a fault is itself caught.
"""
import argparse
import os
import queue
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

COMPARED = re.compile(r"^(\[boot \d+\] |PASS$|FAIL)")


def elf_bank_check(path, section):
    """Returns (problems, (addr, size)) for the bank section of a 32-bit little-endian ELF."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        return ["not a 32-bit little-endian ELF file"], None
    (phoff, shoff) = struct.unpack_from("<II", data, 28)
    (phentsize, phnum, shentsize, shnum, shstrndx) = struct.unpack_from("<HHHHH", data, 42)
    sections = []
    for i in range(shnum):
        sections.append(struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize))
    strtab_off = sections[shstrndx][4]

    def name(sh):
        end = data.index(b"\0", strtab_off + sh[0])
        return data[strtab_off + sh[0]:end].decode()

    bank = [s for s in sections if name(s) == section]
    if not bank:
        return ["no section %s in the ELF" % section], None
    addr, size = bank[0][3], bank[0][5]
    problems = []
    if bank[0][1] != 8:  # SHT_NOBITS
        problems.append("section %s has file bytes (type %d, not NOBITS)" % (section, bank[0][1]))
    overlapping = 0
    for i in range(phnum):
        (ptype, off, vaddr, paddr, filesz, memsz, flags, align) = struct.unpack_from(
            "<IIIIIIII", data, phoff + i * phentsize)
        if ptype != 1:  # PT_LOAD
            continue
        for base in {vaddr, paddr}:
            if base < addr + size and addr < base + memsz:
                overlapping += 1
                if filesz != 0:
                    problems.append(
                        "load segment at 0x%08x (phys 0x%08x) holds %s and has %d file bytes: "
                        "a loader rewrites it and zero-fills the rest" % (vaddr, paddr, section, filesz))
    if overlapping == 0:
        problems.append("no load segment holds %s" % section)
    return problems, (addr, size)


class Qemu:
    def __init__(self, cmd):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.put(raw.decode(errors="replace").rstrip("\r\n"))
        self.lines.put(None)

    def next_line(self, deadline):
        try:
            return self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class Monitor:
    def __init__(self, path, deadline):
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError
                time.sleep(0.01)
        self.sock.settimeout(5)
        self._until_prompt()

    def _until_prompt(self):
        buf = b""
        while not buf.endswith(b"(qemu) "):
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf.decode(errors="replace")

    def command(self, text):
        self.sock.sendall(text.encode() + b"\n")
        return self._until_prompt()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--elf", required=True)
    ap.add_argument("--expected", required=True, help="file of the expected compared lines")
    ap.add_argument("--section", default=".hotrestart_bank")
    ap.add_argument("--no-reboot", action="store_true", help="pass -no-reboot to QEMU")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--dump", help="pmemsave the bank here after the sequence and a reset")
    ap.add_argument("--bankdump", help="bankdump program to run on the dump")
    ap.add_argument("--dump-expected", help="file of patterns bankdump's output must match")
    ap.add_argument("--expect-fail", default="", help="comma-separated kinds that must fail")
    args = ap.parse_args()

    failures = {}

    def failed(kind, text):
        failures.setdefault(kind, []).append(text)
        print("firmware test: %s: %s" % (kind, text), flush=True)

    if not os.path.isfile(args.elf):
        print("firmware test: FAILED: no firmware at %s (is the build complete?)" % args.elf)
        return 1
    problems, bank = elf_bank_check(args.elf, args.section)
    for p in problems:
        failed("elf", p)
    if bank:
        print("firmware test: bank section at 0x%08x, %d bytes" % bank)

    with open(args.expected) as f:
        expected = [l.rstrip("\n") for l in f if COMPARED.match(l)]
    tmp = tempfile.mkdtemp(prefix="hr-fw-")
    monitor_path = os.path.join(tmp, "monitor.sock")
    cmd = [args.qemu, "-M", "mps2-an385", "-nographic", "-serial", "none",
           "-semihosting-config", "enable=on,target=native,arg=firmware" +
           (",arg=hold" if args.dump else "")]
    cmd += ["-monitor", "unix:%s,server=on,wait=off" % monitor_path] if args.dump else ["-monitor", "none"]
    if args.no_reboot:
        cmd.append("-no-reboot")
    cmd += ["-kernel", args.elf]
    print("firmware test: " + " ".join(cmd), flush=True)

    start = time.monotonic()
    deadline = start + args.timeout
    qemu = Qemu(cmd)
    got = 0
    mon = None
    try:
        while True:
            line = qemu.next_line(deadline)
            if line is None:
                break
            print("  | " + line, flush=True)
            if not COMPARED.match(line):
                continue
            if got >= len(expected):
                failed("sequence", "unexpected line after the expected sequence: %r" % line)
                break
            if line != expected[got]:
                failed("sequence", "line %d: expected %r, got %r" % (got + 1, expected[got], line))
                break
            got += 1
            if args.dump and line.endswith("holding for a memory dump"):
                if mon is None:
                    mon = Monitor(monitor_path, deadline)
                    mon.command("system_reset")  # RAM kept, load segments rewritten
                    continue
                addr, size = bank
                mon.command('pmemsave 0x%x %d "%s"' % (addr, size, args.dump))
                try:
                    mon.command("quit")
                except OSError:
                    pass
                break
    except TimeoutError:
        failed("timeout", "no output for the expected sequence within %.0f s" % args.timeout)
    qemu.stop() if failures else None
    try:
        code = qemu.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        qemu.stop()
        code = None
        failed("timeout", "QEMU did not end by itself")
    if "sequence" not in failures and got < len(expected):
        failed("sequence", "output ended after %d of %d expected lines; next expected: %r"
               % (got, len(expected), expected[got]))
    if code != 0 and not failures:
        failed("exit", "QEMU exit code %s, expected 0" % code)
    print("firmware test: QEMU ended with %s after %.2f s" % (code, time.monotonic() - start))

    if args.dump and not failures:
        out = subprocess.run([args.bankdump, "--bytes", "8", args.dump], capture_output=True, text=True)
        print(out.stdout + out.stderr)
        if out.returncode != 0:
            failed("dump", "bankdump exited with %d" % out.returncode)
        with open(args.dump_expected) as f:
            for pattern in (l.rstrip("\n") for l in f):
                if pattern and not pattern.startswith("#") and not any(
                        re.search(pattern, l) for l in out.stdout.splitlines()):
                    failed("dump", "no line of bankdump's output matches %r" % pattern)

    want = {k for k in args.expect_fail.split(",") if k}
    if want:
        missing = want - failures.keys()
        if missing:
            print("firmware test: NEGATIVE CONTROL NOT DETECTED: expected failures %s, got %s"
                  % (sorted(want), sorted(failures)))
            return 1
        print("firmware test: negative control detected as expected (%s)" % ", ".join(sorted(want)))
        return 0
    if failures:
        print("firmware test: FAILED (%s)" % ", ".join(sorted(failures)))
        return 1
    print("firmware test: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
