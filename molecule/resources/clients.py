"""Real tailscale clients for the scenarios: each is a tailscaled in userspace
networking under its own transient systemd unit, talking to headscale over
the container's loopback (or, with login_server and server, to a headscale in
another container)."""

import json
import os
import subprocess
import time

import pytest
import yaml

LOGIN_SERVER = "http://127.0.0.1:8080"


class Client:
    def __init__(self, host, name, login_server=LOGIN_SERVER, server=None):
        self.host = host
        self.name = name
        self.login_server = login_server
        self.server = server or host
        self.socket = "/run/ts-%s.sock" % name

    def start(self):
        # A fresh device every time, even when a scenario's verify is re-run.
        self.host.run("systemctl stop up-%s ts-%s; rm -rf /var/lib/ts-%s" % (self.name, self.name, self.name))
        for node in server_nodes(self.server):
            if node["name"] == self.name:
                self.server.check_output("headscale nodes delete --identifier %s --force" % node["id"])
        self.host.check_output(
            # The container has only loopback: tell tailscaled the network is up anyway.
            "systemd-run --unit ts-%s --collect --setenv=TS_ASSUME_NETWORK_UP_FOR_TEST=true "
            "/usr/local/bin/tailscaled --tun=userspace-networking "
            "--statedir=/var/lib/ts-%s --socket=%s --port=0 --no-logs-no-support"
            % (self.name, self.name, self.socket))
        deadline = time.time() + 20
        while not self.host.socket("unix://" + self.socket).is_listening:
            assert time.time() < deadline, "tailscaled %s did not start" % self.name
            time.sleep(0.2)
        return self

    def up(self, key, *flags):
        return self.host.run("tailscale --socket=%s up --login-server=%s --authkey=%s --hostname=%s --timeout=30s %s"
                             % (self.socket, self.login_server, key, self.name, " ".join(flags)))

    def status(self):
        return json.loads(self.host.check_output("tailscale --socket=%s status --json" % self.socket))

    def stop(self):
        self.host.run("systemctl stop up-%s ts-%s" % (self.name, self.name))

    def login(self):
        """Start an interactive login in the background; return the auth id it prints."""
        log = "/run/up-%s.log" % self.name
        # A second login (after expiry) must not read the first one's URL from the old log.
        self.host.check_output("rm -f %s" % log)
        self.host.check_output(
            "systemd-run --unit up-%s --collect -p StandardError=file:%s -p StandardOutput=file:%s "
            "/usr/local/bin/tailscale --socket=%s up --login-server=%s --hostname=%s --timeout=120s"
            % (self.name, log, log, self.socket, self.login_server, self.name))
        deadline = time.time() + 30
        while True:
            text = self.host.run("cat %s" % log).stdout
            if "/register/" in text:
                return text.split("/register/")[1].split()[0].strip()
            assert time.time() < deadline, "no registration URL from %s: %r" % (self.name, text)
            time.sleep(0.5)

    def node_key(self):
        return self.status()["Self"]["PublicKey"]

    def wait_running(self, timeout=60):
        self.wait_backend("Running", timeout)

    def wait_backend(self, state, timeout=60):
        deadline = time.time() + timeout
        while self.status()["BackendState"] != state:
            assert time.time() < deadline, "%s is %s, not %s" % (self.name, self.status()["BackendState"], state)
            time.sleep(0.5)


def wait_for(check, timeout=30, what="condition"):
    """CHECK's first true value, asked once a second; the test fails after TIMEOUT seconds."""
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.time() < deadline, "timed out waiting for " + what
        time.sleep(1)


def server_nodes(host):
    return json.loads(host.check_output("headscale -o json nodes list")) or []


def node_named(host, name):
    return next((n for n in server_nodes(host) if n["name"] == name), None)


@pytest.fixture
def clients(host):
    """Start named clients for a test; all are stopped when it ends."""
    started = []

    def start(name):
        started.append(Client(host, name).start())
        return started[-1]

    yield start
    for client in started:
        client.stop()


@pytest.fixture
def run_module(host):
    """Run a module of the collection ad hoc on the server, as an admin would; return its result."""

    def run(module, check=False, **args):
        env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
                   ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.json")
        argv = ["ansible", "-i", os.environ["MOLECULE_INVENTORY_FILE"], host.backend.host,
                "-m", "tailnet.headscale." + module, "-a", json.dumps(args)]
        done = subprocess.run(argv + (["--check"] if check else []), capture_output=True, text=True, env=env, check=False)
        output = json.loads(done.stdout)
        result = output["plays"][0]["tasks"][0]["hosts"][host.backend.host]
        # The play's stats are the reliable failure signal across callback settings.
        result["failed"] = output["stats"][host.backend.host]["failures"] > 0
        return result

    return run


@pytest.fixture
def mint(host, tmp_path):
    """Mint a fresh key with the module, as an admin would; return (id, secret)."""
    return minter(host, tmp_path)


def minter(host, directory):
    """A function that mints a fresh key on HOST with the module, as an admin would, and returns
    (id, secret). The secrets file is written on the controller, in DIRECTORY, never on the server."""

    def _mint(**args):
        path = directory / ("key-%d.yml" % len(list(directory.iterdir())))
        host.ansible("tailnet.headscale.preauth_key", json.dumps(dict(args, fresh=True, secrets_file=str(path))), check=False)
        entry = yaml.safe_load(path.read_text())[0]
        return entry["id"], entry["key"]

    return _mint


@pytest.fixture
def playbook(host):
    """Run a collection playbook against the instance as an admin would; return (stats, failure messages)."""

    def run(name, **extra_vars):
        env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
                   ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.json")
        run.messages = []
        extra_vars.setdefault("headscale_target_hosts", host.backend.host)
        # The playbooks become root; the container connection already is root (and has no sudo).
        extra_vars.setdefault("ansible_become", False)
        done = subprocess.run(
            ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "tailnet.headscale." + name,
             "-e", json.dumps(extra_vars)],
            capture_output=True, text=True, env=env, check=False)
        try:
            output = json.loads(done.stdout)
        except ValueError:
            raise AssertionError("no JSON from ansible-playbook: %s %s" % (done.stdout[-2000:], done.stderr[-2000:]))
        # A failed command's (or validator's) own words are in stderr.
        failures = [(result.get("msg", "") + " " + result.get("stderr", "")).strip()
                    for play in output["plays"] for task in play["tasks"]
                    for result in task["hosts"].values() if result.get("failed") and not result.get("ignore_errors")]
        # What the playbook reported (debug tasks), for tests of its report: run.messages after a run.
        run.messages = [result["msg"] for play in output["plays"] for task in play["tasks"]
                        for result in task["hosts"].values() if isinstance(result.get("msg"), str)]
        return output["stats"][host.backend.host], failures

    return run
