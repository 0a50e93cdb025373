#!/usr/bin/env python3
"""The Debian package (tools/package-deb): built, installed on this machine,
the installed binary started and serving, then removed and purged without a
trace. Needs root and dpkg; SKIP (77) loudly without them, or when a
fileserver package is installed already (it is not ours to replace).

Usage: package_test.py BUILT_FILESERVER REPO_TOP
"""
import gzip
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

from harness import HOST, Server

SKIP = 77
BUILT, TOP = None, None
FILES = ("/usr/sbin/fileserver", "/usr/share/man/man8/fileserver.8.gz",
         "/usr/lib/systemd/system/fileserver.service",
         "/usr/share/doc/fileserver/README.md")
CONFFILE = "/etc/fileserver.conf"


def dpkg_status():
    r = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}",
                        "fileserver"], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else ""


def why_not():
    if os.geteuid() != 0:
        return "not running as root"
    if not shutil.which("dpkg-deb") or not shutil.which("dpkg"):
        return "dpkg not found"
    if dpkg_status().startswith("ii"):
        return "a fileserver package is installed already"
    return None


class PackageTest(unittest.TestCase):
    def test_install_run_remove(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        # never leave it installed, whatever fails below
        self.addCleanup(subprocess.run, ["dpkg", "--purge", "fileserver"],
                        capture_output=True)
        r = subprocess.run([os.path.join(TOP, "tools", "package-deb"), tmp],
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stderr)
        deb = r.stdout.strip().splitlines()[-1]
        info = subprocess.run(["dpkg-deb", "--field", deb, "Depends",
                               "Version"], capture_output=True, text=True,
                              check=True).stdout
        self.assertIn("liburing", info)
        self.assertIn("libbpf", info)

        r = subprocess.run(["dpkg", "--install", deb], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for path in FILES + (CONFFILE,):
            self.assertTrue(os.path.exists(path), path)
        built = subprocess.run([BUILT, "--version"], capture_output=True,
                               text=True).stdout
        installed = subprocess.run(["/usr/sbin/fileserver", "--version"],
                                   capture_output=True, text=True).stdout
        self.assertRegex(installed, r"^fileserver \d+\.\d+\.\d+\n$")
        self.assertEqual(installed, built)
        with gzip.open(FILES[1], "rt") as f:
            man = f.read().replace("\\-", "-")     # troff's hyphens
        # the man page is --help's: every setting is in it
        for flag in ("listen", "document-root", "cache-size", "version"):
            self.assertIn(flag, man)
        check = subprocess.run(["/usr/sbin/fileserver", "--check-config",
                                "-c", CONFFILE, "-d", tmp],
                               capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stderr)

        # the installed binary serves, with its kernel path when it can
        docroot = os.path.join(tmp, "www")
        os.mkdir(docroot)
        with open(os.path.join(docroot, "hello.txt"), "wb") as f:
            f.write(b"hello from the package\n")
        s = Server("/usr/sbin/fileserver", docroot, True)
        self.addCleanup(s.stop)
        self.assertEqual(get(s.port, "/hello.txt"),
                         b"hello from the package\n")
        s.stop()

        r = subprocess.run(["dpkg", "--remove", "fileserver"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for path in FILES:
            self.assertFalse(os.path.exists(path), path)
        # a conffile stays until the purge, as with any Debian package
        self.assertTrue(os.path.exists(CONFFILE))
        r = subprocess.run(["dpkg", "--purge", "fileserver"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(CONFFILE))
        self.assertFalse(dpkg_status().startswith(("ii", "rc")),
                         dpkg_status())


def get(port, path):
    """The body of a one-off HTTP/1.0 GET."""
    with socket.create_connection((HOST, port), 5) as sock:
        sock.sendall(b"GET %s HTTP/1.0\r\n\r\n" % path.encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    return body


if __name__ == "__main__":
    BUILT, TOP = sys.argv[1], sys.argv[2]
    reason = why_not()
    if reason:
        print("SKIP: package test: " + reason)
        sys.exit(SKIP)
    unittest.main(argv=sys.argv[:1])
