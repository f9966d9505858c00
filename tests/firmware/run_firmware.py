#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs a hotrestart firmware under QEMU and fails loudly if its state does not survive.

Checks, each reported by kind:
  elf       every load segment that overlaps the bank section (by virtual or physical address)
            has no file bytes (QEMU rewrites such a segment at every reset, zero-filling it)
  sequence  the firmware's lines ("[boot N] ...", PASS, FAIL) equal the expected ones, in order,
            none missing (QEMU is stopped at the first mismatch). In the expected file a line
            "re:REGEX" must match whole, and a line "{VARIANT} ..." counts only with --variant
            VARIANT
  exit      QEMU's exit code is 0 (the firmware's own exit through semihosting)
  timeout   the run ended in time
  dump      (--dump) after the sequence, a reset from QEMU's monitor, a pmemsave of the bank
            section, and bankdump on that image: every expected pattern matched, exit code 0
  retained  (--dump-retained FILE, the bare-metal runtime) at the line "holding for a memory dump",
            the dump procedure docs/firmware.md gives: `stop`, `pmemsave` from the reboot record's
            start to the bank's end, `cont`; then `hrctl blocks|check --image FILE` (the record
            found at byte 0 by itself) must match --hrctl-expected, and a copy with one bit of
            the record flipped must be reported lost by `hrctl check` (exit 11)
  hrctl     (--hrctl) `hrctl blocks --image` and `hrctl check --image` on the dump: exit 0 and
            every pattern of --hrctl-expected matched; and on a copy whose controller block is
            damaged, `hrctl check` must report the controller state (exit non-zero)

--no-semihosting runs QEMU as a board without a debugger: no console, so instead the bank is
dumped (pmemsave) again and again until bankdump's output matches every --dump-expected pattern.

--expect-fail KINDS turns it into a negative control: it passes only if exactly the listed
kinds failed and every --expect-symptom REGEX matches a failure's text, a line of QEMU's output
or "QEMU exit code: N", so a harness that stops catching a fault, or a control that fails for
another reason, is itself caught.
"""
import argparse
import os
import queue
import re
import shutil
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
        (ptype, _, vaddr, paddr, filesz, memsz, _, _) = struct.unpack_from(
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


def read_expected(path, variant):
    """The compared lines: exact strings, or compiled regexes for "re:" lines."""
    out = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            tag = re.match(r"^\{(\w+)\} ", line)
            if tag:
                if tag.group(1) != variant:
                    continue
                line = line[tag.end():]
            if line.startswith("re:"):
                out.append(re.compile(line[3:]))
            elif COMPARED.match(line):
                out.append(line)
    return out


def matches(want, line):
    return want.fullmatch(line) is not None if hasattr(want, "fullmatch") else want == line


def shown(want):
    return "/%s/" % want.pattern if hasattr(want, "pattern") else repr(want)


def patterns(path):
    with open(path) as f:
        return [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]


class Qemu:
    def __init__(self, cmd):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.lines = queue.Queue()
        self.output = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def next_line(self, deadline):
        try:
            return self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError

    def drain(self, timeout=5.0):
        """Waits for the reader to take QEMU's last lines (they are the evidence of how it
        ended, "qemu: fatal: ..."). Call after the process ended: EOF follows at once."""
        self.reader.join(timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class QemuGone(Exception):
    """QEMU ended, or closed the monitor, before the monitor answered."""


# What a socket raises when QEMU dies on the other side: a send after it closed, or a read
# after it closed with our command unread (Linux resets the connection then, also one still
# waiting in its listen backlog).
PEER_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class Monitor:
    def __init__(self, path, deadline, proc):
        while True:
            # QEMU may abort before it listens (or before we try): then connect would fail
            # until the deadline, and the run would look like a timeout.
            if proc.poll() is not None:
                raise QemuGone
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise TimeoutError
                time.sleep(0.01)
        self.sock.settimeout(5)
        if self._until_prompt() is None:
            raise QemuGone

    def _until_prompt(self):
        """The text up to and with the prompt, or None if QEMU went away first."""
        buf = b""
        try:
            while not buf.endswith(b"(qemu) "):
                chunk = self.sock.recv(4096)
                if not chunk:
                    return None
                buf += chunk
        except PEER_GONE:
            return None
        return buf.decode(errors="replace")

    def command(self, text):
        """The reply, or None if QEMU went away meanwhile (it may abort at any moment)."""
        try:
            self.sock.sendall(text.encode() + b"\n")
        except PEER_GONE:
            return None
        return self._until_prompt()

    def quit(self):
        try:
            self.sock.sendall(b"quit\n")
        except OSError:
            pass


def run(cmd):
    """Runs a host tool; returns (exit code, stdout lines), printing what it said."""
    out = subprocess.run(cmd, capture_output=True, text=True)
    print("firmware test: $ " + " ".join(cmd))
    print("".join("  > " + l + "\n" for l in (out.stdout + out.stderr).splitlines()), end="")
    return out.returncode, out.stdout.splitlines()


def bankdump_lines(args, dump):
    out = subprocess.run([args.bankdump, "--bytes", "8", dump], capture_output=True, text=True)
    return out.returncode, out.stdout.splitlines(), out.stderr


def unmatched(pats, lines):
    return [p for p in pats if not any(re.search(p, l) for l in lines)]


def check_dump(args, failed):
    code, lines, err = bankdump_lines(args, args.dump)
    print("firmware test: bankdump of the dump:")
    print("".join("  > " + l + "\n" for l in lines + err.splitlines()), end="")
    if code != 0:
        failed("dump", "bankdump exited with %d" % code)
    for p in unmatched(patterns(args.dump_expected), lines):
        failed("dump", "no line of bankdump's output matches %r" % p)
    return lines


def hrctl_views(args, image, kind, failed):
    """`hrctl blocks|check --image IMAGE`: exit 0 and every --hrctl-expected pattern matched."""
    want = {"blocks": [], "check": []}
    for p in patterns(args.hrctl_expected):
        cmd, _, regex = p.partition(" ")
        want[cmd].append(regex)
    for cmd in ("blocks", "check"):
        code, lines = run([args.hrctl, cmd, "--image", image])
        if code != 0:
            failed(kind, "hrctl %s --image exited with %d" % (cmd, code))
        for p in unmatched(want[cmd], lines):
            failed(kind, "no line of hrctl %s's output matches %r" % (cmd, p))


def check_hrctl(args, dump_lines, failed):
    hrctl_views(args, args.dump, "hrctl", failed)
    # hrctl check reads the controller state: a copy with its first word damaged is refused.
    ctl = [re.search(r"offset=0x([0-9a-f]+)", l) for l in dump_lines
           if l.startswith("block __HR_controller ")]
    if not ctl or not ctl[0]:
        failed("hrctl", "bankdump shows no __HR_controller block to damage")
        return
    damaged = args.dump + ".damaged"
    shutil.copyfile(args.dump, damaged)
    with open(damaged, "r+b") as f:
        f.seek(int(ctl[0].group(1), 16))
        word = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([word[0] ^ 0xFF]))
    code, lines = run([args.hrctl, "check", "--image", damaged])
    if code == 0 or not any("controller state: bad magic" in l for l in lines):
        failed("hrctl", "hrctl check did not report the damaged controller state (exit %d)" % code)


def check_retained(args, failed):
    """hrctl on a dump of the reboot record and the bank, and on a copy with a flipped bit."""
    hrctl_views(args, args.dump_retained, "retained", failed)
    damaged = args.dump_retained + ".flipped"
    shutil.copyfile(args.dump_retained, damaged)
    with open(damaged, "r+b") as f:
        f.seek(0x0C)  # the record's crash counter
        b = f.read(1)
        f.seek(0x0C)
        f.write(bytes([b[0] ^ 0x08]))
    code, lines = run([args.hrctl, "check", "--image", damaged])
    if code != 11 or not any("reboot record: lost (CRC mismatch" in l for l in lines):
        failed("retained", "hrctl check did not report the flipped record as lost (exit %d)" % code)


def main():
    tmp = tempfile.mkdtemp(prefix="hr-fw-")
    try:
        return run_firmware(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_firmware(tmp):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--machine", default="mps2-an385")
    ap.add_argument("--elf", required=True)
    ap.add_argument("--expected", help="file of the expected compared lines")
    ap.add_argument("--variant", default="", help="selects the expected lines tagged {VARIANT}")
    ap.add_argument("--section", default=".hotrestart_bank")
    ap.add_argument("--no-reboot", action="store_true", help="pass -no-reboot to QEMU")
    ap.add_argument("--arg", action="append", default=[],
                    help="a word for the firmware's semihosting command line (repeatable)")
    ap.add_argument("--icount", action="store_true",
                    help="pass -icount shift=0: one instruction per nanosecond of virtual time, "
                         "so that timers follow the program, not the host's load")
    ap.add_argument("--no-semihosting", action="store_true",
                    help="run without semihosting (a board without a debugger); needs --dump")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--dump", help="pmemsave the bank here after the sequence and a reset")
    ap.add_argument("--bankdump", help="bankdump program to run on the dump")
    ap.add_argument("--dump-expected", help="file of patterns bankdump's output must match")
    ap.add_argument("--hrctl", help="hrctl program to run on the dump (blocks, check)")
    ap.add_argument("--dump-retained", help="at 'holding for a memory dump': stop, pmemsave the "
                    "reboot record and the bank here, cont (the documented procedure)")
    ap.add_argument("--hrctl-expected", help="lines 'blocks REGEX' / 'check REGEX' hrctl must print")
    ap.add_argument("--expect-fail", default="", help="comma-separated kinds that must fail")
    ap.add_argument("--expect-symptom", action="append", default=[],
                    help="a regex the negative control's failure must show (repeatable)")
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
    retained = None
    if args.dump_retained:
        problems, record = elf_bank_check(args.elf, ".hotrestart_record")
        for p in problems:
            failed("elf", p)
        if record and bank:
            retained = (record[0], bank[0] + bank[1] - record[0])
            print("firmware test: record and bank at 0x%08x, %d bytes" % retained)
        try:
            os.remove(args.dump_retained)
        except FileNotFoundError:
            pass

    expected = read_expected(args.expected, args.variant) if args.expected else []
    monitor_path = os.path.join(tmp, "monitor.sock")
    cmd = [args.qemu, "-M", args.machine, "-nographic", "-serial", "none"]
    if not args.no_semihosting:
        cmd += ["-semihosting-config", "enable=on,target=native,arg=firmware" +
                "".join(",arg=" + a for a in args.arg) + (",arg=hold" if args.dump else "")]
    cmd += (["-monitor", "unix:%s,server=on,wait=off" % monitor_path]
            if args.dump or args.dump_retained else ["-monitor", "none"])
    if args.no_reboot:
        cmd.append("-no-reboot")
    if args.icount:
        cmd += ["-icount", "shift=0"]
    cmd += ["-kernel", args.elf]
    print("firmware test: " + " ".join(cmd), flush=True)

    if args.dump:
        try:
            os.remove(args.dump)  # a previous run's dump must not stand in for this run's
        except FileNotFoundError:
            pass

    start = time.monotonic()
    deadline = start + args.timeout
    qemu = Qemu(cmd)
    got = 0
    mon = None
    gone = None  # the monitor step during which QEMU went away (console runs)

    def await_end():
        # QEMU left the monitor: it is ending (an abort), so wait for it instead of polling.
        try:
            qemu.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise TimeoutError

    try:
        if args.no_semihosting:
            # No console: the bank itself says when the firmware is done. QEMU may abort at any
            # moment of the talk with its monitor (the negative controls make it do so): each
            # step that finds it gone waits for its end, which the first check reports.
            want = patterns(args.dump_expected)
            try:
                mon = Monitor(monitor_path, deadline, qemu.proc)
            except QemuGone:
                await_end()
            while True:
                if qemu.proc.poll() is not None:
                    failed("exit", "QEMU ended (exit code %s) before the bank reached the expected "
                                   "state" % qemu.proc.returncode)
                    break
                if bank:
                    if mon.command('pmemsave 0x%x %d "%s"' % (bank[0], bank[1], args.dump)) is None:
                        await_end()
                        continue
                    code, lines, _ = bankdump_lines(args, args.dump)
                    if code == 0 and not unmatched(want, lines):
                        mon.quit()
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError
                time.sleep(0.1)
        else:
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
                if not matches(expected[got], line):
                    failed("sequence", "line %d: expected %s, got %r" % (got + 1, shown(expected[got]), line))
                    break
                got += 1
                if retained and gone is None and line.endswith("holding for a memory dump"):
                    try:
                        mon = Monitor(monitor_path, deadline, qemu.proc)
                        for c in ("stop", 'pmemsave 0x%x %d "%s"' % (retained[0], retained[1],
                                                                     args.dump_retained), "cont"):
                            if mon.command(c) is None:
                                gone = "the dump (%s)" % c.split()[0]
                                break
                    except QemuGone:
                        gone = "the dump"
                    if gone:
                        continue
                    mon.quit()
                    break
                if args.dump and gone is None and line.endswith("holding for a memory dump"):
                    first = mon is None
                    try:
                        if first:
                            mon = Monitor(monitor_path, deadline, qemu.proc)
                            reply = mon.command("system_reset")  # RAM kept, load segments rewritten
                        else:
                            addr, size = bank
                            reply = mon.command('pmemsave 0x%x %d "%s"' % (addr, size, args.dump))
                    except QemuGone:
                        reply = None
                    if reply is None:
                        # Read QEMU's last lines up to the end of its output; reported below.
                        gone = "the reset" if first else "the pmemsave of the bank"
                        continue
                    if first:
                        continue
                    mon.quit()
                    break
    except TimeoutError:
        failed("timeout", "the run did not reach its end within %.0f s" % args.timeout)
    if failures:
        qemu.stop()
    try:
        code = qemu.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        qemu.stop()
        code = None
        failed("timeout", "QEMU did not end by itself")
    qemu.drain()
    if not args.no_semihosting and "sequence" not in failures and got < len(expected):
        failed("sequence", "output ended after %d of %d expected lines; next expected: %s"
               % (got, len(expected), shown(expected[got])))
    if gone and not failures:
        failed("exit", "QEMU ended (exit code %s) during %s, before the dump" % (code, gone))
    if code != 0 and not failures:
        failed("exit", "QEMU exit code %s, expected 0" % code)
    print("firmware test: QEMU ended with %s after %.2f s" % (code, time.monotonic() - start))

    if args.dump_retained and not failures:
        check_retained(args, failed)
    if args.dump and not failures:
        lines = check_dump(args, failed)
        if args.hrctl and "dump" not in failures:
            check_hrctl(args, lines, failed)

    want = {k for k in args.expect_fail.split(",") if k}
    if want:
        evidence = [t for texts in failures.values() for t in texts] + qemu.output + [
            "QEMU exit code: %s" % code]
        missing = [s for s in args.expect_symptom if not any(re.search(s, e) for e in evidence)]
        if set(failures) != want or missing:
            print("firmware test: NEGATIVE CONTROL NOT DETECTED AS EXPECTED: wanted failures %s, "
                  "got %s; symptoms not shown: %s" % (sorted(want), sorted(failures), missing))
            return 1
        print("firmware test: negative control detected as expected (%s; %s)"
              % (", ".join(sorted(want)), "; ".join(args.expect_symptom)))
        return 0
    if failures:
        print("firmware test: FAILED (%s)" % ", ".join(sorted(failures)))
        return 1
    print("firmware test: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
