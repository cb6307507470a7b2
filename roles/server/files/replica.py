# tailnet.headscale: the server's Litestream replica, host side (roles/server/tasks/litestream*.yml).
#
# Actions (SETTINGS is a JSON object on the command line: no secret is in it; the secrets - the
# SFTP key or the S3 credentials and CA, and the operator's age identity - come as a JSON object on
# stdin, are written only to a root-only directory under /run and removed before the script exits):
#   probe  On a host without a database: restore the newest replica (database, and the age-encrypted
#          keys) into the stage directory and refuse what must not start: a replica that holds data
#          without recover (starting empty would take over the tailnet), keys that do not decrypt, a
#          database whose schema the pinned headscale does not know. Prints "replica empty" or
#          "replica staged".
#          On a host with a database: a replica target other than the one litestream replicated to
#          last must be empty, or litestream would mix two histories there. Prints "same target" or
#          "new target". Changes nothing outside the stage directory.
#   place  Put the staged database and the decrypted keys in place (before headscale's first start).
#   switch Litestream starts over at a new target (or, with "force", after a restore): stop it, drop
#          its local position, record the target.
#   keys   Encrypt the noise and DERP private keys to the operator's age recipient into the small
#          keys database that litestream replicates next to headscale's, when they changed.
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

KEYS_TABLE = "CREATE TABLE IF NOT EXISTS tailnet_headscale_keys (id INTEGER PRIMARY KEY CHECK (id = 1), digest TEXT, blob BLOB)"


class ReplicaError(Exception):
    def __init__(self, msg, code=3):
        Exception.__init__(self, msg)
        self.code = code


def litestream_config(settings, key_path, db_path=None, keys_path=None):
    """The litestream configuration (JSON is YAML) for the headscale database and the keys database."""
    replica = dict(settings["replica"])
    if replica["type"] == "sftp":
        replica["key-path"] = key_path
    dbs = []
    for path, sub in ((db_path or settings["db"], "db"), (keys_path or settings["keys_db"], "keys")):
        r = dict(replica)
        r["path"] = settings["replica_root"] + "/" + sub
        dbs.append({"path": path, "replica": r})
    return {"dbs": dbs}


def litestream_env(secrets_dir, secrets):
    """The environment litestream reads the S3 credentials and the endpoint's CA from (never its command line)."""
    env = dict(os.environ)
    # The AWS SDK turns AWS_CA_BUNDLE into a refusal with litestream's own HTTP client ("unable to add
    # custom RootCAs"): the endpoint's CA goes in SSL_CERT_FILE instead.
    env.pop("AWS_CA_BUNDLE", None)
    if secrets.get("s3_access_key_id"):
        env["LITESTREAM_ACCESS_KEY_ID"] = secrets["s3_access_key_id"]
        env["LITESTREAM_SECRET_ACCESS_KEY"] = secrets["s3_secret_access_key"]
    if secrets.get("s3_ca"):
        env["SSL_CERT_FILE"] = os.path.join(secrets_dir, "s3_ca")
    return env


def unknown_migrations(replica_ids, known_ids):
    """Migrations of the replica the pinned headscale does not know (it would refuse or corrupt it)."""
    known = set(known_ids)
    return [m for m in replica_ids if m not in known]


def migrations(db):
    conn = sqlite3.connect(db)
    try:
        return [row[0] for row in conn.execute("SELECT id FROM migrations ORDER BY rowid")]
    except sqlite3.Error:
        return []
    finally:
        conn.close()


def known_migrations(binary, work):
    """The migrations the pinned headscale applies to an empty database (as restore.sh reads them)."""
    os.makedirs(work, mode=0o700, exist_ok=True)
    config = os.path.join(work, "config.yaml")
    with open(config, "w") as f:
        f.write("server_url: http://127.0.0.1:8080\nlisten_addr: 127.0.0.1:0\nnoise:\n  private_key_path: %s/noise.key\n"
                "prefixes:\n  v4: 100.64.0.0/10\nderp:\n  urls: []\ndatabase:\n  type: sqlite\n  sqlite:\n"
                "    path: %s/db.sqlite\ndns:\n  magic_dns: false\n  override_local_dns: false\nunix_socket: %s/sock\n"
                % (work, work, work))
    env = dict(os.environ, HEADSCALE_DERP_SERVER_PRIVATE_KEY_PATH=os.path.join(work, "derp.key"))
    subprocess.run([binary, "configtest", "-c", config], env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    return migrations(os.path.join(work, "db.sqlite"))


def keys_payload(paths):
    """The keys as one JSON document {path: content}, and its digest (what a change is detected by)."""
    keys = {}
    for path in paths:
        with open(path) as f:
            keys[path] = f.read()
    data = json.dumps(keys, sort_keys=True).encode()
    return data, hashlib.sha256(data).hexdigest()


def read_keys_blob(db):
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT digest, blob FROM tailnet_headscale_keys WHERE id = 1").fetchone()
    except sqlite3.Error:
        row = None
    finally:
        conn.close()
    return row


def write_keys_blob(db, digest, blob):
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(KEYS_TABLE)
        conn.execute("INSERT OR REPLACE INTO tailnet_headscale_keys (id, digest, blob) VALUES (1, ?, ?)", (digest, blob))
        conn.commit()
    finally:
        conn.close()


def age(args, data):
    p = subprocess.run(["age"] + args, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if p.returncode != 0:
        raise ReplicaError("age %s failed: %s" % (args[0], p.stderr.decode(errors="replace").strip()))
    return p.stdout


def decrypt_keys(blob, identity_file):
    try:
        keys = json.loads(age(["-d", "-i", identity_file], blob).decode())
    except ReplicaError as e:
        raise ReplicaError("the replica's keys do not decrypt with headscale_recover_age_identity (%s): it is not the "
                           "identity of the recipient they were encrypted to. Nothing was changed." % e, 5)
    if not isinstance(keys, dict) or not keys:
        raise ReplicaError("the replica's keys decrypt to no keys. Nothing was changed.", 5)
    return keys


def litestream_restore(settings, secrets_dir, key_path, source, output, secrets=None):
    config = os.path.join(secrets_dir, "litestream.yml")
    with open(config, "w") as f:
        json.dump(litestream_config(settings, key_path), f)
    p = subprocess.run([settings["litestream"], "restore", "-no-expand-env", "-config", config, "-if-replica-exists",
                        "-o", output, source],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=litestream_env(secrets_dir, secrets or {}),
                       check=False)
    if p.returncode != 0:
        raise ReplicaError("litestream restore of %s from %s failed: %s" % (
            source, settings["target"], (p.stderr + p.stdout).decode(errors="replace").strip()[-600:]))
    return os.path.exists(output)


def secret_dir(secrets):
    d = tempfile.mkdtemp(prefix="tailnet-headscale-replica.", dir="/run" if os.path.isdir("/run") else None)
    os.chmod(d, 0o700)
    for name, value in secrets.items():
        fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value if value.endswith("\n") else value + "\n")
    return d


def meta_dir(db):
    """Litestream's local state of a database: its position and the LTX files not yet shipped."""
    return os.path.join(os.path.dirname(db), "." + os.path.basename(db) + "-litestream")


def read_marker(settings):
    try:
        with open(settings["marker"]) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def probe(settings, secrets):
    if os.path.exists(settings["db"]):
        return probe_target(settings, secrets)
    return probe_fresh(settings, secrets)


def probe_target(settings, secrets):
    """A replicating server pointed at a target: the one it replicated to last, or an empty one."""
    marker = read_marker(settings)
    if marker == settings["target"] or (marker is None and os.path.isdir(meta_dir(settings["db"]))):
        # The same target; or replicating since before targets were recorded: the one it has.
        return "same target"
    sdir = secret_dir(secrets)
    try:
        if litestream_restore(settings, sdir, os.path.join(sdir, "sftp_key"), settings["db"],
                              os.path.join(sdir, "probe.sqlite"), secrets):
            raise ReplicaError(
                "refusing to replicate to %s: it already holds a headscale database (another server's, or an older "
                "copy of this one), and litestream would mix this server's writes into that history, so that no "
                "restore from it could be trusted. Point the replica at an empty directory or key prefix (e.g. "
                "headscale_litestream_sftp_path or headscale_litestream_s3_path naming this server), or empty that "
                "one first if its copy is no longer needed. Nothing was changed." % settings["target"], 4)
        return "new target"
    finally:
        shutil.rmtree(sdir, ignore_errors=True)


def probe_fresh(settings, secrets):
    stage = settings["stage"]
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(stage, mode=0o700)
    sdir = secret_dir(secrets)
    try:
        key = os.path.join(sdir, "sftp_key")
        if not litestream_restore(settings, sdir, key, settings["db"], os.path.join(stage, "db.sqlite"), secrets):
            shutil.rmtree(stage)
            return "replica empty"
        if not settings["recover"]:
            raise ReplicaError(
                "this host has no headscale database, but its replica %s already holds one: starting "
                "an empty headscale here would take over the tailnet from the server that wrote it, and every device "
                "would have to enrol again. To rebuild that server here from the replica, run again with "
                "-e headscale_recover=true and headscale_recover_age_identity set to the age identity file of "
                "headscale_litestream_age_recipient (docs/operations.md, \"Lost the server\"); to start a new tailnet, "
                "point the replica at an empty directory or key prefix. Nothing was changed." % settings["target"], 4)
        unknown = unknown_migrations(migrations(os.path.join(stage, "db.sqlite")),
                                     known_migrations(settings["headscale"], os.path.join(sdir, "schema")))
        if unknown:
            raise ReplicaError(
                "refusing to recover from the replica: its database has schema migrations that the pinned headscale %s "
                "does not know: %s. A newer headscale wrote it: set headscale_version to that version. Nothing was changed."
                % (settings["headscale_version"], " ".join(unknown)), 6)
        if not litestream_restore(settings, sdir, key, settings["keys_db"], os.path.join(stage, "keys.sqlite"), secrets):
            raise ReplicaError("the replica holds a database but no encrypted keys (%s/keys): the noise key cannot be "
                               "recovered, and clients would have to enrol again. Nothing was changed."
                               % settings["target"], 5)
        row = read_keys_blob(os.path.join(stage, "keys.sqlite"))
        if row is None:
            raise ReplicaError("the replica's keys database holds no keys. Nothing was changed.", 5)
        decrypt_keys(row[1], os.path.join(sdir, "age_identity"))
        return "replica staged"
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(sdir, ignore_errors=True)


def switch(settings):
    """Litestream starts over at the configured target: stopped, its local position dropped (it would
    otherwise ship only what follows that position, to a target that never had the rest), the target
    recorded. Its restart with the new config follows in the role. force: after a restore, whose
    database is an older history than the one litestream's position describes."""
    if not settings.get("force") and read_marker(settings) == settings["target"]:
        return "unchanged"
    subprocess.run(["systemctl", "stop", settings["unit"]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
    for db in (settings["db"], settings["keys_db"]):
        shutil.rmtree(meta_dir(db), ignore_errors=True)
    tmp = settings["marker"] + ".tmp"
    with open(tmp, "w") as f:
        f.write(settings["target"] + "\n")
    os.chmod(tmp, 0o644)
    os.rename(tmp, settings["marker"])
    return "changed"


def owned(path, settings, mode=0o600):
    import pwd
    import grp
    os.chown(path, pwd.getpwnam(settings["user"]).pw_uid, grp.getgrnam(settings["group"]).gr_gid)
    os.chmod(path, mode)


def place(settings, secrets):
    stage = settings["stage"]
    if not os.path.exists(os.path.join(stage, "db.sqlite")):
        raise ReplicaError("nothing staged in %s: the probe did not run or found the replica empty" % stage)
    sdir = secret_dir(secrets)
    try:
        keys = decrypt_keys(read_keys_blob(os.path.join(stage, "keys.sqlite"))[1], os.path.join(sdir, "age_identity"))
        for path, content in sorted(keys.items()):
            tmp = path + ".recovering"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(content)
            owned(tmp, settings)
            os.rename(tmp, path)
        db = settings["db"]
        for suffix in ("-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        shutil.copyfile(os.path.join(stage, "db.sqlite"), db + ".recovering")
        owned(db + ".recovering", settings)
        os.rename(db + ".recovering", db)
        return "recovered %d keys and the database" % len(keys)
    finally:
        shutil.rmtree(sdir, ignore_errors=True)
        shutil.rmtree(stage, ignore_errors=True)


def keys(settings):
    data, digest = keys_payload(settings["keys"])
    db = settings["keys_db"]
    row = read_keys_blob(db) if os.path.exists(db) else None
    if row is not None and row[0] == digest:
        return "unchanged"
    write_keys_blob(db, digest, age(["-r", settings["recipient"]], data))
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            owned(db + suffix, settings)
    return "changed"


def main(argv, stdin):
    action, settings = argv[1], json.loads(argv[2])
    secrets = json.loads(stdin.read() or "{}") if action in ("probe", "place") else {}
    try:
        if action in ("probe", "place"):
            result = {"probe": probe, "place": place}[action](settings, secrets)
        else:
            result = {"keys": keys, "switch": switch}[action](settings)
    except ReplicaError as e:
        sys.stderr.write(str(e) + "\n")
        return e.code
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv, sys.stdin))
