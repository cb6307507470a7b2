"""Real tailscale clients for the scenario: each is a tailscaled in userspace
networking under its own transient systemd unit, talking to headscale over
the container's loopback."""

import json
import os
import time

import pytest
import yaml

LOGIN_SERVER = "http://127.0.0.1:8080"


class Client:
    def __init__(self, host, name):
        self.host = host
        self.name = name
        self.socket = "/run/ts-%s.sock" % name

    def start(self):
        self.host.check_output(
            "systemd-run --unit ts-%s --collect /usr/local/bin/tailscaled --tun=userspace-networking "
            "--statedir=/var/lib/ts-%s --socket=%s --port=0 --no-logs-no-support"
            % (self.name, self.name, self.socket))
        deadline = time.time() + 20
        while not self.host.socket("unix://" + self.socket).is_listening:
            assert time.time() < deadline, "tailscaled %s did not start" % self.name
            time.sleep(0.2)
        return self

    def up(self, key):
        return self.host.run("tailscale --socket=%s up --login-server=%s --authkey=%s --hostname=%s --timeout=30s"
                             % (self.socket, LOGIN_SERVER, key, self.name))

    def status(self):
        return json.loads(self.host.check_output("tailscale --socket=%s status --json" % self.socket))

    def stop(self):
        self.host.run("systemctl stop ts-%s" % self.name)


def server_nodes(host):
    return json.loads(host.check_output("headscale -o json nodes list")) or []


def node_named(host, name):
    return next((n for n in server_nodes(host) if n["name"] == name), None)


@pytest.fixture
def clients(host):
    started = []

    def start(name):
        started.append(Client(host, name).start())
        return started[-1]

    yield start
    for client in started:
        client.stop()


@pytest.fixture
def mint(host, tmp_path):
    """Mint a key with the module, as an admin would; return (id, secret)."""

    def _mint(**args):
        path = tmp_path / ("key-%d.yml" % len(list(tmp_path.iterdir())))
        args = " ".join("%s=%s" % (k, json.dumps(v) if not isinstance(v, str) else v) for k, v in args.items())
        host.ansible("tailnet.headscale.preauth_key", "%s fresh=true secrets_file=%s" % (args, path), check=False)
        entry = yaml.safe_load(path.read_text())[0]
        return entry["id"], entry["key"]

    return _mint


@pytest.fixture
def declared_keys():
    with open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "declared-keys.yml")) as f:
        return yaml.safe_load(f)
