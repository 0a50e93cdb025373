"""kTLS for real: ktls_test.py SOURCE_ROOT BUILD_DIR KTLS_KERNEL_PATH

Two things need the kernel's TLS (CONFIG_TLS, Debian's tls module):
KTLS_KERNEL_PATH (test/ktls_kernel_path.c: the server's BPF programs on
kTLS sockets, each finding a check) and tls.py's kTLS case (files by
sendfile() over kTLS). On a kernel that has kTLS, this runs the first
here, and tls.py's suites in the same meson test run did the second.
This machine's kernel has no kTLS: then this runs both, with the TLS suites
around them, in a QEMU guest booted with Debian's bookworm-backports kernel
(tools/vmtest: its package is fetched with apt-get download, never
installed), and fails unless they passed there without skipping.

SKIP (77), said loudly, where QEMU or the kernel cannot be had
(tools/install-deps.sh --vm installs and sets up both), and where the
kernel path does not start (6.1: KTLS_KERNEL_PATH says why).
"""
import os
import re
import shutil
import subprocess
import sys

SKIP = 77
KERNEL = "backports"
# The tests, and what each must have printed in the guest (meson -v): proof
# that its kTLS part ran instead of skipping.
KTLS_CASE = (r"test_ktls_where_the_kernel_has_it \(__main__\.%s\.[^)]*\)\n"
             r"[^\n]*\.\.\. ok\n")
TESTS = {
    "ktls": r"\nall findings as documented\n",
    "tls-user": KTLS_CASE % "UserspaceTests",
    "tls-kernel": KTLS_CASE % "KernelTests",
}


def missing_tools():
    for tool in ("qemu-system-x86_64", "busybox", "apt-get", "dpkg"):
        if not shutil.which(tool):
            return tool
    return None


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    root, build, probe = sys.argv[1], os.path.abspath(sys.argv[2]), \
        sys.argv[3]
    if os.path.exists("/proc/net/tls_stat"):
        # this kernel has kTLS (e.g. tools/vmtest's own guest): no VM
        print("this kernel has kTLS: running %s here" % probe, flush=True)
        return subprocess.run([probe]).returncode
    tool = missing_tools()
    if tool:
        print("SKIP: %s is missing: tools/install-deps.sh --vm installs "
              "what tools/vmtest needs" % tool)
        return SKIP
    cmd = [os.path.join(root, "tools", "vmtest"), "--kernel", KERNEL,
           "--build", build, "--no-build", "--", "-v"] + list(TESTS)
    print("running:", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    print(proc.stdout, flush=True)
    if proc.returncode == 2 and re.search(r"apt|download|package",
                                          proc.stdout):
        print("SKIP: the %s kernel could not be fetched (see above; "
              "tools/install-deps.sh --vm adds its source)" % KERNEL)
        return SKIP
    if proc.returncode != 0:
        print("FAIL: tools/vmtest exited %d" % proc.returncode)
        return 1
    log = re.search(r"log: (\S+/meson-test\.log)", proc.stdout)
    if not log:
        print("FAIL: tools/vmtest named no guest log")
        return 1
    return check_guest(os.path.dirname(log.group(1)))


def check_guest(out_dir):
    """The guest had kTLS, and each test ran its kTLS part and passed."""
    with open(os.path.join(out_dir, "guest-info.txt")) as f:
        info = f.read()
    with open(os.path.join(out_dir, "meson-test.log")) as f:
        log = f.read()
    failures = 0
    if "kTLS: yes" not in info:
        print("FAIL: the guest had no kTLS:\n" + info)
        failures += 1
    for test, sign in TESTS.items():
        if not re.search(r"/ %s +OK" % re.escape(test), log) or \
                not re.search(sign, log):
            print("FAIL: %s did not pass with its kTLS part run in the "
                  "guest (%s)" % (test, os.path.join(out_dir,
                                                     "meson-test.log")))
            failures += 1
    if not failures:
        print("ok: %s passed with kTLS on Debian's %s kernel (%s)"
              % (", ".join(TESTS), KERNEL, info.splitlines()[0]))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
