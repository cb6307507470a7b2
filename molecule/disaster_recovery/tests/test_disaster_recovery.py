"""Lost the server (docs/operations.md): a headscale replicating with litestream to an SFTP replica,
two real tailscale clients enrolled, users written in a loop; the server container is removed without
warning (docker rm -f), a fresh container takes its name and address, and tailnet.headscale.site
rebuilds it from the replica with headscale_recover=true. The clients come back on their own: same
node ids, same IPs, no re-authentication. Before that, the two refusals on the fresh host: without the
flag, and with an age identity that does not decrypt the keys. Then the rebuilt server moves its replica
to an S3 store (a real one: SeaweedFS), is lost again, and is rebuilt from S3. An online backup taken
before the first kill, under writes and a 10 Hz health probe, is restored on the last server. RPO and RTO are measured and saved
(bench/results/disaster_recovery.json when TAILNET_DR_SAVE_RESULTS=1, rendered by bench/tables.py)."""

import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time

import pytest
import testinfra

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "..", "resources"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "bench"))

from clients import Client, wait_for  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "..", "join", "tests"))
from doc_commands import commands, placeholders  # noqa: E402

OPERATIONS = os.path.join(HERE, "..", "..", "..", "docs", "operations.md")

SERVER = "hs-dr-server"
AUX = "hs-dr-aux"
NETWORK = "tailnet-dr"
SERVER_IP = "172.30.79.10"
LOGIN = "http://%s:8080" % SERVER_IP
IMAGE = os.environ.get("TAILNET_IMAGE_DR", "tailnet-headscale/debian-dr:bookworm-r1")
SECRETS = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp"), "dr-secrets")
# The scenario's headscale_litestream_sync_interval is the role's default, 1 s; a write older than
# this (plus a second for the SFTP round trip) at the kill must have reached the replica.
SYNC_INTERVAL = 1.0
MARGIN = 1.0
STATE = {}


def get(name):
    return testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, os.environ["MOLECULE_INVENTORY_FILE"]))


def headscale(host, args):
    return json.loads(host.check_output("headscale -o json " + args) or "null")


def site(*extra):
    """ansible-playbook tailnet.headscale.site on the server, as the runbook runs it; (rc, output, seconds)."""
    start = time.time()
    done = subprocess.run(["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "tailnet.headscale.site",
                           "--limit", SERVER] + list(extra), capture_output=True, text=True, check=False)
    return done.returncode, done.stdout + done.stderr, time.time() - start


def fresh_server():
    """A new, empty container in the dead server's place: its name and its address."""
    subprocess.run(["docker", "rm", "-f", SERVER], capture_output=True, check=False)
    subprocess.run(
        ["docker", "run", "-d", "--name", SERVER, "--hostname", SERVER, "--network", NETWORK, "--ip", SERVER_IP,
         "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
         "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run", "--tmpfs", "/run/lock",
         "--tmpfs", "/tmp", IMAGE, "/sbin/init"], check=True, capture_output=True)
    subprocess.run(["docker", "exec", SERVER, "systemctl", "is-system-running", "--wait"], capture_output=True, check=False)


def untouched(host):
    """What the role creates on a fresh host, none of it there: a refusal changed nothing."""
    return host.run("test ! -e /etc/headscale && test ! -e /var/lib/headscale && ! getent passwd headscale"
                    " && test ! -e /etc/systemd/system/headscale.service && test ! -e /run/tailnet-headscale-recover").rc == 0


@pytest.fixture(scope="module")
def disaster():
    """Enrol two clients, write users in a loop, kill the server, return what was known before the kill."""
    server, aux = get(SERVER), get(AUX)
    exposure = server.check_output("systemd-analyze security tailnet-headscale-litestream.service | tail -n 1")
    server.check_output("headscale users create dr")
    user_id = next(u["id"] for u in headscale(server, "users list") if u["name"] == "dr")
    key = headscale(server, "preauthkeys create --reusable --expiration 1h --user %s" % user_id)["key"]
    clients = [Client(aux, name, login_server=LOGIN, server=server).start() for name in ("c1", "c2")]
    for client in clients:
        up = client.up(key)
        assert up.rc == 0, up.stderr
        client.wait_running()
    before = {n["name"]: (n["id"], sorted(n["ip_addresses"])) for n in headscale(server, "nodes list")}
    selves = {c.name: (c.status()["Self"]["ID"], sorted(c.status()["Self"]["TailscaleIPs"])) for c in clients}

    written, stop = [], threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            name = "w%04d" % i
            done = subprocess.run(["docker", "exec", SERVER, "headscale", "users", "create", name],
                                  capture_output=True, check=False)
            if done.returncode == 0:
                written.append((name, time.time()))
            i += 1

    # Daemon, and stopped whatever happens: a failed backup must fail the test, not leave pytest waiting
    # for the writer at exit.
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        backup = online_backup_under_writes(server)
        time.sleep(4)
        kill = time.time()
        subprocess.run(["docker", "rm", "-f", SERVER], check=True, capture_output=True)
    finally:
        stop.set()
        thread.join()
    written = [(name, at) for name, at in written if at <= kill]
    STATE.update(kill=kill, written=written, exposure=exposure)
    return dict(clients=clients, before=before, selves=selves, written=written, kill=kill, aux=aux, backup=backup)


def online_backup_under_writes(server):
    """tailnet.headscale.backup while users are being written, fetched to the controller, with a health
    probe at 10 Hz on the server the whole time: the backup must cost no downtime."""
    server.check_output("rm -f /tmp/probe-stop; setsid sh -c 'while [ ! -e /tmp/probe-stop ]; do "
                        "curl -fsS -m 1 -o /dev/null http://127.0.0.1:8080/health && echo ok || echo down; sleep 0.1; "
                        "done > /tmp/probe.log' >/dev/null 2>&1 < /dev/null &")
    time.sleep(1)
    fetched = os.path.join(SECRETS, "backups")
    # Only this run's backup: a run killed earlier can leave its own in the ephemeral directory.
    shutil.rmtree(fetched, ignore_errors=True)
    done = subprocess.run(["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "tailnet.headscale.backup",
                           "--limit", SERVER, "-e", "headscale_backup_fetch=true", "-e", "headscale_backup_fetch_dir=%s" % fetched],
                          capture_output=True, text=True, check=False)
    time.sleep(1)
    server.check_output("touch /tmp/probe-stop")
    time.sleep(0.3)
    probes = server.check_output("cat /tmp/probe.log").split()
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    tarball = [os.path.join(fetched, SERVER, f) for f in os.listdir(os.path.join(fetched, SERVER))]
    assert len(tarball) == 1, tarball
    STATE.update(backup_probes=len(probes), backup_down=probes.count("down"))
    return tarball[0]


def test_a_fresh_host_next_to_a_live_replica_is_refused(disaster):
    fresh_server()
    rc, out, dummy = site()
    assert rc != 0
    assert "would take over the tailnet" in out and "headscale_recover=true" in out, out[-3000:]
    assert untouched(get(SERVER))


def test_keys_that_do_not_decrypt_are_refused(disaster, tmp_path):
    wrong = tmp_path / "wrong-identity"
    wrong.write_text(disaster["aux"].check_output("age-keygen 2>/dev/null") + "\n")
    wrong.chmod(0o600)
    # -vvv: the SFTP key and the identity travel on stdin of no_log tasks, never into the output.
    rc, out, dummy = site("-vvv", "-e", "headscale_recover=true", "-e", "headscale_recover_age_identity=%s" % wrong)
    assert rc != 0
    assert "do not decrypt" in out, out[-3000:]
    assert untouched(get(SERVER))
    with open(os.path.join(SECRETS, "sftp_ed25519")) as handle:
        key_body = [line for line in handle.read().splitlines() if line and not line.startswith("-----")]
    identity = [line for line in wrong.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-")]
    assert key_body and identity
    for secret in key_body + identity:
        assert secret not in out, "a secret reached the -vvv output"


def wait_for_clients(server, clients, what):
    """Every client online on SERVER (headscale's view) and Running (its own)."""

    def all_back():
        nodes = {n["name"]: n for n in headscale(server, "nodes list")}
        return all(nodes.get(c.name, {}).get("online") for c in clients) and all(
            c.status()["BackendState"] == "Running" for c in clients)

    wait_for(all_back, timeout=120, what=what)


def assert_clients_unchanged(server, disaster):
    """Same node ids and IPs as before the kill, on both sides, and no client asked to log in again."""
    after = {n["name"]: (n["id"], sorted(n["ip_addresses"])) for n in headscale(server, "nodes list")}
    assert after == disaster["before"]
    for client in disaster["clients"]:
        status = client.status()
        assert status["BackendState"] == "Running", (client.name, status["BackendState"])
        assert (status["Self"]["ID"], sorted(status["Self"]["TailscaleIPs"])) == disaster["selves"][client.name]
        assert not status.get("AuthURL"), "%s asked to re-authenticate" % client.name


def runbook():
    """The commands of docs/operations.md's "Runbook: the server is gone", placeholders filled in."""
    with open(OPERATIONS) as handle:
        lines = handle.read().splitlines()
    first = lines.index("### Runbook: the server is gone") + 1
    last = next(i for i in range(first, len(lines)) if lines[i].startswith("##"))
    found = [c for c in commands(OPERATIONS) if first < c.line <= last + 1]
    listed = placeholders(OPERATIONS)
    values = {"inventory.yml": os.environ["MOLECULE_INVENTORY_FILE"], "hs1": SERVER,
              "/root/age-identity.txt": os.path.join(SECRETS, "age_identity")}
    assert set(values) <= listed
    out = []
    for command in found:
        text = command.text
        for name in sorted(values, key=len, reverse=True):
            text = re.sub(r"(?<![\w.-])%s(?![\w-])" % re.escape(name), values[name], text)
        out.append(text)
    assert len(out) == 2 and out[0].startswith("ansible-playbook ") and "headscale_recover=true" in out[0], out
    return out


def test_recovery_brings_every_client_back_unchanged(disaster):
    recover, check = runbook()
    start = time.time()
    done = subprocess.run(["bash", "-o", "pipefail", "-c", recover], capture_output=True, text=True, check=False)
    playbook_s = time.time() - start
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    server = get(SERVER)
    listed = server.run("bash -o pipefail -c %s" % shlex.quote(check))
    assert listed.rc == 0, listed.stderr

    wait_for_clients(server, disaster["clients"], "both clients online on the rebuilt server")
    rto = time.time() - start
    assert_clients_unchanged(server, disaster)

    users = {u["name"] for u in headscale(server, "users list")}
    kill, written = disaster["kill"], disaster["written"]
    old_enough = [name for name, at in written if at < kill - SYNC_INTERVAL - MARGIN]
    assert old_enough, "no write was old enough at the kill to be checked"
    missing = [name for name in old_enough if name not in users]
    assert not missing, "writes acknowledged more than %.0f s before the kill were lost: %s" % (SYNC_INTERVAL + MARGIN, missing)
    lost = [(name, at) for name, at in written if name not in users]
    # RPO: how far back from the kill writes were lost (0: none).
    rpo = kill - min(at for dummy, at in lost) if lost else 0.0
    STATE.update(rto=rto, playbook=playbook_s, rpo=rpo, lost=len(lost), kept=len(written) - len(lost))
    save()


S3_VARS = os.path.join(SECRETS, "s3-vars.yml")


def snapshot(host):
    """What a refused run must leave as it was: the replication's files, the target and litestream's PID."""
    return host.check_output(
        "sha256sum /etc/headscale/litestream.yml /etc/headscale/.tailnet-headscale-replica-target"
        " /etc/systemd/system/tailnet-headscale-litestream.service; ls -a /etc/headscale;"
        " systemctl show -p MainPID --value tailnet-headscale-litestream.service headscale.service")


def test_replication_moves_to_s3_and_a_server_is_rebuilt_from_it(disaster):
    """The rebuilt server moves its replica to an S3 store (SeaweedFS, https with a private CA); a move to
    a target that already holds a database is refused; the server is lost again and rebuilt from S3."""
    with open(os.path.join(SECRETS, "s3-secret")) as handle:
        s3_secret = handle.read().strip()
    rc, out, dummy = site("-e", "@" + S3_VARS)
    assert rc == 0, out[-4000:]
    server = get(SERVER)
    assert server.file("/etc/headscale/.tailnet-headscale-replica-target").content_string.strip() == (
        "s3://hs-replica/dr/headscale at https://172.30.79.20:8333")
    env = server.file("/etc/headscale/litestream-s3.env")
    assert (env.user, env.group, env.mode) == ("root", "root", 0o600)
    assert not server.file("/etc/headscale/litestream-sftp.key").exists, "the SFTP key outlived its replica"
    assert s3_secret not in server.file("/etc/headscale/litestream.yml").content_string
    assert s3_secret not in server.check_output("ps -eo args")
    assert s3_secret not in out

    # Back to the SFTP directory, which holds this server's older copy: refused before anything changes.
    before = snapshot(server)
    rc, out, dummy = site()
    assert rc != 0 and "already holds a headscale database" in out and "Nothing was changed" in out, out[-3000:]
    assert snapshot(server) == before

    server.check_output("headscale users create s3-before-the-kill")
    marks = {"s3-before-the-kill"}

    def replicated():
        probe = server.run("LITESTREAM_ACCESS_KEY_ID=headscale-dr LITESTREAM_SECRET_ACCESS_KEY=%s "
                           "SSL_CERT_FILE=/etc/headscale/litestream-s3-ca.pem /usr/local/lib/headscale/litestream-%s "
                           "ltx -config /etc/headscale/litestream.yml /var/lib/headscale/db.sqlite"
                           % (shlex.quote(s3_secret), os.environ["TAILNET_LITESTREAM_VERSION"]))
        return probe.rc == 0 and len(probe.stdout.strip().splitlines()) > 1

    wait_for(replicated, timeout=60, what="the database's LTX files in the S3 bucket")
    time.sleep(SYNC_INTERVAL + MARGIN)
    subprocess.run(["docker", "rm", "-f", SERVER], check=True, capture_output=True)

    fresh_server()
    rc, out, dummy = site("-e", "@" + S3_VARS, "-e", "headscale_recover=true",
                          "-e", "headscale_recover_age_identity=%s" % os.path.join(SECRETS, "age_identity"))
    assert rc == 0, out[-4000:]
    assert s3_secret not in out
    server = get(SERVER)

    wait_for_clients(server, disaster["clients"], "both clients online on the server rebuilt from S3")
    assert_clients_unchanged(server, disaster)
    assert marks <= {u["name"] for u in headscale(server, "users list")}


def test_an_online_backup_taken_under_writes_restores_on_another_host(disaster, tmp_path):
    """The online backup taken on the first server while users were written (and fetched to the
    controller) is restored on the container that replaced it: headscale_restore_from, as docs say."""
    assert STATE["backup_probes"] >= 10 and STATE["backup_down"] == 0, STATE
    tarball = disaster["backup"]
    name = os.path.basename(tarball)[:-len(".tar.gz")]
    with tarfile.open(tarball) as archive:
        archive.extract("%s/files/var/lib/headscale/db.sqlite" % name, tmp_path)
    db = sqlite3.connect(str(tmp_path / name / "files/var/lib/headscale/db.sqlite"))
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    in_backup = {row[0] for row in db.execute("SELECT name FROM users")}
    db.close()
    server = get(SERVER)
    assert in_backup != {u["name"] for u in headscale(server, "users list")}
    subprocess.run(["docker", "cp", tarball, "%s:/root/" % SERVER], check=True, capture_output=True)
    server.check_output("tar -C /root -xzf /root/%s.tar.gz" % name)
    rc, out, dummy = site("-e", "@" + S3_VARS, "-e", "headscale_restore_from=/root/%s" % name)
    assert rc == 0, out[-4000:]
    assert {u["name"] for u in headscale(server, "users list")} == in_backup
    assert server.run("headscale health").rc == 0


def save():
    score = re.search(r"([0-9]+\.[0-9]+)", STATE["exposure"])
    results = dict(rpo_s=round(STATE["rpo"], 2), rto_s=round(STATE["rto"], 1), playbook_s=round(STATE["playbook"], 1),
                   writes_acknowledged=len(STATE["written"]), writes_lost=STATE["lost"],
                   litestream_exposure=float(score.group(1)) if score else None, sync_interval_s=SYNC_INTERVAL,
                   backup_probes=STATE["backup_probes"], backup_down_probes=STATE["backup_down"])
    path = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp"), "disaster_recovery.json")
    with open(path, "w") as handle:
        json.dump(results, handle, indent=2)
    if os.environ.get("TAILNET_DR_SAVE_RESULTS") == "1":
        from common import figure, load_average, save as bench_save
        bench_save("disaster_recovery", "lost the server: litestream to SFTP, rebuilt on a new container", [
            figure("RPO: writes lost before the kill (litestream, sync-interval 1 s)", results["rpo_s"], "<= 2 s",
                   results["rpo_s"] <= 2, "%d of %d acknowledged writes lost" % (results["writes_lost"],
                                                                                 results["writes_acknowledged"]),
                   fmt="%.2f s"),
            figure("RTO: playbook start to both clients back", results["rto_s"], "<= 90 s", results["rto_s"] <= 90,
                   fmt="%.1f s"),
            figure("RTO, the playbook's part", results["playbook_s"], "<= 30 s", results["playbook_s"] <= 30,
                   fmt="%.1f s"),
            figure("online backup under writes: health probes (10 Hz) that failed", results["backup_down_probes"],
                   "0", results["backup_down_probes"] == 0, "of %d probes during tailnet.headscale.backup"
                   % results["backup_probes"], fmt="%d"),
            figure("exposure, litestream unit (systemd-analyze security)", results["litestream_exposure"], "", None,
                   "PrivateUsers off in containers", fmt="%.1f"),
        ], load_average=[load_average()], **results)
