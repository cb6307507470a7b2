"""A real headscale, started as a plain process on loopback with a throwaway
config, and a helper that runs this collection's modules against it the way an
admin does (`ansible localhost -m tailnet.headscale.MODULE -a ...`)."""

import json
import os
import random
import shutil
import socket
import string
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
VERSIONS = {
    os.environ["TAILNET_HEADSCALE_VERSION"]: os.environ["TAILNET_HEADSCALE_BINARY"],
    os.environ["TAILNET_HEADSCALE_PREVIOUS_VERSION"]: os.environ["TAILNET_HEADSCALE_PREVIOUS_BINARY"],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONFIG = """\
server_url: http://127.0.0.1:{http}
listen_addr: 127.0.0.1:{http}
metrics_listen_addr: 127.0.0.1:{metrics}
grpc_listen_addr: 127.0.0.1:{grpc}
noise: {{private_key_path: {dir}/noise.key}}
prefixes: {{v4: 100.64.0.0/10, v6: "fd7a:115c:a1e0::/48"}}
derp:
  urls: []
  server: {{enabled: true, region_id: 999, region_code: it, region_name: it, stun_listen_addr: "127.0.0.1:{stun}",
            private_key_path: {dir}/derp.key, automatically_add_embedded_derp_region: true}}
database: {{type: sqlite, sqlite: {{path: {dir}/db.sqlite, write_ahead_log: true}}}}
dns: {{magic_dns: false, override_local_dns: false, base_domain: tailnet.internal}}
policy: {{mode: file, path: {dir}/policy.json}}
unix_socket: {dir}/headscale.sock
unix_socket_permission: "0770"
disable_check_updates: true
log: {{level: warn}}
node: {{expiry: 180d}}
"""

POLICY = {
    "tagOwners": {"tag:server": ["alice@"], "tag:ci": ["alice@"]},
    "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
}


def die_with_parent():
    """In the child before exec: SIGTERM when pytest dies, so a killed test run leaves no headscale serving."""
    import ctypes
    import signal
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Headscale:
    """One running headscale server and the way to drive it."""

    def __init__(self, version, binary, workdir):
        self.version = version
        self.binary = binary
        self.dir = workdir
        self.config = os.path.join(workdir, "config.yaml")
        ports = dict(http=free_port(), metrics=free_port(), grpc=free_port(), stun=free_port())
        with open(self.config, "w") as f:
            f.write(CONFIG.format(dir=workdir, **ports))
        with open(os.path.join(workdir, "policy.json"), "w") as f:
            json.dump(POLICY, f)
        self.url = "http://127.0.0.1:%d" % ports["http"]
        self.log = open(os.path.join(workdir, "headscale.log"), "w")
        self.process = None

    def start(self, timeout=20):
        self.process = subprocess.Popen([self.binary, "serve", "-c", self.config], stdout=self.log, stderr=subprocess.STDOUT,
                                        preexec_fn=die_with_parent)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.cli("health", check=False).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("headscale %s did not become healthy; log: %s" % (self.version, self.logtext()))

    def stop(self, timeout=10):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout)
            self.process = None

    def logtext(self):
        with open(os.path.join(self.dir, "headscale.log")) as f:
            return f.read()[-3000:]

    def cli(self, *args, check=True):
        """The CLI directly: the test's independent view of the server's state."""
        return subprocess.run([self.binary, "-c", self.config, "-o", "json"] + list(args),
                              capture_output=True, text=True, check=check, stdin=subprocess.DEVNULL)

    def state(self, what):
        out = self.cli(what, "list").stdout.strip()
        return json.loads(out) if out else None

    def add_node(self, name, user):
        """Register a node without a device: a pending registration (debug create-node), approved."""
        auth_id = "".join(random.choice(string.ascii_letters) for position in range(24))
        if self.version >= "0.29":
            auth_id = "hskey-authreq-" + auth_id
        self.cli("debug", "create-node", "--name", name, "--user", user, "--key", auth_id)
        if self.version >= "0.29":
            self.cli("auth", "register", "--auth-id", auth_id, "--user", user)
        else:
            self.cli("nodes", "register", "--key", auth_id, "--user", user)
        return next(n for n in self.state("nodes") if n["given_name"] == name)

    def module_while_stopped(self, module_name, **args):
        """Run a module while headscale is down; the server is back up afterwards."""
        self.stop()
        try:
            return self.module(module_name, **args)
        finally:
            self.start()

    def module(self, module_name, check=False, diff=False, **args):
        """Run tailnet.headscale.NAME ad hoc; return (rc, result dict, raw output)."""
        args.setdefault("headscale_binary", self.binary)
        args.setdefault("headscale_config", self.config)
        argv = ["ansible", "localhost", "-m", "tailnet.headscale." + module_name, "-a", json.dumps(args)]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
                   ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
        run = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        try:
            data = json.loads(run.stdout)
            result = data["plays"][0]["tasks"][0]["hosts"]["localhost"]
        except (ValueError, KeyError, IndexError):
            raise AssertionError("could not parse module output: %s %s" % (run.stdout[-2000:], run.stderr[-2000:]))
        return result, run.stdout + run.stderr


@pytest.fixture(scope="module", params=sorted(VERSIONS), ids=lambda v: "headscale-" + v)
def headscale(request):
    workdir = tempfile.mkdtemp(prefix="hs-it-")
    server = Headscale(request.param, VERSIONS[request.param], workdir)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)
