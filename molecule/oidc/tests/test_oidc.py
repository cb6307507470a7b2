"""OIDC login through a real OpenID provider (zitadel's example OP, lab/oidc-provider), followed
headlessly from a real tailscale client's login URL; the client secret's handling by the role."""

import json
import os
import shlex
import subprocess
import sys

import yaml

from clients import node_named, server_nodes, wait_for  # on sys.path via conftest

HERE = os.path.dirname(__file__)
SECRET_FILE = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "oidc-client-secret")
CONFIG = "/etc/headscale/config.yaml"
ON_HOST = "/etc/headscale/oidc_client_secret"
PROVIDER_SECRET = "/srv/oidc-provider/client-secret"


def secret():
    with open(SECRET_FILE) as handle:
        return handle.read().strip()


def browse(host, url, username, password):
    """Follow URL as USERNAME would in a browser (tests/browser.py, run in the container)."""
    with open(os.path.join(HERE, "browser.py")) as handle:
        script = handle.read()
    return host.run("python3 -c %s %s %s %s" % tuple(shlex.quote(a) for a in (script, url, username, password)))


def users(host):
    return json.loads(host.check_output("headscale -o json users list")) or []


def login(clients, name, username, password):
    client = clients(name)
    auth_id = client.login()
    return client, browse(client.host, "http://127.0.0.1:8080/register/%s" % auth_id, username, password)


def converge(*extra_args):
    """Run the scenario's converge playbook again, as molecule does, with -vvv; return the process."""
    playbook = os.path.join(HERE, "..", "converge.yml")
    return subprocess.run(["ansible-playbook", "-vvv", "-i", os.environ["MOLECULE_INVENTORY_FILE"], playbook]
                          + list(extra_args), capture_output=True, text=True, check=False)


def test_the_secret_is_a_0600_file_of_headscale_and_not_in_the_config(host):
    text = host.file(CONFIG).content_string
    assert secret() not in text
    oidc = yaml.safe_load(text)["oidc"]
    assert oidc["client_secret_path"] == ON_HOST and "client_secret" not in oidc
    assert oidc["pkce"]["enabled"] is True
    assert oidc["allowed_domains"] == ["lab.test"]
    # headscale 0.29: expiry from node.expiry (oidc.expiry is refused), never from the provider's token.
    assert "expiry" not in oidc and oidc["use_expiry_from_token"] is False
    on_host = host.file(ON_HOST)
    assert (on_host.user, on_host.mode) == ("headscale", 0o600)
    assert on_host.content_string.strip() == secret()


def test_a_new_secret_is_applied_and_never_shown(host):
    """The admin rotates the client secret at the provider and on the controller; the role's next run
    (-vvv, every task) puts it in place and restarts headscale; neither secret is in its output."""
    old = secret()
    new = "rotated-" + old[::-1]
    with open(SECRET_FILE, "w") as handle:
        handle.write(new + "\n")
    host.check_output("printf '%%s\\n' %s > %s && systemctl restart tailnet-oidc-provider"
                      % (shlex.quote(new), PROVIDER_SECRET))
    done = converge()
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Install the OIDC client secret" in output
    assert old not in output and new not in output
    assert host.file(ON_HOST).content_string.strip() == new
    assert new not in host.file(CONFIG).content_string
    wait_for(lambda: host.run("headscale health").rc == 0, what="headscale healthy after the new secret")


def test_a_run_the_config_check_refuses_changes_nothing(host, tmp_path):
    """An issuer headscale cannot reach, with a new secret: refused by the config check before the
    transaction opens; the secret and config on the host stay as they were."""
    before = host.check_output("sha256sum %s %s" % (ON_HOST, CONFIG))
    other = tmp_path / "other-secret"
    other.write_text("another-secret-value\n")
    other.chmod(0o600)
    done = converge("-e", json.dumps({"headscale_oidc_issuer": "https://oidc.lab.test:9444/",
                                      "headscale_oidc_client_secret_file": str(other)}))
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "rejects the configuration" in output and "oidc.lab.test:9444" in output
    assert "another-secret-value" not in output
    assert host.check_output("sha256sum %s %s" % (ON_HOST, CONFIG)) == before


def test_an_http_issuer_is_refused_before_any_change(host):
    before = host.check_output("sha256sum %s %s" % (ON_HOST, CONFIG))
    done = converge("-e", json.dumps({"headscale_oidc_issuer": "http://oidc.lab.test:9443/"}))
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "headscale_oidc_issuer 'http://oidc.lab.test:9443/' is not https" in output
    assert "headscale_oidc_allow_insecure_issuer" in output
    assert host.check_output("sha256sum %s %s" % (ON_HOST, CONFIG)) == before


def test_a_user_in_the_allow_list_logs_a_real_client_in(host, clients):
    laptop, page = login(clients, "alice-laptop", "alice", "alice-lab-password")
    assert page.rc == 0, page.stdout + page.stderr
    # The provider's login form, then headscale's confirmation, then its success page.
    assert "oidc.lab.test:9443/login/username" in page.stdout
    # headscale sent the provider a PKCE challenge (S256) with the authorization request.
    authorize = [line for line in page.stdout.splitlines() if line.startswith("REDIRECT") and "oidc.lab.test:9443/auth?" in line]
    assert authorize and "code_challenge_method=S256" in authorize[0] and "code_challenge=" in authorize[0]
    laptop.wait_running()
    node = node_named(host, "alice-laptop")
    assert node["user"]["name"] == "alice"
    alice = next(u for u in users(host) if u["name"] == "alice")
    assert alice["email"] == "alice@lab.test" and alice["provider"] == "oidc"
    assert str(laptop.status()["Self"]["UserID"]) == str(alice["id"])


def test_a_user_outside_the_allow_list_is_refused_and_no_node_is_made(host, clients):
    nodes_before = len(server_nodes(host))
    laptop, page = login(clients, "mallory-laptop", "mallory", "mallory-lab-password")
    assert page.rc == 3, page.stdout + page.stderr
    assert "ERROR 401" in page.stdout
    # headscale's reason is in its log, not on the page.
    assert "unauthorised domain" in host.check_output("journalctl -u headscale --no-pager -o cat")
    assert laptop.status()["BackendState"] == "NeedsLogin"
    assert node_named(host, "mallory-laptop") is None
    assert len(server_nodes(host)) == nodes_before
    assert not [u for u in users(host) if u["name"] == "mallory"]


def test_the_secret_is_not_in_the_journal(host):
    journal = host.check_output("journalctl --no-pager -o cat")
    assert "headscale" in journal
    assert secret() not in journal


def test_the_commands_of_the_oidc_docs_run_as_written(host):
    """docs/server-role.md shows these (docs/testing.md, "Commands in the docs"); its `# real host
    only` ones are skipped. They run on the server, after the logins, and show what OIDC made."""
    sys.path.insert(0, os.path.join(HERE, "..", "..", "join", "tests"))
    from doc_commands import commands  # pylint: disable=import-error,import-outside-toplevel

    found = [c for c in commands(os.path.join(HERE, "..", "..", "..", "docs", "server-role.md")) if not c.marked]
    assert found, "docs/server-role.md shows no command this scenario runs"
    outputs = []
    for command in found:
        done = host.run(command.text)
        assert done.rc == 0, "%r: %s %s" % (command, done.stdout, done.stderr)
        outputs.append(done.stdout)
    assert "alice@lab.test" in "".join(outputs) and "alice-laptop" in "".join(outputs)


def test_turning_oidc_off_removes_its_secret(host):
    """Last: the admin turns OIDC off; the config no longer names the secret, and the secret goes."""
    done = converge("-e", json.dumps({"headscale_oidc_issuer": "", "headscale_oidc_client_id": "",
                                      "headscale_oidc_client_secret_file": ""}))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    oidc = yaml.safe_load(host.file(CONFIG).content_string).get("oidc") or {}
    assert not oidc.get("issuer") and not oidc.get("client_secret_path"), oidc
    assert not host.file(ON_HOST).exists
    assert secret() not in output
    wait_for(lambda: host.run("headscale health").rc == 0, what="headscale healthy without OIDC")
