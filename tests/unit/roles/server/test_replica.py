# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The replica work on the server host (roles/server/files/replica.py): the litestream config, the
refusals before anything changes (a replica with data and no recover flag, keys that do not
decrypt, a schema the pinned headscale does not know), and the keys sent only when they changed.
litestream and age are replaced by stand-ins; the molecule scenario disaster_recovery runs the real ones."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import io
import json
import os
import sqlite3

import pytest

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "server")
SPEC = importlib.util.spec_from_file_location("replica", os.path.join(ROLE, "files", "replica.py"))
replica = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(replica)

MIGRATIONS = ["202312101416", "202501221827"]


@pytest.fixture
def settings(tmp_path, monkeypatch):
    state = tmp_path / "state"
    state.mkdir()
    (state / "noise_private.key").write_text("privkey:noise\n")
    (state / "derp_server_private.key").write_text("privkey:derp\n")
    monkeypatch.setattr(replica, "owned", lambda path, settings, mode=0o600: os.chmod(path, mode))
    monkeypatch.setattr(replica, "secret_dir", _secret_dir(tmp_path))
    return {
        "litestream": "/usr/local/lib/headscale/litestream-0.5.3", "headscale": "/bin/false", "headscale_version": "0.29.3",
        "db": str(state / "db.sqlite"), "keys_db": str(state / "keys.sqlite"),
        "keys": [str(state / "noise_private.key"), str(state / "derp_server_private.key")],
        "stage": str(tmp_path / "stage"), "recover": False, "recipient": "age1xyz", "user": "headscale",
        "group": "headscale",
        "replica": {"type": "sftp", "host": "10.0.0.2:22", "user": "replica", "key-path": "/etc/headscale/litestream-sftp.key",
                    "host-key": "ssh-ed25519 AAAA", "sync-interval": "1s"},
        "replica_root": "/headscale", "target": "sftp://replica@10.0.0.2:22/headscale",
        "marker": str(tmp_path / "target-marker"), "unit": "tailnet-headscale-litestream.service",
    }


def _secret_dir(tmp_path):
    """The root-only directory under /run, made under tmp_path instead."""

    def make(secrets):
        d = str(tmp_path / ("secrets-%d" % len(list(tmp_path.glob("secrets-*")))))
        os.makedirs(d, mode=0o700)
        for name, value in secrets.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(value)
        return d

    return make


def fake_age(args, data):
    """age stand-in: 'encrypts' by prefixing the recipient; decrypts only with the identity 'right'."""
    if args[0] == "-r":
        return b"AGE:" + args[1].encode() + b":" + data
    with open(args[2]) as f:
        identity = f.read().strip()
    if identity != "right":
        raise replica.ReplicaError("age -d failed: no identity matched any of the recipients")
    return data.split(b":", 2)[2]


def make_db(path, migrations):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE migrations (id TEXT PRIMARY KEY)")
    db.executemany("INSERT INTO migrations VALUES (?)", [(m,) for m in migrations])
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    db.execute("INSERT INTO users (name) VALUES ('alice')")
    db.commit()
    db.close()


def fake_restore(sources):
    """litestream restore stand-in: SOURCES maps the database path to a builder of the replica's copy (or None)."""

    def restore(settings, secrets_dir, key_path, source, output, secrets=None):
        assert os.path.exists(key_path), "the SFTP key must be a file litestream reads, not an argument"
        build = sources.get(source)
        if build is None:
            return False
        build(output)
        return True

    return restore


def test_the_litestream_config_replicates_both_databases_with_the_pinned_host_key(settings):
    config = replica.litestream_config(settings, "/run/key")
    assert [db["path"] for db in config["dbs"]] == [settings["db"], settings["keys_db"]]
    assert [db["replica"]["path"] for db in config["dbs"]] == ["/headscale/db", "/headscale/keys"]
    r = config["dbs"][0]["replica"]
    assert (r["type"], r["host"], r["user"], r["key-path"], r["host-key"], r["sync-interval"]) == (
        "sftp", "10.0.0.2:22", "replica", "/run/key", "ssh-ed25519 AAAA", "1s")


def test_unknown_migrations_are_those_the_pinned_headscale_lacks():
    assert replica.unknown_migrations(MIGRATIONS + ["209901010000"], MIGRATIONS) == ["209901010000"]
    assert replica.unknown_migrations(MIGRATIONS[:1], MIGRATIONS) == []


def test_keys_are_encrypted_once_and_sent_again_only_when_they_change(settings, monkeypatch):
    monkeypatch.setattr(replica, "age", fake_age)
    assert replica.keys(settings) == "changed"
    digest, blob = replica.read_keys_blob(settings["keys_db"])
    assert blob.startswith(b"AGE:age1xyz:") and b"privkey:noise" in blob
    assert replica.keys(settings) == "unchanged"
    with open(settings["keys"][0], "w") as f:
        f.write("privkey:rotated\n")
    assert replica.keys(settings) == "changed"
    assert replica.read_keys_blob(settings["keys_db"])[0] != digest


def test_an_empty_replica_lets_a_fresh_host_start(settings, monkeypatch):
    monkeypatch.setattr(replica, "litestream_restore", fake_restore({}))
    assert replica.probe(settings, {"sftp_key": "KEY"}) == "replica empty"
    assert not os.path.exists(settings["stage"])


def test_a_replica_with_data_is_refused_without_recover(settings, monkeypatch):
    monkeypatch.setattr(replica, "litestream_restore", fake_restore({settings["db"]: lambda out: make_db(out, MIGRATIONS)}))
    with pytest.raises(replica.ReplicaError) as e:
        replica.probe(settings, {"sftp_key": "KEY"})
    assert "would take over the tailnet" in str(e.value) and "-e headscale_recover=true" in str(e.value)
    assert "Nothing was changed" in str(e.value)
    assert not os.path.exists(settings["stage"]) and not os.path.exists(settings["db"])


def staged_replica(settings, monkeypatch, migrations=None):
    migrations = MIGRATIONS if migrations is None else migrations
    monkeypatch.setattr(replica, "age", fake_age)
    replica.keys(settings)
    keys_db = settings["keys_db"]
    with open(keys_db, "rb") as f:
        keys_copy = f.read()
    os.remove(keys_db)

    def copy_keys(out):
        with open(out, "wb") as f:
            f.write(keys_copy)

    monkeypatch.setattr(replica, "litestream_restore", fake_restore({
        settings["db"]: lambda out: make_db(out, migrations), settings["keys_db"]: copy_keys}))
    monkeypatch.setattr(replica, "known_migrations", lambda binary, work: MIGRATIONS)
    settings["recover"] = True
    for path in settings["keys"]:
        os.remove(path)


def test_keys_that_do_not_decrypt_are_refused_before_anything_changes(settings, monkeypatch):
    staged_replica(settings, monkeypatch)
    with pytest.raises(replica.ReplicaError) as e:
        replica.probe(settings, {"sftp_key": "KEY", "age_identity": "wrong"})
    assert "do not decrypt" in str(e.value) and e.value.code == 5
    assert not os.path.exists(settings["stage"]) and not os.path.exists(settings["db"])
    assert not any(os.path.exists(p) for p in settings["keys"])


def test_a_schema_newer_than_the_pinned_headscale_is_refused(settings, monkeypatch):
    staged_replica(settings, monkeypatch, migrations=MIGRATIONS + ["209901010000"])
    with pytest.raises(replica.ReplicaError) as e:
        replica.probe(settings, {"sftp_key": "KEY", "age_identity": "right"})
    assert "209901010000" in str(e.value) and "headscale_version" in str(e.value) and e.value.code == 6
    assert not os.path.exists(settings["db"])


def test_recovery_puts_the_database_and_the_keys_in_place(settings, monkeypatch):
    staged_replica(settings, monkeypatch)
    assert replica.probe(settings, {"sftp_key": "KEY", "age_identity": "right"}) == "replica staged"
    assert replica.place(settings, {"age_identity": "right"}).startswith("recovered 2 keys")
    with open(settings["keys"][0]) as f:
        assert f.read() == "privkey:noise\n"
    assert oct(os.stat(settings["keys"][0]).st_mode & 0o777) == "0o600"
    assert sqlite3.connect(settings["db"]).execute("SELECT name FROM users").fetchall() == [("alice",)]
    assert not os.path.exists(settings["stage"])


def test_main_reports_a_refusal_on_stderr_with_its_code(settings, monkeypatch, capsys):
    monkeypatch.setattr(replica, "litestream_restore", fake_restore({settings["db"]: lambda out: make_db(out, MIGRATIONS)}))
    code = replica.main(["replica.py", "probe", json.dumps(settings)], io.StringIO(json.dumps({"sftp_key": "K"})))
    assert code == 4
    assert "headscale_recover=true" in capsys.readouterr().err


S3_REPLICA = {"type": "s3", "bucket": "hs-replica", "region": "us-east-1", "sign-payload": True, "sync-interval": "1s",
              "endpoint": "https://10.0.0.3:8333", "force-path-style": True}


def test_an_s3_replica_has_no_key_path_and_its_credentials_only_in_the_environment(settings, tmp_path, monkeypatch):
    settings.update(replica=S3_REPLICA, replica_root="headscale", target="s3://hs-replica/headscale")
    config = replica.litestream_config(settings, "/run/key")
    assert [db["replica"]["path"] for db in config["dbs"]] == ["headscale/db", "headscale/keys"]
    assert "key-path" not in config["dbs"][0]["replica"] and "secret" not in json.dumps(config)
    env = replica.litestream_env(str(tmp_path), {"s3_access_key_id": "AKIA", "s3_secret_access_key": "SECRET",
                                                 "s3_ca": "PEM"})
    assert (env["LITESTREAM_ACCESS_KEY_ID"], env["LITESTREAM_SECRET_ACCESS_KEY"]) == ("AKIA", "SECRET")
    assert env["SSL_CERT_FILE"] == os.path.join(str(tmp_path), "s3_ca")
    assert "LITESTREAM_ACCESS_KEY_ID" not in replica.litestream_env(str(tmp_path), {})
    monkeypatch.setenv("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    assert "AWS_CA_BUNDLE" not in replica.litestream_env(str(tmp_path), {}), "litestream refuses to start with it"


def test_the_restore_command_line_carries_no_secret(settings, monkeypatch, tmp_path):
    settings.update(replica=S3_REPLICA, replica_root="headscale", target="s3://hs-replica/headscale")
    seen = {}

    def run(argv, **kwargs):
        seen.update(argv=argv, env=kwargs["env"])
        return type("Done", (), {"returncode": 0, "stdout": b"", "stderr": b""})()

    monkeypatch.setattr(replica.subprocess, "run", run)
    replica.litestream_restore(settings, str(tmp_path), "", settings["db"], str(tmp_path / "out"),
                               {"s3_access_key_id": "AKIA", "s3_secret_access_key": "SECRET"})
    assert "SECRET" not in " ".join(seen["argv"]) and "-no-expand-env" in seen["argv"]
    assert seen["env"]["LITESTREAM_SECRET_ACCESS_KEY"] == "SECRET"


def test_the_target_replicated_to_last_is_accepted_without_a_look(settings, monkeypatch):
    make_db(settings["db"], MIGRATIONS)
    monkeypatch.setattr(replica, "litestream_restore", lambda *a, **k: pytest.fail("no need to read the replica"))
    with open(settings["marker"], "w") as f:
        f.write(settings["target"] + "\n")
    assert replica.probe(settings, {"sftp_key": "K"}) == "same target"
    # Replicating since before targets were recorded: litestream's own state shows the target it has.
    os.remove(settings["marker"])
    os.makedirs(replica.meta_dir(settings["db"]))
    assert replica.probe(settings, {"sftp_key": "K"}) == "same target"


def test_a_new_target_must_be_empty(settings, monkeypatch):
    make_db(settings["db"], MIGRATIONS)
    with open(settings["marker"], "w") as f:
        f.write("sftp://replica@10.0.0.9:22/old\n")
    monkeypatch.setattr(replica, "litestream_restore", fake_restore({}))
    assert replica.probe(settings, {"sftp_key": "K"}) == "new target"
    monkeypatch.setattr(replica, "litestream_restore", fake_restore({settings["db"]: lambda out: make_db(out, MIGRATIONS)}))
    with pytest.raises(replica.ReplicaError) as e:
        replica.probe(settings, {"sftp_key": "K"})
    assert e.value.code == 4 and settings["target"] in str(e.value) and "Nothing was changed" in str(e.value)
    with open(settings["marker"]) as f:
        assert f.read() == "sftp://replica@10.0.0.9:22/old\n"


def test_a_switch_drops_litestreams_position_and_records_the_target(settings, monkeypatch):
    calls = []
    monkeypatch.setattr(replica.subprocess, "run", lambda argv, **k: calls.append(argv))
    for db in (settings["db"], settings["keys_db"]):
        os.makedirs(os.path.join(replica.meta_dir(db), "ltx", "0"))
    assert replica.switch(settings) == "changed"
    assert calls == [["systemctl", "stop", "tailnet-headscale-litestream.service"]]
    assert not any(os.path.exists(replica.meta_dir(db)) for db in (settings["db"], settings["keys_db"]))
    assert replica.read_marker(settings) == settings["target"]
    assert replica.switch(settings) == "unchanged" and len(calls) == 1
    # After a restore: the same target, but the position restored with the database is stale.
    os.makedirs(os.path.join(replica.meta_dir(settings["db"]), "ltx", "0"))
    assert replica.switch(dict(settings, force=True)) == "changed" and len(calls) == 2
    assert not os.path.exists(replica.meta_dir(settings["db"]))
