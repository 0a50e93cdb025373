#!/usr/bin/env python3
"""The deployment files in deploy/, checked as far as this machine can:

  fileserver.service  systemd-analyze verify (ExecStart pointed at the build)
  fileserver.conf     fileserver --check-config reads it
  Dockerfile          its packages hold every library the binary links, and
                      its CMD is a valid command line
  daemonset.yaml      parses; host network, bpffs, capabilities; its args
                      are a valid command line

usage: deploy_test.py FILESERVER DEPLOY_DIR
A check whose tool is missing (systemd-analyze, PyYAML) says SKIP.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

SERVER = DEPLOY = None


def check_config(*args):
    """--check-config on args with the document root replaced by one that
    exists here."""
    root = tempfile.mkdtemp()
    try:
        r = subprocess.run([SERVER, "--check-config"] + list(args) +
                           ["-d", root], capture_output=True, text=True,
                           timeout=5)
    finally:
        os.rmdir(root)
    return r


class Deploy(unittest.TestCase):
    def read(self, name):
        with open(os.path.join(DEPLOY, name)) as f:
            return f.read()

    def test_systemd_unit(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("SKIP: systemd-analyze not installed")
        unit = self.read("fileserver.service")
        self.assertIn("Type=notify", unit)
        self.assertIn("AmbientCapabilities=CAP_BPF CAP_PERFMON CAP_NET_ADMIN",
                      unit)
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        path = os.path.join(tmp, "fileserver.service")
        with open(path, "w") as f:
            f.write(unit.replace("/usr/sbin/fileserver", SERVER))
        r = subprocess.run(["systemd-analyze", "verify", path],
                           capture_output=True, text=True, timeout=30)
        # Only lines about this unit count: a container without systemd as
        # PID 1 adds complaints about the host's own units.
        ours = [l for l in (r.stdout + r.stderr).splitlines()
                if "fileserver.service" in l]
        self.assertEqual(ours, [])

    def test_config_example(self):
        r = check_config("-c", os.path.join(DEPLOY, "fileserver.conf"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("port = 80\n", r.stdout)

    def test_dockerfile(self):
        text = self.read("Dockerfile")
        self.assertRegex(text, r"(?m)^FROM debian:12")
        install = text.split("--no-install-recommends", 1)[1]
        packages = set(install.split("&&", 1)[0].replace("\\", " ").split())
        # every library the binary links (apt brings theirs), but libc's,
        # from those packages
        ldd = subprocess.run(["ldd", SERVER], capture_output=True,
                             text=True, check=True).stdout
        path_of = dict(re.findall(r"(\S+) => (\S+)", ldd))
        dyn = subprocess.run(["readelf", "-d", SERVER], capture_output=True,
                             text=True, check=True).stdout
        for needed in re.findall(r"\(NEEDED\).*\[(.+)\]", dyn):
            lib = path_of[needed]
            owner = subprocess.run(["dpkg", "-S", os.path.realpath(lib)],
                                   capture_output=True, text=True)
            if owner.returncode:
                owner = subprocess.run(["dpkg", "-S", lib],
                                       capture_output=True, text=True)
            pkg = owner.stdout.split(":", 1)[0]
            if pkg == "libc6":
                continue
            self.assertIn(pkg, packages, "%s (%s) not installed" % (lib, pkg))
        cmd = re.search(r"(?m)^CMD (\[.*\])$", text).group(1)
        r = check_config(*json.loads(cmd))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_daemonset(self):
        try:
            import yaml
        except ImportError:
            self.skipTest("SKIP: PyYAML not installed")
        ds = yaml.safe_load(self.read("daemonset.yaml"))
        self.assertEqual(ds["kind"], "DaemonSet")
        pod = ds["spec"]["template"]["spec"]
        self.assertEqual(ds["spec"]["selector"]["matchLabels"],
                         ds["spec"]["template"]["metadata"]["labels"])
        self.assertTrue(pod["hostNetwork"])
        c = pod["containers"][0]
        caps = c["securityContext"]["capabilities"]
        self.assertEqual(caps["drop"], ["ALL"])
        self.assertTrue({"BPF", "PERFMON", "NET_ADMIN", "SETUID",
                         "SETGID"} <= set(caps["add"]))
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        self.assertEqual(mounts["bpffs"], "/sys/fs/bpf")
        vols = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"]}
        self.assertEqual(vols["bpffs"], "/sys/fs/bpf")
        self.assertGreater(pod["terminationGracePeriodSeconds"],
                           int(c["args"][c["args"].index(
                               "--shutdown-timeout") + 1]))
        r = check_config(*c["args"])
        self.assertEqual(r.returncode, 0, r.stderr)


def main():
    global SERVER, DEPLOY
    SERVER, DEPLOY = os.path.abspath(sys.argv[1]), sys.argv[2]
    del sys.argv[1:3]
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Deploy)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    for _, why in result.skipped:
        print(why, flush=True)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
